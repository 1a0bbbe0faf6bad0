"""The per-run model call log (`model_calls.jsonl`) and replay from it.

Every call is one JSON line: messages, requested and effective parameters, responses, tokens,
latency, cost. Replay matches a new call by a hash of the messages and the requested parameters;
identical requests are answered in the order they were logged.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict, deque
from pathlib import Path

from patchwarden.sandboxes.files import append_jsonl
from patchwarden.repair.models.budget import ModelError

LOG_NAME = "model_calls.jsonl"


class ReplayMiss(ModelError):
    """A call was not found in the replayed log."""


def request_hash(messages: list[dict], params: dict) -> str:
    blob = json.dumps({"messages": messages, "params": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class CallLog:
    """Append-only JSONL log; each line is flushed and fsynced so a killed run loses nothing."""

    def __init__(self, log_dir: str | Path):
        self.path = Path(log_dir) / LOG_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, entry: dict) -> None:
        with self._lock:  # a torn tail of a killed run is cut before the first append
            append_jsonl(self.path, entry, ensure_ascii=False)


class ReplaySource:
    """Answers calls from a previous run's log instead of a model."""

    def __init__(self, run_dir: str | Path):
        run_dir = Path(run_dir)
        path = run_dir / LOG_NAME if run_dir.is_dir() else run_dir
        if not path.is_file():
            raise ModelError(f"nothing to replay: {path} does not exist; pass a run directory of an earlier model run to --replay")
        self.path = path
        self._queues: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: the calls before it still replay
            if "hash" not in e:
                continue
            self._queues[e["hash"]].append(e)

    def peek(self, h: str) -> dict | None:
        with self._lock:
            q = self._queues.get(h)
            return q[0] if q else None

    def take(self, h: str, messages: list[dict]) -> dict:
        with self._lock:
            q = self._queues.get(h)
            if not q:
                preview = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")[:80]
                raise ReplayMiss(
                    f"call not in the replayed log {self.path} (request {h}, prompt starts {preview!r}); "
                    "replay needs the same prompts and parameters as the logged run"
                )
            return q.popleft()

"""Loading models and the JSONL inputs of `patchwarden neuron`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class DataProblem(ValueError):
    """Bad user input (file missing, row malformed): shown as one clean line."""


@dataclass(frozen=True)
class Case:
    prompt: str
    target: str
    group: str = "default"
    error: str | None = None   # the known wrong continuation, when the row came from error data

    @property
    def key(self) -> str:
        return f"{self.group}\x1f{self.prompt}"


def model_ref(spec: str) -> str:
    """`hf:PATH` (a hub id or a local folder) -> PATH. A bare path or id is accepted too."""
    spec = spec.strip()
    if spec.startswith("hf:"):
        spec = spec[3:]
    if not spec:
        raise DataProblem("--model/--base is empty; pass hf:ORG/NAME or hf:/path/to/model")
    return spec


def load_model(spec: str, dtype=None):
    """Load a causal LM and its tokenizer, in eval mode, on CPU or the first GPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_ref(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    except OSError as exc:
        raise DataProblem(f"cannot load model `{path}`: {str(exc).splitlines()[0]}; "
                          "pass hf:ORG/NAME or the path of a saved model folder") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if torch.cuda.is_available():
        model = model.to("cuda")
    model.eval()
    return model, tokenizer


def _read_jsonl(path: str | Path, what: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise DataProblem(f"{what} file `{p}` not found; pass a JSONL file")
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataProblem(f"{p}:{n}: not valid JSON ({exc.msg}); one JSON object per line") from None
        if not isinstance(row, dict):
            raise DataProblem(f"{p}:{n}: expected a JSON object per line")
        rows.append(row)
    if not rows:
        raise DataProblem(f"{what} file `{p}` is empty")
    return rows


def read_cases(path: str | Path) -> list[Case]:
    """Cases `{"prompt","target","group"}`; error rows `{"prompt","error","desired"}` are accepted too."""
    cases = []
    for n, row in enumerate(_read_jsonl(path, "cases"), 1):
        target = row.get("target", row.get("desired"))
        if not isinstance(row.get("prompt"), str) or not isinstance(target, str) or not target.strip():
            raise DataProblem(f"{path}: row {n} needs string fields `prompt` and `target` (or `desired`)")
        cases.append(Case(row["prompt"], target, str(row.get("group", "default")), row.get("error")))
    return cases


def read_error_data(path: str | Path) -> list[Case]:
    cases = []
    for n, row in enumerate(_read_jsonl(path, "error data"), 1):
        if not all(isinstance(row.get(k), str) and row.get(k) for k in ("prompt", "error", "desired")):
            raise DataProblem(f"{path}: row {n} needs string fields `prompt`, `error` and `desired`")
        cases.append(Case(row["prompt"], row["desired"], str(row.get("group", "error")), row["error"]))
    return cases


def read_texts(path: str | Path) -> list[str]:
    """Plain text (one passage per non-empty line) or JSONL with a `text` field."""
    p = Path(path)
    if not p.is_file():
        raise DataProblem(f"text file `{p}` not found; pass plain text or JSONL with a `text` field")
    if p.suffix in {".jsonl", ".json"}:
        texts = []
        for n, row in enumerate(_read_jsonl(p, "text"), 1):
            text = row.get("text") or (row.get("prompt", "") + joiner(row.get("prompt", ""), row.get("target", "")) + row.get("target", "") if "target" in row else None)
            if not isinstance(text, str) or not text.strip():
                raise DataProblem(f"{p}: row {n} needs a `text` field")
            texts.append(text)
    else:
        texts = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise DataProblem(f"text file `{p}` is empty")
    return texts


def joiner(prompt: str, continuation: str) -> str:
    """A space between prompt and continuation unless one side already has whitespace."""
    if not prompt or not continuation or prompt[-1].isspace() or continuation[0].isspace():
        return ""
    return " "


def encode_pair(tokenizer, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of the prompt and of the continuation as they appear after it."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + joiner(prompt, continuation) + continuation)["input_ids"]
    if full_ids[: len(prompt_ids)] == prompt_ids and len(full_ids) > len(prompt_ids):
        cont = full_ids[len(prompt_ids):]
    else:  # the tokenizer merged across the boundary: fall back to separate encoding
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and cont and cont[-1] == tokenizer.eos_token_id:
        cont = cont[:-1]  # some tokenizers append EOS; the repair target is the text only
    if not cont:
        raise DataProblem(f"continuation {continuation!r} encodes to no tokens")
    return list(prompt_ids), list(cont)

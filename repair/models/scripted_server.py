"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests, benchmarks and demos.

`responder(request_json)` returns the answer texts (one per choice), or `(status, body)` /
`(status, body, headers)` to send an error (e.g. a 429 with Retry-After). The server speaks real HTTP, so the `openai` client runs unmodified against it.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Responder = Callable[[dict], "list[str] | tuple[int, dict]"]


def _count(text: str) -> int:
    return max(1, len(text.split()))


class ScriptedChatServer:
    def __init__(self, responder: Responder, model: str = "scripted"):
        self.responder = responder
        self.model = model
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, str(value))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    return self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(req)
                try:
                    out = server.responder(req)
                except Exception as e:  # a broken script is the server's 500, like a real one
                    return self._send(500, {"error": {"message": f"responder failed: {e}"}})
                if isinstance(out, tuple):
                    return self._send(*out)
                prompt = sum(_count(m.get("content", "")) for m in req.get("messages", []))
                choices = [
                    {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": t}}
                    for i, t in enumerate(out)
                ]
                completion = sum(_count(t) for t in out)
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": int(time.time()),
                    "model": req.get("model", server.model), "choices": choices,
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                })

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedChatServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

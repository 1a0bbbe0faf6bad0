"""Model backends shared by repair, bouncers and training (issue #4).

The protocol every backend implements:

    class Model(Protocol):
        name: str
        def complete(self, messages: list[dict], *, n: int = 1, temperature: float = 0.0,
                     max_tokens: int = 512, top_p: float = 1.0) -> list[str]: ...

`load_model(spec, ...)` turns `openai:NAME`, `hf:PATH_OR_ID` or `vllm:PATH_OR_ID` into a Model.
"""
from __future__ import annotations

from typing import Protocol


class Model(Protocol):
    name: str

    def complete(
        self, messages: list[dict], *, n: int = 1, temperature: float = 0.0, max_tokens: int = 512, top_p: float = 1.0
    ) -> list[str]: ...

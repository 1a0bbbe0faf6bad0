"""`openai:NAME` — any OpenAI-compatible chat endpoint through the official `openai` client."""
from __future__ import annotations

import os
import random
import re
import time

from patchwarden.repair.models.budget import ModelError, estimate_tokens
from patchwarden.repair.models.metered import Generation, messages_text

DUMMY_KEY = "sk-local-no-key"  # local servers (vLLM serve, Ollama, llama.cpp) accept any key


class OpenAIBackend:
    local = False

    def __init__(self, name: str, api_base: str | None = None, *, timeout: float = 120.0, retries: int = 4,
                 backoff: float = 0.5):
        import openai

        self._openai = openai
        self.name = name
        self.base = api_base or os.environ.get("OPENAI_BASE_URL") or None
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if not self.base:
                raise ModelError(f"openai:{name}: OPENAI_API_KEY is not set; export it, or pass --api-base URL for a local server")
            key = DUMMY_KEY
        self.retries, self.backoff = retries, backoff
        # Retries are ours (below), so that every attempt is counted and logged; they honour Retry-After.
        self.client = openai.OpenAI(api_key=key, base_url=self.base, timeout=timeout, max_retries=0)
        self._token_param = "max_tokens"
        self._one_per_request = False  # set when the server refuses n > 1

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        return estimate_tokens(messages_text(messages)) + 4 * len(messages)

    def generate(self, messages, *, n, temperature, max_tokens, top_p) -> Generation:
        texts: list[str] = []
        prompt_tokens = completion_tokens = attempts = 0
        # Some servers (llama.cpp, Ollama) ignore `n` and return one choice: ask again for the rest.
        for _ in range(n):
            if len(texts) >= n:
                break
            want = 1 if self._one_per_request else n - len(texts)
            resp, tries = self._create(messages, want, temperature, max_tokens, top_p)
            attempts += tries
            if not resp.choices:
                raise ModelError(f"openai:{self.name}: the server at {self.base or 'api.openai.com'} returned no choices")
            texts += [c.message.content or "" for c in resp.choices][: n - len(texts)]
            u = resp.usage
            prompt_tokens += u.prompt_tokens if u and u.prompt_tokens is not None else self.count_prompt_tokens(messages)
            completion_tokens += (
                u.completion_tokens if u and u.completion_tokens is not None
                else sum(estimate_tokens(c.message.content or "") for c in resp.choices)
            )
        return Generation(texts, prompt_tokens, completion_tokens, {"attempts": attempts} if attempts > 1 else {})

    def _create(self, messages, n, temperature, max_tokens, top_p):
        oa = self._openai
        where = self.base or "api.openai.com"
        for attempt in range(self.retries + 1):
            try:
                kwargs = {self._token_param: max_tokens}
                return self.client.chat.completions.create(
                    model=self.name, messages=messages, n=n, temperature=temperature, top_p=top_p, **kwargs
                ), attempt + 1
            except oa.BadRequestError as e:
                # Newer hosted models reject `max_tokens` and want `max_completion_tokens`.
                if "max_completion_tokens" in str(e) and self._token_param == "max_tokens":
                    self._token_param = "max_completion_tokens"
                    continue
                # Some servers only allow one choice per request: ask for one at a time.
                if n > 1 and re.search(r"\bn\b|'n'|\"n\"", str(e)):
                    self._one_per_request, n = True, 1
                    continue
                raise ModelError(f"openai:{self.name}: the server at {where} rejected the request: {e}") from e
            except oa.AuthenticationError as e:
                raise ModelError(f"openai:{self.name}: the server at {where} refused the API key (401); set OPENAI_API_KEY") from e
            except oa.NotFoundError as e:
                raise ModelError(f"openai:{self.name}: not found at {where} (404); check the model name and --api-base") from e
            except (oa.APIConnectionError, oa.RateLimitError, oa.InternalServerError, oa.APIStatusError) as e:
                status = getattr(e, "status_code", None)
                if isinstance(e, oa.APIStatusError) and status is not None and status < 500 and status not in (408, 409, 429):
                    raise ModelError(f"openai:{self.name}: the server at {where} answered {status}: {e}") from e
                if attempt == self.retries:
                    raise ModelError(
                        f"openai:{self.name}: no answer from {where} after {attempt + 1} attempts ({type(e).__name__}: {e}); "
                        "check that the server is up and --api-base is right"
                    ) from e
                wait = retry_after(e)
                if wait is None:
                    wait = min(30.0, self.backoff * 2**attempt) * (1 + 0.25 * random.random())
                time.sleep(wait)
        raise AssertionError("unreachable")


MAX_RETRY_AFTER = 60.0  # like the openai client: a longer Retry-After falls back to our own backoff


def retry_after(exc) -> float | None:
    """Seconds the server asked us to wait (Retry-After-Ms, Retry-After as seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    wait = None
    try:
        if headers.get("retry-after-ms"):
            wait = float(headers["retry-after-ms"]) / 1000
        elif headers.get("retry-after"):
            value = headers["retry-after"]
            try:
                wait = float(value)
            except ValueError:
                from email.utils import parsedate_to_datetime
                wait = parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
    return wait if wait is not None and 0 <= wait <= MAX_RETRY_AFTER else None

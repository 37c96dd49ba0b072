"""OpenAI-compatible chat endpoint: the judge role's default backend (any base_url: OpenAI, vLLM,
SGLang, llama.cpp). Retries with tenacity — exponential backoff with jitter, Retry-After honoured;
429, 5xx, timeouts, connection resets, malformed bodies and empty replies are retried, other 4xx are
not. The API key is read from the environment at call time and never stored anywhere."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from almeval.errors import ConfigError, ItemError, RetryableError

from .limiter import EndpointLimiter, Limits

OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str = ""  # "" = OpenAI itself
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    max_attempts: int = 8
    limits: Limits = field(default_factory=Limits)
    transport: str = "aiohttp"  # or "httpx", the openai client default (tests/bench/judge_throughput.py compares)

    @property
    def url(self) -> str:
        """The endpoint's URL as recorded, keyed and shown: without credentials (C11)."""
        return public_url(self.base_url or OPENAI_URL).rstrip("/")

    def identity(self) -> dict[str, Any]:
        """What decides a reply: the model and where it is served (not timeouts or limits)."""
        return {"backend": "openai-compatible", "model": self.model, "url": self.url}

    def api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if self.base_url:
            return "EMPTY"  # local servers (vLLM, llama.cpp) accept any key
        raise ConfigError(f"judge {self.model!r} needs ${self.api_key_env} (or --judge-base-url for a local server)")


@dataclass(frozen=True)
class Reply:
    text: str
    model: str  # the model name as the API returned it
    prompt_tokens: int
    completion_tokens: int
    attempts: int


class RetryAfter(RetryableError):
    def __init__(self, message: str, seconds: float | None):
        super().__init__(message)
        self.seconds = seconds


class RateLimited(RetryAfter):
    """A 429: retried apart from other failures (RATE_LIMITED_ATTEMPTS), the endpoint paused and slowed."""


RATE_LIMITED_ATTEMPTS = 60


def public_url(url: str) -> str:
    """`https://user:pass@host/v1` → `https://host/v1`: what may be written to a store, key, log or report."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def basic_auth(url: str) -> dict[str, str]:
    """Credentials written into a URL (`https://user:pass@gateway/v1`) are sent as HTTP Basic auth, in
    place of the bearer key, and only on the wire: the URL itself is recorded without them."""
    import base64
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def estimate_tokens(messages: list[dict[str, str]], params: Mapping[str, Any]) -> int:
    """Before the call: ~4 characters a token for the prompt, plus the expected reply (capped)."""
    chars = sum(len(m["content"]) for m in messages)
    return chars // 4 + 8 * len(messages) + min(int(params.get("max_tokens", 256)), 256)


class ChatClient:
    """Created inside the running loop; one per endpoint, sharing that endpoint's limiter."""

    def __init__(self, endpoint: Endpoint, limiter: EndpointLimiter):
        import openai

        self.endpoint, self.limiter = endpoint, limiter
        self.sent = 0  # HTTP requests actually made (attempts)
        http = openai.DefaultAioHttpClient() if endpoint.transport == "aiohttp" else None
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.url,
            api_key=endpoint.api_key(),
            max_retries=0,
            timeout=endpoint.timeout_s,
            http_client=http,
            default_headers=basic_auth(endpoint.base_url),
        )

    async def complete(
        self, messages: list[dict[str, str]], params: Mapping[str, Any], choices: Sequence[str] = ()
    ) -> Reply:
        """One chat completion, retried. `choices` (a constrained local judge's) is not used by endpoints."""
        attempts = limited = 0

        def stop(state: RetryCallState) -> bool:
            """Give up after max_attempts failures; 429s (the server asking us to wait, which the limiter
            honours and adapts to) count apart, up to RATE_LIMITED_ATTEMPTS."""
            nonlocal limited
            if state.outcome is not None and isinstance(state.outcome.exception(), RateLimited):
                limited += 1
                return limited >= RATE_LIMITED_ATTEMPTS
            return state.attempt_number - limited >= self.endpoint.max_attempts

        retrying = AsyncRetrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                attempts += 1
                reply = await self._once(messages, params)
        return Reply(reply.text, reply.model, reply.prompt_tokens, reply.completion_tokens, attempts)

    async def _once(self, messages: list[dict[str, str]], params: Mapping[str, Any]) -> Reply:
        est = estimate_tokens(messages, params)
        async with self.limiter.slot(est):
            self.sent += 1
            response = await self._call(messages, params)
        usage = getattr(response, "usage", None)
        prompt, completion = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        self.limiter.correct(est, prompt + completion)
        self.limiter.succeeded()
        want = int(params.get("n") or 1)
        try:
            texts = [response.choices[i].message.content for i in range(want)]
        except (AttributeError, IndexError, TypeError):
            raise RetryableError(f"malformed response: fewer than {want} choices with message.content") from None
        if any(not t or not t.strip() for t in texts):
            raise RetryableError("empty reply")
        # several choices in one call (a reference's n=3): stored as one JSON list, read by its parser
        text = texts[0] if want == 1 else json.dumps(texts, ensure_ascii=False)
        return Reply(text, str(getattr(response, "model", "") or ""), prompt, completion, 1)

    async def _call(self, messages: list[dict[str, str]], params: Mapping[str, Any]) -> Any:
        import openai

        try:
            return await self._client.chat.completions.create(model=self.endpoint.model, messages=messages, **params)  # type: ignore[arg-type]
        except openai.RateLimitError as exc:
            seconds = _retry_after(exc)
            self.limiter.pause(seconds if seconds is not None else 1.0)
            raise RateLimited(f"429 rate limited: {exc.message}", seconds) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (408, 409) or exc.status_code >= 500:
                raise RetryAfter(f"{exc.status_code}: {exc.message}", _retry_after(exc)) from None
            if exc.status_code in (401, 403, 404):
                raise ConfigError(
                    f"judge endpoint {self.endpoint.url} refused ({exc.status_code}): {exc.message}; "
                    f"check ${self.endpoint.api_key_env} and the model name"
                ) from None
            raise ItemError(f"{exc.status_code}: {exc.message}") from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from None
        except (openai.APIResponseValidationError, ValueError) as exc:  # malformed JSON body
            raise RetryableError(f"malformed response: {exc}") from None

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryAfter) and exc.seconds is not None:
            return exc.seconds
        return float(wait_exponential_jitter(multiplier=0.25, max=30.0, jitter=0.5)(state))

    async def aclose(self) -> None:
        await self._client.close()


def _retry_after(exc: Any) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None

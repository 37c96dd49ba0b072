"""OpenAI-compatible chat endpoint: the judge role's default backend (any base_url: OpenAI, vLLM,
SGLang, llama.cpp). Retries with tenacity — exponential backoff with jitter, Retry-After honoured;
429, 5xx, timeouts, connection resets, malformed bodies and empty replies are retried, other 4xx are
not. The API key is read from the environment at call time and never stored anywhere."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from almeval.errors import ConfigError, ItemError, RetryableError

from .limiter import EndpointLimiter, Limits

OPENAI_URL = "https://api.openai.com/v1"
_BODY = json.JSONEncoder(ensure_ascii=False)  # request bodies (json.dumps with options builds one per call)


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str = ""  # "" = OpenAI itself
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    max_attempts: int = 8
    limits: Limits = field(default_factory=Limits)
    transport: str = "aiohttp"  # or "httpx", the openai client default (tests/bench/judge_throughput.py compares)

    @cached_property
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
        self.endpoint, self.limiter = endpoint, limiter
        self.sent = 0  # HTTP requests actually made (attempts)
        self._direct: Any = None  # aiohttp.ClientSession (transport "aiohttp"), made on first use
        self._client: Any = None  # openai.AsyncOpenAI (transport "httpx")
        if endpoint.transport != "aiohttp":
            import openai

            self._client = openai.AsyncOpenAI(
                base_url=endpoint.url,
                api_key=endpoint.api_key(),
                max_retries=0,
                timeout=endpoint.timeout_s,
                default_headers=basic_auth(endpoint.base_url),
            )
        else:
            self._headers = {"Authorization": f"Bearer {endpoint.api_key()}", **basic_auth(endpoint.base_url)}
            self._headers["Content-Type"] = "application/json"

    async def complete(
        self, messages: list[dict[str, str]], params: Mapping[str, Any], choices: Sequence[str] = ()
    ) -> Reply:
        """One chat completion, retried. `choices` (a constrained local judge's) is not used by endpoints.
        The first attempt runs outside tenacity (its per-call machinery costs as much CPU as the call at a
        thousand calls a second); a failure enters the retry loop as its first attempt, so the policy —
        waits, attempt counts, 429s counted apart — is exactly the same."""
        try:
            return await self._once(messages, params)  # attempts=1
        except RetryableError as exc:
            first: RetryableError | None = exc
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
                if first is not None:  # the attempt already made above
                    failed, first = first, None
                    raise failed
                reply = await self._once(messages, params)
        return Reply(reply.text, reply.model, reply.prompt_tokens, reply.completion_tokens, attempts)

    async def _once(self, messages: list[dict[str, str]], params: Mapping[str, Any]) -> Reply:
        est = estimate_tokens(messages, params)
        async with self.limiter.slot(est):
            self.sent += 1
            data = await (self._post(messages, params) if self._client is None else self._call(messages, params))
        usage = data.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        self.limiter.correct(est, prompt + completion)
        self.limiter.succeeded()
        want = int(params.get("n") or 1)
        try:
            texts = [data["choices"][i]["message"]["content"] for i in range(want)]
        except (KeyError, IndexError, TypeError):
            raise RetryableError(f"malformed response: fewer than {want} choices with message.content") from None
        if any(not isinstance(t, str) or not t.strip() for t in texts):
            raise RetryableError("empty reply")
        # several choices in one call (a reference's n=3): stored as one JSON list, read by its parser
        text = texts[0] if want == 1 else json.dumps(texts, ensure_ascii=False)
        return Reply(text, str(data.get("model") or ""), prompt, completion, 1)

    async def _post(self, messages: list[dict[str, str]], params: Mapping[str, Any]) -> dict[str, Any]:
        """The chat completion as one HTTP POST through aiohttp: the request body is the JSON the API
        defines, sent as built; the reply is read as JSON (no SDK models on either side, which cost more
        CPU than the call at a thousand calls a second). Statuses map as in `_call`."""
        import aiohttp

        if self._direct is None:
            self._direct = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.endpoint.timeout_s),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        body = _BODY.encode({"model": self.endpoint.model, "messages": messages, **params})
        try:
            async with self._direct.post(
                f"{self.endpoint.url}/chat/completions", data=body.encode(), headers=self._headers
            ) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from None
        if status >= 400:
            self._status_error(status, _message(raw), headers)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise RetryableError(f"malformed response: {exc}") from None
        if not isinstance(data, dict):
            raise RetryableError("malformed response: not a JSON object")
        return data

    def _status_error(self, status: int, message: str, headers: Mapping[str, str]) -> None:
        """An HTTP error status as the error the retry policy reads (raises)."""
        seconds = _retry_after_headers(headers)
        if status == 429:
            self.limiter.pause(seconds if seconds is not None else 1.0)
            raise RateLimited(f"429 rate limited: {message}", seconds)
        if status in (408, 409) or status >= 500:
            raise RetryAfter(f"{status}: {message}", seconds)
        if status in (401, 403, 404):
            raise ConfigError(
                f"judge endpoint {self.endpoint.url} refused ({status}): {message}; "
                f"check ${self.endpoint.api_key_env} and the model name"
            )
        raise ItemError(f"{status}: {message}")

    async def _call(self, messages: list[dict[str, str]], params: Mapping[str, Any]) -> dict[str, Any]:
        """The same call through the openai SDK (transport "httpx")."""
        import openai

        try:
            response = await self._client.chat.completions.create(
                model=self.endpoint.model, messages=messages, **params
            )
        except openai.APIStatusError as exc:
            self._status_error(exc.status_code, exc.message, getattr(exc.response, "headers", None) or {})
            raise  # unreachable: _status_error always raises
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from None
        except (openai.APIResponseValidationError, ValueError) as exc:  # malformed JSON body
            raise RetryableError(f"malformed response: {exc}") from None
        return dict(response.model_dump())

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryAfter) and exc.seconds is not None:
            return exc.seconds
        return float(wait_exponential_jitter(multiplier=0.25, max=30.0, jitter=0.5)(state))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._direct is not None:
            await self._direct.close()


def _message(raw: bytes) -> str:
    """An error body's message (the API's {"error": {"message": …}}), else its text, shortened."""
    try:
        data = json.loads(raw)
        return str(data["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return raw.decode("utf-8", "replace")[:300]


def _retry_after_headers(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None

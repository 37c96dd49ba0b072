"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks (aiohttp).

It answers POST /v1/chat/completions like a deterministic judge, enforces a requests-per-window limit
with 429 + Retry-After, and injects faults at configurable rates: 500s, timeouts (it sleeps past the
client's timeout), connection resets, malformed JSON bodies and empty contents. Faults are drawn from
a seeded RNG; verdicts depend only on the request, so a faulty run must end with the same verdicts as
a fault-free one. Special models: "contrarian" flips yes/no; "echo-after" repeats the model's answer on
the lines after its verdict; "sloppy" omits the verdict line unless
asked to repair. Runs in a background thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

FAULTS = ("error500", "timeout", "reset", "malformed", "empty")


@dataclass
class ServerConfig:
    limit: int = 0  # requests allowed per window (0 = unlimited)
    window_s: float = 60.0
    latency_s: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)  # kind → probability per request
    timeout_sleep_s: float = 2.0
    seed: int = 0
    reasoning_chars: int = 0  # a judge that reasons at length: this many characters before its verdict
    max_concurrent: int = 0  # requests served at once (0 = unlimited): a replica saturated at this many
    die_after: int = 0  # after this many requests the server shuts down (connections refused): a dead replica
    # a fixed reply set: (model, messages) → the reply text, instead of the built-in deterministic judge
    reply: Callable[[str, list[dict]], str] | None = None


@dataclass
class Stats:
    requests: int = 0
    ok: int = 0
    throttled: int = 0
    faults: collections.Counter = field(default_factory=collections.Counter)
    user_messages: list[str] = field(default_factory=list)
    audio_digests: list[str] = field(default_factory=list)  # sha256 of each input_audio part received
    image_digests: list[str] = field(default_factory=list)  # sha256 of each image_url data URI received
    auth_headers: set[str] = field(default_factory=set)
    bodies: list[dict] = field(default_factory=list)  # every request body as received


def _line(text: str, label: str) -> str:
    found = re.findall(rf"^{label}:\s*(.*)$", text, re.M)  # the last one: templates carry worked examples
    return found[-1].strip() if found else ""


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


_MARKED = re.compile(r"<answer-([0-9a-f]{12})>(.*?)</answer-\1>", re.S)


def _unmark(text: str) -> str:
    """The prompt with each marked answer block replaced by the answer (the markers are almeval's)."""
    return _MARKED.sub(lambda m: m.group(2), text)


def _judge(model: str, messages: list[dict]) -> tuple[str, str, str]:
    """(reasoning, verdict line, text after the verdict) of a deterministic judge."""
    user = [m["content"] for m in messages if m["role"] == "user"]
    text = _unmark(user[0]) if user else ""
    repairing = len(user) > 1
    if "Rate the reply from 1 to 5" in text:
        response = _line(text, r"### \[Response\]")
        return "", str(1 + len(response) % 5), ""
    if "[Expert]:" in text:  # openai/evals fact: letter on its own last line
        sub, exp = _line(text, r"\[Submission\]"), _line(text, r"\[Expert\]")
        return "Comparing the two.", "C" if _norm(sub) == _norm(exp) else "D", ""
    answer, truth = _line(text, "Model Answer"), _line(text, "Ground Truth Answer")
    if not truth:  # sd-qa style
        answer = (
            text.split("### Candidate answer")[-1].strip().split("\n\n")[0] if "### Candidate answer" in text else ""
        )
        truth = (
            text.split("### Reference answer")[-1].strip().split("\n\n")[0] if "### Reference answer" in text else ""
        )
    verdict = _norm(answer) == _norm(truth) or _norm(answer).startswith(_norm(truth) + " ")
    if model == "contrarian":
        verdict = not verdict
    if "Reply Yes or No only" in text:  # a judge asked for the bare word
        return "", "Yes" if verdict else "No", ""
    result = f"Result: {'yes' if verdict else 'no'}"
    if model == "echo-after":  # a judge that repeats the answer after its verdict: the forging vector
        return "", result, answer
    if model == "sloppy" and not repairing:
        return "The model says something. I would lean one way.", "", ""
    # quote the model's answer back, including any "Result:" it contains: only the last line may count
    return f'The model answered "{answer}".', result, ""


def judge_reply(model: str, messages: list[dict], response_format: dict | None = None) -> str:
    """Free text (reasoning, verdict line, anything after it), or, when the request carries a json_schema
    response_format, the JSON object that schema asks for: a `verdict` among its enum (+ `reasoning`)."""
    reasoning, verdict, after = _judge(model, messages)
    if not response_format:
        return "\n".join(part for part in (reasoning, verdict, after) if part)
    schema = response_format["json_schema"]["schema"]
    allowed = schema["properties"]["verdict"]["enum"]
    out = {"verdict": verdict if verdict in allowed else allowed[-1]}
    if "reasoning" in schema["properties"]:
        out = {"reasoning": "\n".join(part for part in (reasoning, after) if part), **out}
    return json.dumps(out)


class FakeOpenAI:
    def __init__(self, config: ServerConfig | None = None):
        self.config = config or ServerConfig()
        self.stats = Stats()
        self._rng = random.Random(self.config.seed)
        self._window: collections.deque[float] = collections.deque()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._dying = False
        self._gate: asyncio.Semaphore | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._dying:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        if self.config.max_concurrent:
            self._gate = asyncio.Semaphore(self.config.max_concurrent)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _audio_reply(self, parts: list[dict]) -> str:
        texts = [p["text"] for p in parts if p["type"] == "text"]
        images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
        if images:  # a VLM: check each data URI decodes, and answer by content
            for url in images:
                head, _, data = url.partition(";base64,")
                if not head.startswith("data:image/"):
                    return "BAD IMAGE PART"
                self.stats.image_digests.append(hashlib.sha256(base64.b64decode(data)).hexdigest())
            order = "images first" if parts[0]["type"] == "image_url" else "text first"
            return f"saw {len(images)} image(s), {order}; asked: {' '.join(texts)}"
        audio = [base64.b64decode(p["input_audio"]["data"]) for p in parts if p["type"] == "input_audio"]
        for data in audio:
            if data[:4] != b"RIFF" or parts[-1]["input_audio"]["format"] != "wav":
                return "BAD AUDIO PART"
            self.stats.audio_digests.append(hashlib.sha256(data).hexdigest())
        return f"heard {len(audio)} audio part(s) of {sum(map(len, audio))} bytes; asked: {' '.join(texts)}"

    async def _stats(self, request: web.Request) -> web.Response:
        st = self.stats
        return web.json_response(
            {"requests": st.requests, "ok": st.ok, "throttled": st.throttled, "faults": dict(st.faults)}
        )

    def _throttle(self) -> float | None:
        """Seconds to wait if the window is full, else None (and the request is counted)."""
        cfg, now = self.config, time.monotonic()
        while self._window and now - self._window[0] >= cfg.window_s:
            self._window.popleft()
        if cfg.limit and len(self._window) >= cfg.limit:
            return cfg.window_s - (now - self._window[0])
        self._window.append(now)
        return None

    def _fault(self) -> str | None:
        r, acc = self._rng.random(), 0.0
        for kind in FAULTS:
            acc += self.config.faults.get(kind, 0.0)
            if r < acc:
                return kind
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.config.die_after and self.stats.requests >= self.config.die_after:
            if not self._dying:
                self._dying = True
                asyncio.get_running_loop().create_task(self._runner.cleanup())  # type: ignore[union-attr]
            request.transport.abort()  # type: ignore[union-attr]
            return web.Response(status=500)
        if self._gate is None:
            return await self._serve(request)
        async with self._gate:
            return await self._serve(request)

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "m", "object": "model"}]})

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.stats.bodies.append(body)
        self.stats.requests += 1
        self.stats.auth_headers.add(request.headers.get("Authorization", ""))
        wait = self._throttle()
        if wait is not None:
            self.stats.throttled += 1
            return web.json_response(
                {"error": {"message": "rate limited", "type": "rate_limit"}},
                status=429,
                headers={"retry-after-ms": str(int(wait * 1000)), "retry-after": str(math.ceil(wait))},
            )
        fault = self._fault()
        if fault:
            self.stats.faults[fault] += 1
        if self.config.latency_s:
            await asyncio.sleep(self.config.latency_s)
        if fault == "error500":
            return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=500)
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
        if fault == "reset":
            request.transport.abort()  # type: ignore[union-attr]
            return web.Response(status=500)
        if fault == "malformed":
            return web.Response(text='{"id": "x", "choices": [', content_type="application/json")
        if body["model"] == "bad-request":  # a non-retryable 4xx
            return web.json_response({"error": {"message": "context too long", "type": "invalid_request"}}, status=400)
        messages = body["messages"]
        user = next(m["content"] for m in messages if m["role"] == "user")
        if isinstance(user, list) and all(p.get("type") == "text" for p in user):  # text parts: a judge's
            messages = [
                {**m, "content": "\n".join(p["text"] for p in m["content"])} if isinstance(m["content"], list) else m
                for m in messages
            ]
            user = messages[-1]["content"]
        if isinstance(user, list):  # a model under test with audio parts: check and answer by content
            text = self._audio_reply(user)
        else:
            self.stats.user_messages.append(user)
            if self.config.reply is not None:
                text = self.config.reply(body["model"], messages)
            else:
                text = judge_reply(body["model"], messages, body.get("response_format"))
            if self.config.reasoning_chars:
                text = "Let me think. " * (self.config.reasoning_chars // 14) + "\n" + text
        text = "" if fault == "empty" else text
        self.stats.ok += fault is None
        prompt_chars = sum(len(m["content"]) for m in messages)
        return web.json_response(
            {
                "id": f"chatcmpl-{self.stats.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": f"{body['model']}-2024-07-18",
                "choices": [
                    {"index": k, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    for k in range(int(body.get("n") or 1))
                ],
                "usage": {
                    "prompt_tokens": prompt_chars // 4,
                    "completion_tokens": len(text) // 4 + 1,
                    "total_tokens": prompt_chars // 4 + len(text) // 4 + 1,
                },
            }
        )


def main() -> None:
    """Serve in its own process (benchmarks: keeps the server's CPU off the client's GIL). Prints the port."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=900.0, help="stop by itself after this long")
    ap.add_argument("--max-concurrent", type=int, default=0, help="requests served at once (0 = unlimited)")
    a = ap.parse_args()
    cfg = ServerConfig(limit=a.limit, window_s=a.window, latency_s=a.latency, max_concurrent=a.max_concurrent)
    with FakeOpenAI(cfg) as srv:
        print(srv.port, flush=True)
        time.sleep(a.seconds)


if __name__ == "__main__":
    main()

"""A fake LLM provider for tests: a real HTTP server on 127.0.0.1 with per-request faults.

It speaks the OpenAI chat-completions protocol under ``/openai/v1`` (its other endpoints, such
as embeddings, live in ``tests/fake_upstream_openai.py``) and the Anthropic Messages
API under ``/anthropic/v1``, streaming and not, and runs ``uvicorn.Server`` in a background
thread with its own event loop::

    with FakeUpstream() as fake:
        fake.add_fault("gpt-4o", Fault.status_code(429, retry_after=1))
        client = OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)

Faults are queued per model (or ``"*"``) and consumed one per request, FIFO. Every request is
recorded in ``fake.requests`` (headers, body, timings, whether the client went away).
The Anthropic wire format lives in ``tests/fake_upstream_anthropic.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from . import fake_upstream_openai
from .fake_upstream_anthropic import (
    AnthropicWire,
    Frames,
    Headers,
    Plan,
    Prompt,
    Script,
    Wire,
    new_id,
    plan_reply,
    recorded_frames,
    render_message,
    sse,
)

__all__ = ["FakeUpstream", "Fault", "Recorded"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HANGS = ["hang_before_headers", "hang_after_headers"]
FAULT_KINDS = frozenset(
    [
        "status",
        "cut_after",
        "malformed_json",
        "wrong_shape",
        "drop",
        "slow",
        "stream_error",
        "stall",
        *_HANGS,
    ]
)
BROKEN_JSON = b'{"id": "broken", "choices": [{"message": {"content": "Hel'
WRONG_SHAPE_JSON = b'{"id": "odd", "type": "message", "choices": "none", "content": 5}'
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


# --------------------------------------------------------------------------- public types


@dataclass
class Fault:
    """One injected failure, consumed by one request."""

    kind: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    seconds: float = 0.0
    chunks: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @classmethod
    def status_code(
        cls, status: int, retry_after: float | None = None, body: dict | None = None
    ) -> Fault:
        """Answer `status` with the protocol's error JSON (and Retry-After if given)."""
        headers = {} if retry_after is None else {"Retry-After": _fmt_seconds(retry_after)}
        return cls("status", status=status, headers=headers, body=body)

    @classmethod
    def hang_before_headers(cls, seconds: float = 30) -> Fault:
        """Send nothing for `seconds`, then answer normally."""
        return cls("hang_before_headers", seconds=seconds)

    @classmethod
    def hang_after_headers(cls, seconds: float = 30) -> Fault:
        """Send 200 headers, then no body bytes for `seconds`, then answer normally."""
        return cls("hang_after_headers", seconds=seconds)

    @classmethod
    def cut_after(cls, chunks: int) -> Fault:
        """Stream: `chunks` content chunks then close the TCP connection; non-stream: half a body."""
        return cls("cut_after", chunks=chunks)

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 with a body that is not JSON (stream: the first content event is broken JSON)."""
        return cls("malformed_json")

    @classmethod
    def wrong_shape(cls, chunks: int = 1) -> Fault:
        """Valid JSON of the wrong shape: stream, after `chunks` content events; else the body."""
        return cls("wrong_shape", chunks=chunks)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Delay the first token (stream) or the whole response (non-stream) by `seconds`."""
        return cls("slow", seconds=seconds)

    @classmethod
    def stall_after(cls, chunks: int, seconds: float = 30) -> Fault:
        """Stream: `chunks` content chunks, then silence for `seconds`, then the rest.

        Non-stream requests are answered normally.
        """
        return cls("stall", chunks=chunks, seconds=seconds)

    @classmethod
    def stream_error(cls, chunks: int = 0, status: int = 529, body: dict | None = None) -> Fault:
        """Stream: `chunks` content chunks, then an in-band error event and a clean end.

        Non-stream requests get a plain `status` error instead.
        """
        return cls("stream_error", status=status, chunks=chunks, body=body)


@dataclass
class Recorded:
    """What the fake saw and did for one request."""

    path: str
    headers: dict[str, str]
    body: dict
    model: str
    stream: bool
    started: float
    first_byte: float | None = None  # when the first body byte was sent
    finished: float | None = None
    disconnected: bool = False  # the client went away before the response completed
    fault: str | None = None
    status: int | None = None  # status code sent, None if no response head was sent
    sent: bytearray = field(default_factory=bytearray)  # every body byte the fake sent


# --------------------------------------------------------------------------- helpers


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _parse_json(raw: bytes) -> tuple[dict, bool]:
    try:
        body = json.loads(raw)
    except ValueError:
        return {}, False
    return (body, True) if isinstance(body, dict) else ({}, False)


def _transport_of(receive: Receive) -> asyncio.BaseTransport | None:
    """uvicorn's `receive` is a bound method of its request cycle, which holds the transport."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


class ConnectionCut(Exception):
    """Raised to make the server drop the connection when the transport is not reachable."""


# --------------------------------------------------------------------------- OpenAI wire

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("request_forbidden", None, "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_OPENAI_FINISH = {"stop": "stop", "length": "length", "stop_sequence": "stop", "tool": "tool_calls"}
_COMPLETION_DETAILS = (
    "reasoning_tokens",
    "audio_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
)
_OPENAI_MODELS = ["gpt-4o", "gpt-4o-mini", "deepseek-chat", "deepseek-reasoner", "qwen3-32b"]


def _openai_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class OpenAIWire:
    """OpenAI chat completions, as api.openai.com sends them."""

    fingerprint = "fp_" + secrets.token_hex(5)

    def headers(self) -> Headers:
        return [(b"x-request-id", new_id("req_", 32).encode()), (b"openai-version", b"2020-10-01")]

    def auth_error(self, headers: dict[str, str]) -> tuple[int, dict] | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return None
        message = "You didn't provide an API key. Use an Authorization header with Bearer auth."
        return 401, self.error(401, message, code=None)

    def invalid(self, body: dict, parsed: bool) -> dict | None:
        if not parsed:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not body.get("model"):
            return self.error(400, "you must provide a model parameter")
        if not isinstance(body.get("messages"), list):
            return self.error(400, "Missing required parameter: 'messages'.")
        return None

    def prompt(self, body: dict) -> Prompt:
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        users = [_openai_text(m.get("content")) for m in messages if m.get("role") == "user"]
        tools = body.get("tools") or []
        stop = body.get("stop")
        return Prompt(
            words=sum(len(_openai_text(m.get("content")).split()) for m in messages),
            last_user=users[-1] if users else "",
            tool=(tools[0].get("function") or {}).get("name") if tools else None,
            stops=[stop] if isinstance(stop, str) else list(stop or []),
            max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
            json_mode=(body.get("response_format") or {}).get("type") == "json_object",
        )

    def response(self, model: str, plan: Plan) -> dict:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text,
            "refusal": None,
            "annotations": [],
        }
        if plan.tool:
            message["content"] = None
            message["tool_calls"] = [self._call(plan, streamed=False)]
        choice = {"index": 0, "message": message, "logprobs": None}
        return {
            **self._envelope("chatcmpl-" + new_id("", 29), "chat.completion", model),
            "choices": [{**choice, "finish_reason": _OPENAI_FINISH[plan.finish]}],
            **({} if plan.no_usage else {"usage": self._usage(plan)}),
        }

    def frames(self, model: str, plan: Plan, body: dict) -> Frames:
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = self._envelope("chatcmpl-" + new_id("", 29), "chat.completion.chunk", model)

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return sse({**base, "choices": [choice], **({"usage": None} if with_usage else {})})

        if plan.tool:
            call = self._call(plan, streamed=True)
            first = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
            content = [
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
                for part in plan.chunks
            ]
        else:
            first = {"role": "assistant", "content": "", "refusal": None}
            content = [chunk({"content": word}) for word in plan.chunks]
        tail = [chunk({}, _OPENAI_FINISH[plan.finish])]
        if with_usage and not plan.no_usage:
            tail.append(sse({**base, "choices": [], "usage": self._usage(plan)}))
        return Frames([chunk(first)], content, [*tail, sse("[DONE]")])

    def error(self, status: int, message: str | None = None, code: str | None = "") -> dict:
        default = ("server_error", None, "Upstream error.")
        if status < 500:
            default = ("invalid_request_error", None, "Request failed.")
        kind, default_code, default_message = _OPENAI_ERRORS.get(status, default)
        return {
            "error": {
                "message": message or default_message,
                "type": kind,
                "param": None,
                "code": default_code if code == "" else code,
            }
        }

    def error_frame(self, error: dict) -> bytes:
        return sse(error)

    def broken_frame(self) -> bytes:
        return b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"Hel\n\n'

    def _envelope(self, ident: str, obj: str, model: str) -> dict:
        return {
            "id": ident,
            "object": obj,
            "created": int(time.time()),
            "model": model,
            "service_tier": "default",
            "system_fingerprint": self.fingerprint,
        }

    def _call(self, plan: Plan, streamed: bool) -> dict:
        """A tool call; streamed calls carry an index and get their arguments in fragments."""
        function = {"name": plan.tool, "arguments": "" if streamed else plan.arguments}
        call = {"id": "call_" + new_id("", 24), "type": "function", "function": function}
        return {"index": 0, **call} if streamed else call

    def _usage(self, plan: Plan) -> dict:
        prompt = plan.prompt_tokens + plan.cache_read
        return {
            "prompt_tokens": prompt,
            "completion_tokens": plan.completion_tokens,
            "total_tokens": prompt + plan.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": plan.cache_read, "audio_tokens": 0},
            "completion_tokens_details": dict.fromkeys(_COMPLETION_DETAILS, 0),
        }

    def models(self) -> dict:
        data = [
            {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
            for m in _OPENAI_MODELS
        ]
        return {"object": "list", "data": data}


# --------------------------------------------------------------------------- connection


class _Conn:
    """One request's connection: sends, timed pauses, and client-disconnect detection."""

    def __init__(self, receive: Receive, send: Send, rec: Recorded, fake: FakeUpstream) -> None:
        self._receive, self._send, self.rec, self._fake = receive, send, rec, fake
        self.halt = asyncio.Event()  # client left or server stopping: stop sending
        self.closed = asyncio.Event()  # the connection is gone, for whatever reason
        self.complete = False
        self._cutting = False
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if not self.complete and not self._cutting:
            self._fake._mark_disconnected(self.rec)
        self.closed.set()
        self.halt.set()

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds` (or just yield); False if we must stop sending."""
        if seconds > 0 and not self.halt.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.halt.wait(), seconds)
        else:
            await asyncio.sleep(0)
        return not self.halt.is_set()

    async def start(self, status: int, headers: Headers) -> None:
        self.rec.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, more: bool = True) -> None:
        if data and self.rec.first_byte is None:
            self.rec.first_byte = time.monotonic()
        if not more:
            self.complete = True
        self.rec.sent += data
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, obj: dict, headers: Headers) -> None:
        payload = json.dumps(obj).encode()
        length = str(len(payload)).encode()
        json_headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        await self.start(status, json_headers + headers)
        await self.body(payload, more=False)

    async def cut(self) -> None:
        """Close the TCP connection now, whatever was (not) sent."""
        self._cutting = True
        transport = _transport_of(self._receive)
        if transport is None:
            raise ConnectionCut("fake upstream: connection cut")
        transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), 2.0)

    def close(self) -> None:
        self._watcher.cancel()


# --------------------------------------------------------------------------- ASGI app


class _App:
    """The ASGI application; all state lives on the FakeUpstream."""

    def __init__(self, fake: FakeUpstream) -> None:
        self.fake = fake
        self.openai = OpenAIWire()
        self.anthropic = AnthropicWire()
        self.routes: dict[str, Wire] = {
            "/openai/v1/chat/completions": self.openai,
            "/anthropic/v1/messages": self.anthropic,
            "/anthropic/v1/messages/count_tokens": self.anthropic,
        }
        self.conns: set[_Conn] = set()
        self.stopping = False

    def halt_all(self) -> None:
        self.stopping = True
        for conn in self.conns:
            conn.halt.set()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await _read_body(receive)
        body, parsed = _parse_json(raw)
        rec = self.fake._record(scope, body)
        conn = _Conn(receive, send, rec, self.fake)
        self.conns.add(conn)
        if self.stopping:
            conn.halt.set()
        try:
            await self._route(scope, conn, parsed)
        finally:
            self.conns.discard(conn)
            conn.close()
            rec.finished = time.monotonic()

    async def _route(self, scope: Message, conn: _Conn, parsed: bool) -> None:
        rec, path, method = conn.rec, scope["path"], scope["method"]
        wire: Wire = self.anthropic if path.startswith("/anthropic") else self.openai
        if path == "/openai/v1/models" and method == "GET":
            denied = self.openai.auth_error(rec.headers)
            status, obj = denied or (200, self.openai.models())
            return await conn.json(status, obj, self.openai.headers())
        extra = fake_upstream_openai.HANDLERS.get(path)
        if extra is not None and method == "POST":
            return await fake_upstream_openai.serve(conn, self.fake, extra, self.openai)
        if path not in self.routes or method != "POST":
            return await conn.json(404, wire.error(404, f"Unknown route {method} {path}"), [])
        denied = wire.auth_error(rec.headers)
        if denied:
            return await conn.json(denied[0], denied[1], wire.headers())
        counting = path.endswith("/count_tokens")  # the one route without max_tokens
        invalid = wire.invalid({"max_tokens": 1, **rec.body} if counting else rec.body, parsed)
        if invalid:
            return await conn.json(400, invalid, wire.headers())
        fault = self.fake._take_fault(rec.model)
        rec.fault = fault.kind if fault else None
        if counting and not fault:
            return await conn.json(200, self.anthropic.count(rec.body), wire.headers())
        plan = self.fake._plan(rec.model, wire.prompt(rec.body))
        script = self.fake._script_for(rec.model)
        if script is not None and not fault:
            return await self._scripted(conn, wire, script)
        await self._respond(conn, wire, plan, fault)

    async def _scripted(self, conn: _Conn, wire: Wire, script: Script) -> None:
        """A recorded stream replayed verbatim, or a given Anthropic message (streamed as
        Anthropic's documented events when the request streams)."""
        if conn.rec.stream:
            frames = script.frames or render_message(script.message or {})
            await conn.start(200, SSE_HEADERS + wire.headers())
            for data in frames:
                await conn.pause(self.fake._chunk_delay_for(conn.rec.model))
                await conn.body(data)
            return await conn.body(b"", more=False)
        await conn.json(200, script.message or {}, wire.headers())

    async def _respond(self, conn: _Conn, wire: Wire, plan: Plan, fault: Fault | None) -> None:
        kind, stream = (fault.kind if fault else None), conn.rec.stream
        if fault and kind == "drop":
            return await conn.cut()
        if fault and (kind == "status" or (kind == "stream_error" and not stream)):
            headers = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
            body = fault.body or wire.error(fault.status)
            return await conn.json(fault.status, body, headers + wire.headers())
        delayed = kind == "hang_before_headers" or (kind == "slow" and not stream)
        if fault and delayed and not await conn.pause(fault.seconds):
            return await conn.cut()
        if stream:
            return await self._stream(conn, wire, plan, fault)
        await self._whole(conn, wire, plan, fault)

    async def _whole(self, conn: _Conn, wire: Wire, plan: Plan, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        payload = json.dumps(wire.response(conn.rec.model, plan)).encode()
        if kind == "malformed_json":
            payload = BROKEN_JSON
        if kind == "wrong_shape":
            payload = WRONG_SHAPE_JSON
        headers = [(b"content-type", b"application/json"), *wire.headers()]
        if fault and kind == "hang_after_headers":
            await conn.start(200, headers)
            if not await conn.pause(fault.seconds):
                return await conn.cut()
            return await conn.body(payload, more=False)
        await conn.start(200, [*headers, (b"content-length", str(len(payload)).encode())])
        if kind == "cut_after":
            await conn.body(payload[: len(payload) // 2])
            return await conn.cut()
        await conn.body(payload, more=False)

    async def _stream(self, conn: _Conn, wire: Wire, plan: Plan, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        frames = wire.frames(conn.rec.model, plan, conn.rec.body)
        delay = self.fake._chunk_delay_for(conn.rec.model)
        await conn.start(200, SSE_HEADERS + wire.headers())
        if fault and kind in ("hang_after_headers", "slow") and not await conn.pause(fault.seconds):
            return await conn.cut()
        limit = fault.chunks if fault and kind in ("cut_after", "stream_error") else None
        content = frames.content if limit is None else frames.content[:limit]
        if kind == "malformed_json" and content:
            content = [wire.broken_frame(), *content[1:]]
        if fault and kind == "wrong_shape":
            content = [
                *content[: fault.chunks],
                sse(["not", "an", "object"]),
                *content[fault.chunks :],
            ]
        stall_at, stall = -1, delay
        if fault and kind == "stall":
            stall_at, stall = len(frames.head) + fault.chunks, fault.seconds
        for index, data in enumerate([*frames.head, *content]):
            if index and not await conn.pause(stall if index == stall_at else delay):
                return await conn.cut()
            await conn.body(data)
        if fault and kind == "cut_after":
            return await conn.cut()
        if fault and kind == "stream_error":
            error = fault.body or wire.error(fault.status)
            return await conn.body(wire.error_frame(error), more=False)
        for data in frames.tail:
            if not await conn.pause(delay):
                return await conn.cut()
            await conn.body(data)
        await conn.body(b"", more=False)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


# --------------------------------------------------------------------------- the fake


class FakeUpstream:
    """A real HTTP server pretending to be OpenAI and Anthropic, with fault injection."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Recorded] = []
        self.chunk_delay = 0.0
        self._cond = threading.Condition()
        self._faults: dict[str, deque[Fault]] = {}
        self._replies: dict[str, str] = {}
        self._delays: dict[str, float] = {}
        self._cache: dict[str, tuple[int, int]] = {}
        self._no_usage: set[str] = set()
        self._scripts: dict[str, Script] = {}
        self._app = _App(self)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def openai_base_url(self) -> str:
        return self.url + "/openai/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url + "/anthropic"

    # -- lifecycle

    def start(self) -> FakeUpstream:
        """Bind 127.0.0.1 on a free port and return once the server accepts connections."""
        if self._server is not None:
            return self
        self._app.stopping = False
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="fake-upstream", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake upstream failed to start")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def _serve(self) -> None:
        assert self._server is not None
        self._loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve())
        finally:
            loop.close()

    def stop(self) -> None:
        """Abort in-flight responses, shut the server down and wait for its thread."""
        server, thread, loop = self._server, self._thread, self._loop
        if server is None or thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._app.halt_all)
        server.should_exit = True
        thread.join(timeout=15)
        self._server = self._thread = self._loop = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration (thread-safe, callable from tests)

    def add_fault(self, model: str, fault: Fault, times: int = 1) -> None:
        """Queue `times` copies of `fault` for requests to `model` ("*" matches any model)."""
        with self._cond:
            queue = self._faults.setdefault(model, deque())
            queue.extend(dataclasses.replace(fault) for _ in range(times))

    def set_reply(self, model: str, text: str) -> None:
        """Reply with `text` for `model` ("*" for every model without its own reply)."""
        with self._cond:
            self._replies[model] = text

    def set_chunk_delay(self, model: str, seconds: float) -> None:
        """Seconds between streamed chunks for `model`, overriding `chunk_delay`."""
        with self._cond:
            self._delays[model] = seconds

    def set_no_usage(self, model: str) -> None:
        """Answer `model` without any usage, as some OpenAI-compatible servers do."""
        with self._cond:
            self._no_usage.add(model)

    def set_cache_tokens(self, model: str, creation: int, read: int) -> None:
        """Report prompt-cache usage for `model`.

        Anthropic: cache_creation_input_tokens / cache_read_input_tokens, on top of
        input_tokens. OpenAI: `read` becomes prompt_tokens_details.cached_tokens and is added
        to prompt_tokens (OpenAI's prompt_tokens include cached tokens).
        """
        with self._cond:
            self._cache[model] = (creation, read)

    def set_message(self, model: str, message: dict) -> None:
        """Answer `model` with this Anthropic message as given (thinking, citations, server
        tools...); a streaming request gets it as Anthropic's documented events."""
        with self._cond:
            self._scripts[model] = Script(message=message)

    def set_recording(self, model: str, text: str) -> None:
        """Replay a recorded SSE stream (either wire) verbatim to streaming requests."""
        with self._cond:
            self._scripts[model] = Script(frames=recorded_frames(text))

    def reset(self) -> None:
        """Forget faults, replies, delays, cache settings and recorded requests."""
        with self._cond:
            self._scripts.clear()
            self._faults.clear()
            self._replies.clear()
            self._delays.clear()
            self._cache.clear()
            self._no_usage.clear()
            self.requests.clear()
            self.chunk_delay = 0.0

    def wait_for_disconnect(self, timeout: float = 5.0) -> Recorded | None:
        """Block until some recorded request saw its client go away; return it (or None)."""
        with self._cond:
            self._cond.wait_for(self._first_disconnected, timeout)
            return self._first_disconnected()

    # -- used by the server thread

    def _first_disconnected(self) -> Recorded | None:
        return next((r for r in self.requests if r.disconnected), None)

    def _mark_disconnected(self, rec: Recorded) -> None:
        with self._cond:
            rec.disconnected = True
            self._cond.notify_all()

    def _record(self, scope: Message, body: dict) -> Recorded:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        model, stream = str(body.get("model") or ""), bool(body.get("stream"))
        rec = Recorded(scope["path"], headers, body, model, stream, started=time.monotonic())
        with self._cond:
            self.requests.append(rec)
        return rec

    def _take_fault(self, model: str) -> Fault | None:
        with self._cond:
            for key in (model, "*"):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _script_for(self, model: str) -> Script | None:
        with self._cond:
            return self._scripts.get(model)

    def _chunk_delay_for(self, model: str) -> float:
        with self._cond:
            return self._delays.get(model, self._delays.get("*", self.chunk_delay))

    def _plan(self, model: str, prompt: Prompt) -> Plan:
        with self._cond:
            cache = self._cache.get(model, self._cache.get("*", (0, 0)))
            reply = self._replies.get(model, self._replies.get("*"))
            no_usage = model in self._no_usage
        plan = plan_reply(model, prompt, reply, cache)
        plan.no_usage = no_usage
        return plan

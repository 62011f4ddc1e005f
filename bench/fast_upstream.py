"""A fake OpenAI-compatible upstream tuned for speed (benchmarks only; tests use tests/fake_upstream).

    python -m bench.fast_upstream --port 9100 [--impl protocol|uvicorn] [--chunks 20] [--latency 0]

`POST .../chat/completions` answers a canned `chat.completion`, or with `"stream": true` an
SSE stream of `--chunks` content chunks, a usage chunk when `stream_options.include_usage`
is set, and `data: [DONE]`. `GET .../models` lists the requested model names. Everything is
served from one event loop on keep-alive HTTP/1.1 connections.

Two implementations: `protocol` (default) is a bare `asyncio.Protocol` HTTP/1.1 server;
`uvicorn` is a raw ASGI app under uvicorn with httptools. `--impl` lets the harness compare
them (`python -m bench.fast_upstream --compare`); the bare protocol is the faster one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from bench import run_async

CONTENT = "Hello! This is the fast upstream answering a benchmark request."
WORDS = CONTENT.split(" ")
FINISH = {"index": 0, "delta": {}, "finish_reason": "stop"}


class Canned:
    """Pre-rendered pieces of every answer; only the model name changes per request."""

    def __init__(self, chunks: int = 20) -> None:
        self.chunks = max(1, chunks)
        self._cache: dict[tuple[str, bool, bool], bytes] = {}

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": 12,
            "completion_tokens": self.chunks,
            "total_tokens": 12 + self.chunks,
        }

    def completion(self, model: str) -> bytes:
        key = (model, False, False)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = orjson.dumps(self._completion(model))
        return found

    def _completion(self, model: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": " ".join(self._words())}
        return {
            "id": "chatcmpl-fastupstream",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": self.usage(),
        }

    def _words(self) -> list[str]:
        return [WORDS[i % len(WORDS)] for i in range(self.chunks)]

    def events(self, model: str, include_usage: bool) -> bytes:
        """The whole SSE body (every event, then [DONE])."""
        key = (model, True, include_usage)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = b"".join(self.event_list(model, include_usage))
        return found

    def event_list(self, model: str, include_usage: bool) -> list[bytes]:
        base = {
            "id": "chatcmpl-fastupstream",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
        }
        events = []
        for i, word in enumerate(self._words()):
            delta: dict[str, Any] = {"content": word if i == 0 else " " + word}
            if i == 0:
                delta = {"role": "assistant", **delta}
            events.append(
                {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            )
        events.append({**base, "choices": [FINISH]})
        if include_usage:
            events.append({**base, "choices": [], "usage": self.usage()})
        return [b"data: " + orjson.dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]

    def models(self) -> bytes:
        return orjson.dumps(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fast"}
                    for m in sorted({k[0] for k in self._cache} or {"gpt-4o"})
                ],
            }
        )


def parse_request(body: bytes) -> tuple[str, bool, bool]:
    """(model, stream, include_usage) of a chat request body."""
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    options = data.get("stream_options") or {}
    include = bool(isinstance(options, dict) and options.get("include_usage"))
    return str(data.get("model") or "gpt-4o"), bool(data.get("stream")), include


# Canned answers of the other endpoints the doors benchmark calls (bench/bench_doors.py).
EMBEDDING = orjson.dumps(
    {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.01] * 256}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 12, "total_tokens": 12},
    }
)
RESPONSE = orjson.dumps(
    {
        "id": "resp_fast",
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": "gpt-4o",
        "output": [
            {
                "id": "msg_fast",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "A gateway routes.", "annotations": []}
                ],
            }
        ],
        "usage": {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17},
    }
)


# --- bare asyncio.Protocol HTTP/1.1 server -------------------------------------------------

JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
NOT_FOUND = b'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n{"error":"not found"}'


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection: requests are parsed from the buffer and answered in order."""

    def __init__(self, canned: Canned, latency: float, chunk_delay: float) -> None:
        self.canned, self.latency, self.chunk_delay = canned, latency, chunk_delay
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._drain()

    def _drain(self) -> None:
        while self.transport is not None and not self.busy:
            request = self._next_request()
            if request is None:
                return
            method, path, body, close = request
            if self.latency or self.chunk_delay:
                self.busy = True
                asyncio.ensure_future(self._answer_later(method, path, body, close))
                return
            self._write(self._answer(method, path, body), close)

    def _next_request(self) -> tuple[bytes, bytes, bytes, bool] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buffer[:end]).split(b"\r\n")
        method, path, _ = head[0].split(b" ", 2)
        length, close = 0, False
        for line in head[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        return method, path, body, close

    def _answer(self, method: bytes, path: bytes, body: bytes) -> bytes:
        if method == b"POST" and path.endswith(b"/chat/completions"):
            model, stream, include_usage = parse_request(body)
            if stream:
                return (
                    SSE_HEAD + http_chunk(self.canned.events(model, include_usage)) + b"0\r\n\r\n"
                )
            payload = self.canned.completion(model)
            return JSON_HEAD % len(payload) + payload
        if method == b"POST" and path.endswith(b"/embeddings"):
            return JSON_HEAD % len(EMBEDDING) + EMBEDDING
        if method == b"POST" and path.endswith(b"/responses"):
            return JSON_HEAD % len(RESPONSE) + RESPONSE
        if method == b"GET" and path.endswith(b"/models"):
            payload = self.canned.models()
            return JSON_HEAD % len(payload) + payload
        return NOT_FOUND

    def _write(self, data: bytes, close: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(data)
        if close:
            self.transport.close()

    async def _answer_later(self, method: bytes, path: bytes, body: bytes, close: bool) -> None:
        await asyncio.sleep(self.latency)
        model, stream, include_usage = parse_request(body)
        if self.chunk_delay and stream and path.endswith(b"/chat/completions"):
            await self._stream_slowly(model, include_usage)
            self._write(b"", close)
        else:
            self._write(self._answer(method, path, body), close)
        self.busy = False
        self._drain()

    async def _stream_slowly(self, model: str, include_usage: bool) -> None:
        self._write(SSE_HEAD, False)
        for event in self.canned.event_list(model, include_usage):
            self._write(http_chunk(event), False)
            await asyncio.sleep(self.chunk_delay)
        self._write(b"0\r\n\r\n", False)


async def serve_protocol(
    host: str, port: int, canned: Canned, latency: float = 0.0, chunk_delay: float = 0.0
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: UpstreamProtocol(canned, latency, chunk_delay),
        host,
        port,
        backlog=1024,
        reuse_address=True,
    )


# --- raw ASGI app (for uvicorn + httptools) --------------------------------------------------

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(canned: Canned, latency: float = 0.0) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if latency:
            await asyncio.sleep(latency)
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/chat/completions"):
            model, stream, include_usage = parse_request(body)
            if stream:
                headers = [(b"content-type", b"text/event-stream")]
                payload = canned.events(model, include_usage)
            else:
                headers = [(b"content-type", b"application/json")]
                payload = canned.completion(model)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        status, payload = (200, canned.models()) if path.endswith("/models") else (404, b"{}")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def run_uvicorn(host: str, port: int, canned: Canned, latency: float) -> None:
    import uvicorn

    uvicorn.run(
        asgi_app(canned, latency),
        host=host,
        port=port,
        http="httptools",
        loop="auto",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


# --- entry points ---------------------------------------------------------------------------


def run_protocol(host: str, port: int, canned: Canned, latency: float, chunk_delay: float) -> None:
    async def main() -> None:
        server = await serve_protocol(host, port, canned, latency, chunk_delay)
        print(f"fast upstream (protocol) on http://{host}:{port}/v1", flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        run_async(main())


def compare(seconds: float) -> None:
    """Measure both implementations with the load generator (same core layout as the caller)."""
    import socket
    import subprocess
    import sys

    from bench import loadgen

    for impl in ("protocol", "uvicorn"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fast_upstream", "--impl", impl, "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            loadgen.wait_ready("127.0.0.1", port, 10)
            for stream in (False, True):
                result = run_async(
                    loadgen.run_load(
                        loadgen.LoadSpec(
                            port=port, model="gpt-4o", stream=stream, concurrency=8, seconds=seconds
                        )
                    )
                )
                print(
                    f"{impl:9} stream={stream!s:5} {result['rps']:8.0f} req/s "
                    f"p50 {result['latency_ms']['p50']:.3f} ms  cpu {result['cpu_pct']:.0f}%"
                )
        finally:
            proc.terminate()
            proc.wait(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--impl", choices=("protocol", "uvicorn"), default="protocol")
    parser.add_argument(
        "--chunks", type=int, default=int(os.environ.get("FAST_UPSTREAM_CHUNKS", 20))
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--compare", type=float, metavar="SECONDS", help="benchmark both impls")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.compare)
        return
    canned = Canned(args.chunks)
    if args.impl == "uvicorn":
        run_uvicorn(args.host, args.port, canned, args.latency)
    else:
        run_protocol(args.host, args.port, canned, args.latency, args.chunk_delay)


if __name__ == "__main__":
    main()

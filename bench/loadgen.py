"""A bounded closed-loop load generator for chat completions, loopback only.

    python -m bench.loadgen --port 8000 --model fakebench/gpt-4o --key sy-... \
        --concurrency 8 --seconds 5 [--stream] [--warmup 0.5]

C clients, each on its own keep-alive HTTP/1.1 connection, send the next request as soon as
the previous answer ended, for T seconds, then stop by themselves (in-flight requests may
finish, each bounded by --timeout). Prints one JSON object: requests/s, latency percentiles
(ms), time to first SSE event for streams, errors, and the generator's own CPU time and CPU%
(near 100% means the generator, not the target, was the bottleneck).

Raw asyncio protocol sockets (and uvloop when present) keep the generator cheap per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import resource
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench import check_loopback, run_async, summarize

DEFAULT_PROMPT = "In one short sentence: what does an LLM gateway do?"


@dataclass
class LoadSpec:
    port: int
    model: str = "gpt-4o"
    host: str = "127.0.0.1"
    path: str = "/v1/chat/completions"
    api_key: str = ""
    stream: bool = False
    concurrency: int = 1
    seconds: float = 2.0
    warmup: float = 0.0
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = 64
    timeout: float = 30.0
    unique_prompts: bool = False  # a different prompt per request: response caches miss
    body: bytes = b""  # a fixed body instead of the chat request (other endpoints)
    protocol: str = "chat"  # the front door: chat (OpenAI) | messages (Anthropic, /v1/messages)

    def __post_init__(self) -> None:
        if self.protocol == "messages" and self.path == "/v1/chat/completions":
            self.path = "/v1/messages"


def request_body(spec: LoadSpec, number: int = 0) -> bytes:
    if spec.body:
        return spec.body
    prompt = f"{spec.prompt} (request {number})" if spec.unique_prompts else spec.prompt
    body: dict[str, Any] = {
        "model": spec.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": spec.max_tokens,
    }
    if spec.stream:
        body["stream"] = True
        if spec.protocol == "chat":
            body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def protocol_headers(spec: LoadSpec) -> dict[str, str]:
    """The key header each door's SDK sends (and Anthropic's version header)."""
    if spec.protocol == "messages":
        return (
            {"x-api-key": spec.api_key, "anthropic-version": "2023-06-01"}
            if spec.api_key
            else {"anthropic-version": "2023-06-01"}
        )
    return {"authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}


def build_request(spec: LoadSpec, number: int = 0) -> bytes:
    body = request_body(spec, number)
    lines = [
        f"POST {spec.path} HTTP/1.1",
        f"host: {spec.host}:{spec.port}",
        "content-type: application/json",
        "accept: text/event-stream" if spec.stream else "accept: application/json",
        f"content-length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in protocol_headers(spec).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


HEAD, BODY, SIZE, CHUNK, TRAILER = range(5)


class ResponseParser:
    """Incremental HTTP/1.1 response parser (Content-Length or chunked), tracking SSE events."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()
        self.state = HEAD
        self.status = 0
        self.remaining = 0
        self.close = False
        self.first_event_at: float | None = None
        self.saw_done = False
        self.sample = b""

    def feed(self, data: bytes, now: float) -> bool:
        """Add received bytes; True once the whole response arrived."""
        self.buf += data
        while True:
            step = self._step(now)
            if step is not None:
                return step

    def _step(self, now: float) -> bool | None:
        if self.state == HEAD:
            return self._head()
        if self.state == BODY:
            take = min(len(self.buf), self.remaining)
            self._body(bytes(self.buf[:take]), now)
            del self.buf[:take]
            self.remaining -= take
            return self.remaining == 0
        if self.state == SIZE:
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            size = int(bytes(self.buf[:end]).split(b";")[0], 16)
            del self.buf[: end + 2]
            self.state, self.remaining = (TRAILER, 0) if size == 0 else (CHUNK, size)
            return None
        if self.state == CHUNK:
            if len(self.buf) < self.remaining + 2:
                if self.first_event_at is None and b"data:" in self.buf:
                    self.first_event_at = now
                return False
            self._body(bytes(self.buf[: self.remaining]), now)
            del self.buf[: self.remaining + 2]
            self.state = SIZE
            return None
        end = self.buf.find(b"\r\n")  # TRAILER
        if end < 0:
            return False
        del self.buf[: end + 2]
        return True if end == 0 else None

    def _head(self) -> bool | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).split(b"\r\n")
        del self.buf[: end + 4]
        self.status = int(lines[0].split(b" ", 2)[1])
        chunked, length = False, 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            elif name == b"connection" and value == b"close":
                self.close = True
        if chunked:
            self.state = SIZE
            return None
        self.state, self.remaining = BODY, length
        return True if length == 0 else None

    def _body(self, data: bytes, now: float) -> None:
        if self.first_event_at is None and b"data:" in data:
            self.first_event_at = now
        if b"[DONE]" in data or b"event: message_stop" in data:  # chat / messages door
            self.saw_done = True
        if len(self.sample) < 300:
            self.sample += data[: 300 - len(self.sample)]


class Connection(asyncio.Protocol):
    """One keep-alive client connection with at most one request in flight."""

    def __init__(self) -> None:
        self.parser = ResponseParser()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[float] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        try:
            done = self.parser.feed(data, now)
        except (ValueError, IndexError) as exc:
            self._fail(exc)
            return
        if done and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed by the server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def send(self, payload: bytes, timeout: float) -> float:
        """Send one request; returns the time the whole response had arrived."""
        assert self.transport is not None
        self.parser.reset()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await asyncio.wait_for(self.waiter, timeout)


@dataclass
class Tally:
    window_start: float
    window_end: float
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    errors: int = 0
    error_sample: str = ""
    answered: int = 0  # every answer, warm-up and drain included (for CPU per request)

    def add(self, started: float, ended: float, conn: Connection, stream: bool) -> None:
        self.answered += 1
        if not self.window_start <= ended <= self.window_end:
            return
        parser = conn.parser
        if parser.status != 200 or (stream and not parser.saw_done):
            self.error(f"HTTP {parser.status}: {parser.sample[:200].decode(errors='replace')}")
            return
        self.latencies.append((ended - started) * 1000)
        if stream and parser.first_event_at is not None:
            self.ttfts.append((parser.first_event_at - started) * 1000)

    def error(self, message: str) -> None:
        self.errors += 1
        self.error_sample = self.error_sample or message


async def _connect(spec: LoadSpec) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Connection, spec.host, spec.port)
    return conn


async def _client(
    spec: LoadSpec, payload: bytes, stop_at: float, tally: Tally, numbers: Iterator[int]
) -> None:
    conn: Connection | None = None
    while time.perf_counter() < stop_at:
        try:
            if conn is None or conn.closed:
                conn = await _connect(spec)
            if spec.unique_prompts:
                payload = build_request(spec, next(numbers))
            started = time.perf_counter()
            ended = await conn.send(payload, spec.timeout)
            tally.add(started, ended, conn, spec.stream)
            if conn.parser.close:
                conn.transport.close()  # type: ignore[union-attr]
                conn = None
        except (OSError, TimeoutError, ValueError) as exc:
            tally.error(f"{type(exc).__name__}: {exc}")
            if conn is not None and conn.transport is not None:
                conn.transport.close()
            conn = None
            await asyncio.sleep(0.01)
    if conn is not None and conn.transport is not None:
        conn.transport.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Run the closed loop and summarize it (latencies in ms)."""
    check_loopback(spec.host)
    payload = build_request(spec)
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    window_start = wall0 + spec.warmup
    stop_at = window_start + spec.seconds
    tally = Tally(window_start, stop_at)
    numbers = itertools.count(time.time_ns())  # unique across cells and runs
    clients = (_client(spec, payload, stop_at, tally, numbers) for _ in range(spec.concurrency))
    await asyncio.gather(*clients)
    wall = time.perf_counter() - wall0
    cpu = _cpu_seconds() - cpu0
    return {
        "concurrency": spec.concurrency,
        "stream": spec.stream,
        "requests": len(tally.latencies),
        "answered": tally.answered,
        "errors": tally.errors,
        "error_sample": tally.error_sample,
        "rps": len(tally.latencies) / spec.seconds if spec.seconds > 0 else 0.0,
        "latency_ms": summarize(tally.latencies),
        "ttft_ms": summarize(tally.ttfts) if spec.stream else None,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_pct": 100 * cpu / wall if wall > 0 else 0.0,
    }


def wait_ready(host: str, port: int, timeout: float) -> None:
    """Block until something accepts connections on host:port."""
    check_loopback(host)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port}") from None
            time.sleep(0.01)


def request_once(spec: LoadSpec) -> tuple[int, bytes]:
    """One blocking request (readiness probes, warm-up): (status, body)."""
    check_loopback(spec.host)
    conn = http.client.HTTPConnection(spec.host, spec.port, timeout=spec.timeout)
    headers = {"content-type": "application/json", **protocol_headers(spec)}
    try:
        conn.request("POST", spec.path, body=request_body(spec), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v1/chat/completions")
    parser.add_argument("--model", default="gpt-4o")
    parser.add_argument("--key", default="")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--concurrency", "-c", type=int, default=1)
    parser.add_argument("--seconds", "-t", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 1024 or not 0 < args.seconds <= 600:
        raise SystemExit("concurrency must be 1..1024 and seconds 0..600")
    spec = LoadSpec(
        port=args.port,
        model=args.model,
        host=args.host,
        path=args.path,
        api_key=args.key,
        stream=args.stream,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=args.warmup,
        prompt=args.prompt,
        timeout=args.timeout,
    )
    print(json.dumps(run_async(run_load(spec))), flush=True)


if __name__ == "__main__":
    main()

"""The default upstream client (`SWITCHYARD_UPSTREAM_CLIENT=fast`): HTTP/1.1 on pooled
keep-alive connections (one pool per event loop and origin), responses parsed by httptools
(llhttp, the parser uvicorn uses), explicit connect and between-reads timeouts. It serves
the contract in `upstream.py`; `httpx_client.py` serves the same one with httpx.

Why not aiohttp or httpx: a provider call is the largest single cost a gateway adds, and
against the benchmark upstream aiohttp spends about 62 µs of CPU per call where this client
spends about 15 µs (`python -m bench.client_cost`), a fifth of Switchyard's whole cost per
request. The scope is what provider APIs need and no more: POST with a body, responses
delimited by Content-Length, chunked encoding or the connection's end, gzip/deflate, TLS
with the system's trust store, keep-alive. No proxies, redirects, cookies or HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import weakref
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httptools
from django.conf import settings

from routing.conf import knobs
from routing.transport.upstream import (
    CORRUPT,
    DECODED,
    KEEPALIVE_SECONDS,
    LINE_BREAK,
    LOST,
    MAX_IDLE,
    NO_CONNECT,
    NO_CONNECT_IN_TIME,
    NOT_HTTP,
    NOT_IN_TIME,
    NOT_LATIN1,
    USER_AGENT,
    EventStream,
    Response,
    TransportError,
    UpstreamClient,
    tls_context,
    unsupported_encoding,
)

PAUSE_AT = 1 << 20  # unread stream bytes before reading from the socket pauses


def _lost() -> TransportError:
    return TransportError("connection", LOST)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    host_header: str
    path: str
    origin: tuple[str, str, int, str]  # what one pool serves


@functools.lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError("connection", f"Unsupported upstream URL scheme: {parts.scheme!r}.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    origin = (parts.scheme, parts.hostname, port, host_header)
    return _Target(parts.scheme, parts.hostname, port, host_header, path, origin)


def _request_bytes(target: _Target, content: bytes, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"host: {target.host_header}",
        f"user-agent: {USER_AGENT}",
        f"content-length: {len(content)}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = "\r\n".join(lines)
    if head.count("\n") >= len(lines) or head.count("\r") >= len(lines):
        raise TransportError("connection", LINE_BREAK)
    try:
        return head.encode("latin-1") + b"\r\n\r\n" + content
    except UnicodeEncodeError:
        raise TransportError("connection", NOT_LATIN1) from None


class _Exchange:
    """One request's response as it arrives: status and headers, then body pieces."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.headers: dict[str, str] = {}
        self.pieces: deque[bytes] = deque()
        self.buffered = 0
        self.head_done = False
        self.done = False
        self.error: BaseException | None = None
        self.delimited = False  # Content-Length or chunked: not ended by the connection
        self.streamed = False  # read piece by piece (`raw`): reading pauses while it lags
        self.decoder: Any = None
        self.waiter: asyncio.Future[None] | None = None
        self.last_read = loop.time()

    def wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self.waiter = self.loop.create_future()
        await self.waiter

    def fail(self, error: BaseException) -> None:
        if not self.done and self.error is None:
            self.error = error
            self.wake()

    def headers_complete(self, status: int) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.status, self.headers, self.head_done = status, headers, True
        self.delimited = "content-length" in headers or "chunked" in headers.get(
            "transfer-encoding", ""
        )
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = zlib.decompressobj()
        elif encoding not in DECODED:
            raise unsupported_encoding(encoding)
        self.wake()

    def feed(self, data: bytes) -> None:
        if self.decoder is not None:
            data = self.decoder.decompress(data)
        if data:
            self.pieces.append(data)
            self.buffered += len(data)
            self.wake()

    def finish(self) -> None:
        if self.decoder is not None:
            rest = self.decoder.flush()
            if rest:
                self.pieces.append(rest)
        self.done = True
        self.wake()

    def body(self) -> bytes:
        return b"".join(self.pieces)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: _Exchange | None = None
        self.interim = False  # a 1xx response is being parsed: not the answer
        self.closed = False
        self.paused = False
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.read_timeout = 0.0
        self.holds_slot = True  # counted in the pool's open connections until it closes

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            self.close()  # bytes nobody asked for: this connection cannot be trusted
            return
        exchange.last_read = exchange.loop.time()
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # noqa: BLE001 - the connection is unusable after any of them
            # httptools wraps what a callback raised: report the callback's own error
            cause = exc.__cause__ or exc.__context__ or exc
            if isinstance(cause, TransportError):
                self._abort(cause)
            elif isinstance(cause, zlib.error):
                self._abort(TransportError("malformed", CORRUPT))
            else:
                self._abort(TransportError("malformed", NOT_HTTP))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_timer()
        self.pool.forget(self)
        exchange = self.exchange
        if exchange is None or exchange.done:
            return
        if exchange.head_done and not exchange.delimited:
            exchange.finish()  # the body ran to the connection's end, as the headers said
        else:
            exchange.fail(_lost())

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.interim:
            self.exchange.raw_headers.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.interim = True  # e.g. 100 Continue: the real answer follows
            return
        self.exchange.headers_complete(status)  # type: ignore[union-attr]

    def on_body(self, body: bytes) -> None:
        exchange = self.exchange
        exchange.feed(body)  # type: ignore[union-attr]
        if exchange.streamed and exchange.buffered > PAUSE_AT and not self.paused:  # type: ignore[union-attr]
            self.paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        exchange = self.exchange
        self._stop_timer()
        self._resume()  # the rest is this exchange's: the next one needs the socket read
        keep = self.parser.should_keep_alive()
        exchange.finish()  # type: ignore[union-attr]
        self.exchange = None
        if keep:
            self.pool.release(self)
        else:
            self.close()

    # use
    def start(self, request: bytes, read_timeout: float) -> _Exchange:
        exchange = self.exchange = _Exchange(self.pool.loop)
        self.read_timeout = read_timeout
        self.timer = self.pool.loop.call_at(exchange.last_read + read_timeout, self._check_idle)
        self.transport.write(request)  # type: ignore[union-attr]
        return exchange

    def consumed(self, exchange: _Exchange, size: int) -> None:
        exchange.buffered -= size
        if exchange is self.exchange and exchange.buffered <= PAUSE_AT // 2:
            self._resume()

    def _resume(self) -> None:
        if self.paused and not self.closed:
            self.paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    def _check_idle(self) -> None:
        self.timer = None
        exchange = self.exchange
        if exchange is None or exchange.done or self.closed:
            return
        due = exchange.last_read + self.read_timeout
        if self.paused or due > exchange.loop.time():  # paused: the reader is slow, not them
            base = exchange.loop.time() if self.paused else exchange.last_read
            self.timer = exchange.loop.call_at(base + self.read_timeout, self._check_idle)
            return
        self._abort(TransportError("timeout", NOT_IN_TIME))

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _abort(self, error: TransportError) -> None:
        if self.exchange is not None:
            self.exchange.fail(error)
        self.close()

    def close(self) -> None:
        self._stop_timer()
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                # a closed loop (process exit) refuses: the socket closes with the transport
                with contextlib.suppress(RuntimeError):
                    self.transport.close()


class _Pool:
    """Connections to one origin from one event loop: idle ones reused newest first."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: _Target) -> None:
        self.loop = loop
        self.target = target
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()

    async def acquire(self, connect_timeout: float) -> _Connection:
        """An idle connection, or a new one."""
        now = self.loop.time()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn
            conn.close()
        if self.open >= knobs.SWITCHYARD_UPSTREAM_MAX_CONNECTIONS:
            waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
            self.waiters.append(waiter)
            try:
                handed = await waiter  # a released connection, or None: a slot to connect on
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over, then cancelled
                    given = waiter.result()
                    if given is not None:
                        self.release(given)
                    else:
                        self._slot_freed()
                raise
            if handed is not None:
                return handed
        else:
            self.open += 1
        return await self._connect(connect_timeout)

    async def _connect(self, connect_timeout: float) -> _Connection:
        """Connect on a slot already counted in `open`."""
        target = self.target
        tls = target.scheme == "https"
        made: list[_Connection] = []

        def protocol() -> _Connection:
            made.append(_Connection(self))
            return made[-1]

        try:
            async with asyncio.timeout(connect_timeout):
                _, conn = await self.loop.create_connection(
                    protocol,
                    target.host,
                    target.port,
                    ssl=tls_context(settings.SWITCHYARD_UPSTREAM_CA_FILE) if tls else None,
                    server_hostname=target.host if tls else None,
                )
        except BaseException as exc:
            if made:
                made[0].close()  # frees the slot once, with the connection
            else:
                self._slot_freed()
            if isinstance(exc, TimeoutError):
                raise TransportError("timeout", NO_CONNECT_IN_TIME) from None
            if isinstance(exc, OSError | ssl.SSLError):
                raise TransportError("connection", NO_CONNECT) from None
            raise
        return conn

    def release(self, conn: _Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if len(self.idle) >= MAX_IDLE:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self.idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        """A connection closed: its slot is free (handed to a waiter, if any)."""
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.holds_slot:
            conn.holds_slot = False
            self._slot_freed()

    def _slot_freed(self) -> None:
        self.open -= 1
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.open += 1  # the waiter connects on this slot
                waiter.set_result(None)
                return

    def close(self) -> None:
        for conn in list(self.idle):
            conn.close()


_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, int, str], _Pool]
] = weakref.WeakKeyDictionary()


_last: tuple[Any, dict[tuple[str, str, int, str], _Pool]] = (None, {})  # the loop seen last


def _pool(target: _Target) -> _Pool:
    global _last
    loop = asyncio.get_running_loop()
    last = _last  # one read: other threads' loops may replace it at any time
    if last[0] is loop:
        pools = last[1]
    else:
        found = _pools.get(loop)
        if found is None:
            found = _pools[loop] = {}
            weakref.finalize(loop, _close_all, found)
        pools = found
        _last = loop, pools
    pool = pools.get(target.origin)
    if pool is None:
        pool = pools[target.origin] = _Pool(loop, target)
    return pool


def _close_all(pools: dict[tuple[str, str, int, str], _Pool]) -> None:
    """When a loop goes away (or the process exits) with connections open, close them: no
    leaked sockets."""
    for pool in pools.values():
        pool.close()


async def _send(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    read_timeout: float,
    connect_timeout: float | None,
) -> tuple[_Connection, _Exchange]:
    """Send the request; returns once the response's status and headers arrived. A pooled
    connection the server closes while a request is on it fails that request (as a
    "connection" error, which dispatch may retry): a closed idle connection is noticed
    and dropped before use, so this is only the rare race with the server's keep-alive
    timeout."""
    target = _target(url)
    request = _request_bytes(target, content, headers)
    pool = _pool(target)
    timeout = knobs.SWITCHYARD_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    conn = await pool.acquire(timeout)
    exchange = conn.start(request, read_timeout)
    await _until(conn, exchange, "head_done")
    return conn, exchange


async def _until(conn: _Connection, exchange: _Exchange, flag: str) -> None:
    """Wait until the exchange's `flag` is set (`head_done`, `done`); a failure or a
    cancellation closes the connection (its state is unknown)."""
    try:
        while not getattr(exchange, flag):
            if exchange.error is not None:
                raise exchange.error
            await exchange.wait()
    except BaseException:
        conn.close()
        raise


async def _rest(conn: _Connection, exchange: _Exchange) -> bytes:
    exchange.streamed = False
    if exchange is conn.exchange:
        conn._resume()  # the whole body is wanted: nothing to pace
    await _until(conn, exchange, "done")
    return exchange.body()


async def post(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    read_timeout: float,
    connect_timeout: float | None = None,
) -> Response:
    conn, exchange = await _send(url, content, headers, read_timeout, connect_timeout)
    body = await _rest(conn, exchange)
    return Response(exchange.status, exchange.headers, body)


class _EventStream(EventStream):
    def __init__(self, conn: _Connection, exchange: _Exchange) -> None:
        self.status, self.headers = exchange.status, exchange.headers
        self._conn, self._exchange = conn, exchange

    async def read_body(self) -> str:
        return (await _rest(self._conn, self._exchange)).decode(errors="replace")

    async def raw(self) -> AsyncIterator[bytes]:
        exchange, conn = self._exchange, self._conn
        exchange.streamed = True
        while True:
            if exchange.pieces:
                data = b"".join(exchange.pieces)
                exchange.pieces.clear()
                conn.consumed(exchange, len(data))
                yield data
            elif exchange.done:
                return
            elif exchange.error is not None:
                raise exchange.error
            else:
                await exchange.wait()


@asynccontextmanager
async def stream(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    read_timeout: float,
    connect_timeout: float | None = None,
) -> AsyncIterator[EventStream]:
    conn, exchange = await _send(url, content, headers, read_timeout, connect_timeout)
    try:
        yield _EventStream(conn, exchange)
    finally:
        if not exchange.done:
            conn.close()  # the rest was not read: the connection cannot carry another request


async def close_session() -> None:
    """Close the running loop's pooled connections (call before an `asyncio.run` loop ends)."""
    global _last
    loop = asyncio.get_running_loop()
    pools = _pools.pop(loop, None)
    if _last[0] is loop:
        _last = None, {}
    if pools is not None:
        _close_all(pools)
        pools.clear()  # the loop's finalizer keeps this dict: let the pools (and loop) go


class FastClient:
    """The contract (`upstream.UpstreamClient`), served by this module's functions: no
    extra call per request."""

    post = staticmethod(post)
    stream = staticmethod(stream)
    close = staticmethod(close_session)


if TYPE_CHECKING:
    _serves_the_contract: UpstreamClient = FastClient()

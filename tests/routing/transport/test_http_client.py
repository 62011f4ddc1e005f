"""The upstream client (routing/transport/http.py) against real sockets on loopback: a scripted raw
HTTP server answers each request with exactly the bytes a test gives it, so framing,
keep-alive, timeouts, compression, back-pressure and TLS are exercised for real."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme

from routing.transport import http

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
OK_JSON = b'{"ok": true}'


def fixed(*parts: bytes, pause: float = 0.0, close: bool = False) -> Answer:
    """Write `parts` (sleeping `pause` between them), then optionally close."""

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        for index, part in enumerate(parts):
            if index and pause:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        if close:
            writer.close()

    return answer


def length_delimited(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{head}\r\n".encode() + body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class Scripted:
    """A loopback HTTP/1.1 server: each request read is answered by the next scripted
    answer (the last one repeats); connections and requests are counted."""

    answers: list[Answer]
    port: int = 0
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
                await answer(request, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return
        finally:
            self.open_now -= 1
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Scripted]]]:
    servers: list[Scripted] = []

    async def start(*answers: Answer, tls: ssl.SSLContext | None = None) -> Scripted:
        scripted = Scripted(list(answers))
        scripted.server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0, ssl=tls)
        scripted.port = scripted.server.sockets[0].getsockname()[1]
        servers.append(scripted)
        return scripted

    yield start
    await http.close_session()
    for scripted in servers:
        assert scripted.server is not None
        scripted.server.close()


async def post(url: str, read_timeout: float = 5.0) -> http.Response:
    return await http.post(
        url, b'{"model": "m"}', {"content-type": "application/json"}, read_timeout
    )


async def test_the_request_on_the_wire(serve: Callable[..., Awaitable[Scripted]]) -> None:
    server = await serve(fixed(length_delimited(OK_JSON, "x-ratelimit-remaining: 9")))
    response = await http.post(
        server.url, b'{"model": "m"}', {"authorization": "Bearer k", "x-extra": "1"}, 5.0
    )
    assert response.status == 200 and response.body == OK_JSON
    assert response.headers["x-ratelimit-remaining"] == "9"  # names are lower-cased
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}".encode() in lines
    assert b"content-length: 14" in lines and b"authorization: Bearer k" in lines
    assert body == b'{"model": "m"}'


async def test_keep_alive_reuses_one_connection(serve: Callable[..., Awaitable[Scripted]]) -> None:
    server = await serve(fixed(length_delimited(OK_JSON)))
    for _ in range(5):
        assert (await post(server.url)).body == OK_JSON
    assert server.connections == 1 and len(server.requests) == 5


async def test_chunked_and_close_delimited_bodies(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += chunk(b'{"a": ') + chunk(b"1}") + b"0\r\n\r\n"
    to_the_end = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"b": 2}'
    server = await serve(fixed(chunked), fixed(to_the_end, close=True), fixed(chunked))
    assert (await post(server.url)).body == b'{"a": 1}'
    assert (await post(server.url)).body == b'{"b": 2}'
    assert (await post(server.url)).body == b'{"a": 1}'
    assert server.connections == 2  # the close-delimited answer ended its connection


async def test_gzip_bodies_are_decoded(serve: Callable[..., Awaitable[Scripted]]) -> None:
    server = await serve(fixed(length_delimited(gzip.compress(OK_JSON), "content-encoding: gzip")))
    assert (await post(server.url)).body == OK_JSON


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON), close=True))
    assert (await post(server.url)).body == OK_JSON
    await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
    assert (await post(server.url)).body == OK_JSON
    assert server.connections == 2


async def test_silence_between_reads_times_out_but_a_slow_steady_stream_does_not(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    events = [chunk(f"data: {i}\n\n".encode()) for i in range(6)]
    steady = fixed(head, *events, b"0\r\n\r\n", pause=0.1)
    stalled = fixed(head, events[0], pause=0.0)  # then nothing, connection left open
    server = await serve(steady, stalled)
    started = asyncio.get_running_loop().time()
    async with http.stream(server.url, b"{}", {}, read_timeout=0.3) as response:
        data = [event.data async for event in response.events()]
    assert data == [str(i) for i in range(6)]
    assert asyncio.get_running_loop().time() - started > 0.5  # longer than the read timeout

    with pytest.raises(http.TransportError) as caught:
        async with http.stream(server.url, b"{}", {}, read_timeout=0.3) as response:
            async for _ in response.events():
                pass
    assert caught.value.kind == "timeout"


async def test_no_headers_in_time_is_a_timeout(serve: Callable[..., Awaitable[Scripted]]) -> None:
    async def never(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await serve(never)
    with pytest.raises(http.TransportError) as caught:
        await post(server.url, read_timeout=0.2)
    assert caught.value.kind == "timeout"
    assert http.describe(caught.value) == ("timeout", "The upstream did not answer in time.")


async def test_transport_failures_are_classified(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    cut = fixed(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"half', close=True)
    garbage = fixed(b"NOT HTTP AT ALL\r\n\r\n")
    server = await serve(cut, garbage)
    with pytest.raises(http.TransportError) as caught:
        await post(server.url)
    assert caught.value.kind == "connection"
    with pytest.raises(http.TransportError) as caught:
        await post(server.url)
    assert caught.value.kind == "malformed"

    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(http.TransportError) as caught:
        await post(f"http://127.0.0.1:{port}/v1")
    assert http.describe(caught.value) == ("connection", "Could not connect to the upstream.")


async def test_a_header_with_a_line_break_is_refused_before_sending(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    server = await serve(fixed(length_delimited(OK_JSON)))
    with pytest.raises(http.TransportError, match="line break"):
        await http.post(server.url, b"{}", {"authorization": "Bearer k\r\nx-evil: 1"}, 5.0)
    assert server.requests == []


async def test_a_large_stream_read_slowly_arrives_whole(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    """More than the client buffers before pausing the socket (back-pressure), in order."""
    piece = bytes(range(256)) * 256  # 64 KiB
    pieces = [chunk(piece) for _ in range(64)]  # 4 MiB
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    server = await serve(fixed(head, *pieces, b"0\r\n\r\n"))
    received = bytearray()
    async with http.stream(server.url, b"{}", {}, read_timeout=5.0) as response:
        async for data in response.raw():
            received += data
            await asyncio.sleep(0.001)
    assert bytes(received) == piece * 64


async def test_a_cancelled_request_closes_its_connection(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    async def slow_then_ok(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        writer.write(length_delimited(OK_JSON))

    server = await serve(slow_then_ok)
    task = asyncio.ensure_future(post(server.url))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.4)  # the late answer has gone out on the first connection
    assert (await post(server.url)).body == OK_JSON
    assert server.connections == 2  # the half-answered connection was closed, not pooled


async def test_connections_per_origin_are_capped(
    serve: Callable[..., Awaitable[Scripted]], settings: object
) -> None:
    settings.SWITCHYARD_UPSTREAM_MAX_CONNECTIONS = 2  # type: ignore[attr-defined]

    async def slow_ok(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(length_delimited(OK_JSON))

    server = await serve(slow_ok)
    answers = await asyncio.gather(*(post(server.url) for _ in range(6)))
    assert [a.body for a in answers] == [OK_JSON] * 6
    assert server.most_open == 2 and server.connections == 2


async def test_tls_with_an_extra_ca(
    serve: Callable[..., Awaitable[Scripted]], settings: object, tmp_path: object
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server = await serve(fixed(length_delimited(OK_JSON)), tls=server_context)
    url = server.url.replace("http://", "https://")

    with pytest.raises(http.TransportError) as caught:  # not trusted by the system store
        await post(url)
    assert caught.value.kind == "connection"

    ca_file = tmp_path / "ca.pem"  # type: ignore[operator]
    ca.cert_pem.write_to_path(str(ca_file))
    settings.SWITCHYARD_UPSTREAM_CA_FILE = str(ca_file)  # type: ignore[attr-defined]
    assert (await post(url)).body == OK_JSON


async def test_a_large_body_read_whole_and_an_unknown_encoding(
    serve: Callable[..., Awaitable[Scripted]],
) -> None:
    """A body larger than a stream may buffer arrives whole through `post` (nothing pauses
    a reader that wants it all), and the connection then serves the next request."""
    big = b"[" + b'"x",' * 1_000_000 + b'"y"]'  # 4 MB
    brotli = length_delimited(b"\x0b\x01\x80", "content-encoding: br")
    server = await serve(
        fixed(length_delimited(big)), fixed(length_delimited(OK_JSON)), fixed(brotli)
    )
    assert (await post(server.url)).body == big
    assert (await post(server.url)).body == OK_JSON
    assert server.connections == 1
    with pytest.raises(http.TransportError) as caught:
        await post(server.url)
    assert caught.value.kind == "malformed" and "br" in caught.value.message


def test_a_closed_session_lets_its_event_loop_go(fast_upstream_port: int) -> None:
    """`close_session()` (the batch worker calls it before each job's loop ends) leaves
    nothing that keeps the loop alive."""
    import gc
    import weakref

    url = f"http://127.0.0.1:{fast_upstream_port}/v1/chat/completions"

    async def one() -> weakref.ref[asyncio.AbstractEventLoop]:
        assert (await post(url)).status == 200
        await http.close_session()
        return weakref.ref(asyncio.get_running_loop())

    loop_ref = asyncio.run(one())
    gc.collect()
    assert loop_ref() is None

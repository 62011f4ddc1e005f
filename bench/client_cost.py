"""CPU per upstream call of Switchyard's clients against httpx and aiohttp, same upstream.

    python -m bench.client_cost [--requests 20000] [--concurrency 32] [--clients switchyard,httpx]

Starts the fast fake upstream on the load core, then, in this process on the gateway
core, sends the same non-streaming chat completion through each client from C concurrent
tasks on one uvloop event loop and reports CPU µs per call and calls/s. `switchyard` is the
default (fast) client called as providers call it (`upstream.client().post`);
`sy-httpx` is the contract's httpx implementation (SWITCHYARD_UPSTREAM_CLIENT=httpx), next
to httpx used bare. aiohttp is measured only when it is installed (it is not a dependency);
httpx is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import orjson

from bench import run as bench_run

BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}
Call = Callable[[], Awaitable[bytes]]
CLIENTS = ("switchyard", "sy-httpx", "httpx", "aiohttp")


async def _switchyard(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from routing.transport import upstream

    async def call() -> bytes:
        return (await upstream.client().post(url, BODY, HEADERS, 60.0, connect_timeout=5.0)).body

    return call, upstream.close


async def _sy_httpx(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from routing.transport import upstream

    client = upstream.implementation("httpx")

    async def call() -> bytes:
        return (await client.post(url, BODY, HEADERS, 60.0, connect_timeout=5.0)).body

    return call, client.close


async def _httpx(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=1000))

    async def call() -> bytes:
        return (await client.post(url, content=BODY, headers=HEADERS)).content

    return call, client.aclose


async def _aiohttp(url: str) -> tuple[Call, Callable[[], Awaitable[None]]] | None:
    try:
        import aiohttp
    except ImportError:
        return None
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept-Encoding",),
    )

    async def call() -> bytes:
        async with session.post(url, data=BODY, headers=HEADERS, allow_redirects=False) as r:
            return await r.read()

    return call, session.close


async def measure(name: str, url: str, requests: int, concurrency: int) -> str:
    clients = {"switchyard": _switchyard, "sy-httpx": _sy_httpx, "httpx": _httpx}
    made = await {**clients, "aiohttp": _aiohttp}[name](url)
    if made is None:
        return f"{name:10}  not installed, skipped"
    call, close = made

    async def worker(count: int) -> None:
        for _ in range(count):
            orjson.loads(await call())

    await asyncio.gather(*(worker(50) for _ in range(concurrency)))  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    done = requests // concurrency * concurrency
    return f"{name:10}  {1e6 * cpu / done:6.1f} µs CPU per call  {done / wall:8.0f} calls/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients", default=",".join(CLIENTS), help="which rows, in order")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    cfg = bench_run.parse(["--quick", "--no-litellm"])
    upstream, direct = bench_run.start_upstream(cfg)
    try:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
            os.sched_setaffinity(0, {int(bench_run.GATEWAY_CORE)})
        url = f"http://127.0.0.1:{direct.port}/v1/chat/completions"
        import uvloop

        for name in args.clients.split(","):
            print(uvloop.run(measure(name, url, args.requests, args.concurrency)), flush=True)
    finally:
        bench_run.stop(upstream)


if __name__ == "__main__":
    main()

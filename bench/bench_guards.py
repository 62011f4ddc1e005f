"""What the guards cost per request: rate limits (requests and tokens), the monthly budget,
and the response-cache lookup, in local memory and on Redis.

    python -m bench.bench_guards [--n 2000] [--redis redis://127.0.0.1:6379/14] [--write-docs]

Runs in-process on a throwaway SQLite database; each row is admit + settle for one request
of a key with rpm, tpm and a budget (all high enough never to refuse), plus one cache miss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup(redis_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["SWITCHYARD_VAR_DIR"] = tempfile.mkdtemp(prefix="sy-guards-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("DATABASE_URL", None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


async def measure(n: int) -> dict[str, float]:
    from routing.catalog import KeyEntry
    from routing.catalog.pricing import TokenUsage
    from routing.engine.context import CallContext
    from routing.guards import cache, limits, state

    key = KeyEntry(1, "bench", True, frozenset(), 10**9, 10**12, Decimal("1000000"))
    timings: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        ctx = CallContext(requested_model="x")
        reservation = await limits.admit(key, 600, Decimal("0.004"), ctx.requested_model)
        await cache.lookup(f"sy:cache:bench{i}")
        ctx.usage = TokenUsage(500, 100)
        await limits.settle(reservation, ctx.usage, ctx.cost)
        timings.append((time.perf_counter() - started) * 1e6)
    await state.get_state().add("sy:bench:done", 1, 1)
    timings.sort()
    return {"p50": timings[n // 2], "p99": timings[int(n * 0.99)]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--redis", default="")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    setup(args.redis)
    result = asyncio.run(measure(args.n))
    where = f"Redis ({args.redis})" if args.redis else "local memory"
    line = f"| {where} | {result['p50']:.0f} | {result['p99']:.0f} |"
    print(line)
    if args.write_docs:
        from bench import write_section

        body = (
            "## Guards per request\n\nadmit (rpm + tpm + budget) + one cache lookup + settle, "
            f"{args.n} requests, in microseconds:\n\n| state | p50 µs | p99 µs |\n| --- | --- | --- |\n"
            + line
        )
        write_section("guards-" + ("redis" if args.redis else "local"), body)


if __name__ == "__main__":
    main()

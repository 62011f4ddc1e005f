"""Batch throughput: a 10,000-line job through `BatchRunner` at concurrency 1, 8 and 32.

    .venv/bin/python -m bench.bench_batch [--lines 10000] [--concurrency 1,8,32] [--write-docs]

Starts the fast fake upstream (`bench/fast_upstream.py`, its own process), a throwaway
Switchyard database (SQLite under a temp SWITCHYARD_VAR_DIR), and for each concurrency runs
the same job twice: once through the batch runner (gateway plan + dispatch + usage record +
one fsynced output line per request) and once as bare httpx calls to the upstream with the
same concurrency. Overhead per request = (batch wall time - direct wall time) / lines.
Prints a table; `--write-docs` also rewrites the `batch` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine_facts, markdown_table, text_table, write_section  # noqa: E402
from bench.loadgen import wait_ready  # noqa: E402

MODEL = "gpt-4o-mini"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bench.fast_upstream", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1])
    wait_ready("127.0.0.1", port, 10)
    return proc


def setup_django(var: Path, upstream: str) -> None:
    os.environ["SWITCHYARD_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{var / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger("switchyard.requests").setLevel(logging.WARNING)  # as `batch run` does
    call_command("migrate", verbosity=0)
    from routing.models import Model, Provider

    provider = Provider.objects.create(
        slug="fast", name="Fast", protocol="openai", base_url=upstream, api_key="sk-bench"
    )
    Model.objects.create(
        provider=provider, model_id=MODEL, prices_ref=f"openai:{MODEL}", price_known=True,
        input_price=0.15, output_price=0.6,
    )  # fmt: skip


def write_input(path: Path, lines: int) -> None:
    import orjson

    with path.open("wb") as fh:
        for i in range(lines):
            body = {"model": f"fast/{MODEL}", "messages": [{"role": "user", "content": f"q {i}"}]}
            line = {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions"}
            fh.write(orjson.dumps({**line, "body": body}) + b"\n")


async def run_batch(src: Path, out: Path, concurrency: int) -> tuple[float, dict[str, Any]]:
    from batch.inputs import read_input
    from batch.runner import BatchRunner, Options

    runner = BatchRunner(read_input(src).items, out, Options(concurrency=concurrency))
    started = time.perf_counter()
    summary = await runner.run()
    return time.perf_counter() - started, summary


async def run_direct(upstream: str, lines: int, concurrency: int) -> float:
    """The same requests straight to the upstream: what the gateway adds is the difference."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=upstream, limits=limits, timeout=30) as client:
        queue = iter(range(lines))

        async def worker() -> None:
            for i in queue:
                body = {"model": MODEL, "messages": [{"role": "user", "content": f"q {i}"}]}
                response = await client.post("/chat/completions", json=body)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def measure(tmp: Path, upstream: str, lines: int, concurrency: int) -> list[str]:
    from routing.transport import records

    src = tmp / "in.jsonl"
    batch_s, summary = asyncio.run(run_batch(src, tmp / f"out-{concurrency}.jsonl", concurrency))
    flush_started = time.perf_counter()
    records.writer.flush(120)
    flush_s = time.perf_counter() - flush_started
    direct_s = asyncio.run(run_direct(upstream, lines, concurrency))
    assert summary["succeeded"] == lines, summary
    overhead_us = (batch_s - direct_s) / lines * 1e6
    return [
        str(concurrency),
        f"{lines / batch_s:,.0f}",
        f"{lines / direct_s:,.0f}",
        f"{overhead_us:,.0f}",
        f"{summary['latency_ms']['p50']:.2f}",
        f"{summary['latency_ms']['p99']:.2f}",
        f"{batch_s:.1f}",
        f"{flush_s:.1f}",
    ]


HEADERS = [
    "concurrency",
    "batch lines/s",
    "direct req/s",
    "overhead µs/line",
    "line p50 ms",
    "line p99 ms",
    "batch s",
    "records flush s",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    port = free_port()
    upstream_proc = start_upstream(port)
    upstream = f"http://127.0.0.1:{port}/v1"
    try:
        with tempfile.TemporaryDirectory(prefix="sy-bench-batch-") as tmp_name:
            tmp = Path(tmp_name)
            setup_django(tmp, upstream)
            write_input(tmp / "in.jsonl", args.lines)
            levels = [int(c) for c in args.concurrency.split(",")]
            rows = [measure(tmp, upstream, args.lines, c) for c in levels]
    finally:
        upstream_proc.terminate()
        upstream_proc.wait(10)
    print(text_table(HEADERS, rows))
    if args.write_docs:
        write_section("batch", report(args.lines, rows))


def report(lines: int, rows: list[list[str]]) -> str:
    return "\n\n".join(
        [
            f"## Batch jobs ({lines:,} lines, `python -m bench.bench_batch`)",
            "Each line: plan, dispatch to the fast fake upstream, usage record, one fsynced "
            "OpenAI Batch output line. *direct* sends the same requests with bare httpx at the "
            "same concurrency; overhead per line = (batch − direct wall time) / lines. Usage "
            "records are written by the background writer during the run (SQLite); "
            "*records flush* is what remained to write when the job ended.",
            markdown_table(HEADERS, rows),
            machine_facts(),
        ]
    )


if __name__ == "__main__":
    main()

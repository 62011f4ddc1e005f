"""The front doors side by side: /v1/chat/completions, /v1/embeddings and /v1/responses
(native to an upstream serving it, and translated to chat) through one Switchyard worker to
the fast fake upstream, non-streaming, at 1 and 16 clients. Small by design (a few seconds a
cell); writes docs/bench_doors.md.

    .venv/bin/python -m bench.bench_doors [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.loadgen import LoadSpec, run_load
from bench.run import (
    ROOT,
    Settings,
    Target,
    free_port,
    launch,
    manage,
    prepare_switchyard,
    start_upstream,
    stop,
    switchyard_env,
    uvicorn_cmd,
)

EXTRA = """
from routing.models import Model, Provider
base = Provider.objects.get(slug="fakebench")
Model.objects.create(provider=base, model_id="text-embedding-3-small", kind="embedding",
    dimensions=256, prices_ref="openai:text-embedding-3-small", price_known=True,
    input_price=0.02)
native = Provider.objects.create(slug="fakeresp", name="FakeResponses", protocol="openai",
    base_url=base.base_url, api_key="x", region="us", serves_responses=True)
Model.objects.create(provider=native, model_id="gpt-4o", prices_ref="openai:gpt-4o",
    price_known=True, input_price=2.5, output_price=10, context_window=128000)
"""
PROMPT = "In one short sentence: what does an LLM gateway do?"
ROWS = [
    ("chat", "/v1/chat/completions",
     {"model": "fakebench/gpt-4o", "messages": [{"role": "user", "content": PROMPT}],
      "max_tokens": 64}),
    ("embeddings", "/v1/embeddings",
     {"model": "fakebench/text-embedding-3-small", "input": PROMPT, "encoding_format": "float"}),
    ("responses (native)", "/v1/responses",
     {"model": "fakeresp/gpt-4o", "input": PROMPT, "store": False}),
    ("responses (to chat)", "/v1/responses",
     {"model": "fakebench/gpt-4o", "input": PROMPT, "store": False}),
]  # fmt: skip


def measure(port: int, key: str, path: str, body: dict[str, Any], seconds: float) -> list[dict]:
    out = []
    for clients in (1, 16):
        spec = LoadSpec(port=port, path=path, api_key=key, concurrency=clients,
                        seconds=seconds, warmup=0.5, body=orjson.dumps(body))  # fmt: skip
        out.append(asyncio.run(run_load(spec)))
    return out


def table(results: list[tuple[str, list[dict]]]) -> str:
    lines = [
        "| door | p50 ms, 1 client | p99 ms, 1 client | req/s, 16 clients | p99 ms, 16 clients "
        "| errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, (one, many) in results:
        errors = one["errors"] + many["errors"]
        lines.append(
            f"| {name} | {one['latency_ms']['p50']:.2f} | {one['latency_ms']['p99']:.2f} "
            f"| {many['rps']:,.0f} | {many['latency_ms']['p99']:.2f} | {errors} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "bench_doors.md")
    args = parser.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="bench-doors-"))
    cfg = Settings(args.seconds, 0.5, [1, 16], False, args.output, False, var)
    upstream, _ = start_upstream(cfg)
    server = None
    try:
        env = switchyard_env(var)
        env["SWITCHYARD_EMBEDDINGS_CACHE_TTL"] = "0"  # identical inputs: measure misses
        keys = prepare_switchyard(env, upstream_port_of(upstream))
        manage(["shell", "-c", EXTRA], env)
        port = free_port()
        probe = Target("switchyard", port, "fakebench/gpt-4o", keys["plain"], "switchyard")
        server = launch(cfg, "switchyard", uvicorn_cmd(cfg.app, port), env, probe)
        results = [(name, measure(port, keys["plain"], path, body, args.seconds))
                   for name, path, body in ROWS]  # fmt: skip
    finally:
        if server is not None:
            stop(server.proc)
        stop(upstream)
    load = os.getloadavg()[0]
    text = (
        "# Front doors benchmark\n\nOne Switchyard worker, the fast fake upstream, "
        f"non-streaming, cache off, {args.seconds:g} s a cell (`python -m bench.bench_doors`); "
        f"load average {load:.1f} on {os.cpu_count()} cores when it ended (other work shares "
        "the machine: compare rows with each other, not with docs/benchmarks.md).\n\n"
        + table(results)
        + "\n"
    )
    args.output.write_text(text)
    print(text)


def upstream_port_of(proc: Any) -> int:
    return int(proc.args[proc.args.index("--port") + 1])


if __name__ == "__main__":
    main()

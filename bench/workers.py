"""How throughput scales with uvicorn workers on this machine.

    python -m bench.workers [--seconds 4] [--concurrency 32] [--write-docs]

Same fake upstream, data and load generator as bench.run; no CPU pinning (the workers need
both cores), so the upstream and the load generator compete with the workers: the 2-worker
figure is a floor for what two dedicated cores give.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import write_section
from bench.run import (
    Settings,
    Target,
    free_port,
    load,
    prepare_switchyard,
    spawn,
    start_upstream,
    stop,
    switchyard_env,
    uvicorn_cmd,
    wait_answer,
)


def serve(workers: int, env: dict[str, str], log_dir: Path) -> tuple[Any, int]:
    port = free_port()
    cmd = uvicorn_cmd("config.asgi:application", port, "--workers", str(workers))
    return spawn(cmd, env, log_dir / f"workers-{workers}.log"), port


def measure(
    workers: int, cfg: Settings, env: dict[str, str], key: str, concurrency: int
) -> dict[str, Any]:
    proc, port = serve(workers, env, cfg.log_dir)
    target = Target(f"{workers} worker(s)", port, "fakebench/gpt-4o", key, "switchyard")
    try:
        wait_answer(target, proc, 60)
        time.sleep(1.0)
        result = load(cfg, target, False, concurrency)
    finally:
        stop(proc)
    result["workers"] = workers
    return result


def table(results: list[dict[str, Any]], concurrency: int) -> str:
    base = results[0]["rps"]
    lines = [
        f"C={concurrency} concurrent clients, non-streaming, {results[0].get('seconds', '')} s per cell.",
        "",
        "| workers | req/s | p50 ms | p99 ms | vs 1 worker |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['workers']} | {r['rps']:.0f} | {r['latency_ms']['p50']:.2f} | {r['latency_ms']['p99']:.2f} | "
            f"{r['rps'] / base:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="sy-workers-"))
    cfg = Settings(args.seconds, 0.5, [args.concurrency], False, Path(), False, var)
    upstream, direct = start_upstream(cfg)
    try:
        env = switchyard_env(var)
        keys = prepare_switchyard(env, direct.port)
        results = [measure(n, cfg, env, keys["plain"], args.concurrency) for n in (1, 2)]
    finally:
        stop(upstream)
        shutil.rmtree(var, ignore_errors=True)
    for r in results:
        r["seconds"] = args.seconds
    body = "## Workers\n\n" + table(results, args.concurrency)
    print(body)
    if args.write_docs:
        write_section("workers", body)


if __name__ == "__main__":
    main()

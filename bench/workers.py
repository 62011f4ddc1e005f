"""How throughput scales with uvicorn workers on this machine.

    python -m bench.workers [--seconds 4] [--concurrency 32] [--repeats 3] [--write-docs]

Same fake upstream, data and load generator as bench.run; no CPU pinning (the workers need
both cores), so the upstream and the load generator compete with the workers: the 2-worker
figure is a floor for what two dedicated cores give. Workers are served by `python -m
config.serve` (a socket per worker, SO_REUSEPORT); each cell runs `--repeats` times on a
fresh server and the table shows the median with the range.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import write_section
from bench.run import (
    PY,
    Settings,
    Target,
    free_port,
    load,
    prepare_switchyard,
    spawn,
    start_upstream,
    stop,
    switchyard_env,
    wait_answer,
)


def serve(workers: int, env: dict[str, str], log_dir: Path) -> tuple[Any, int]:
    """N workers as the README runs them: `python -m config.serve` (one SO_REUSEPORT socket
    per worker, so the clients' connections are dealt across the workers)."""
    port = free_port()
    cmd = [PY, "-m", "config.serve", "--workers", str(workers), "--port", str(port)]
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


def table(runs: dict[int, list[dict[str, Any]]], concurrency: int, seconds: float) -> str:
    def median(rows: list[dict[str, Any]], pick: Any) -> float:
        return statistics.median(pick(r) for r in rows)

    base = median(runs[1], lambda r: r["rps"])
    repeats = len(runs[1])
    lines = [
        f"C={concurrency} concurrent clients, non-streaming, {seconds:g} s per cell, "
        f"median of {repeats} runs (range in brackets).",
        "",
        "| workers | req/s | p50 ms | p99 ms | vs 1 worker |",
        "| --- | --- | --- | --- | --- |",
    ]
    for workers, rows in runs.items():
        rps = [r["rps"] for r in rows]
        p50 = median(rows, lambda r: r["latency_ms"]["p50"])
        p99 = median(rows, lambda r: r["latency_ms"]["p99"])
        lines.append(
            f"| {workers} | {statistics.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f}) | "
            f"{p50:.2f} | {p99:.2f} | {statistics.median(rps) / base:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="sy-workers-"))
    cfg = Settings(args.seconds, 0.5, [args.concurrency], False, Path(), False, var)
    upstream, direct = start_upstream(cfg)
    try:
        env = switchyard_env(var)
        keys = prepare_switchyard(env, direct.port)
        runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for _ in range(max(1, args.repeats)):
            for workers, rows in runs.items():
                rows.append(measure(workers, cfg, env, keys["plain"], args.concurrency))
    finally:
        stop(upstream)
        shutil.rmtree(var, ignore_errors=True)
    body = "## Workers\n\n" + table(runs, args.concurrency, args.seconds)
    print(body)
    if args.write_docs:
        write_section("workers", body)


if __name__ == "__main__":
    main()

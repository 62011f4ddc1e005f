"""Run the gateway benchmark: direct vs Switchyard (direct model, routed) vs LiteLLM's proxy.

    python -m bench.run [--quick] [--seconds T] [--concurrency 1,8,32] [--no-litellm]
                        [--output docs/benchmarks.md]

One invocation starts the fast fake upstream, a throwaway Switchyard (SQLite under a temp
SWITCHYARD_VAR_DIR, DEBUG=0, one uvicorn worker), and LiteLLM's proxy when it installs into
/tmp/sy-litellm; runs the same closed-loop workload against each (streaming and not, for
every concurrency); prints a table and rewrites its section of docs/benchmarks.md.
Pinning: gateway on core 0, upstream and load generator on core 1 (when there are 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import (
    DOCS,
    HEADER,
    ROOT,
    machine_facts,
    markdown_table,
    run_async,
    text_table,
    write_section,
)
from bench.loadgen import LoadSpec, request_once, run_load, wait_ready

PY = sys.executable
LITELLM_VENV = Path(os.environ.get("SY_LITELLM_VENV", "/tmp/sy-litellm"))
GATEWAY_CORE, LOAD_CORE = "0", "1"
FLOOR = "floor (uvicorn + client)"
MESSAGES = "switchyard /v1/messages"
GUARD_MODULES = ("guards.py", "guards", "limits.py", "ratelimit.py")
FAST_MODELS = [  # (model id on the fake upstream, genai-prices ref, $ in/out per 1M tokens)
    ("deepseek-chat", "deepseek:deepseek-chat", 0.27, 1.1),
    ("qwen3-32b", "", None, None),
    ("deepseek-reasoner", "deepseek:deepseek-reasoner", 0.55, 2.19),
    ("gpt-4o", "openai:gpt-4o", 2.5, 10),
]


@dataclass
class Target:
    name: str
    port: int
    model: str
    key: str = ""
    server: str = ""  # which process serves it (for memory), "" for the bare upstream
    unique_prompts: bool = False  # defeat the response cache: every request is a miss
    protocol: str = "chat"  # the front door the load goes through (see bench/loadgen.py)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    startup_s: float
    rss_idle_mb: float = 0.0
    rss_after_mb: dict[str, float] = field(default_factory=dict)


@dataclass
class Settings:
    seconds: float
    warmup: float
    concurrency: list[int]
    litellm: bool
    output: Path
    pin: bool
    log_dir: Path
    app: str = "config.asgi:application"


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cmd: list[str], core: str, cfg: Settings) -> list[str]:
    return ["taskset", "-c", core, *cmd] if cfg.pin else cmd


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def rss_mb(pid: int) -> float:
    """VmRSS of a process and its descendants, in MB."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def wait_answer(target: Target, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll until the target answers a chat completion with 200; fail early if the process
    died or kept answering errors for 10 s."""
    deadline = time.monotonic() + timeout
    spec = LoadSpec(port=target.port, model=target.model, api_key=target.key, timeout=5)
    first_error: float | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{target.name} exited with code {proc.returncode}")
        try:
            status, body = request_once(spec)
        except OSError:
            time.sleep(0.01)
            continue
        if status == 200:
            return
        first_error = first_error or time.monotonic()
        if time.monotonic() - first_error > 10:
            raise RuntimeError(f"{target.name} keeps answering HTTP {status}: {body[:300]!r}")
        time.sleep(0.05)
    raise TimeoutError(f"{target.name} gave no successful answer within {timeout:.0f} s")


# --- Switchyard set-up ------------------------------------------------------------------------

SETUP_SCRIPT = """
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from routing.models import ApiKey, Model, Provider
from routing.catalog.routetable import import_routes
provider = Provider.objects.create(slug="fakebench", name="FakeBench", protocol="openai",
    base_url="http://127.0.0.1:{port}/v1", api_key="x", region="us")
for model_id, ref, inp, out in {models!r}:
    Model.objects.create(provider=provider, model_id=model_id, prices_ref=ref,
        price_known=bool(ref), input_price=inp, output_price=out, context_window=128000)
slugs, problems = import_routes({route!r})
assert not problems, problems
names = {{f.name for f in ApiKey._meta.get_fields()}}
limits = {{k: v for k, v in {limits!r}.items() if k in names}}
_, plain = ApiKey.issue("bench")
_, limited = ApiKey.issue("bench-limits", **limits)
print(json.dumps({{"plain": plain, "limited": limited, "limits": sorted(limits)}}))
"""
# Limits the routed key carries when the guards exist: checked on every request, never hit.
KEY_LIMITS = {"rpm": 1_000_000_000, "tpm": 2_000_000_000, "budget_usd": 1_000_000}


def auto_route() -> dict[str, Any]:
    """`route/auto` (complexity) over the fake upstream's models, like the default route."""
    names = [f"fakebench/{m[0]}" for m in FAST_MODELS]
    bands = [0.3, 0.6, 0.8, None]
    targets = [{"model": n, "max_score": b} if b else {"model": n} for n, b in zip(names, bands)]
    return {
        "routes": [
            {
                "slug": "auto",
                "strategy": "complexity",
                "fallbacks": [names[-1]],
                "cache_ttl_seconds": 300,  # cache on; unique prompts make every request miss
                "targets": targets,
            }
        ]
    }


def switchyard_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SWITCHYARD_VAR_DIR=str(var_dir),
        DEBUG="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def manage(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare_switchyard(env: dict[str, str], upstream_port: int) -> dict[str, Any]:
    """Migrate a fresh SQLite database, add the fake provider, models and route; issue keys
    ("plain", and "limited" with rate/token/budget limits set when the guards exist)."""
    script = SETUP_SCRIPT.format(
        port=upstream_port, models=FAST_MODELS, route=auto_route(), limits=KEY_LIMITS
    )
    keys: dict[str, Any] = json.loads(manage(["shell", "-c", script], env).strip().splitlines()[-1])
    return keys


def uvicorn_cmd(app: str, port: int, *extra: str) -> list[str]:
    """Switchyard as served in production: uvicorn, no lifespan, no access log."""
    return [
        PY,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
        *extra,
    ]


def start_switchyard(
    cfg: Settings, env: dict[str, str], keys: dict[str, Any]
) -> tuple[Server, list[Target]]:
    port = free_port()
    cmd = uvicorn_cmd(cfg.app, port)
    direct = Target("switchyard", port, "fakebench/gpt-4o", keys["plain"], "switchyard")
    # The Anthropic door to the same model on the same fake upstream: request, answer and
    # stream translated (Anthropic <-> OpenAI), next to the chat door's row.
    messages = Target(
        MESSAGES, port, "fakebench/gpt-4o", keys["plain"], "switchyard", protocol="messages"
    )
    routed = Target(
        "switchyard route/auto", port, "route/auto", keys["limited"], "switchyard", True
    )
    return launch(cfg, "switchyard", cmd, env, direct), [direct, messages, routed]


def launch(
    cfg: Settings, name: str, cmd: list[str], env: dict[str, str], probe: Target, wait: float = 60
) -> Server:
    """Start a server on the gateway core and time it until `probe` answers (stopped again
    if it never does); its idle memory is taken then."""
    started = time.perf_counter()
    proc = spawn(pinned(cmd, GATEWAY_CORE, cfg), env, cfg.log_dir / f"{name.split()[0]}.log")
    try:
        wait_answer(probe, proc, wait)
    except BaseException:
        stop(proc)
        raise
    server = Server(name, proc, probe.port, time.perf_counter() - started)
    server.rss_idle_mb = rss_mb(proc.pid)
    return server


def usage_rows(var_dir: Path) -> dict[str, int]:
    """Usage records the gateway wrote, by route ('' for direct calls)."""
    try:
        with sqlite3.connect(var_dir / "db.sqlite3") as db:
            rows = db.execute("SELECT route, count(*) FROM routing_usagerecord GROUP BY route")
            return {route or "(direct)": count for route, count in rows}
    except sqlite3.Error:
        return {}


def start_floor(cfg: Settings, upstream_port: int) -> tuple[Server, Target]:
    """The stack without the gateway (bench/floor_proxy.py): uvicorn + the upstream client."""
    port = free_port()
    env = {**os.environ, "SY_FLOOR_UPSTREAM": f"http://127.0.0.1:{upstream_port}"}
    target = Target(FLOOR, port, "gpt-4o", "", FLOOR)
    return launch(cfg, FLOOR, uvicorn_cmd("bench.floor_proxy:app", port), env, target), target


def door_note(results: list[dict[str, Any]]) -> str | None:
    """The Anthropic door's overhead against the chat door's (goal: within 20 %)."""
    parts = []
    for stream in (False, True):
        for c in sorted({r["concurrency"] for r in results}):
            chat, messages = (
                _find(results, "switchyard", stream, c),
                _find(results, MESSAGES, stream, c),
            )
            if not chat or not messages or not chat.get("gw_cpu_ms_per_req"):
                continue
            ratio = messages["gw_cpu_ms_per_req"] / chat["gw_cpu_ms_per_req"] - 1
            parts.append(f"stream={'yes' if stream else 'no'} C={c}: {100 * ratio:+.0f}% CPU/req")
    if not parts:
        return None
    return (
        f"`{MESSAGES}` (the Anthropic door, translated to the same OpenAI-compatible fake model) "
        "against the chat door's gateway CPU per request (goal: within +20%): " + "; ".join(parts)
    )


def floor_note(results: list[dict[str, Any]]) -> str | None:
    hi = max(r["concurrency"] for r in results)
    floor, gateway = _find(results, FLOOR, False, hi), _find(results, "switchyard", False, hi)
    p50 = _delta(results, FLOOR, False, hi, "latency_ms", "p50")
    p99 = _delta(results, FLOOR, False, hi, "latency_ms", "p99")
    if floor is None or p50 is None or p99 is None:
        return None
    share = ""
    if gateway is not None and gateway.get("gw_cpu_ms_per_req") and floor.get("gw_cpu_ms_per_req"):
        share = (
            f"; it spends {floor['gw_cpu_ms_per_req']:.2f} ms of CPU per request, "
            f"{100 * floor['gw_cpu_ms_per_req'] / gateway['gw_cpu_ms_per_req']:.0f}% of "
            "Switchyard's"
        )
    return (
        f"`{FLOOR}` is the decided stack with no gateway logic (bench/floor_proxy.py: raw "
        "ASGI under uvicorn relaying through Switchyard's upstream client, no auth, routing, "
        "limits, pricing, "
        f"records or metrics). At C={hi} it serves {floor['rps']:.0f} req/s and adds "
        f"{p50:+.2f} ms p50 / {p99:+.2f} ms p99 against direct{share}: the part of the "
        "added latency that uvicorn + the client cost before Switchyard does anything."
    )


# --- LiteLLM ----------------------------------------------------------------------------------


def litellm_bin() -> Path | None:
    """LiteLLM's CLI in its throwaway venv, installed on first use (None if that fails)."""
    binary = LITELLM_VENV / "bin" / "litellm"
    if binary.exists():
        return binary
    print(f"installing LiteLLM's proxy into {LITELLM_VENV} (one-off) ...", flush=True)
    try:
        subprocess.run(
            ["python3", "-m", "venv", str(LITELLM_VENV)],
            check=True,
            timeout=120,
            capture_output=True,
        )
        subprocess.run(
            [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"],
            check=True,
            timeout=900,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"SKIP LiteLLM: could not install 'litellm[proxy]' ({exc}); continuing without it.")
        return None
    return binary if binary.exists() else None


def start_litellm(cfg: Settings, upstream_port: int) -> tuple[Server, Target] | None:
    binary = litellm_bin()
    if binary is None:
        return None
    config = cfg.log_dir / "litellm.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_base: http://127.0.0.1:{upstream_port}/v1
              api_key: x
        litellm_settings:
          telemetry: false
        """)
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    master_key = "sk-" + secrets.token_hex(32)  # the proxy refuses to start without one
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", LITELLM_MASTER_KEY=master_key
    )
    port = free_port()
    cmd = [
        str(binary),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    target = Target("litellm", port, "gpt-4o", master_key, "litellm")
    try:
        return launch(cfg, "litellm", cmd, env, target, wait=120), target
    except (RuntimeError, TimeoutError) as exc:
        print(f"SKIP LiteLLM: the proxy did not answer ({exc}); see {cfg.log_dir}/litellm.log")
        return None


# --- load -------------------------------------------------------------------------------------


def load(cfg: Settings, target: Target, stream: bool, concurrency: int) -> dict[str, Any]:
    """One cell, run in this process (pinned to the load core by `main`)."""
    spec = LoadSpec(
        port=target.port,
        model=target.model,
        api_key=target.key,
        stream=stream,
        concurrency=concurrency,
        seconds=cfg.seconds,
        warmup=cfg.warmup,
        unique_prompts=target.unique_prompts,
        protocol=target.protocol,
    )
    result = run_async(run_load(spec))
    result["target"] = target.name
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_target(cfg: Settings, target: Target, server: Server | None) -> list[dict[str, Any]]:
    results = []
    for stream in (False, True):
        for concurrency in cfg.concurrency:
            cpu0 = cpu_seconds(server.proc.pid) if server else 0.0
            result = load(cfg, target, stream, concurrency)
            if server is not None:
                cpu = cpu_seconds(server.proc.pid) - cpu0
                result["gw_cpu_pct"] = 100 * cpu / result["wall_s"]
                result["gw_cpu_ms_per_req"] = 1000 * cpu / max(1, result["answered"])
            results.append(result)
            print(
                f"  {target.name:24} stream={stream!s:5} c={concurrency:<3} "
                f"{result['rps']:8.0f} req/s  p50 {result['latency_ms']['p50']:7.2f} ms  "
                f"errors {result['errors']}  loadgen cpu {result['cpu_pct']:.0f}%  "
                f"gw cpu/req {result.get('gw_cpu_ms_per_req', 0):.2f} ms",
                flush=True,
            )
            if result["error_sample"]:
                print(f"    first error: {result['error_sample'][:200]}")
    if server is not None:
        server.rss_after_mb[target.name] = rss_mb(server.proc.pid)
    return results


# --- report -----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _added(value: float | None, base: float | None) -> str:
    return "-" if value is None or base is None else f"{value - base:+.2f}"


def result_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    base = {(r["stream"], r["concurrency"]): r for r in results if r["target"] == "direct"}
    rows = []
    for r in results:
        d = base.get((r["stream"], r["concurrency"]))
        lat, ttft = r["latency_ms"], r["ttft_ms"] or {}
        dlat, dttft = (d["latency_ms"], d["ttft_ms"] or {}) if d else ({}, {})
        direct = r["target"] == "direct"
        rows.append(
            [
                r["target"],
                "yes" if r["stream"] else "no",
                str(r["concurrency"]),
                f"{r['rps']:.0f}",
                _ms(lat["p50"]),
                _ms(lat["p90"]),
                _ms(lat["p99"]),
                "" if direct else _added(lat["p50"], dlat.get("p50")),
                "" if direct else _added(lat["p99"], dlat.get("p99")),
                _ms(ttft.get("p50")),
                "" if direct or not r["stream"] else _added(ttft.get("p50"), dttft.get("p50")),
                str(r["errors"]),
                f"{r['cpu_pct']:.0f}",
                f"{r['gw_cpu_pct']:.0f}" if "gw_cpu_pct" in r else "-",
                f"{r['gw_cpu_ms_per_req']:.2f}" if "gw_cpu_ms_per_req" in r else "-",
                f"{1000 / r['gw_cpu_ms_per_req']:.0f}" if r.get("gw_cpu_ms_per_req") else "-",
            ]
        )
    return rows


RESULT_HEADERS = [
    "target",
    "stream",
    "C",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "+p50 ms",
    "+p99 ms",
    "TTFT p50",
    "+TTFT p50",
    "errors",
    "loadgen CPU%",
    "gw CPU%",
    "gw CPU ms/req",
    "1-core capacity req/s",
]
SERVER_HEADERS = ["gateway", "start to first answer s", "RSS idle MB", "RSS after load MB"]


def server_rows(servers: list[Server]) -> list[list[str]]:
    rows = []
    for s in servers:
        after = ", ".join(f"{v:.0f} ({k})" for k, v in s.rss_after_mb.items()) or "-"
        rows.append([s.name, f"{s.startup_s:.2f}", f"{s.rss_idle_mb:.0f}", after])
    return rows


def _find(
    results: list[dict[str, Any]], target: str, stream: bool, c: int
) -> dict[str, Any] | None:
    for r in results:
        if r["target"] == target and r["stream"] == stream and r["concurrency"] == c:
            return r
    return None


def _delta(
    results: list[dict[str, Any]], target: str, stream: bool, c: int, metric: str, q: str
) -> float | None:
    r, d = _find(results, target, stream, c), _find(results, "direct", stream, c)
    if not r or not d or not r[metric] or not d[metric]:
        return None
    return float(r[metric][q] - d[metric][q])


def _peak_rps(results: list[dict[str, Any]], target: str) -> float:
    return max((r["rps"] for r in results if r["target"] == target and not r["stream"]), default=0)


def _capacity(results: list[dict[str, Any]], target: str) -> float:
    """Requests/s one full core could serve, from the gateway's CPU time per request
    (non-streaming, highest concurrency): robust when other work shares the core."""
    rows = [r for r in results if r["target"] == target and not r["stream"]]
    rows = [r for r in rows if r.get("gw_cpu_ms_per_req")]
    if not rows:
        return 0.0
    busiest = max(rows, key=lambda r: r["concurrency"])
    return 1000 / busiest["gw_cpu_ms_per_req"]


def _ratio(a: float, b: float) -> float | None:
    return a / b if a and b else None


def target_rows(results: list[dict[str, Any]], servers: list[Server]) -> list[list[str]]:
    """Issue #8's targets: measured value, goal, met or missed by how much."""
    lo, hi = min(r["concurrency"] for r in results), max(r["concurrency"] for r in results)
    sy = next((s for s in servers if s.name == "switchyard"), None)
    lite = _peak_rps(results, "litellm")
    checks: list[tuple[str, float | None, float, str, bool]] = [
        (
            f"added latency p50, C={lo}",
            _delta(results, "switchyard", False, lo, "latency_ms", "p50"),
            1.0,
            "ms",
            False,
        ),
        (
            f"added latency p99, C={hi}",
            _delta(results, "switchyard", False, hi, "latency_ms", "p99"),
            10.0,
            "ms",
            False,
        ),
        (
            f"TTFT overhead p50, C={lo}",
            _delta(results, "switchyard", True, lo, "ttft_ms", "p50"),
            1.0,
            "ms",
            False,
        ),
        (
            "throughput vs LiteLLM",
            _peak_rps(results, "switchyard") / lite if lite else None,
            10.0,
            "x",
            True,
        ),
        (
            "throughput vs LiteLLM, routed",
            _peak_rps(results, "switchyard route/auto") / lite if lite else None,
            5.0,
            "x",
            True,
        ),
        (
            "CPU-time capacity vs LiteLLM",
            _ratio(_capacity(results, "switchyard"), _capacity(results, "litellm")),
            10.0,
            "x",
            True,
        ),
        (
            "CPU-time capacity vs LiteLLM, routed",
            _ratio(_capacity(results, "switchyard route/auto"), _capacity(results, "litellm")),
            5.0,
            "x",
            True,
        ),
        (
            "RSS after load",
            max(sy.rss_after_mb.values(), default=None) if sy else None,
            120.0,
            "MB",
            False,
        ),
        ("start to first answer", sy.startup_s if sy else None, 1.5, "s", False),
    ]
    rows = []
    for name, value, goal, unit, higher in checks:
        if value is None:
            rows.append([name, "-", f"{'>=' if higher else '<='} {goal:g} {unit}", "n/a"])
            continue
        met = value >= goal if higher else value <= goal
        verdict = "met" if met else f"missed by {abs(value - goal):.2f} {unit}"
        rows.append(
            [name, f"{value:.2f} {unit}", f"{'>=' if higher else '<='} {goal:g} {unit}", verdict]
        )
    return rows


def report(
    cfg: Settings, results: list[dict[str, Any]], servers: list[Server], notes: list[str]
) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "## Gateway overhead and throughput",
        f"Run {stamp}: {cfg.seconds:g} s per cell after {cfg.warmup:g} s warm-up, concurrency "
        f"{', '.join(map(str, cfg.concurrency))}, non-streaming and streaming "
        f"(20 content chunks + usage chunk); CPU pinning {'on' if cfg.pin else 'OFF'}. "
        "`+` columns are added latency against `direct` (same run, same C, same mode); "
        "TTFT is the time to the first SSE event. `loadgen CPU%` near 100 would mean the "
        "generator, not the gateway, was the limit. `gw CPU%` is the gateway's share of its "
        "core during the cell and `gw CPU ms/req` its CPU time per answered request (from "
        "/proc); `1-core capacity` = 1000 / that, the req/s a whole core would serve. "
        "`switchyard` names a model (`fakebench/gpt-4o`); `switchyard route/auto` is a "
        "complexity route over four models with the response cache on (every prompt "
        "unique, so every request misses), usage records written, and a key with "
        "rate, token and budget limits (set high enough never to trigger). Switchyard "
        "runs as shipped: usage records written, Prometheus metrics, and its default "
        "logging (one JSON line per request, to its log file); LiteLLM with "
        "`LITELLM_LOG=ERROR` and no database.",
        markdown_table(RESULT_HEADERS, result_rows(results)),
        "### Gateway process",
        markdown_table(SERVER_HEADERS, server_rows(servers)),
        "### Targets (issue #8)",
        markdown_table(["target", "measured", "goal", "verdict"], target_rows(results, servers)),
    ]
    if notes:
        parts += ["### Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts)


def contention_notes(results: list[dict[str, Any]]) -> list[str]:
    """Flag gateways that never got most of their core: other work shared it."""
    notes = []
    for target in dict.fromkeys(r["target"] for r in results if "gw_cpu_pct" in r):
        busiest = max(r["gw_cpu_pct"] for r in results if r["target"] == target)
        if busiest < 80:
            notes.append(
                f"{target} used at most {busiest:.0f}% of its core even at the highest "
                "concurrency: other processes shared the core, so its req/s and latencies "
                "are understated; `gw CPU ms/req` and `1-core capacity` are the fair comparison."
            )
    return notes


def header() -> str:
    return f"{HEADER}\nMachine of the last run:\n\n{machine_facts()}\n"


# --- main -------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per cell (harness check)")
    parser.add_argument("--seconds", type=float, help="seconds per cell (default 3, quick 1)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--output", type=Path, default=DOCS)
    parser.add_argument(
        "--app",
        default="config.asgi:application",
        help="ASGI app for Switchyard (A/B a candidate change)",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 0.5)
    pin = not args.no_pin and bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
    return Settings(
        seconds,
        warmup,
        [int(c) for c in args.concurrency.split(",")],
        not args.no_litellm,
        args.output,
        pin,
        Path(tempfile.mkdtemp(prefix="sy-bench-")),
        args.app,
    )


def start_upstream(cfg: Settings) -> tuple[subprocess.Popen[bytes], Target]:
    port = free_port()
    cmd = [PY, "-m", "bench.fast_upstream", "--port", str(port)]
    proc = spawn(pinned(cmd, LOAD_CORE, cfg), dict(os.environ), cfg.log_dir / "upstream.log")
    try:
        wait_ready("127.0.0.1", port, 20)
    except BaseException:
        stop(proc)
        raise
    return proc, Target("direct", port, "gpt-4o")


def run(cfg: Settings) -> tuple[list[dict[str, Any]], list[Server], list[str]]:
    notes: list[str] = []
    procs: list[subprocess.Popen[bytes]] = []
    results: list[dict[str, Any]] = []
    servers: list[Server] = []
    try:
        upstream, direct = start_upstream(cfg)
        procs.append(upstream)
        var_dir = cfg.log_dir / "var"
        env = switchyard_env(var_dir)
        keys = prepare_switchyard(env, direct.port)
        notes.append(
            "route/auto key limits: " + (", ".join(keys["limits"]) or "none (no guard fields)")
        )
        print(f"logs and throwaway database: {cfg.log_dir}", flush=True)
        results += run_target(cfg, direct, None)
        floor, floor_target = start_floor(cfg, direct.port)
        procs.append(floor.proc)
        results += run_target(cfg, floor_target, floor)
        stop(floor.proc)
        server, targets = start_switchyard(cfg, env, keys)
        procs.append(server.proc)
        servers.append(server)
        for target in targets:
            results += run_target(cfg, target, server)
        stop(server.proc)
        rows = usage_rows(var_dir)
        notes.append(
            "usage records written by Switchyard (flushed at exit): "
            + (", ".join(f"{k}: {v}" for k, v in rows.items()) or "none")
        )
        if cfg.litellm:
            started = start_litellm(cfg, direct.port)
            if started is None:
                notes.append("LiteLLM skipped (install or start failed).")
            else:
                lserver, ltarget = started
                procs.append(lserver.proc)
                servers.append(lserver)
                results += run_target(cfg, ltarget, lserver)
                notes.append(f"LiteLLM {litellm_version()} proxy, one uvicorn worker, no database.")
        else:
            notes.append("LiteLLM not run (--no-litellm).")
    finally:
        for proc in procs:
            stop(proc)
    return results, servers, notes


def litellm_version() -> str:
    try:
        done = subprocess.run(
            [str(LITELLM_VENV / "bin" / "pip"), "show", "litellm"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in done.stdout.splitlines()
            if line.startswith("Version:")
        ),
        "?",
    )


def main(argv: list[str] | None = None) -> None:
    cfg = parse(argv)
    if cfg.pin:
        os.sched_setaffinity(0, {int(LOAD_CORE)})  # this process generates the load
    else:
        print("note: CPU pinning is off (no taskset or fewer than 2 cores)")
    results, servers, notes = run(cfg)
    notes += contention_notes(results)
    notes += [n for n in (floor_note(results), door_note(results)) if n]
    if not any((ROOT / "routing" / name).exists() for name in GUARD_MODULES):
        notes.append(
            "No rate-limit/budget guard module in routing/ at the time of this run, "
            "so the routed cells ran without limits."
        )
    print()
    print(text_table(RESULT_HEADERS, result_rows(results)))
    print()
    print(text_table(SERVER_HEADERS, server_rows(servers)))
    print()
    print(text_table(["target", "measured", "goal", "verdict"], target_rows(results, servers)))
    for note in notes:
        print(f"- {note}")
    write_section("run", report(cfg, results, servers, notes), cfg.output, header=header())
    print(f"\nwrote {cfg.output}")
    shutil.rmtree(cfg.log_dir, ignore_errors=True)  # kept only when the run failed


if __name__ == "__main__":
    main()

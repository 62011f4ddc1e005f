"""Several server processes sharing PostgreSQL and Redis: limits, budgets and cooldowns hold
exactly across them, and the service recovers by itself when Redis comes back.

Each test module run gets its own PostgreSQL database and its own redis-server on a free port,
so the machine's services are never disturbed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.fake_upstream import FakeUpstream, Fault

ROOT = Path(__file__).resolve().parents[3]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = f"switchyard_scaleout_{os.getpid()}"
SETUP = """
from routing.models import ApiKey, Model, Provider, Route, RouteTarget
p = Provider.objects.create(slug="fakeai", name="FakeAI", protocol="openai",
                            base_url="{base}", api_key="sk-x")
Model.objects.create(provider=p, model_id="gpt-4o", prices_ref="openai:gpt-4o", price_known=True,
                     input_price=2.5, output_price=10)
twin = Provider.objects.create(slug="fakealt", name="FakeAlt", protocol="openai",
                               base_url="{base}", api_key="sk-x")
Model.objects.create(provider=twin, model_id="gpt-4o", prices_ref="openai:gpt-4o",
                     price_known=True, input_price=2.5, output_price=10)
route = Route.objects.create(slug="judged", strategy="ensemble", judge_model="fakeai/gpt-4o")
for position, model in enumerate(["fakeai/gpt-4o", "fakealt/gpt-4o"]):
    RouteTarget.objects.create(route=route, position=position, model=model)
for name, extra in {keys}.items():
    key, raw = ApiKey.issue(name, **extra)
    open("{var}/" + name + ".key", "w").write(raw)
"""


@dataclass
class Cluster:
    urls: list[str]
    env: dict[str, str]
    var: Path
    redis_port: int
    processes: list[subprocess.Popen[bytes]]

    def key(self, name: str) -> str:
        return (self.var / f"{name}.key").read_text()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def start_redis(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    return process


def _wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def _serve(env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    return f"http://127.0.0.1:{port}", process


@pytest.fixture(scope="module")
def cluster(
    fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    var = tmp_path_factory.mktemp("cluster")
    redis_port = free_port()
    redis = start_redis(redis_port)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SWITCHYARD_VAR_DIR": str(var),
        "DEBUG": "0",
        "SWITCHYARD_MAX_RETRIES": "0",
        "SWITCHYARD_USAGE_FLUSH_SECONDS": "0.05",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _manage(env, "migrate", "--noinput")
    keys = {
        "rpm10": {"rpm": 10},
        "budget": {"budget_usd": Decimal("0.0030")},
        "ensemble": {"budget_usd": Decimal("0.13")},
        "plain": {},
        "limited": {"rpm": 1000},
    }
    script = SETUP.format(base=fake_upstream.openai_base_url, keys=repr(keys), var=var)
    script = script.replace("Decimal(", "__import__('decimal').Decimal(")
    _manage(env, "shell", "-c", script)
    servers = [_serve(env) for _ in range(3)]
    try:
        for url, _ in servers:
            _wait_port(int(url.rsplit(":", 1)[1]))
    except BaseException:  # a failed start leaves no server or Redis behind
        for process in [p for _, p in servers] + [redis]:
            process.kill()
        raise
    cluster = Cluster(
        [u for u, _ in servers], env, var, redis_port, [p for _, p in servers] + [redis]
    )
    yield cluster
    for process in cluster.processes:
        process.terminate()
        process.wait(10)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


async def spread(cluster: Cluster, key: str, n: int, **body: object) -> list[httpx.Response]:
    payload = {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    payload.update(body)
    async with httpx.AsyncClient(timeout=30) as http:
        calls = [
            http.post(
                f"{cluster.urls[i % 3]}/v1/chat/completions",
                json=payload,
                headers={"authorization": f"Bearer {key}"},
            )
            for i in range(n)
        ]
        return await asyncio.gather(*calls)


def test_rpm_is_exact_across_three_processes(cluster: Cluster, fake: FakeUpstream) -> None:
    """A key with --rpm 10 gets 30 concurrent requests over three servers: exactly 10 succeed."""
    responses = asyncio.run(spread(cluster, cluster.key("rpm10"), 30))
    assert sorted(r.status_code for r in responses).count(200) == 10
    assert len([r for r in fake.requests if r.model == "gpt-4o"]) == 10


def test_budget_is_exact_across_three_processes(cluster: Cluster, fake: FakeUpstream) -> None:
    """N concurrent requests against a budget for K of them: K whole answers, then one capped
    to what is left (routing/guards/budget_cap.py), the rest refused; spend within budget."""
    # Each reserves ~1 input token (with margin) + 100 output (~$0.00103) and, with a long
    # reply cut at max_tokens, really spends about that: 2 whole answers fit in $0.0030, and a
    # third, capped below 100 tokens, takes what is left.
    fake.set_reply("gpt-4o", "word " * 300)
    responses = asyncio.run(spread(cluster, cluster.key("budget"), 12, max_tokens=100))
    ok = [r for r in responses if r.status_code == 200]
    whole = [r for r in ok if "x-switchyard-budget-max-tokens" not in r.headers]
    capped = [r for r in ok if "x-switchyard-budget-max-tokens" in r.headers]
    assert len(whole) == 2 and len(capped) <= 1
    assert all(int(r.headers["x-switchyard-budget-max-tokens"]) < 100 for r in capped)
    refused = [r for r in responses if r.status_code != 200]
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    spent = sum(Decimal(r.headers["x-switchyard-cost-usd"]) for r in ok)
    assert spent <= Decimal("0.0030")


def test_ensemble_budget_holds_across_three_processes(cluster: Cluster, fake: FakeUpstream) -> None:
    """A budget for about 5 judged ensembles (two members and a judge, ~$0.026 each): 30
    concurrent requests without max_tokens over three servers, then more one at a time until
    refused; every member and judge call had a limit and the spend stays within the budget."""
    fake.set_reply("gpt-4o", "word " * 1000)
    key = cluster.key("ensemble")
    responses = asyncio.run(spread(cluster, key, 30, model="route/judged"))
    for _ in range(12):
        responses += asyncio.run(spread(cluster, key, 1, model="route/judged"))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert ok and {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert all(r.body.get("max_tokens") for r in fake.requests)
    spent = sum(Decimal(r.headers["x-switchyard-cost-usd"]) for r in ok)
    print(f"ensembles over 3 processes: {len(ok)} answered, spent {spent} of 0.13")
    assert Decimal("0.09") <= spent <= Decimal("0.13")


def test_survives_redis_restart(cluster: Cluster, fake: FakeUpstream) -> None:
    """Redis going away: limited keys fail clearly (503, no 500, no hang), unlimited keys go on
    with the loaded configuration, and service comes back by itself."""
    key = cluster.key("limited")
    assert all(r.status_code == 200 for r in asyncio.run(spread(cluster, key, 3)))
    redis = cluster.processes[-1]
    redis.terminate()
    redis.wait(10)
    started = time.monotonic()
    down = asyncio.run(spread(cluster, key, 6))
    assert all(r.status_code == 503 for r in down), [r.text for r in down]
    assert time.monotonic() - started < 15
    assert all(r.json()["error"]["type"] == "service_unavailable" for r in down)
    unlimited = asyncio.run(spread(cluster, cluster.key("plain"), 3))
    assert all(r.status_code == 200 for r in unlimited)
    cluster.processes[-1] = start_redis(cluster.redis_port)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        back = asyncio.run(spread(cluster, key, 3))
        if all(r.status_code == 200 for r in back):
            break
        time.sleep(0.5)
    assert all(r.status_code == 200 for r in back)


def test_cooldown_is_shared_across_processes(cluster: Cluster, fake: FakeUpstream) -> None:
    """A model cooled down by failures seen in one worker is skipped by the others too."""
    fake.add_fault("gpt-4o", Fault.status_code(500), times=3)
    key = cluster.key("plain")
    payload = {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    for _ in range(3):
        httpx.post(
            f"{cluster.urls[0]}/v1/chat/completions",
            json=payload,
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
    # A direct request still tries a cooled model (nothing to fall back to): check the shared flag.
    import redis

    client = redis.Redis(port=cluster.redis_port)
    assert client.exists("sy:cool:fakeai/gpt-4o") == 1

"""Keys created or revoked from the command line reach a running server within 2 s: on the
embedded default (SQLite, no Redis) and on PostgreSQL + Redis.

The server is a real process (`python -m config.serve`, DEBUG off); the changes come from other
processes (`manage.py create_api_key`, and `manage.py shell`, saving the key or writing the
revocation with `QuerySet.update()`, which fires no signal).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.fake_upstream import FakeUpstream
from tests.routing.guards.test_scale_out import PG_ADMIN, ROOT, _wait_port, start_redis

SEEN_WITHIN = 2.0
SETUP = """
from routing.models import ApiKey, Model, Provider
p = Provider.objects.create(slug="fakeai", name="FakeAI", protocol="openai",
                            base_url="{base}", api_key="sk-x")
Model.objects.create(provider=p, model_id="gpt-4o", prices_ref="openai:gpt-4o", price_known=True,
                     input_price=2.5, output_price=10)
"""
CHAT = {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Served:
    url: str
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    def status(self, key: str) -> int:
        headers = {"authorization": f"Bearer {key}"}
        response = httpx.post(f"{self.url}/v1/chat/completions", json=CHAT, headers=headers)
        return response.status_code


def _backend_env(backend: str, var: Path) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(var), "DEBUG": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if backend == "embedded":
        return env, []
    name = f"switchyard_revocation_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    return env, [start_redis(port)]


@pytest.fixture(params=["embedded", "postgres+redis"])
def served(
    request: pytest.FixtureRequest, fake_upstream: FakeUpstream, tmp_path: Path
) -> Iterator[Served]:
    env, processes = _backend_env(request.param, tmp_path)
    served = Served("", env)
    served.manage("migrate", "--noinput")
    served.manage("shell", "-c", SETUP.format(base=fake_upstream.openai_base_url))
    port = free_port()
    cmd = [sys.executable, "-m", "config.serve", "--workers", "1", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    processes.insert(0, server)
    try:
        _wait_port(port, 30)
        served.url = f"http://127.0.0.1:{port}"
        yield served
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        if "DATABASE_URL" in env:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                name = env["DATABASE_URL"].rsplit("/", 1)[1]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seconds_until(served: Served, key: str, status: int) -> float:
    """Seconds from now until a request with `key` answers `status` (polling every 50 ms)."""
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if served.status(key) == status:
            elapsed = time.monotonic() - started
            print(f"{status} after {elapsed:.2f} s")  # shown with -s: the measured delay
            return elapsed
        time.sleep(0.05)
    raise AssertionError(f"still not {status} after 10 s")


def create_key(served: Served, name: str) -> str:
    return served.manage("create_api_key", name).strip().splitlines()[-1]


def test_command_line_changes_reach_a_running_server(
    served: Served, fake: FakeUpstream, tmp_path: Path
) -> None:
    """create_api_key: the new key works within 2 s. Revoked by save() or by update() in
    `manage.py shell`: 401 within 2 s, and no request gets through afterwards. import_routes
    and sync_catalog: live within 2 s."""
    warm = create_key(served, "warm")
    assert seconds_until(served, warm, 200) < 10  # the server has loaded its configuration
    fresh = create_key(served, "fresh")
    assert seconds_until(served, fresh, 200) <= SEEN_WITHIN

    for name, how in [
        ("fresh", "k = ApiKey.objects.get(name='fresh'); k.revoked_at = now(); k.save()"),
        ("warm", "ApiKey.objects.filter(name='warm').update(revoked_at=now())"),
    ]:
        key = fresh if name == "fresh" else warm
        assert served.status(key) == 200
        script = f"from django.utils.timezone import now\nfrom routing.models import ApiKey\n{how}"
        served.manage("shell", "-c", script)
        assert seconds_until(served, key, 401) <= SEEN_WITHIN, how
        calls = len(fake.requests)
        assert [served.status(key) for _ in range(5)] == [401] * 5
        assert len(fake.requests) == calls  # nothing reached the paid upstream

    check_routes_and_catalog(served, create_key(served, "app"), tmp_path)


def check_routes_and_catalog(served: Served, key: str, tmp_path: Path) -> None:
    """A route imported, and the catalog synced, from the command line: live within 2 s."""
    assert seconds_until(served, key, 200) <= SEEN_WITHIN
    routes = tmp_path / "routes.json"
    routes.write_text(
        '{"routes": [{"slug": "cli", "strategy": "fallback", '
        '"targets": [{"model": "fakeai/gpt-4o"}]}]}'
    )
    served.manage("import_routes", str(routes))
    started = time.monotonic()
    body = {**CHAT, "model": "route/cli"}
    headers = {"authorization": f"Bearer {key}"}
    while (
        httpx.post(f"{served.url}/v1/chat/completions", json=body, headers=headers).status_code
        != 200
    ):
        assert time.monotonic() - started <= SEEN_WITHIN
        time.sleep(0.05)

    served.manage("sync_catalog")
    started = time.monotonic()
    while not any(
        m["id"] == "sim/fast"
        for m in httpx.get(f"{served.url}/v1/models", headers=headers).json()["data"]
    ):
        assert time.monotonic() - started <= SEEN_WITHIN
        time.sleep(0.05)

"""PostgreSQL going away mid-run: requests keep being answered or fail clearly, no usage
record that was acknowledged is lost, and service recovers by itself.

The test runs its own PostgreSQL cluster (initdb as the `postgres` user on a free port), so
stopping it never disturbs the machine's database.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.fake_upstream import FakeUpstream
from tests.routing.guards.test_scale_out import SETUP, _manage, _serve, _wait_port

BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])


def as_postgres(program: str, *args: str, check: bool = True) -> None:
    """Run a PostgreSQL program as the `postgres` user (the server refuses to run as root)."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(BIN / program), *args],
        check=check,
        capture_output=True,
        timeout=120,
    )


@dataclass
class Cluster:
    data: Path
    port: int

    def pg_ctl(self, *args: str, check: bool = True) -> None:
        as_postgres("pg_ctl", "-D", str(self.data), "-w", "-t", "30", *args, check=check)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.pg_ctl("-o", options, "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    data = Path(tempfile.mkdtemp(prefix="sy-pg-"))  # pytest's tmp dirs are closed to `postgres`
    shutil.chown(data, "postgres", "postgres")
    as_postgres("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    cluster = Cluster(data, free_port())
    cluster.start()
    yield cluster
    cluster.pg_ctl("-m", "immediate", "stop", check=False)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def server(
    cluster: Cluster, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    var = tmp_path_factory.mktemp("outage")
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "SWITCHYARD_VAR_DIR": str(var),
        "DEBUG": "0",
        "SWITCHYARD_MAX_RETRIES": "0",
        "SWITCHYARD_USAGE_FLUSH_SECONDS": "0.05",
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("REDIS_URL", None)
    _manage(env, "migrate", "--noinput")
    keys = {"plain": {}, "budget": {"budget_usd": Decimal("5")}}
    script = SETUP.format(base=fake_upstream.openai_base_url, keys=repr(keys), var=var)
    _manage(env, "shell", "-c", script.replace("Decimal(", "__import__('decimal').Decimal("))
    url, process = _serve(env)
    _wait_port(int(url.rsplit(":", 1)[1]))
    yield url, var
    process.terminate()
    process.wait(10)


async def burst(url: str, key: str, n: int) -> list[httpx.Response]:
    payload = {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=30) as http:
        calls = [
            http.post(
                f"{url}/v1/chat/completions",
                json=payload,
                headers={"authorization": f"Bearer {key}"},
            )
            for _ in range(n)
        ]
        return await asyncio.gather(*calls)


def count_records(cluster: Cluster) -> int:
    with psycopg.connect(cluster.url) as conn:
        return conn.execute("SELECT count(*) FROM routing_usagerecord").fetchone()[0]  # type: ignore[index]


def test_postgres_outage_loses_nothing_and_recovers(
    cluster: Cluster, server: tuple[str, Path], fake: FakeUpstream
) -> None:
    """Answers go on while PostgreSQL is down; their usage records are written once it is back."""
    url, var = server
    plain, budgeted = (var / "plain.key").read_text(), (var / "budget.key").read_text()
    assert all(r.status_code == 200 for r in asyncio.run(burst(url, plain, 5)))
    cluster.stop()
    started = time.monotonic()
    during = asyncio.run(burst(url, plain, 8))
    assert all(r.status_code == 200 for r in during), [r.text for r in during]
    refused = asyncio.run(burst(url, budgeted, 2))  # its month's spend cannot be read now
    assert {r.status_code for r in refused} == {503}
    assert all(r.json()["error"]["type"] == "service_unavailable" for r in refused)
    assert time.monotonic() - started < 20
    cluster.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and count_records(cluster) < 15:
        time.sleep(0.5)
    assert count_records(cluster) == 15  # 5 before, 8 during, 2 refused: every one recorded
    assert all(r.status_code == 200 for r in asyncio.run(burst(url, budgeted, 2)))

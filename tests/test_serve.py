"""`python -m config.serve`: N real worker processes, each with its own SO_REUSEPORT socket;
connections are dealt across them, a dead worker is replaced, SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def workers_of(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]


def sockets_of(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def wait_serving(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(tmp_path), "DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    cmd = [sys.executable, "-m", "config.serve", "--workers", "2", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while len(workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_serving(f"http://127.0.0.1:{port}/metrics")
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_connections_are_dealt_across_the_workers(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = served
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    for pid in workers:  # every worker answers before the count starts
        deadline = time.monotonic() + 30
        while not sockets_of(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    time.sleep(0.5)  # the connections of the readiness checks are closed by now
    before = {pid: len(sockets_of(pid)) for pid in workers}
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
    try:
        time.sleep(0.5)  # the workers accept
        gained = {pid: len(sockets_of(pid)) - before[pid] for pid in workers}
        assert sum(gained.values()) >= 20, gained  # (a worker may close an old socket meanwhile)
        assert all(count >= 3 for count in gained.values()), gained  # all on one: p = 1e-7
    finally:
        for client in clients:
            client.close()


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = served
    first, second = workers_of(proc.pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = workers_of(proc.pid)
        if len(now) == 2 and first not in now:
            break
        time.sleep(0.05)
    assert len(workers_of(proc.pid)) == 2 and first not in workers_of(proc.pid)
    for _ in range(10):  # whichever socket a connection lands on, it is answered
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200

    workers = workers_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()

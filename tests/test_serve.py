"""`python -m config.serve`: N real worker processes, each with its own SO_REUSEPORT socket;
connections are dealt across them, a dead worker is replaced, SIGTERM stops them all."""

from __future__ import annotations

import os
import select
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


HARDENED = {"SWITCHYARD_HEADER_TIMEOUT": "3", "SWITCHYARD_MAX_HEADER_BYTES": "16384"}


def _serve_command(kind: str, port: int, var: Path) -> list[str]:
    if kind == "config.serve":
        return [sys.executable, "-m", "config.serve", "--workers", "2", "--port", str(port)]
    venv = Path(sys.executable).parent.parent
    return [
        "make",
        "run",
        "-o",
        f"{venv}/.installed",
        "-o",
        f"{venv}/.serve-installed",
        f"VENV={venv}",
        f"PORT={port}",
    ]


@pytest.fixture(params=["config.serve", "make run"])
def hardened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A server from one of the shipped serve commands, DEBUG off, a short header timeout,
    and a connection cap of 1,500 per worker (two workers for config.serve, one for make run)."""
    port = free_port()
    cap = "1500" if request.param == "config.serve" else "2500"
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(tmp_path), "DEBUG": "0", **HARDENED}
    env["SWITCHYARD_MAX_CONNECTIONS"] = cap
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if request.param == "config.serve":
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
    cmd = _serve_command(request.param, port, tmp_path)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_serving(f"http://127.0.0.1:{port}/metrics", timeout=120)
        yield request.param, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _open(port: int, n: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]


def _closed_by_server(sock: socket.socket) -> bytes | None:
    """What the server sent before closing (b"" for a silent close), None if still open."""
    sock.settimeout(0.5)
    try:
        data = sock.recv(256)
    except TimeoutError:
        return None
    except ConnectionResetError:
        return b""
    return data


def test_other_clients_are_served_while_2000_idle_connections_are_held(
    hardened: tuple[str, int],
) -> None:
    """2,000 connections that never send a byte: other clients are still answered at once; the
    idle ones are closed after the header timeout; a bad Host (on /v1 too) gets 400 and an
    oversized head 431; connections beyond the cap are answered 503 and closed."""
    kind, port = hardened
    base = f"http://127.0.0.1:{port}"
    idle = _open(port, 2000)
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            started = time.monotonic()
            statuses = [http.get("/metrics").status_code for _ in range(20)]
            assert statuses == [200] * 20 and time.monotonic() - started < 5, kind
            assert http.get("/v1/models", headers={"host": "evil.example"}).status_code == 400
            assert http.get("/metrics", headers={"host": "evil.example"}).status_code == 400
            assert http.get("/metrics", headers={"x-big": "a" * 20000}).status_code == 431
        extra = _open(port, 1200)
        time.sleep(0.3)
        poller = select.poll()  # select() cannot take descriptors above 1023
        for sock in extra:
            poller.register(sock, select.POLLIN)
        ready = {fd for fd, _ in poller.poll(500)}  # well within the header timeout
        refused = [sock.recv(256) for sock in extra if sock.fileno() in ready]
        assert len(refused) >= 100 and all(b" 503 " in data for data in refused), refused[:3]
        for sock in extra:
            sock.close()
        time.sleep(3.5)  # the header timeout
        closed = [_closed_by_server(sock) for sock in idle[:200]]
        assert closed == [b""] * 200
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()

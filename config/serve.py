"""Serve Switchyard with N uvicorn worker processes that share the load evenly.

    python -m config.serve --workers 4 [--host 127.0.0.1] [--port 8000]

`make run` serves with config.devserver, with the same limits. `uvicorn --workers N` gives every worker the same listening socket, and whichever worker
wakes first accepts every connection waiting: a burst of keep-alive clients can land on
one worker while the others idle (with 32 clients on 2 workers, one run in three put all
of them on one worker and served no more than a single worker). Here each worker gets its
own socket bound to the same address with SO_REUSEPORT, so the kernel deals new
connections across the workers. The parent only holds the sockets: it restarts a worker
that dies (its socket keeps queueing connections meanwhile) and stops them all on SIGINT
or SIGTERM. Workers run uvicorn with the limits of config/hardening.py (header timeout,
header size, connection cap). Linux (and other systems with SO_REUSEPORT) only.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

APP = "config.asgi:application"


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(fd: int) -> None:
    """One worker: uvicorn on the inherited socket with the limits of config/hardening.py."""
    import uvicorn

    from config.hardening import uvicorn_options

    raise_fd_limit()
    sock = socket.socket(fileno=fd)  # family and type read from the descriptor
    config = uvicorn.Config(APP, **uvicorn_options())
    uvicorn.Server(config).run(sockets=[sock])


def raise_fd_limit() -> None:
    """Open files up to the hard limit: the connection cap, not the descriptor limit, is
    what refuses clients."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def spawn(sock: socket.socket) -> subprocess.Popen[bytes]:
    fd = sock.fileno()
    cmd = [sys.executable, "-m", "config.serve", "--worker-fd", str(fd)]
    return subprocess.Popen(cmd, pass_fds=(fd,))


def supervise(host: str, port: int, workers: int) -> int:
    sockets = [listening_socket(host, port) for _ in range(workers)]
    procs = [spawn(sock) for sock in sockets]
    print(f"Switchyard: {workers} workers on http://{host}:{port}/", flush=True)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(0.2)
        for index, proc in enumerate(procs):
            if proc.poll() is not None and not stopping:
                print(f"worker {proc.pid} exited ({proc.returncode}); restarting", flush=True)
                procs[index] = spawn(sockets[index])
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WORKERS", os.cpu_count() or 1))
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_fd is not None:
        run_worker(args.worker_fd)
        return 0
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return supervise(args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())

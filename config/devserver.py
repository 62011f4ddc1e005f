"""`make run`'s server: uvicorn plus the batch worker, a banner once it listens, a clean stop.

    python -m config.devserver [--host 127.0.0.1] [--port 8000]

A shell recipe printed its banner before uvicorn had bound the port, and a Ctrl+C ended in
`make: *** Error 143` (the worker killed by the recipe's trap). Here the banner is printed by
uvicorn's own start-up hook, once the socket listens; SIGINT/SIGTERM stop uvicorn and the
worker and the process exits 0, so `make` stays quiet. It serves with the limits of
config/hardening.py (header timeout, header size, connection cap), as config.serve does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

APP = "config.asgi:application"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def banner(host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    return (
        f"\nSwitchyard is ready on {base}/  (OpenAI base_url: {base}/v1)\n"
        f"  playground {base}/playground/ · no key needed for route/demo and sim/* models\n"
        f"  request log lines: {os.environ.get('REQUEST_LOG') or 'stderr'} · Ctrl+C stops\n"
    )


class ReadyServer(uvicorn.Server):
    """A uvicorn server that says so when it is ready (after the socket is bound), and that
    ends normally on SIGINT/SIGTERM (uvicorn re-raises the signal after its shutdown, which
    makes `make` report the recipe as failed)."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(banner(self.config.host, self.config.port), flush=True)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def start_worker() -> subprocess.Popen[bytes]:
    """The batch worker, in its own process group so the terminal's Ctrl+C reaches it only
    through us (we stop it after the server, and wait for it)."""
    cmd = [sys.executable, "manage.py", "batch", "worker"]
    return subprocess.Popen(cmd, start_new_session=True)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@contextlib.contextmanager
def terminal_foreground() -> Iterator[None]:
    """Take the terminal's foreground, as a shell does for a job, so that Ctrl+C reaches this
    process and not `make` (which would print `*** [run] Interrupt` however cleanly we stop);
    give it back on the way out. A no-op without a terminal."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
        parent_group = os.tcgetpgrp(tty)
    except OSError:
        yield
        return
    ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # allowed to change the foreground
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(tty, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, parent_group)
        signal.signal(signal.SIGTTOU, ttou)
        os.close(tty)


def serve(host: str, port: int, with_worker: bool = True) -> int:
    from config.hardening import uvicorn_options
    from config.serve import raise_fd_limit

    raise_fd_limit()
    config = uvicorn.Config(APP, host=host, port=port, log_level="warning", **uvicorn_options())
    server = ReadyServer(config)
    worker = start_worker() if with_worker else None
    try:
        server.run()
    finally:
        if worker is not None:
            stop_worker(worker)
    print("Switchyard stopped.", flush=True)
    return 0 if server.started else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the batch worker")
    args = parser.parse_args(argv)
    with terminal_foreground():
        return serve(args.host, args.port, with_worker=not args.no_worker)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m config.devserver` (what `make run` serves with): the banner only once the port
answers, a Ctrl+C (SIGINT) stop that exits 0 with the batch worker stopped too, and the
per-request log lines in REQUEST_LOG's file instead of the terminal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from config.request_log import request_log_config
from routing.transport.logs import BackgroundFileHandler, JsonFormatter
from tests.conftest import free_port
from tests.test_serve import ROOT, workers_of


def test_banner_after_listening_and_a_clean_interrupt(tmp_path: Path) -> None:
    """When the banner is printed the page answers at once; SIGINT ends with exit code 0, the
    worker process gone and no traceback."""
    port = free_port()
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(tmp_path), "DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    cmd = [sys.executable, "-m", "config.devserver", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Switchyard is ready on" in line:
                break
        assert f"Switchyard is ready on http://127.0.0.1:{port}/" in lines[-1], lines
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
        deadline = time.monotonic() + 20
        while not workers_of(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = workers_of(proc.pid)[0]
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "Switchyard stopped." in rest and "Traceback" not in rest
    assert not Path(f"/proc/{worker}").exists()  # the worker was stopped and reaped


def test_request_log_setting() -> None:
    """REQUEST_LOG: empty or stderr keeps the default, off drops the lines, a path gets a file."""
    assert request_log_config("", "json") == ({}, {})
    assert request_log_config("stderr", "json") == ({}, {})
    assert request_log_config("off", "json") == ({}, {"level": "WARNING"})
    handlers, logger = request_log_config("var/requests.log", "json")
    assert handlers["requests"]["filename"] == "var/requests.log"
    assert logger == {"handlers": ["requests"], "propagate": False}


def test_file_handler_writes_json_lines(tmp_path: Path) -> None:
    """The file handler appends one JSON object per record, off the caller's thread."""
    target = tmp_path / "requests.log"
    handler = BackgroundFileHandler(str(target))
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.devserver.requests")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("request", extra={"fields": {"request_id": "req_1"}})
        handler.flush()
    finally:
        log.removeHandler(handler)
        handler.close()
    line = json.loads(target.read_text().splitlines()[0])
    assert line["request_id"] == "req_1" and line["message"] == "request"

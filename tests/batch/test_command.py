"""`manage.py batch run` as users run it: a real process, Ctrl+C, the same command again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.batch.conftest import by_id, read_out, request_line, write_jsonl
from tests.conftest import FAKE_SECRET
from tests.fake_upstream import FakeUpstream, Fault

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
SEED = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
from routing.models import Model, Provider
p = Provider.objects.create(slug="fakeai", name="FakeAI", protocol="openai",
    base_url="{url}", api_key="{key}")
Model.objects.create(provider=p, model_id="gpt-4o", prices_ref="openai:gpt-4o",
    price_known=True, input_price=2.5, output_price=10)
"""


@pytest.fixture(scope="module")
def project_env(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream
) -> Iterator[dict[str, str]]:
    """A database of its own (the subprocess cannot see the test database), seeded once."""
    var = tmp_path_factory.mktemp("var")
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(var)}
    env["DATABASE_URL"] = f"sqlite:///{var / 'db.sqlite3'}"
    env.pop("REDIS_URL", None)
    manage(env, "shell", "-c", SEED.format(url=fake_upstream.openai_base_url, key=FAKE_SECRET))
    yield env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, MANAGE, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def start_batch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, MANAGE, "batch", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(path: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} lines in {path}")


def test_ctrl_c_then_rerun_resumes(tmp_path: Path, project_env: dict, fake: FakeUpstream) -> None:
    """SIGINT stops cleanly (exit 130, whole lines); the same command again finishes the rest."""
    fake.add_fault("gpt-4o", Fault.slow(0.15), times=100)
    src = write_jsonl(
        tmp_path / "in.jsonl", [request_line(f"r{i}", f"prompt {i}") for i in range(30)]
    )
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    args = [str(src), "--output", str(out), "--model", "fakeai/gpt-4o", "--concurrency", "3"]
    proc = start_batch(project_env, *args)
    wait_for_lines(out, 4)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    first = by_id(read_out(out))
    assert 4 <= len(first) < 30
    assert "Stopping" in stdout and "not run" in stdout
    sent = len(fake.requests)
    rerun = start_batch(project_env, *args, "--summary", str(summary))
    stdout, stderr = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, stderr
    lines = by_id(read_out(out))
    assert set(lines) == {f"r{i}" for i in range(30)}
    assert len(fake.requests) - sent == 30 - len(first)
    data = json.loads(summary.read_text())
    assert data["succeeded"] == 30 and data["resumed_from_output"] == len(first)
    assert data["cost_usd"] > 0 and "fakeai/gpt-4o" in data["per_model"]


def test_refuses_a_file_that_is_not_a_batch(tmp_path: Path) -> None:
    """A binary file is refused with a clear message before anything runs."""
    src = tmp_path / "photo.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    out = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match="binary file, not a batch"):
        call_command("batch", "run", str(src), "--output", str(out), "--model", "fakeai/gpt-4o")
    assert not out.exists()


def test_text_input_needs_a_model(tmp_path: Path) -> None:
    """Plain text lines name no model: the command asks for --model or --route."""
    src = tmp_path / "prompts.txt"
    src.write_text("one\ntwo\n")
    with pytest.raises(CommandError, match="--model or --route"):
        call_command("batch", "run", str(src), "--output", str(tmp_path / "out.jsonl"))


def test_budget_with_model_is_refused(tmp_path: Path) -> None:
    """--budget-per-request lets the budget route pick, so --model cannot go with it."""
    src = write_jsonl(tmp_path / "in.jsonl", [request_line("a", "hi")])
    with pytest.raises(CommandError, match="use --route"):
        call_command(
            "batch", "run", str(src), "-o", str(tmp_path / "o.jsonl"),
            "--model", "fakeai/gpt-4o", "--budget-per-request", "0.01",
        )  # fmt: skip

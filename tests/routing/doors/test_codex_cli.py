"""Codex CLI (`@openai/codex` from the npm registry) runs `codex exec` through Switchyard with
a throwaway HOME and ~/.codex/config.toml: to an upstream serving the Responses API, and
through a route to a chat-only upstream (translation). Every turn leaves a usage record."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from routing.models import Route, RouteTarget
from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers", "native_provider")
ROOT = Path(__file__).resolve().parents[3]
PREFIX = ROOT / ".ci" / "node"  # where .ci/run installs it


@pytest.fixture(scope="session")
def codex() -> Path:
    """The codex binary; installed from the npm registry when .ci/run has not done it."""
    binary = PREFIX / "node_modules" / ".bin" / "codex"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install @openai/codex"
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(PREFIX),
                "@openai/codex@0.171.0",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    assert binary.exists()
    return binary


def configure(home: Path, base_url: str, model: str, web_search: bool = True) -> None:
    """A model provider for Switchyard; a chat-only route cannot run the hosted web search
    (Switchyard refuses it, naming the tool), so that config turns it off."""
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(
        ("" if web_search else 'web_search = "disabled"\n') + f'model = "{model}"\n'
        'model_provider = "switchyard"\n'
        "[model_providers.switchyard]\n"
        'name = "Switchyard"\n'
        f'base_url = "{base_url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "SWITCHYARD_API_KEY"\n'
    )


def run_codex(codex: Path, home: Path, api_key: str, prompt: str) -> subprocess.CompletedProcess:
    work = home / "work"
    work.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "SWITCHYARD_API_KEY": api_key,
        "CODEX_HOME": str(home / ".codex"),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(codex), "exec", "--skip-git-repo-check", prompt],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("model", ["fakeresp/gpt-4o", "route/codex-chat"])
def test_codex_exec(
    codex: Path,
    tmp_path: Path,
    live_app: LiveServer,
    api_key: str,
    fake: FakeUpstream,
    model: str,
) -> None:
    """codex exec prints the upstream's answer; the turn is recorded with tokens and cost."""
    route = Route.objects.create(slug="codex-chat", strategy="fallback")
    RouteTarget.objects.create(route=route, model="fakeai/gpt-4o")
    configure(tmp_path, live_app.url, model, web_search=not model.startswith("route/"))
    done = run_codex(codex, tmp_path, api_key, "Say hello to Switchyard")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Hello from gpt-4o" in done.stdout, done.stdout + done.stderr
    upstream = "/responses" if model.startswith("fakeresp") else "/chat/completions"
    assert any(r.path.endswith(upstream) for r in fake.requests)
    records.writer.flush(10)
    rows = UsageRecord.objects.filter(protocol="responses", status="ok")
    assert rows.exists()
    assert all(r.input_tokens > 0 and r.output_tokens > 0 and r.cost_usd for r in rows)
    if model.startswith("route/"):
        assert all(r.route == "codex-chat" for r in rows)

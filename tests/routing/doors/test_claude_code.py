"""Claude Code itself (`claude -p`, from npm) through the gateway: to the fake Anthropic
upstream (answer, tools and system blocks intact, usage record) and through a route to the
fake OpenAI-compatible upstream. .ci/claude-code.sh installs it (CI runs it first; the
fixture runs it too when it is missing), so this never skips."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from routing.models import Route, RouteTarget
from tests.conftest import FAKE_SECRET, LiveServer
from tests.fake_upstream import FakeUpstream, Recorded
from tests.routing.conftest import last_record
from tests.routing.doors.anthropic_helpers import NATIVE, UPSTREAM_ID

pytestmark = pytest.mark.usefixtures("providers")
ROOT = Path(__file__).resolve().parents[3]
PROMPT = "Reply with the word ready."


@pytest.fixture(scope="session")
def claude_code() -> str:
    """The launcher of the pinned Claude Code, installed by .ci/claude-code.sh if missing."""
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "claude-code.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A throwaway HOME (Claude Code writes its settings and session there) and work dir."""
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    yield tmp_path


def run_claude(launcher: str, home: Path, base_url: str, model: str, auth: dict[str, str]) -> str:
    """One non-interactive `claude -p` session; returns what it printed."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home / "home"),
        "ANTHROPIC_BASE_URL": base_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        **auth,
    }
    done = subprocess.run(
        ["node", launcher, "-p", PROMPT, "--model", model, "--output-format", "text"],
        cwd=home / "work",
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"stdout: {done.stdout}\nstderr: {done.stderr}"
    return done.stdout


def main_request(fake: FakeUpstream, path: str) -> Recorded:
    """The session's turn: the request that carried the prompt and the tools."""
    turns = [r for r in fake.requests if r.path == path and r.body.get("tools")]
    assert turns, [(r.path, r.body.get("model")) for r in fake.requests]
    return turns[-1]


def test_claude_code_through_the_gateway_to_anthropic(
    claude_code: str, home: Path, live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """The answer is printed; the tools and system blocks Claude Code sends reach Anthropic
    exactly as Claude Code sends them straight to Anthropic; a usage record of the door."""
    fake.set_reply(UPSTREAM_ID, "READY-7731 from the fake Anthropic")
    direct = run_claude(
        claude_code, home, fake.anthropic_base_url, UPSTREAM_ID, {"ANTHROPIC_API_KEY": FAKE_SECRET}
    )
    assert "READY-7731" in direct
    straight = main_request(fake, "/anthropic/v1/messages").body
    fake.requests.clear()
    printed = run_claude(claude_code, home, live_app.url, NATIVE, {"ANTHROPIC_AUTH_TOKEN": api_key})
    assert "READY-7731 from the fake Anthropic" in printed
    relayed = main_request(fake, "/anthropic/v1/messages").body
    assert relayed["model"] == UPSTREAM_ID
    assert len(relayed["tools"]) > 3 and {"Bash", "Read"} <= {t["name"] for t in relayed["tools"]}
    assert relayed["tools"] == straight["tools"]
    assert isinstance(relayed["system"], list) and relayed["system"]
    assert _system_texts(relayed) == _system_texts(straight)
    assert [b.get("cache_control") for b in relayed["system"]] == [
        b.get("cache_control") for b in straight["system"]
    ]
    record = last_record()
    assert record.protocol == "messages" and record.model == NATIVE and record.status == "ok"
    assert record.input_tokens > 0 and record.output_tokens > 0
    assert record.cost_usd is not None and record.cost_usd > 0


def _system_texts(body: dict[str, Any]) -> list[str]:
    return [block["text"] for block in body["system"]]


def test_claude_code_through_a_route_to_an_openai_compatible_model(
    claude_code: str, home: Path, live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """`--model route/<slug>` sends Claude Code's session to a cheaper OpenAI-compatible
    model: translated both ways, tools included, recorded with the route."""
    route = Route.objects.create(slug="claude-cheap", strategy="fallback")
    RouteTarget.objects.create(route=route, model="fakeai/deepseek-chat")
    fake.set_reply("deepseek-chat", "READY-4242 from the fake DeepSeek")
    printed = run_claude(
        claude_code, home, live_app.url, "route/claude-cheap", {"ANTHROPIC_API_KEY": api_key}
    )
    assert "READY-4242 from the fake DeepSeek" in printed
    sent = main_request(fake, "/openai/v1/chat/completions").body
    assert sent["model"] == "deepseek-chat" and sent["stream"] is True
    names = {t["function"]["name"] for t in sent["tools"]}
    assert {"Bash", "Read"} <= names
    assert sent["messages"][0]["role"] == "system"
    record = last_record()
    assert record.protocol == "messages" and record.route == "claude-cheap"
    assert record.model == "fakeai/deepseek-chat" and record.status == "ok"
    assert record.input_tokens > 0 and record.cost_usd is not None

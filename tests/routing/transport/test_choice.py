"""SWITCHYARD_UPSTREAM_CLIENT picks the implementation behind routing/transport/upstream.py,
for the gateway's own calls end to end, and a wrong name fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys

import openai
import pytest
from django.core.exceptions import ImproperlyConfigured

from routing.transport import fast, httpx_client, upstream
from tests.fake_upstream import FakeUpstream


@pytest.mark.parametrize(
    ("name", "kind"), [("fast", fast.FastClient), ("httpx", httpx_client.HttpxClient)]
)
def test_the_setting_names_the_client(name: str, kind: type, settings: object) -> None:
    settings.SWITCHYARD_UPSTREAM_CLIENT = name  # type: ignore[attr-defined]
    assert isinstance(upstream.client(), kind)
    assert upstream.client() is upstream.implementation(name)  # built once


def test_an_unknown_client_fails_loudly(settings: object) -> None:
    settings.SWITCHYARD_UPSTREAM_CLIENT = "curl"  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured, match="'curl'.*fast, httpx"):
        upstream.client()
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "SWITCHYARD_UPSTREAM_CLIENT": "curl"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SWITCHYARD_UPSTREAM_CLIENT='curl': use 'fast' or 'httpx'." in result.stderr


@pytest.mark.parametrize("name", sorted(upstream.IMPLEMENTATIONS))
def test_chat_through_each_client(
    name: str,
    settings: object,
    client: openai.OpenAI,
    providers: object,
    fake: FakeUpstream,
) -> None:
    """The gateway's calls, plain and streamed, to both wire protocols go through the
    client the setting names."""
    settings.SWITCHYARD_UPSTREAM_CLIENT = name  # type: ignore[attr-defined]
    for model in ("fakeai/gpt-4o", "fakeanthropic/claude-3-5-sonnet-20241022"):
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.model == model and answer.choices[0].message.content
        chunks = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text
    agents = [r.headers.get("user-agent") for r in fake.requests]
    assert len(agents) == 4 and set(agents) == {"switchyard/0.1"}
    # the fingerprint of the client that sent them: httpx adds `accept: */*`, fast does not
    assert {r.headers.get("accept") for r in fake.requests} == (
        {"*/*"} if name == "httpx" else {None}
    )

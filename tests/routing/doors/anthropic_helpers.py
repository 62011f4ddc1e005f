"""Shared by the Anthropic door's tests: the real SDK pointed at Switchyard, raw SSE parsing."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from tests.conftest import LiveServer

NATIVE = "fakeanthropic/claude-3-5-sonnet-20241022"  # on the fake's Anthropic wire
UPSTREAM_ID = "claude-3-5-sonnet-20241022"  # the id the fake receives
OPENAI_MODEL = "fakeai/gpt-4o"  # on the fake's OpenAI wire


@pytest.fixture
def claude(live_app: LiveServer, api_key: str) -> anthropic.Anthropic:
    """The real Anthropic SDK pointed at Switchyard (key in x-api-key, as the SDK sends it)."""
    return anthropic.Anthropic(base_url=live_app.url, api_key=api_key, max_retries=0, timeout=30)


def parse_sse(raw: bytes | str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of an SSE body."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "", ""
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if data:
            out.append((name, json.loads(data)))
    return out


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]

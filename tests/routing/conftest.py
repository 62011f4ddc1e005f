"""Helpers shared by the routing tests: usage records, raw HTTP to the app, error envelopes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from routing.transport import records
from tests.conftest import FAKE_SECRET, LiveServer
from usage.models import UsageRecord

ENVELOPE_KEYS = {"message", "type", "code", "param"}


def last_record(request_id: str | None = None, timeout: float = 5.0) -> UsageRecord:
    """The newest usage record (or the one of `request_id`), waiting for the writer."""
    deadline = time.monotonic() + timeout
    while True:
        records.writer.flush(timeout)
        rows = UsageRecord.objects.order_by("-id")
        if request_id is not None:
            rows = rows.filter(request_id=request_id)
        found = rows.first()
        if found is not None or time.monotonic() > deadline:
            assert found is not None, "no usage record was written"
            return found
        time.sleep(0.02)


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """An OpenAI-style JSON error envelope with `status` (and `code`), never HTML."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert set(error) >= ENVELOPE_KEYS, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_no_secret(response: httpx.Response, text: str | None = None) -> None:
    """The provider's secret appears in neither the body nor any header."""
    body = response.text if text is None else text
    assert FAKE_SECRET not in body
    assert all(FAKE_SECRET not in f"{k}: {v}" for k, v in response.headers.items())


@pytest.fixture
def http(live_app: LiveServer, api_key: str) -> Iterator[httpx.Client]:
    """Plain HTTP to the app with a valid key, for what the SDK would hide."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=live_app.url, headers=headers, timeout=30) as client:
        yield client


def sse_events(text: str) -> list[dict[str, Any] | str]:
    """The `data:` payloads of an SSE body, JSON-decoded except for `[DONE]`."""
    import json

    out: list[dict[str, Any] | str] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out

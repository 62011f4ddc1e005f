"""A route whose every target lacks its provider key: one non-retryable error, its own bucket."""

from __future__ import annotations

import openai
import pytest
from django.utils import timezone

from routing.models import Model, Provider
from routing.transport import records
from tests.conftest import LiveServer
from tests.routing.engine.test_routes_e2e import make_route
from usage import reports
from usage.models import UsageRecord
from usage.reports import DateRange

pytestmark = pytest.mark.usefixtures("providers")
USER = [{"role": "user", "content": "hello"}]


@pytest.fixture
def keyless_route(monkeypatch: pytest.MonkeyPatch) -> str:
    """Route 'nokeys' over two models of a provider that needs a key and has none."""
    monkeypatch.delenv("KEYLESS_API_KEY", raising=False)
    provider = Provider.objects.create(
        slug="keyless", name="Keyless", protocol="openai", base_url="http://127.0.0.1:9/v1"
    )
    for name in ("m1", "m2"):
        Model.objects.create(provider=provider, model_id=name, prices_ref="openai:gpt-4o")
    make_route("nokeys", "fallback", {"model": "keyless/m1"}, {"model": "keyless/m2"})
    return "route/nokeys"


def sdk(live_app: LiveServer, api_key: str) -> openai.OpenAI:
    """The SDK with its default retry policy (it retries 408, 409, 429 and 5xx twice)."""
    return openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=api_key, max_retries=2)


@pytest.mark.parametrize("stream", [False, True])
def test_unconfigured_route_is_one_non_retryable_error(
    live_app: LiveServer, api_key: str, keyless_route: str, stream: bool
) -> None:
    """400 route_not_configured naming the env var; the SDK does not retry it: one record."""
    with pytest.raises(openai.BadRequestError) as info:
        sdk(live_app, api_key).chat.completions.create(
            model=keyless_route, messages=USER, stream=stream
        )
    assert info.value.code == "route_not_configured"
    assert "KEYLESS_API_KEY" in info.value.message
    assert info.value.response.headers["x-should-retry"] == "false"
    records.writer.flush(10)
    rows = list(UsageRecord.objects.all())
    assert len(rows) == 1
    assert rows[0].error_type == "not_configured"
    assert [a["outcome"] for a in rows[0].attempts] == ["not_configured", "not_configured"]


def test_dashboard_counts_not_configured_apart_from_fallbacks(
    live_app: LiveServer, api_key: str, keyless_route: str
) -> None:
    """The dashboard's totals: a not-configured bucket, and neither a fallback nor upstream."""
    client = sdk(live_app, api_key)
    for _ in range(2):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=keyless_route, messages=USER)
    client.chat.completions.create(model="fakeai/gpt-4o", messages=USER)
    records.writer.flush(10)
    totals = reports.totals(reports.records(DateRange.last(1, timezone.localdate())))
    assert (totals.requests, totals.errors, totals.not_configured) == (3, 2, 2)
    assert (totals.fallbacks, totals.upstream_requests) == (0, 1)

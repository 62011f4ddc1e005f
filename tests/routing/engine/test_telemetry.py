"""Request ids, Prometheus metrics and structured logs."""

from __future__ import annotations

import io
import json
import logging
import time
from decimal import Decimal

import httpx
import openai
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncRequestFactory

from routing.doors.middleware import RequestIdMiddleware
from routing.engine import telemetry
from routing.transport import records
from routing.transport.logs import BackgroundStreamHandler, JsonFormatter
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream, Fault
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


def test_request_id_header_matches_usage_record(client: openai.OpenAI) -> None:
    """x-request-id goes back to the client and names the usage record."""
    raw = client.chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    records.writer.flush(10)
    assert UsageRecord.objects.get(request_id=raw.headers["x-request-id"]).model == "fakeai/gpt-4o"


def test_each_request_logs_one_line_with_its_fields(
    client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """One `switchyard.requests` line per request, emitted off the event loop, carrying the
    request id, outcome, model, tokens and cost of its usage record."""
    caplog.set_level(logging.INFO, logger="switchyard.requests")
    raw = client.chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    telemetry.request_log.flush()
    request_id = raw.headers["x-request-id"]
    lines = [
        r.fields  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "switchyard.requests" and r.fields["request_id"] == request_id  # type: ignore[attr-defined]
    ]
    assert len(lines) == 1
    line = lines[0]
    assert line["status"] == "ok" and line["http_status"] == 200
    assert line["model"] == "fakeai/gpt-4o" and line["attempts"] == 1
    cost = Decimal(line["cost_usd"]).quantize(Decimal("1e-8"))
    assert line["input_tokens"] > 0 and cost == Decimal(raw.headers["x-switchyard-cost-usd"])


def test_incoming_request_id_is_kept(live_app: LiveServer, api_key: str) -> None:
    """A caller's own x-request-id is echoed and used for the record."""
    response = httpx.post(
        f"{live_app.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {api_key}", "x-request-id": "trace-42"},
        json={"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.headers["x-request-id"] == "trace-42"
    records.writer.flush(10)
    assert UsageRecord.objects.filter(request_id="trace-42").exists()


def test_metrics_count_requests_errors_and_fallbacks(
    client: openai.OpenAI, live_app: LiveServer, fake: FakeUpstream
) -> None:
    """/metrics exposes requests, latency, tokens, cost and upstream errors by label."""
    client.chat.completions.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "a"}]
    )
    fake.add_fault("gpt-4o-mini", Fault.status_code(500), times=2)
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model="fakeai/gpt-4o-mini", messages=[{"role": "user", "content": "b"}]
        )
    text = httpx.get(f"{live_app.url}/metrics").text
    assert (
        'switchyard_requests_total{model="fakeai/gpt-4o",provider="fakeai",route="",source="api",status="ok"}'
        in text
    )
    assert "switchyard_request_latency_seconds_bucket" in text and "switchyard_ttft_seconds" in text
    assert 'switchyard_upstream_errors_total{kind="server",model="fakeai/gpt-4o-mini"}' in text
    assert 'switchyard_cost_usd_total{model="fakeai/gpt-4o"' in text


def test_json_log_line_carries_request_fields() -> None:
    """The JSON formatter writes one object with the request's fields."""
    record = logging.LogRecord(
        "switchyard.requests", logging.INFO, __file__, 1, "request", None, None
    )
    record.fields = {"request_id": "req_1", "cost_usd": "0.1"}  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(record))
    assert (
        line["request_id"] == "req_1" and line["message"] == "request" and line["level"] == "info"
    )


def test_log_lines_are_written_in_the_background_in_order() -> None:
    """The console handler's emit() writes nothing itself; the background writer writes the
    lines, in order, after its interval or when `soon` lines wait; flush() writes at once."""
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream, interval=0.3, soon=50)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("switchyard.test-background")
    log.propagate, log.level = False, logging.INFO
    log.addHandler(handler)
    try:
        for i in range(3):
            log.info("line", extra={"fields": {"n": i}})
        assert stream.getvalue() == ""  # nothing written on the caller's path
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [json.loads(x)["n"] for x in stream.getvalue().splitlines()] == [0, 1, 2]

        for i in range(3, 53):  # `soon` lines waiting: written before the interval ends
            log.info("line", extra={"fields": {"n": i}})
        time.sleep(0.15)
        assert stream.getvalue().count("\n") >= 50
        log.info("last", extra={"fields": {"n": 53}})
        handler.flush()
        assert [json.loads(x)["n"] for x in stream.getvalue().splitlines()] == list(range(54))
    finally:
        log.removeHandler(handler)


async def test_request_id_middleware_async() -> None:
    """The middleware works in async mode and sets the header."""

    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.request_id)  # type: ignore[attr-defined]

    middleware = RequestIdMiddleware(view)
    response = await middleware(AsyncRequestFactory().get("/", headers={"x-request-id": "abc"}))
    assert response["x-request-id"] == "abc" and response.content == b"abc"
    fresh = await middleware(AsyncRequestFactory().get("/", headers={"x-request-id": "bad id!"}))
    assert fresh["x-request-id"].startswith("req_")

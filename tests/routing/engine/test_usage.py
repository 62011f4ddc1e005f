"""Usage records and cost headers: every request leaves a row, a disconnect included."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import openai
import pytest

from routing.transport import records
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream
from tests.routing.conftest import last_record
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")

USER = [{"role": "user", "content": "count slowly"}]
LONG_REPLY = " ".join(f"word{i}" for i in range(200))


def wait_for_record(request_id: str, status: str, timeout: float = 5.0) -> UsageRecord:
    """Poll until the writer stored the record of `request_id` with `status`."""
    deadline = time.monotonic() + timeout
    while True:
        records.writer.flush(timeout)
        found = UsageRecord.objects.filter(request_id=request_id, status=status).first()
        if found is not None:
            return found
        assert time.monotonic() < deadline, list(
            UsageRecord.objects.filter(request_id=request_id).values("status", "error_type")
        )
        time.sleep(0.05)


def test_client_disconnect_mid_stream_leaves_a_cancelled_record(
    live_app: LiveServer, api_key: str, fake: FakeUpstream
) -> None:
    """A client that leaves mid-stream leaves a 'cancelled' record with the tokens seen so far."""
    fake.set_reply("gpt-4o", LONG_REPLY)
    fake.set_chunk_delay("gpt-4o", 0.05)
    body = {"model": "fakeai/gpt-4o", "messages": USER, "stream": True}
    headers = {"Authorization": f"Bearer {api_key}"}
    words = []
    with (
        httpx.Client(base_url=live_app.url, headers=headers, timeout=10) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        for line in response.iter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[len("data: ") :])
                words += [c["delta"].get("content") for c in chunk["choices"]]
                if len([w for w in words if w]) >= 4:
                    break
    seen = fake.wait_for_disconnect(5)
    assert seen is not None and seen.model == "gpt-4o"
    record = wait_for_record(request_id, "cancelled")
    assert record.http_status == 499 and record.error_type == "client_disconnected"
    assert record.stream and record.model == "fakeai/gpt-4o"
    assert 4 <= record.output_tokens < 200
    assert record.tokens_estimated and record.input_tokens > 0
    assert record.cost_usd is not None and record.cost_usd > 0
    assert record.ttft_ms is not None and record.latency_ms >= record.ttft_ms


def test_sdk_closing_a_stream_early_is_recorded(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Closing the SDK's stream after a few chunks also ends in a cancelled record."""
    fake.set_reply("gpt-4o", LONG_REPLY)
    fake.set_chunk_delay("gpt-4o", 0.05)
    stream = client.chat.completions.create(model="fakeai/gpt-4o", messages=USER, stream=True)
    request_id = stream.response.headers["x-request-id"]
    for count, _chunk in enumerate(stream):
        if count == 3:
            break
    stream.close()
    assert fake.wait_for_disconnect(5) is not None
    record = wait_for_record(request_id, "cancelled")
    assert 0 < record.output_tokens < 200


def test_headers_name_the_model_and_the_cost(client: openai.OpenAI) -> None:
    """x-switchyard-model and x-switchyard-cost-usd match the usage record."""
    raw = client.chat.completions.with_raw_response.create(
        model="fakeai/gpt-4o", messages=[{"role": "user", "content": "what does it cost"}]
    )
    result = raw.parse()
    assert raw.headers["x-switchyard-model"] == "fakeai/gpt-4o"
    cost = Decimal(raw.headers["x-switchyard-cost-usd"])
    expected = (
        Decimal(result.usage.prompt_tokens) * Decimal("2.5")
        + Decimal(result.usage.completion_tokens) * 10
    ) / 10**6
    assert cost == pytest.approx(expected)
    record = last_record(raw.headers["x-request-id"])
    assert record.cost_usd == pytest.approx(cost)
    assert record.status == "ok" and record.http_status == 200
    assert record.ttft_ms is not None and record.latency_ms > 0


def test_streaming_headers_name_the_model(client: openai.OpenAI) -> None:
    """A streamed answer names the answering model in its headers."""
    with client.chat.completions.with_streaming_response.create(
        model="fakeai/gpt-4o", messages=USER, stream=True
    ) as response:
        assert response.headers["x-switchyard-model"] == "fakeai/gpt-4o"
        request_id = response.headers["x-request-id"]
        assert "data: [DONE]" in response.read().decode()
    record = last_record(request_id)
    assert record.status == "ok" and record.stream and record.output_tokens > 0


def test_failed_request_is_recorded_too(client: openai.OpenAI) -> None:
    """An unknown model leaves an error record with the requested name and the status."""
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="fakeai/nope", messages=USER)
    record = last_record(info.value.response.headers["x-request-id"])
    assert record.status == "error" and record.http_status == 404
    assert record.requested_model == "fakeai/nope" and record.error_type == "model_not_found"
    assert record.api_key is not None


def test_concurrent_requests_each_leave_one_record(client: openai.OpenAI) -> None:
    """Ten concurrent requests leave ten records, one per request id."""

    def ask(index: int) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="fakeai/gpt-4o-mini", messages=[{"role": "user", "content": f"q{index}"}]
        )
        return raw.headers["x-request-id"]

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(ask, range(10)))
    assert records.writer.flush(10)
    assert UsageRecord.objects.filter(request_id__in=ids, status="ok").count() == 10


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_upstream_without_usage_is_estimated_not_free(
    client: openai.OpenAI, fake: FakeUpstream, stream: bool
) -> None:
    """An upstream that reports no usage is priced on estimated tokens, marked as estimated."""
    fake.set_no_usage("gpt-4o")
    messages = [{"role": "user", "content": "please answer without usage"}]
    if stream:
        list(client.chat.completions.create(model="fakeai/gpt-4o", messages=messages, stream=True))
    else:
        client.chat.completions.create(model="fakeai/gpt-4o", messages=messages)
    records.writer.flush(10)
    record = UsageRecord.objects.order_by("-id").first()
    assert record.tokens_estimated and record.output_tokens > 0 and record.input_tokens > 0
    assert record.cost_usd is not None and record.cost_usd > 0


def test_prepared_rows_are_what_the_fields_would_prepare() -> None:
    """`records.prepare` skips the fields' own preparation only where it changes nothing, on
    the backend this suite runs on (SQLite, then PostgreSQL); a wrongly typed value still
    goes through the field."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    record = {
        "created_at": now,
        "request_id": "req_1",
        "api_key_id": None,
        "requested_model": "route/auto",
        "route": "auto",
        "model": "fakeai/gpt-4o",
        "provider": "fakeai",
        "status": "ok",
        "http_status": 200,
        "stream": True,
        "input_tokens": 12,
        "output_tokens": 30,
        "tokens_estimated": 1,  # an int where a bool belongs: prepared by the field
        "cost_usd": Decimal("0.00012345"),
        "latency_ms": 12.5,
        "ttft_ms": None,
        "attempts": [{"model": "fakeai/gpt-4o", "outcome": "ok"}],
        "complexity_score": 0.25,
    }
    _, plan = records._insert_plan(connection.vendor)
    fields = [field for _, _, _, field, _, _ in plan]
    expected = [
        field.get_db_prep_save(
            record.get(field.attname, record.get(field.name, field.get_default())), connection
        )
        for field in fields
    ]
    prepared = records.prepare(record)
    assert len(prepared) == len(expected)
    for field, got, want in zip(fields, prepared, expected, strict=True):
        if field.name == "attempts":  # JSON: compare what reaches the database, parsed
            got, want = (json.loads(v) if isinstance(v, str) else v.obj for v in (got, want))
        # PostgreSQL's fields wrap ints in psycopg's Int2/Int4/Int8 (int subclasses): equal
        assert got == want and isinstance(want, type(got)), field.name
    assert prepared[[f.name for f in fields].index("tokens_estimated")] is True


def test_the_created_at_stamp_is_what_the_field_would_prepare() -> None:
    """A record without `created_at` is stamped with now, in the form the field gives."""
    from django.db import connection
    from django.utils import timezone

    _, plan = records._insert_plan(connection.vendor)
    index = [column[1] for column in plan].index("created_at")
    field = plan[index][3]
    before = field.get_db_prep_save(timezone.now(), connection)
    stamp = records.prepare({"request_id": "req_2"})[index]
    after = field.get_db_prep_save(timezone.now(), connection)
    assert type(stamp) is type(before)
    assert before <= stamp <= after


def test_a_burst_is_written_before_the_interval_ends(gateway_db: None, settings: object) -> None:
    """Under load the writer does not wait out the interval: SOON waiting rows are written
    at once (short, evenly spread writes); fewer wait for the interval."""
    settings.SWITCHYARD_USAGE_FLUSH_SECONDS = 30  # type: ignore[attr-defined]
    writer = records.UsageWriter()

    def written(prefix: str) -> int:
        return UsageRecord.objects.filter(request_id__startswith=prefix).count()

    for i in range(records.SOON - 1):
        writer.submit({"request_id": f"req_few_{i}"})
    time.sleep(1.0)
    assert written("req_few_") == 0  # gathering: the interval has 29 s to go
    writer.submit({"request_id": "req_few_last"})  # the SOON-th waiting row
    deadline = time.monotonic() + 5
    while written("req_few_") < records.SOON and time.monotonic() < deadline:
        time.sleep(0.02)
    assert written("req_few_") == records.SOON
    assert writer.flush(10)

"""GET /usage/: staff only, the date range (and its inline errors), the page, CSV, escaping."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import AsyncClient, Client
from django.utils import timezone

from usage import export
from usage.models import UsageRecord
from usage.reports import DateRange

from .conftest import D1, D2, D3, DEEPSEEK, GPT, at, failed, ok, record

URL = "/usage/"
IN_RANGE = f"{URL}?start={D1}&end={D3}"


def page(web: Client, url: str, status: int = 200) -> str:
    response = web.get(url)
    assert response.status_code == status, response.content[:300]
    return response.content.decode()


def test_anonymous_is_sent_to_the_sign_in_page(db: None) -> None:
    """No session: redirect to the tools' sign-in page, coming back to /usage/ afterwards."""
    response = Client().get(IN_RANGE + "&format=csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/usage/")


def test_non_staff_user_is_refused(db: None) -> None:
    """A signed-in user who is not staff (e.g. a playground user) cannot read anyone's usage."""
    client = Client()
    client.force_login(User.objects.create_user("someone", password="pw"))
    for url in (URL, IN_RANGE + "&format=csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert "This page is for staff." in response.content.decode()


def test_page_shows_totals_tables_and_charts(web: Client, traffic: list[UsageRecord]) -> None:
    """The range's totals, one table per dimension, every chart and its JSON."""
    body = page(web, IN_RANGE)
    texts = ["$2.6875", "20.0%", "37.5%", "3 of 8 upstream requests", "saved $0.1250",
             "(no model answered)", "(direct model)", "Playground", "Download CSV"]  # fmt: skip
    assert [t for t in texts if t not in body] == []
    charts = ["spend-day", "requests-day", "spend-model", "spend-key", "spend-route", "latency",
              "ttft"]  # fmt: skip
    assert [c for c in charts if f'id="us-chart-{c}"' not in body] == []
    assert 'id="us-chart-data"' in body and "chart.umd.min.js" in body
    assert 'value="2026-03-01"' in body and 'value="2026-03-03"' in body
    assert "1,500 ms" in body  # gpt-4o latency p50


def test_unknown_price_is_unknown_not_zero(web: Client, traffic: list[UsageRecord]) -> None:
    """Unpriced calls show as "unknown" with their count, alone or next to known spend."""
    body = page(web, IN_RANGE)
    assert '$2.6875 + <span class="us-unknown">unknown</span>' in body
    assert "1 unpriced call" in body and "had no known price" in body
    UsageRecord.objects.exclude(model="acme/unpriced").delete()
    alone = page(web, f"{URL}?start={D2}&end={D2}")
    assert '<h2>Spend</h2><p class="us-big"><span class="us-unknown">unknown</span>' in alone
    assert '<h2>Spend</h2><p class="us-big">$0' not in alone


def test_date_range_filters(web: Client, traffic: list[UsageRecord]) -> None:
    """?start/end pick the records; a single day works."""
    response = web.get(f"{URL}?start={D2}&end={D2}")
    report = response.context["report"]
    assert report.range == DateRange(D2, D2)
    assert report.totals.requests == 3


def test_default_range_fits_the_data(web: Client, db: None) -> None:
    """No dates: up to today, from the first record of the 30 days before (not 29 empty days)."""
    today = timezone.localdate()
    record(timezone.now())
    record(at(today - dt.timedelta(days=30)))  # outside the window: not counted
    response = web.get(URL)
    assert response.context["report"].range == DateRange(today, today)
    assert response.context["report"].totals.requests == 1
    record(at(today - dt.timedelta(days=4)))
    assert web.get(URL).context["report"].range == DateRange(today - dt.timedelta(days=4), today)
    only_end = web.get(f"{URL}?end={D3}").context["report"].range
    assert only_end == DateRange(D3 - dt.timedelta(days=29), D3)  # no data: the 30 days


def test_one_day_shows_hourly_charts(web: Client, traffic: list[UsageRecord]) -> None:
    """A one-day range (the "Today" preset) charts its 24 hours instead of one daily bar."""
    response = web.get(f"{URL}?start={D3}&end={D3}")
    hours = response.context["chart"]["hours"]
    assert hours["labels"][0] == "00:00" and len(hours["labels"]) == 24
    assert (hours["ok"][14], hours["error"][12], hours["error"][15], hours["cancelled"][13]) == (
        1, 1, 1, 1)  # fmt: skip
    body = response.content.decode()
    assert 'id="us-chart-requests-hour"' in body and 'id="us-chart-requests-day"' not in body
    assert response.context["chart"]["hours"]["spend"][14] == 1.0
    assert web.get(IN_RANGE).context["chart"]["hours"] is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start=2026-13-01", "start", "Enter a date as YYYY-MM-DD."),
        ("start=01/03/2026", "start", "Enter a date as YYYY-MM-DD."),
        ("end=2026-02-30", "end", "Enter a date as YYYY-MM-DD."),
        ("start=2026-03-05&end=2026-03-01", "start", "The start date is after the end date."),
        ("start=2024-01-01&end=2026-01-01", "start", "Pick a range of at most 366 days."),
        ("start=0001-01-01&end=0001-01-02", "start", "Pick a date between 1970-01-01"),
        ("end=9999-12-31", "end", "Pick a date between 1970-01-01"),
        ("start=2026-03-01&end=nope&format=csv", "end", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_bad_dates_inline_error(web: Client, query: str, field: str, message: str) -> None:
    """A bad date or range re-renders the form with the error at the field (400, not 500)."""
    body = page(web, f"{URL}?{query}", status=400)
    assert message in body
    assert f'aria-invalid="true" aria-describedby="err-{field}"' in body
    assert 'id="us-chart-data"' not in body and "No traffic" not in body


def test_typed_value_is_escaped_in_the_form(web: Client) -> None:
    """Whatever was typed goes back into the input escaped."""
    body = page(web, f'{URL}?start="><script>alert(1)</script>', status=400)
    assert "<script>alert(1)</script>" not in body
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in body


def test_empty_state(web: Client, traffic: list[UsageRecord]) -> None:
    """A range without traffic says so, with no charts, tables or CSV link."""
    body = page(web, f"{URL}?start=2020-01-01&end=2020-01-31")
    assert "No traffic in this period" in body and "2020-01-01" in body
    assert 'id="us-chart-data"' not in body and "<canvas" not in body
    assert "Download CSV" not in body and "chart.umd.min.js" not in body


def test_record_text_is_escaped(web: Client, keys: dict[str, object]) -> None:
    """Model ids, key names and routes from records are escaped in tables and chart JSON."""
    evil = "<script>alert(1)</script>"
    record(at(D1), model=evil, route=evil, cost_usd=Decimal("0.5"), latency_ms=10, ttft_ms=5)
    key = keys["alpha"]
    key.name = '<img src=x onerror="alert(2)">'
    key.save()
    record(at(D1), api_key=key, cost_usd=Decimal("0.25"))
    body = page(web, f"{URL}?start={D1}&end={D1}")
    assert evil not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in body
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in body  # json_script


@pytest.fixture
async def asgi_web(staff: User) -> AsyncIterator[AsyncClient]:
    """A staff client through the ASGI handler (how uvicorn serves the streamed CSV)."""
    web = AsyncClient()
    await web.aforce_login(staff)
    yield web
    # The export reads in the thread-sensitive executor: close that thread's connection too.
    await sync_to_async(connections.close_all)()


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


@pytest.mark.django_db(transaction=True)
async def test_csv_export(traffic: list[UsageRecord], asgi_web: AsyncClient) -> None:
    """?format=csv streams one row per record of the range, oldest first, under ASGI."""
    response = await asgi_web.get(IN_RANGE + "&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition == 'attachment; filename="switchyard-usage-2026-03-01-to-2026-03-03.csv"'
    content = b"".join([chunk async for chunk in response.streaming_content])
    assert content.decode().splitlines()[0] == ",".join(export.COLUMNS)
    rows = _csv(content)
    oldest_first = sorted(traffic, key=lambda r: r.created_at)
    assert [r["request_id"] for r in rows] == [r.request_id for r in oldest_first]
    first = rows[0]
    assert first["created_at"] == "2026-03-01T12:00:00+00:00"
    assert (first["key_name"], first["model"], first["cost_usd"]) == ("alpha", GPT, "0.50000000")
    assert (first["latency_ms"], first["ttft_ms"], first["attempts"], first["fallback"]) == (
        "1000.0", "200.0", "1", "false",
    )  # fmt: skip
    by_id = {r["request_id"]: r for r in rows}
    unpriced = by_id[traffic[4].request_id]
    assert (unpriced["cost_usd"], unpriced["price_known"]) == ("", "false")
    assert by_id[traffic[1].request_id]["fallback"] == "true"
    assert [r["protocol"] for r in rows] == [r.protocol for r in oldest_first]  # the door
    cache = by_id[traffic[3].request_id]
    assert (cache["cache_hit"], cache["cost_usd"]) == ("true", "0.00000000")
    assert cache["saved_usd"] == "0.12500000"


@pytest.mark.django_db(transaction=True)
async def test_csv_export_pages_and_defuses_formulas(
    asgi_web: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows come in keyset batches (equal timestamps included); formula-like text is defused."""
    monkeypatch.setattr(export, "BATCH", 2)
    same = at(D1)
    for _ in range(5):
        await UsageRecord.objects.acreate(
            created_at=same, request_id="r", requested_model='=HYPERLINK("http://x")',
            model=DEEPSEEK, status="ok", attempts=[failed(GPT), ok(DEEPSEEK)],
        )  # fmt: skip
    response = await asgi_web.get(f"{URL}?start={D1}&end={D1}&format=csv")
    rows = _csv(b"".join([chunk async for chunk in response.streaming_content]))
    assert len(rows) == 5
    assert rows[0]["requested_model"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["key_name"] == "" and rows[0]["fallback"] == "true"


def test_safe_text() -> None:
    """Only text that a spreadsheet would evaluate gets the apostrophe."""
    assert export.safe_text("openai/gpt-4o") == "openai/gpt-4o"
    for risky in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert export.safe_text(risky) == "'" + risky


def test_dashboard_filters_by_front_door(web: Client) -> None:
    """?protocol=messages keeps the Anthropic door's requests; the by-door table splits them;
    an unknown door is an inline form error (400), not a 500."""
    record(at(D1), protocol="chat", cost_usd=Decimal("0.10"))
    record(at(D1), protocol="messages", model=DEEPSEEK, cost_usd=Decimal("0.20"))
    record(at(D2), protocol="messages", model=DEEPSEEK, cost_usd=Decimal("0.30"))
    everything = page(web, IN_RANGE)
    assert 'id="us-table-protocol"' in everything and "<code>messages</code>" in everything
    assert '<option value="messages"' in everything
    only = page(web, IN_RANGE + "&protocol=messages")
    assert '<option value="messages" selected>' in only
    assert "$0.50" in only and "$0.60" not in only
    chat = page(web, IN_RANGE + "&protocol=chat")
    assert "$0.10" in chat and "$0.50" not in chat
    bad = page(web, IN_RANGE + "&protocol=%3Cscript%3E", status=400)
    assert "Pick chat, messages or all doors." in bad and "<script>" not in bad


def test_csv_rows_name_the_front_door(db: None) -> None:
    """The export's last column is the door the request came in by."""
    row = export.row(record(at(D1), protocol="messages", model=DEEPSEEK))
    assert dict(zip(export.COLUMNS, row, strict=True))["protocol"] == "messages"

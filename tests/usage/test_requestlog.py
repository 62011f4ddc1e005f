"""GET /usage/requests/ and /usage/requests/<id>/: the request log, its filters, the detail page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from routing.models import ApiKey
from usage.models import UsageRecord

from .conftest import D1, D2, D3, DEEPSEEK, GPT, at, record

URL = "/usage/requests/"
RANGE = f"start={D1}&end={D3}"


def ids(web: Client, query: str) -> list[str]:
    """The request ids the log lists for this query, in order."""
    response = web.get(f"{URL}?{RANGE}&{query}")
    assert response.status_code == 200, response.content[:300]
    return re.findall(r'data-request-id="([^"]+)"', response.content.decode())


def rid(rows: list[UsageRecord], *numbers: int) -> list[str]:
    """Request ids of the fixture's rows (1-based, as in the conftest table), newest first."""
    chosen = [rows[n - 1] for n in numbers]
    return [r.request_id for r in sorted(chosen, key=lambda r: r.created_at, reverse=True)]


def test_staff_only(db: None) -> None:
    """Anonymous users are sent to the sign-in page and non-staff users are refused, for the
    list and a detail."""
    member = Client()
    member.force_login(User.objects.create_user("someone", password="pw"))
    for url in (URL, f"{URL}1/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert member.get(url).status_code == 403


def test_lists_the_range_newest_first(web: Client, traffic: list[UsageRecord]) -> None:
    """Every record of the range, newest first; the ones just outside are not listed."""
    assert ids(web, "") == rid(traffic, *range(1, 11))
    body = web.get(f"{URL}?{RANGE}").content.decode()
    assert "10 requests" in body and "2026-03-03 15:00:00" in body


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        (f"model={GPT}", (1, 2, 7, 8, 10)),
        ("model=(none)", (6, 9)),
        ("route=chat", (2, 3, 4, 6)),
        ("route=(none)", (1, 5, 7, 8, 9)),
        ("status=error", (6, 9)),
        ("status=cancelled", (7,)),
        ("error_type=rate_limited", (9,)),
        ("http_status=502", (6,)),
        ("source=playground", (3, 7)),
        ("key=(none)", (7,)),
        (f"route=chat&model={DEEPSEEK}", (3, 4)),
        ("key=nope", ()),
        ("http_status=99999999999", ()),
    ],
)
def test_filters(
    web: Client, traffic: list[UsageRecord], query: str, rows: tuple[int, ...]
) -> None:
    """Each filter narrows to the conftest table's rows; several filters combine; junk matches none."""
    assert ids(web, query) == rid(traffic, *rows)


def test_filter_by_key_and_search(
    web: Client, traffic: list[UsageRecord], keys: dict[str, ApiKey]
) -> None:
    """?key= takes the key's id; ?q= finds a request id or part of it."""
    assert ids(web, f"key={keys['beta'].pk}") == rid(traffic, 3, 4, 6, 10)
    target = traffic[4].request_id
    assert ids(web, f"q={target}") == [target]
    assert ids(web, f"q={target.upper()[-4:]}") == [target]


def test_empty_state_and_bad_dates(web: Client, traffic: list[UsageRecord]) -> None:
    """No match says so; a bad date is an inline error with status 400, never a 500."""
    body = web.get(f"{URL}?{RANGE}&model=nobody/none").content.decode()
    assert "No request matches" in body and "with these filters" in body
    response = web.get(f"{URL}?start=2026-02-30")
    assert (
        response.status_code == 400 and "Enter a date as YYYY-MM-DD." in response.content.decode()
    )


def test_pages_of_fifty(web: Client, db: None) -> None:
    """More than a page: 50 rows, then the rest behind "Older"."""
    for i in range(53):
        record(at(D2, i % 24))
    first = ids(web, "")
    assert len(first) == 50
    assert len(ids(web, "page=2")) == 3
    assert "page=2" in web.get(f"{URL}?{RANGE}").content.decode()


def test_dashboard_rows_link_to_their_requests(web: Client, traffic: list[UsageRecord]) -> None:
    """Every group row of the dashboard links to the log filtered to it, and the link gives its rows."""
    body = web.get(f"/usage/?{RANGE}").content.decode()
    links = re.findall(r'class="us-drill" href="(/usage/requests/\?[^"]+)"', body)
    links = [link.replace("&amp;", "&") for link in links]
    wanted = [
        f"model={GPT}",
        "route=chat",
        "source=batch",
        "status=error&error_type=rate_limited&http_status=429",
    ]
    for fragment in wanted:
        assert any(fragment in link for link in links), fragment
    errors = next(link for link in links if "error_type=upstream_error" in link)
    found = re.findall(r'data-request-id="([^"]+)"', web.get(errors).content.decode())
    assert found == rid(traffic, 6)


def test_detail_shows_attempts_and_decision(web: Client, traffic: list[UsageRecord]) -> None:
    """A request's page: its fields, its attempts in order and the routing decision."""
    row = traffic[5]
    row.decision = "complexity=0.42 -> deepseek/deepseek-chat"
    row.save()
    body = web.get(f"{URL}{row.pk}/").content.decode()
    assert row.request_id in body and "upstream_error" in body and "HTTP 502" in body
    attempts = body[body.index('id="request-attempts"') :]
    assert attempts.index(DEEPSEEK) < attempts.index(GPT) and "timeout" in attempts
    assert "complexity=0.42 -&gt; deepseek/deepseek-chat" in body
    refused = web.get(f"{URL}{traffic[8].pk}/").content.decode()
    assert "refused before any model was called" in refused
    assert web.get(f"{URL}999999/").status_code == 404


def test_detail_escapes_record_text(web: Client, db: None) -> None:
    """Model ids, errors and decisions from records are escaped."""
    evil = "<script>alert(1)</script>"
    row = record(at(D1), model=evil, decision=evil, error_type=evil,
                 attempts=[{"model": evil, "outcome": "server", "status": 500, "ms": 1.0, "error": evil}])  # fmt: skip
    for url in (f"{URL}{row.pk}/", f"{URL}?start={D1}&end={D1}"):
        body = web.get(url).content.decode()
        assert evil not in body and "&lt;script&gt;" in body


def test_door_filter_reaches_the_log(web: Client, db: None) -> None:
    """The dashboard's door (``protocol``) narrows the log too, its links keep it, and an
    unknown door is an inline error with status 400."""
    chat = record(at(D2, 1))
    messages = record(at(D2, 2), protocol="messages")
    assert ids(web, "") == [messages.request_id, chat.request_id]
    assert ids(web, "protocol=messages") == [messages.request_id]
    assert ids(web, "protocol=chat") == [chat.request_id]
    body = web.get(f"/usage/?{RANGE}&protocol=messages").content.decode()
    log = re.search(r'id="us-log-link" href="([^"]+)"', body)
    assert log is not None and "protocol=messages" in log[1]
    response = web.get(f"{URL}?{RANGE}&protocol=smoke-signals")
    assert response.status_code == 400
    assert "Pick chat, messages or all doors." in response.content.decode()

"""Opt-in storage of prompt and answer bodies: off by default, per key or per route, with a
retention period (the shorter wins), capped, pruned, shown escaped and to staff only.

Requests go through the live gateway with the real `openai` and `anthropic` SDKs against the
fake upstream on loopback.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import anthropic
import openai
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from routing.models import ApiKey, Route, RouteTarget
from routing.transport import records
from tests.conftest import LiveServer
from usage.models import BODY_CAP, RequestBody, UsageRecord

pytestmark = pytest.mark.usefixtures("providers")
MODEL = "fakeai/gpt-4o"


def keep_on_key(api_key: str, days: int = 3) -> None:
    ApiKey.objects.filter(name="test").update(store_bodies=True, body_retention_days=days)
    ApiKey.objects.get(name="test").save()  # a save bumps the configuration version


def ask(client: openai.OpenAI, text: str, model: str = MODEL) -> str:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


def stored() -> list[RequestBody]:
    assert records.writer.flush(10)
    return list(RequestBody.objects.order_by("created_at"))


def record_of(body: RequestBody) -> UsageRecord:
    return UsageRecord.objects.get(request_id=body.request_id)


def test_off_by_default(client: openai.OpenAI) -> None:
    assert ask(client, "nothing kept")
    assert stored() == []
    assert UsageRecord.objects.count() == 1


def test_key_opt_in_keeps_request_as_received_and_answer(
    client: openai.OpenAI, api_key: str
) -> None:
    keep_on_key(api_key, days=3)
    answer = ask(client, "remember me, please")
    (body,) = stored()
    sent = json.loads(body.request)
    assert sent["model"] == MODEL
    assert sent["messages"] == [{"role": "user", "content": "remember me, please"}]
    assert body.request_bytes == len(body.request.encode())
    completion = json.loads(body.answer)
    assert completion["choices"][0]["message"]["content"] == answer
    assert not body.truncated
    left = body.expires_at - timezone.now()
    assert dt.timedelta(days=3) - dt.timedelta(minutes=1) < left <= dt.timedelta(days=3)
    assert record_of(body).status == "ok"


def test_stream_keeps_the_assembled_text(client: openai.OpenAI, api_key: str) -> None:
    keep_on_key(api_key)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "stream me"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    (body,) = stored()
    assert text and body.answer == text
    assert json.loads(body.request)["stream"] is True


def test_anthropic_door_keeps_its_own_body(live_app: LiveServer, api_key: str) -> None:
    keep_on_key(api_key)
    claude = anthropic.Anthropic(base_url=live_app.url, api_key=api_key, max_retries=0)
    message = claude.messages.create(
        model=MODEL,
        max_tokens=64,
        system="be brief",
        messages=[{"role": "user", "content": "hello claude door"}],
    )
    (body,) = stored()
    sent = json.loads(body.request)
    assert sent["system"] == "be brief" and sent["max_tokens"] == 64  # Anthropic's shape
    assert message.content[0].text in body.answer  # type: ignore[union-attr]
    assert record_of(body).protocol == "messages"


def test_responses_door_keeps_its_own_body(client: openai.OpenAI, api_key: str) -> None:
    keep_on_key(api_key)
    response = client.responses.create(model=MODEL, input="respond, please", store=False)
    (body,) = stored()
    assert json.loads(body.request)["input"] == "respond, please"  # the Responses shape
    assert response.output_text in body.answer
    assert record_of(body).protocol == "responses"


def test_failed_request_keeps_the_error_it_got(client: openai.OpenAI, api_key: str) -> None:
    keep_on_key(api_key)
    with pytest.raises(openai.NotFoundError):
        ask(client, "to nowhere", model="fakeai/no-such-model")
    (body,) = stored()
    assert json.loads(body.request)["model"] == "fakeai/no-such-model"
    assert json.loads(body.answer)["error"]["code"] == "model_not_found"
    assert record_of(body).status == "error"


def _route(**fields: Any) -> None:
    route = Route.objects.create(slug="kept", strategy="fallback", **fields)
    RouteTarget.objects.create(route=route, position=1, model=MODEL)


def test_route_opt_in_without_the_key(client: openai.OpenAI) -> None:
    _route(store_bodies=True, body_retention_days=2)
    ask(client, "through the route", model="route/kept")
    assert ask(client, "a named model is not kept")
    (body,) = stored()
    assert json.loads(body.request)["messages"][0]["content"] == "through the route"
    assert record_of(body).route == "kept"
    assert body.expires_at - timezone.now() <= dt.timedelta(days=2)


def test_shorter_retention_wins(client: openai.OpenAI, api_key: str) -> None:
    keep_on_key(api_key, days=30)
    _route(store_bodies=True, body_retention_days=1)
    ask(client, "both opt in", model="route/kept")
    (body,) = stored()
    assert body.expires_at - timezone.now() <= dt.timedelta(days=1)


def test_large_bodies_are_cut_at_the_cap(client: openai.OpenAI, api_key: str) -> None:
    keep_on_key(api_key)
    ask(client, "é" * BODY_CAP)  # two bytes each: twice the cap
    (body,) = stored()
    assert body.truncated
    assert body.request_bytes > 2 * BODY_CAP
    assert len(body.request.encode()) <= BODY_CAP
    assert body.request.endswith("é")  # no character cut in two


def test_prune_deletes_expired_bodies(db: None) -> None:
    now = timezone.now()
    RequestBody.objects.create(request_id="req_old", expires_at=now - dt.timedelta(seconds=1))
    RequestBody.objects.create(request_id="req_new", expires_at=now + dt.timedelta(days=1))
    out = io.StringIO()
    call_command("prune_bodies", stdout=out)
    assert "Deleted 1 expired request body." in out.getvalue()
    assert list(RequestBody.objects.values_list("request_id", flat=True)) == ["req_new"]


@pytest.fixture
def kept(client: openai.OpenAI, api_key: str) -> UsageRecord:
    """A request whose prompt is markup (model output is untrusted too: the fake echoes it)."""
    keep_on_key(api_key)
    ask(client, "<script>alert('x')</script> hi")
    (body,) = stored()
    return record_of(body)


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_staff_read_bodies_escaped(kept: UsageRecord, settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    web = Client()
    web.force_login(User.objects.create_user("ops", password="pw", is_staff=True))
    page = web.get(f"/usage/requests/{kept.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="body-request"' in html and 'id="body-answer"' in html
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html


def test_members_cannot_read_bodies(kept: UsageRecord, settings: Any) -> None:
    settings.DEBUG = False
    member = Client()
    member.force_login(User.objects.create_user("ann", password="pw"))
    page = member.get(f"/usage/requests/{kept.pk}/")
    assert page.status_code == 403
    assert b"alert(" not in page.content
    anonymous = Client().get(f"/usage/requests/{kept.pk}/")
    assert anonymous.status_code == 302 and b"alert(" not in anonymous.content


def test_empty_state_and_expired_bodies(kept: UsageRecord) -> None:
    web = Client()
    web.force_login(User.objects.create_user("ops", password="pw", is_staff=True))
    RequestBody.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    html = web.get(f"/usage/requests/{kept.pk}/").content.decode()
    assert 'id="body-none"' in html and "off by default" in html
    assert "alert(" not in html

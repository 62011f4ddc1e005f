"""The pages of issue 19 part B under production settings (DEBUG off), over real HTTP to the
ASGI app: request log, request detail, models page and picker, batch estimate and job page,
the admin's key creation. Each answers, loads its static files, and a bad id is a plain 404
(never a traceback); anonymous users are sent to a login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from batch.models import BatchJob
from tests.conftest import LiveServer
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


@pytest.fixture
def staff_http(live_app: LiveServer, gateway_db: None) -> Iterator[httpx.Client]:
    """A staff session, logged in through the admin's login form."""
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    with httpx.Client(base_url=live_app.url, timeout=20) as http:
        form = http.get("/admin/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        login = {
            "username": "ops",
            "password": "pw",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        }
        assert http.post("/admin/login/", data=login).status_code == 302
        yield http


def static_ok(http: httpx.Client, page: str) -> None:
    """Every script and stylesheet the page links to is served (whitenoise, DEBUG off)."""
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert assets
    for asset in assets:
        assert http.get(asset).status_code == 200, asset


def test_debug_is_off() -> None:
    """These tests run with the production setting."""
    assert settings.DEBUG is False


def test_pages_answer_with_debug_off(staff_http: httpx.Client) -> None:
    """Each new page is a 200 with its assets; bad ids are 404 without a traceback."""
    record = UsageRecord.objects.create(request_id="req_prod_1", requested_model="fakeai/gpt-4o",
                                        model="fakeai/gpt-4o", status="ok", cost_usd=Decimal("0.01"))  # fmt: skip
    job = BatchJob.objects.create(name="x.jsonl", status="done", total=0)
    pages = ["/usage/requests/", f"/usage/requests/{record.pk}/", "/usage/requests/?model=(none)&q=x",
             "/models/", "/models/?q=gpt&sort=input&compare=fakeai/gpt-4o&compare=nope/x",
             "/batch/", f"/batch/jobs/{job.pk}/", "/admin/routing/apikey/add/",
             "/admin/routing/route/add/", "/costcalc/"]  # fmt: skip
    for url in pages:
        response = staff_http.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert "Traceback" not in response.text
        static_ok(staff_http, response.text)
    picks = staff_http.get("/models/pick/?q=gpt-4o")
    assert picks.status_code == 200 and 'data-pick="fakeai/gpt-4o"' in picks.text
    for url in ("/usage/requests/999999/", "/batch/jobs/999999/"):
        missing = staff_http.get(url)
        assert missing.status_code == 404 and "Traceback" not in missing.text
    bad = staff_http.get("/usage/requests/?start=2026-02-30")
    assert bad.status_code == 400 and "Enter a date as YYYY-MM-DD." in bad.text


def test_batch_estimate_with_debug_off(staff_http: httpx.Client) -> None:
    """The estimate endpoint answers an upload (CSRF checked) with a price, never a 500."""
    token = staff_http.cookies["csrftoken"]
    line = b'{"custom_id": "a", "body": {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}}\n'
    response = staff_http.post(
        "/batch/estimate/",
        data={"concurrency": "4", "route": "", "model": ""},
        files={"file": ("in.jsonl", line)},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200 and "About <strong>$" in response.text


def test_anonymous_is_sent_to_login(live_app: LiveServer, gateway_db: None) -> None:
    """Staff pages redirect an anonymous visitor; the models page and the route picker need a
    login outside DEBUG, the model picker (public prices) does not."""
    with httpx.Client(base_url=live_app.url, timeout=20) as http:
        for url in ("/usage/requests/", "/usage/requests/1/", "/batch/estimate/", "/models/"):
            response = http.get(url)
            assert response.status_code in (302, 405), url
            if response.status_code == 302:
                assert "login" in response.headers["location"], url
        public = http.get("/models/pick/?q=gpt")  # the public calculator's baseline picker
        assert public.status_code == 200 and "gpt" in public.text
        assert http.get("/models/pick/?q=demo&routes=1").status_code == 403

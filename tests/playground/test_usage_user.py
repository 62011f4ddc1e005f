"""Playground traffic is recorded with the user who ran it, and the dashboard shows them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from routing.transport import records
from tests.playground.conftest import Page
from tests.playground.test_views import form
from usage.models import UsageRecord

pytestmark = pytest.mark.usefixtures("providers")


def login(page: Page, name: str) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    login_form = page.http.get("/admin/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_form).group(1)  # type: ignore[union-attr]
    data = {"username": name, "password": "pw", "csrfmiddlewaretoken": token, "next": "/admin/"}
    assert page.http.post("/admin/login/", data=data).status_code == 302
    return user


def test_playground_records_carry_the_user(page: Page) -> None:
    """A logged-in run's records have the user (and no key); the dashboard lists them by name,
    not as "(no key)", and the row leads to exactly those requests."""
    user = login(page, "alice")
    shown = page.http.get("/playground/")
    assert shown.status_code == 200 and "alice" in shown.text  # a logged-in user's page renders
    page.run(form())
    records.writer.flush(10)
    rows = UsageRecord.objects.filter(source="playground")
    assert rows.count() == 2 and {r.user_id for r in rows} == {user.pk}
    assert all(r.api_key_id is None for r in rows)
    web = Client()
    web.force_login(user)
    today = timezone.localdate()
    body = web.get(f"/usage/?start={today}&end={today}").content.decode()
    table = body[body.index('id="us-table-key"') :].split("</table>")[0]
    assert "alice (playground user)" in table and "(no key)" not in table
    link = re.search(r'href="(/usage/requests/\?[^"]*key=user(?::|%3A)\d+)"', table).group(1)  # type: ignore[union-attr]
    log = web.get(link.replace("&amp;", "&")).content.decode()
    assert sorted(re.findall(r'data-request-id="([^"]+)"', log)) == sorted(
        r.request_id for r in rows
    )
    assert "playground user" in log
    none = web.get(f"/usage/requests/?start={today}&end={today}&key=(none)").content.decode()
    assert "data-request-id" not in none

"""Signing in and out of the tools in chromium, and a non-staff user's own runs (DEBUG off,
PLAYGROUND_REQUIRE_LOGIN on: production settings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.models import Run
from tests.browser.conftest import PASSWORD, sign_in
from tests.conftest import LiveServer
from tests.fake_upstream import FakeUpstream

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("providers")]


@pytest.fixture
def browser_page(chromium: Browser, live_app: LiveServer, settings: object) -> Iterator[Page]:
    settings.PLAYGROUND_REQUIRE_LOGIN = True  # type: ignore[attr-defined]
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "ann": User.objects.create_user("ann", password=PASSWORD),
        "bob": User.objects.create_user("bob", password=PASSWORD),
        "ops": User.objects.create_user("ops", password=PASSWORD, is_staff=True),
    }


def test_sign_in_and_sign_out(browser_page: Page, people: dict[str, User]) -> None:
    """Anonymous -> the sign-in page; a wrong password is an inline error; signed in, the
    header names the user; signing out ends the session."""
    page = browser_page
    page.goto("/playground/")
    expect(page).to_have_url("/accounts/login/?next=/playground/")
    sign_in(page, "ann", "wrong password")
    expect(page.locator(".form-errors")).to_contain_text("correct username and password")
    sign_in(page, "ann")
    page.wait_for_url("**/playground/")
    expect(page.get_by_test_id("signed-in")).to_contain_text("Signed in as ann")
    page.get_by_test_id("sign-out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/playground/")
    expect(page).to_have_url("/accounts/login/?next=/playground/")


def test_a_members_runs_are_their_own(
    browser_page: Page, people: dict[str, User], fake: FakeUpstream
) -> None:
    """ann runs a comparison and finds it in her recent runs; bob's run is not listed and its
    page is a 404 for her; staff see both, each with who ran it."""
    page = browser_page
    theirs = Run.objects.create(user=people["bob"], prompt="bob's secret", model_ids=["x"])
    fake.set_reply("gpt-4o", "Hello from the fake upstream")
    sign_in(page, "ann")
    page.wait_for_url("**/playground/")
    page.goto("/playground/?models=fakeai/gpt-4o&prompt=ann+asks+this")
    page.wait_for_function("() => window.htmx && document.querySelectorAll('.pane-row').length")
    page.get_by_test_id("run").click()
    recent = page.locator("#recent-runs")
    expect(recent).to_contain_text("ann asks this")
    expect(recent).not_to_contain_text("bob's secret")
    mine = Run.objects.get(prompt="ann asks this")
    assert mine.user_id == people["ann"].pk
    assert page.goto(f"/playground/runs/{theirs.pk}/").status == 404  # type: ignore[union-attr]
    page.goto(f"/playground/runs/{mine.pk}/")
    expect(page.get_by_test_id("pane-output")).to_contain_text("Hello from the fake upstream")

    page.get_by_test_id("sign-out").click()
    sign_in(page, "ops")
    page.wait_for_url("**/playground/")
    expect(recent).to_contain_text("bob's secret")
    expect(recent).to_contain_text("ann asks this")
    expect(recent).to_contain_text("ann")
    assert page.goto(f"/playground/runs/{theirs.pk}/").status == 200  # type: ignore[union-attr]

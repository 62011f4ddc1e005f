"""Browser fixtures: Debian's chromium driven by Playwright's sync API (browser tests run last)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import LiveServer
from tests.playground.conftest import sim_models  # noqa: F401 - fixture for the screenshot

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread; Django would then
    # refuse the (synchronous, test-side) database calls of the fixtures.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


PASSWORD = "correct horse battery"


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Through the tools' own sign-in page, as a person does."""
    page.goto("/accounts/login/?next=/playground/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("sign-in").click()


def open_signed_in(page: Page, path: str, username: str, password: str = PASSWORD) -> None:
    """Open a staff page: it sends a visitor to the sign-in page, which leads back to it."""
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url("**" + path)


@pytest.fixture(params=["development", "production"])
def pg(
    request: pytest.FixtureRequest, chromium: Browser, live_app: LiveServer, settings: object
) -> Iterator[Page]:
    """A fresh page for the playground, once as in local development (no login) and once as
    deployed (DEBUG off, PLAYGROUND_REQUIRE_LOGIN on, a non-staff user signed in)."""
    production = request.param == "production"
    settings.PLAYGROUND_REQUIRE_LOGIN = production  # type: ignore[attr-defined]
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    if production:
        from django.contrib.auth.models import User

        User.objects.create_user("member", password=PASSWORD)
        sign_in(page, "member")
        page.wait_for_url("**/playground/")
    yield page
    context.close()

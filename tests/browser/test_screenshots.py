"""Screenshots of every page, light, dark and on a phone: `make screenshots` writes them to
docs/screenshots/ (SWITCHYARD_UPDATE_SCREENSHOT=1); a normal run writes them to a temporary
folder and still checks each page: it draws, it has no sideways scroll at 390 px, and no
script error happens.

A page is one entry in PAGES: a name, a path and an optional `prepare(page)` that fills it
(e.g. runs the playground) before the shot. Add yours there.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.screenshot]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VARIANTS = {
    "light": {"viewport": {"width": 1400, "height": 1000}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1400, "height": 1000}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "color_scheme": "light"},
}
SCREENSHOT_PROMPT = (
    "Write a Python function that checks a palindrome, then compare three ways in a table."
)


def run_playground(page: Page) -> None:
    """Three simulated models answer a prompt with code and a table."""
    expect(page.locator(".pane-row")).to_have_count(3)
    page.get_by_test_id("prompt").fill(SCREENSHOT_PROMPT)
    page.get_by_test_id("run").click()
    page.wait_for_function(
        """() => { const s = Array.from(document.querySelectorAll('[data-testid="pane-status"]'));
        return s.length === 3 && s.every(e => e.dataset.status === 'done'); }"""
    )
    expect(page.locator(".md pre code.hljs").first).to_be_visible()
    page.evaluate("() => window.scrollTo(0, 0)")


def after_a_run(path: str) -> Callable[[Page], None]:
    """Run the playground first (real traffic for the usage pages), then open `path`."""

    def prepare(page: Page) -> None:
        run_playground(page)
        page.goto(path)

    return prepare


def first_request(page: Page) -> None:
    """A request's page: the newest row of the request log after a playground run."""
    after_a_run("/usage/requests/")(page)
    page.locator("table a[href^='/usage/requests/']").first.click()
    expect(page.locator("h1")).to_contain_text("Request")


def signed_out(path: str) -> Callable[[Page], None]:
    def prepare(page: Page) -> None:
        page.context.clear_cookies()
        page.goto(path)

    return prepare


def route_editor(page: Page) -> None:
    """The admin's route editor for the first default route (pickers, fallback lists)."""
    page.goto("/admin/routing/route/")
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("#route_form")).to_be_visible()


# The elements that stick out past the window's right edge (to say what to fix).
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''))"""


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    prepare: Callable[[Page], None] | None = None
    header: str = ".site-header"  # what shows the page has drawn (the admin has its own)


PAGES = [
    Shot("playground", "/playground/", run_playground),
    Shot("costcalc", "/costcalc/"),
    Shot("models", "/models/"),
    Shot("usage", "/playground/", after_a_run("/usage/")),
    Shot("requests", "/playground/", after_a_run("/usage/requests/")),
    Shot("request", "/playground/", first_request),
    Shot("batch", "/batch/"),
    Shot("login", "/playground/", signed_out("/accounts/login/")),
    Shot("route-editor", "/admin/", route_editor, header="#header"),
]


@pytest.fixture
def fresh_install(gateway_db: None) -> None:
    """What `make run` sets up: the bundled catalog (simulator included) and default routes."""
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())


@pytest.fixture
def staff_cookie(fresh_install: None) -> dict[str, str]:
    """A signed-in staff user's session cookie (the dashboard and batch need staff)."""
    user = User.objects.create_user("ops", password="pw", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value}


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    if os.environ.get("SWITCHYARD_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def new_context(
    chromium: Browser, live_app: LiveServer, variant: str, cookie: dict[str, str]
) -> BrowserContext:
    context = chromium.new_context(base_url=live_app.url, **VARIANTS[variant])  # type: ignore[arg-type]
    context.add_cookies([{**cookie, "url": live_app.url}])  # type: ignore[list-item]
    return context


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == []


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("shot", PAGES, ids=[s.name for s in PAGES])
def test_page_screenshot(
    chromium: Browser,
    live_app: LiveServer,
    staff_cookie: dict[str, str],
    shots_dir: Path,
    errors: list[str],
    shot: Shot,
    variant: str,
) -> None:
    """The page draws in this variant, without sideways scroll on a phone; shot saved."""
    context = new_context(chromium, live_app, variant, staff_cookie)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(shot.path)
    if shot.prepare:
        shot.prepare(page)
    expect(page.locator(shot.header)).to_be_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(WIDEST) if overflow > 0 else []
    assert overflow <= 0, f"{shot.name} scrolls sideways by {overflow}px at {variant}: {wide}"
    target = shots_dir / f"{shot.name}-{variant}.png"
    page.screenshot(path=str(target), full_page=variant != "phone")
    assert target.stat().st_size > 5_000
    context.close()

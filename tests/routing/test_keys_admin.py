"""API keys from the command line, stored hashed; the admin needs staff and hides secrets."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import openai
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from routing.models import ApiKey, Provider, hash_key
from tests.conftest import FAKE_SECRET, LiveServer

ADMIN_PAGES = [
    "/admin/",
    "/admin/routing/provider/",
    "/admin/routing/apikey/",
    "/admin/usage/usagerecord/",
]


def staff_browser() -> Client:
    browser = Client()
    browser.force_login(User.objects.create_superuser("root", "root@example.com", None))
    return browser


def create_key(name: str) -> tuple[str, str]:
    """Run create_api_key; return (whole output, its last line)."""
    out = StringIO()
    call_command("create_api_key", name, stdout=out)
    text = out.getvalue()
    return text, text.strip().splitlines()[-1]


def test_create_api_key_prints_the_key_last_and_stores_only_its_hash(db: None) -> None:
    """The key is the last line of the output; the database holds its sha256, not the key."""
    _, raw = create_key("my-app")
    assert raw.startswith("sy-") and len(raw) > 30
    key = ApiKey.objects.get(name="my-app")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(value) for value in ApiKey.objects.filter(pk=key.pk).values().get().values()]
    assert raw not in stored
    assert raw.startswith(key.prefix) and len(key.prefix) < len(raw) // 2
    _, other = create_key("my-app")
    assert other != raw


def test_create_api_key_opts_in_to_body_storage(db: None) -> None:
    """--store-bodies DAYS turns storage on with that retention; out of range is refused."""
    out = StringIO()
    call_command("create_api_key", "kept", "--store-bodies", "14", stdout=out)
    key = ApiKey.objects.get(name="kept")
    assert (key.store_bodies, key.body_retention_days) == (True, 14)
    assert "store_bodies 14" in out.getvalue()
    create_key("plain")
    assert not ApiKey.objects.get(name="plain").store_bodies  # off by default
    with pytest.raises(CommandError, match="1 to 365"):
        call_command("create_api_key", "never", "--store-bodies", "0", stdout=StringIO())
    assert not ApiKey.objects.filter(name="never").exists()


def test_created_key_works_through_the_sdk(gateway_db: None, live_app: LiveServer) -> None:
    """A key printed by create_api_key authenticates the OpenAI SDK."""
    _, raw = create_key("sdk-app")
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    assert sdk.models.list().object == "list"


def test_ensure_api_key_prints_only_on_creation(db: None) -> None:
    """ensure_api_key prints a new key once, and afterwards only says one exists."""
    first = StringIO()
    call_command("ensure_api_key", "local", stdout=first)
    raw = first.getvalue().strip().splitlines()[-1]
    assert raw.startswith("sy-")
    again = StringIO()
    call_command("ensure_api_key", "local", stdout=again)
    assert raw not in again.getvalue() and ApiKey.objects.filter(name="local").count() == 1


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_requires_a_login(db: None, page: str) -> None:
    """Anonymous visitors are sent to the admin login page."""
    response = Client().get(page)
    assert response.status_code == 302
    assert response["location"].startswith("/admin/login/")


def test_admin_refuses_non_staff_users(db: None) -> None:
    """A logged-in user without staff status is still sent to the login page."""
    browser = Client()
    browser.force_login(User.objects.create_user("joe", "joe@example.com", None))
    response = browser.get("/admin/routing/provider/")
    assert response.status_code == 302 and "/admin/login/" in response["location"]


def test_admin_pages_render_for_staff(db: None) -> None:
    """Staff can open every routing admin page."""
    browser = staff_browser()
    for page in ADMIN_PAGES:
        assert browser.get(page).status_code == 200, page


def test_provider_admin_never_shows_the_secret(db: None) -> None:
    """Neither the provider list nor its change page contains the stored secret."""
    provider = Provider.objects.create(
        slug="secretive", name="Secretive", protocol="openai", api_key=FAKE_SECRET
    )
    browser = staff_browser()
    change = browser.get(f"/admin/routing/provider/{provider.pk}/change/")
    assert change.status_code == 200
    page = change.content.decode()
    assert 'name="api_key"' in page and 'type="password"' in page
    assert FAKE_SECRET not in page
    assert FAKE_SECRET not in browser.get("/admin/routing/provider/").content.decode()


def test_provider_admin_keeps_the_secret_when_left_empty(db: None) -> None:
    """Saving the provider form with an empty key keeps the stored one; 'clear' removes it."""
    provider = Provider.objects.create(
        slug="keeper", name="Keeper", protocol="openai", api_key=FAKE_SECRET, region="us"
    )
    browser = staff_browser()
    url = f"/admin/routing/provider/{provider.pk}/change/"
    form = {
        "name": "Keeper renamed",
        "protocol": "openai",
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "",
        "requires_key": "on",
        "enabled": "on",
        "region": "us",
        "prices_source": "",
    }
    response = browser.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    provider.refresh_from_db()
    assert provider.name == "Keeper renamed" and provider.api_key == FAKE_SECRET
    browser.post(url, {**form, "clear_api_key": "on"})
    provider.refresh_from_db()
    assert provider.api_key == ""


def test_api_key_admin_shows_no_hash(db: None) -> None:
    """The key admin shows the prefix but not the hash (nor, of course, the key)."""
    _, raw = create_key("listed")
    key = ApiKey.objects.get(name="listed")
    browser = staff_browser()
    page = browser.get(f"/admin/routing/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and key.key_hash not in page and raw not in page


def test_create_a_key_in_the_admin_shows_it_once(gateway_db: None, live_app: LiveServer) -> None:
    """Adding a key with rpm, tpm, budget, regions and body storage shows the key once; it works, only its
    hash is stored, and the key list and its change page never show it again."""
    browser = staff_browser()
    form = {"name": "web-app", "rpm": "60", "tpm": "100000", "budget_usd": "25",
            "allowed_regions": "US, eu", "store_bodies": "on",
            "body_retention_days": "14"}  # fmt: skip
    response = browser.post("/admin/routing/apikey/add/", form)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    raw = re.search(r'<code id="issued-key"[^>]*>(sy-[^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    key = ApiKey.objects.get(name="web-app")
    assert (key.rpm, key.tpm, key.budget_usd, key.allowed_regions) == (60, 100000, 25, "us,eu")
    assert (key.store_bodies, key.body_retention_days) == (True, 14)
    assert key.key_hash == hash_key(raw) and raw.startswith(key.prefix)
    assert "shown only once" in page
    for url in ("/admin/routing/apikey/", f"/admin/routing/apikey/{key.pk}/change/"):
        assert raw not in browser.get(url).content.decode()
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    assert sdk.models.list().object == "list"


def test_create_key_form_errors_inline(db: None) -> None:
    """A bad budget or region tag is an error on its field; no key is made."""
    browser = staff_browser()
    response = browser.post("/admin/routing/apikey/add/", {"name": "x", "budget_usd": "-1",
                                                           "allowed_regions": "us;eu"})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200 and "A budget is a positive amount" in page
    assert "Region tags are letters and digits: us;eu." in page
    assert not ApiKey.objects.filter(name="x").exists()


def test_revoke_action_revokes_and_the_key_stops_working(
    gateway_db: None, live_app: LiveServer
) -> None:
    """The admin's revoke action sets revoked_at and the key gets 401 right away."""
    _, raw = create_key("doomed")
    _, kept = create_key("kept")
    sdk = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=raw, max_retries=0)
    assert sdk.models.list().data is not None
    doomed = ApiKey.objects.get(name="doomed")
    response = staff_browser().post(
        "/admin/routing/apikey/", {"action": "revoke", "_selected_action": [doomed.pk]}
    )
    assert response.status_code == 302
    doomed.refresh_from_db()
    assert doomed.revoked_at is not None
    assert ApiKey.objects.get(name="kept").revoked_at is None
    with pytest.raises(openai.AuthenticationError) as info:
        sdk.models.list()
    assert "revoked" in info.value.message
    other = openai.OpenAI(base_url=f"{live_app.url}/v1", api_key=kept, max_retries=0)
    assert other.models.list().object == "list"

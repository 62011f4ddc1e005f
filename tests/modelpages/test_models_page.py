"""/models/: browse and compare the catalog; /models/pick/: the picker's results."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from routing import catalog
from routing.models import Model, Provider

pytestmark = pytest.mark.usefixtures("providers")


@pytest.fixture
def web(providers: object) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("someone", password="pw"))
    Provider.objects.create(slug="keyless", name="Keyless Co", protocol="openai", region="us")
    Model.objects.create(provider=Provider.objects.get(slug="keyless"), model_id="big-one",
                         context_window=2_000_000, price_known=True, input_price=1, output_price=2)  # fmt: skip
    catalog.invalidate_local()
    return client


def listed(body: str) -> list[str]:
    return re.findall(r'<tr data-model="([^"]+)"', body)


def test_lists_and_filters(web: Client) -> None:
    """Every model with prices and context; search, provider and "configured only" narrow it."""
    body = web.get("/models/").content.decode()
    assert "fakeai/gpt-4o" in listed(body) and "keyless/big-one" in listed(body)
    assert "not configured" in body and "configured</span>" in body
    assert listed(web.get("/models/?q=mini").content.decode()) == ["fakeai/gpt-4o-mini"]
    only = listed(web.get("/models/?configured=1").content.decode())
    assert "keyless/big-one" not in only and "fakeai/gpt-4o" in only
    by_provider = listed(web.get("/models/?provider=fakeanthropic").content.decode())
    assert by_provider == ["fakeanthropic/claude-3-5-sonnet-20241022"]
    assert "No model matches" in web.get("/models/?q=zzzz-nothing").content.decode()


def test_sorts(web: Client) -> None:
    """By context window the 2M model comes first; by input price unknown prices come last."""
    assert listed(web.get("/models/?sort=context").content.decode())[0] == "keyless/big-one"
    by_price = listed(web.get("/models/?sort=input").content.decode())
    assert by_price[0] == "keyless/big-one" and by_price[-1] == "fakeai/unpriced-model"
    assert web.get("/models/?sort=evil").status_code == 200  # unknown sort: by name


def test_compare(web: Client) -> None:
    """Ticked models are compared side by side with the cost of 1,000 calls; unknown ids named."""
    body = web.get(
        "/models/?compare=fakeai/gpt-4o&compare=keyless/big-one&compare=nope/x"
    ).content.decode()
    compare = body[body.index('id="mp-compare"') : body.index('id="mp-list"')]
    assert "fakeai/gpt-4o" in compare and "keyless/big-one" in compare
    assert "Not in the catalog: <code>nope/x</code>" in compare
    # gpt-4o here: $2.50 / $10 per 1M -> 1,000 x (1,000 in + 300 out) = $5.50
    assert "$5.5000" in compare and "2,000,000" in compare


def test_picker_results(web: Client) -> None:
    """The picker lists matching models (no routes unless asked), marking the unconfigured."""
    body = web.get("/models/pick/?q=big").content.decode()
    assert 'data-pick="keyless/big-one"' in body and "KEYLESS_API_KEY" in body
    assert "route/" not in web.get("/models/pick/?q=gpt").content.decode()
    assert "No model matches" in web.get("/models/pick/?q=zzzz").content.decode()


def test_linked_from_both_tools(web: Client) -> None:
    """The site nav (every tool's page, the playground's too) links to the models page, and the
    calculator once more next to its baseline picker."""
    assert web.get("/costcalc/").content.decode().count('href="/models/"') == 2
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    nav = render_to_string("_nav.html", request=RequestFactory().get("/playground/"))
    assert '<a href="/models/">Models</a>' in nav

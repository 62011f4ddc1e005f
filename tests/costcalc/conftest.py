"""Costcalc fixtures: a catalog snapshot built from genai-prices and the default routes.

Projection tests need no database: ``snapshot`` holds the default routing table and the
models it names, priced from the real price data. View tests use ``catalog_db``: the
catalog synced into the test database once per module and rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from costcalc.projection import Env
from costcalc.prompts import PromptPool, bundled
from routing.catalog import ModelEntry, ProviderEntry, RouteEntry, Snapshot, TargetEntry, pricing
from routing.catalog.routetable import DEFAULT_ROUTES

DAY = dt.date(2026, 11, 26)
REFS = {
    "openai/gpt-4o": "openai:gpt-4o",
    "deepseek/deepseek-chat": "deepseek:deepseek-chat",
    "deepseek/deepseek-reasoner": "deepseek:deepseek-reasoner",
    "qwen/qwen3-32b": "openrouter:qwen/qwen3-32b",
    "anthropic/claude-3-5-sonnet-20241022": "anthropic:claude-3-5-sonnet-20241022",
    "groq/llama-3.3-70b-versatile": "groq:llama-3.3-70b-versatile",
    "openai/gpt-4o-mini": "openai:gpt-4o-mini",
    "acme/unpriced": "",
}


def model_entry(model_id: str, ref: str) -> ModelEntry:
    slug, _, name = model_id.partition("/")
    provider = ProviderEntry(slug, slug, "openai", "", "", True, "", "us")
    prices = pricing.list_prices(ref) if ref else None
    return ModelEntry(
        id=model_id,
        provider=provider,
        model_id=name,
        display_name=name,
        context_window=None,
        input_price=prices["input"] if prices else None,
        output_price=prices["output"] if prices else None,
        cached_input_price=prices["cached_input"] if prices else None,
        price_known=prices is not None,
        prices_ref=ref,
        region="us",
        note="",
    )


def route_entry(data: dict[str, Any]) -> RouteEntry:
    targets = tuple(
        TargetEntry(
            model=t["model"],
            query_type=t.get("query_type", ""),
            max_score=t.get("max_score"),
            params={k: t[k] for k in ("max_tokens", "temperature") if t.get(k) is not None},
            fallbacks=tuple(t.get("fallbacks") or ()),
        )
        for t in data["targets"]
    )
    budget = data.get("max_cost_usd")
    return RouteEntry(
        slug=data["slug"],
        strategy=data["strategy"],
        targets=targets,
        fallbacks=tuple(data.get("fallbacks") or ()),
        max_cost_usd=Decimal(str(budget)) if budget is not None else None,
    )


def build_snapshot(extra_routes: list[dict[str, Any]] | None = None) -> Snapshot:
    models = {mid: model_entry(mid, ref) for mid, ref in REFS.items()}
    routes = [r for r in DEFAULT_ROUTES if r["slug"] != "demo"] + (extra_routes or [])
    return Snapshot(1, models, {}, {}, {r["slug"]: route_entry(r) for r in routes})


@pytest.fixture(scope="session")
def snapshot() -> Snapshot:
    return build_snapshot()


@pytest.fixture(scope="session")
def pool() -> PromptPool:
    return bundled()


@pytest.fixture
def env(snapshot: Snapshot, pool: PromptPool) -> Env:
    return Env(snapshot, pool, DAY)


@pytest.fixture(scope="module")
def _synced_catalog(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The real catalog and default routes, once per module, rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("sync_catalog", stdout=io.StringIO())
        call_command("install_default_routes", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def catalog_db(_synced_catalog: None, db: None) -> None:
    """A test database holding the synced catalog (each test in its own savepoint)."""


@pytest.fixture
def web(catalog_db: None) -> Client:
    """Django's test client signed in as staff, who may replay traffic and upload (``client``
    is the OpenAI SDK in the shared conftest; anonymous callers: tests/test_production.py)."""
    from django.contrib.auth.models import User

    browser = Client()
    browser.force_login(User.objects.create_user("analyst", password="pw", is_staff=True))
    return browser


@pytest.fixture
def anonymous() -> Client:
    return Client()

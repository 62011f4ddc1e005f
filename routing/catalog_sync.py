"""Seed and refresh the catalog from the bundled genai-prices snapshot (no network)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from genai_prices.data_snapshot import get_snapshot

from routing import pricing
from routing.models import Alias, Model, Provider
from routing.seed import (
    ALIASES,
    BUILTIN_PROVIDERS,
    LEGACY_PREFIXES,
    NON_CHAT_MARKERS,
    SIM_MODELS,
    BuiltinProvider,
)


@dataclass
class SyncReport:
    providers: int = 0
    models: int = 0
    priced: int = 0
    unpriced: int = 0
    aliases: int = 0


def is_chat_model(model_id: str) -> bool:
    lowered = model_id.lower()
    if lowered.startswith(LEGACY_PREFIXES) and "gpt" not in lowered:
        return False
    return not any(marker in lowered for marker in NON_CHAT_MARKERS)


def offered_models(builtin: BuiltinProvider) -> list[tuple[str, str]]:
    """(provider's model id, genai-prices reference) for each chat model the provider serves."""
    if not builtin.prices_source:
        return []
    source = next(p for p in get_snapshot().providers if p.id == builtin.prices_source)
    offered = []
    for info in source.models:
        if info.deprecated or not info.id.startswith(builtin.model_prefix):
            continue
        short = info.id[len(builtin.model_prefix) :]
        model_id = builtin.id_template.format(id=short)
        if is_chat_model(model_id):
            offered.append((model_id, f"{source.id}:{info.id}"))
    offered += [(extra, f"{source.id}:{extra}") for extra in builtin.extra_models]
    return offered


def _upsert_provider(builtin: BuiltinProvider) -> Provider:
    provider, _ = Provider.objects.update_or_create(
        slug=builtin.slug,
        defaults={
            "name": builtin.name,
            "protocol": builtin.protocol,
            "requires_key": builtin.requires_key,
            "prices_source": builtin.prices_source,
            "builtin": True,
        },
        create_defaults={
            "name": builtin.name,
            "protocol": builtin.protocol,
            "requires_key": builtin.requires_key,
            "prices_source": builtin.prices_source,
            "builtin": True,
            "base_url": builtin.base_url,
            "region": builtin.region,
        },
    )
    return provider


def _upsert_model(provider: Provider, model_id: str, prices_ref: str, note: str = "") -> Model:
    prices = pricing.list_prices(prices_ref) if prices_ref else None
    defaults = {
        "prices_ref": prices_ref if prices else "",
        "price_known": prices is not None and prices["input"] is not None,
        "input_price": prices["input"] if prices else None,
        "output_price": prices["output"] if prices else None,
        "cached_input_price": prices["cached_input"] if prices else None,
        "context_window": pricing.context_window(prices_ref) if prices_ref else None,
        "note": note,
    }
    model, _ = Model.objects.update_or_create(
        provider=provider, model_id=model_id, defaults=defaults
    )
    return model


@transaction.atomic
def sync_catalog() -> SyncReport:
    report = SyncReport()
    for builtin in BUILTIN_PROVIDERS:
        provider = _upsert_provider(builtin)
        report.providers += 1
        for model_id, ref in offered_models(builtin):
            model = _upsert_model(provider, model_id, ref)
            report.models += 1
            report.priced += model.price_known
            report.unpriced += not model.price_known
    sim = Provider.objects.get(slug="sim")
    for model_id, ref, _pace in SIM_MODELS:
        _upsert_model(sim, model_id, ref, note=f"Simulated; priced as {ref.replace(':', '/')}")
        report.models += 1
        report.priced += 1
    for alias, target in ALIASES.items():
        slug, _, model_id = target.partition("/")
        model = Model.objects.filter(provider__slug=slug, model_id=model_id).first()
        if model is not None:
            Alias.objects.update_or_create(name=alias, defaults={"model": model})
            report.aliases += 1
    return report

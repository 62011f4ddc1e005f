"""Seed and refresh the catalog from the bundled genai-prices snapshot (no network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from genai_prices.data_snapshot import get_snapshot

from routing.catalog import pricing
from routing.catalog.seed import (
    ALIASES,
    BUILTIN_PROVIDERS,
    EMBEDDING_MODELS,
    LEGACY_PREFIXES,
    NON_CHAT_MARKERS,
    SIM_EMBEDDING,
    SIM_MODELS,
    BuiltinProvider,
)
from routing.models import Alias, Model, Provider


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


def _prices_ref(source: str, names: list[str], info_id: str) -> str:
    """A genai-prices reference that resolves to this very model.

    genai-prices finds models by their match clause, which often names the provider's own id
    (``accounts/fireworks/models/...``) rather than the genai-prices id; try both.
    """
    for name in names:
        found = pricing.lookup(f"{source}:{name}")
        if found is not None and found[1].id == info_id:
            return f"{source}:{name}"
    return f"{source}:{info_id}"


def offered_models(builtin: BuiltinProvider) -> list[tuple[str, str]]:
    """(provider's model id, genai-prices reference) for each chat model the provider serves."""
    if not builtin.prices_source:
        return []
    source = next(p for p in get_snapshot().providers if p.id == builtin.prices_source)
    offered: dict[str, str] = {}
    for info in source.models:
        if info.deprecated or not info.id.startswith(builtin.model_prefix):
            continue
        short = info.id[len(builtin.model_prefix) :]
        model_id = builtin.id_template.format(id=short)
        if is_chat_model(model_id) and f"{builtin.slug}/{model_id}" not in ALIASES:
            offered[model_id] = _prices_ref(source.id, [model_id, info.id], info.id)
    for extra in builtin.extra_models:
        offered.setdefault(extra, f"{source.id}:{extra}")
    return list(offered.items())


def _upsert_provider(builtin: BuiltinProvider) -> Provider:
    provider, _ = Provider.objects.update_or_create(
        slug=builtin.slug,
        defaults={
            "name": builtin.name,
            "serves_responses": builtin.serves_responses,
            "serves_completions": builtin.serves_completions,
            "protocol": builtin.protocol,
            "requires_key": builtin.requires_key,
            "prices_source": builtin.prices_source,
            "builtin": True,
        },
        create_defaults={
            "name": builtin.name,
            "serves_responses": builtin.serves_responses,
            "serves_completions": builtin.serves_completions,
            "protocol": builtin.protocol,
            "requires_key": builtin.requires_key,
            "prices_source": builtin.prices_source,
            "builtin": True,
            "base_url": builtin.base_url,
            "region": builtin.region,
        },
    )
    return provider


MODEL_FIELDS = (
    "prices_ref",
    "price_known",
    "input_price",
    "output_price",
    "cached_input_price",
    "context_window",
    "note",
)


def _model_fields(prices_ref: str, note: str = "") -> dict[str, Any]:
    prices = pricing.list_prices(prices_ref) if prices_ref else None
    return {
        "prices_ref": prices_ref if prices else "",
        "price_known": prices is not None and prices["input"] is not None,
        "input_price": prices["input"] if prices else None,
        "output_price": prices["output"] if prices else None,
        "cached_input_price": prices["cached_input"] if prices else None,
        "context_window": pricing.context_window(prices_ref) if prices_ref else None,
        "note": note,
    }


def _sync_models(provider: Provider, wanted: list[tuple[str, str, str]]) -> list[Model]:
    """Create or refresh (model id, prices ref, note) rows of one provider in bulk."""
    existing = {m.model_id: m for m in Model.objects.filter(provider=provider)}
    created, changed, synced = [], [], []
    for model_id, ref, note in wanted:
        fields = _model_fields(ref, note)
        model = existing.get(model_id)
        if model is None:
            model = Model(provider=provider, model_id=model_id, **fields)
            created.append(model)
        elif any(getattr(model, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(model, name, value)
            changed.append(model)
        synced.append(model)
    Model.objects.bulk_create(created, batch_size=500)
    Model.objects.bulk_update(changed, MODEL_FIELDS, batch_size=500)
    return synced


def _sync_embeddings(report: SyncReport) -> None:
    """Embedding models: priced like the rest, marked with their kind and vector length."""
    wanted = [(slug, model_id, ref, dims, "") for slug, model_id, ref, dims in EMBEDDING_MODELS]
    name, ref, dims = SIM_EMBEDDING
    wanted.append(("sim", name, ref, dims, f"Simulated; priced as {ref.replace(':', '/')}"))
    for slug, model_id, ref, dims, note in wanted:
        provider = Provider.objects.get(slug=slug)
        fields = {**_model_fields(ref, note), "kind": Model.Kind.EMBEDDING, "dimensions": dims}
        model, _ = Model.objects.update_or_create(
            provider=provider, model_id=model_id, defaults=fields
        )
        report.models += 1
        report.priced += model.price_known
        report.unpriced += not model.price_known


@transaction.atomic
def sync_catalog() -> SyncReport:
    """Bulk writes: model rows do not fire one config-version bump each (the command bumps)."""
    report = SyncReport()
    for builtin in BUILTIN_PROVIDERS:
        provider = _upsert_provider(builtin)
        report.providers += 1
        wanted = [(model_id, ref, "") for model_id, ref in offered_models(builtin)]
        for model in _sync_models(provider, wanted):
            report.models += 1
            report.priced += model.price_known
            report.unpriced += not model.price_known
    sim = Provider.objects.get(slug="sim")
    wanted = [
        (model_id, ref, f"Simulated; priced as {ref.replace(':', '/')}")
        for model_id, ref, _pace in SIM_MODELS
    ]
    for model in _sync_models(sim, wanted):
        report.models += 1
        report.priced += model.price_known
        report.unpriced += not model.price_known
    _sync_embeddings(report)
    for alias, target in ALIASES.items():
        slug, _, model_id = target.partition("/")
        # An alias wins over a same-named row an older sync created from a genai-prices id.
        alias_slug, _, alias_id = alias.partition("/")
        Model.objects.filter(
            provider__slug=alias_slug, provider__builtin=True, model_id=alias_id
        ).exclude(provider__slug=slug, model_id=model_id).delete()
        found = Model.objects.filter(provider__slug=slug, model_id=model_id).first()
        if found is not None:
            Alias.objects.update_or_create(name=alias, defaults={"model": found})
            report.aliases += 1
    return report

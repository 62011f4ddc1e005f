"""The catalog room: what models exist, what they cost, and the routing table.

This module is the catalog as the hot path sees it: immutable entries held in memory
(`sync`, `seed`, `routetable`, `pricing` and `signals` beside it fill and price it).

`current()` returns the snapshot of catalog, keys and routes, reloading it when the
configuration version moved (routing/catalog/version.py: any process changed catalog, keys or routes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError

from routing.catalog import names
from routing.catalog import version as confver
from routing.errors import GatewayError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    slug: str
    name: str
    protocol: str
    base_url: str
    api_key: str = field(repr=False)
    configured: bool
    reason: str  # why it is not configured ("" when it is)
    region: str
    rpm: int | None = None
    tpm: int | None = None
    serves_responses: bool = False  # OpenAI's Responses API, natively
    serves_completions: bool = False  # the legacy /v1/completions


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    provider: ProviderEntry
    model_id: str
    display_name: str
    context_window: int | None
    input_price: Decimal | None
    output_price: Decimal | None
    cached_input_price: Decimal | None
    price_known: bool
    prices_ref: str
    region: str
    note: str
    rpm: int | None = None
    tpm: int | None = None
    kind: str = "chat"  # chat | embedding
    dimensions: int | None = None  # embedding models: vector length

    @property
    def simulated(self) -> bool:
        return self.provider.slug == "sim"

    def estimate_cost(self, input_tokens: int, output_tokens: int) -> Decimal | None:
        output_price = self.output_price
        if output_price is None and self.kind == "embedding":
            output_price = Decimal(0)  # embeddings are priced on input only
        if not self.price_known or self.input_price is None or output_price is None:
            return None
        return (self.input_price * input_tokens + output_price * output_tokens) / 1_000_000


@dataclass(frozen=True, slots=True)
class KeyEntry:
    id: int
    name: str
    active: bool
    allowed_regions: frozenset[str] = frozenset()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: Decimal | None = None
    keep_days: int = 0  # store request bodies this many days (0: not at all)


@dataclass(frozen=True, slots=True)
class TargetEntry:
    model: str
    query_type: str = ""
    max_score: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteEntry:
    slug: str
    strategy: str
    targets: tuple[TargetEntry, ...]
    fallbacks: tuple[str, ...] = ()
    max_cost_usd: Decimal | None = None
    estimator: str = "learned"
    allowed_regions: frozenset[str] = frozenset()
    judge_model: str = ""
    cache_ttl: int = 0
    cache_nondeterministic: bool = False
    enabled: bool = True
    first_token_timeout: float | None = None
    keep_days: int = 0  # store request bodies this many days (0: not at all)


@dataclass(frozen=True)
class Snapshot:
    version: object  # routing/catalog/version.py's value when it was loaded
    models: dict[str, ModelEntry]
    aliases: dict[str, str]
    keys: dict[str, KeyEntry]
    routes: dict[str, RouteEntry] = field(default_factory=dict)
    bare: dict[str, list[ModelEntry]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        bare: dict[str, list[ModelEntry]] = {}
        for entry in self.models.values():
            bare.setdefault(entry.model_id.lower(), []).append(entry)
        object.__setattr__(self, "bare", bare)

    def resolve(self, name: str) -> ModelEntry | None:
        """A model by its id, an alias, or a bare provider model id (see `bare_candidates`)."""
        entry = self.models.get(name)
        if entry is None:
            target = self.aliases.get(name.lower())
            entry = self.models.get(target) if target else None
            if entry is None and target is None:
                entry = names.pick(self.bare_candidates(name), name)
        return entry

    def alias_target(self, name: str) -> str:
        """What an admin alias maps `name` to (a model id or route/<slug>), or `name`."""
        return self.aliases.get(name.lower(), name) if name not in self.models else name

    def bare_candidates(self, name: str) -> list[ModelEntry]:
        """The models whose provider serves `name` as its own id: configured providers only,
        or all of them when none is configured (so the error can say what to set)."""
        found = self.bare.get(name.lower(), [])
        configured = [m for m in found if m.provider.configured]
        return configured or found

    def not_found(self, name: str) -> GatewayError:
        return names.not_found(self, name)


def _provider_entry(provider: Any) -> ProviderEntry:
    default_url = f"{settings.SWITCHYARD_SELF_URL}/sim/v1" if provider.slug == "sim" else ""
    key = provider.effective_api_key()
    if provider.slug == "sim" and not key:
        key = settings.SWITCHYARD_INTERNAL_TOKEN  # the simulator answers only the gateway
    reason = ""
    if not provider.enabled:
        reason = "provider disabled"
    elif provider.requires_key and not key:
        reason = f"not configured: set {provider.env_prefix}_API_KEY"
    return ProviderEntry(
        slug=provider.slug,
        name=provider.name,
        protocol=provider.protocol,
        base_url=provider.effective_base_url(default_url).rstrip("/"),
        api_key=key,
        configured=not reason,
        reason=reason,
        region=provider.region,
        rpm=provider.rpm,
        tpm=provider.tpm,
        serves_responses=provider.serves_responses,
        serves_completions=provider.serves_completions,
    )


def _model_entry(model: Any, provider: ProviderEntry) -> ModelEntry:
    return ModelEntry(
        id=f"{provider.slug}/{model.model_id}",
        provider=provider,
        model_id=model.model_id,
        display_name=model.display_name or model.model_id,
        context_window=model.context_window,
        input_price=model.input_price,
        output_price=model.output_price,
        cached_input_price=model.cached_input_price,
        price_known=model.price_known,
        prices_ref=model.prices_ref,
        region=model.region or provider.region,
        note=model.note,
        rpm=model.rpm,
        tpm=model.tpm,
        kind=model.kind,
        dimensions=model.dimensions,
    )


def load_snapshot(version: object) -> Snapshot:
    """Read catalog, keys and routes from the database (sync)."""
    from routing.models import Alias, ApiKey, Model, Provider
    from routing.transport.records import drop_broken_connection

    drop_broken_connection()

    providers = {p.id: _provider_entry(p) for p in Provider.objects.all()}
    models = {}
    for model in Model.objects.filter(enabled=True).order_by("provider_id", "model_id"):
        entry = _model_entry(model, providers[model.provider_id])
        models[entry.id] = entry
    aliases = {
        a.name.lower(): a.destination
        for a in Alias.objects.select_related("model__provider")
        if a.destination
    }
    keys = {
        k.key_hash: KeyEntry(
            k.id,
            k.name,
            k.active,
            regions(k.allowed_regions),
            k.rpm,
            k.tpm,
            k.budget_usd,
            keep_days(k),
        )
        for k in ApiKey.objects.all()
    }
    return Snapshot(version, models, aliases, keys, load_routes())


def keep_days(row: Any) -> int:
    """How long a key's or route's requests keep their bodies (0: not kept)."""
    return row.body_retention_days if row.store_bodies else 0


def regions(text: str) -> frozenset[str]:
    return frozenset(r.strip().lower() for r in text.split(",") if r.strip())


def _target_entry(target: Any) -> TargetEntry:
    params = {"max_tokens": target.max_tokens, "temperature": target.temperature}
    return TargetEntry(
        model=target.model,
        query_type=target.query_type.strip().lower(),
        max_score=target.max_score,
        params={k: v for k, v in params.items() if v is not None},
        fallbacks=tuple(target.fallbacks or ()),
    )


def route_entry(route: Any, targets: list[Any]) -> RouteEntry:
    return RouteEntry(
        slug=route.slug,
        strategy=route.strategy,
        targets=tuple(_target_entry(t) for t in targets),
        fallbacks=tuple(route.fallbacks or ()),
        max_cost_usd=route.max_cost_usd,
        estimator=route.estimator or "learned",
        allowed_regions=regions(route.allowed_regions),
        judge_model=route.judge_model,
        cache_ttl=route.cache_ttl_seconds,
        cache_nondeterministic=route.cache_nondeterministic,
        enabled=route.enabled,
        first_token_timeout=route.first_token_timeout_seconds,
        keep_days=keep_days(route),
    )


def load_routes() -> dict[str, RouteEntry]:
    from routing.models import Route

    routes = Route.objects.prefetch_related("targets")
    return {r.slug: route_entry(r, list(r.targets.all())) for r in routes}


_current: Snapshot | None = None


async def current() -> Snapshot:
    """The up-to-date snapshot; reloaded off the event loop when the version moved."""
    global _current
    try:
        version: object = await confver.current()
    except Exception:  # noqa: BLE001 - shared state away: keep serving the last configuration
        log.warning("config version unreadable (shared state away); using the loaded snapshot")
        version = _current.version if _current is not None else None
    snap = _current
    if snap is not None and snap.version == version:
        return snap
    try:
        snap = await sync_to_async(load_snapshot, thread_sensitive=True)(version)
    except DatabaseError:
        if _current is None:
            raise GatewayError(
                503,
                "The configuration database is unreachable; try again shortly.",
                "service_unavailable",
                "database_unavailable",
            ) from None
        log.warning("configuration reload failed (database away); serving the loaded snapshot")
        return _current
    _current = snap
    return snap


def current_sync() -> Snapshot:
    """For management commands and sync code paths."""
    from asgiref.sync import async_to_sync

    return async_to_sync(current)()


def invalidate_local() -> None:
    global _current
    _current = None
    confver.forget()

"""The model picker: search the catalog (about 1,300 models) and describe picked rows.

Unconfigured providers are listed but disabled, with the reason ("not configured: set
OPENAI_API_KEY"). With no real provider configured, the simulator models come first and are
preselected.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from playground.forms import ROUTE_PREFIX, PaneInput, model_problem
from routing.catalog import ModelEntry, Snapshot

SIMULATED = ("sim/fast", "sim/balanced", "sim/smart")
KEYLESS = frozenset({"sim", "local"})  # configured without a key; not a sign of real providers
RESULT_LIMIT = 40


@dataclass(frozen=True)
class Option:
    """One model or route as the picker shows it."""

    id: str
    label: str
    detail: str
    problem: str
    simulated: bool = False
    input_price: Decimal | None = None
    output_price: Decimal | None = None

    @property
    def disabled(self) -> bool:
        return bool(self.problem)


def _price(value: Decimal | None) -> str:
    return f"${value.normalize():f}" if value is not None else "?"


def model_option(entry: ModelEntry) -> Option:
    prices = "price unknown"
    if entry.price_known:
        prices = f"{_price(entry.input_price)} in / {_price(entry.output_price)} out per 1M"
    problem = "" if entry.provider.configured else entry.provider.reason
    return Option(
        id=entry.id,
        label=entry.display_name if entry.display_name != entry.model_id else entry.id,
        detail=f"{entry.provider.name} · {prices}",
        problem=problem,
        simulated=entry.simulated,
        input_price=entry.input_price if entry.price_known else None,
        output_price=entry.output_price if entry.price_known else None,
    )


def route_option(slug: str, snapshot: Snapshot) -> Option:
    route = snapshot.routes[slug]
    name = ROUTE_PREFIX + slug
    strategy = getattr(route, "strategy", "route")
    return Option(name, name, f"Route · {strategy}", model_problem(name, snapshot))


def option_for(name: str, snapshot: Snapshot) -> Option:
    """A picked row: known models and routes get their details; anything else its problem."""
    if name.startswith(ROUTE_PREFIX) and name[len(ROUTE_PREFIX) :] in snapshot.routes:
        return route_option(name[len(ROUTE_PREFIX) :], snapshot)
    entry = snapshot.resolve(name)
    if entry is None:
        return Option(name, name, "", model_problem(name, snapshot))
    option = model_option(entry)
    return Option(**{**option.__dict__, "id": name})


def search(snapshot: Snapshot, query: str, limit: int = RESULT_LIMIT) -> list[Option]:
    """Routes and models matching every word of `query`; usable ones first."""
    terms = query.lower().split()
    found = [
        route_option(slug, snapshot)
        for slug in snapshot.routes
        if all(t in f"{ROUTE_PREFIX}{slug}" for t in terms)
    ]
    for entry in snapshot.models.values():
        if entry.kind != "chat":
            continue
        haystack = f"{entry.id} {entry.display_name} {entry.provider.name}".lower()
        if all(term in haystack for term in terms):
            found.append(model_option(entry))
    found.sort(key=lambda o: (o.disabled, not o.id.startswith(ROUTE_PREFIX), not o.simulated, o.id))
    return found[:limit]


def has_real_provider(snapshot: Snapshot) -> bool:
    return any(
        e.provider.configured and e.provider.slug not in KEYLESS for e in snapshot.models.values()
    )


def default_panes(snapshot: Snapshot) -> list[PaneInput]:
    """Simulator models when no real provider is configured, so streaming works at once."""
    if has_real_provider(snapshot):
        return []
    return [PaneInput(name) for name in SIMULATED if name in snapshot.models]

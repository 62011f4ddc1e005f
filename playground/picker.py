"""The model picker: search the catalog (about 1,300 models) and describe picked rows.

Unconfigured providers (and routes none of whose targets is configured) are listed but
disabled, with the reason ("not configured: set OPENAI_API_KEY"). Results come favourites
first, then the ones this user ran most, then usable before unusable, newest first (by the
version numbers and date in the id: `claude-sonnet-4` before `claude-3-5-sonnet-20241022`
before `claude-2`). With no real provider configured, the simulator models come first and
are preselected.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from playground.forms import ROUTE_PREFIX, PaneInput, blocking_problem, model_problem
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
    context_window: int | None = None
    blocking: bool = False  # unknown or disabled: the run cannot be sent with it

    @property
    def disabled(self) -> bool:
        return bool(self.problem)

    @property
    def context(self) -> str:
        return context_label(self.context_window)


def context_label(tokens: int | None) -> str:
    """128K, 1M, 8K context; "" when unknown."""
    if not tokens:
        return ""
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:g}M context"
    return f"{round(tokens / 1000):g}K context"


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
        context_window=entry.context_window,
    )


def route_option(slug: str, snapshot: Snapshot) -> Option:
    route = snapshot.routes[slug]
    name = ROUTE_PREFIX + slug
    problem = model_problem(name, snapshot)
    blocking = bool(blocking_problem(name, snapshot))
    return Option(name, name, f"Route · {route.strategy}", problem, blocking=blocking)


def option_for(name: str, snapshot: Snapshot) -> Option:
    """A picked row: known models and routes get their details; anything else its problem."""
    if name.startswith(ROUTE_PREFIX) and name[len(ROUTE_PREFIX) :] in snapshot.routes:
        return route_option(name[len(ROUTE_PREFIX) :], snapshot)
    entry = snapshot.resolve(name)
    if entry is None:
        return Option(name, name, "", model_problem(name, snapshot), blocking=True)
    option = model_option(entry)
    return Option(**{**option.__dict__, "id": name})


_NUMBER = re.compile(r"\d+")


def recency(model_id: str) -> tuple[int, ...]:
    """A sort key that puts newer models first: the version numbers in the id (a date such
    as 20241022 counts after the version: it is a snapshot of that version), negated."""
    numbers = [int(n) for n in _NUMBER.findall(model_id.split("/", 1)[-1])]
    versions = [n for n in numbers if n < 1000][:3]
    dates = [n for n in numbers if n >= 19_000_000]
    return tuple(-n for n in [*versions, *([0] * (3 - len(versions))), *(dates or [0])])


def search(
    snapshot: Snapshot,
    query: str,
    limit: int = RESULT_LIMIT,
    favourites: Collection[str] = (),
    uses: Mapping[str, int] | None = None,
) -> list[Option]:
    """Routes and models matching every word of `query`: favourites, then most used, then
    usable ones, newest first."""
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
    counts = uses or {}
    found.sort(
        key=lambda o: (
            o.id not in favourites,
            -counts.get(o.id, 0),
            o.disabled,
            not o.id.startswith(ROUTE_PREFIX),
            not o.simulated,
            recency(o.id),
            o.id,
        )
    )
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

"""The models page: the catalog as a sortable, filterable list, and a side-by-side comparison.

Reads the in-memory catalog snapshot (the same one the gateway routes with), so "configured"
means what it means for a request: the provider has its key (or needs none) and is enabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from routing.catalog import ModelEntry, Snapshot

SORTS = {
    "id": ("Name", lambda e: (e.id,)),
    "input": ("Input price", lambda e: (not e.price_known, e.input_price or 0, e.id)),
    "output": ("Output price", lambda e: (not e.price_known, e.output_price or 0, e.id)),
    "context": ("Context window", lambda e: (-(e.context_window or 0), e.id)),
}
MAX_COMPARE = 4
PAGE = 200


@dataclass(frozen=True)
class Query:
    q: str = ""
    provider: str = ""
    configured: bool = False
    sort: str = "id"
    compare: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, data: Any) -> Query:
        sort = str(data.get("sort", "id"))
        compare = tuple(dict.fromkeys(x for x in data.getlist("compare") if x))[:MAX_COMPARE]
        return cls(
            q=str(data.get("q", "")).strip()[:100],
            provider=str(data.get("provider", "")).strip()[:40],
            configured=data.get("configured") == "1",
            sort=sort if sort in SORTS else "id",
            compare=compare,
        )


@dataclass(frozen=True)
class Listing:
    rows: list[ModelEntry]
    total: int  # matching rows before the page cut
    catalog_size: int
    configured_count: int
    providers: list[tuple[str, str, bool]]  # slug, name, configured
    compared: list[ModelEntry]
    missing: list[str]  # compare ids not in the catalog


def _matches(entry: ModelEntry, query: Query) -> bool:
    if query.provider and entry.provider.slug != query.provider:
        return False
    if query.configured and not entry.provider.configured:
        return False
    haystack = f"{entry.id} {entry.display_name} {entry.provider.name}".lower()
    return all(term in haystack for term in query.q.lower().split())


def build(snapshot: Snapshot, query: Query) -> Listing:
    entries = list(snapshot.models.values())
    found = sorted((e for e in entries if _matches(e, query)), key=SORTS[query.sort][1])
    providers = {(e.provider.slug, e.provider.name, e.provider.configured) for e in entries}
    compared = [e for name in query.compare if (e := snapshot.resolve(name)) is not None]
    return Listing(
        rows=found[:PAGE],
        total=len(found),
        catalog_size=len(entries),
        configured_count=sum(e.provider.configured for e in entries),
        providers=sorted(providers, key=lambda p: (not p[2], p[1])),
        compared=compared,
        missing=[n for n in query.compare if snapshot.resolve(n) is None],
    )


def cost_per_1k_calls(
    entry: ModelEntry, input_tokens: int = 1000, output_tokens: int = 300
) -> Decimal | None:
    """What 1,000 calls of 1,000 tokens in and 300 out cost: one number to compare by."""
    one = entry.estimate_cost(input_tokens, output_tokens)
    return None if one is None else one * 1000

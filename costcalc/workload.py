"""The workload a projection runs over, its defaults, and the checks that need the catalog.

Plain values only (no Django forms or requests): ``forms.py`` parses text into a
:class:`Workload`; :func:`problems` checks what only the catalog and routing table can tell
(unknown baseline model, a route of the wrong strategy). Shares are percentages; small
rounding (within :data:`SHARE_TOLERANCE` points of 100) is normalised away, anything else is
rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from routing.catalog import Snapshot
from routing.engine.policies import STRATEGIES, projected

from .prompts import ESTIMATORS

HUNDRED = Decimal(100)
SHARE_TOLERANCE = Decimal("0.5")
MAX_REQUESTS = 10_000_000_000  # 10 billion a month: beyond that a typo is likelier
MAX_TOKENS = 2_000_000  # the largest context windows in the price data
MAX_BUDGET_USD = Decimal(100)
MAX_QUERY_TYPES = 30

# price_context for genai-prices' request-specific price variants.
PROCESSING: dict[str, dict[str, str] | None] = {
    "standard": None,
    "batch": {"processing": "batch"},
    "flex": {"service_tier": "flex"},
    "priority": {"service_tier": "priority"},
}


@dataclass(frozen=True)
class QueryType:
    name: str
    share: Decimal  # percent of requests
    input_tokens: int  # average per request
    output_tokens: int


@dataclass(frozen=True)
class Modifiers:
    cache_hit_rate: Decimal = Decimal(0)  # fraction 0..1 of requests answered from cache
    fallback_rate: Decimal = Decimal(0)  # fraction 0..1 of requests that fail over once
    processing: str = "standard"  # key of PROCESSING
    on_baseline: bool = True  # the baseline gets the same modifiers

    @property
    def price_context(self) -> dict[str, str] | None:
        return PROCESSING[self.processing]


NO_MODIFIERS = Modifiers()


@dataclass(frozen=True)
class Segment:
    """Requests a month that share a query type and average token counts."""

    query_type: str
    requests: Decimal
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0


@dataclass(frozen=True)
class Workload:
    requests: int  # a month
    types: tuple[QueryType, ...]
    baseline: str = "openai/gpt-4o"
    budget_usd: Decimal = Decimal("0.002")  # per request, for the budget policy
    routes: Mapping[str, str] = field(default_factory=dict)  # strategy -> route slug
    modifiers: Modifiers = field(default_factory=Modifiers)

    def route(self, strategy: str) -> str:
        """The route slug the policy of `strategy` plans with (its default if not given)."""
        projection = STRATEGIES[strategy].projection
        return self.routes.get(strategy) or (projection.default_route if projection else "")

    def share_total(self) -> Decimal:
        return sum((t.share for t in self.types), Decimal(0))

    def segments(self) -> list[Segment]:
        """Requests per query type, shares normalised to exactly 100 %."""
        total = self.share_total()
        if total <= 0:
            return []
        return [
            Segment(
                t.name, Decimal(self.requests) * t.share / total, t.input_tokens, t.output_tokens
            )
            for t in self.types
        ]

    def scaled(self, factor: int) -> Workload:
        return replace(self, requests=self.requests * factor)


DEFAULT_TYPES: tuple[QueryType, ...] = (
    QueryType("faq", Decimal(35), 300, 150),
    QueryType("code", Decimal(20), 1200, 600),
    QueryType("creative", Decimal(10), 400, 800),
    QueryType("analysis", Decimal(10), 8000, 1000),
    QueryType("multilingual", Decimal(8), 500, 400),
    QueryType("structured", Decimal(10), 800, 300),
    QueryType("reasoning", Decimal(7), 1000, 1500),
)
TYPE_LABELS = {
    "faq": "Simple Q&A",
    "code": "Code generation",
    "creative": "Creative writing",
    "analysis": "Long documents / analysis",
    "multilingual": "Multilingual",
    "open-weights": "Open weights",
    "structured": "Structured output",
    "reasoning": "Complex reasoning",
}
DEFAULT_WORKLOAD = Workload(requests=1_000_000, types=DEFAULT_TYPES)


def share_problem(types: tuple[QueryType, ...]) -> str | None:
    """Why the shares cannot be used, or None (within the tolerance they are normalised)."""
    if not types:
        return "Add at least one query type."
    total = sum((t.share for t in types), Decimal(0))
    if abs(total - HUNDRED) > SHARE_TOLERANCE:
        return f"Shares add up to {total.normalize():f} %, not 100 %."
    return None


def _route_problem(snapshot: Snapshot, slug: str, strategy: str) -> str | None:
    route = snapshot.routes.get(slug)
    if route is None or not route.enabled:
        return f"No enabled route '{slug}' in the routing table."
    if route.strategy != strategy:
        return f"Route '{slug}' uses the {route.strategy} strategy, not {strategy}."
    return None


def problems(workload: Workload, snapshot: Snapshot) -> dict[str, str]:
    """Field name -> message for what the catalog and routing table reject."""
    found: dict[str, str] = {}
    model = snapshot.resolve(workload.baseline)
    if model is None:
        found["baseline"] = f"Unknown model '{workload.baseline}': pick one from the catalog."
    elif not model.price_known or not model.prices_ref:
        found["baseline"] = f"'{model.id}' has no known price, so it cannot be a baseline."
    complexity = snapshot.routes.get(workload.route("complexity"))
    if complexity is not None and (complexity.estimator or "learned") not in ESTIMATORS:
        found["complexity_route"] = f"Unknown complexity estimator '{complexity.estimator}'."
    for strategy in projected():
        slug = workload.route(strategy.name)
        if (problem := _route_problem(snapshot, slug, strategy.name)) is not None:
            found[route_field(strategy.name)] = problem
    return found


def route_field(strategy: str) -> str:
    """The form field (and URL parameter) naming the route of a projected strategy."""
    return f"{strategy}_route"


def routes_by_strategy(snapshot: Snapshot) -> dict[str, list[str]]:
    """Enabled route slugs per strategy, for the route pickers."""
    out: dict[str, list[str]] = {}
    for route in snapshot.routes.values():
        if route.enabled:
            out.setdefault(route.strategy, []).append(route.slug)
    return {k: sorted(v) for k, v in out.items()}

"""The routing table as data: validation (shared by admin and import), export, import, defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from routing.engine.policies import STRATEGIES
from routing.models import Alias, Model, Route, RouteTarget

ROUTE_FIELDS = (
    "description",
    "enabled",
    "estimator",
    "judge_model",
    "cache_ttl_seconds",
    "cache_nondeterministic",
    "first_token_timeout_seconds",
)
TARGET_FIELDS = ("model", "query_type", "max_score", "max_tokens", "temperature", "fallbacks")


@dataclass
class CatalogIndex:
    """Enabled model ids (and aliases) with their context windows, for validation."""

    models: dict[str, int | None] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)
    embeddings: dict[str, int | None] = field(default_factory=dict)  # id -> dimensions

    @classmethod
    def load(cls) -> CatalogIndex:
        index = cls()
        for model in Model.objects.select_related("provider"):
            target = index.models if model.enabled and model.provider.enabled else None
            if target is None:
                index.disabled.add(model.public_id)
            else:
                target[model.public_id] = model.context_window
            if model.kind == Model.Kind.EMBEDDING:
                index.embeddings[model.public_id] = model.dimensions
        for alias in Alias.objects.select_related("model__provider"):
            if alias.destination:
                index.aliases[alias.name.lower()] = alias.destination
        return index

    def problem(self, name: str) -> str | None:
        canonical = self.aliases.get(str(name).lower(), name)
        if canonical in self.models:
            return None
        if canonical in self.disabled:
            return f"model '{name}' is disabled"
        return f"unknown model '{name}'"

    def canonical(self, name: str) -> str:
        return self.aliases.get(str(name).lower(), name)

    def limit(self, name: str) -> int | None:
        return self.models.get(self.aliases.get(str(name).lower(), name))


def _target_problems(t: dict[str, Any], where: str, index: CatalogIndex) -> list[str]:
    problems = []
    if not t.get("model"):
        problems.append(f"{where}.model: required")
    elif (p := index.problem(t["model"])) is not None:
        problems.append(f"{where}.model: {p}")
    temperature = t.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 2
    ):
        problems.append(f"{where}.temperature: must be between 0 and 2")
    max_tokens = t.get("max_tokens")
    if max_tokens is not None:
        limit = index.limit(t.get("model", ""))
        if not isinstance(max_tokens, int) or max_tokens < 1:
            problems.append(f"{where}.max_tokens: must be a positive integer")
        elif limit and max_tokens > limit:
            problems.append(f"{where}.max_tokens: {max_tokens} is above the model's limit {limit}")
    for name in t.get("fallbacks") or []:
        if (p := index.problem(name)) is not None:
            problems.append(f"{where}.fallbacks: {p}")
    return problems


def _route_models(data: dict[str, Any]) -> list[str]:
    names = []
    for t in data.get("targets") or []:
        names += [t.get("model") or "", *(t.get("fallbacks") or [])]
    return [str(n) for n in [*names, *(data.get("fallbacks") or [])] if n]


def _embedding_problems(data: dict[str, Any], index: CatalogIndex, where: str) -> list[str]:
    """A route serves chat or embeddings, never both; a fallback between embedding models
    only works when their vectors have the same length (an index holds one dimension)."""
    names = [index.canonical(n) for n in _route_models(data)]
    embedding = [n for n in names if n in index.embeddings]
    if not embedding:
        return []
    chat = [n for n in names if n in index.models and n not in index.embeddings]
    if chat:
        return [
            f"{where}.targets: mixes embedding models ({embedding[0]}) and chat models "
            f"({chat[0]}); a route serves one or the other"
        ]
    dims = {n: index.embeddings[n] for n in embedding}
    if len(set(dims.values())) > 1:
        listed = ", ".join(f"{n} ({d or '?'})" for n, d in dims.items())
        return [
            f"{where}.targets: embedding models of one route (fallbacks included) must "
            f"share one dimension: {listed}"
        ]
    if data.get("strategy") == "ensemble":
        return [f"{where}.strategy: embedding models cannot be an ensemble"]
    return []


def route_problems(data: dict[str, Any], index: CatalogIndex, where: str = "route") -> list[str]:
    """Every problem of one route, each naming its field."""
    problems = []
    slug = data.get("slug") or ""
    if not isinstance(slug, str) or not slug.replace("-", "").replace("_", "").isalnum():
        problems.append(f"{where}.slug: letters, digits, '-' and '_' only")
    strategy = STRATEGIES.get(str(data.get("strategy")))
    if strategy is None:
        problems.append(f"{where}.strategy: one of {', '.join(STRATEGIES)}")
    targets = data.get("targets") or []
    if not targets:
        problems.append(f"{where}.targets: at least one target")
    for i, target in enumerate(targets):
        problems += _target_problems(target, f"{where}.targets[{i}]", index)
    for name in data.get("fallbacks") or []:
        if (p := index.problem(name)) is not None:
            problems.append(f"{where}.fallbacks: {p}")
    if strategy is not None:
        problems += strategy.problems(targets, where)
    if data.get("judge_model") and (p := index.problem(data["judge_model"])) is not None:
        problems.append(f"{where}.judge_model: {p}")
    problems += _budget_problems(data, where)
    timeout = data.get("first_token_timeout_seconds")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout < 0.1):
        problems.append(f"{where}.first_token_timeout_seconds: a number of seconds, at least 0.1")
    problems += _embedding_problems(data, index, where)
    return problems


def _budget_problems(data: dict[str, Any], where: str) -> list[str]:
    value = data.get("max_cost_usd")
    if value is None:
        return []
    try:
        ok = Decimal(str(value)) > 0
    except InvalidOperation:
        ok = False
    return [] if ok else [f"{where}.max_cost_usd: must be a positive number"]


def export_routes() -> dict[str, Any]:
    routes = []
    for route in Route.objects.prefetch_related("targets"):
        entry: dict[str, Any] = {"slug": route.slug, "strategy": route.strategy}
        entry.update({name: getattr(route, name) for name in ROUTE_FIELDS})
        entry["max_cost_usd"] = (
            float(route.max_cost_usd) if route.max_cost_usd is not None else None
        )
        entry["allowed_regions"] = [
            r.strip() for r in route.allowed_regions.split(",") if r.strip()
        ]
        entry["fallbacks"] = route.fallbacks
        entry["targets"] = [
            {name: getattr(t, name) for name in TARGET_FIELDS} for t in route.targets.all()
        ]
        routes.append(entry)
    return {"routes": routes}


def _save_route(data: dict[str, Any]) -> Route:
    regions = data.get("allowed_regions") or []
    values = {name: data[name] for name in ROUTE_FIELDS if name in data}
    values.update(
        strategy=data["strategy"],
        max_cost_usd=data.get("max_cost_usd"),
        allowed_regions=",".join(regions) if isinstance(regions, list) else str(regions),
        fallbacks=list(data.get("fallbacks") or []),
    )
    route, _ = Route.objects.update_or_create(slug=data["slug"], defaults=values)
    route.targets.all().delete()
    for position, target in enumerate(data["targets"]):
        fields = {name: target[name] for name in TARGET_FIELDS if target.get(name) is not None}
        RouteTarget.objects.create(route=route, position=position, **fields)
    return route


def import_routes(payload: Any) -> tuple[list[str], list[str]]:
    """Validate everything first; write all routes or none. Returns (imported slugs, problems)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("routes"), list):
        return [], ['top level: expected {"routes": [...]}']
    index = CatalogIndex.load()
    problems: list[str] = []
    slugs: list[Any] = []  # raw JSON values until validated
    for i, route in enumerate(payload["routes"]):
        if not isinstance(route, dict):
            problems.append(f"routes[{i}]: expected an object")
            continue
        problems += route_problems(route, index, f"routes[{i}]")
        if route.get("slug") in slugs:
            problems.append(f"routes[{i}].slug: '{route['slug']}' appears twice")
        slugs.append(route.get("slug"))
    if problems:
        return [], problems
    with transaction.atomic():
        for route in payload["routes"]:
            _save_route(route)
    return slugs, []


CHEAP, MID, REASONER, STRONG = (
    "deepseek/deepseek-chat",
    "qwen/qwen3-32b",
    "deepseek/deepseek-reasoner",
    "openai/gpt-4o",
)
CHAIN = [MID, STRONG]

DEFAULT_ROUTES: list[dict[str, Any]] = [
    {
        "slug": "by-type",
        "strategy": "rules",
        "description": "By query type (metadata.query_type or x-switchyard-query-type).",
        "targets": [
            {
                "model": CHEAP,
                "query_type": "faq",
                "max_tokens": 256,
                "temperature": 0.3,
                "fallbacks": CHAIN,
            },
            {
                "model": REASONER,
                "query_type": "code",
                "max_tokens": 2048,
                "temperature": 0.2,
                "fallbacks": CHAIN,
            },
            {
                "model": STRONG,
                "query_type": "creative",
                "max_tokens": 1024,
                "temperature": 0.8,
                "fallbacks": [MID],
            },
            {
                "model": "anthropic/claude-3-5-sonnet-20241022",
                "query_type": "analysis",
                "max_tokens": 4096,
                "temperature": 0.4,
                "fallbacks": [STRONG],
            },
            {
                "model": MID,
                "query_type": "multilingual",
                "max_tokens": 1024,
                "temperature": 0.5,
                "fallbacks": [STRONG],
            },
            {
                "model": "groq/llama-3.3-70b-versatile",
                "query_type": "open-weights",
                "max_tokens": 1024,
                "temperature": 0.5,
                "fallbacks": CHAIN,
            },
            {
                "model": CHEAP,
                "query_type": "structured",
                "max_tokens": 1024,
                "temperature": 0.2,
                "fallbacks": CHAIN,
            },
            {
                "model": REASONER,
                "query_type": "reasoning",
                "max_tokens": 4096,
                "temperature": 0.4,
                "fallbacks": CHAIN,
            },
            {"model": CHEAP, "query_type": "", "fallbacks": CHAIN},
        ],
    },
    {
        "slug": "auto",
        "strategy": "complexity",
        "description": "By prompt complexity.",
        "fallbacks": [STRONG],
        "targets": [
            {"model": CHEAP, "max_score": 0.3},
            {"model": MID, "max_score": 0.6},
            {"model": REASONER, "max_score": 0.8},
            {"model": STRONG},
        ],
    },
    {
        "slug": "fallback",
        "strategy": "fallback",
        "description": "Cheapest first, most reliable last.",
        "targets": [{"model": CHEAP}, {"model": MID}, {"model": STRONG}],
    },
    {
        "slug": "budget",
        "strategy": "budget",
        "max_cost_usd": 0.002,
        "description": "Most capable model within metadata.max_cost_usd (default $0.002).",
        "targets": [{"model": STRONG}, {"model": REASONER}, {"model": MID}, {"model": CHEAP}],
    },
    {
        "slug": "fastest",
        "strategy": "latency",
        "description": "Best live time to first token and tokens/s.",
        "targets": [
            {"model": "groq/llama-3.3-70b-versatile"},
            {"model": CHEAP},
            {"model": MID},
            {"model": STRONG},
        ],
    },
    {
        "slug": "demo",
        "strategy": "complexity",
        "description": "Simulator models by complexity (no keys needed).",
        "targets": [
            {"model": "sim/fast", "max_score": 0.4},
            {"model": "sim/balanced", "max_score": 0.7},
            {"model": "sim/smart"},
        ],
    },
]


def install_default_routes() -> list[str]:
    """Create the default routes that do not exist yet (never overwrites an edited route)."""
    missing = [r for r in DEFAULT_ROUTES if not Route.objects.filter(slug=r["slug"]).exists()]
    if not missing:
        return []
    slugs, problems = import_routes({"routes": missing})
    if problems:
        raise ValueError("default routes do not validate: " + "; ".join(problems))
    return slugs

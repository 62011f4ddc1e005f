"""The registry of strategies: every consumer reads its entries, so a new strategy is one
entry (plus its test), and nothing else in the house changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import QueryDict

from costcalc.forms import CalculatorForm
from costcalc.projection import Env, project
from costcalc.prompts import bundled
from costcalc.workload import DEFAULT_WORKLOAD
from routing.catalog import RouteEntry, TargetEntry
from routing.catalog.routetable import CatalogIndex, route_problems
from routing.engine.plan import Attempt
from routing.engine.policies import (
    STRATEGIES,
    Choice,
    Context,
    PolicyInput,
    Projection,
    Strategy,
    plan_for,
)
from routing.models import Route
from tests.costcalc.conftest import DAY, build_snapshot
from tests.routing.engine.test_policies import snap


def cheapest(route: RouteEntry, inp: PolicyInput, ctx: Context) -> Choice:
    """A strategy a newcomer might add: the targets from the cheapest estimate up."""

    def cost(target: TargetEntry) -> Decimal:
        model = ctx.snapshot.resolve(target.model)
        found = Attempt(model).estimate_cost(inp.input_tokens, inp.output_tokens) if model else None
        return found if found is not None else Decimal("Infinity")

    ordered = sorted(route.targets, key=cost)
    return Choice([(t.model, t.params, t.fallbacks) for t in ordered], "cheapest first")


def two_or_more(targets: list[dict[str, object]], where: str) -> list[str]:
    return [] if len(targets) > 1 else [f"{where}.targets: cheapest needs two models to compare"]


CHEAPEST = Strategy(
    "cheapest",
    "Cheapest first",
    cheapest,
    two_or_more,
    projection=Projection("Cheapest-first", "Cheapest route", "cheap", "route/{route}"),
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Strategy:
    monkeypatch.setitem(STRATEGIES, CHEAPEST.name, CHEAPEST)
    return CHEAPEST


def test_the_route_model_offers_exactly_the_registry() -> None:
    """The admin's strategy choices are the registry's names and labels, in order."""
    field = Route._meta.get_field("strategy")
    assert list(field.choices or []) == [(s.name, s.label) for s in STRATEGIES.values()]
    assert [s.name for s in STRATEGIES.values()][:3] == ["rules", "complexity", "budget"]


def test_only_the_ensemble_fans_out() -> None:
    """Fanning out (no route fallbacks, no streaming, every attempt priced) is the entry's."""
    assert [s.name for s in STRATEGIES.values() if s.fans_out] == ["ensemble"]


def test_a_new_strategy_is_chosen_validated_listed_and_projected(registered: Strategy) -> None:
    """Registering one entry is enough for planning, validation, the admin and the calculator."""
    route = RouteEntry(
        "cheap", "cheapest", (TargetEntry("big/large"), TargetEntry("cheap/small")), ("mid/medium",)
    )
    plan = plan_for(PolicyInput("route/cheap", input_tokens=100), snap(route))
    assert [a.model.id for a in plan.attempts] == ["cheap/small", "big/large", "mid/medium"]
    assert (plan.reason, plan.fans_out) == ("cheapest first", False)

    index = CatalogIndex(models={"big/large": None, "cheap/small": None})
    one = {"slug": "c", "strategy": "cheapest", "targets": [{"model": "big/large"}]}
    assert route_problems(one, index) == ["route.targets: cheapest needs two models to compare"]
    two = {**one, "targets": [{"model": "big/large"}, {"model": "cheap/small"}]}
    assert route_problems(two, index) == []

    assert ("cheapest", "Cheapest first") in list(Route._meta.get_field("strategy").choices or [])


def test_a_new_projected_strategy_gets_its_policy_and_route_picker(registered: Strategy) -> None:
    """The calculator projects it next to the others and gives the form its route picker."""
    data = {"slug": "cheap", "strategy": "cheapest", "targets": [
        {"model": "openai/gpt-4o"}, {"model": "deepseek/deepseek-chat"}]}  # fmt: skip
    snapshot = build_snapshot([data])
    result = project(DEFAULT_WORKLOAD, Env(snapshot, bundled(), DAY))
    assert [p.key for p in result.policies] == [
        "baseline",
        "rules",
        "complexity",
        "budget",
        "cheapest",
    ]
    cheap = result.policies[-1]
    assert cheap.detail == "route/cheap"
    assert set(cheap.by("model")) == {"deepseek/deepseek-chat"}
    form = CalculatorForm(QueryDict(""), snapshot)
    assert form.fields["cheapest_route"].label == "Cheapest route"
    assert [f.name for f in form.route_fields][-1] == "cheapest_route"

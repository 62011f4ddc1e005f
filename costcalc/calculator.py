"""One call from a validated form to everything the page shows.

``calculate`` picks the prompt pool (bundled samples or a stored upload), optionally loads
the traffic of a period, runs the projection, and attaches the router's quality curves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from routing.catalog import Snapshot
from routing.tools.prompt_files import parse_upload

from . import curves as curves_mod
from .forms import CalculatorForm
from .models import PromptSet
from .projection import Env, Projection, project
from .prompts import (
    PromptPool,
    bundled,
    pool_from_scores,
    score_all,
    scores_payload,
    upload_key,
)
from .traffic import Traffic, load_traffic
from .workload import Modifiers, Workload


@dataclass
class Outcome:
    form: CalculatorForm
    projection: Projection | None = None
    workload: Workload | None = None
    traffic: Traffic | None = None
    curves: list[dict[str, Any]] = field(default_factory=list)
    curves_missing: str = ""
    curves_note: str = ""  # most of the workload is of shapes the curves were not measured on

    @property
    def ok(self) -> bool:
        return self.projection is not None


def prompt_pool(key: str | None) -> PromptPool | None:
    """The pool a permalink names; None when an upload id is unknown."""
    if not key or key == "samples":
        return bundled()
    stored = PromptSet.objects.filter(key=key).first()
    if stored is None:
        return None
    return pool_from_scores(stored.key, stored.label, stored.scores)


def _replay(workload: Workload, traffic: Traffic) -> Workload:
    """Traffic already has its cache hits and failovers: replay the rest without them."""
    mods = Modifiers(processing=workload.modifiers.processing, on_baseline=True)
    return replace(workload, modifiers=mods)


def calculate(form: CalculatorForm, snapshot: Snapshot, today: dt.date) -> Outcome:
    outcome = Outcome(form)
    if not form.full_valid():
        return outcome
    pool = prompt_pool(form.cleaned_data.get("prompts"))
    if pool is None:
        form.add_error("prompts", "This uploaded prompt set is unknown; upload it again.")
        return outcome
    workload = form.workload()
    env = Env(snapshot, pool, today)
    start, end = form.cleaned_data.get("traffic_from"), form.cleaned_data.get("traffic_to")
    if start and end:
        outcome.traffic = load_traffic(start, end)
        workload = _replay(workload, outcome.traffic)
        outcome.projection = project(workload, env, outcome.traffic.segments)
    else:
        outcome.projection = project(workload, env)
    outcome.workload = workload
    _attach_curves(outcome, pool)
    return outcome


def _attach_curves(outcome: Outcome, pool: PromptPool) -> None:
    loaded, why = curves_mod.load()
    if loaded is None:
        outcome.curves_missing = why
        return
    assert outcome.projection is not None
    charted = next(p for p in outcome.projection.policies if "strong_share" in p.extra)
    target = outcome.form.cleaned_data.get("quality_target")
    outcome.curves = curves_mod.chart_data(
        loaded,
        charted.extra.get("strong_share"),
        float(target) / 100 if target is not None else None,
    )
    shapes = pool.shapes()
    if outcome.traffic is not None:  # the period's own prompts, where their decisions say
        shapes = curves_mod.traffic_shapes(outcome.traffic.start, outcome.traffic.end) or shapes
    outcome.curves_note = curves_mod.shape_note(shapes, loaded)


def store_upload(filename: str, data: bytes) -> PromptSet:
    """Parse and score an uploaded prompt file once; the same file maps to the same id."""
    key = upload_key(data)
    existing = PromptSet.objects.filter(key=key).first()
    if existing is not None:
        return existing
    rows = parse_upload(filename, data)
    scored = score_all(rows)
    return PromptSet.objects.create(
        key=key, filename=filename[:200], count=len(scored), scores=scores_payload(scored)
    )

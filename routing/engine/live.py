"""Planning with what this process knows now: live latency and the complexity estimators.

`plan_for` is pure and takes both as arguments; the API, the admin's dry run and batch jobs
plan with the live ones through `plan_live`, the cost calculator with stored scores.
"""

from __future__ import annotations

from typing import Any

from routing.catalog import Snapshot
from routing.complexity import get_estimator
from routing.engine import latency
from routing.engine.plan import Plan
from routing.engine.policies import PolicyInput, plan_for


def score_prompt(estimator: str, prompt: str) -> Any:
    """The complexity score of `prompt` by the named estimator (default: learned)."""
    return get_estimator(estimator or "learned").score(prompt)


def plan_live(inp: PolicyInput, snapshot: Snapshot) -> Plan:
    """`plan_for` with this process's latency measurements and the real estimators."""
    return plan_for(inp, snapshot, latency.snapshot(), score_prompt)

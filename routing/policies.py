"""Policies: pure functions from (request, routing table, catalog) to a plan.

No I/O here, so the cost calculator and the admin dry-run can call them freely.
"""

from __future__ import annotations

from routing.catalog import Snapshot
from routing.errors import model_not_found
from routing.plan import Attempt, Plan


def plan_direct(model_name: str, snapshot: Snapshot) -> Plan:
    """A request that names a model: that model, nothing else."""
    model = snapshot.resolve(model_name)
    if model is None:
        raise model_not_found(model_name)
    return Plan(attempts=(Attempt(model),), reason=f"direct -> {model.id}")


def plan_for(model_name: str, snapshot: Snapshot) -> Plan:
    return plan_direct(model_name, snapshot)

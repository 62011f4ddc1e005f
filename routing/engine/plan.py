"""What a policy decides: an ordered list of attempts and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from routing.catalog import ModelEntry


@dataclass(frozen=True, slots=True)
class Attempt:
    model: ModelEntry
    params: dict[str, Any] = field(default_factory=dict)  # overrides merged into the body


@dataclass(frozen=True)
class Plan:
    attempts: tuple[Attempt, ...]
    route: str = ""
    reason: str = ""
    strategy: str = "direct"
    extra: dict[str, Any] = field(default_factory=dict)
    first_token_timeout: float | None = None  # the route's override (routing/engine/deadlines.py)

"""What the engine's parts report back: immutable outcomes, never writes to a shared record.

Dispatch and ensembles return `Answered` (or raise `Exhausted`, which carries the attempts
they made); the cache returns `routing.guards.cache.Cached`, the limits a `Reservation`.
The gateway keeps these on the request's `CallContext`, and `usage_row` builds the usage
record from them: a new fact is a field here, a line in the row builder and a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from routing.catalog import ModelEntry
from routing.catalog.pricing import TokenUsage
from routing.errors import GatewayError


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """One try of one model."""

    model: str
    outcome: str  # ok | skipped | rate_limit | server | timeout | connection | ...
    status: int | None = None
    ms: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "outcome": self.outcome,
            "status": self.status,
            "ms": round(self.ms, 1),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Answered:
    """A plan that answered: the model, every attempt, the usage and when the first token
    (or the whole answer) arrived. `costs` are exact cost parts (ensemble members, a judge)
    when the usage alone cannot price the call; None prices `usage` on `model`."""

    model: ModelEntry
    attempts: tuple[AttemptLog, ...]
    usage: TokenUsage
    at: float  # time.perf_counter()
    costs: tuple[Decimal | None, ...] | None = None


class Exhausted(GatewayError):
    """A plan that did not answer: the client's error, with the attempts made on the way."""

    def __init__(
        self, err: GatewayError, attempts: tuple[AttemptLog, ...], error_type: str = ""
    ) -> None:
        super().__init__(
            err.status, err.message, err.type, err.code, err.param, err.headers, err.details
        )
        self.attempts = attempts
        self.error_type = error_type

    @classmethod
    def new(
        cls, attempts: tuple[AttemptLog, ...], status: int, message: str, type: str, code: str
    ) -> Exhausted:
        """A plan that failed with this error; its details list the attempts."""
        details = [a.as_dict() for a in attempts]
        return cls(GatewayError(status, message, type, code, details=details), attempts)


@dataclass(frozen=True, slots=True)
class Ending:
    """How the request ended, as the usage record says it."""

    status: str = "ok"  # ok | error | cancelled
    http_status: int = 200
    error_type: str = ""


OK = Ending()
CANCELLED = Ending("cancelled", 499, "client_disconnected")

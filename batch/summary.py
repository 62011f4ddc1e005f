"""What a batch did and cost: counts, per-model cost and tokens, latency, failures by reason."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import orjson

EIGHT_PLACES = Decimal("1e-8")  # usage records keep 8 decimal places: so do we


def usd(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(EIGHT_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Outcome:
    """One finished line: what answered, what it cost, or why it failed."""

    ok: bool
    model: str = ""
    cost: Decimal | None = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    reason: str = ""  # the error code of a failed line


@dataclass
class ModelTally:
    requests: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cost_usd": float(self.cost_usd),
            "unpriced_requests": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return round(ordered[int(rank) - 1], 1)


@dataclass
class Tally:
    total: int
    done: int = 0
    failed: int = 0
    resumed: int = 0  # lines found in OUT from an earlier run
    spent: Decimal = Decimal(0)
    unpriced: int = 0
    models: dict[str, ModelTally] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def add(self, outcome: Outcome, resumed: bool = False) -> None:
        if outcome.ok:
            self.done += 1
        else:
            self.failed += 1
            self.failures[outcome.reason or "unknown"] += 1
        self.resumed += int(resumed)
        if outcome.latency_ms is not None and outcome.model:
            self.latencies.append(outcome.latency_ms)
        if outcome.model:
            self._add_model(outcome)
        elif outcome.cost:
            self.spent += usd(outcome.cost) or 0

    def _add_model(self, outcome: Outcome) -> None:
        entry = self.models.setdefault(outcome.model, ModelTally())
        entry.requests += 1
        entry.input_tokens += outcome.input_tokens
        entry.output_tokens += outcome.output_tokens
        cost = usd(outcome.cost)
        if cost is None:
            entry.unpriced += 1
            self.unpriced += 1
            return
        entry.cost_usd += cost
        self.spent += cost

    def rate(self) -> float:
        """Lines per second finished by this run (resumed lines excluded)."""
        elapsed = time.monotonic() - self.started
        return (self.finished - self.resumed) / elapsed if elapsed > 0 else 0.0

    def eta_seconds(self) -> float | None:
        rate = self.rate()
        left = self.total - self.finished
        return left / rate if rate > 0 else None

    def as_dict(self, stop_reason: str = "") -> dict[str, Any]:
        models = dict(sorted(self.models.items()))
        return {
            "total": self.total,
            "succeeded": self.done,
            "failed": self.failed,
            "not_run": self.total - self.finished,
            "resumed_from_output": self.resumed,
            "stopped": stop_reason or None,
            "cost_usd": float(self.spent),
            "cost_usd_exact": str(self.spent),
            "unpriced_requests": self.unpriced,
            "per_model": {name: entry.as_dict() for name, entry in models.items()},
            "tokens": {
                "input": sum(m.input_tokens for m in models.values()),
                "output": sum(m.output_tokens for m in models.values()),
            },
            "latency_ms": {f"p{p}": percentile(self.latencies, p) for p in (50, 90, 99)},
            "failures_by_reason": dict(self.failures.most_common()),
            "elapsed_seconds": round(time.monotonic() - self.started, 2),
        }


def render_text(summary: dict[str, Any]) -> str:
    """The summary as a few readable terminal lines."""
    lat = summary["latency_ms"]
    lines = [
        f"{summary['succeeded']} succeeded, {summary['failed']} failed, "
        f"{summary['not_run']} not run of {summary['total']}"
        + (f" (stopped: {summary['stopped']})" if summary["stopped"] else ""),
        f"cost ${summary['cost_usd_exact']}"
        + (f" + {summary['unpriced_requests']} unpriced" if summary["unpriced_requests"] else "")
        + f"; tokens in {summary['tokens']['input']}, out {summary['tokens']['output']}",
        f"latency ms p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}",
    ]
    for name, entry in summary["per_model"].items():
        lines.append(
            f"  {name}: {entry['requests']} requests, ${entry['cost_usd']:.6f}, "
            f"{entry['input_tokens']} in / {entry['output_tokens']} out"
        )
    for reason, count in summary["failures_by_reason"].items():
        lines.append(f"  failed {count} x {reason}")
    return "\n".join(lines)


def write_json(path: Path, summary: dict[str, Any]) -> None:
    """Write the summary whole (temp file + rename), so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    tmp.replace(path)

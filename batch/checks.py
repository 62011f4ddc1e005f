"""What an upload would do, before it is queued: which lines cannot run and what it may cost.

`check()` refuses a job that would only fail (an unknown or disabled route or model, a file
whose every line is invalid or names an unknown model) and counts the lines that will fail,
by reason. `estimate()` prices the plan each line would get (the first attempt: the model the
policy picks), over the first `ESTIMATE_LINES` lines, scaled to the whole file. Nothing here
calls a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from batch.inputs import BatchInput
from batch.runner import Options, new_context, prepare
from playground.forms import model_problem
from routing.catalog import Snapshot
from routing.engine import gateway
from routing.engine.live import plan_live
from routing.errors import GatewayError
from routing.schemas import ChatRequest

ESTIMATE_LINES = 2000
MAX_NAMED = 5


@dataclass
class Check:
    total: int
    invalid: Counter[str] = field(default_factory=Counter)  # reason -> lines
    unknown_models: Counter[str] = field(default_factory=Counter)  # model -> lines

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """(reason or unknown model, lines), most frequent first (templates cannot read a Counter)."""
        return self.invalid.most_common() + self.unknown_models.most_common()

    @property
    def failing(self) -> int:
        return sum(self.invalid.values()) + sum(self.unknown_models.values())

    def refusal(self) -> str:
        """Why the whole file would fail, or "" when some line can run."""
        if self.failing < self.total:
            return ""
        reasons = [f"{count} × {reason}" for reason, count in self.invalid.most_common(MAX_NAMED)]
        reasons += [
            f"{count} × {name}" for name, count in self.unknown_models.most_common(MAX_NAMED)
        ]
        return f"Every line of the file would fail ({'; '.join(reasons)}): nothing was queued."


@dataclass(frozen=True)
class Estimate:
    lines: int  # lines priced
    total: int  # lines in the file that can run
    cost: Decimal  # over the priced lines
    unpriced: int  # priced lines whose model has no known price

    @property
    def projected(self) -> Decimal:
        """The estimate scaled to every line that can run."""
        if not self.lines:
            return Decimal(0)
        return self.cost * self.total / self.lines

    @property
    def sampled(self) -> bool:
        return self.lines < self.total


def target_problem(options: Options, snapshot: Snapshot) -> str:
    """The job's own model or route, when it cannot be used (unknown, disabled, not configured)."""
    return model_problem(options.model, snapshot) if options.model else ""


def check(batch: BatchInput, options: Options, snapshot: Snapshot) -> Check:
    result = Check(total=len(batch.items))
    for item in batch.items:
        prepared = prepare(item, options)
        if not isinstance(prepared, ChatRequest):
            result.invalid[getattr(prepared, "code", "") or "invalid_request"] += 1
        elif not options.model and model_problem(prepared.model, snapshot):
            result.unknown_models[prepared.model] += 1
    return result


def _line_cost(chat: ChatRequest, snapshot: Snapshot) -> Decimal | None:
    inp = gateway.policy_input(chat, new_context(chat))
    try:
        plan = plan_live(inp, snapshot)
    except GatewayError:
        return Decimal(0)  # it will fail without calling a model
    if not plan.attempts:
        return Decimal(0)
    return plan.attempts[0].estimate_cost(inp.input_tokens, inp.output_tokens)


def estimate(batch: BatchInput, options: Options, snapshot: Snapshot) -> Estimate:
    runnable = [
        chat
        for item in batch.items
        if isinstance(chat := prepare(item, options), ChatRequest)
        and (options.model or not model_problem(chat.model, snapshot))
    ]
    cost, unpriced = Decimal(0), 0
    for chat in runnable[:ESTIMATE_LINES]:
        line = _line_cost(chat, snapshot)
        if line is None:
            unpriced += 1
        else:
            cost += line
    return Estimate(min(len(runnable), ESTIMATE_LINES), len(runnable), cost, unpriced)

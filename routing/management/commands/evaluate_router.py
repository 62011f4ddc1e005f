"""Evaluate complexity estimators (APGR / CPT) on GSM8K test and held-out MMLU subjects.

With catalog prices for a weak/strong pair (``--weak`` / ``--strong``, catalog ids), the
learned estimator's curve is also reported in dollars per 1,000 requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

SYNC_HINT = (
    "run `make setup` (or `python manage.py migrate` and `python manage.py sync_catalog`) "
    "first, or pass --no-dollars"
)


def _usd_per_request(model_id: str, input_tokens: int, output_tokens: int) -> tuple[float, str]:
    """(USD per request, prices_ref) of a catalog model for the given average tokens."""
    from routing import catalog
    from routing.catalog.pricing import TokenUsage, cost, list_price_time

    try:
        snapshot = catalog.current_sync()
    except Exception as exc:  # noqa: BLE001 - e.g. database not migrated
        raise CommandError(f"cannot read the model catalog ({exc}): {SYNC_HINT}") from exc
    if not snapshot.models:
        raise CommandError(f"the model catalog is empty: {SYNC_HINT}")
    entry = snapshot.resolve(model_id)
    if entry is None:
        raise CommandError(f"{model_id!r} is not in the model catalog (use a catalog id)")
    usd = (
        # at list price: the curve must not depend on the hour it was computed (DeepSeek
        # charges half from 16:30 to 00:30 UTC)
        cost(
            entry.prices_ref,
            TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
            when=list_price_time(),
        )
        if entry.prices_ref
        else None
    )
    if usd is None:
        raise CommandError(f"{model_id!r} has no known price in the catalog")
    return float(usd), entry.prices_ref


def pricing(weak: str, strong: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    weak_usd, weak_ref = _usd_per_request(weak, input_tokens, output_tokens)
    strong_usd, strong_ref = _usd_per_request(strong, input_tokens, output_tokens)
    return {
        "weak": weak,
        "strong": strong,
        "weak_prices_ref": weak_ref,
        "strong_prices_ref": strong_ref,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "weak_usd": weak_usd,
        "strong_usd": strong_usd,
    }


class Command(BaseCommand):
    help = (
        "Evaluate the complexity router (APGR, CPT50, CPT80, $ per 1k requests); write curves JSON."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")
        parser.add_argument(
            "--curves",
            default=None,
            help="where to write curves JSON (default: SWITCHYARD_ROUTER_CURVES, the file the "
            "cost calculator charts)",
        )
        parser.add_argument(
            "--data", default=None, help="routellm data folder (default: ../shared/data/routellm)"
        )
        parser.add_argument(
            "--folds", type=int, default=5, help="subject-grouped CV folds for MMLU"
        )
        parser.add_argument(
            "--retrain", action="store_true", help="score GSM8K test with a freshly trained model"
        )
        parser.add_argument(
            "--robustness",
            action="store_true",
            help="also 5 other subject-to-fold assignments and leave-one-subject-out (~2 min)",
        )
        parser.add_argument(
            "--weak", default="deepseek/deepseek-chat", help="catalog id of the cheap model"
        )
        parser.add_argument(
            "--strong", default="openai/gpt-4o", help="catalog id of the capable model"
        )
        parser.add_argument(
            "--input-tokens", type=int, default=500, help="average input tokens per request"
        )
        parser.add_argument(
            "--output-tokens", type=int, default=300, help="average output tokens per request"
        )
        parser.add_argument(
            "--no-dollars", action="store_true", help="skip the catalog-priced dollar curve"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        # the lab (routerlab, the [train] extra) is imported only when the command runs
        from routerlab.evaluate import add_dollars, dollars_table, evaluate, table, write_curves

        prices = None
        if not opts["no_dollars"]:  # resolve prices first: fail fast, before the evaluation
            prices = pricing(
                opts["weak"], opts["strong"], opts["input_tokens"], opts["output_tokens"]
            )
        result = evaluate(
            opts["data"],
            folds=opts["folds"],
            retrain=opts["retrain"],
            with_robustness=opts["robustness"],
        )
        if prices is not None:
            add_dollars(result, prices)
        path = write_curves(result, opts["curves"] or settings.SWITCHYARD_ROUTER_CURVES)
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=1))
        else:
            self.stdout.write(table(result))
            if prices is not None:
                self.stdout.write(dollars_table(result))
            shown = path.resolve() == Path(settings.SWITCHYARD_ROUTER_CURVES).resolve()
            note = " (the file the cost calculator charts)" if shown else ""
            self.stdout.write(f"curves written to {path}{note}")

"""Evaluate complexity estimators (APGR / CPT) on GSM8K test and held-out MMLU subjects."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from routing.complexity.evaluate import evaluate, table, write_curves


class Command(BaseCommand):
    help = "Evaluate the complexity router (APGR, CPT50, CPT80) and write curves JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")
        parser.add_argument(
            "--curves", default="var/router_curves.json", help="where to write curves JSON"
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

    def handle(self, *args: Any, **opts: Any) -> None:
        result = evaluate(opts["data"], folds=opts["folds"], retrain=opts["retrain"])
        path = write_curves(result, opts["curves"])
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=1))
        else:
            self.stdout.write(table(result))
            self.stdout.write(f"curves written to {path}")

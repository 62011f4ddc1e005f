"""Rebuild the learned complexity artefact deterministically (the lab, ``routerlab``: needs
the ``[train]`` extra, numpy + scikit-learn)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Train routing/complexity/learned_v3.json (and its report) from the RouteLLM data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--data", default=None, help="routellm data folder (default: ../shared/data/routellm)"
        )
        parser.add_argument("--no-report", action="store_true", help="skip the evaluation report")
        parser.add_argument(
            "--no-robustness",
            action="store_true",
            help="report only the canonical folds (skip other fold assignments and LOSO)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from routerlab.artefact import build_artefact  # the lab: the [train] extra

        kwargs: dict[str, Any] = {"report": None} if opts["no_report"] else {}
        kwargs["robustness"] = not opts["no_robustness"]
        summary = build_artefact(opts["data"], **kwargs)
        self.stdout.write(json.dumps(summary, indent=1))

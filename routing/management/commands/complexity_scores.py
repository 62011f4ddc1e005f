"""Score prompts from a CSV: `complexity_scores INPUT.csv > OUT.csv` (prompt,score rows)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from routing.complexity import get_estimator


class Command(BaseCommand):
    help = "Read a CSV with a `prompt` column and write `prompt,score` rows in the same order."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("input", help="CSV file with a header row containing `prompt`")
        parser.add_argument("--estimator", default="learned", help="learned | heuristic | length")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            estimator = get_estimator(opts["estimator"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        with open(opts["input"], newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if "prompt" not in (reader.fieldnames or []):
                raise CommandError(
                    f"{opts['input']}: no `prompt` column (columns: {reader.fieldnames})"
                )
            self._emit(["prompt", "score"])
            for row in reader:
                prompt = row["prompt"] or ""
                self._emit([prompt, f"{estimator.score(prompt).value:.6f}"])

    def _emit(self, fields: list[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(fields)
        self.stdout.write(buf.getvalue(), ending="")

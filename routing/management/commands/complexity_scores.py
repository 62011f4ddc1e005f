"""Score prompts from a CSV: `complexity_scores INPUT.csv > OUT.csv` (prompt,score rows;
`--with-part` adds the estimator part that scored each prompt)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from routing.complexity import get_estimator

# A prompt may be a long document: csv's default limit (128 KiB per field) would stop on it.
FIELD_LIMIT = 64 * 1024 * 1024


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    """The input as text (``-`` is standard input); a UTF-8 byte-order mark is dropped."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        return
    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror})") from exc
    with fh:
        yield fh


class Command(BaseCommand):
    help = "Read a CSV with a `prompt` column and write `prompt,score` rows in the same order."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "input", help="CSV file with a header row containing `prompt` (- for stdin)"
        )
        parser.add_argument("--estimator", default="learned", help="learned | heuristic | length")
        parser.add_argument(
            "--with-part",
            action="store_true",
            help="add a third column: the estimator part that scored the prompt",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            estimator = get_estimator(opts["estimator"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        path = opts["input"]
        csv.field_size_limit(FIELD_LIMIT)
        with _open(path) as fh:
            prompts = self._read(csv.DictReader(fh, strict=True), path)
        out = csv.writer(self.stdout, lineterminator="\n")
        out.writerow(["prompt", "score", "part"] if opts["with_part"] else ["prompt", "score"])
        for prompt in prompts:
            score = estimator.score(prompt)
            row = [prompt, f"{score.value:.6f}"]
            out.writerow([*row, score.part] if opts["with_part"] else row)

    def _read(self, reader: csv.DictReader[str], path: str) -> list[str]:
        """Every row's prompt, read whole first: a broken file writes no partial output."""
        try:
            if "prompt" not in (reader.fieldnames or []):
                raise CommandError(f"{path}: no `prompt` column (columns: {reader.fieldnames})")
            return [row["prompt"] or "" for row in reader]
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:
            raise CommandError(
                f"{path}: not valid CSV after line {reader.line_num} ({exc})"
            ) from exc

"""Prompts the complexity policy is simulated on: the bundled samples or an upload.

Every prompt is scored once with each complexity estimator (the gateway's own
``score_prompt``); projections then run the complexity route over the stored scores, so an
upload's effect is reproducible from its id without keeping the prompt text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from routing.gateway import score_prompt

ESTIMATORS = ("learned", "heuristic", "length")
SAMPLES = Path(__file__).resolve().parent / "samples" / "prompts.jsonl"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PROMPTS = 5_000
MAX_QUERY_TYPE_LENGTH = 40


class UploadError(ValueError):
    """A malformed upload; the message is shown next to the upload field."""


@dataclass(frozen=True)
class ScoredPrompt:
    query_type: str  # "" applies to every query type without prompts of its own
    scores: dict[str, float]  # estimator name -> complexity score in [0, 1]


@dataclass(frozen=True)
class PromptPool:
    key: str  # "samples" or the upload's id
    label: str
    prompts: tuple[ScoredPrompt, ...]

    def for_type(self, query_type: str) -> tuple[ScoredPrompt, ...]:
        """The type's own prompts, else the untyped ones, else all of them."""
        own = tuple(p for p in self.prompts if p.query_type == query_type)
        if own:
            return own
        untyped = tuple(p for p in self.prompts if not p.query_type)
        return untyped or self.prompts

    def types(self) -> list[str]:
        return sorted({p.query_type for p in self.prompts if p.query_type})


def score(prompt: str) -> dict[str, float]:
    return {name: float(score_prompt(name, prompt).value) for name in ESTIMATORS}


def score_all(rows: Iterable[tuple[str, str]]) -> tuple[ScoredPrompt, ...]:
    return tuple(ScoredPrompt(qt, score(text)) for qt, text in rows)


@lru_cache(maxsize=1)
def bundled() -> PromptPool:
    """The sample prompts shipped with the calculator, scored once per process."""
    rows = _jsonl_rows(SAMPLES.read_text(encoding="utf-8"))
    return PromptPool("samples", f"{len(rows)} bundled sample prompts", score_all(rows))


def upload_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def parse_upload(filename: str, data: bytes) -> list[tuple[str, str]]:
    """(query type, prompt) rows of a CSV (``prompt`` column, optional ``query_type``) or JSONL."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
        )
    text = _decode(data)
    is_jsonl = filename.lower().endswith((".jsonl", ".ndjson", ".json")) or text.lstrip()[:1] in (
        "{",
        "[",
    )
    rows = _jsonl_rows(text) if is_jsonl else _csv_rows(text)
    if not rows:
        raise UploadError("The file has no prompts.")
    if len(rows) > MAX_PROMPTS:
        raise UploadError(f"The file has {len(rows)} prompts; the limit is {MAX_PROMPTS}.")
    return rows


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UploadError("This looks like a binary file; upload CSV or JSONL text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError("The file is not UTF-8 text; upload CSV or JSONL.") from None


def _row(query_type: object, prompt: object, where: str) -> tuple[str, str]:
    if not isinstance(prompt, str) or not prompt.strip():
        raise UploadError(f"{where}: 'prompt' must be non-empty text.")
    kind = query_type.strip().lower() if isinstance(query_type, str) else ""
    if len(kind) > MAX_QUERY_TYPE_LENGTH:
        raise UploadError(f"{where}: 'query_type' is longer than {MAX_QUERY_TYPE_LENGTH}.")
    return kind, prompt


def _jsonl_rows(text: str) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise UploadError(
                f"Line {number}: not valid JSON (expected one object per line)."
            ) from None
        if not isinstance(item, dict) or "prompt" not in item:
            raise UploadError(f'Line {number}: expected an object with a "prompt" field.')
        rows.append(_row(item.get("query_type"), item["prompt"], f"Line {number}"))
    return rows


def _csv_rows(text: str) -> list[tuple[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        if "prompt" not in header:
            found = ", ".join(header[:5]) or "none"
            raise UploadError(f"The CSV needs a 'prompt' column (found: {found}).")
        reader.fieldnames = header
        return [
            _row(r.get("query_type"), r.get("prompt"), f"Row {n}")
            for n, r in enumerate(reader, start=2)
        ]
    except csv.Error as exc:
        raise UploadError(f"The CSV cannot be read: {exc}.") from None


def pool_from_scores(key: str, label: str, items: list[list[object]]) -> PromptPool:
    """Rebuild a pool from stored ``[[query_type, {estimator: score}], ...]``."""
    prompts = tuple(ScoredPrompt(str(qt), dict(s)) for qt, s in items)  # type: ignore[call-overload]
    return PromptPool(key, label, prompts)


def scores_payload(prompts: tuple[ScoredPrompt, ...]) -> list[list[object]]:
    return [[p.query_type, p.scores] for p in prompts]

"""Files of prompts people upload (a sample to calibrate a route on, a workload to project):
CSV with a ``prompt`` column (and optional ``query_type``) or JSONL, checked whole."""

from __future__ import annotations

import csv
import io
import json

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PROMPTS = 5_000
MAX_QUERY_TYPE_LENGTH = 40


class UploadError(ValueError):
    """A malformed upload; the message is shown next to the upload field."""


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
    rows = jsonl_rows(text) if is_jsonl else _csv_rows(text)
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


def jsonl_rows(text: str) -> list[tuple[str, str]]:
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

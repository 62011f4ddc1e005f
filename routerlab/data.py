"""Loaders for the RouteLLM correctness labels, the GSM8K split and subject-grouped folds.

Data lives in ``../shared/data/routellm`` next to the repository (override with the
``SWITCHYARD_ROUTELLM_DIR`` environment variable). See that folder's README: MMLU
held-out subjects are not there and must never be fetched; the GSM8K test split is
defined by :func:`is_gsm8k_test` and is never trained or tuned on.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "routellm"
ENV_VAR = "SWITCHYARD_ROUTELLM_DIR"


@dataclass(frozen=True)
class Row:
    prompt: str
    weak_correct: bool
    strong_correct: bool
    domain: str  # MMLU subject, or "gsm8k"


def data_dir(path: str | Path | None = None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def _bool(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"expected True/False, got {text!r}")
    return text == "True"


class DataMissing(FileNotFoundError):
    """A RouteLLM data file is not where the loaders look (one line says which and why)."""


def _read(file: Path, default_domain: str) -> list[Row]:
    if not file.is_file():
        raise DataMissing(
            f"RouteLLM data missing: {file} not found (expected ../shared/data/routellm next "
            f"to the repository, or set {ENV_VAR})"
        )
    with file.open(newline="", encoding="utf-8") as fh:
        return [
            Row(
                prompt=rec["prompt"],
                weak_correct=_bool(rec["weak_correct"]),
                strong_correct=_bool(rec["strong_correct"]),
                domain=rec.get("domain") or default_domain,
            )
            for rec in csv.DictReader(fh)
        ]


def load_mmlu(path: str | Path | None = None) -> list[Row]:
    """All rows of ``mmlu_dev.csv`` (the DEV subjects only)."""
    return _read(data_dir(path) / "mmlu_dev.csv", "mmlu")


def load_gsm8k(path: str | Path | None = None) -> list[Row]:
    """All rows of ``gsm8k_responses.csv`` (train and test; split with :func:`is_gsm8k_test`)."""
    return _read(data_dir(path) / "gsm8k_responses.csv", "gsm8k")


def is_gsm8k_test(prompt: str) -> bool:
    """The fixed GSM8K test-split rule from the data README."""
    return int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 5 == 0


def gsm8k_split(path: str | Path | None = None) -> tuple[list[Row], list[Row]]:
    """(train, test) GSM8K rows."""
    rows = load_gsm8k(path)
    return [r for r in rows if not is_gsm8k_test(r.prompt)], [
        r for r in rows if is_gsm8k_test(r.prompt)
    ]


def subject_folds(domains: list[str], k: int = 5, seed: int = 0) -> dict[str, int]:
    """Deterministic subject -> fold map: subjects ordered by sha256, dealt round-robin.

    ``seed`` 0 is the canonical assignment (sha256 of the subject); other seeds order by
    sha256 of ``"seed:subject"``, for checking that a result does not hang on one split.
    ``k`` >= the number of subjects gives leave-one-subject-out.
    """

    def key(d: str) -> str:
        return hashlib.sha256((f"{seed}:{d}" if seed else d).encode()).hexdigest()

    return {d: i % k for i, d in enumerate(sorted(set(domains), key=key))}

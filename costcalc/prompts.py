"""Prompts the complexity policy is simulated on: the bundled samples or an upload.

Every prompt is scored once with each complexity estimator (the gateway's own
``score_prompt``); projections then run the complexity route over the stored scores, so an
upload's effect is reproducible from its id without keeping the prompt text.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from routing.complexity.shapes import shape_of
from routing.engine.live import score_prompt
from routing.tools.prompt_files import jsonl_rows

ESTIMATORS = ("learned", "heuristic", "length")
SAMPLES = Path(__file__).resolve().parent / "samples" / "prompts.jsonl"


@dataclass(frozen=True)
class ScoredPrompt:
    query_type: str  # "" applies to every query type without prompts of its own
    scores: dict[str, float]  # estimator name -> complexity score in [0, 1]
    shape: str = ""  # multiple_choice | word_problem | chat ("" = not known: an older upload)


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

    def shapes(self) -> dict[str, int]:
        """How many prompts of each shape (the router's quality curves hold for some only)."""
        return dict(Counter(p.shape for p in self.prompts if p.shape))


def score(prompt: str) -> dict[str, float]:
    return {name: float(score_prompt(name, prompt).value) for name in ESTIMATORS}


def score_all(rows: Iterable[tuple[str, str]]) -> tuple[ScoredPrompt, ...]:
    return tuple(ScoredPrompt(qt, score(text), shape_of(text)) for qt, text in rows)


@lru_cache(maxsize=1)
def bundled() -> PromptPool:
    """The sample prompts shipped with the calculator, scored once per process."""
    rows = jsonl_rows(SAMPLES.read_text(encoding="utf-8"))
    return PromptPool("samples", f"{len(rows)} bundled sample prompts", score_all(rows))


def upload_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def pool_from_scores(key: str, label: str, items: list[list[object]]) -> PromptPool:
    """Rebuild a pool from stored ``[[query_type, {estimator: score}, shape], ...]`` (uploads
    stored before shapes were recorded have no third item)."""
    prompts = tuple(
        ScoredPrompt(str(item[0]), dict(item[1]), str(item[2]) if len(item) > 2 else "")  # type: ignore[call-overload]
        for item in items
    )
    return PromptPool(key, label, prompts)


def scores_payload(prompts: tuple[ScoredPrompt, ...]) -> list[list[object]]:
    return [[p.query_type, p.scores, p.shape] for p in prompts]

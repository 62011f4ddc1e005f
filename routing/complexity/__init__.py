"""Prompt complexity scores in [0, 1] (higher = needs the stronger model).

Three estimators share one small interface (:class:`ComplexityEstimator`):

- ``learned``: logistic regressions over fast lexical features (one for multiple-choice
  prompts, one for free-form prompts such as word problems), trained on RouteLLM
  correctness labels to predict "the strong model is right and the weak one wrong";
  the artefact ``learned_v3.json`` is loaded once per process. See ``docs/router.md``.
- ``heuristic``: the transparent seed heuristic (length, questions, technical words,
  code and math markers).
- ``length``: prompt length only (a baseline).

``get_estimator(name)`` returns a per-process cached instance.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Protocol

from . import features as F
from .model import LinearModel, SplitModel, load_any

__all__ = [
    "ARTEFACT",
    "ComplexityEstimator",
    "ComplexityScore",
    "HeuristicEstimator",
    "LearnedEstimator",
    "LengthEstimator",
    "get_estimator",
]

ARTEFACT = Path(__file__).resolve().parent / "learned_v3.json"


@dataclass(frozen=True)
class ComplexityScore:
    value: float  # in [0, 1]
    features: dict[str, float] = field(default_factory=dict)  # <= 6 items, for headers
    estimator: str = "heuristic"


class ComplexityEstimator(Protocol):
    name: str

    def score(self, prompt: str) -> ComplexityScore: ...


def _clamp(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


TECHNICAL_WORDS = frozenset(
    [
        "algorithm",
        "theorem",
        "prove",
        "proof",
        "derive",
        "derivative",
        "integral",
        "equation",
        "matrix",
        "vector",
        "eigenvalue",
        "probability",
        "statistics",
        "regression",
        "optimize",
        "optimization",
        "complexity",
        "asymptotic",
        "recursion",
        "recursive",
        "concurrency",
        "distributed",
        "architecture",
        "protocol",
        "compiler",
        "kernel",
        "database",
        "schema",
        "query",
        "latency",
        "throughput",
        "gradient",
        "tensor",
        "neural",
        "quantum",
        "thermodynamics",
        "molecule",
        "enzyme",
        "genome",
        "diagnosis",
        "pathology",
        "statute",
        "jurisdiction",
        "liability",
        "contract",
        "hypothesis",
        "lemma",
        "polynomial",
        "logarithm",
        "differential",
        "stochastic",
        "encryption",
        "cryptographic",
        "invariant",
    ]
)
REASONING_WORDS = frozenset(
    ["why", "explain", "analyze", "analyse", "compare", "evaluate", "justify", "prove", "design"]
)


class HeuristicEstimator:
    """Transparent seed heuristic: a weighted sum of saturating, human-readable signals."""

    name = "heuristic"

    def score(self, prompt: str) -> ComplexityScore:
        words = F.plain_words(prompt)
        tokens = {w.strip(F.PUNCT) for w in words}
        length = min(1.0, math.log1p(len(words)) / math.log(1000))
        technical = min(1.0, len(TECHNICAL_WORDS & tokens) / 3)
        reasoning = min(1.0, len(REASONING_WORDS & tokens) / 2)
        code = min(1.0, sum(prompt.count(m) for m in F.CODE_MARKS) / 5)
        math_marks = min(1.0, sum(prompt.count(c) for c in F.MATH_CHARS) / 8)
        questions = min(1.0, max(0, prompt.count("?") - 1) / 3)
        value = (
            0.40 * length
            + 0.20 * technical
            + 0.10 * reasoning
            + 0.12 * code
            + 0.12 * math_marks
            + 0.06 * questions
        )
        feats = {
            "words": float(len(words)),
            "technical": round(technical, 3),
            "code": round(code, 3),
            "math": round(math_marks, 3),
            "questions": float(prompt.count("?")),
        }
        return ComplexityScore(round(_clamp(value), 6), feats, self.name)


class LengthEstimator:
    """Baseline: longer prompts score higher (log characters, saturating at 20k)."""

    name = "length"

    def score(self, prompt: str) -> ComplexityScore:
        value = _clamp(math.log1p(len(prompt)) / math.log1p(20_000))
        return ComplexityScore(round(value, 6), {"chars": float(len(prompt))}, self.name)


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> LinearModel | SplitModel:
    """The learned model artefact (v2/v3 split or v1 linear), parsed once per process per path."""
    file = Path(path or os.environ.get("SWITCHYARD_COMPLEXITY_MODEL") or ARTEFACT)
    if not file.exists():
        raise FileNotFoundError(f"{file} missing: run `manage.py train_router` to build it")
    return load_any(file)


class LearnedEstimator:
    """Logistic regression over lexical features; score = calibrated rank in [0, 1].

    With a split (v2, v3) artefact, multiple-choice prompts are scored by the ``mc`` part and
    free-form prompts by the word-problem ``free`` part, each calibrated on its own kind
    of training prompt.
    """

    name = "learned"

    def __init__(self, path: str | Path | None = None) -> None:
        self.model = load_model(str(path) if path else None)
        self.label = f"learned-{self.model.meta.get('version', 'v1')}"

    def score(self, prompt: str) -> ComplexityScore:
        model = self.model
        part = model.part(prompt) if isinstance(model, SplitModel) else model
        dense, lexical, raw = part.logit_parts(prompt)
        logit = part.bias + dense + lexical
        if part.feature_set == "word_problem":
            words, numbers, choices = raw["wp_log_words"], raw["wp_nums"], 0.0
        else:
            words, numbers, choices = raw["log_words"], raw["log_digits"], raw["choices"]
        feats = {
            "words": round(math.expm1(words)),
            "numbers" if part.feature_set == "word_problem" else "digits": round(
                math.expm1(numbers)
            ),
            "choices": choices,
            "dense": round(dense, 3),
            "lexical": round(lexical, 3),
            "p_help": round(part.probability(logit), 3),
        }
        return ComplexityScore(round(part.calibrate(logit), 6), feats, self.label)


_FACTORIES = {
    "heuristic": HeuristicEstimator,
    "learned": LearnedEstimator,
    "length": LengthEstimator,
}


def get_estimator(name: str = "learned") -> ComplexityEstimator:
    """A per-process cached estimator: ``"learned"`` | ``"heuristic"`` | ``"length"``."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown complexity estimator {name!r}; choose from {sorted(_FACTORIES)}")
    return _cached_estimator(name)


@cache
def _cached_estimator(name: str) -> ComplexityEstimator:
    return _FACTORIES[name]()

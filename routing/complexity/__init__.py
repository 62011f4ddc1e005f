"""Prompt complexity scores in [0, 1] (higher = needs the stronger model).

Three estimators share one small interface (:class:`ComplexityEstimator`):

- ``learned`` (the default): one part per prompt shape (:mod:`.shapes`). Multiple-choice
  prompts and word problems are scored by logistic regressions over fast lexical features
  fitted on RouteLLM correctness labels of that shape ("the strong model is right and the
  weak one wrong"; the artefact ``learned_v3.json``, loaded once per process); every other
  prompt (chat) by the chat part (:mod:`.chat`), by category and difficulty cues, or by the
  seed heuristic when no category fits. Every score names its part. See ``docs/router.md``.
- ``heuristic``: the transparent seed heuristic (length, questions, technical words,
  code and math markers).
- ``length``: prompt length only (a baseline).

``get_estimator(name)`` returns a per-process cached instance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Protocol

from . import chat
from . import features as F
from . import shapes as S
from .model import LinearModel, SplitModel, load_any

__all__ = [
    "ARTEFACT",
    "ComplexityEstimator",
    "ComplexityScore",
    "HeuristicEstimator",
    "LearnedEstimator",
    "LengthEstimator",
    "get_estimator",
    "chat_score",
    "part_label",
    "score_with",
]

ARTEFACT = Path(__file__).resolve().parent / "learned_v3.json"


# the parts that score a prompt (ComplexityScore.part); chat parts are "chat:<category>"
MULTIPLE_CHOICE_PART = "multiple-choice"
WORD_PROBLEM_PART = "word-problem"
CHAT_PART = "chat"
HEURISTIC_PART = "heuristic"
LENGTH_PART = "length"


@dataclass(frozen=True)
class ComplexityScore:
    value: float  # in [0, 1]
    features: dict[str, float] = field(default_factory=dict)  # <= 6 items, for headers
    estimator: str = "heuristic"
    part: str = HEURISTIC_PART  # which part scored it: multiple-choice, chat:coding, ...

    @property
    def shape(self) -> str:
        """The prompt shape of the part: multiple_choice | word_problem | chat."""
        return PART_SHAPES.get(self.part.split(":", 1)[0], S.CHAT)


PART_SHAPES = {MULTIPLE_CHOICE_PART: S.MULTIPLE_CHOICE, WORD_PROBLEM_PART: S.WORD_PROBLEM}
PART_LABELS = {
    MULTIPLE_CHOICE_PART: "learned multiple-choice part",
    WORD_PROBLEM_PART: "learned word-problem part",
    HEURISTIC_PART: "fallback heuristic (no chat category fits)",
    LENGTH_PART: "prompt length",
}


def part_label(part: str) -> str:
    """A reader's name for a part: "chat part, category coding", "learned word-problem part"."""
    if part.startswith(f"{CHAT_PART}:"):
        return f"chat part, category {part.split(':', 1)[1]}"
    return PART_LABELS.get(part, part or "not recorded")


class ComplexityEstimator(Protocol):
    name: str

    def score(self, prompt: str) -> ComplexityScore: ...


def _clamp(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


TECHNICAL_WORDS = F.TECHNICAL_WORDS
REASONING_WORDS = F.REASONING_WORDS


class HeuristicEstimator:
    """Transparent seed heuristic: a weighted sum of saturating, human-readable signals."""

    name = "heuristic"

    def score(self, prompt: str) -> ComplexityScore:
        words = F.plain_words(prompt)
        tokens = {w.strip(F.PUNCT) for w in words}
        value, terms = F.seed_heuristic(prompt, tokens, len(words))
        feats = {
            "words": float(len(words)),
            "technical": round(terms["technical"], 3),
            "code": round(terms["code"], 3),
            "math": round(terms["math"], 3),
            "questions": float(prompt.count("?")),
        }
        return ComplexityScore(round(_clamp(value), 6), feats, self.name)


class LengthEstimator:
    """Baseline: longer prompts score higher (log characters, saturating at 20k)."""

    name = "length"

    def score(self, prompt: str) -> ComplexityScore:
        value = _clamp(math.log1p(len(prompt)) / math.log1p(20_000))
        feats = {"chars": float(len(prompt))}
        return ComplexityScore(round(value, 6), feats, self.name, LENGTH_PART)


def configured_model() -> str:
    """``settings.SWITCHYARD_COMPLEXITY_MODEL`` ("" = the shipped artefact; outside Django,
    e.g. in the bench, the shipped artefact)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return str(getattr(settings, "SWITCHYARD_COMPLEXITY_MODEL", "") or "")
    except ImproperlyConfigured:
        return ""


def load_model(path: str | None = None) -> LinearModel | SplitModel:
    """The learned model artefact (v2/v3 split or v1 linear): ``path``, else the
    ``SWITCHYARD_COMPLEXITY_MODEL`` setting, else the shipped one; parsed once per process
    per file."""
    return _load(str(Path(path or configured_model() or ARTEFACT).resolve()))


@lru_cache(maxsize=4)
def _load(file: str) -> LinearModel | SplitModel:
    if not Path(file).exists():
        raise FileNotFoundError(f"{file} missing: run `manage.py train_router` to build it")
    return load_any(Path(file))


class LearnedEstimator:
    """One part per prompt shape; each score names the part that produced it.

    With a split (v2, v3) artefact, multiple-choice prompts are scored by its ``mc`` part and
    word problems by its ``free`` part, each calibrated on its own kind of training prompt
    (score = "harder than this share of those prompts"). A prompt of another shape is never
    scored by them: :func:`score_with` sends it to the chat part.
    """

    name = "learned"

    def __init__(self, path: str | Path | None = None) -> None:
        self.model = load_model(str(path) if path else None)
        self.label = f"learned-{self.model.meta.get('version', 'v1')}"

    def score(self, prompt: str) -> ComplexityScore:
        return score_with(self.model, prompt, self.label)


def score_with(
    model: LinearModel | SplitModel, prompt: str, label: str = "learned"
) -> ComplexityScore:
    """Score ``prompt`` with the part of ``model`` valid for its shape, else the chat part
    (the lab scores its per-fold models through this too)."""
    part = model.part_for(S.shape_of(prompt))
    if part is None:
        return chat_score(prompt, label)
    dense, lexical, raw = part.logit_parts(prompt)
    logit = part.bias + dense + lexical
    if part.feature_set == "word_problem":
        words, numbers, choices = raw["wp_log_words"], raw["wp_nums"], 0.0
    else:
        words, numbers, choices = raw["log_words"], raw["log_digits"], raw["choices"]
    feats = {
        "words": round(math.expm1(words)),
        "numbers" if part.feature_set == "word_problem" else "digits": round(math.expm1(numbers)),
        "choices": choices,
        "dense": round(dense, 3),
        "lexical": round(lexical, 3),
        "p_help": round(part.probability(logit), 3),
    }
    name = WORD_PROBLEM_PART if part.feature_set == "word_problem" else MULTIPLE_CHOICE_PART
    return ComplexityScore(round(part.calibrate(logit), 6), feats, label, name)


def chat_score(prompt: str, label: str) -> ComplexityScore:
    category, value, feats = chat.score(prompt)
    if category is None:  # no chat category fits: the seed heuristic, named as such
        return ComplexityScore(value, feats, label, HEURISTIC_PART)
    return ComplexityScore(round(value, 6), feats, label, f"{CHAT_PART}:{category}")


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

"""Pure-Python inference for the learned complexity model (no numpy needed).

A :class:`LinearModel` is a logistic regression over standardised features of one feature
set (``features.FEATURE_SETS``: ``dense`` or ``word_problem``; dense features optionally
also crossed with the multiple-choice indicator) plus binary word features scaled by
``token_weight / sqrt(#distinct tokens + 1)``. The raw logit is mapped to [0, 1] through the
empirical CDF of training logits, so a score of 0.7 means "harder than 70% of the
training prompts": thresholding at 1 - x sends roughly a share x of traffic to the
strong model.

A :class:`SplitModel` (the v2 and v3 artefacts) holds two of them: one for multiple-choice prompts
(answer choices A-D), one for word problems, each calibrated on its own kind of training
prompt. ``part_for(shape)`` (:mod:`.shapes`) says which part may score a prompt: none for a
shape no part was fitted on (chat), which the estimator then scores with its chat part.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import features as F
from . import shapes as S


@dataclass(frozen=True)
class LinearModel:
    bias: float
    dense: dict[str, tuple[float, float, float]]  # name -> (mean, sd, weight)
    mc_dense: dict[str, float]  # name -> weight of (standardised feature * choices)
    tokens: dict[str, float]
    token_weight: float
    bigrams: bool
    quantiles: tuple[float, ...]  # sorted training logits at evenly spaced ranks
    meta: dict[str, Any]
    feature_set: str = "dense"
    _terms: tuple[tuple[str, float, float, float], ...] = field(
        init=False, repr=False, compare=False
    )
    _featurise: Callable[[str], dict[str, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # (name, mean, weight / sd, mc weight / sd): the logit is one pass over these
        terms = tuple(
            (name, mean, weight / sd, self.mc_dense.get(name, 0.0) / sd)
            for name, (mean, sd, weight) in self.dense.items()
        )
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_featurise", F.FEATURE_SETS[self.feature_set][1])

    def logit_parts(self, prompt: str) -> tuple[float, float, dict[str, float]]:
        """(dense part, token part, raw features) of the logit, without the bias."""
        raw = self._featurise(prompt)
        dense = 0.0
        if raw.get("choices", 0.0):
            for name, mean, weight, mc_weight in self._terms:
                dense += (weight + mc_weight) * (raw[name] - mean)
        else:
            for name, mean, weight, _ in self._terms:
                dense += weight * (raw[name] - mean)
        return dense, self._token_part(prompt), raw

    def _token_part(self, prompt: str) -> float:
        table = self.tokens
        if not table or not self.token_weight:
            return 0.0
        toks = F.token_set(F.words_of(prompt), self.bigrams)
        hits = sum(table[t] for t in toks if t in table)
        return self.token_weight * hits / math.sqrt(len(toks) + 1)

    def logit(self, prompt: str) -> float:
        dense, token, _ = self.logit_parts(prompt)
        return self.bias + dense + token

    def calibrate(self, logit: float) -> float:
        """Empirical CDF of the training logits, linearly interpolated, in [0, 1]."""
        q = self.quantiles
        if logit <= q[0]:
            return 0.0
        if logit >= q[-1]:
            return 1.0
        i = bisect_left(q, logit)
        lo, hi = q[i - 1], q[i]
        frac = (logit - lo) / (hi - lo) if hi > lo else 0.0
        return (i - 1 + frac) / (len(q) - 1)

    def score(self, prompt: str) -> float:
        return self.calibrate(self.logit(prompt))

    def part_for(self, shape: str) -> LinearModel | None:
        """A v1 model was fitted on multiple-choice and word-problem prompts, nothing else."""
        return self if shape in (S.MULTIPLE_CHOICE, S.WORD_PROBLEM) else None

    def probability(self, logit: float) -> float:
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": "switchyard-complexity-linear/1",
            "bias": self.bias,
            "dense": {k: list(v) for k, v in self.dense.items()},
            "mc_dense": self.mc_dense,
            "token_weight": self.token_weight,
            "bigrams": self.bigrams,
            "quantiles": list(self.quantiles),
            "tokens": dict(sorted(self.tokens.items())),
            "meta": self.meta,
        }
        if self.feature_set != "dense":
            doc["feature_set"] = self.feature_set
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LinearModel:
        if doc.get("format") != "switchyard-complexity-linear/1":
            raise ValueError(f"unknown complexity model format {doc.get('format')!r}")
        return cls(
            bias=float(doc["bias"]),
            dense={k: (float(m), float(s), float(w)) for k, (m, s, w) in doc["dense"].items()},
            mc_dense={k: float(v) for k, v in doc["mc_dense"].items()},
            tokens={k: float(v) for k, v in doc["tokens"].items()},
            token_weight=float(doc["token_weight"]),
            bigrams=bool(doc["bigrams"]),
            quantiles=tuple(float(x) for x in doc["quantiles"]),
            meta=dict(doc.get("meta", {})),
            feature_set=_feature_set(doc.get("feature_set", "dense")),
        )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        _save(self.to_json(), path)


def _feature_set(name: str) -> str:
    if name not in F.FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}")
    return name


def _save(doc: dict[str, Any], path: Path) -> None:
    text = json.dumps(doc, indent=0, sort_keys=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


@dataclass(frozen=True)
class SplitModel:
    """Two linear models: ``mc`` for multiple-choice prompts, ``free`` for the rest."""

    mc: LinearModel
    free: LinearModel
    meta: dict[str, Any]

    def part_for(self, shape: str) -> LinearModel | None:
        """The part fitted on prompts of this shape, or None (no learned part is valid)."""
        return (
            self.mc
            if shape == S.MULTIPLE_CHOICE
            else self.free
            if shape == S.WORD_PROBLEM
            else None
        )

    def part(self, prompt: str) -> LinearModel | None:
        return self.part_for(S.shape_of(prompt))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "switchyard-complexity-split/1",
            "mc": self.mc.to_json(),
            "free": self.free.to_json(),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SplitModel:
        if doc.get("format") != "switchyard-complexity-split/1":
            raise ValueError(f"unknown complexity model format {doc.get('format')!r}")
        return cls(
            mc=LinearModel.from_json(doc["mc"]),
            free=LinearModel.from_json(doc["free"]),
            meta=dict(doc.get("meta", {})),
        )

    def save(self, path: Path) -> None:
        _save(self.to_json(), path)


def load_any(path: Path) -> LinearModel | SplitModel:
    """A v1 (single linear) or v2 (split) artefact."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") == "switchyard-complexity-split/1":
        return SplitModel.from_json(doc)
    return LinearModel.from_json(doc)

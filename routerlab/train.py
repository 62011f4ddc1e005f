"""Deterministic training of the learned complexity model.

:func:`fit` trains on RouteLLM rows (``mmlu_dev.csv`` plus the GSM8K *train* rows for the
shipped model); :func:`routerlab.artefact.build_artefact` (``python manage.py train_router``)
writes the result to ``routing/complexity/learned_v3.json``. Needs numpy + scikit-learn
(training only; inference in :mod:`routing.complexity.model` is pure Python).

The model (v2 and v3) is a :class:`.model.SplitModel`: the multiple-choice part is a
logistic regression over the dense features crossed with "has choices", trained on all
rows; the free-form part a logistic regression over the word-problem features trained on
the training rows of word-problem shape (GSM8K train; since v3.1 the 4 MMLU rows whose
choices sit beyond the tail window are no longer among them: they are not word problems). Each part is calibrated on the
rows it will score. v3 added the answer-choice similarity and the story features of word
problems, and regularises the multiple-choice part more strongly (C 0.1 -> 0.001).
"""

from __future__ import annotations

import collections
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import routing.complexity
from routing.complexity import features as F
from routing.complexity import shapes as S
from routing.complexity.model import LinearModel, SplitModel

from .data import Row

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

VERSION = "v3"
SHIPPED = Path(routing.complexity.__file__).resolve().parent  # where the artefact ships
ARTEFACT = SHIPPED / f"learned_{VERSION}.json"
REPORT = SHIPPED / f"learned_{VERSION}.report.json"
QUANTILES = 200


@dataclass(frozen=True)
class TrainConfig:
    target: str = "help"  # "help": strong right AND weak wrong; "weak_wrong": weak wrong
    C: float = 0.001  # inverse L2 strength of the logistic regression (mc part)
    min_df: int = 3  # a word must occur in this many training prompts...
    min_domains: int = 3  # ...spread over this many subjects (GSM8K counts as one)
    bigrams: bool = False
    token_weight: float = 0.0  # 0 = words unused (they did not transfer to unseen subjects)
    domain_power: float = 0.0  # sample weight ~ subject size ** -power
    mc_interactions: bool = True  # dense features crossed with "has answer choices"
    hurt_weight: float = (
        12.0  # extra weight on rows where the strong model is wrong, the weak right
    )
    prune: float = 1e-3  # word weights below this are not shipped
    # free-form (no answer choices) sub-model over the word-problem features
    split: bool = True  # False: the v1 single model scores every prompt
    free_target: str = "help"
    free_C: float = 0.03
    free_hurt_weight: float = 20.0


Featurised = tuple[dict[str, float], frozenset[str]]
_CACHE: dict[tuple[str, bool], Featurised] = {}


def featurise(prompt: str, bigrams: bool) -> Featurised:
    key = (prompt, bigrams)
    if key not in _CACHE:
        tokens = F.token_set(F.words_of(prompt), bigrams)
        _CACHE[key] = (F.dense_features(prompt), frozenset(tokens))
    return _CACHE[key]


def label(row: Row, target: str) -> int:
    if target == "help":
        return int(row.strong_correct and not row.weak_correct)
    if target == "weak_wrong":
        return int(not row.weak_correct)
    raise ValueError(f"unknown target {target!r}")


def _vocabulary(feats: list[Featurised], rows: list[Row], cfg: TrainConfig) -> list[str]:
    df: collections.Counter[str] = collections.Counter()
    domains: dict[str, set[str]] = collections.defaultdict(set)
    for (_, tokens), row in zip(feats, rows):
        df.update(tokens)
        for t in tokens:
            domains[t].add(row.domain)
    return sorted(
        t for t, n in df.items() if n >= cfg.min_df and len(domains[t]) >= cfg.min_domains
    )


def _sample_weights(rows: list[Row], cfg: TrainConfig, hurt_weight: float) -> np.ndarray:
    import numpy as np

    sizes = collections.Counter(r.domain for r in rows)
    w = np.array([sizes[r.domain] ** -cfg.domain_power for r in rows], dtype=float)
    hurt = np.array([r.weak_correct and not r.strong_correct for r in rows])
    w[hurt] *= hurt_weight
    return w / w.mean()


def _design(
    feats: list[Featurised], vocab: dict[str, int], stats: np.ndarray, cfg: TrainConfig
) -> sparse.csr_matrix:
    import numpy as np
    from scipy import sparse

    ind: list[int] = []
    val: list[float] = []
    ptr = [0]
    for _, tokens in feats:
        cols = sorted(vocab[t] for t in tokens if t in vocab)
        ind.extend(cols)
        val.extend([cfg.token_weight / math.sqrt(len(tokens) + 1)] * len(cols))
        ptr.append(len(ind))
    x_tok = sparse.csr_matrix((val, ind, ptr), shape=(len(feats), len(vocab)))
    raw = np.array([[d[n] for n in F.DENSE] for d, _ in feats])
    z = (raw - stats[0]) / stats[1]
    parts = [x_tok, sparse.csr_matrix(z)]
    if cfg.mc_interactions:
        parts.append(sparse.csr_matrix(z * raw[:, [F.DENSE.index("choices")]]))
    return sparse.hstack(parts).tocsr()


_WP_CACHE: dict[str, dict[str, float]] = {}


def _wp(prompt: str) -> dict[str, float]:
    if prompt not in _WP_CACHE:
        _WP_CACHE[prompt] = F.word_problem_features(prompt)
    return _WP_CACHE[prompt]


def fit(rows: list[Row], cfg: TrainConfig | None = None) -> LinearModel | SplitModel:
    """Train the model on ``rows``: a :class:`SplitModel` (or the v1 linear model when
    ``cfg.split`` is False). Deterministic: lbfgs, sorted vocabulary, fixed row order."""
    cfg = cfg or TrainConfig()
    if not cfg.split:
        return fit_linear(rows, cfg)
    shapes = [S.shape_of(r.prompt) for r in rows]
    mc = fit_linear(rows, cfg, calibrate_on=[s == S.MULTIPLE_CHOICE for s in shapes])
    # the word-problem part is fitted (and calibrated) on word problems only: the shape
    # check (routing.complexity.shapes) is what lets it score a prompt in production
    free_rows = [r for r, s in zip(rows, shapes) if s == S.WORD_PROBLEM]
    free = fit_free(free_rows, cfg)
    meta = {"config": asdict(cfg), "train_rows": len(rows), "free_rows": len(free_rows)}
    return SplitModel(mc=mc, free=free, meta=meta)


def fit_free(rows: list[Row], cfg: TrainConfig) -> LinearModel:
    """Logistic regression over the word-problem features of free-form prompts."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    names = F.WORD_PROBLEM
    raw = np.array([[_wp(r.prompt)[n] for n in names] for r in rows])
    stats = np.vstack([raw.mean(0), raw.std(0)])
    stats[1][stats[1] < 1e-9] = 1.0
    x = (raw - stats[0]) / stats[1]
    y = np.array([label(r, cfg.free_target) for r in rows])
    clf = LogisticRegression(C=cfg.free_C, max_iter=5000, tol=1e-6)
    clf.fit(x, y, sample_weight=_sample_weights(rows, cfg, cfg.free_hurt_weight))
    coef = clf.coef_.ravel()
    dense = {
        n: (
            round(float(stats[0][i]), 6),
            round(float(stats[1][i]), 6),
            round(float(coef[i]), 6),
        )
        for i, n in enumerate(names)
    }
    return LinearModel(
        bias=round(float(clf.intercept_[0]), 6),
        dense=dense,
        mc_dense={},
        tokens={},
        token_weight=0.0,
        bigrams=False,
        quantiles=_quantiles(clf.decision_function(x)),
        meta={"train_rows": len(rows), "target": cfg.free_target},
        feature_set="word_problem",
    )


def fit_linear(
    rows: list[Row], cfg: TrainConfig | None = None, calibrate_on: list[bool] | None = None
) -> LinearModel:
    """Train the v1 :class:`LinearModel` on ``rows`` (deterministic: lbfgs, sorted
    vocabulary); its calibration uses the rows flagged in ``calibrate_on`` (default all)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    cfg = cfg or TrainConfig()
    feats = [featurise(r.prompt, cfg.bigrams) for r in rows]
    vocab = _vocabulary(feats, rows, cfg)
    index = {t: i for i, t in enumerate(vocab)}
    raw = np.array([[d[n] for n in F.DENSE] for d, _ in feats])
    stats = np.vstack([raw.mean(0), raw.std(0)])
    stats[1][stats[1] < 1e-9] = 1.0
    x = _design(feats, index, stats, cfg)
    y = np.array([label(r, cfg.target) for r in rows])
    clf = LogisticRegression(C=cfg.C, max_iter=5000, tol=1e-6)
    clf.fit(x, y, sample_weight=_sample_weights(rows, cfg, cfg.hurt_weight))
    if calibrate_on is not None:
        x = x[np.flatnonzero(calibrate_on)]
    return _export(clf, vocab, stats, cfg, x, rows)


def _quantiles(logits: Any) -> tuple[float, ...]:
    import numpy as np

    logits = np.sort(logits)
    ranks = np.linspace(0, len(logits) - 1, QUANTILES + 1)
    quantiles = tuple(round(float(v), 6) for v in np.interp(ranks, np.arange(len(logits)), logits))
    return _strictly_increasing(quantiles)


def _export(
    clf: Any, vocab: list[str], stats: Any, cfg: TrainConfig, x: Any, rows: list[Row]
) -> LinearModel:
    coef = clf.coef_.ravel()
    n_tok, n_dense = len(vocab), len(F.DENSE)
    tokens = {t: round(float(w), 5) for t, w in zip(vocab, coef[:n_tok]) if abs(w) >= cfg.prune}
    dense = {
        n: (
            round(float(stats[0][i]), 6),
            round(float(stats[1][i]), 6),
            round(float(coef[n_tok + i]), 6),
        )
        for i, n in enumerate(F.DENSE)
    }
    mc = {}
    if cfg.mc_interactions:
        mc = {n: round(float(coef[n_tok + n_dense + i]), 6) for i, n in enumerate(F.DENSE)}
    meta = {"config": asdict(cfg), "train_rows": len(rows), "vocabulary": len(tokens)}
    return LinearModel(
        bias=round(float(clf.intercept_[0]), 6),
        dense=dense,
        mc_dense=mc,
        tokens=tokens,
        token_weight=cfg.token_weight,
        bigrams=cfg.bigrams,
        quantiles=_quantiles(clf.decision_function(x)),
        meta=meta,
    )


def _strictly_increasing(values: tuple[float, ...]) -> tuple[float, ...]:
    out: list[float] = []
    for v in values:
        out.append(v if not out or v > out[-1] else out[-1] + 1e-6)
    return tuple(out)

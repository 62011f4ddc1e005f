"""Evaluate complexity estimators with the RouteLLM metrics.

Datasets:

- ``gsm8k-test``: the fixed GSM8K test split (never trained or tuned on). The learned
  estimator is the model trained on all of ``mmlu_dev`` + GSM8K train (the shipped
  artefact when ``retrain=False``).
- ``mmlu-heldout-subjects``: every ``mmlu_dev`` row scored by a model that never saw its
  subject. Subjects are split into ``folds`` groups (:func:`.data.subject_folds`); for each
  group the learned model is retrained, with the same training code and configuration,
  on the other groups + GSM8K train. Metrics are computed on the pooled out-of-fold
  scores (``apgr``, ``cpt50``, ``cpt80``, ``curve``); the per-fold APGRs are reported too.
"""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import metrics as M
from routing.complexity import score_with

from .data import Row, gsm8k_split, load_mmlu, subject_folds
from .train import TrainConfig, fit

Scorer = Callable[[list[Row]], list[float]]
RANDOM_SEEDS = 10


def _summary(scores: Sequence[float], rows: list[Row]) -> dict[str, Any]:
    weak = [r.weak_correct for r in rows]
    strong = [r.strong_correct for r in rows]
    points = M.curve(scores, weak, strong)
    return {
        "apgr": M.apgr_from_curve(points),
        "cpt50": M.cpt_from_curve(points, 0.5),
        "cpt80": M.cpt_from_curve(points, 0.8),
        "curve": [[x, y] for x, y in points],
    }


def _random_summary(rows: list[Row]) -> dict[str, Any]:
    runs = []
    for seed in range(RANDOM_SEEDS):
        rng = random.Random(seed)
        runs.append(_summary([rng.random() for _ in rows], rows))
    mean = {k: statistics.fmean(r[k] for r in runs) for k in ("apgr", "cpt50", "cpt80")}
    curve = [
        [runs[0]["curve"][i][0], statistics.fmean(r["curve"][i][1] for r in runs)]
        for i in range(11)
    ]
    return {**mean, "curve": curve, "seeds": RANDOM_SEEDS}


def _estimator_scorer(name: str) -> Scorer:
    from routing.complexity import get_estimator

    est = get_estimator(name)
    return lambda rows: [est.score(r.prompt).value for r in rows]


def _fold_scores(
    mmlu: list[Row], extra_train: list[Row], folds: int, cfg: Any, seed: int = 0
) -> tuple[list[float], list[float]]:
    """Out-of-fold learned scores for every MMLU row, and the per-fold APGRs."""
    fold_of = subject_folds([r.domain for r in mmlu], folds, seed)
    scores = [0.0] * len(mmlu)
    per_fold = []
    for f in range(folds):
        test_idx = [i for i, r in enumerate(mmlu) if fold_of[r.domain] == f]
        train = [r for r in mmlu if fold_of[r.domain] != f] + extra_train
        model = fit(train, cfg)
        fold_scores = [score_with(model, mmlu[i].prompt).value for i in test_idx]
        for i, s in zip(test_idx, fold_scores):
            scores[i] = s
        per_fold.append(M.apgr([*fold_scores], *_labels([mmlu[i] for i in test_idx])))
    return scores, per_fold


def robustness(
    mmlu: list[Row],
    extra_train: list[Row],
    cfg: Any,
    canonical: Sequence[float],
    folds: int = 5,
    assignments: int = 6,
) -> dict[str, Any]:
    """How much the held-out-subject numbers hang on the split: the pooled APGR of
    ``assignments`` subject-to-fold assignments (seed 0 is the canonical one, whose
    out-of-fold scores the caller already has: ``canonical``) and of leave-one-subject-out
    (each subject scored by a model trained on all the others)."""
    per_assignment = [_summary(canonical, mmlu)]
    for seed in range(1, assignments):
        oof, _ = _fold_scores(mmlu, extra_train, folds, cfg, seed)
        per_assignment.append(_summary(oof, mmlu))
    subjects = len({r.domain for r in mmlu})
    loso, _ = _fold_scores(mmlu, extra_train, subjects, cfg)
    return {
        "assignment_apgr": [res["apgr"] for res in per_assignment],
        "assignment_cpt50": [res["cpt50"] for res in per_assignment],
        "assignment_mean_apgr": statistics.fmean(res["apgr"] for res in per_assignment),
        "assignment_mean_cpt50": statistics.fmean(res["cpt50"] for res in per_assignment),
        "loso": {k: v for k, v in _summary(loso, mmlu).items() if k != "curve"},
        "subjects": subjects,
    }


def _labels(rows: list[Row]) -> tuple[list[bool], list[bool]]:
    return [r.weak_correct for r in rows], [r.strong_correct for r in rows]


def _dataset_block(rows: list[Row]) -> dict[str, Any]:
    weak, strong = _labels(rows)
    return {
        "rows": len(rows),
        "weak": statistics.fmean(weak),
        "strong": statistics.fmean(strong),
        "estimators": {},
    }


def evaluate(
    data_path: str | Path | None = None,
    *,
    folds: int = 5,
    retrain: bool = False,
    cfg: Any = None,
    baselines: Sequence[str] = ("heuristic", "length"),
    with_robustness: bool = False,
) -> dict[str, Any]:
    """APGR / CPT(50%) / CPT(80%) and curves per dataset per estimator, as plain dicts.

    ``retrain=True`` scores GSM8K test with a freshly trained model instead of the
    shipped artefact (identical when the artefact is up to date).
    """
    cfg = cfg or TrainConfig()
    mmlu = load_mmlu(data_path)
    gsm_train, gsm_test = gsm8k_split(data_path)
    out: dict[str, Any] = {"datasets": {}}

    gsm = _dataset_block(gsm_test)
    if retrain:
        model = fit(mmlu + gsm_train, cfg)
        learned = [score_with(model, r.prompt).value for r in gsm_test]
    else:
        learned = _estimator_scorer("learned")(gsm_test)
    gsm["estimators"]["learned"] = _summary(learned, gsm_test)
    out["datasets"]["gsm8k-test"] = gsm

    held = _dataset_block(mmlu)
    oof, per_fold = _fold_scores(mmlu, gsm_train, folds, cfg)
    held["estimators"]["learned"] = {**_summary(oof, mmlu), "fold_apgr": per_fold}
    held["folds"] = folds
    if with_robustness:
        held["robustness"] = robustness(mmlu, gsm_train, cfg, oof, folds)
    out["datasets"]["mmlu-heldout-subjects"] = held

    for block, rows in ((gsm, gsm_test), (held, mmlu)):
        block["estimators"]["random"] = _random_summary(rows)
        for name in baselines:
            block["estimators"][name] = _summary(_estimator_scorer(name)(rows), rows)
    return out


def write_curves(result: dict[str, Any], path: str | Path) -> Path:
    """Write the evaluation (curves included) as JSON for the cost-calculator page."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return path


def table(result: dict[str, Any]) -> str:
    """A plain-text table: dataset, estimator, APGR, CPT(50%), CPT(80%)."""
    lines = [f"{'dataset':<24}{'estimator':<12}{'APGR':>8}{'CPT50':>8}{'CPT80':>8}"]
    for dname, block in result["datasets"].items():
        for ename, res in block["estimators"].items():
            lines.append(
                f"{dname:<24}{ename:<12}{res['apgr']:>8.3f}{res['cpt50']:>8.1%}{res['cpt80']:>8.1%}"
            )
        lines.append(
            f"{dname:<24}{'(weak/strong quality)':<28}{block['weak']:.3f} / {block['strong']:.3f}"
        )
        if "robustness" in block:
            r = block["robustness"]
            apgrs = " ".join(f"{a:.3f}" for a in r["assignment_apgr"])
            lines.append(
                f"{dname:<24}{'learned, 6 fold assignments':<36}APGR {apgrs}, mean "
                f"{r['assignment_mean_apgr']:.3f}, CPT50 mean {r['assignment_mean_cpt50']:.1%}"
            )
            loso = r["loso"]
            lines.append(
                f"{dname:<24}{'learned, leave-one-subject-out':<36}APGR {loso['apgr']:.3f}, "
                f"CPT50 {loso['cpt50']:.1%}, CPT80 {loso['cpt80']:.1%}"
            )
    return "\n".join(lines)


def dollar_curve(
    points: Sequence[Sequence[float]], weak_usd: float, strong_usd: float
) -> list[list[float]]:
    """[share, quality, USD per 1,000 requests] per curve point, given each model's USD
    per request: a share ``x`` of requests goes to the strong model, the rest to the weak."""
    return [
        [
            float(share),
            float(quality),
            round(1000 * (share * strong_usd + (1 - share) * weak_usd), 6),
        ]
        for share, quality in points
    ]


def add_dollars(
    result: dict[str, Any], pricing: dict[str, Any], estimator: str = "learned"
) -> dict[str, Any]:
    """Add ``dollars`` (the ``estimator``'s curve priced per 1k requests) and ``pricing``
    to every dataset of ``result``. ``pricing`` needs ``weak_usd`` / ``strong_usd``
    (USD per request) and describes the pair (ids, price refs, token assumptions)."""
    for block in result["datasets"].values():
        points = block["estimators"][estimator]["curve"]
        block["dollars"] = dollar_curve(points, pricing["weak_usd"], pricing["strong_usd"])
        block["pricing"] = {**pricing, "estimator": estimator}
    return result


def dollars_table(result: dict[str, Any]) -> str:
    """Strong share, quality and $ per 1k requests of the priced curve, per dataset."""
    lines = []
    for dname, block in result["datasets"].items():
        if "dollars" not in block:
            continue
        p = block["pricing"]
        lines.append(
            f"{dname}: {p['estimator']} router, weak {p['weak']} / strong {p['strong']}, "
            f"{p['input_tokens']} input + {p['output_tokens']} output tokens per request"
        )
        lines.append(f"  {'strong share':>12}{'quality':>10}{'$ / 1k req':>12}")
        for share, quality, usd in block["dollars"]:
            lines.append(f"  {share:>12.0%}{quality:>10.3f}{usd:>12.4f}")
    return "\n".join(lines)

"""Build the shipped artefact and its report: fit (:mod:`.train`), then evaluate (:mod:`.evaluate`).

Kept apart from both so that the lab's imports run one way: ``artefact`` -> ``evaluate`` ->
``train`` -> ``routing.complexity`` (inference), never back.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from routing.complexity import score_with

from . import evaluate as E
from .data import gsm8k_split, load_mmlu
from .train import ARTEFACT, REPORT, VERSION, TrainConfig, fit


def build_artefact(
    data_path: str | Path | None = None,
    cfg: TrainConfig | None = None,
    artefact: Path = ARTEFACT,
    report: Path | None = REPORT,
    folds: int = 5,
    robustness: bool = True,
) -> dict[str, Any]:
    """Train on mmlu_dev + GSM8K train, write the artefact and (optionally) its report.

    The report holds the shipped model's GSM8K-test numbers and the subject-grouped CV
    numbers of the same configuration (with ``robustness``, also five more subject-to-fold
    assignments and leave-one-subject-out: ~80 more fits); tests check the artefact
    reproduces them.
    """
    cfg = cfg or TrainConfig()
    gsm_train, gsm_test = gsm8k_split(data_path)
    model = fit(load_mmlu(data_path) + gsm_train, cfg)
    model.meta["version"] = VERSION if cfg.split else "v1"
    model.save(artefact)
    summary: dict[str, Any] = {"artefact": artefact.name, "config": asdict(cfg)}
    if report is not None:
        scores = [score_with(model, r.prompt).value for r in gsm_test]
        summary["gsm8k-test"] = _brief(E._summary(scores, gsm_test))
        mmlu = load_mmlu(data_path)
        oof, per_fold = E._fold_scores(mmlu, gsm_train, folds, cfg)
        summary["mmlu-heldout-subjects"] = {
            **_brief(E._summary(oof, mmlu)),
            "fold_apgr": [round(x, 4) for x in per_fold],
            "folds": folds,
        }
        if robustness:
            summary["mmlu-robustness"] = _rounded(E.robustness(mmlu, gsm_train, cfg, oof, folds))
        report.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def _brief(res: dict[str, Any]) -> dict[str, float]:
    return {k: round(res[k], 4) for k in ("apgr", "cpt50", "cpt80")}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value

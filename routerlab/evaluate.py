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

from routing.complexity import ComplexityScore, chat_score, get_estimator, score_with

from . import metrics as M
from .data import Row, gsm8k_split, load_mmlu, subject_folds
from .train import TrainConfig, fit

Scorer = Callable[[list[Row]], list[float]]
RANDOM_SEEDS = 10
MIN_PART_ROWS = 30  # fewer rows than this: counts only, no APGR


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
    est = get_estimator(name)
    return lambda rows: [est.score(r.prompt).value for r in rows]


def per_part(rows: list[Row], scores: Sequence[float], parts: Sequence[str]) -> dict[str, Any]:
    """Rows, APGR and CPT(50%) of the rows each part scored (APGR within the part; a part
    with fewer than ``MIN_PART_ROWS`` rows, or no gap between the models, gets counts only)."""
    out: dict[str, Any] = {}
    for part in sorted(set(parts)):
        idx = [i for i, p in enumerate(parts) if p == part]
        sub = [rows[i] for i in idx]
        block: dict[str, Any] = {"rows": len(idx), "shape": ComplexityScore(0, part=part).shape}
        weak, strong = _labels(sub)
        if len(idx) >= MIN_PART_ROWS and sum(strong) != sum(weak):
            res = _summary([scores[i] for i in idx], sub)
            block.update(apgr=res["apgr"], cpt50=res["cpt50"], cpt80=res["cpt80"])
        out[part] = block
    return out


def strip_choices(prompt: str) -> str:
    """An MMLU item as an open question: the stem without its answer lines and "Answer:"."""
    cut = prompt.find("\nA. ")
    return (prompt[:cut] if cut >= 0 else prompt).strip()


def chat_checks(mmlu: list[Row], gsm_test: list[Row]) -> dict[str, Any]:
    """What we can say about chat without chat labels.

    - ``sanity``: the sanity suite (routerlab.sanity) per estimator: required pairs ordered;
    - ``heuristic_agreement``: rank correlation with the seed heuristic on the suite's prompts
      (the heuristic is the best measured baseline on chat: 0.62 APGR);
    - ``proxies``: labelled rows pushed into the chat shape: MMLU stems without their answer
      choices (open questions, labelled by the multiple-choice outcome) and GSM8K test,
      scored by the chat part as if the shape checks had let them through. A proxy, not the
      chat measure: the labels belong to another shape of the same questions.
    """
    from . import sanity

    out: dict[str, Any] = {"sanity": {}, "heuristic_agreement": {}, "proxies": {}}
    prompts = [c.prompt for c in sanity.CASES]
    heuristic = [get_estimator("heuristic").score(p).value for p in prompts]
    for name in ("learned", "heuristic", "length"):
        values = [get_estimator(name).score(p).value for p in prompts]
        by_prompt = dict(zip(prompts, values))
        res = sanity.run(by_prompt.__getitem__)
        out["sanity"][name] = {k: v for k, v in res.items() if k != "failed"}
        out["sanity"][name]["failed"] = [list(pair) for pair in res["failed"]]
        out["heuristic_agreement"][name] = sanity.spearman(values, heuristic)
    stems = [Row(strip_choices(r.prompt), r.weak_correct, r.strong_correct, r.domain) for r in mmlu]
    for label, rows in (("mmlu-stems", stems), ("gsm8k-test", gsm_test)):
        block = _dataset_block(rows)
        chat_scores = [chat_part_score(r.prompt) for r in rows]
        block["estimators"]["chat-part"] = _summary(chat_scores, rows)
        for name in ("heuristic", "length"):
            block["estimators"][name] = _summary(_estimator_scorer(name)(rows), rows)
        block["estimators"]["random"] = _random_summary(rows)
        out["proxies"][label] = block
    return out


def chat_part_score(prompt: str) -> float:
    """The chat part's score of any prompt, whatever its shape (heuristic when no category)."""
    return chat_score(prompt, "learned").value


def _fold_scores(
    mmlu: list[Row],
    extra_train: list[Row],
    folds: int,
    cfg: Any,
    seed: int = 0,
    with_parts: bool = False,
) -> Any:
    """Out-of-fold learned scores for every MMLU row and the per-fold APGRs (and, with
    ``with_parts``, the part that scored each row)."""
    fold_of = subject_folds([r.domain for r in mmlu], folds, seed)
    scores = [0.0] * len(mmlu)
    parts = [""] * len(mmlu)
    per_fold = []
    for f in range(folds):
        test_idx = [i for i, r in enumerate(mmlu) if fold_of[r.domain] == f]
        train = [r for r in mmlu if fold_of[r.domain] != f] + extra_train
        model = fit(train, cfg)
        scored = [score_with(model, mmlu[i].prompt) for i in test_idx]
        for i, s in zip(test_idx, scored):
            scores[i], parts[i] = s.value, s.part
        fold_scores = [s.value for s in scored]
        per_fold.append(M.apgr(fold_scores, *_labels([mmlu[i] for i in test_idx])))
    return (scores, per_fold, parts) if with_parts else (scores, per_fold)


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


DATASETS = {  # name -> (prompt shape, what the data is): the cost calculator names both
    "gsm8k-test": (
        "word_problem",
        "GSM8K test split, 257 math word problems; RouteLLM labels, Mixtral-8x7B vs GPT-4",
    ),
    "mmlu-heldout-subjects": (
        "multiple_choice",
        "MMLU dev, 10,837 multiple-choice questions, each subject scored by a model that never "
        "saw it; RouteLLM labels, Mixtral-8x7B vs GPT-4",
    ),
}


def _dataset_block(rows: list[Row], name: str = "") -> dict[str, Any]:
    weak, strong = _labels(rows)
    shape, source = DATASETS.get(name, ("", ""))
    return {
        "shape": shape,
        "source": source,
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
    with_chat: bool = True,
) -> dict[str, Any]:
    """APGR / CPT(50%) / CPT(80%) and curves per dataset per estimator, as plain dicts.

    ``retrain=True`` scores GSM8K test with a freshly trained model instead of the
    shipped artefact (identical when the artefact is up to date).
    """
    cfg = cfg or TrainConfig()
    mmlu = load_mmlu(data_path)
    gsm_train, gsm_test = gsm8k_split(data_path)
    out: dict[str, Any] = {"datasets": {}}

    gsm = _dataset_block(gsm_test, "gsm8k-test")
    model = fit(mmlu + gsm_train, cfg) if retrain else get_estimator("learned").model  # type: ignore[attr-defined]
    scored = [score_with(model, r.prompt) for r in gsm_test]
    learned = [s.value for s in scored]
    gsm["estimators"]["learned"] = _summary(learned, gsm_test)
    gsm["parts"] = per_part(gsm_test, learned, [s.part for s in scored])
    out["datasets"]["gsm8k-test"] = gsm

    held = _dataset_block(mmlu, "mmlu-heldout-subjects")
    oof, per_fold, parts = _fold_scores(mmlu, gsm_train, folds, cfg, with_parts=True)
    held["estimators"]["learned"] = {**_summary(oof, mmlu), "fold_apgr": per_fold}
    held["parts"] = per_part(mmlu, oof, parts)
    held["folds"] = folds
    if with_robustness:
        held["robustness"] = robustness(mmlu, gsm_train, cfg, oof, folds)
    out["datasets"]["mmlu-heldout-subjects"] = held

    for block, rows in ((gsm, gsm_test), (held, mmlu)):
        block["estimators"]["random"] = _random_summary(rows)
        for name in baselines:
            block["estimators"][name] = _summary(_estimator_scorer(name)(rows), rows)
    if with_chat:
        out["chat"] = chat_checks(mmlu, gsm_test)
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
        lines.extend(_parts_lines(dname, block.get("parts", {})))
    if "chat" in result:
        lines.extend(_chat_lines(result["chat"]))
    return "\n".join(lines)


def _parts_lines(dname: str, parts: dict[str, Any]) -> list[str]:
    lines = []
    for part, p in parts.items():
        measured = (
            f"APGR {p['apgr']:.3f}, CPT50 {p['cpt50']:.1%}, CPT80 {p['cpt80']:.1%}"
            if "apgr" in p
            else "(too few rows for APGR)"
        )
        lines.append(
            f"{dname:<24}learned part {part:<22}{p['rows']:>6} rows ({p['shape']}) {measured}"
        )
    return lines


def _chat_lines(chat: dict[str, Any]) -> list[str]:
    lines = ["chat shape (no labels): sanity suite, agreement with the heuristic, proxies"]
    for name, res in chat["sanity"].items():
        lines.append(
            f"  sanity {name:<10} required pairs {res['required_ok']}/{res['required']}, "
            f"adjacent tiers {res['adjacent_ok']}/{res['adjacent']}, "
            f"rank correlation with heuristic {chat['heuristic_agreement'][name]:.2f}"
        )
    for dname, block in chat["proxies"].items():
        for ename, res in block["estimators"].items():
            lines.append(
                f"  proxy {dname:<12}{ename:<12}{res['apgr']:>8.3f}{res['cpt50']:>8.1%}{res['cpt80']:>8.1%}"
            )
    return lines


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

"""Cost-versus-quality curves of the complexity router, from ``evaluate_router --curves``.

The file holds, per labelled dataset, each estimator's curve of (share of requests sent to
the strong model, quality) and the weak/strong models' quality. The page plots the learned
estimator against random routing and marks where the live complexity route sits: the
share of requests it sends to its strongest band.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

GENERATE = "python manage.py evaluate_router --curves routing/complexity/curves.json"


def curves_path() -> Path:
    """The curves file the page charts (``SWITCHYARD_ROUTER_CURVES``)."""
    return Path(settings.SWITCHYARD_ROUTER_CURVES)


@dataclass(frozen=True)
class Curves:
    datasets: dict[str, dict[str, Any]]  # name -> {"weak", "strong", "lines": {est: {...}}}
    path: str


def _points(raw: Any) -> list[list[float]]:
    points = [[float(x), float(y)] for x, y in raw]
    if not points:
        raise ValueError("empty curve")
    return points


def _dataset(block: dict[str, Any]) -> dict[str, Any]:
    lines = {}
    for name, est in block["estimators"].items():
        lines[name] = {"curve": _points(est["curve"]), "apgr": float(est.get("apgr", 0.0))}
    return {
        "weak": float(block["weak"]),
        "strong": float(block["strong"]),
        "lines": lines,
        "shape": str(block.get("shape", "")),  # the prompt shape the curve was measured on
        "source": str(block.get("source", "")),  # what data, which models
    }


SHAPE_NAMES = {
    "multiple_choice": "multiple-choice questions",
    "word_problem": "math word problems",
    "chat": "chat (writing, roleplay, extraction, open questions, coding, reasoning, STEM)",
}


def shape_note(shapes: dict[str, int], curves: Curves) -> str:
    """A warning for the chart when most of the workload's prompts are of shapes the curves
    were not measured on ("" when the curves cover most of it or nothing is known)."""
    measured = {b["shape"] for b in curves.datasets.values() if b["shape"]}
    total = sum(shapes.values())
    if not measured or not total:
        return ""
    off = {s: n for s, n in shapes.items() if s not in measured}
    if sum(off.values()) * 2 <= total:
        return ""
    kinds = " and ".join(SHAPE_NAMES.get(s, s) for s in sorted(off, key=lambda s: -off[s]))
    covered = " and ".join(SHAPE_NAMES.get(s, s) for s in sorted(measured))
    return (
        f"{sum(off.values()) / total:.0%} of this workload's prompts are {kinds}: these curves "
        f"were measured on {covered} only, so the quality kept at the marked point is not "
        "known for most of this workload and may be lower than the curves show."
    )


def traffic_shapes(start: Any, end: Any) -> dict[str, int]:
    """Prompt shapes of the period's complexity-routed requests, as their recorded decisions
    name the estimator part that scored them."""
    from costcalc.traffic import _bounds
    from routing.complexity import ComplexityScore
    from routing.engine.policies import decision_part
    from usage.records import complexity_decisions_between

    counts: dict[str, int] = {}
    for decision in complexity_decisions_between(*_bounds(start, end)):
        part = decision_part(decision)
        if part:
            shape = ComplexityScore(0.0, part=part).shape
            counts[shape] = counts.get(shape, 0) + 1
    return counts


def load(path: Path | None = None) -> tuple[Curves | None, str]:
    """(curves, "") or (None, why they are missing or unreadable)."""
    file = path or curves_path()
    if not file.exists():
        return (
            None,
            f"No router evaluation yet ({file.name} not found). Generate it with: {GENERATE}",
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        datasets = {name: _dataset(b) for name, b in data["datasets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return (
            None,
            f"{file.name} cannot be read ({exc.__class__.__name__}). Regenerate it with: {GENERATE}",
        )
    if not datasets:
        return None, f"{file.name} has no datasets. Regenerate it with: {GENERATE}"
    return Curves(datasets, str(file)), ""


def quality_at(curve: list[list[float]], share: float) -> float:
    """Quality at a strong-model share, interpolated linearly between the curve's points."""
    points = sorted(curve)
    if share <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= share <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (share - x0) / (x1 - x0)
    return points[-1][1]


def gap_kept(block: dict[str, Any], quality: float) -> float | None:
    """The share of the weak-to-strong quality gap a quality keeps (None without a gap)."""
    gap = block["strong"] - block["weak"]
    return (quality - block["weak"]) / gap if gap > 0 else None


def share_for(block: dict[str, Any], kept: float) -> float | None:
    """The smallest strong-model share whose quality keeps `kept` of the gap on the learned
    curve (linear between its points); None when the curve never gets there."""
    learned = block["lines"].get("learned")
    gap = block["strong"] - block["weak"]
    if learned is None or gap <= 0:
        return None
    wanted = block["weak"] + kept * gap
    points = sorted(learned["curve"])
    if points[0][1] >= wanted:
        return points[0][0]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if y0 < wanted <= y1:
            return x0 + (x1 - x0) * (wanted - y0) / (y1 - y0)
    return None


def chart_data(
    curves: Curves, strong_share: float | None, target: float | None = None
) -> list[dict[str, Any]]:
    """Per dataset: the lines to plot, the marked operating point of the live route and, with a
    quality target (share of the gap to keep), the strong-model share that reaches it."""
    out = []
    for name, block in curves.datasets.items():
        learned = block["lines"].get("learned")
        marker = None
        if learned is not None and strong_share is not None:
            quality = quality_at(learned["curve"], strong_share)
            marker = {
                "share": strong_share,
                "quality": quality,
                "gap_recovered": gap_kept(block, quality),
            }
        goal = None
        if target is not None:
            share = share_for(block, target)
            goal = {"kept": target, "share": share}
            if share is not None and learned is not None:
                goal["quality"] = quality_at(learned["curve"], share)
        out.append({"name": name, **block, "marker": marker, "target": goal})
    return out

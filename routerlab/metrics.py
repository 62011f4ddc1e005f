"""Routing-quality metrics from the RouteLLM paper (APGR, CPT) and a cost curve.

A router gives every prompt a score; routing the top ``share`` of scores to the strong
model and the rest to the weak model yields a quality (mean correctness). Sweeping
``share`` over 0%, 10%, ..., 100% gives the router's curve.

Ties: rows with equal scores are indistinguishable to a threshold, so when a cut falls
inside a group of tied scores the group is routed *fractionally* (its expected quality
under random tie-breaking). Fractional cuts (``share * n`` not an integer) are handled
the same way. This keeps every metric deterministic and independent of row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

Curve = list[tuple[float, float]]


def _check(scores: Sequence[float], weak: Sequence[bool], strong: Sequence[bool]) -> int:
    n = len(scores)
    if n == 0 or n != len(weak) or n != len(strong):
        raise ValueError("scores, weak and strong must be non-empty and of equal length")
    return n


def _tie_groups(
    scores: Sequence[float], weak: Sequence[bool], strong: Sequence[bool]
) -> list[tuple[int, float]]:
    """(size, summed gain) per group of equal scores, highest score first."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    groups = []
    for _, members in groupby(order, key=lambda i: scores[i]):
        idx = list(members)
        gain = sum(float(strong[i]) - float(weak[i]) for i in idx)
        groups.append((len(idx), gain))
    return groups


def _gain_of_top(groups: list[tuple[int, float]], k: float) -> float:
    """Expected summed gain (strong - weak) from routing the top ``k`` rows to strong."""
    total = 0.0
    for size, gain in groups:
        if k <= 0:
            break
        take = min(float(size), k)
        total += gain * take / size
        k -= take
    return total


def curve(
    scores: Sequence[float],
    weak: Sequence[bool],
    strong: Sequence[bool],
    points: int = 11,
) -> Curve:
    """(strong share, quality) at ``points`` evenly spaced shares from 0 to 1."""
    n = _check(scores, weak, strong)
    groups = _tie_groups(scores, weak, strong)
    base = sum(float(w) for w in weak)
    out = []
    for j in range(points):
        share = j / (points - 1)
        out.append((share, (base + _gain_of_top(groups, share * n)) / n))
    return out


def _area(points: Curve) -> float:
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def apgr_from_curve(points: Curve) -> float:
    """Average performance gap recovered, from a curve spanning share 0..1."""
    weak_q, strong_q = points[0][1], points[-1][1]
    gap = strong_q - weak_q
    if gap <= 0:
        return 0.0
    return (_area(points) - weak_q) / gap


def cpt_from_curve(points: Curve, fraction: float) -> float:
    """Smallest strong share whose quality recovers ``fraction`` of the gap (interpolated)."""
    weak_q, strong_q = points[0][1], points[-1][1]
    if strong_q <= weak_q:
        return 0.0
    target = weak_q + fraction * (strong_q - weak_q)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if y0 >= target - 1e-12:
            return x0
        if y1 >= target - 1e-12:
            return x0 + (target - y0) / (y1 - y0) * (x1 - x0)
    return points[-1][0]


def apgr(
    scores: Sequence[float], weak_correct: Sequence[bool], strong_correct: Sequence[bool]
) -> float:
    """APGR of a router over the decile sweep (random routing is about 0.5)."""
    return apgr_from_curve(curve(scores, weak_correct, strong_correct))


def cpt(
    scores: Sequence[float], weak: Sequence[bool], strong: Sequence[bool], fraction: float
) -> float:
    """Call-performance threshold: strong share needed to recover ``fraction`` of the gap."""
    return cpt_from_curve(curve(scores, weak, strong), fraction)


def cost_curve(
    points: Curve,
    weak_price: float,
    strong_price: float,
    *,
    input_tokens: float = 500.0,
    output_tokens: float = 250.0,
    weak_output_price: float | None = None,
    strong_output_price: float | None = None,
) -> list[tuple[float, float, float]]:
    """(strong share, quality, USD per 1k requests) for each curve point.

    Prices are USD per million tokens, as in the catalog: ``*_price`` is the input price,
    ``*_output_price`` the output price (defaults to the input price when omitted).
    ``input_tokens``/``output_tokens`` are the average tokens per request.
    """
    weak_out = weak_price if weak_output_price is None else weak_output_price
    strong_out = strong_price if strong_output_price is None else strong_output_price
    weak_cost = (input_tokens * weak_price + output_tokens * weak_out) / 1e6
    strong_cost = (input_tokens * strong_price + output_tokens * strong_out) / 1e6
    return [
        (share, quality, 1000 * (share * strong_cost + (1 - share) * weak_cost))
        for share, quality in points
    ]

"""Calibrate a complexity route: thresholds that give each model a target share of traffic,
from the scores of recent prompts (or a sample), as RouteLLM's calibration does."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(sorted_scores: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted scores, q in [0, 1]."""
    if not sorted_scores:
        raise ValueError("no scores to calibrate on")
    position = q * (len(sorted_scores) - 1)
    low, high = math.floor(position), math.ceil(position)
    fraction = position - low
    return sorted_scores[low] + (sorted_scores[high] - sorted_scores[low]) * fraction


def thresholds(scores: Sequence[float], shares: Sequence[float]) -> list[float]:
    """Upper score bounds for bands 1..n-1 so band i receives shares[i] of the traffic.

    `shares` are fractions for every band, cheapest first, summing to 1.
    """
    if any(s < 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
        raise ValueError("shares must be non-negative and add up to 100 %")
    ordered = sorted(scores)
    bounds, cumulative = [], 0.0
    for share in shares[:-1]:
        cumulative += share
        bounds.append(round(min(1.0, max(1e-6, quantile(ordered, cumulative))), 6))
    for i in range(1, len(bounds)):  # the admin validation needs strictly rising bounds
        bounds[i] = max(bounds[i], round(bounds[i - 1] + 1e-6, 6))
    return bounds


def achieved_shares(scores: Sequence[float], bounds: Sequence[float]) -> list[float]:
    """The share of these scores each band would receive with these bounds."""
    counts = [0] * (len(bounds) + 1)
    for score in scores:
        band = next((i for i, bound in enumerate(bounds) if score < bound), len(bounds))
        counts[band] += 1
    total = max(1, len(scores))
    return [c / total for c in counts]


FEW_SCORES = 100  # below this the bounds move a lot from one week of traffic to the next
Z95 = 1.96


def share_margin(share: float, count: int) -> float:
    """Half-width of the 95 % interval of a share measured on `count` scores (normal approx.)."""
    if count <= 0:
        return 1.0
    return Z95 * math.sqrt(max(share * (1 - share), 0.0) / count)


def bound_interval(sorted_scores: Sequence[float], q: float) -> tuple[float, float]:
    """A distribution-free 95 % interval for the q-quantile: the order statistics at ranks
    n*q -/+ 1.96*sqrt(n*q*(1-q)), clipped to the sample."""
    n = len(sorted_scores)
    if not n:
        raise ValueError("no scores")
    spread = Z95 * math.sqrt(n * q * (1 - q))
    low = max(0, math.floor(n * q - spread) - 1)
    high = min(n - 1, math.ceil(n * q + spread))
    return sorted_scores[low], sorted_scores[high]


def uncertainty(scores: Sequence[float], shares: Sequence[float]) -> list[dict[str, float]]:
    """Per proposed bound (bands 1..n-1): its 95 % interval and the share's margin."""
    ordered = sorted(scores)
    out, cumulative = [], 0.0
    for share in shares[:-1]:
        cumulative += share
        low, high = bound_interval(ordered, cumulative)
        out.append({"low": low, "high": high, "margin": share_margin(share, len(ordered))})
    return out

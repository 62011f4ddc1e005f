"""Routing metrics on small hand-computed cases."""

import pytest

from routerlab import metrics as M


def flat(rows):
    return [x for row in rows for x in row]


# 4 rows, gains (strong - weak) = [+1, 0, -1, +1] in score order; weak 0.5, strong 0.75.
SCORES = [4.0, 3.0, 2.0, 1.0]
WEAK = [False, True, True, False]
STRONG = [True, True, False, True]


def test_curve_integer_cuts():
    points = M.curve(SCORES, WEAK, STRONG, points=5)
    expected = [(0, 0.5), (0.25, 0.75), (0.5, 0.75), (0.75, 0.5), (1, 0.75)]
    assert flat(points) == pytest.approx(flat(expected))


def test_apgr_and_cpt_hand_computed():
    points = M.curve(SCORES, WEAK, STRONG, points=5)
    # area = 0.25 * (0.625 + 0.75 + 0.625 + 0.625) = 0.65625; (0.65625 - 0.5) / 0.25
    assert M.apgr_from_curve(points) == pytest.approx(0.625)
    # 50% of the gap = quality 0.625, half-way along the first segment
    assert M.cpt_from_curve(points, 0.5) == pytest.approx(0.125)
    assert M.cpt_from_curve(points, 1.0) == pytest.approx(0.25)


def test_fractional_cut_interpolates():
    points = M.curve(SCORES, WEAK, STRONG)  # 11 points: share 0.1 -> 0.4 of the top row
    assert points[1] == pytest.approx((0.1, 0.5 + 0.4 / 4))
    assert points[-1] == pytest.approx((1.0, 0.75))


def _oracle_rows():
    weak = [False] * 3 + [True] * 7
    strong = [True] * 10
    return weak, strong


def test_oracle_and_reverse_oracle():
    weak, strong = _oracle_rows()
    best = [1.0] * 3 + [0.0] * 7
    # curve 0.7, 0.8, 0.9, 1.0, ...: area = 0.1 * (0.75 + 0.85 + 0.95) + 0.7 = 0.955
    assert M.apgr(best, weak, strong) == pytest.approx((0.955 - 0.7) / 0.3)
    assert M.cpt(best, weak, strong, 0.5) == pytest.approx(0.15)
    worst = [-s for s in best]
    assert M.apgr(worst, weak, strong) == pytest.approx((0.745 - 0.7) / 0.3)
    assert M.cpt(worst, weak, strong, 0.5) == pytest.approx(0.85)


def test_ties_route_fractionally_like_random():
    weak, strong = _oracle_rows()
    points = M.curve([0.5] * 10, weak, strong)
    assert [q for _, q in points] == pytest.approx([0.7 + 0.03 * i for i in range(11)])
    assert M.apgr([0.5] * 10, weak, strong) == pytest.approx(0.5)
    assert M.cpt([0.5] * 10, weak, strong, 0.5) == pytest.approx(0.5)


def test_order_of_rows_does_not_matter():
    perm = [2, 0, 3, 1]
    a = M.apgr(SCORES, WEAK, STRONG)
    b = M.apgr([SCORES[i] for i in perm], [WEAK[i] for i in perm], [STRONG[i] for i in perm])
    assert a == pytest.approx(b)


def test_no_gap_is_zero_and_bad_input_raises():
    assert M.apgr([1, 2], [True, True], [True, False]) == 0.0
    assert M.cpt([1, 2], [True, True], [True, False], 0.5) == 0.0
    with pytest.raises(ValueError):
        M.apgr([1.0], [True, False], [True, True])
    with pytest.raises(ValueError):
        M.curve([], [], [])


def test_cost_curve():
    points = [(0.0, 0.6), (0.5, 0.7), (1.0, 0.8)]
    out = M.cost_curve(points, 1.0, 10.0, input_tokens=1000, output_tokens=0)
    # weak $0.001, strong $0.01 per request
    assert flat(out) == pytest.approx(flat([(0.0, 0.6, 1.0), (0.5, 0.7, 5.5), (1.0, 0.8, 10.0)]))
    out = M.cost_curve(points, 1.0, 10.0, input_tokens=0, output_tokens=1000, weak_output_price=2.0)
    assert out[0][2] == pytest.approx(2.0) and out[-1][2] == pytest.approx(10.0)

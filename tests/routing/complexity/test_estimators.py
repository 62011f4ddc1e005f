"""Estimator API: range, determinism, caching, header-sized feature dicts."""

import json

import pytest

from routing.complexity import (
    ARTEFACT,
    ComplexityScore,
    HeuristicEstimator,
    LearnedEstimator,
    get_estimator,
)
from routing.complexity.model import LinearModel

PROMPTS = [
    "",
    "hi",
    "What is the capital of France?",
    "Prove that every bounded monotone sequence converges. Explain each step.",
    "def f(x):\n    return {x: x ** 2 for x in range(10)};\n```python\nprint(f(3))\n```",
    "日本語で説明してください。量子コンピュータとは何ですか？",
    "Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:",
    "word " * 5000,
]


@pytest.mark.parametrize("name", ["learned", "heuristic", "length"])
def test_scores_in_unit_interval_and_small_features(name):
    est = get_estimator(name)
    for prompt in PROMPTS:
        score = est.score(prompt)
        assert isinstance(score, ComplexityScore)
        assert 0.0 <= score.value <= 1.0
        assert len(score.features) <= 6
        assert all(isinstance(v, (int, float)) for v in score.features.values())
        assert score.estimator.startswith(name)


@pytest.mark.parametrize("name", ["learned", "heuristic", "length"])
def test_deterministic(name):
    first = [get_estimator(name).score(p) for p in PROMPTS]
    second = [get_estimator(name).score(p) for p in PROMPTS]
    assert first == second


def test_get_estimator_is_cached_and_validates():
    assert get_estimator("learned") is get_estimator("learned")
    assert get_estimator() is get_estimator("learned")
    with pytest.raises(ValueError):
        get_estimator("nope")


def test_learned_matches_a_fresh_load_of_the_artefact():
    fresh = LinearModel.from_json(json.loads(ARTEFACT.read_text()))
    est = LearnedEstimator()
    for prompt in PROMPTS:
        assert est.score(prompt).value == pytest.approx(
            fresh.calibrate(fresh.logit(prompt)), abs=1e-6
        )


def test_artefact_is_small_and_labelled():
    assert ARTEFACT.stat().st_size < 2_000_000
    assert get_estimator("learned").score("x").estimator == "learned-v1"


def test_heuristic_orders_obvious_cases():
    h = HeuristicEstimator()
    easy = h.score("hi").value
    hard = h.score(
        PROMPTS[3] + " Derive the integral of the probability density, then optimize. " * 20
    )
    assert hard.value > easy
    assert hard.features["technical"] > 0


def test_calibration_is_monotone():
    model = get_estimator("learned").model
    values = [model.calibrate(x / 10) for x in range(-100, 100)]
    assert values == sorted(values)
    assert values[0] == 0.0 and values[-1] == 1.0

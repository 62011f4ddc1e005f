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
from routing.complexity import features as F
from routing.complexity.model import LinearModel, SplitModel, load_any

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


WORD_PROBLEM = (
    "Toulouse has twice as many sheep as Charleston. Charleston has 4 times as many sheep "
    "as Seattle. How many sheep do Toulouse, Charleston, and Seattle have together if "
    "Seattle has 20 sheep?"
)


def test_learned_matches_a_fresh_load_of_the_artefact():
    fresh = load_any(ARTEFACT)
    assert isinstance(fresh, SplitModel)
    assert SplitModel.from_json(json.loads(ARTEFACT.read_text())) == fresh
    est = LearnedEstimator()
    for prompt in [*PROMPTS, WORD_PROBLEM]:
        part = fresh.part(prompt)
        if part is not None:  # the learned parts' shapes; chat goes to the chat part
            assert est.score(prompt).value == pytest.approx(part.score(prompt), abs=1e-6)


def test_split_model_dispatches_on_answer_choices():
    model = get_estimator("learned").model
    mc, free = PROMPTS[6], WORD_PROBLEM
    assert F.has_choices(mc) and not F.has_choices(free)
    assert model.part(mc) is model.mc and model.mc.feature_set == "dense"
    assert model.part(free) is model.free and model.free.feature_set == "word_problem"
    assert model.part("Write a poem about the sea, in 3 stanzas. How long is it?") is None
    assert set(model.free.dense) == set(F.WORD_PROBLEM)
    headers = get_estimator("learned").score(free).features
    assert headers["choices"] == 0.0 and headers["numbers"] == 2  # "4" and "20"


def test_v1_linear_artefacts_still_load(tmp_path):
    v1 = get_estimator("learned").model.mc
    path = tmp_path / "v1.json"
    v1.save(path)
    loaded = load_any(path)
    assert isinstance(loaded, LinearModel) and loaded == v1
    assert LearnedEstimator(path).score(PROMPTS[6]).value == pytest.approx(
        v1.score(PROMPTS[6]), abs=1e-6
    )


def test_the_artefact_setting_is_read_through_django_settings(tmp_path, settings):
    """SWITCHYARD_COMPLEXITY_MODEL is a setting (from the environment): a v1 artefact there
    is what a fresh learned estimator loads."""
    v1 = get_estimator("learned").model.mc
    path = tmp_path / "v1.json"
    v1.save(path)
    assert settings.SWITCHYARD_COMPLEXITY_MODEL == ""  # the shipped artefact by default
    settings.SWITCHYARD_COMPLEXITY_MODEL = str(path)
    assert LearnedEstimator().model == v1
    assert LearnedEstimator().label == "learned-v1"
    settings.SWITCHYARD_COMPLEXITY_MODEL = str(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="train_router"):
        LearnedEstimator()


def test_word_problem_features_are_finite_and_bounded():
    for prompt in [*PROMPTS, WORD_PROBLEM, "1,,2 and 3.5% of $1,000,000 or 1/2", "9" * 5000]:
        raw = F.word_problem_features(prompt)
        assert list(raw) == list(F.WORD_PROBLEM)
        assert all(v == v and abs(v) < 1e6 for v in raw.values())


def test_artefact_is_small_and_labelled():
    assert ARTEFACT.stat().st_size < 2_000_000
    assert get_estimator("learned").score("x").estimator == "learned-v3"


def test_heuristic_orders_obvious_cases():
    h = HeuristicEstimator()
    easy = h.score("hi").value
    hard = h.score(
        PROMPTS[3] + " Derive the integral of the probability density, then optimize. " * 20
    )
    assert hard.value > easy
    assert hard.features["technical"] > 0


def test_calibration_is_monotone():
    split = get_estimator("learned").model
    for model in (split.mc, split.free):
        values = [model.calibrate(x / 10) for x in range(-100, 100)]
        assert values == sorted(values)
        assert values[0] == 0.0 and values[-1] == 1.0


def test_choice_similarity_hand_computed():
    """Jaccard of character 3-gram sets over choice pairs: "abcd"/"abce" share "abc" of 3."""
    prompt = "Q?\nA. abcd\nB. abce\nC. abcd\nAnswer:"
    assert F.choice_texts(prompt) == ["abcd", "abce", "abcd"]
    low, mean, high = F.choice_similarity(prompt)
    # pairs: A-B 1/3, A-C 1, B-C 1/3
    assert (low, high) == (pytest.approx(1 / 3), 1.0)
    assert mean == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    assert F.choice_similarity("no choices here") == (0.0, 0.0, 0.0)
    raw = F.dense_features(prompt)
    assert raw["choice_sim_max"] == 1.0 and list(raw) == list(F.DENSE)


def test_choice_similarity_looks_only_at_each_choice_head():
    """Each choice is compared over its first CHOICE_CAP characters, so cost is bounded."""
    tail_a, tail_b = "x" * 400, "y" * 400  # the choices still sit in the scanned tail
    prompt = f"Q?\nA. same start {tail_a}\nB. same start {tail_b}\nAnswer:"
    head = "same start " + "x" * (F.CHOICE_CAP - 11)
    other = "same start " + "y" * (F.CHOICE_CAP - 11)
    expected = F.choice_similarity(f"Q?\nA. {head}\nB. {other}\nAnswer:")
    assert F.choice_similarity(prompt) == pytest.approx(expected)


def test_story_features_of_a_word_problem():
    """Sequence words, number magnitudes, people and stated ages, counted by hand."""
    prompt = (
        "Tom is 12 and his sister Ann's age is 30. First Tom buys 3 apples for $150, "
        "then another 25 at 20% off. How many apples does Tom have?"
    )
    raw = F.word_problem_features(prompt)
    log = F._log
    assert raw["wp2_ord_seq"] == pytest.approx(log(3))  # first, then, another
    assert raw["wp2_mag_small"] == pytest.approx(log(1))  # 3
    assert raw["wp2_mag_large"] == pytest.approx(log(1))  # 150
    assert raw["wp2_mag_round"] == pytest.approx(log(3))  # 30, 150, 20
    assert raw["wp2_mag_nonround"] == pytest.approx(log(1))  # 12
    # capitalised words outside a stop list ("How"): Tom, Ann and sentence-initial "First"
    assert raw["wp2_ent_names"] == pytest.approx(log(3))
    assert raw["wp2_ent_mentions"] == pytest.approx(log(5))
    assert raw["wp2_ent_poss"] == pytest.approx(log(1))  # Ann's
    assert raw["wp2_ent_family"] == pytest.approx(log(1))  # sister
    assert raw["wp2_nl_ages"] == pytest.approx(log(2))  # "is 12", "is 30"
    assert raw["wp2_dp_pct_money"] == 1.0

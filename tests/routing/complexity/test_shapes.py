"""Each learned part's shape check, the chat part, and the sanity suite the estimator must pass."""

import pytest

from routerlab import sanity
from routerlab.data import gsm8k_split, load_gsm8k, load_mmlu
from routing.complexity import (
    CHAT_PART,
    HEURISTIC_PART,
    MULTIPLE_CHOICE_PART,
    WORD_PROBLEM_PART,
    chat,
    get_estimator,
    part_label,
)
from routing.complexity import shapes as S

CHAT_PROMPTS = {
    "What is a binary search tree and how do I balance one?": "coding",
    "Compute the eigenvalues of [[2,1],[1,2]].": "math",
    "A/B test: 4.1% (n=12,000) vs 3.8% (n=12,500). Is it statistically significant?": "math",
    "Write a poem about the 3 seasons I love. How long should it be?": "writing",
    "Prove that for every integer n >= 1, 1 + 2 + ... + n = n(n+1)/2.": "math",
    "def add(a, b):\n    return a + b\n\nWhy does add(1, '2') fail? Fix it.": "coding",
    "Pretend you are a tour guide in Rome with 20 years of experience. How do you greet us?": (
        "roleplay"
    ),
    "Extract the 2 dates from this text as JSON: 'We met on 3 May and again on 9 June.'": (
        "extraction"
    ),
}


def test_every_gsm8k_prompt_is_a_word_problem_and_every_mmlu_item_multiple_choice():
    """The learned parts keep the prompts they were fitted and measured on."""
    assert all(S.shape_of(r.prompt) == S.WORD_PROBLEM for r in load_gsm8k())
    mmlu = [S.shape_of(r.prompt) for r in load_mmlu()]
    assert mmlu.count(S.MULTIPLE_CHOICE) >= len(mmlu) - 4  # 4 items' choices sit beyond the tail


@pytest.mark.parametrize(("prompt", "category"), CHAT_PROMPTS.items())
def test_chat_prompts_with_numbers_or_questions_are_not_word_problems(prompt, category):
    """Numbers and a question mark do not make a chat prompt a word problem: the chat part
    scores it, by its category, and the score says so."""
    assert S.shape_of(prompt) == S.CHAT
    score = get_estimator("learned").score(prompt)
    assert score.part == f"{CHAT_PART}:{category}" and score.shape == S.CHAT


def test_each_part_is_named_on_its_score():
    est = get_estimator("learned")
    _, test = gsm8k_split()
    mc = "Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:"
    assert est.score(mc).part == MULTIPLE_CHOICE_PART
    assert est.score(test[0].prompt).part == WORD_PROBLEM_PART
    assert est.score("Tell me about your day").part == HEURISTIC_PART  # no category fits
    assert (
        est.score("Tell me about your day").value
        == get_estimator("heuristic").score("Tell me about your day").value
    )
    assert part_label("chat:coding") == "chat part, category coding"
    assert part_label(WORD_PROBLEM_PART) == "learned word-problem part"


def test_learned_parts_refuse_other_shapes():
    model = get_estimator("learned").model
    assert model.part_for(S.CHAT) is None
    assert model.part_for(S.MULTIPLE_CHOICE) is model.mc
    assert model.part_for(S.WORD_PROBLEM) is model.free
    assert model.mc.part_for(S.CHAT) is None  # a v1 single model: the same rule


def test_the_examples_from_the_issue_are_ordered():
    """'Prove that √2 is irrational' scored 0.05 and the capital of France 0.21 before."""
    est = get_estimator("learned")
    proof, trivia = (
        est.score("Prove that √2 is irrational."),
        est.score("What is the capital of France?"),
    )
    assert proof.value > 0.5 > 0.1 > trivia.value
    assert proof.part == "chat:math" and trivia.part == "chat:smalltalk"


@pytest.mark.parametrize("name", ["learned", "heuristic"])
def test_sanity_suite_every_required_pair_is_ordered(name):
    """Tier 3 (proofs, tricky algorithms, logic puzzles) above tiers 0-1 (small talk, trivia,
    a haiku), tier 2 above tier 0: every pair, no ties."""
    est = get_estimator(name)
    result = sanity.run(lambda p: est.score(p).value)
    assert result["required"] == 360
    assert result["failed"] == []
    tiers = result["tier_means"]
    assert tiers[0] < tiers[1] < tiers[2] < tiers[3]


def test_sanity_suite_length_alone_fails_it():
    """The suite can fail: prompt length misorders some required pairs."""
    est = get_estimator("length")
    assert sanity.run(lambda p: est.score(p).value)["failed"]


def test_sanity_suite_covers_every_chat_category():
    assert {c.category for c in sanity.CASES} == set(chat.PRIOR)
    assert {c.tier for c in sanity.CASES} == {0, 1, 2, 3}


def test_chat_part_agrees_with_the_heuristic_where_no_part_was_fitted():
    """On the suite's prompts the learned estimator ranks like the seed heuristic (the best
    measured chat baseline), with the category on top: rank correlation >= 0.8."""
    prompts = [c.prompt for c in sanity.CASES]
    learned = [get_estimator("learned").score(p).value for p in prompts]
    heuristic = [get_estimator("heuristic").score(p).value for p in prompts]
    assert sanity.spearman(learned, heuristic) >= 0.8
    assert sanity.spearman(heuristic, heuristic) == pytest.approx(1.0)


def test_category_priors_follow_the_mt_bench_gap_order():
    p = chat.PRIOR
    assert min(p["math"], p["reasoning"], p["coding"]) > max(p["stem"], p["extraction"])
    assert min(p["stem"], p["extraction"]) > max(p["writing"], p["roleplay"], p["humanities"])
    assert p["smalltalk"] == min(p.values())


def test_chat_part_is_bounded_and_cheap_on_long_prompts():
    long = "Explain how this code works: " + "x = compute(y); " * 5000
    category, value, feats = chat.score(long)
    assert category == "coding" and 0.0 <= value <= 1.0 and len(feats) <= 6

"""The sanity suite: chat prompts we wrote ourselves, in tiers any engineer would agree on.

There are no chat labels in the repository, so this is the check the chat part must pass,
not a measure of APGR. Each prompt has a category (MT-Bench's, plus small talk / trivia) and
a tier:

- 0: small talk and one-line trivia ("hi", "What is the capital of France?");
- 1: easy creative or everyday requests (a haiku, a pirate greeting, a thank-you note);
- 2: real work of moderate difficulty (explain a STEM idea, extract fields, a small script);
- 3: hard: proofs, tricky algorithms, multi-step logic puzzles, subtle design questions.

The pairs that must be ordered are every (tier 3, tier <= 1) and (tier 2, tier 0) pair: two
tiers apart, where nobody disagrees. Adjacent tiers are reported (``adjacent``) but not
required. The prompts were written before the chat part's weights were set and are kept
varied in wording (not only the chat part's cue words) so that passing means something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any


@dataclass(frozen=True)
class Case:
    tier: int
    category: str
    prompt: str


CASES: tuple[Case, ...] = (
    # tier 0: small talk, trivia
    Case(0, "smalltalk", "hi"),
    Case(0, "smalltalk", "Hello! How are you today?"),
    Case(0, "smalltalk", "Thanks, that was helpful."),
    Case(0, "smalltalk", "What is the capital of France?"),
    Case(0, "smalltalk", "Who wrote Romeo and Juliet?"),
    Case(0, "smalltalk", "Tell me a joke about cats."),
    Case(0, "smalltalk", "What's your favorite color?"),
    Case(0, "smalltalk", "How many legs does a spider have?"),
    Case(0, "smalltalk", "Good morning!"),
    Case(0, "smalltalk", "What year did World War II end?"),
    # tier 1: easy creative / everyday
    Case(1, "writing", "Write a haiku about autumn leaves."),
    Case(1, "writing", "Write a short thank-you note to my neighbour for watering my plants."),
    Case(1, "writing", "Give me three catchy names for a coffee shop."),
    Case(1, "roleplay", "Pretend you are a pirate and greet me."),
    Case(1, "roleplay", "Act as a friendly barista and take my order."),
    Case(1, "writing", "Write a two-line birthday message for my sister."),
    Case(1, "humanities", "Briefly, who was Napoleon?"),
    Case(1, "extraction", "Turn this into a bullet list: eggs, milk, bread, apples."),
    Case(1, "writing", "Suggest a funny caption for a photo of my dog sleeping."),
    Case(1, "roleplay", "You are Santa Claus. Tell a child what you do on Christmas Eve."),
    # tier 2: moderate work
    Case(2, "stem", "Explain how photosynthesis converts light into chemical energy."),
    Case(2, "stem", "Why does ice float on water? Explain the role of hydrogen bonds."),
    Case(
        2,
        "extraction",
        "From the following text, extract every person's name and the company they work for, "
        "as JSON: 'Maria Lopez joined Acme Corp in 2019; her manager, Tom Reed, moved to "
        "Globex last spring.'",
    ),
    Case(2, "coding", "Write a Python function that checks whether a string is a palindrome."),
    Case(2, "coding", "How do I reverse a list in JavaScript?"),
    Case(
        2,
        "humanities",
        "Compare the causes of the French Revolution and the American Revolution.",
    ),
    Case(2, "stem", "What is the difference between mitosis and meiosis?"),
    Case(
        2,
        "writing",
        "Write a persuasive 300-word essay arguing that cities should invest in bike lanes, "
        "addressing two common objections.",
    ),
    Case(2, "math", "Solve for x: 3x + 7 = 22."),
    Case(
        2,
        "reasoning",
        "If all bloops are razzies and some razzies are lazzies, are all bloops lazzies? Explain.",
    ),
    Case(
        2,
        "extraction",
        "Summarize the main argument of this paragraph in two sentences: "
        "'Remote work raises productivity for focused tasks, but collaboration suffers "
        "without deliberate rituals, so hybrid schedules are a compromise most firms adopt.'",
    ),
    Case(
        2,
        "coding",
        "Write an SQL query that returns the ten customers with the highest total order value.",
    ),
    # tier 3: hard
    Case(3, "math", "Prove that √2 is irrational."),
    Case(3, "math", "Prove that there are infinitely many primes of the form 4k + 3."),
    Case(
        3,
        "math",
        "Evaluate the integral of x^2 * e^(-x) from 0 to infinity and justify each step, "
        "including convergence.",
    ),
    Case(
        3,
        "coding",
        "Implement a lock-free single-producer single-consumer ring buffer in C++ and "
        "explain the memory ordering of every atomic operation.",
    ),
    Case(
        3,
        "coding",
        "Given an array of n integers, find the length of the longest increasing "
        "subsequence in O(n log n) time. Explain the algorithm, prove it is correct, and "
        "handle edge cases.",
    ),
    Case(
        3,
        "reasoning",
        "Three people are each either a knight, who always tells the truth, or a knave, who "
        "always lies. A says 'B is a knave.' B says 'A and C are the same kind.' What is C? "
        "Reason step by step.",
    ),
    Case(
        3,
        "reasoning",
        "Five houses in a row are painted different colours and owned by people of "
        "different nationalities. Using these twelve clues, determine who owns the fish, "
        "and show the deduction at each step.",
    ),
    Case(
        3,
        "stem",
        "Derive the time-independent Schrödinger equation for a particle in a "
        "one-dimensional infinite potential well and find its energy eigenvalues.",
    ),
    Case(
        3,
        "coding",
        "Design a distributed rate limiter for an API gateway running on 50 nodes: it must "
        "enforce per-key limits within 1% accuracy, tolerate a node failure, and add under "
        "a millisecond of latency. Discuss the trade-offs of at least two designs.",
    ),
    Case(
        3,
        "math",
        "Show that every continuous function on a closed bounded interval is uniformly continuous.",
    ),
    Case(
        3,
        "coding",
        "My recursive descent parser loops forever on left-recursive grammar rules like "
        "expr -> expr '+' term. Rewrite the grammar to remove left recursion while "
        "preserving associativity, and give the parser code.",
    ),
    Case(
        3,
        "stem",
        "Explain why the Carnot efficiency is the maximum for any heat engine between two "
        "reservoirs, with a rigorous argument from the second law of thermodynamics.",
    ),
)


def pairs(cases: tuple[Case, ...] = CASES) -> list[tuple[Case, Case]]:
    """(harder, easier) pairs that must be ordered: tier 3 over tiers 0-1, tier 2 over 0."""
    return [
        (hi, lo)
        for hi, lo in product(cases, cases)
        if (hi.tier == 3 and lo.tier <= 1) or (hi.tier == 2 and lo.tier == 0)
    ]


def adjacent_pairs(cases: tuple[Case, ...] = CASES) -> list[tuple[Case, Case]]:
    """(harder, easier) pairs one tier apart: reported, not required."""
    return [(hi, lo) for hi, lo in product(cases, cases) if hi.tier == lo.tier + 1]


def run(score: Callable[[str], float], cases: tuple[Case, ...] = CASES) -> dict[str, Any]:
    """Pair accuracy (ties count as wrong) and the failed required pairs of a scorer."""
    values = {c.prompt: score(c.prompt) for c in cases}

    def ordered(pair: tuple[Case, Case]) -> bool:
        return values[pair[0].prompt] > values[pair[1].prompt]

    required, adjacent = pairs(cases), adjacent_pairs(cases)
    failed = [(hi.prompt, lo.prompt) for hi, lo in required if not ordered((hi, lo))]
    return {
        "required": len(required),
        "required_ok": len(required) - len(failed),
        "adjacent": len(adjacent),
        "adjacent_ok": sum(map(ordered, adjacent)),
        "failed": failed,
        "tier_means": {
            t: sum(values[c.prompt] for c in cases if c.tier == t)
            / max(1, sum(c.tier == t for c in cases))
            for t in sorted({c.tier for c in cases})
        },
    }


def spearman(a: list[float], b: list[float]) -> float:
    """Rank correlation (average ranks for ties) of two equally long score lists."""

    def ranks(xs: list[float]) -> list[float]:
        order = sorted(range(len(xs)), key=xs.__getitem__)
        out = [0.0] * len(xs)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    var = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return cov / var if var else 0.0

"""Decision time and memory of the complexity estimators (not a test).

    .venv/bin/python bench/bench_complexity.py [--iterations N]

Prints p50/p99 per decision for a short prompt and three ~2,000-token prompts (one ending
in multiple-choice answers, scored by the learned model's ``mc`` part, one of word problems,
GSM8K prose, and one of chat prompts; both too long for a word problem, they go to the chat
part) plus the longest prompt the word-problem part accepts (1,200 characters), for the heuristic and learned estimators, and
the RSS growth caused by loading the learned artefact. Run on an otherwise idle core for stable numbers (e.g. ``taskset -c 0``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHORT = "What is the capital of Australia, and why isn't it Sydney?"


def rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def long_prompt(tokens: int = 2000) -> str:
    """~``tokens`` tokens (~4 chars each) of varied text: MMLU prompts if present, else synthetic."""
    try:
        from routerlab.data import load_mmlu

        rows = load_mmlu()
        random.Random(0).shuffle(rows)
        parts, size = [], 0
        for row in rows:
            parts.append(row.prompt)
            size += len(row.prompt)
            if size >= tokens * 4:
                break
        return "\n\n".join(parts)[: tokens * 4]
    except OSError:
        rng = random.Random(0)
        vocab = [f"w{rng.randrange(20000)}" for _ in range(3000)] + ["the", "of", "=", "42", "?"]
        return " ".join(rng.choice(vocab) for _ in range(tokens))


def long_free_prompt(tokens: int = 2000) -> str:
    """~``tokens`` tokens of free-form text (GSM8K word problems if present, else synthetic)."""
    try:
        from routerlab.data import load_gsm8k

        text = "\n\n".join(r.prompt for r in load_gsm8k())
    except OSError:
        rng = random.Random(1)
        text = " ".join(
            f"Ann buys {rng.randrange(100)} apples at ${rng.randrange(9)}.50 each, twice a week."
            for _ in range(tokens)
        )
    return text[: tokens * 4]


def longest_word_problem() -> str:
    """The longest prompt the word-problem part accepts (``shapes.WP_MAX_CHARS``), from GSM8K."""
    from routing.complexity import shapes

    prompt = long_free_prompt().replace("\n\n", " ")[: shapes.WP_MAX_CHARS - 60]
    prompt = prompt[: prompt.rfind(". ") + 1] + " How many apples are left after 3 days?"
    assert shapes.shape_of(prompt) == shapes.WORD_PROBLEM, prompt
    return prompt


def long_chat_prompt(tokens: int = 2000) -> str:
    """~``tokens`` tokens of chat (the sanity suite's prompts, repeated): the chat part."""
    from routerlab.sanity import CASES

    text = "\n\n".join(c.prompt for c in CASES)
    return (text * (tokens * 4 // len(text) + 1))[: tokens * 4]


def _pct(samples: list[int], q: float) -> float:
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * q))] / 1000


def timings(estimator: object, prompt: str, iterations: int) -> tuple[float, float, float]:
    """Wall-clock p50/p99 and CPU-time p99 (robust to preemption on a busy host), in us."""
    score = estimator.score  # type: ignore[attr-defined]
    for _ in range(20):
        score(prompt)
    wall, cpu = [], []
    for _ in range(iterations):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        score(prompt)
        cpu.append(time.thread_time_ns() - c0)
        wall.append(time.perf_counter_ns() - t0)
    return _pct(wall, 0.5), _pct(wall, 0.99), _pct(cpu, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()

    before = rss_kib()
    from routing.complexity import get_estimator

    imported = rss_kib()
    learned = get_estimator("learned")
    learned.score(SHORT)
    loaded = rss_kib()
    heuristic = get_estimator("heuristic")
    prompts = {
        "short": SHORT,
        "2000-tok mc": long_prompt(),
        "2000-tok free": long_free_prompt(),  # too long for a word problem: the chat part
        "1200-char wp": longest_word_problem(),
        "2000-tok chat": long_chat_prompt(),
    }

    print(
        f"{'estimator':<11}{'prompt':<14}{'part':<16}{'chars':>7}{'p50 us':>9}{'p99 us':>9}"
        f"{'p99 cpu us':>12}"
    )
    for name, est in (("heuristic", heuristic), ("learned", learned)):
        for label, prompt in prompts.items():
            part = est.score(prompt).part
            p50, p99, cpu99 = timings(est, prompt, args.iterations)
            print(
                f"{name:<11}{label:<14}{part:<16}{len(prompt):>7}{p50:>9.1f}{p99:>9.1f}"
                f"{cpu99:>12.1f}"
            )
    print(
        f"RSS: import +{(imported - before) / 1024:.1f} MiB, load learned artefact +{(loaded - imported) / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()

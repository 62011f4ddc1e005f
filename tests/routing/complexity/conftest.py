"""Shared fixtures of the complexity router's tests."""

import csv
import random
from pathlib import Path

import pytest

from routing.complexity.data import is_gsm8k_test


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A small labelled data folder in the RouteLLM layout (synthetic prompts)."""
    rng = random.Random(0)
    with open(tmp_path / "mmlu_dev.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["domain", "prompt", "weak_correct", "strong_correct"])
        for d in range(4):
            for i in range(30):
                prompt = f"Subject {d} question {i} " + "word " * rng.randrange(3, 40)
                prompt += "?\nA. one\nB. two\nC. 3\nD. four\nAnswer:"
                out.writerow([f"subject_{d}", prompt, rng.random() < 0.6, rng.random() < 0.8])
    with open(tmp_path / "gsm8k_responses.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["prompt", "weak_correct", "strong_correct"])
        i = tests = 0
        while tests < 20 or i < 120:
            prompt = f"Tom has {i} apples and buys {rng.randrange(2, 90)} more each day. How many?"
            tests += is_gsm8k_test(prompt)
            out.writerow([prompt, rng.random() < 0.6, rng.random() < 0.85])
            i += 1
    return tmp_path

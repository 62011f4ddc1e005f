"""Fast, pure-Python lexical features shared by training and inference.

Everything here must stay cheap: a 2,000-token prompt is featurised in a few hundred
microseconds. Word tokens come from one regex scan; the other features use ``str.count``
and set lookups, and the few remaining regexes only look at a bounded head or tail of
the prompt, so their cost does not grow with prompt length.
"""

from __future__ import annotations

import math
import re

WORD_RE = re.compile(r"[a-z]+")
CHOICE_RE = re.compile(r"^[A-D][.)] ", re.M)
NUMERIC_CHOICE_RE = re.compile(r"^[A-D][.)] [$-]?\d", re.M)
CAPITAL_RE = re.compile(r"[A-Z][a-z]+")
NEGATIONS = (" NOT ", " NOT?", "EXCEPT", " LEAST ")
ROMAN_CHOICES = ("I only", "I and II", "II and III", "I, II", "II only")
STATEMENT_RE = re.compile(r"Statement \d|Scenario \d")

HEAD = 1500  # characters scanned by the bounded regex features
WINDOW = 4000  # characters scanned for word/digit/math counts (scaled to the full length)
TAIL = 1200  # answer choices sit at the end of multiple-choice prompts

DIGITS = "0123456789"
MATH_CHARS = "=+*/^<>%$"
CODE_CHARS = ("```", "{", ";")  # counted over the whole prompt
CODE_WORDS = ("def ", "return ", "=>", "#include", "function ")  # counted over the head
CODE_MARKS = CODE_CHARS + CODE_WORDS
PUNCT = ".,;:!?()[]{}\"'"
NUMBER_WORDS = frozenset(
    [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "hundred",
        "thousand",
        "half",
        "twice",
        "double",
        "triple",
        "third",
        "quarter",
        "dozen",
        "fifth",
    ]
)
COMPARE_WORDS = frozenset(["more", "less", "fewer", "times", "older", "younger", "than"])

# Names of the dense features, in a fixed order (the artefact stores weights by name).
DENSE = (
    "log_words",
    "log_chars",
    "log_digits",
    "digit_ratio",
    "log_math",
    "choices",
    "log_choice_len",
    "log_stem_words",
    "log_qmarks",
    "log_sentences",
    "long_word_ratio",
    "log_non_ascii",
    "log_entities",
    "log_commas",
    "number_words",
    "compare_words",
    "negation",
    "roman",
    "statements",
    "log_code",
    "numeric_choices",
)


def _log(x: float) -> float:
    return math.log1p(x)


def words_of(prompt: str) -> list[str]:
    """Lower-case alphabetic word tokens (for the optional word-feature channel)."""
    return WORD_RE.findall(prompt.lower())


def plain_words(prompt: str) -> list[str]:
    """Whitespace tokens, lower-cased: the cheap word list the dense features use."""
    return prompt.lower().split()


def token_set(words: list[str], bigrams: bool = False) -> set[str]:
    """Distinct unigrams (and ``"a b"`` bigrams when asked) of a word list."""
    tokens = set(words)
    if bigrams:
        tokens.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    return tokens


def _choices(prompt: str) -> tuple[float, float, float]:
    """(has >= 2 A-D choice lines, log mean choice length, share of numeric choices)."""
    tail = prompt[-TAIL:]
    n = len(CHOICE_RE.findall(tail))
    if n < 2:
        return 0.0, 0.0, 0.0
    cut = prompt.find("\nA")
    choice_chars = len(prompt) - cut - 2 * n - len("Answer:")
    numeric = len(NUMERIC_CHOICE_RE.findall(tail)) / n
    return 1.0, _log(max(choice_chars, 0) / n), numeric


def _count(text: str, marks: str | tuple[str, ...]) -> int:
    return sum(text.count(m) for m in marks)


def dense_features(prompt: str) -> dict[str, float]:
    """Raw (unscaled) dense features of a prompt, keyed by the names in ``DENSE``.

    Word, digit and math-character counts are taken over the first ``WINDOW`` characters
    and scaled up to the whole prompt, so the cost is bounded for very long prompts.
    """
    body = prompt[:WINDOW]
    scale = len(prompt) / len(body) if body else 1.0
    words = plain_words(body)
    tokens = {w.strip(PUNCT) for w in words}
    n_words, n_chars = len(words) * scale, len(prompt)
    has_choices, choice_len, numeric_choices = _choices(prompt)
    cut = prompt.find("\nA. ") if has_choices else -1
    stem = prompt if cut < 0 else prompt[:cut]
    head = stem[:HEAD]
    digits = _count(body, DIGITS) * scale
    long_words = sum(len(w.strip(PUNCT)) > 8 for w in words[:200])
    return {
        "log_words": _log(n_words),
        "log_chars": _log(n_chars),
        "log_digits": _log(digits),
        "digit_ratio": digits / (n_chars + 1),
        "log_math": _log(_count(body, MATH_CHARS) * scale),
        "choices": has_choices,
        "log_choice_len": choice_len,
        "log_stem_words": _log(stem.count(" ") + 1),
        "log_qmarks": _log(prompt.count("?")),
        "log_sentences": _log(_count(stem[:WINDOW], (". ", "? ", "! ", ".\n")) * scale),
        "long_word_ratio": long_words / (min(len(words), 200) + 1),
        "log_non_ascii": _log(len(prompt.encode()) - n_chars),
        "log_entities": _log(len(set(CAPITAL_RE.findall(head)))),
        "log_commas": _log(stem.count(",")),
        "number_words": float(len(NUMBER_WORDS & tokens)),
        "compare_words": float(len(COMPARE_WORDS & tokens)),
        "negation": float(any(m in head for m in NEGATIONS)),
        "roman": float(any(m in prompt[-TAIL:] for m in ROMAN_CHOICES)),
        "statements": float(bool(STATEMENT_RE.search(head))),
        "log_code": _log(_count(prompt, CODE_CHARS) + _count(head, CODE_WORDS)),
        "numeric_choices": numeric_choices,
    }

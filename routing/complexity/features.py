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


# --- free-form prompts (no answer choices): word-problem features -------------------------
#
# GSM8K-style prompts are short narratives with numbers. What makes one hard for the weak
# model is how many quantities and relations it must chain: commas and "and" (clauses),
# comparisons ("more than", "as many"), multipliers ("twice", "half"), fractions, large
# numbers, length. Decimals and long numbers (money amounts) go the other way. These
# features feed the free-form sub-model; apart from the total length they are computed
# over the first ``WP_WINDOW`` characters (longer than any GSM8K prompt, 848), so their
# cost is bounded.

WP_WINDOW = 1000

NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
FRACTION_RE = re.compile(r"\d/\d")
SENTENCE_RE = re.compile(r"(?<=[.?!])\s+")
ENTITY_RE = re.compile(r"(?<![.?!]\s)(?<=\s)[A-Z][a-z]+")
TOKEN_STRIP = ".,;:!?()\"'$%"
CUES = {
    "each": ("each", "every", "per", "apiece"),
    "mult": ("twice", "double", "triple", "times", "thrice", "half", "quarter", "third"),
    "pct": ("percent", "%", "discount", "interest", "tax", "tip", "profit", "ratio"),
    "remain": ("remaining", "left", "rest", "remainder", "leftover"),
    "total": ("total", "altogether", "together", "combined", "sum", "in all"),
    "compare": (
        "more than",
        "less than",
        "fewer than",
        "longer than",
        "shorter than",
        "older than",
        "younger than",
        "as many",
        "as much",
    ),
    "avg": ("average", "mean"),
    "money": (
        "$",
        "dollar",
        "cent",
        "price",
        "cost",
        "pay",
        "paid",
        "earn",
        "spend",
        "spent",
        "save",
        "sell",
        "sold",
        "buy",
        "bought",
    ),
    "time": ("hour", "minute", "second", "day", "week", "month", "year"),
    "measure": (
        "mile",
        "meter",
        "feet",
        "foot",
        "inch",
        "pound",
        "kg",
        "gram",
        "liter",
        "gallon",
        "ounce",
        "cup",
        "km",
        "yard",
    ),
    "cond": (" if ", " after ", " before ", " until ", " then "),
    "rate": (" per ", "an hour", "a day", "a week", "an minute", "mph", "rate", "speed"),
}
STEP_CUES = CUES["each"] + CUES["mult"] + CUES["pct"] + CUES["remain"] + CUES["compare"]
UNITS = (
    "hour",
    "minute",
    "second",
    "day",
    "week",
    "month",
    "year",
    "mile",
    "meter",
    "feet",
    "foot",
    "inch",
    "pound",
    "kg",
    "gram",
    "liter",
    "gallon",
    "ounce",
    "cup",
    "dozen",
    "cent",
    "dollar",
)
WP_NUMBER_WORDS = frozenset(
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
        "thirty",
        "forty",
        "fifty",
        "hundred",
        "thousand",
        "half",
        "twice",
        "double",
        "dozen",
        "quarter",
        "third",
    ]
)
PRONOUNS = frozenset(["he", "she", "they", "his", "her", "their", "it"])

WP_BASE = (
    "wp_log_chars",
    "wp_log_words",
    "wp_nums",
    "wp_distinct",
    "wp_logmax",
    "wp_dec",
    "wp_frac",
    "wp_pct",
    "wp_dollar",
    "wp_numwords",
    "wp_sent",
    "wp_qwords",
    "wp_ents",
    "wp_units",
    "wp_steps",
    "wp_longnum",
    "wp_commas",
    "wp_and",
    "wp_pronoun",
) + tuple(f"cue_{k}" for k in CUES)
# Every base feature is also crossed with the (centred) log length: what signals a hard
# problem differs between short and long ones (+0.017 APGR in CV on GSM8K train).
LENGTH_CENTRE = 5.5  # ~ log1p(245 chars), the typical GSM8K prompt
WORD_PROBLEM = WP_BASE + tuple(f"len_x_{n}" for n in WP_BASE)


def _number(text: str) -> float | None:
    """The value of a matched number, capped at 1e15 (a 5,000-digit run is not ``inf``)."""
    try:
        return min(float(text.replace(",", "")), 1e15)
    except ValueError:
        return None


def word_problem_features(prompt: str) -> dict[str, float]:
    """Raw features of a free-form prompt, keyed by the names in ``WORD_PROBLEM``."""
    body = prompt[:WP_WINDOW]
    low = body.lower()
    nums = NUMBER_RE.findall(body)
    values = {v for v in map(_number, nums) if v is not None}
    words = low.split()
    toks = [w.strip(TOKEN_STRIP) for w in words]
    sents = [s for s in SENTENCE_RE.split(body.strip()) if s]
    question = sents[-1] if sents else ""
    for s in sents:
        if "?" in s:
            question = s
    out = {
        "wp_log_chars": _log(len(prompt)),
        "wp_log_words": _log(len(words)),
        "wp_nums": _log(len(nums)),
        "wp_distinct": _log(len(values)),
        "wp_logmax": _log(max(values)) if values and max(values) > 0 else 0.0,
        "wp_dec": _log(sum("." in n for n in nums)),
        "wp_frac": _log(len(FRACTION_RE.findall(body))),
        "wp_pct": _log(body.count("%") + low.count("percent")),
        "wp_dollar": _log(body.count("$")),
        "wp_numwords": _log(sum(t in WP_NUMBER_WORDS for t in toks)),
        "wp_sent": _log(len(sents)),
        "wp_qwords": _log(len(question.split())),
        "wp_ents": _log(len(set(ENTITY_RE.findall(body)))),
        "wp_units": _log(sum(u in low for u in UNITS)),
        "wp_steps": _log(len(nums) + _count(low, STEP_CUES)),
        "wp_longnum": _log(sum(len(n.replace(",", "")) >= 4 for n in nums)),
        "wp_commas": _log(body.count(",")),
        "wp_and": _log(toks.count("and")),
        "wp_pronoun": _log(sum(t in PRONOUNS for t in toks)),
    }
    for name, marks in CUES.items():
        out[f"cue_{name}"] = _log(_count(low, marks))
    centred = out["wp_log_chars"] - LENGTH_CENTRE
    for name in WP_BASE:
        out[f"len_x_{name}"] = out[name] * centred
    return out


def has_choices(prompt: str) -> bool:
    """True for multiple-choice prompts (>= 2 ``A.``-``D.`` choice lines near the end)."""
    return len(CHOICE_RE.findall(prompt[-TAIL:])) >= 2


FEATURE_SETS = {
    "dense": (DENSE, dense_features),
    "word_problem": (WORD_PROBLEM, word_problem_features),
}

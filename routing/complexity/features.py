"""Fast, pure-Python lexical features shared by training and inference.

Everything here must stay cheap: a 2,000-token prompt is featurised in a few hundred
microseconds. Word tokens come from one regex scan; the other features use ``str.count``
and set lookups, and the few remaining regexes only look at a bounded head or tail of
the prompt, so their cost does not grow with prompt length.
"""

from __future__ import annotations

import math
import re
from collections import Counter

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

# the seed heuristic's word lists (also difficulty cues of the chat part)
TECHNICAL_WORDS = frozenset(
    [
        "algorithm",
        "theorem",
        "prove",
        "proof",
        "derive",
        "derivative",
        "integral",
        "equation",
        "matrix",
        "vector",
        "eigenvalue",
        "probability",
        "statistics",
        "regression",
        "optimize",
        "optimization",
        "complexity",
        "asymptotic",
        "recursion",
        "recursive",
        "concurrency",
        "distributed",
        "architecture",
        "protocol",
        "compiler",
        "kernel",
        "database",
        "schema",
        "query",
        "latency",
        "throughput",
        "gradient",
        "tensor",
        "neural",
        "quantum",
        "thermodynamics",
        "molecule",
        "enzyme",
        "genome",
        "diagnosis",
        "pathology",
        "statute",
        "jurisdiction",
        "liability",
        "contract",
        "hypothesis",
        "lemma",
        "polynomial",
        "logarithm",
        "differential",
        "stochastic",
        "encryption",
        "cryptographic",
        "invariant",
    ]
)
REASONING_WORDS = frozenset(
    ["why", "explain", "analyze", "analyse", "compare", "evaluate", "justify", "prove", "design"]
)

SEED_WEIGHTS = {  # the seed heuristic: weights of its saturating signals
    "length": 0.40,
    "technical": 0.20,
    "reasoning": 0.10,
    "code": 0.12,
    "math": 0.12,
    "questions": 0.06,
}


def seed_heuristic(text: str, tokens: set[str], n_words: float) -> tuple[float, dict[str, float]]:
    """The seed heuristic over ``text`` (its value, unclamped, and its signals in [0, 1]):
    ``HeuristicEstimator`` runs it on the whole prompt, the chat part on its window."""
    terms = {
        "length": min(1.0, math.log1p(n_words) / math.log(1000)),
        "technical": min(1.0, len(TECHNICAL_WORDS & tokens) / 3),
        "reasoning": min(1.0, len(REASONING_WORDS & tokens) / 2),
        "code": min(1.0, _count(text, CODE_MARKS) / 5),
        "math": min(1.0, _count(text, MATH_CHARS) / 8),
        "questions": min(1.0, max(0, text.count("?") - 1) / 3),
    }
    return sum(SEED_WEIGHTS[k] * v for k, v in terms.items()), terms


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
    # v3: how alike the answer choices are (character 3-gram Jaccard, min / mean / max over
    # pairs). Near-identical options ("Wrong, Not wrong", numbers differing in one digit)
    # mark items that need careful reading: +0.016 APGR on every subject-fold assignment.
    "choice_sim_min",
    "choice_sim_mean",
    "choice_sim_max",
)
CHOICE_CAP = 100  # characters of each choice compared (bounds the cost)


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


def choice_texts(prompt: str) -> list[str]:
    """The A-D choice texts of a multiple-choice prompt ([] without ``"\nA. "`` in the tail)."""
    a = prompt.rfind("\nA. ", max(0, len(prompt) - TAIL))
    if a < 0:
        return []
    block = prompt[a + 1 :].removesuffix("Answer:")
    out = []
    for letter in "BCD":
        k = block.find(f"\n{letter}. ")
        if k < 0:
            break
        out.append(block[3:k].strip())
        block = block[k + 1 :]
    out.append(block[3:].strip())
    return out


def choice_similarity(prompt: str) -> tuple[float, float, float]:
    """(min, mean, max) pairwise Jaccard similarity of the choices' character 3-gram sets
    (each choice's first ``CHOICE_CAP`` characters, lower-cased); zeros without choices."""
    grams = []
    for choice in choice_texts(prompt):
        c = choice[:CHOICE_CAP].lower()
        grams.append({c[i : i + 3] for i in range(len(c) - 2)} or {c})
    if len(grams) < 2:
        return 0.0, 0.0, 0.0
    sims = []
    for i, gi in enumerate(grams):
        for gj in grams[i + 1 :]:
            inter = len(gi & gj)
            sims.append(inter / (len(gi) + len(gj) - inter))
    return min(sims), sum(sims) / len(sims), max(sims)


def _count(text: str, marks: str | tuple[str, ...]) -> int:
    return sum(map(text.count, marks))


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
    sim_min, sim_mean, sim_max = choice_similarity(prompt) if has_choices else (0.0, 0.0, 0.0)
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
        "choice_sim_min": sim_min,
        "choice_sim_mean": sim_mean,
        "choice_sim_max": sim_max,
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
SENTENCE_END_RE = re.compile(r"[.?!]\s+")  # sentences end at [.?!] + whitespace
# a capitalised word after whitespace that does not follow [.?!] (the assertions come
# after the capital, so the scan jumps from capital to capital)
ENTITY_RE = re.compile(r"[A-Z](?<=\s[A-Z])(?<![.?!]\s[A-Z])[a-z]+")
NAME_RE = re.compile(r"(?<!\S)([A-Z][a-z]+)('s)?")  # capitalised tokens, possessive or not
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
STEP_FAMILIES = ("each", "mult", "pct", "remain", "compare")  # "steps": numbers + these cues
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
# Added in v3 (not crossed with length): sequence words ("first ... then ... another":
# multi-stage stories), the spread of number sizes (many round numbers mark easy
# problems), named people, stated ages, percent together with money.
# +0.027 APGR in gsm-cv on fresh seeds; +0.015 when the families are chosen by nested CV.
WP_EXTRA = (
    "wp2_ord_seq",
    "wp2_ord_distinct",
    "wp2_mag_small",
    "wp2_mag_large",
    "wp2_mag_range",
    "wp2_mag_sd",
    "wp2_mag_round",
    "wp2_mag_nonround",
    "wp2_ent_names",
    "wp2_ent_mentions",
    "wp2_ent_poss",
    "wp2_ent_family",
    "wp2_nl_ages",
    "wp2_dp_pct_money",
)
CUE_NAMES = tuple((f"cue_{k}", k) for k in CUES)
CROSSED = tuple((f"len_x_{n}", n) for n in WP_BASE)
WORD_PROBLEM = WP_BASE + tuple(crossed for crossed, _ in CROSSED) + WP_EXTRA
SEQ_WORDS = frozenset(
    [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "last",
        "then",
        "next",
        "afterwards",
        "finally",
        "later",
        "another",
        "again",
        "also",
    ]
)
SEQ_PHRASES = ("after that", "the following")
FAMILY_WORDS = frozenset(
    w + s
    for w in [
        "brother",
        "sister",
        "mother",
        "father",
        "mom",
        "dad",
        "son",
        "daughter",
        "friend",
        "uncle",
        "aunt",
        "cousin",
        "wife",
        "husband",
        "grandma",
        "grandmother",
        "grandfather",
        "teacher",
    ]
    for s in ("", "s")
)
NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "If",
        "In",
        "On",
        "At",
        "How",
        "What",
        "When",
        "Each",
        "Every",
        "He",
        "She",
        "They",
        "It",
        "His",
        "Her",
        "Their",
        "This",
        "That",
        "There",
        "Then",
        "After",
        "Before",
        "For",
        "But",
        "And",
        "So",
        "Of",
        "To",
    ]
)
AGE_WORDS = ("age", "aged", "ages")
DIGITS_AND_O = frozenset("0123456789o")  # first letters of numbers and of "old"


def _number(text: str) -> float | None:
    """The value of a matched number, capped at 1e15 (a 5,000-digit run is not ``inf``)."""
    try:
        return min(float(text.replace(",", "")), 1e15)
    except ValueError:
        return None


def _sentences(text: str) -> list[str]:
    """``text`` split after every [.?!] followed by whitespace, empty pieces dropped."""
    out, start = [], 0
    for m in SENTENCE_END_RE.finditer(text):
        out.append(text[start : m.start() + 1])
        start = m.end()
    out.append(text[start:])
    return [s for s in out if s]


def _sum_counts(counts: Counter[str], words: frozenset[str]) -> int:
    """How many of the counted tokens are in ``words``."""
    return sum(map(counts.__getitem__, words.intersection(counts)))


def word_problem_features(prompt: str) -> dict[str, float]:
    """Raw features of a free-form prompt, keyed by the names in ``WORD_PROBLEM``."""
    body = prompt[:WP_WINDOW]
    low = body.lower()
    nums = NUMBER_RE.findall(body)
    parsed = [v for v in map(_number, nums) if v is not None]
    values = set(parsed)
    words = low.split()
    counts = Counter(w.strip(TOKEN_STRIP) for w in words)
    cues = {name: _count(low, marks) for name, marks in CUES.items()}
    sents = _sentences(body.strip())
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
        "wp_numwords": _log(_sum_counts(counts, WP_NUMBER_WORDS)),
        "wp_sent": _log(len(sents)),
        "wp_qwords": _log(len(question.split())),
        "wp_ents": _log(len(set(ENTITY_RE.findall(body)))),
        "wp_units": _log(sum(map(low.__contains__, UNITS))),
        "wp_steps": _log(len(nums) + sum(cues[k] for k in STEP_FAMILIES)),
        "wp_longnum": _log(sum(len(n.replace(",", "")) >= 4 for n in nums)),
        "wp_commas": _log(body.count(",")),
        "wp_and": _log(counts.get("and", 0)),
        "wp_pronoun": _log(_sum_counts(counts, PRONOUNS)),
    }
    for name, family in CUE_NAMES:
        out[name] = _log(cues[family])
    centred = out["wp_log_chars"] - LENGTH_CENTRE
    for crossed, name in CROSSED:
        out[crossed] = out[name] * centred
    out.update(_story_features(body, low, parsed, words, counts))
    return out


def _stated_values(words: list[str]) -> int:
    """Numbers stated as ages or values: "is 12", "aged 7", "age of 30", "5 years old",
    "a 5-year-old" (``words``: lower-case whitespace tokens, so "is $5" does not count)."""
    n = 0
    counted = False  # whether the latest number token counted
    for i in [i for i, w in enumerate(words) if w[:1] in DIGITS_AND_O]:
        w = words[i]
        p1 = words[i - 1] if i >= 1 else ""
        p2 = words[i - 2] if i >= 2 else ""
        if w[0] != "o":
            counted = p1 == "is" or p1 in AGE_WORDS or (p1 == "of" and p2 in AGE_WORDS)
            if not counted and ("-year-old" in w or "-years-old" in w):
                counted = True
            n += counted
        elif (
            w[:3] == "old"
            and p1 in ("year", "years", "year-", "years-")
            and "0" <= p2[:1] <= "9"
            and not counted
        ):
            n += 1
    return n


def _story_features(
    body: str, low: str, numbers: list[float], words: list[str], counts: Counter[str]
) -> dict[str, float]:
    """The v3 word-problem features (``WP_EXTRA``) from what ``word_problem_features``
    already split: sequence words, number magnitudes, people, stated values, % with $.
    ``numbers`` are the parsed values, ``counts`` the stripped lower-case tokens."""
    seq = {w: counts[w] for w in SEQ_WORDS.intersection(counts)}
    family = _sum_counts(counts, FAMILY_WORDS)
    for token, n in counts.items():
        if "-" in token:  # "first-time", "one-third"
            for part in token.split("-"):
                if part in SEQ_WORDS:
                    seq[part] = seq.get(part, 0) + n
        if "'" in token and token not in FAMILY_WORDS and token.split("'")[0] in FAMILY_WORDS:
            family += n
    for phrase in SEQ_PHRASES:
        if n := low.count(phrase):
            seq[phrase] = n
    small = large = round_ = not_round = 0
    logs = []
    for x in numbers:
        logs.append(math.log10(x + 1.0))
        if x < 10:
            small += 1
        elif x >= 100:
            large += 1
        if x >= 10:
            if x % 10 == 0:
                round_ += 1
            elif x % 5 != 0:
                not_round += 1
    spread = sd = 0.0
    if logs:
        mean = sum(logs) / len(logs)
        sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / len(logs))
        spread = max(logs) - min(logs)
    capitalised = NAME_RE.findall(body)
    names = [name for name, _ in capitalised if name not in NOT_NAMES]
    possessives = sum(1 for _, s in capitalised if s)
    return {
        "wp2_ord_seq": _log(sum(seq.values())),
        "wp2_ord_distinct": _log(len(seq)),
        "wp2_mag_small": _log(small),
        "wp2_mag_large": _log(large),
        "wp2_mag_range": spread,
        "wp2_mag_sd": sd,
        "wp2_mag_round": _log(round_),
        "wp2_mag_nonround": _log(not_round),
        "wp2_ent_names": _log(len(set(names))),
        "wp2_ent_mentions": _log(len(names)),
        "wp2_ent_poss": _log(possessives),
        "wp2_ent_family": _log(family),
        "wp2_nl_ages": _log(_stated_values(words)),
        "wp2_dp_pct_money": float(("%" in body or "percent" in low) and "$" in body),
    }


def has_choices(prompt: str) -> bool:
    """True for multiple-choice prompts (>= 2 ``A.``-``D.`` choice lines near the end)."""
    return len(CHOICE_RE.findall(prompt[-TAIL:])) >= 2


FEATURE_SETS = {
    "dense": (DENSE, dense_features),
    "word_problem": (WORD_PROBLEM, word_problem_features),
}

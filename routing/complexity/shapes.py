"""Which shape a prompt has, so that a part fitted on one shape never scores another.

The learned parts were fitted on two shapes of prompt and are only valid on them:

- ``multiple_choice``: MMLU-style items, >= 2 ``A.``-``D.`` answer lines at the end;
- ``word_problem``: GSM8K-style arithmetic stories: one paragraph of prose, at most
  ``WP_MAX_CHARS``, a quantity (digits, or number words and a question for an amount), a
  question (or "calculate / find ..."), no code, not an instruction to write, explain or
  role-play, and no words asking for a proof, a deduction, an explanation or an analysis.

Everything else is ``chat`` (writing, roleplay, extraction, open questions, coding,
reasoning, STEM explanations): the chat part (:mod:`.chat`) scores it by category. Each
check is a few ``str`` operations over at most ``WP_MAX_CHARS`` characters (the choices
check over the last 1,200): cheap on the hot path.
Every GSM8K prompt in the RouteLLM data passes the word-problem check and every MMLU one
the multiple-choice check (``tests/routing/complexity/test_shapes.py``).
"""

from __future__ import annotations

import re

from . import features as F


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MULTIPLE_CHOICE = "multiple_choice"
WORD_PROBLEM = "word_problem"
CHAT = "chat"
SHAPES = (MULTIPLE_CHOICE, WORD_PROBLEM, CHAT)

WP_MAX_CHARS = 1200  # the longest GSM8K prompt has 848 characters
QUANTITY_RE = re.compile(r"\d+(?:[.,]\d+)*")
ASK_WORDS = ("how ", "what ", "calculate", "find ", "determine", "compute", "which ", "when ")
# chat instructions that a word problem never opens with (first word, lower-case)
CHAT_OPENERS = frozenset(
    [
        "write",
        "compute",
        "calculate",
        "solve",
        "simplify",
        "evaluate",
        "find",
        "compose",
        "draft",
        "explain",
        "describe",
        "summarize",
        "summarise",
        "translate",
        "prove",
        "show",
        "imagine",
        "pretend",
        "act",
        "generate",
        "create",
        "list",
        "give",
        "tell",
        "help",
        "can",
        "could",
        "please",
        "implement",
        "design",
        "rewrite",
        "extract",
        "suggest",
        "hi",
        "hello",
    ]
)
# a word problem asks for a number; a prompt that asks for a proof, a derivation, a
# deduction, an explanation or an analysis is not one, even with numbers in it (none of
# these words occurs in GSM8K)
NOT_ARITHMETIC = _words(
    "derive prove proof deduce deduction riddle knight knights knave knaves clue clues "
    "logic logical theorem lemma explain explanation discuss identify analyze analyse "
    "negotiate trends themes significant statistically reasoning reason why strategy "
    "suggest describe evaluate consider review here"
)
AMOUNT_ASKS = ("how many", "how much", "total", "average")
CODE_HINTS = ("`", "{", "[", "def ", "=>", "#include", "()", "</", "import ")
NUMBER_WORDS = F.NUMBER_WORDS | _words(
    "zero thirteen fourteen fifteen sixteen seventeen eighteen nineteen thirty forty fifty "
    "hundred million halves thirds fourths fifths quarters once"
)


def is_word_problem(prompt: str) -> bool:
    """A GSM8K-shaped arithmetic story (see the module docstring)."""
    text = prompt.strip()
    if not text or len(text) > WP_MAX_CHARS or "\n" in text:
        return False
    if any(h in text for h in CODE_HINTS):
        return False
    first = text.split(None, 1)[0].lower().strip(F.PUNCT)
    if first in CHAT_OPENERS:
        return False
    low = text.lower()
    tokens = set(F.WORD_RE.findall(low))  # one C-level scan; "one-fourth" -> one, fourth
    if NOT_ARITHMETIC & tokens:
        return False
    in_words = NUMBER_WORDS & tokens and any(q in low for q in AMOUNT_ASKS)
    if not QUANTITY_RE.search(text) and not in_words:  # number words: must ask for an amount
        return False
    return "?" in text or any(w in low for w in ASK_WORDS)


def shape_of(prompt: str) -> str:
    """``multiple_choice`` | ``word_problem`` | ``chat``."""
    if F.has_choices(prompt):
        return MULTIPLE_CHOICE
    if is_word_problem(prompt):
        return WORD_PROBLEM
    return CHAT

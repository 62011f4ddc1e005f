"""The chat part: scores prompts that are neither multiple-choice nor word problems.

No labelled chat data is in the repository, so this part is not fitted: it is a transparent
rule, written down here and checked by the sanity suite (``routerlab/sanity.py``, pairs any
engineer would order the same way) and by its agreement with the seed heuristic. It has two
terms:

1. **A category prior.** The prompt is put in one of the MT-Bench categories by cue words
   (first match in ``ORDER`` wins when several fire with the same strength). RouteLLM's
   MT-Bench results for a weak/strong pair of this kind put the gap between the models
   largest on math, reasoning and coding, smaller on STEM and extraction, and smallest on
   writing, roleplay and humanities; small talk and one-line trivia sit below all of them.
   ``PRIOR`` follows that order; the numbers are set by hand, not fitted.
2. **Difficulty cues** inside the category: length, the seed heuristic's technical and
   reasoning words, words that mark a hard version of a task (prove, optimise, edge
   cases, step by step), explicit constraints, several questions, code and math marks;
   words that ask for something simple (briefly, a short, for a child) pull it down.

A prompt with no category cue at all is scored by the seed heuristic alone (the
``heuristic`` fallback part; over the first ``WINDOW`` characters, like everything here, so
a long prompt costs no more than a short one: below ``WINDOW`` characters the value is
exactly ``HeuristicEstimator``'s).
"""

from __future__ import annotations

from . import features as F

WINDOW = 4000


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CATEGORIES: dict[str, frozenset[str]] = {
    "coding": _words(
        # specific to code: generic words (class, method, tree, program, lock) are left out
        "code coding programming function python javascript typescript java rust golang "
        "c++ sql regex api debug debugging compile compiler implement implementation "
        "refactor unittest pytest async mutex dockerfile kubernetes bash html css parser "
        "hashmap dijkstra recursion recursive algorithm bug bugs crash crashes traceback "
        "stacktrace exception typeerror segfault"
    ),
    "math": _words(
        "prove proof theorem lemma integral derivative equation equations solve polynomial "
        "matrix eigenvalue eigenvalues probability combinatorics prime primes integer "
        "integers irrational rational inequality limit converge converges convergence series "
        "geometry triangle circle area volume calculate compute arithmetic algebra calculus "
        "modulo divisible factorial logarithm sqrt √ ∫ ∑ continuous differentiable bounded "
        "interval sequence sequences vector vectors real-valued infinitely"
    ),
    "reasoning": _words(
        "puzzle riddle logic logical deduce deduction infer paradox contradiction "
        "brainteaser syllogism liar truth-teller knights knaves lies lying suspects "
        "culprit"
    ),
    "roleplay": _words(
        "pretend roleplay role-play persona character in-character embody impersonate "
        "sheldon sherlock pirate wizard"
    ),
    "extraction": _words(
        "extract extraction summarize summarise summary tl;dr parse classify categorize "
        "categorise tabulate entities keywords csv json yaml"
    ),
    "writing": _words(
        "write rewrite translate translation poem poetry haiku sonnet limerick essay story blog email letter "
        "tweet slogan lyrics song speech draft compose paraphrase rephrase proofread "
        "toast caption"
    ),
    "stem": _words(
        "physics chemistry biology quantum entropy thermodynamics photosynthesis molecule "
        "molecules enzyme protein dna rna cell cells neural gradient relativity "
        "electron photon gravity evolution climate statistics statistical "
        "regression vaccine virus bacteria engineering circuit voltage semiconductor atom "
        "atoms ion ions acid acids reaction chemical mitosis meiosis chromosome chromosomes "
        "gene genes genetic planet planets orbit star stars galaxy universe energy force "
        "magnetic electricity wavelength radiation nuclear fission fusion metabolism "
        "neuron neurons brain immune ecosystem geology volcano earthquake"
    ),
    "humanities": _words(
        "history historical philosophy philosopher ethics ethical moral morality society "
        "culture cultural literature novel politics political economics economy religion "
        "art artist music law legal war empire revolution democracy"
    ),
    "smalltalk": _words(
        "hi hello hey thanks thank joke jokes weather capital favorite favourite "
        "morning evening bye"
    ),
}
PHRASES: dict[str, tuple[str, ...]] = {
    "coding": (
        "```",
        "def ",
        "#include",
        "=>",
        "();",
        "time complexity",
        "big-o",
        "big o",
        "linked list",
        "binary search",
        "search tree",
        "o(n",
        "o(1)",
    ),
    "math": ("=", "^", "x²", "n²", "show that", "how many ways", "find all"),
    "reasoning": ("step by step", "who is the", "which one is", "if all", "what comes next"),
    "roleplay": ("act as", "you are a", "you are an", "imagine you are", "stay in character"),
    "extraction": ("from the following", "from this text", "from the text", "list all the"),
    "writing": (),
    "stem": ("explain how", "how does", "why does", "machine learning", "neural network"),
    "humanities": (),
    "smalltalk": ("how are you", "what's up", "good morning", "what is the capital", "who is"),
}
ORDER = (
    "coding",
    "math",
    "reasoning",
    "roleplay",
    "extraction",
    "writing",
    "stem",
    "humanities",
    "smalltalk",
)
SEED_WEIGHT = 0.6  # within a category, the seed heuristic orders prompts
PRIOR = {
    "math": 0.50,
    "reasoning": 0.46,
    "coding": 0.44,
    "stem": 0.30,
    "extraction": 0.28,
    "humanities": 0.16,
    "writing": 0.14,
    "roleplay": 0.12,
    "smalltalk": 0.02,
}
HARD_WORDS = _words(
    "prove proof derive rigorous rigorously formal formally optimize optimise optimal "
    "efficient efficiently complexity edge tricky counterexample concurrent concurrency "
    "thread-safe lock-free invariant asymptotic generalize generalise tradeoffs trade-offs "
    "nuanced multi-step subtle"
)
HARD_PHRASES = ("step by step", "edge cases", "time complexity", "space complexity", "o(")
CONSTRAINT_WORDS = _words(
    "must without exactly only ensure constraint constraints avoid never each every"
)
CONSTRAINT_PHRASES = ("at least", "at most", "no more than", "do not", "don't", "in under")
EASY_WORDS = _words(
    "simple simply short brief briefly quick quickly one-line funny cute easy basic"
)
EASY_PHRASES = ("for a child", "in one sentence", "a few words", "eli5", "like i'm five")


def _hits(text: str, tokens: set[str], words: frozenset[str], phrases: tuple[str, ...]) -> int:
    return len(words & tokens) + sum(p in text for p in phrases)


SMALLTALK_MAX_WORDS = 30  # small talk and one-line trivia are short by nature


def category(text: str, tokens: set[str], words: int = 0) -> str | None:
    """The MT-Bench category with the most cue hits (ties: ``ORDER``), or None; small talk
    only for prompts of at most ``SMALLTALK_MAX_WORDS`` words."""
    best, best_hits = None, 0
    for name in ORDER:
        if name == "smalltalk" and words > SMALLTALK_MAX_WORDS:
            continue
        hits = _hits(text, tokens, CATEGORIES[name], PHRASES[name])
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def score(prompt: str) -> tuple[str | None, float, dict[str, float]]:
    """(category, score in [0, 1], header features) of a chat prompt; with no category,
    (None, the seed heuristic's value, its features)."""
    body = prompt[:WINDOW]
    text = body.lower()
    words = text.split()
    tokens = {w.strip(F.PUNCT) for w in words}
    n_words = len(words) * (len(prompt) / len(body) if body else 1.0)
    cat = category(text, tokens, round(n_words))
    seed, _ = F.seed_heuristic(body, tokens, n_words)
    if cat is None:  # the fallback: the seed heuristic alone (same value below WINDOW chars)
        return None, round(seed, 6), {"words": float(round(n_words)), "seed": round(seed, 3)}
    hard = min(1.0, _hits(text, tokens, HARD_WORDS, HARD_PHRASES) / 2)
    constraints = min(1.0, _hits(text, tokens, CONSTRAINT_WORDS, CONSTRAINT_PHRASES) / 3)
    easy = min(1.0, _hits(text, tokens, EASY_WORDS, EASY_PHRASES) / 2)
    value = PRIOR[cat] + SEED_WEIGHT * seed + 0.12 * hard + 0.04 * constraints - 0.08 * easy
    feats = {
        "words": float(round(n_words)),
        "prior": PRIOR[cat],
        "seed": round(seed, 3),
        "hard": round(hard, 3),
        "easy": round(easy, 3),
    }
    return cat, min(1.0, max(0.0, value)), feats

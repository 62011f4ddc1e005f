"""What the built-in simulator writes: an answer in the shape the prompt asks for.

A code question gets a fenced code block in the language it names, a table request (or a
comparison) a Markdown table of the things compared, a request for steps or a list a
numbered list, anything else a couple of paragraphs. The content is generic and seeded by
(model, prompt), so a prompt always gets the same answer from the same simulated model; the
first line always says it is simulated. This lets a fresh install show Markdown, code and
tables end to end without calling any model.
"""

from __future__ import annotations

import hashlib
import random
import re

LABEL = "*Simulated answer: Switchyard's built-in simulator wrote this, no model was called.*"
SENTENCES = (
    "The short answer depends on the constraints you care about most.",
    "A good first step is to write down the inputs, the expected output and one edge case.",
    "Start with the simplest version that works, then measure before optimising.",
    "Cheaper models handle routine questions well; harder prompts benefit from a stronger one.",
    "Caching identical requests removes both latency and cost for repeated traffic.",
    "Falling back to a second provider keeps the answer coming when the first one fails.",
    "Streaming shows the first words quickly, which matters more to people than total time.",
    "Token counts drive cost, so long prompts deserve a second look.",
    "In practice, most workloads mix many easy requests with a few difficult ones.",
    "Measure time to first token and tokens per second separately; they fail differently.",
)
LANGUAGES = {
    "python": ("python", "py", "django", "pandas"),
    "javascript": ("javascript", "js", "node", "react", "typescript", "ts"),
    "sql": ("sql", "query", "postgres", "postgresql", "sqlite", "mysql"),
    "bash": ("bash", "shell", "script", "cli", "command line"),
    "go": ("golang", "go"),
    "rust": ("rust",),
}
CODE_WORDS = ("code", "function", "implement", "program", "snippet", "class", "regex", "algorithm")
TABLE_WORDS = ("table", "compare", "comparison", " vs ", " vs. ", "versus", "pros and cons")
LIST_WORDS = ("list", "steps", "step by step", "how do i", "how to", "ways to", "tips", "checklist")
_STOP_WORDS = """a an the and or of to in on for with that this is are be it me my you your i we
our write make show give explain tell what how why which when can could would should please
then also using use into from about function code program short simple example"""
STOP = frozenset(_STOP_WORDS.split())
DETAIL = {"sim/fast": 1, "sim/balanced": 2, "sim/smart": 3}


def compose(model: str, prompt: str) -> str:
    """The whole simulated answer for this model and prompt (Markdown)."""
    rng = random.Random(int(hashlib.sha256(f"{model}:{prompt}".encode()).hexdigest()[:12], 16))
    detail = DETAIL.get(model, 2)
    lowered = f" {prompt.lower()} "
    parts = [LABEL, _paragraph(rng, detail)]
    if _wants_code(lowered):
        parts.append(_code(_language(lowered), _name(prompt), _topic(prompt, 50)))
    if any(word in lowered for word in TABLE_WORDS):
        parts.append(_table(rng, _compared(prompt), detail))
    elif any(word in lowered for word in LIST_WORDS):
        parts.append(_steps(rng, detail))
    elif len(parts) == 2:
        parts.append(_bullets(rng))
    parts.append(f'You asked about "{_topic(prompt)}".')
    return "\n\n".join(parts)


def _paragraph(rng: random.Random, detail: int) -> str:
    return " ".join(rng.sample(SENTENCES, k=1 + detail))


def _bullets(rng: random.Random) -> str:
    return "\n".join(f"- {s}" for s in rng.sample(SENTENCES, k=2))


def _steps(rng: random.Random, detail: int) -> str:
    return "\n".join(f"{i}. {s}" for i, s in enumerate(rng.sample(SENTENCES, k=2 + detail), 1))


def _wants_code(lowered: str) -> bool:
    if any(word in lowered for word in CODE_WORDS):
        return True
    return any(f" {alias} " in lowered for aliases in LANGUAGES.values() for alias in aliases)


def _language(lowered: str) -> str:
    padded = re.sub(r"[^\w ]", " ", lowered)
    for language, aliases in LANGUAGES.items():
        if any(f" {alias} " in padded for alias in aliases):
            return language
    return "python"


def _words(prompt: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z0-9_-]*", prompt)


def _name(prompt: str) -> str:
    """An identifier from the prompt's most telling word ("palindrome" -> is_palindrome)."""
    words = [w.lower() for w in _words(prompt) if w.lower() not in STOP and len(w) > 2]
    word = max(words, key=len, default="answer").replace("-", "_")
    return word if word.startswith(("is_", "get_")) else f"solve_{word}"


def _code(language: str, name: str, topic: str) -> str:
    camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
    bodies = {
        "python": f'def {name}(value: str) -> str:\n    """Simulated example for: {topic}."""\n'
        f'    cleaned = value.strip().lower()\n    return cleaned\n\n\nprint({name}("Example"))',
        "javascript": f"function {camel}(value) {{\n  // Simulated example for: {topic}\n"
        f"  const cleaned = value.trim().toLowerCase();\n  return cleaned;\n}}\n\n"
        f'console.log({camel}("Example"));',
        "sql": f"-- Simulated example for: {topic}\nSELECT id, name, created_at\n"
        f"FROM {name.removeprefix('solve_')}\nWHERE created_at >= CURRENT_DATE - 7\n"
        "ORDER BY created_at DESC\nLIMIT 20;",
        "bash": f"#!/usr/bin/env bash\n# Simulated example for: {topic}\nset -euo pipefail\n"
        f'for file in "$@"; do\n  echo "{name}: $file"\ndone',
        "go": f"// Simulated example for: {topic}\nfunc {camel}(value string) string {{\n"
        "\treturn strings.ToLower(strings.TrimSpace(value))\n}",
        "rust": f"// Simulated example for: {topic}\nfn {name}(value: &str) -> String {{\n"
        "    value.trim().to_lowercase()\n}",
    }
    return f"```{language}\n{bodies[language]}\n```"


def _compared(prompt: str) -> list[str]:
    """The things a prompt compares ("compare A, B and C", "A vs B"), or three options."""
    match = re.search(r"compare\s+(.+?)(?:[.?!:]|$)", prompt, flags=re.I)
    text = match.group(1) if match else prompt
    text = re.sub(r"\b(in|as|with) an? (table|list|chart)\b.*", "", text, flags=re.I)
    pieces = re.split(r",|\band\b|\bvs\.?|\bversus\b|\bor\b", text, flags=re.I)
    items = [" ".join(_words(p)[:4]) for p in pieces]
    items = [i for i in items if i and i.lower() not in STOP]
    if len(items) < 2 or len(items) > 6:
        return ["Option A", "Option B", "Option C"]
    return items


def _table(rng: random.Random, items: list[str], detail: int) -> str:
    columns = ["Cost", "Speed", "Quality", "Effort"][: 2 + detail]
    levels = ("low", "medium", "high")
    lines = ["| " + " | ".join(["Option", *columns]) + " |", "|" + "---|" * (1 + len(columns))]
    for item in items:
        lines.append("| " + " | ".join([item, *(rng.choice(levels) for _ in columns)]) + " |")
    return "\n".join(lines)


def _topic(prompt: str, limit: int = 80) -> str:
    """The prompt's start, cut at a word boundary (never mid-word), on one line."""
    flat = " ".join(prompt.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0].rstrip(",.;:")
    return f"{cut}…"

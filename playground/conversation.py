"""Multi-turn runs: each pane's conversation is the chain of Runs (a follow-up has a parent).

From the chain come the messages a follow-up sends per pane, the earlier turns a pane shows,
and the exports of a whole run (JSON and Markdown).
"""

from __future__ import annotations

from typing import Any

from playground import render
from playground.forms import FormInput, Message, PaneInput
from playground.models import Run


def histories(chain: list[Run], panes: int) -> list[list[Message]]:
    """Per pane, the user/assistant messages of every turn in `chain` (oldest first)."""
    result: list[list[Message]] = [[] for _ in range(panes)]
    for turn in chain:
        for index in range(panes):
            answer = turn.panes[index].get("text", "") if index < len(turn.panes) else ""
            result[index].append({"role": "user", "content": turn.prompt})
            if answer:
                result[index].append({"role": "assistant", "content": answer})
    return result


def turn_views(chain: list[Run], panes: int) -> list[list[dict[str, Any]]]:
    """Per pane, the earlier turns as the pane shows them (prompt, rendered answer, error)."""
    result: list[list[dict[str, Any]]] = [[] for _ in range(panes)]
    for turn in chain:
        for index in range(panes):
            pane = turn.panes[index] if index < len(turn.panes) else {}
            result[index].append(
                {
                    "prompt": turn.prompt,
                    "html": render.markdown(pane.get("text", "")),
                    "error": pane.get("error", ""),
                }
            )
    return result


def followup_form(parent: Run, prompt: str) -> FormInput:
    """A follow-up turn: the parent's models, parameters and system prompts, a new prompt."""
    panes = [
        PaneInput(
            p["model"],
            **{k: str(v) for k, v in (p.get("params") or {}).items()},
            system=p.get("system", ""),
        )
        for p in parent.panes
    ]
    return FormInput(prompt, parent.system, panes, parent=parent.pk)


def export_data(chain: list[Run]) -> dict[str, Any]:
    """The whole conversation as JSON: every turn's prompt and every pane's answer/metrics."""
    last = chain[-1]
    return {
        "run": last.pk,
        "created_at": chain[0].created_at.isoformat(),
        "system": chain[0].system,
        "models": last.model_ids,
        "winner": last.winner,
        "ratings": last.ratings,
        "turns": [
            {"id": turn.pk, "prompt": turn.prompt, "status": turn.status, "panes": turn.panes}
            for turn in chain
        ],
    }


def export_markdown(chain: list[Run]) -> str:
    """The conversation as Markdown: per turn, the prompt then each pane's answer."""
    last = chain[-1]
    lines = [f"# Playground run #{last.pk}", ""]
    if chain[0].system:
        lines += [f"System: {chain[0].system}", ""]
    for number, turn in enumerate(chain, 1):
        lines += [f"## Turn {number}", "", "> " + turn.prompt.replace("\n", "\n> "), ""]
        for index, pane in enumerate(turn.panes):
            lines += [_pane_heading(pane, index, last), ""]
            lines += [pane.get("text") or f"*Error: {pane.get('error') or 'no answer'}*", ""]
    return "\n".join(lines)


def _pane_heading(pane: dict[str, Any], index: int, last: Run) -> str:
    metrics = pane.get("metrics") or {}
    marks = [" (best)" if last.winner == index else ""]
    rating = (last.ratings or {}).get(str(index))
    if rating:
        marks.append(f" (rated {rating})")
    cost = metrics.get("cost_usd")
    detail = f" · {render.usd(None if cost is None else float(cost))}" if metrics else ""
    return f"### {pane['model']}{''.join(marks)}{detail}"

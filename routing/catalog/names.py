"""Model names as apps send them: bare provider ids (`gpt-4o`, `claude-sonnet-4-5`), with
a documented preference when several providers serve one, and suggestions for unknown ones.

Preference for an ambiguous bare name: the model's own maker (a `claude-*` name goes to the
`anthropic` provider, `gpt-*` to `openai`...). With no maker among the candidates the name is
refused with the candidates listed; an unknown name gets the closest ids ("did you mean").
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from routing.errors import GatewayError

if TYPE_CHECKING:
    from routing.catalog import ModelEntry, Snapshot

MAKERS: tuple[tuple[str, str], ...] = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("deepseek", "deepseek"),
    ("gemini", "google"),
    ("qwen", "qwen"),
    ("qwq", "qwen"),
    ("mistral", "mistral"),
    ("codestral", "mistral"),
    ("llama", "groq"),
)


def maker(name: str) -> str:
    lowered = name.lower()
    return next((slug for prefix, slug in MAKERS if lowered.startswith(prefix)), "")


def pick(candidates: list[ModelEntry], name: str) -> ModelEntry | None:
    """The one candidate, or the maker's own among several; None when still ambiguous."""
    if len(candidates) == 1:
        return candidates[0]
    own = [m for m in candidates if m.provider.slug == maker(name)]
    return own[0] if len(own) == 1 else None


def not_found(snapshot: Snapshot, name: str) -> GatewayError:
    """404 for a name that resolves to no model: the candidates, or the closest ids."""
    candidates = snapshot.bare_candidates(name)
    if len(candidates) > 1:
        listed = ", ".join(sorted(m.id for m in candidates))
        message = (
            f"The model '{name}' is served by several providers ({listed}); "
            "name one of them, or map the name in the admin's aliases."
        )
        return GatewayError(404, message, code="model_ambiguous", param="model")
    close = suggestions(snapshot, name)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return GatewayError(
        404,
        f"The model '{name}' does not exist or you do not have access to it.{hint}",
        "invalid_request_error",
        "model_not_found",
        "model",
    )


def suggestions(snapshot: Snapshot, name: str, limit: int = 3) -> list[str]:
    configured = [m for m in snapshot.models.values() if m.provider.configured]
    pool = configured or list(snapshot.models.values())
    by_key: dict[str, str] = {}
    for model in pool:
        by_key.setdefault(model.id.lower(), model.id)
        by_key.setdefault(model.model_id.lower(), model.id)
    matches = difflib.get_close_matches(name.lower(), list(by_key), n=limit * 2, cutoff=0.6)
    ordered: list[str] = []
    for match in matches:
        if by_key[match] not in ordered:
            ordered.append(by_key[match])
    return ordered[:limit]

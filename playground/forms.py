"""The playground form: read it from a POST or a permalink, validate it, write the permalink.

Validation never calls a model: it checks the prompt, the pane count, that each model or route
exists and can be called, and builds each pane's `ChatRequest` with the same pydantic model
`/v1` uses, so parameter ranges are the gateway's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from pydantic import ValidationError

from routing.catalog import RouteEntry, Snapshot
from routing.schemas import ChatRequest

MAX_PANES = 6
MAX_PROMPT_CHARS = 100_000
MAX_TOKENS_LIMIT = 200_000
PERMALINK_PROMPT_CHARS = 1_000  # longer prompts are stored; the permalink names them by id
PARAMS = ("temperature", "max_tokens", "top_p")
LABELS = {"temperature": "Temperature", "max_tokens": "Max tokens", "top_p": "Top p"}
ROUTE_PREFIX = "route/"


@dataclass
class PaneInput:
    """One pane as typed: a model (or route) id and its raw parameter strings."""

    model: str
    temperature: str = ""
    max_tokens: str = ""
    top_p: str = ""
    system: str = ""  # this pane's own system prompt (instead of the form's), optional

    def raw(self, name: str) -> str:
        return str(getattr(self, name))


Message = dict[str, str]


@dataclass
class FormInput:
    prompt: str = ""
    system: str = ""
    panes: list[PaneInput] = field(default_factory=list)
    parent: int | None = None  # the run this turn follows up

    @property
    def models(self) -> list[str]:
        return [pane.model for pane in self.panes]

    @property
    def long_prompt(self) -> bool:
        return len(self.prompt) > PERMALINK_PROMPT_CHARS

    def permalink_query(self, prompt_id: str = "") -> str:
        """The page's state as a query; a long prompt by its stored id (`prompt_id`)."""
        query: list[tuple[str, str]] = [("models", ",".join(self.models))]
        query.append(("prompt_id", prompt_id) if prompt_id else ("prompt", self.prompt))
        if self.system:
            query.append(("system", self.system))
        for name in PARAMS:
            values = [pane.raw(name) for pane in self.panes]
            if any(values):
                query.append((name, values[0] if len(set(values)) == 1 else ",".join(values)))
        if any(pane.system for pane in self.panes):
            query += [("pane_system", pane.system) for pane in self.panes]
        return urlencode(query)


@dataclass
class PaneSpec:
    """A validated pane: what to ask the gateway."""

    model: str
    params: dict[str, float | int]
    request: ChatRequest
    system: str = ""


@dataclass
class Checked:
    panes: list[PaneSpec] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # "prompt", "models", "pane-<i>"


def _text(data: QueryDict, name: str) -> str:
    return (data.get(name) or "").replace("\r\n", "\n").strip()


def from_post(data: QueryDict) -> FormInput:
    """Pane rows post aligned lists: model, temperature, max_tokens, top_p."""
    models = data.getlist("model")
    columns = {name: data.getlist(name) for name in (*PARAMS, "pane_system")}
    panes = []
    for index, model in enumerate(models):
        values = {n: (c[index] if index < len(c) else "").strip() for n, c in columns.items()}
        system = values.pop("pane_system")
        panes.append(PaneInput(model.strip(), **values, system=system))
    parent = data.get("parent") or ""
    return FormInput(
        _text(data, "prompt"),
        _text(data, "system"),
        panes,
        int(parent) if parent.isdigit() else None,
    )


def from_query(data: QueryDict) -> FormInput:
    """`?models=a,b&temperature=0.2` (one value for all panes) or `temperature=0.2,0.9`."""
    models = [m.strip() for m in (data.get("models") or "").split(",") if m.strip()]
    columns = {name: (data.get(name) or "").split(",") for name in PARAMS}
    systems = data.getlist("pane_system")
    panes = []
    for index, model in enumerate(models[:MAX_PANES]):
        values = {n: _nth(c, index).strip() for n, c in columns.items()}
        system = systems[index].strip() if index < len(systems) else ""
        panes.append(PaneInput(model, **values, system=system))
    return FormInput(_text(data, "prompt"), _text(data, "system"), panes)


def _nth(values: list[str], index: int) -> str:
    if len(values) == 1:
        return values[0]
    return values[index] if index < len(values) else ""


def check(
    form: FormInput, snapshot: Snapshot, histories: list[list[Message]] | None = None
) -> Checked:
    """All errors at once, keyed by the field they belong next to. `histories[i]` is pane
    i's conversation so far (a follow-up turn)."""
    checked = Checked()
    if not form.prompt:
        checked.errors["prompt"] = "Write a prompt first."
    elif len(form.prompt) > MAX_PROMPT_CHARS:
        checked.errors["prompt"] = f"The prompt is too long (over {MAX_PROMPT_CHARS} characters)."
    if not form.panes:
        checked.errors["models"] = "Pick at least one model."
    elif len(form.panes) > MAX_PANES:
        checked.errors["models"] = f"Pick at most {MAX_PANES} models ({len(form.panes)} picked)."
    for index, pane in enumerate(form.panes[:MAX_PANES]):
        history = histories[index] if histories and index < len(histories) else []
        spec, error = _check_pane(pane, form, snapshot, history)
        if error:
            checked.errors[f"pane-{index}"] = error
        elif spec is not None:
            checked.panes.append(spec)
    if any(key.startswith("pane-") for key in checked.errors):
        checked.errors.setdefault("models", "Fix the models marked in red above.")
    return checked


def model_problem(name: str, snapshot: Snapshot) -> str:
    """Why this model or route cannot be used, or "" when it can."""
    return blocking_problem(name, snapshot) or unconfigured(name, snapshot)


def blocking_problem(name: str, snapshot: Snapshot) -> str:
    """A problem that stops the run before anything is sent: an unknown or disabled id."""
    if name.startswith(ROUTE_PREFIX):
        route = snapshot.routes.get(name[len(ROUTE_PREFIX) :])
        if route is None:
            return f"Unknown route '{name}'."
        return "" if route.enabled else f"The route '{name}' is disabled."
    return "" if snapshot.resolve(name) is not None else f"Unknown model '{name}'."


def unconfigured(name: str, snapshot: Snapshot) -> str:
    """Why a known model (or every target of a route) cannot be called yet: a missing provider
    key. Such a pane still runs, and fails in its own pane, while the others answer."""
    if name.startswith(ROUTE_PREFIX):
        route = snapshot.routes.get(name[len(ROUTE_PREFIX) :])
        return _route_unconfigured(route, snapshot) if route is not None else ""
    entry = snapshot.resolve(name)
    if entry is None or entry.provider.configured:
        return ""
    return f"{entry.id}: {entry.provider.reason}."


def _route_unconfigured(route: RouteEntry, snapshot: Snapshot) -> str:
    names = [t.model for t in route.targets] + [f for t in route.targets for f in t.fallbacks]
    entries = [e for e in (snapshot.resolve(n) for n in [*names, *route.fallbacks]) if e]
    if not entries or any(e.provider.configured for e in entries):
        return ""
    reasons = sorted({e.provider.reason.removeprefix("not configured: ") for e in entries})
    return f"No target of route/{route.slug} is configured: {', '.join(reasons)}."


def _check_pane(
    pane: PaneInput, form: FormInput, snapshot: Snapshot, history: list[Message]
) -> tuple[PaneSpec | None, str]:
    problem = blocking_problem(pane.model, snapshot)
    if problem:
        return None, problem
    params, error = _numbers(pane)
    if error:
        return None, error
    try:
        request = ChatRequest.model_validate(_body(pane, form, params, history))
    except ValidationError as exc:
        return None, _pydantic_message(exc)
    return PaneSpec(pane.model, params, request, pane.system), ""


def _numbers(pane: PaneInput) -> tuple[dict[str, float | int], str]:
    params: dict[str, float | int] = {}
    for name in PARAMS:
        raw = pane.raw(name)
        if not raw:
            continue
        try:
            value = int(raw) if name == "max_tokens" else float(raw)
        except ValueError:
            kind = "a whole number" if name == "max_tokens" else "a number"
            return {}, f"{LABELS[name]} must be {kind}."
        if not math.isfinite(value):
            return {}, f"{LABELS[name]} must be a finite number."
        if name == "max_tokens" and value > MAX_TOKENS_LIMIT:
            return {}, f"Max tokens must be at most {MAX_TOKENS_LIMIT}."
        params[name] = value
    return params, ""


def _body(
    pane: PaneInput, form: FormInput, params: dict[str, float | int], history: list[Message]
) -> dict[str, Any]:
    messages = [*history, {"role": "user", "content": form.prompt}]
    system = pane.system or form.system
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return {"model": pane.model, "messages": messages, "stream": True, **params}


def _pydantic_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    label = LABELS.get(name, name or "Request")
    return f"{label}: {first['msg'][0].lower()}{first['msg'][1:]}."

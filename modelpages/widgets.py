"""The model picker as a form widget: a search box over the catalog for one model id.

It renders the playground's search results (``/models/pick/``, ranked by
:func:`playground.picker.search`) under a text input; picking one fills the input. The
current value is described under the box, with its "not configured" marker, so a form shows
at a glance that a route would answer 503. Works without htmx (admin pages): the script is
``static/js/model-pick.js``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse

from playground import picker
from routing import catalog


def describe(value: str) -> picker.Option | None:
    """The picker's description of a value (None for an empty one, or off a sync path)."""
    if not value:
        return None
    try:
        snapshot = catalog.current_sync()
    except RuntimeError:  # called from an event loop: no description, the box still works
        return None
    return picker.option_for(value, snapshot)


class ModelPicker(forms.TextInput):
    template_name = "modelpages/picker_widget.html"

    class Media:
        js = ("js/model-pick.js",)

    def __init__(self, attrs: dict[str, Any] | None = None, routes: bool = False) -> None:
        base = {"autocomplete": "off", "spellcheck": "false", "class": "pick-input",
                "placeholder": "Search models, e.g. gpt-4o, claude, deepseek"}  # fmt: skip
        super().__init__({**base, **(attrs or {})})
        self.routes = routes

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        url = reverse("modelpages:pick") + ("?routes=1" if self.routes else "")
        context["pick"] = {"url": url, "option": describe(str(value or "").strip())}
        return context


class FallbackList(forms.Widget):
    """An ordered list of model pickers (a fallback chain): add, remove, move up and down.

    Every picker posts under the same name; the field reads them in order and drops empty ones.
    """

    template_name = "modelpages/fallbacks_widget.html"

    class Media:
        js = ("js/model-pick.js",)

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.picker = ModelPicker()

    def format_value(self, value: Any) -> list[str]:
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                value = [value]
        return [str(v) for v in value] if isinstance(value, list | tuple) else []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        base = {k: v for k, v in (attrs or {}).items() if k != "id"}
        items = [
            self.picker.get_context(name, model, {**base, "id": f"{base_id(attrs)}_{i}"})["widget"]
            | {"pick": self.picker.get_context(name, model, None)["pick"]}
            for i, model in enumerate(self.format_value(value))
        ]
        blank = self.picker.get_context(name, "", {**base, "id": ""})
        context["fallbacks"] = {"items": items, "blank": blank["widget"] | {"pick": blank["pick"]}}
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        getter = getattr(data, "getlist", None)
        values = getter(name) if getter else data.get(name, [])
        found: list[str] = []
        for value in values if isinstance(values, list) else [values]:
            found += _values(value)
        return found

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # an empty list is a value: no fallbacks


def _values(value: Any) -> list[str]:
    """One posted value: a model id, or a JSON list of them (a script posting the old way)."""
    if not isinstance(value, str) or not value.strip():
        return []
    text = value.strip()
    if text.startswith("["):
        import json

        try:
            parsed = json.loads(text)
        except ValueError:
            return [text]
        return (
            [str(v).strip() for v in parsed if str(v).strip()]
            if isinstance(parsed, list)
            else [text]
        )
    return [text]


def base_id(attrs: dict[str, Any] | None) -> str:
    return str((attrs or {}).get("id", "fallback"))


class FallbackField(forms.Field):
    """A list of model ids from :class:`FallbackList`."""

    widget = FallbackList

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return list(initial or []) != list(data or [])

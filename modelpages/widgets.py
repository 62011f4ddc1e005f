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

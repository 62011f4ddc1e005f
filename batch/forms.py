"""The upload form of /batch/: a batch file and the options of `manage.py batch run`.

The route is picked from the routing table and the model with the shared model picker; both
are checked against the catalog here, at upload, as is the file itself: a job that could only
fail is refused with the reason instead of being queued and shown as done.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings

from batch import checks
from batch.inputs import BatchInput, InputRefused, parse_bytes
from batch.runner import Options, route_name
from modelpages.widgets import ModelPicker
from routing.catalog import Snapshot

MAX_UPLOAD_BYTES = getattr(settings, "BATCH_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
MIN_USD = Decimal("0.000001")


def _usd(label: str, help_text: str) -> forms.DecimalField:
    widget = forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"})
    return forms.DecimalField(
        required=False,
        label=label,
        decimal_places=6,
        min_value=MIN_USD,
        help_text=help_text,
        widget=widget,
    )


class UploadForm(forms.Form):
    file = forms.FileField(help_text="OpenAI Batch JSONL, plain text (a prompt a line) or CSV.")
    route = forms.ChoiceField(required=False, help_text="A route of the routing table decides.")
    model = forms.CharField(
        required=False, widget=ModelPicker(), help_text="Or one model for every line."
    )
    budget_per_request = _usd("Budget per request", "USD; the budget route picks within it.")
    max_total_usd = _usd("Stop before spending", "USD for the whole job.")
    concurrency = forms.IntegerField(min_value=1, max_value=64, initial=8)

    parsed: BatchInput | None = None
    data_bytes: bytes = b""
    usd_fields = ("budget_per_request", "max_total_usd")

    def __init__(self, *args: Any, snapshot: Snapshot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.snapshot = snapshot
        routes = sorted(snapshot.routes.values(), key=lambda r: r.slug)
        choices = [("", "none (the model, or each line's own)")]
        choices += [(r.slug, f"route/{r.slug} · {r.strategy}") for r in routes if r.enabled]
        self.fields["route"].choices = choices  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
        self.data_bytes = upload.read()
        try:
            self.parsed = parse_bytes(self.data_bytes, Path(upload.name).suffix.lower())
        except InputRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean_model(self) -> str:
        model = self.cleaned_data.get("model", "").strip()
        problem = checks.target_problem(Options(model=model), self.snapshot) if model else ""
        if problem:
            raise forms.ValidationError(problem)
        return model

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        route, model = data.get("route", ""), data.get("model", "")
        if route and model:
            raise forms.ValidationError("Pick a route or a model, not both.")
        if model and data.get("budget_per_request") is not None:
            self.add_error("model", "A budget per request lets the budget route pick: no model.")
        needs_model = self.parsed is not None and self.parsed.format != "jsonl"
        if needs_model and not (route or model or data.get("budget_per_request")):
            self.add_error("model", "Plain text and CSV lines name no model: give one or a route.")
        if not self.errors and self.parsed is not None:
            self._check_lines()
        return data

    def _check_lines(self) -> None:
        assert self.parsed is not None
        refusal = checks.check(self.parsed, self.options(), self.snapshot).refusal()
        if refusal:
            self.add_error("file", refusal)

    def options(self) -> Options:
        data = self.cleaned_data
        route, model = data.get("route", ""), data.get("model", "")
        return Options(
            model=route_name(route) if route else model,
            budget_per_request=data.get("budget_per_request"),
            max_total_usd=data.get("max_total_usd"),
            concurrency=data.get("concurrency") or 8,
        )

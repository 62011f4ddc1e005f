"""The upload form of /batch/: a batch file and the options of `manage.py batch run`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings

from batch.inputs import BatchInput, InputRefused, parse_bytes
from batch.runner import Options, route_name

MAX_UPLOAD_BYTES = getattr(settings, "BATCH_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
MIN_USD = Decimal("0.000001")


class UploadForm(forms.Form):
    file = forms.FileField(help_text="OpenAI Batch JSONL, plain text (a prompt a line) or CSV.")
    route = forms.CharField(required=False, help_text="e.g. auto, budget, by-type")
    model = forms.CharField(required=False, help_text="e.g. openai/gpt-4o-mini")
    budget_per_request = forms.DecimalField(
        required=False, label="Budget per request", decimal_places=6, min_value=MIN_USD
    )
    max_total_usd = forms.DecimalField(
        required=False, label="Stop before spending", decimal_places=6, min_value=MIN_USD
    )
    concurrency = forms.IntegerField(min_value=1, max_value=64, initial=8)

    parsed: BatchInput | None = None
    data_bytes: bytes = b""

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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        route, model = data.get("route", "").strip(), data.get("model", "").strip()
        if route and model:
            raise forms.ValidationError("Pick a route or a model, not both.")
        if model and data.get("budget_per_request") is not None:
            self.add_error("model", "A budget per request lets the budget route pick: no model.")
        needs_model = self.parsed is not None and self.parsed.format != "jsonl"
        if needs_model and not (route or model or data.get("budget_per_request")):
            self.add_error("model", "Plain text and CSV lines name no model: give one or a route.")
        return data

    def options(self) -> Options:
        data = self.cleaned_data
        route, model = data["route"].strip(), data["model"].strip()
        return Options(
            model=route_name(route) if route else model,
            budget_per_request=data.get("budget_per_request"),
            max_total_usd=data.get("max_total_usd"),
            concurrency=data.get("concurrency") or 8,
        )

"""The date range of the dashboard: ``?start=YYYY-MM-DD&end=YYYY-MM-DD``, both optional."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from .reports import MAX_DAYS, DateRange, default_start

ISO = "%Y-%m-%d"
# Outside these the range arithmetic would overflow; nothing was recorded there anyway.
EARLIEST = dt.date(1970, 1, 1)
LATEST = dt.date(9999, 12, 30)


def _date_field() -> forms.DateField:
    return forms.DateField(
        required=False,
        input_formats=[ISO],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        # A text input: the browser's date input shows the locale's format (03/01/2026),
        # the page's text shows 2026-03-01; one format everywhere.
        widget=forms.DateInput(
            attrs={
                "inputmode": "numeric",
                "placeholder": "YYYY-MM-DD",
                "pattern": r"\d{4}-\d{2}-\d{2}",
            },
            format=ISO,
        ),
    )


def _in_bounds(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise forms.ValidationError(f"Pick a date between {EARLIEST} and {LATEST}.")
    return value


PROTOCOLS = [
    ("", "All doors"),
    ("chat", "chat (OpenAI chat)"),
    ("messages", "messages (Anthropic)"),
]


class RangeForm(forms.Form):
    """Missing dates: up to today (or ``end``), from the first record of the 30 days before;
    ``protocol`` keeps the requests of one front door (empty: all)."""

    start = _date_field()
    end = _date_field()
    protocol = forms.ChoiceField(
        required=False,
        choices=PROTOCOLS,
        error_messages={"invalid_choice": "Pick chat, messages or all doors."},
    )

    def __init__(self, data: Any, *, today: dt.date) -> None:
        super().__init__({name: data.get(name, "") for name in ("start", "end", "protocol")})
        self.today = today

    def clean_start(self) -> dt.date | None:
        return _in_bounds(self.cleaned_data.get("start"))

    def clean_end(self) -> dt.date | None:
        return _in_bounds(self.cleaned_data.get("end"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or default_start(end)
        if start > end:
            self.add_error("start", "The start date is after the end date.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"Pick a range of at most {MAX_DAYS} days.")
        cleaned.update(start=start, end=end)
        return cleaned

    @property
    def range(self) -> DateRange:
        return DateRange(self.cleaned_data["start"], self.cleaned_data["end"])

    @property
    def date_fields(self) -> list[Any]:
        return [self[name] for name in ("start", "end")]

    def value(self, name: str) -> str:
        """What the input shows: the range in use, or what was typed when it is invalid."""
        if self.is_valid():
            value = self.cleaned_data[name]
            return value.isoformat() if isinstance(value, dt.date) else str(value or "")
        return str(self.data.get(name, ""))

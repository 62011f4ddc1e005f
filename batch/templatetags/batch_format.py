"""Formats of the batch pages: a duration as 1h05m / 3m20s (as the terminal progress line)."""

from __future__ import annotations

from django import template

from batch.progress import duration as _duration

register = template.Library()


@register.filter
def duration(seconds: object) -> str:
    return _duration(float(seconds)) if isinstance(seconds, int | float) else "–"

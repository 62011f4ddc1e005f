from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from playground import render

register = template.Library()


@register.filter
def usd(value: Decimal | float | str | None) -> str:
    return render.usd(None if value is None else Decimal(str(value)))


@register.filter
def ago(value: datetime) -> str:
    """'just now', '5 minutes ago', '2 days ago'."""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value).split(',')[0]} ago"

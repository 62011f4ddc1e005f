"""Number formatting for the calculator's tables."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def usd(value: float | None) -> str:
    """$1,234.56 (negative as -$1,234.56)."""
    if value is None:
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


@register.filter
def count(value: float | None) -> str:
    """Whole requests with thousands separators."""
    return "–" if value is None else f"{value:,.0f}"


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


@register.filter
def share(value: float | None) -> str:
    """A 0..1 fraction as a percentage."""
    return "–" if value is None else f"{value * 100:.1f} %"


@register.filter
def get(mapping: dict, key: str) -> object:
    return mapping.get(key, "") if mapping else ""


@register.filter
def type_label(name: str) -> str:
    """The query type's display name: the charts and the tables use the same one."""
    from costcalc.workload import TYPE_LABELS

    return TYPE_LABELS.get(name, name) if name else "(none)"

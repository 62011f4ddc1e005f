"""Number formats of the usage dashboard: dollars, percentages, milliseconds."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def usd(value: object) -> str:
    """$1,234.56 for large amounts, four decimals below $100 (single calls cost fractions)."""
    if not isinstance(value, int | float | Decimal):
        return "unknown"
    return f"${value:,.2f}" if abs(float(value)) >= 100 else f"${value:,.4f}"


@register.filter
def percent(value: object) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float | Decimal) else "–"


@register.filter
def ms(value: object) -> str:
    """A duration, or a dash when there is none (e.g. no answered call)."""
    return f"{value:,.0f} ms" if isinstance(value, int | float | Decimal) else "–"


@register.filter
def num(value: object) -> str:
    """A count with thousands separators."""
    return f"{value:,}" if isinstance(value, int) else "–"

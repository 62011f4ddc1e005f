"""HTML for the playground stream: SSE framing, `<hx-partial>` fragments, safe Markdown.

Model output is untrusted. Markdown is rendered with raw HTML disabled and then sanitised by
nh3 (no scripts, no event handlers, no `javascript:` links), while a pane streams (the text so
far, a few times a second) and when it ends; tokens between two renders are appended
`html.escape`d, as text.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import nh3
from django.template.loader import render_to_string
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "a",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}


def markdown(text: str) -> str:
    """Untrusted Markdown -> HTML that is safe to insert into the page."""
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sse(fragment: str) -> bytes:
    """One unnamed SSE message (htmx swaps its partials); one `data:` line per line."""
    lines = normalise_newlines(fragment).split("\n")
    return ("".join(f"data: {line}\n" for line in lines) + "\n").encode()


def partial(target: str, inner: str, swap: str = "innerHTML") -> str:
    return f'<hx-partial hx-target="{html.escape(target)}" hx-swap="{swap}">{inner}</hx-partial>'


def append_text(target: str, text: str) -> str:
    """Append untrusted text: escaped, so a token can never become markup."""
    escaped = html.escape(normalise_newlines(text), quote=False)
    return partial(target, f'<span class="tail">{escaped}</span>', "beforeend")


def template(name: str, context: dict[str, Any]) -> str:
    return render_to_string(f"playground/{name}", context)


def usd(value: Decimal | float | None) -> str:
    """$0.000123 for tiny amounts, $1.23 for large ones; None is an unknown price."""
    if value is None:
        return "unknown"
    amount = Decimal(value)
    if amount == 0:
        return "$0"
    if amount < Decimal("0.01"):
        return f"${amount:.6f}"
    return f"${amount:.4f}" if amount < 1 else f"${amount:.2f}"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def pane_view(index: int, saved: dict[str, Any], streaming: bool = False) -> dict[str, Any]:
    """Template context for one pane, from its saved form (live panes are saved on the fly)."""
    metrics = saved.get("metrics") or {}
    text = saved.get("text", "")
    return {
        "index": index,
        "id": f"pane-{index}",
        "model": saved["model"],
        "params": saved.get("params") or {},
        "system": saved.get("system", ""),
        "simulated": saved.get("simulated", False),
        "status": saved.get("status", "done"),
        "error": saved.get("error", ""),
        "text": text,
        "html": markdown(text) if text else "",
        "answered_by": metrics.get("answered_by", ""),
        "decision": metrics.get("decision", ""),
        "cells": metric_cells(metrics, streaming),
    }


def metric_cells(m: dict[str, Any], streaming: bool) -> list[dict[str, str]]:
    approx = "~" if streaming or m.get("estimated") else ""
    rate = m.get("tokens_per_second")
    cost = m.get("cost_usd")
    cost_text = "–" if not m.get("answered_by") else usd(None if cost is None else Decimal(cost))
    tokens_in = m.get("tokens_in")
    ttft = {"label": "TTFT", "value": ms(m.get("ttft_ms")), "testid": "pane-ttft", "key": "ttft"}
    speed = {"label": "Tok/s", "value": f"{rate:.0f}" if rate else "–", "testid": "", "key": "rate"}
    price = (approx if cost_text.startswith("$") else "") + cost_text
    cost_cell = {"label": "Cost", "value": price, "testid": "pane-cost", "key": "cost"}
    total = {"label": "Total", "value": ms(m.get("total_ms")), "testid": "", "key": "total"}
    shown_in = tokens_in if tokens_in is not None else "–"
    io = f"{shown_in} / {approx}{m.get('tokens_out') or 0}"
    tokens = {"label": "In / out", "value": io, "testid": "", "key": "tokens"}
    return [ttft, speed, cost_cell, total, tokens]

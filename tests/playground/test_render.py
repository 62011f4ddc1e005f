"""Safe Markdown, SSE framing and token coalescing, without a server."""

from __future__ import annotations

import asyncio

from playground import render
from playground.stream import Event, batches


def test_markdown_keeps_model_html_inert() -> None:
    """Raw HTML and javascript: links from a model come out as text, never as elements."""
    out = render.markdown(
        "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    )
    assert "<script" not in out and "<img" not in out and "href" not in out
    assert "&lt;script&gt;" in out and "[x](javascript:alert(1))" in out


def test_markdown_renders_code_lists_and_safe_links() -> None:
    """Code blocks, lists and http links survive; links get rel=noopener."""
    out = render.markdown("- a\n- b\n\n```py\nx < 1\n```\n\n[site](https://example.com)")
    assert "<li>a</li>" in out and '<code class="language-py">x &lt; 1' in out
    assert 'href="https://example.com"' in out and "noopener" in out


def test_sse_gives_each_line_its_own_data_field() -> None:
    """Newlines (and carriage returns) become separate data: lines; a blank line ends it."""
    assert render.sse("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_append_text_escapes_tokens() -> None:
    """A token that looks like markup or closes the partial stays text."""
    html = render.append_text("#pane-0-output", "</hx-partial><b>&")
    assert html.endswith(">&lt;/hx-partial&gt;&lt;b&gt;&amp;</span></hx-partial>")


async def test_batches_coalesce_tokens_but_not_the_first() -> None:
    """A pane's first token goes out alone at once; later close tokens share a batch."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    out: list[list[Event]] = []

    async def consume() -> None:
        async for batch in batches(queue, 1, window=0.05):
            out.append(batch)

    task = asyncio.create_task(consume())
    queue.put_nowait((0, "text", "first"))
    await asyncio.sleep(0.01)
    for word in ("a", "b", "c"):
        queue.put_nowait((0, "text", word))
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)
    queue.put_nowait((0, "done", ""))
    await asyncio.wait_for(task, 1)
    assert [[e[2] for e in b] for b in out] == [["first"], ["a", "b", "c"], [""]]


def test_streaming_markdown_renders_when_due_and_appends_escaped_between() -> None:
    """A streaming pane's text is rendered as Markdown at most every RENDER_SECONDS; tokens in
    between are appended escaped, so nothing waits and nothing becomes markup."""
    from playground.stream import RENDER_SECONDS, Pane, progress

    pane = Pane(0, None, None)  # type: ignore[arg-type]  # progress() reads only text and timing
    pane.parts = ["**bold** and "]
    first = progress(pane, "**bold** and ", now=100.0)
    assert 'hx-swap="innerHTML"><p><strong>bold</strong> and</p>' in first
    pane.parts.append("<b>x</b>")
    between = progress(pane, "<b>x</b>", now=100.0 + RENDER_SECONDS / 2)
    assert 'hx-swap="beforeend"><span class="tail">&lt;b&gt;x&lt;/b&gt;</span>' in between
    later = progress(pane, "", now=100.0 + RENDER_SECONDS)
    assert "<strong>bold</strong> and &lt;b&gt;x&lt;/b&gt;</p>" in later

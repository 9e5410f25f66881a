"""The side-by-side widget's drawing: row geometry, horizontal scrolling, and what it keeps alive.

The last two matter for speed (issue 6): a screen line must not leave derived strips cached on the
view's own rows, and the widget's line cache stays bounded, or every full garbage collection walks
more objects the further a person has scrolled.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import SessionView
from patchsmith_tui.render import RenderedView, ViewKind, render_view
from patchsmith_tui.widgets.side_by_side import CACHE_LIMIT, SideBySide
from rich.style import Style

from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.sample import FakeBackend, sample_session

BASE = Style(color="#abb2bf", bgcolor="#282c34")

UPSTREAM = "".join(f'\tint value_{n} = compute({n}, "日本"); /* upstream */\n' for n in range(60))
VENDOR = UPSTREAM.replace("compute(1", "vendor_compute(1").replace(
    "/* upstream */\n\tint value_3", "\n\tx"
)


def drift_view() -> RenderedView:
    return render_view(("a.c#1", ViewKind.DRIFT, 0), "a.c", UPSTREAM, VENDOR, 1, 1)


@pytest.mark.parametrize("width", [6, 30, 81, 160])
@pytest.mark.parametrize("scroll_x", [0, 1, 9, 40, 200])
def test_every_row_fills_the_width_and_shows_the_scrolled_text(width: int, scroll_x: int) -> None:
    view = drift_view()
    widget = SideBySide()
    gutter, left_width, right_width = SideBySide.columns(view, width)
    fits = 2 * gutter + 1 + left_width + right_width <= width
    for row in view.rows:
        strip = widget._draw_row(view, row, scroll_x, width, BASE)
        assert strip.cell_length == width
        assert strip.text and len(strip.text) <= width  # (wide characters take two cells)
        if fits and row.left is not None and row.left.strip.text.isascii():
            text = row.left.strip.text[scroll_x : scroll_x + left_width]
            assert strip.crop(gutter, gutter + left_width).text == text.ljust(left_width)


def test_drawing_leaves_nothing_cached_on_the_views_rows() -> None:
    view = drift_view()
    widget = SideBySide()
    for scroll_x in (0, 5):
        for row in view.rows:
            widget._draw_row(view, row, scroll_x, 100, BASE)
    for row in view.rows:
        for side in (row.left, row.right):
            if side is not None:
                # Strip caches crops and styles on itself: kept for the view's whole life.
                assert not side.strip._crop_cache
                assert not side.strip._style_cache


def one_long_hunk(lines: int) -> SessionView:
    text = "".join(f"line {n}\n" for n in range(lines))
    hunk = replace(
        sample_session().hunks[0],
        hunk_id="a.c#1",
        path="a.c",
        upstream_post=text,
        proposal=text.replace("line 7\n", "vendor 7\n"),
    )
    return SessionView(hunks=(hunk,))


@asynctest
async def test_the_line_cache_stays_bounded_and_keeps_recent_lines() -> None:
    app = make_app(backend=FakeBackend(one_long_hunk(3000)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        view = resolve_screen(pilot).query_one(SideBySide)
        view.focus()
        for _ in range(40):
            await pilot.press("pagedown")
        assert 0 < len(view._cache) <= CACHE_LIMIT
        top = view.top_row
        await pilot.press("pageup")
        await pilot.press("pagedown")
        assert view.top_row == top
        # the lines just drawn are the most recently used, so they are still cached
        assert (top, 0, view.scrollable_content_region.width) in view._cache

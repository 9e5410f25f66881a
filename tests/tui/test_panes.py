"""The pane widget's drawing: geometry, the cut-line markers, the layouts, what it keeps alive.

The last two tests matter for speed (issue 6): a screen line must not leave derived strips cached
on the view's own rows, and the widget's line cache stays bounded, or every full garbage
collection walks more objects the further a person has scrolled.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import SessionView
from patchsmith_tui.render import MergeTexts, RenderedView, ViewKind, render_merge, upstream_lines
from patchsmith_tui.widgets.panes import CACHE_LIMIT, CLIPPED_LEFT, CLIPPED_RIGHT, PaneView
from rich.style import Style

from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.sample import FakeBackend, gate_of, sample_session

BASE = Style(color="#abb2bf", bgcolor="#282c34")

UPSTREAM = "".join(f'\tint value_{n} = compute({n}, "日本"); /* upstream */\n' for n in range(60))
VENDOR = UPSTREAM.replace("compute(1", "vendor_compute(1")


def merge_view() -> RenderedView:
    hunk = "@@ -1,60 +1,60 @@\n" + "".join(" " + line + "\n" for line in UPSTREAM.splitlines())
    texts = MergeTexts(
        path="a.c",
        upstream=upstream_lines(hunk),
        upstream_first=1,
        vendor=VENDOR,
        vendor_first=1,
        result=VENDOR,
        result_first=1,
        titles=("upstream", "vendor", "result"),
    )
    return render_merge(("a.c#1", ViewKind.MERGE), texts)


class Sized(PaneView):
    """A widget whose width is given, so geometry can be tested without an app."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self._width = width

    @property
    def content_width(self) -> int:
        return self._width


@pytest.mark.parametrize("width", [40, 81, 160, 220])
@pytest.mark.parametrize("scroll_x", [0, 1, 9, 40, 200])
def test_every_row_fills_the_width_and_marks_cut_lines(width: int, scroll_x: int) -> None:
    view = merge_view()
    widget = Sized(width)
    widget.view = view
    across = widget.grid[0]
    panes = list(range(across))
    _, widths = widget.columns(view, width)
    for row in view.rows:
        strip = widget._draw_row(view, row, panes, scroll_x, width, BASE, False)
        assert strip.cell_length == width
        text = strip.text
        cell = row.cells[0]
        assert cell is not None
        if cell.strip.cell_length > scroll_x + widths[0]:
            assert CLIPPED_RIGHT in text  # the line goes on past the pane's edge
        if scroll_x and cell.strip.cell_length > scroll_x:
            assert CLIPPED_LEFT in text


def test_panes_stack_when_narrow_and_sit_side_by_side_when_wide() -> None:
    view = merge_view()
    for width, grid in ((60, (1, 3)), (80, (2, 2)), (100, (2, 2)), (110, (3, 1))):
        widget = Sized(width)
        widget.view = view
        assert widget.grid == grid, width
    widget = Sized(60)
    widget.view = view
    widget.hidden = frozenset({2})  # the inline editor stands in for the result pane
    assert widget.visible_panes == [0, 1]


def test_drawing_leaves_nothing_cached_on_the_views_rows() -> None:
    view = merge_view()
    widget = Sized(160)
    widget.view = view
    for scroll_x in (0, 5):
        for row in view.rows:
            widget._draw_row(view, row, [0, 1, 2], scroll_x, 160, BASE, False)
    for row in view.rows:
        for cell in row.cells:
            if cell is not None:
                # Strip caches crops and styles on itself: kept for the view's whole life.
                assert not cell.strip._crop_cache
                assert not cell.strip._style_cache


def one_long_hunk(lines: int) -> SessionView:
    text = "".join(f"line {n}\n" for n in range(lines))
    hunk = replace(
        sample_session().hunks[0],
        hunk_id="a.c#1",
        path="a.c",
        upstream_hunk="",
        upstream_pre=text,
        upstream_post=text,
        vendor_region=text,
        proposal=text.replace("line 7\n", "vendor 7\n"),
        proposal_conflicts=False,
    )
    return SessionView(hunks=(hunk,), gate=gate_of((hunk,)))


@asynctest
async def test_the_line_cache_stays_bounded_and_keeps_recent_lines() -> None:
    app = make_app(backend=FakeBackend(one_long_hunk(3000)))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        view = resolve_screen(pilot).query_one(PaneView)
        view.focus()
        for _ in range(40):
            await pilot.press("pagedown")
        assert 0 < len(view._cache) <= CACHE_LIMIT
        top = view.top_row
        await pilot.press("pageup")
        await pilot.press("pagedown")
        assert view.top_row == top
        # the lines just drawn are the most recently used, so they are still cached
        width = view.scrollable_content_region.width
        assert (top + 1, 0, 0, width, 0) in view._cache

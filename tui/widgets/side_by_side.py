"""The side-by-side view: one Line-API widget drawing both halves of a :class:`RenderedView`.

Only visible lines are drawn (``render_line``), each from strips the worker already highlighted;
the joined screen line is cached per (row, horizontal offset, width) for the last few screens, so
scrolling back and forth costs a dictionary lookup. A line is built from segments into one new
strip; nothing is cached on the view's rows, so what stays alive does not grow with how far a
person scrolls (issue 6: each full garbage collection walks all of it). Both halves share one
scroll position, which is what keeps them aligned: there is no second pane to mirror. Scrolling
never animates.

The first line is a sticky title row drawn with the same column arithmetic as the rows, so each
title sits over its half whatever the width, the line-number width or the scroll bar.

Depends on Textual and :mod:`patchsmith_tui.render`; knows nothing about sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..render import RenderedView, Row, RowKind, Side

CACHE_LIMIT = 256
"""Screen lines kept, least recently drawn dropped first: about five screens, so paging back
and forth is a lookup. Kept small on purpose: each cached line is a few dozen objects the garbage
collector walks on every full collection, so a large cache makes some key presses slow."""

TITLE_ROWS = 1
"""Lines above the rows: the column titles, which do not scroll."""

_GUTTER = Style(color="#7f848e")
_TITLE = Style(bold=True, color="#e5c07b")
_SEPARATOR = Style(color="#5c6370")
_MARKER_STYLES = {
    RowKind.SAME: _GUTTER,
    RowKind.CHANGED: Style(color="#e5c07b", bold=True),
    RowKind.LEFT_ONLY: Style(color="#e06c75", bold=True),
    RowKind.RIGHT_ONLY: Style(color="#98c379", bold=True),
    RowKind.CONFLICT: Style(color="#ffd75f", bold=True, reverse=True),
}


class SideBySide(ScrollView, can_focus=True):
    """Two aligned texts side by side with line numbers and a change marker per row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Scroll up", show=False),
        Binding("down,j", "scroll_down", "Scroll down", show=False),
        Binding("left,h", "scroll_left", "Scroll left", show=False),
        Binding("right,l", "scroll_right", "Scroll right", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]

    DEFAULT_CSS = """
    SideBySide {
        background: $surface;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.view: RenderedView | None = None
        self.placeholder = "Select a hunk."
        self.titles = ("", "")
        self._cache: dict[tuple[int, int, int], Strip] = {}

    # Content -------------------------------------------------------------------------------

    def show(
        self,
        view: RenderedView | None,
        placeholder: str = "",
        titles: tuple[str, str] = ("", ""),
    ) -> None:
        """Draw ``view`` from its first row under ``titles`` (left, right), or the placeholder
        text when it is None."""
        self.view = view
        self.titles = titles
        if placeholder:
            self.placeholder = placeholder
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def set_titles(self, titles: tuple[str, str]) -> None:
        """Change the column titles (left, right) without touching the rows or the scroll."""
        if titles != self.titles:
            self.titles = titles
            self.refresh_line(0)

    def goto_row(self, row: int) -> None:
        """Scroll so ``row`` is near the top, with two rows of context above it."""
        self.scroll_to(y=max(row - 2, 0), animate=False, immediate=True)

    @property
    def top_row(self) -> int:
        """The row at the top of the viewport."""
        return round(self.scroll_y)

    def _update_virtual_size(self) -> None:
        view = self.view
        width = self.scrollable_content_region.width or self.size.width
        if view is None:
            self.virtual_size = Size(width, 1)
            return
        gutters = 2 * (view.number_width + 2) + 1
        half = max((width - gutters) // 2, 1)
        overflow = max(view.text_width - half, 0)
        self.virtual_size = Size(width + overflow, len(view.rows) + TITLE_ROWS)

    def on_resize(self) -> None:
        self._cache.clear()
        self._update_virtual_size()

    # Scrolling without animation -----------------------------------------------------------

    def action_scroll_up(self) -> None:
        self.scroll_to(y=self.scroll_y - 1, animate=False, immediate=True)

    def action_scroll_down(self) -> None:
        self.scroll_to(y=self.scroll_y + 1, animate=False, immediate=True)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=self.scroll_x - 4, animate=False, immediate=True)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + 4, animate=False, immediate=True)

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - TITLE_ROWS, 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self._page(), animate=False, immediate=True)

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self._page(), animate=False, immediate=True)

    def action_scroll_home(self) -> None:
        self.scroll_to(0, 0, animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    # Drawing -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        view = self.view
        if view is None:
            text = self.placeholder if y == 0 else ""
            return Strip([Segment(text[:width], base)]).extend_cell_length(width, base)
        if y < TITLE_ROWS:
            return self._draw_titles(view, width, base)
        row_index = round(self.scroll_y) + y - TITLE_ROWS
        if row_index >= len(view.rows):
            return Strip.blank(width, base)
        scroll_x = round(self.scroll_x)
        key = (row_index, scroll_x, width)
        cache = self._cache
        cached = cache.pop(key, None)
        if cached is None:
            cached = self._draw_row(view, view.rows[row_index], scroll_x, width, base)
            if len(cache) >= CACHE_LIMIT:
                del cache[next(iter(cache))]
        cache[key] = cached  # (re)inserted last: the dict's order is least recently used first
        return cached

    @staticmethod
    def columns(view: RenderedView, width: int) -> tuple[int, int, int]:
        """(gutter, left text width, right text width): the one split both rows and titles use."""
        gutter = view.number_width + 2
        text_total = max(width - 2 * gutter - 1, 2)
        left_width = text_total // 2
        return gutter, left_width, text_total - left_width

    def _draw_titles(self, view: RenderedView, width: int, base: Style) -> Strip:
        gutter, left_width, right_width = self.columns(view, width)
        style = base + _TITLE
        left_title, right_title = self.titles
        left_cells, right_cells = gutter + left_width, gutter + right_width
        # One blank cell before each title, in the base style: a styled segment that starts with
        # a space is drawn one cell too far left by some SVG renderers (librsvg).
        strip = Strip(
            [
                Segment(" ", base),
                Segment(_fit(left_title, left_cells - 1), style),
                Segment("│", base + _SEPARATOR),
                Segment(" ", base),
                Segment(_fit(right_title, right_cells - 1), style),
            ]
        )
        return strip.crop(0, width).extend_cell_length(width, base)

    def _draw_row(
        self, view: RenderedView, row: Row, scroll_x: int, width: int, base: Style
    ) -> Strip:
        # Built from segments into one new Strip. Never call Strip.crop/apply_style on a row's
        # own strip: those cache their result *on that strip*, so every row ever drawn would
        # keep a few derived strips (each with seven caches) alive inside the view. That grew
        # the heap with every page scrolled and made each full garbage collection slower.
        number_width = view.number_width
        _, left_width, right_width = self.columns(view, width)
        marker = row.kind.value
        marker_style = base + _MARKER_STYLES[row.kind]
        segments: list[Segment] = []
        _half(segments, row.left, marker, marker_style, number_width, scroll_x, left_width, base)
        segments.append(Segment("│", base + _SEPARATOR))
        _half(segments, row.right, marker, marker_style, number_width, scroll_x, right_width, base)
        total = 2 * (number_width + 2) + 1 + left_width + right_width
        if total > width:
            return Strip(_crop(segments, 0, width), width)
        return Strip(segments, total)


def _half(
    out: list[Segment],
    side: Side | None,
    marker: str,
    marker_style: Style,
    number_width: int,
    scroll_x: int,
    text_width: int,
    base: Style,
) -> None:
    """Append one half of a row to ``out``: exactly ``number_width + 2 + text_width`` cells."""
    if side is None:
        filler = base + Style(color="#3e4451")
        out.append(Segment(" " * (number_width + 2), base))
        out.append(Segment("╱" * text_width, filler))
        return
    out.append(Segment(f"{side.number:>{number_width}}", base + _GUTTER))
    out.append(Segment(marker, marker_style))
    out.append(Segment(" ", base))
    strip = side.strip
    length = strip.cell_length
    start = max(scroll_x, 0)
    end = min(length, scroll_x + text_width)
    if start == 0 and end == length:
        text = list(strip)
    else:
        text = _crop(strip, start, end)
    cells = max(end - start, 0)
    out.extend(Segment.apply_style(text, base))
    if cells < text_width:
        background = base + side.background if side.background else base
        out.append(Segment(" " * (text_width - cells), background))


def _crop(segments: Iterable[Segment], start: int, end: int) -> list[Segment]:
    """The cells ``start`` to ``end`` of ``segments`` (as ``Strip.crop``, with no cache)."""
    out: list[Segment] = []
    if end <= start:
        return out
    position = 0
    for segment in segments:
        text = segment.text
        next_position = position + cell_len(text)
        if next_position <= start:
            position = next_position
            continue
        if position >= end:
            break
        if position < start:
            segment = segment.split_cells(start - position)[1]
            position = start
        if next_position > end:
            segment = segment.split_cells(end - position)[0]
        out.append(segment)
        position = next_position
    return out


def _fit(text: str, cells: int) -> str:
    """``text`` padded or cut to exactly ``cells`` cells, ending in an ellipsis when cut."""
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    if cells <= 1:
        return set_cell_size("…", cells)
    return set_cell_size(text, cells - 1) + "…"

"""The pane view: one Line-API widget drawing the panes of a :class:`RenderedView`.

Only visible lines are drawn (``render_line``), each from strips the worker already highlighted;
the joined screen line is cached per (row, pane section, horizontal offset, width) for the last
few screens, so scrolling back and forth costs a dictionary lookup. A line is built from
segments into one new strip; nothing is cached on the view's rows, so what stays alive does not
grow with how far a person scrolls (issue 6: each full garbage collection walks all of it).

All panes share one scroll position, which is what keeps them aligned: there is no second
widget to mirror. Two layouts:

* **side by side** when every pane gets at least :data:`MIN_PANE_TEXT` cells of text: a title
  row, then the panes next to each other;
* **stacked** otherwise: as many panes side by side as fit in a band (two of four at 160
  columns, one at 80), the bands one under the other, all showing the same rows, so a change is
  seen in every pane at once and lines keep most of the width.

A line wider than its pane ends in ``›``; once scrolled right, a cut start shows ``‹``. The
definition a row is in (``Row.scope``) is pinned on the first row line when it has scrolled
out of view, like ``git diff -W`` and an editor's sticky scroll. Scrolling never animates.

It knows nothing about sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..render import Cell, Mark, RenderedView, Row

CACHE_LIMIT = 256
"""Screen lines kept, least recently drawn dropped first: about five screens, so paging back
and forth is a lookup. Kept small on purpose: each cached line is a few dozen objects the garbage
collector walks on every full collection, so a large cache makes some key presses slow."""

MIN_PANE_TEXT = 30
"""Fewer text cells than this per pane, and the panes are stacked instead of side by side."""

CLIPPED_RIGHT = "›"
CLIPPED_LEFT = "‹"

_GUTTER = Style(color="#7f848e")
_TITLE = Style(bold=True, color="#e5c07b")
_SEPARATOR = Style(color="#5c6370")
_CLIP = Style(color="#e5c07b", bold=True)
_PINNED = Style(underline=True)
_FILLER = Style(color="#3e4451")
_DIM = Style(dim=True)
_MARK_STYLES = {
    Mark.SAME: _GUTTER,
    Mark.CHANGED: Style(color="#e5c07b", bold=True),
    Mark.REMOVED: Style(color="#e06c75", bold=True),
    Mark.ADDED: Style(color="#98c379", bold=True),
    Mark.CONFLICT: Style(color="#ffd75f", bold=True, reverse=True),
    Mark.FOLDED: _GUTTER,
}


class PaneView(ScrollView, can_focus=True):
    """Aligned panes with line numbers and a change marker per line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Scroll up", show=False, tooltip="Scroll up one line"),
        Binding("down,j", "scroll_down", "Scroll down", show=False, tooltip="Scroll down"),
        Binding(
            "left,h", "scroll_left", "Scroll left", show=False, tooltip="Scroll left (long lines)"
        ),
        Binding(
            "right,l",
            "scroll_right",
            "Scroll right",
            show=False,
            tooltip="Scroll right (long lines)",
        ),
        Binding("ctrl+pageup", "page_left", "Page left", show=False, tooltip="A page to the left"),
        Binding(
            "ctrl+pagedown", "page_right", "Page right", show=False, tooltip="A page to the right"
        ),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, tooltip="Page up"),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False, tooltip="Page down"),
        Binding("home,g", "scroll_home", "Top", show=False, tooltip="Go to the first line"),
        Binding("end,G", "scroll_end", "Bottom", show=False, tooltip="Go to the last line"),
    ]

    DEFAULT_CSS = """
    PaneView {
        background: $surface;
        /* Always there, so its width never depends on the rows drawn (a scroll bar that comes
           and goes re-splits the panes). No horizontal bar: the › and ‹ marks show cut lines,
           h and l scroll. */
        overflow-y: scroll;
        scrollbar-size-horizontal: 0;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.view: RenderedView | None = None
        self.placeholder = "Select a hunk."
        self.hidden: frozenset[int] = frozenset()
        """Panes not drawn (the result pane while the inline editor stands in for it)."""
        self._cache: dict[tuple[int, int, int, int, int], Strip] = {}
        self._base: Style | None = None
        self._style_sets: dict[Style, _Styles] = {}
        self._region_for: Size | None = None
        self._region_size = (0, 0)
        self._grid_for: tuple[int, frozenset[int], int] | None = None
        self._grid = (1, 1)

    # Content -------------------------------------------------------------------------------

    def show(self, view: RenderedView | None, placeholder: str = "") -> None:
        """Draw ``view`` scrolled to its focus row (its first change), or the placeholder."""
        self.view = view
        if placeholder:
            self.placeholder = placeholder
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(0, self._focus_top(), animate=False, immediate=True)
        # Scrolling is clamped to the size Textual knows; before the first layout that is none.
        self.call_after_refresh(self._scroll_to_focus, view)
        self.refresh()

    def _focus_top(self) -> int:
        view = self.view
        if view is None:
            return 0
        # A few rows of context above the focus; fewer in a band of a few rows (a small
        # terminal), so the change itself is what shows.
        lead = min(3, self.band_height() // 3)
        return min(max(view.focus - lead, 0), self._max_top())

    def _scroll_to_focus(self, view: RenderedView | None) -> None:
        if view is self.view and view is not None and round(self.scroll_y) == 0:
            self.scroll_to(0, self._focus_top(), animate=False, immediate=True)

    def hide_panes(self, panes: Iterable[int]) -> None:
        """Leave these panes out (by index); the others share the width."""
        hidden = frozenset(panes)
        if hidden != self.hidden:
            self.hidden = hidden
            self._cache.clear()
            self._update_virtual_size()
            self.refresh()

    def goto_row(self, row: int) -> None:
        """Scroll so ``row`` is near the top, with two rows of context above it."""
        self.scroll_to(y=min(max(row - 2, 0), self._max_top()), animate=False, immediate=True)

    @property
    def top_row(self) -> int:
        """The row at the top of the viewport."""
        return round(self.scroll_y)

    @property
    def visible_panes(self) -> list[int]:
        view = self.view
        if view is None:
            return []
        return [pane for pane in range(view.panes) if pane not in self.hidden]

    def _region(self) -> tuple[int, int]:
        """(width, height) of the content, without the scroll bar. Asked for on every line
        drawn, and Textual's ``scrollable_content_region`` costs about as much as drawing a
        line, so it is kept for as long as the widget's size is the same."""
        size = self.size
        if self._region_for != size:
            region = self.scrollable_content_region
            self._region_size = (region.width or size.width, region.height or size.height)
            self._region_for = size
        return self._region_size

    @property
    def grid(self) -> tuple[int, int]:
        """(panes per band, bands): all panes side by side when each gets
        :data:`MIN_PANE_TEXT` cells of text, else as many as fit in each band, bands stacked."""
        view = self.view
        if view is None:
            return 1, 1
        key = (id(view), self.hidden, self.content_width)
        if self._grid_for == key:
            return self._grid
        self._grid = self._compute_grid(view)
        self._grid_for = key
        return self._grid

    def _compute_grid(self, view: RenderedView) -> tuple[int, int]:
        count = len(self.visible_panes)
        if count < 2:
            return 1, 1
        width = self.content_width
        for across in range(count, 0, -1):
            gutters = across * (view.number_width + 2) + (across - 1)
            if (width - gutters) // across >= MIN_PANE_TEXT:
                bands = -(-count // across)
                # As few bands as that, as evenly filled as they can be: 2+2, not 3+1.
                return -(-count // bands), bands
        return 1, count

    @property
    def content_width(self) -> int:
        """Cells across the widget's content (without its scroll bar)."""
        return self._region()[0]

    @property
    def stacked(self) -> bool:
        """Whether some panes are drawn under others (too narrow for all side by side)."""
        return self.grid[1] > 1

    def band_height(self) -> int:
        """Rows of text per band: the whole height side by side, a share of it stacked."""
        height = self._region()[1]
        bands = self.grid[1]
        return max((height - bands) // bands, 1)

    def _max_top(self) -> int:
        view = self.view
        if view is None:
            return 0
        return max(len(view.rows) - self.band_height(), 0)

    def _update_virtual_size(self) -> None:
        view = self.view
        width, height = self._region()
        if view is None:
            self.virtual_size = Size(width, 1)
            return
        _, widths = self.columns(view, width)
        overflow = max(view.text_width - min(widths, default=width), 0)
        self.virtual_size = Size(width + overflow, height + self._max_top())

    def on_resize(self) -> None:
        self._cache.clear()
        self._update_virtual_size()

    # Scrolling without animation -----------------------------------------------------------

    def _scroll_rows(self, rows: int) -> None:
        top = min(max(self.scroll_y + rows, 0), self._max_top())
        self.scroll_to(y=top, animate=False, immediate=True)

    def action_scroll_up(self) -> None:
        self._scroll_rows(-1)

    def action_scroll_down(self) -> None:
        self._scroll_rows(1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=self.scroll_x - 8, animate=False, immediate=True)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + 8, animate=False, immediate=True)

    def _page_width(self) -> int:
        """A sideways page: the narrowest pane's text width, less a few columns kept in view."""
        if self.view is None:
            return 8
        _, widths = self.columns(self.view, self._region()[0])
        return max(min(widths, default=8) - 4, 8)

    def action_page_left(self) -> None:
        self.scroll_to(x=self.scroll_x - self._page_width(), animate=False, immediate=True)

    def action_page_right(self) -> None:
        self.scroll_to(x=self.scroll_x + self._page_width(), animate=False, immediate=True)

    def action_page_up(self) -> None:
        self._scroll_rows(-self.band_height())

    def action_page_down(self) -> None:
        self._scroll_rows(self.band_height())

    def action_scroll_home(self) -> None:
        self.scroll_to(0, 0, animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_to(y=self._max_top(), animate=False, immediate=True)

    # Drawing -------------------------------------------------------------------------------

    def columns(self, view: RenderedView, width: int) -> tuple[int, list[int]]:
        """(gutter, text width of each pane of a band): the one split rows and titles use."""
        across = self.grid[0]
        gutter = view.number_width + 2
        if across <= 1:
            return gutter, [max(width - gutter, 1)]
        text_total = max(width - across * gutter - (across - 1), across)
        share = text_total // across
        widths = [share] * across
        widths[-1] += text_total - share * across
        return gutter, widths

    def _styles(self, base: Style) -> _Styles:
        styles = self._style_sets.get(base)
        if styles is None:
            styles = self._style_sets[base] = _Styles(base)
        return styles

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        width = self.content_width
        # Computing the widget's style walks the CSS each time: once per frame is plenty.
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        view = self.view
        if view is None:
            text = self.placeholder if y == 0 else ""
            return Strip([Segment(text[:width], base)]).extend_cell_length(width, base)
        panes = self.visible_panes
        top = round(self.scroll_y)
        across, bands = self.grid
        band = self.band_height()
        section, within = divmod(y, band + 1)
        if section >= bands:
            return Strip.blank(width, base)
        pane_list = panes[section * across : (section + 1) * across]
        if within == 0:
            return self._draw_titles(view, pane_list, width, base)
        offset = within - 1
        row_index = top + offset
        if row_index >= len(view.rows):
            return Strip.blank(width, base)
        pinned = False
        if offset == 0 and top > 0:
            scope = view.rows[row_index].scope
            if scope is not None and scope < row_index:
                row_index, pinned = scope, True
        scroll_x = round(self.scroll_x)
        key = (row_index, section, scroll_x, width, int(pinned))
        cache = self._cache
        cached = cache.pop(key, None)
        if cached is None:
            row = view.rows[row_index]
            cached = self._draw_row(view, row, pane_list, scroll_x, width, base, pinned)
            if len(cache) >= CACHE_LIMIT:
                del cache[next(iter(cache))]
        cache[key] = cached  # (re)inserted last: the dict's order is least recently used first
        return cached

    def _draw_titles(
        self, view: RenderedView, panes: Sequence[int], width: int, base: Style
    ) -> Strip:
        gutter, widths = self.columns(view, width)
        style = base + _TITLE
        segments: list[Segment] = []
        for position, (pane, text_width) in enumerate(zip(panes, widths, strict=False)):
            if position:
                segments.append(Segment("│", base + _SEPARATOR))
            # One blank cell before each title, in the base style: a styled segment that starts
            # with a space is drawn one cell too far left by some SVG renderers (librsvg).
            segments.append(Segment(" ", base))
            segments.append(Segment(_fit(view.titles[pane], gutter + text_width - 1), style))
        return Strip(segments).crop(0, width).extend_cell_length(width, base)

    def _draw_row(
        self,
        view: RenderedView,
        row: Row,
        panes: Sequence[int],
        scroll_x: int,
        width: int,
        base: Style,
        pinned: bool,
    ) -> Strip:
        # Built from segments into one new Strip. Never call Strip.crop/apply_style on a row's
        # own strip: those cache their result *on that strip*, so every row ever drawn would
        # keep a few derived strips alive inside the view.
        gutter, widths = self.columns(view, width)
        muted = not row.changed and len(panes) > 1
        styles = self._styles(base + _PINNED if pinned else base)
        segments: list[Segment] = []
        total = 0
        for position, (pane, text_width) in enumerate(zip(panes, widths, strict=False)):
            if position:
                segments.append(Segment("│", base + _SEPARATOR))
                total += 1
            cell = row.cells[pane] if pane < len(row.cells) else None
            _half(segments, cell, view.number_width, scroll_x, text_width, styles, muted)
            total += gutter + text_width
        if total > width:
            return Strip(_crop(segments, 0, width), width)
        return Strip(segments, total).extend_cell_length(width, base)


class _Styles:
    """The styles of one line's parts over one base style, added once per base, not per cell
    (``Style.__add__`` hashes both sides each time; it was a quarter of drawing a line)."""

    def __init__(self, base: Style) -> None:
        self.base = base
        self.dim = base + _DIM
        self.gutter = base + _GUTTER
        self.filler = base + _FILLER
        self.marks = {mark: base + style for mark, style in _MARK_STYLES.items()}
        self._backgrounds: dict[Style | None, tuple[Style, Style]] = {}

    def background(self, background: Style | None) -> tuple[Style, Style]:
        """(the cell's background over the base, and the cut-line mark on it)."""
        found = self._backgrounds.get(background)
        if found is None:
            fill = self.base + background if background else self.base
            found = self._backgrounds[background] = (fill, fill + _CLIP)
        return found


def _half(
    out: list[Segment],
    cell: Cell | None,
    number_width: int,
    scroll_x: int,
    text_width: int,
    styles: _Styles,
    muted: bool,
) -> None:
    """Append one pane's part of a row: exactly ``number_width + 2 + text_width`` cells."""
    base = styles.base
    if cell is None:
        out.append(Segment(" " * (number_width + 2), base))
        out.append(Segment("╱" * text_width, styles.filler))
        return
    number = "" if cell.number is None else str(cell.number)
    out.append(Segment(f"{number:>{number_width}}", styles.gutter))
    out.append(Segment(cell.mark.value, styles.marks[cell.mark]))
    out.append(Segment(" ", base))
    strip = cell.strip
    length = strip.cell_length
    start = max(scroll_x, 0)
    # A cut line gives its first or last cell to a mark that says so.
    cut_right = text_width > 0 and length > start + text_width
    cut_left = start > 0 and length > start and text_width > 1
    first = start + 1 if cut_left else start
    last = min(length, start + text_width - (1 if cut_right else 0))
    if first == 0 and last == length:
        text: list[Segment] = list(strip)
    else:
        text = _crop(strip, first, last)
    fill, clip = styles.background(cell.background)
    if cut_left:
        out.append(Segment(CLIPPED_LEFT, clip))
    out.extend(Segment.apply_style(text, styles.dim if muted else base))
    if cut_right:
        out.append(Segment(CLIPPED_RIGHT, clip))
    cells = max(last - first, 0) + cut_left + cut_right
    if cells < text_width:
        out.append(Segment(" " * (text_width - cells), fill))


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
    if cells <= 0:
        return ""
    if cell_len(text) <= cells:
        return set_cell_size(text, cells)
    if cells <= 1:
        return set_cell_size("…", cells)
    return set_cell_size(text, cells - 1) + "…"

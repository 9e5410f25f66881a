"""Rows for the pane view: alignment, syntax highlighting and word highlights.

This is the slow part of showing a hunk (Pygments over thousands of lines, difflib alignment), so
it runs in a worker thread and hands the widget finished :class:`RenderedView` data: one
:class:`Row` per screen line, one :class:`Cell` per pane, each a Textual ``Strip`` ready to
crop. The widget then only crops and joins strips for the lines that are visible.

Three views are built here:

* the **merge** view (:func:`render_merge`): upstream's change (pre -> post, as the patch shows
  it), the vendor's region, the result or proposal, and the merge base when ``--base`` was
  given, aligned row by row, with the words that differ highlighted;
* the **file** view (:func:`render_file`): the vendor's file around the region, numbered as in
  the vendor's tree, with the hunk's change shown in place (like ``git diff -W``), the
  definition each line is in pinned above it, and lines far from the region folded;
* the **reject** view (:func:`render_reject`): the ``.rej`` text as ``apply`` wrote it.

Display rules that keep panes aligned, learned the hard way:

* lines are split on ``"\\n"`` only (``str.splitlines`` also splits on form feed, ``\\x1c``…);
* control characters are shown in caret notation (``^L``) and tabs are expanded *before*
  highlighting, so every character is one cell the strip knows about;
* the Pygments lexer is created with ``stripnl=False, ensurenl=False``: the defaults drop
  leading and trailing blank lines, which shifts every row below them.

It takes plain strings, never the library's session types (only the backend imports the
session: a contract in ``pyproject.toml``). The alignment is for the eye only: nothing here
decides what is written.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

# Pygments ships no type information (types-Pygments is not a dependency).
from pygments.lexers import (  # type: ignore[import-untyped]
    get_lexer_by_name,
    get_lexer_for_filename,
)
from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from patchsmith.engine.blocks import find_blocks

TAB_SIZE = 8
"""Tabs stop every 8 columns, as in the kernel's coding style and every terminal."""

CONFLICT_START = "<<<<<<<"
CONFLICT_BASE = "|||||||"
CONFLICT_MIDDLE = "======="
CONFLICT_END = ">>>>>>>"

FOLD = "⋯"

AUTOJUNK_LINES = 2000
"""Above this many lines, difflib ignores the most common lines (``}``, blank, ``return 0;``)
while it looks for matches: exact on the lines that tell places apart, and linear instead of
quadratic on a long repetitive file (20 s for a 10,000-line hunk without it). Below it, every
line counts, so short hunks align line by line exactly."""


class ViewKind(enum.StrEnum):
    """The views of a hunk, in the order ``v`` cycles through them."""

    MERGE = "merge"
    """Upstream's change, the vendor's region and the result side by side."""
    FILE = "file"
    """The vendor's file around the region, with the change in place."""
    REJECT = "reject"
    """The ``.rej`` text for the hunk."""

    def next(self) -> ViewKind:
        """The view ``v`` goes to."""
        members = list(ViewKind)
        return members[(members.index(self) + 1) % len(members)]


class Mark(enum.StrEnum):
    """The one-character gutter marker of a cell: what this line is, readable without colour."""

    SAME = " "
    REMOVED = "-"
    ADDED = "+"
    CHANGED = "~"
    CONFLICT = "!"
    FOLDED = FOLD


@dataclass(frozen=True)
class Cell:
    """One pane's line in a row: its number, marker and highlighted text."""

    number: int | None
    """The line number shown (``None``: a line with no number, e.g. an added line)."""
    mark: Mark
    strip: Strip
    background: Style | None = None
    """The line's background, also drawn past the end of the text."""
    text: str = ""
    """The visible text (for tests and searches; the strip is what is drawn)."""


@dataclass(frozen=True)
class Row:
    """One screen line of the view: a cell per pane (``None``: nothing on that side)."""

    cells: tuple[Cell | None, ...]
    changed: bool = False
    """Whether any pane differs on this row (unchanged rows are drawn muted)."""
    scope: int | None = None
    """The row of the definition this row is in (pinned above the view when scrolled past)."""


@dataclass(frozen=True)
class RenderedView:
    """Everything the pane widget draws for one hunk and view."""

    key: tuple[Any, ...]
    """(hunk id, view, texts hash...): lets the app cache and discard stale results."""
    titles: tuple[str, ...]
    """One title per pane."""
    rows: tuple[Row, ...]
    stops: tuple[int, ...]
    """Row indices where a conflict block (or, without blocks, a change) starts."""
    number_width: int
    """Cells for the widest line number."""
    text_width: int
    """Cells of the widest line in any pane (the horizontal scroll range)."""
    conflicts: int = 0
    """Conflict blocks in the result pane (their stops are the first ``conflicts`` stops)."""
    focus: int = 0
    """The row to bring into view first (the first conflict block or change, the region): the
    widget scrolls it near the top, so it is in view at any size."""

    @property
    def panes(self) -> int:
        return len(self.titles)


@dataclass(frozen=True)
class Palette:
    """Backgrounds for changes. ``plain`` adds underline to word highlights for NO_COLOR."""

    removed: Style
    added: Style
    removed_word: Style
    added_word: Style
    conflict: Style
    marker: Style
    region: Style
    muted: Style
    plain: bool = False


DARK = Palette(
    removed=Style(bgcolor="#3a1f24"),
    added=Style(bgcolor="#1d3525"),
    removed_word=Style(bgcolor="#7a2d38", bold=True),
    added_word=Style(bgcolor="#2c6b3c", bold=True),
    conflict=Style(bgcolor="#4a3a10"),
    marker=Style(bgcolor="#6b5010", color="#ffd75f", bold=True),
    region=Style(bgcolor="#1f2a3a"),
    muted=Style(dim=True),
)

PLAIN = Palette(
    removed=Style(),
    added=Style(),
    removed_word=Style(reverse=True, underline=True),
    added_word=Style(reverse=True, underline=True),
    conflict=Style(),
    marker=Style(bold=True, reverse=True),
    region=Style(),
    muted=Style(dim=True),
    plain=True,
)


def split_text(text: str) -> list[str]:
    """Lines of ``text``, split on newline only; a final newline does not make an empty line."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#   "foo\x0cbar" -> "foo^Lbar"; "\r" at the end of a CRLF line -> "^M"


def visible(line: str) -> str:
    """The line as it is drawn: control characters in caret notation, tabs expanded."""
    if _CONTROL.search(line):
        line = _CONTROL.sub(lambda m: "^" + chr((ord(m.group()) + 64) % 128), line)
    if "\t" in line:
        line = line.expandtabs(TAB_SIZE)
    return line


def lexer_name(path: str) -> str | None:
    """The Pygments lexer alias for a file of a kernel tree, or None to ask Pygments."""
    name = PurePosixPath(path).name
    suffix = PurePosixPath(path).suffix
    if suffix in {".c", ".h"}:
        return "c"
    if name.startswith("Kconfig"):
        return "kconfig"
    if name in {"Makefile", "Kbuild", "GNUmakefile"} or name.startswith(("Makefile.", "Kbuild.")):
        return "make"
    if suffix in {".mk", ".make"}:
        return "make"
    if suffix in {".dts", ".dtsi", ".dtso"}:
        return "devicetree"
    if suffix in {".sh", ".bash"}:
        return "bash"
    if suffix == ".py":
        return "python"
    if suffix == ".rej" or suffix in {".diff", ".patch"}:
        return "diff"
    return None


def lexer_for(path: str) -> Any:
    """A Pygments lexer for ``path`` that keeps every line, blank ones included."""
    options = {"stripnl": False, "ensurenl": False}
    alias = lexer_name(path)
    try:
        if alias is not None:
            return get_lexer_by_name(alias, **options)
        return get_lexer_for_filename(PurePosixPath(path).name, **options)
    except ClassNotFound:
        return get_lexer_by_name("text", **options)


@lru_cache(maxsize=512)
def _token_style(token: Any, theme: str) -> Style:
    # Foreground and emphasis only: the row kind owns the background.
    try:
        spec = get_style_by_name(theme).style_for_token(token)
    except (KeyError, ClassNotFound):
        return Style()
    color = spec["color"]
    return Style(
        color=f"#{color}" if color else None,
        bold=spec["bold"] or None,
        italic=spec["italic"] or None,
    )


def highlight(lines: Sequence[str], path: str, theme: str = "monokai") -> list[list[Segment]]:
    """One list of styled segments per line (lines already passed through :func:`visible`)."""
    if not lines:
        return []
    result: list[list[Segment]] = [[]]
    # A final newline, so line-based lexers (diff, make) read the last line as a whole line.
    for token, value in lexer_for(path).get_tokens("\n".join(lines) + "\n"):
        style = _token_style(token, theme)
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                result.append([])
            if part:
                result[-1].append(Segment(part, style))
    # The lexer keeps every character, so the line count matches; pad defensively anyway.
    while len(result) < len(lines):
        result.append([])
    return result[: len(lines)]


_WORD = re.compile(r"\w+|\s+|[^\w\s]")
#   "if (x == NULL)" -> ["if", " ", "(", "x", " ", "==", ...] ("=" and "=" separately)


def word_changes(left: str, right: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans that differ between two lines, word by word, for each side."""
    left_words = _WORD.findall(left)
    right_words = _WORD.findall(right)
    matcher = difflib.SequenceMatcher(None, left_words, right_words, autojunk=False)
    left_offsets = _offsets(left_words)
    right_offsets = _offsets(right_words)
    left_spans: list[tuple[int, int]] = []
    right_spans: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            left_spans.append((left_offsets[i1], left_offsets[i2]))
        if j2 > j1:
            right_spans.append((right_offsets[j1], right_offsets[j2]))
    return left_spans, right_spans


def _offsets(words: Sequence[str]) -> list[int]:
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word))
    return offsets


def _restyle(
    segments: Sequence[Segment], base: Style | None, spans: Iterable[tuple[int, int]], word: Style
) -> list[Segment]:
    """Add the row background to every segment and the word style over ``spans``."""
    spans = list(spans)
    out: list[Segment] = []
    position = 0
    for segment in segments:
        text = segment.text
        style = segment.style or Style()
        if base is not None:
            style = style + base
        start = position
        end = position + len(text)
        position = end
        cuts = sorted(
            {start, end} | {edge for span in spans for edge in span if start < edge < end}
        )
        for cut_start, cut_end in itertools.pairwise(cuts):
            piece = text[cut_start - start : cut_end - start]
            inside = any(a <= cut_start and cut_end <= b for a, b in spans)
            out.append(Segment(piece, style + word if inside else style))
    return out


class PaneText:
    """The visible lines of one pane and their highlighted segments."""

    def __init__(self, lines: Sequence[str], path: str) -> None:
        self.raw = list(lines)
        self.lines = [visible(line) for line in lines]
        self.segments = highlight(self.lines, path)

    def cell(
        self,
        index: int,
        number: int | None,
        mark: Mark = Mark.SAME,
        background: Style | None = None,
        spans: Iterable[tuple[int, int]] = (),
        word: Style | None = None,
    ) -> Cell:
        segments: Sequence[Segment] = self.segments[index]
        if background is not None or word is not None:
            segments = _restyle(segments, background, spans, word or Style())
        return Cell(number, mark, Strip(segments), background, self.lines[index])


def _is_marker(line: str) -> bool:
    return line.startswith((CONFLICT_START, CONFLICT_BASE, CONFLICT_MIDDLE, CONFLICT_END))


def conflict_ranges(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Half-open line ranges of conflict blocks (markers included), as
    :func:`patchsmith.engine.blocks.find_blocks` reads them."""
    text = "".join(line + "\n" for line in lines)
    return [(block.start, block.end) for block in find_blocks(text)]


# --- the merge view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeTexts:
    """What the merge view shows of one hunk (plain strings and line numbers)."""

    path: str
    upstream: Sequence[tuple[str, str]]
    """Upstream's hunk body as (op, line): op is ``" "``, ``"-"`` or ``"+"``."""
    upstream_first: int
    """The pre-image's first line number in vanilla (the ``@@ -N`` of the hunk)."""
    vendor: str
    vendor_first: int | None
    """The vendor's region's first line in the vendor's tree (``None``: no numbers)."""
    result: str
    result_first: int | None
    """The result's first line in the worktree (``None``: not in the file)."""
    titles: tuple[str, str, str]
    """(upstream, vendor, result) pane titles."""
    base: str | None = None
    base_first: int | None = None
    base_title: str = "base"


def upstream_lines(hunk: str) -> list[tuple[str, str]]:
    """The (op, line) pairs of a hunk's body (the text after its ``@@`` line)."""
    lines = split_text(hunk)
    if lines and lines[0].startswith("@@"):
        lines = lines[1:]
    out: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith("\\"):
            continue  # "\ No newline at end of file"
        op = line[:1] if line[:1] in ("-", "+") else " "
        out.append((op, line[1:]))
    return out


_Slot = list[int | None]
"""One row while aligning: a line index per pane (``None``: no line there)."""


def _attach(
    rows: list[_Slot],
    column: int,
    lines: Sequence[str],
    key: Callable[[_Slot], str | None],
    pairs_with: Callable[[_Slot], bool] = lambda slot: True,
) -> list[_Slot]:
    """Align ``lines`` to the rows by ``key`` and put each line's index in ``column``.

    Equal runs share a row. In a replaced run the new lines pair, in order, with the rows
    ``pairs_with`` accepts (so word highlights compare like with like); lines left over get rows
    of their own, placed after the last paired row.
    """
    keys: list[object] = []
    for number, slot in enumerate(rows):
        value = key(slot)
        keys.append(value if value is not None else ("\0unmatched", number))
    matcher = difflib.SequenceMatcher(
        None, keys, list(lines), autojunk=len(keys) + len(lines) > AUTOJUNK_LINES
    )
    out: list[_Slot] = []
    width = len(rows[0]) if rows else column + 1
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                slot = list(rows[i])
                slot[column] = j
                out.append(slot)
            continue
        pending = list(range(j1, j2))
        for i in range(i1, i2):
            slot = list(rows[i])
            if pending and pairs_with(slot):
                slot[column] = pending.pop(0)
            out.append(slot)
        for j in pending:
            slot = [None] * width
            slot[column] = j
            out.append(slot)
    return out


def render_merge(key: tuple[Any, ...], texts: MergeTexts, palette: Palette = DARK) -> RenderedView:
    """Align upstream's change, the vendor's region, the result and the base row by row."""
    up_ops = [op for op, _ in texts.upstream]
    up = PaneText([line for _, line in texts.upstream], texts.path)
    vendor = PaneText(split_text(texts.vendor), texts.path)
    # An unchanged region (an already-applied hunk, a drop) is highlighted once, not twice.
    result = (
        vendor if texts.result == texts.vendor else PaneText(split_text(texts.result), texts.path)
    )
    base = PaneText(split_text(texts.base), texts.path) if texts.base is not None else None
    has_base = base is not None
    # Panes: [base,] upstream, vendor, result.
    u, v, r = (1, 2, 3) if has_base else (0, 1, 2)
    width = 4 if has_base else 3
    rows: list[_Slot] = []
    for index in range(len(up.lines)):
        slot: _Slot = [None] * width
        slot[u] = index
        rows.append(slot)
    # The vendor's lines pair with what upstream expected (context and removed lines), never
    # with a line upstream adds: a vendor line beside "+ new" would read as "has it instead".
    rows = _attach(
        rows,
        v,
        vendor.raw,
        key=lambda slot: up.raw[slot[u]] if slot[u] is not None else None,  # type: ignore[index]
        pairs_with=lambda slot: slot[u] is None or up_ops[slot[u]] != "+",  # type: ignore[index]
    )

    def vendor_or_upstream(slot: _Slot) -> str | None:
        if slot[v] is not None:
            return vendor.raw[slot[v]]  # type: ignore[index]
        if slot[u] is not None:
            return up.raw[slot[u]]  # type: ignore[index]
        return None

    rows = _attach(rows, r, result.raw, key=vendor_or_upstream)
    if base is not None:
        rows = _attach(
            rows,
            0,
            base.raw,
            key=lambda slot: (
                up.raw[slot[u]]  # type: ignore[index]
                if slot[u] is not None and up_ops[slot[u]] != "+"  # type: ignore[index]
                else None
            ),
        )
    conflict_rows = _conflict_lines(result.raw)
    up_numbers = _upstream_numbers(up_ops, texts.upstream_first)
    up_pairs = _upstream_pairs(up_ops, up.lines)
    out_rows: list[Row] = []
    stops: list[int] = []
    block_stops: list[int] = []
    previous_changed = False
    for slot in rows:
        cells: list[Cell | None] = [None] * width
        up_index, vendor_index, result_index, base_index = (
            slot[u],
            slot[v],
            slot[r],
            slot[0] if has_base else None,
        )
        upstream_text = up.raw[up_index] if up_index is not None else None
        if up_index is not None:
            op = up_ops[up_index]
            partner = up_pairs.get(up_index)
            if op == "-":
                spans = word_changes(up.lines[up_index], partner)[0] if partner is not None else []
                cells[u] = up.cell(
                    up_index,
                    up_numbers[up_index],
                    Mark.REMOVED,
                    palette.removed,
                    spans,
                    palette.removed_word,
                )
            elif op == "+":
                spans = word_changes(partner, up.lines[up_index])[1] if partner is not None else []
                cells[u] = up.cell(
                    up_index, None, Mark.ADDED, palette.added, spans, palette.added_word
                )
            else:
                cells[u] = up.cell(up_index, up_numbers[up_index])
        vendor_text: str | None = None
        if vendor_index is not None:
            vendor_text = vendor.raw[vendor_index]
            number = None if texts.vendor_first is None else texts.vendor_first + vendor_index
            cells[v] = _compared(vendor, vendor_index, number, upstream_text, palette)
        if result_index is not None:
            number = None if texts.result_first is None else texts.result_first + result_index
            if result_index in conflict_rows:
                line = result.raw[result_index]
                style = palette.marker if _is_marker(line) else palette.conflict
                cells[r] = result.cell(result_index, number, Mark.CONFLICT, style)
                if conflict_rows[result_index]:
                    block_stops.append(len(out_rows))
            else:
                # Compared with the vendor's line: what the resolution changes in the vendor's code.
                cells[r] = _compared(result, result_index, number, vendor_text, palette)
        if base is not None and base_index is not None:
            number = None if texts.base_first is None else texts.base_first + base_index
            cells[0] = _compared(base, base_index, number, vendor_text, palette, removed=True)
        changed = any(cell is None or cell.mark is not Mark.SAME for cell in cells)
        if changed and not previous_changed:
            stops.append(len(out_rows))
        previous_changed = changed
        out_rows.append(Row(tuple(cells), changed))
    titles = texts.titles if not has_base else (texts.base_title, *texts.titles)
    all_lines = [*up.lines, *vendor.lines, *result.lines, *(base.lines if base else [])]
    numbers = [
        texts.upstream_first + len(up.lines),
        (texts.vendor_first or 0) + len(vendor.lines),
        (texts.result_first or 0) + len(result.lines),
        (texts.base_first or 0) + len(base.lines if base else []),
    ]
    final_stops = tuple(block_stops) if block_stops else tuple(stops)
    return RenderedView(
        key=key,
        titles=tuple(titles),
        rows=tuple(out_rows),
        stops=final_stops,
        number_width=len(str(max(numbers))),
        text_width=max((len(line) for line in all_lines), default=0),
        conflicts=len(block_stops),
        focus=final_stops[0] if final_stops else 0,
    )


def _compared(
    pane: PaneText,
    index: int,
    number: int | None,
    reference: str | None,
    palette: Palette,
    *,
    removed: bool = False,
) -> Cell:
    """A cell compared with the line beside it: same, changed (with word spans) or added."""
    line = pane.raw[index]
    background, word = (
        (palette.removed, palette.removed_word) if removed else (palette.added, palette.added_word)
    )
    if reference is None:
        return pane.cell(index, number, Mark.ADDED, background)
    if reference == line:
        return pane.cell(index, number)
    spans = word_changes(visible(reference), pane.lines[index])[1]
    return pane.cell(index, number, Mark.CHANGED, background, spans, word)


def _conflict_lines(lines: Sequence[str]) -> dict[int, bool]:
    """Indices of lines inside conflict blocks; True on each block's first line."""
    inside: dict[int, bool] = {}
    for start, end in conflict_ranges(lines):
        for index in range(start, end):
            inside[index] = index == start
    return inside


def _upstream_numbers(ops: Sequence[str], first: int) -> list[int | None]:
    """Vanilla line numbers of the pre-image lines (added lines have none)."""
    numbers: list[int | None] = []
    line = first
    for op in ops:
        if op == "+":
            numbers.append(None)
        else:
            numbers.append(line)
            line += 1
    return numbers


def _upstream_pairs(ops: Sequence[str], lines: Sequence[str]) -> dict[int, str]:
    """Each removed line's partner added line and back, in order within each change."""
    pairs: dict[int, str] = {}
    index = 0
    while index < len(ops):
        if ops[index] == " ":
            index += 1
            continue
        removed: list[int] = []
        added: list[int] = []
        while index < len(ops) and ops[index] != " ":
            (removed if ops[index] == "-" else added).append(index)
            index += 1
        for minus, plus in zip(removed, added, strict=False):
            pairs[minus] = lines[plus]
            pairs[plus] = lines[minus]
    return pairs


# --- the file view --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileTexts:
    """What the file view shows: the vendor's file and the hunk's change in it."""

    path: str
    file: str
    """The vendor tree's file."""
    region_start: int | None
    """1-based first line of the hunk's region in that file (``None``: no region)."""
    region_text: str
    """The region's lines (what is replaced)."""
    replacement: str | None
    """What replaces the region (the result or proposal); ``None`` shows the region alone."""
    context: int | None
    """Lines shown above and below the region; ``None`` shows the whole file."""
    title: str
    function_line: int | None = None
    """The definition the hunk is in (always shown, pinned above the region)."""


def _definitions(lines: Sequence[str]) -> list[bool]:
    """Which lines start a definition: git's default funcname rule, as the library uses."""
    return [
        bool(line[:1]) and (line[0].isalpha() or line[0] in "_$") and not _LABEL.match(line)
        for line in lines
    ]


_LABEL = re.compile(r"^[A-Za-z_]\w*:\s*$")
#   "out_unlock:" is a goto label, not a definition


def render_file(key: tuple[Any, ...], texts: FileTexts, palette: Palette = DARK) -> RenderedView:
    """The vendor's file around the region, the change in place, far lines folded."""
    file_lines = split_text(texts.file)
    pane = PaneText(file_lines, texts.path)
    start = (texts.region_start or 1) - 1
    end = start + len(split_text(texts.region_text))
    replacement = split_text(texts.replacement) if texts.replacement is not None else None
    if texts.region_start is None:
        start = end = 0
        replacement = None
    new_pane = PaneText(replacement or [], texts.path)
    if texts.context is None:
        low, high = 0, len(file_lines)
    else:
        low, high = max(start - texts.context, 0), min(end + texts.context, len(file_lines))
    shown = set(range(low, high))
    function_index = (texts.function_line or 0) - 1
    if 0 <= function_index < len(file_lines):
        shown.add(function_index)  # pinned: the definition is always in the view
    # The region, when it has a replacement, is one item shown as a diff; ``-0.5`` sorts it
    # before the line it sits at (an empty region is an insertion before that line).
    items: list[float] = sorted(
        index for index in shown if replacement is None or not start <= index < end
    )
    if replacement is not None:
        items = sorted([*items, start - 0.5])
    definitions = _definitions(file_lines)
    rows: list[Row] = []
    stops: list[int] = []
    scope: int | None = None
    cursor = 0
    region_row: int | None = None

    def fold(first: int, last: int) -> None:
        count = last - first
        if count > 0:
            label = f"{count} line{'s' if count != 1 else ''} folded (+ shows more)"
            strip = Strip([Segment(label, palette.muted)])
            rows.append(Row((Cell(None, Mark.FOLDED, strip, None, label),)))

    for item in items:
        if item != int(item):  # the region, spliced
            fold(cursor, start)
            region_row = len(rows)
            assert replacement is not None
            rows.extend(
                _spliced(pane, new_pane, start, end, replacement, scope, palette, stops, rows)
            )
            cursor = end
            continue
        index = int(item)
        fold(cursor, index)
        cursor = index + 1
        inside = start <= index < end and texts.region_start is not None
        if inside and region_row is None:
            region_row = len(rows)
            stops.append(region_row)
        this_scope = scope
        if definitions[index]:
            scope = len(rows)
            this_scope = None
        if inside:
            cell = pane.cell(index, index + 1, Mark.SAME, palette.region)
        else:
            plain = pane.cell(index, index + 1)
            cell = Cell(
                plain.number, plain.mark, plain.strip.apply_style(palette.muted), None, plain.text
            )
        rows.append(Row((cell,), inside, this_scope))
    fold(cursor, len(file_lines))
    return RenderedView(
        key=key,
        titles=(texts.title,),
        rows=tuple(rows),
        stops=tuple(stops),
        number_width=len(str(len(file_lines) + 1)),
        text_width=max((len(line) for line in (*pane.lines, *new_pane.lines)), default=0),
        focus=region_row or 0,
    )


def _spliced(
    pane: PaneText,
    new_pane: PaneText,
    start: int,
    end: int,
    replacement: Sequence[str],
    scope: int | None,
    palette: Palette,
    stops: list[int],
    rows_so_far: Sequence[Row],
) -> list[Row]:
    """The region's lines against their replacement, as a unified diff would show them."""
    old = pane.raw[start:end]
    matcher = difflib.SequenceMatcher(
        None, old, list(replacement), autojunk=len(old) + len(replacement) > AUTOJUNK_LINES
    )
    conflicts = _conflict_lines(replacement)
    out: list[Row] = []
    base_row = len(rows_so_far)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i in range(i1, i2):
                cell = pane.cell(start + i, start + i + 1, Mark.SAME, palette.region)
                out.append(Row((cell,), True, scope))
            continue
        stops.append(base_row + len(out))
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(i2 - i1):
            i = i1 + offset
            spans: list[tuple[int, int]] = []
            if offset < pairs:
                spans = word_changes(pane.lines[start + i], new_pane.lines[j1 + offset])[0]
            cell = pane.cell(
                start + i, start + i + 1, Mark.REMOVED, palette.removed, spans, palette.removed_word
            )
            out.append(Row((cell,), True, scope))
        for offset in range(j2 - j1):
            j = j1 + offset
            if j in conflicts:
                line = new_pane.raw[j]
                style = palette.marker if _is_marker(line) else palette.conflict
                out.append(Row((new_pane.cell(j, None, Mark.CONFLICT, style),), True, scope))
                continue
            spans = []
            if offset < pairs:
                spans = word_changes(pane.lines[start + i1 + offset], new_pane.lines[j])[1]
            cell = new_pane.cell(j, None, Mark.ADDED, palette.added, spans, palette.added_word)
            out.append(Row((cell,), True, scope))
    return out


# --- the reject view ------------------------------------------------------------------------------


def render_reject(
    key: tuple[Any, ...], text: str, title: str, palette: Palette = DARK
) -> RenderedView:
    """The ``.rej`` text, numbered by its own lines, coloured as a diff."""
    lines = split_text(text)
    pane = PaneText(lines, "x.rej")
    rows: list[Row] = []
    stops: list[int] = []
    for index, line in enumerate(lines):
        if line.startswith("@@"):
            stops.append(len(rows))
        if line.startswith("-") and not line.startswith("---"):
            cell = pane.cell(index, index + 1, Mark.REMOVED, palette.removed)
        elif line.startswith("+") and not line.startswith("+++"):
            cell = pane.cell(index, index + 1, Mark.ADDED, palette.added)
        else:
            cell = pane.cell(index, index + 1)
        rows.append(Row((cell,), cell.mark is not Mark.SAME))
    return RenderedView(
        key=key,
        titles=(title,),
        rows=tuple(rows),
        stops=tuple(stops),
        number_width=len(str(len(lines) + 1)),
        text_width=max((len(line) for line in pane.lines), default=0),
        focus=0,
    )


def render_message(key: tuple[Any, ...], title: str, message: str) -> RenderedView:
    """A view of one pane that only says something (no file, no reject...)."""
    lines = split_text(message) or [""]
    rows = tuple(
        Row((Cell(None, Mark.SAME, Strip([Segment(visible(line))]), None, line),)) for line in lines
    )
    return RenderedView(
        key=key,
        titles=(title,),
        rows=rows,
        stops=(),
        number_width=1,
        text_width=max(len(line) for line in lines),
    )


NOTE_WIDTH = 72
"""Prose in a view is wrapped at this many columns: with the gutter and the scroll bar it fits
an 80-column terminal, where the list is hidden."""


def _prose(text: str, style: Style | None = None) -> list[Cell]:
    """Wrapped paragraphs as cells without numbers (one paragraph per line of ``text``)."""
    cells: list[Cell] = []
    for paragraph in text.split("\n"):
        lines = textwrap.wrap(paragraph, NOTE_WIDTH, break_on_hyphens=False) or [""]
        for line in lines:
            shown = visible(line)
            cells.append(Cell(None, Mark.SAME, Strip([Segment(shown, style)]), None, shown))
    return cells


def render_warning(
    key: tuple[Any, ...],
    message: str,
    evidence: Sequence[tuple[str, str, str]],
    advice: str,
    title: str,
    palette: Palette = DARK,
) -> RenderedView:
    """A selection warning: what it says, its evidence (a heading, the file whose syntax the
    line is in, the line), and what a person can do. ``]``/``[`` move between the lines."""
    heading = Style(bold=True)
    cells: list[Cell] = _prose(message)
    stops: list[int] = []
    for label, path, line in evidence:
        cells.append(Cell(None, Mark.SAME, Strip([]), None, ""))
        cells.extend(_prose(label, heading))
        stops.append(len(cells))
        pane = PaneText([line], path or "x.txt")
        cells.append(pane.cell(0, None, Mark.CHANGED, palette.region))
    cells.append(Cell(None, Mark.SAME, Strip([]), None, ""))
    cells.extend(_prose(advice, Style(italic=True)))
    rows = tuple(Row((cell,), cell.mark is not Mark.SAME) for cell in cells)
    return RenderedView(
        key=key,
        titles=(title,),
        rows=rows,
        stops=tuple(stops),
        number_width=1,
        text_width=max((len(cell.text) for cell in cells), default=0),
        focus=0,
    )


def render_note(key: tuple[Any, ...], title: str, text: str) -> RenderedView:
    """A view of prose only (an item of the gate's list that is not a hunk), wrapped."""
    cells = _prose(text)
    return RenderedView(
        key=key,
        titles=(title,),
        rows=tuple(Row((cell,)) for cell in cells),
        stops=(),
        number_width=1,
        text_width=max((len(cell.text) for cell in cells), default=0),
    )

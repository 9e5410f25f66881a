"""Rows for the side-by-side view: alignment, syntax highlighting and word highlights.

This is the slow part of showing a hunk (Pygments over thousands of lines, difflib alignment), so
it runs in a worker thread and hands the widget finished :class:`RenderedView` data: one
:class:`Row` per screen line, each side a Textual ``Strip`` ready to crop. The widget then only
crops and joins strips for the lines that are visible.

Display rules that keep the two halves aligned, learned the hard way:

* lines are split on ``"\\n"`` only (``str.splitlines`` also splits on form feed, ``\\x1c``…);
* control characters are shown in caret notation (``^L``) and tabs are expanded *before*
  highlighting, so every character is one cell the strip knows about;
* the Pygments lexer is created with ``stripnl=False, ensurenl=False``: the defaults drop
  leading and trailing blank lines, which shifts every row below them.

Depends on Pygments, Rich and Textual's ``Strip``; never on the library's session types (it
takes plain strings) and holds no domain logic: the alignment is for the eye only.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import re
from collections.abc import Iterable, Sequence
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

TAB_SIZE = 8
"""Tabs stop every 8 columns, as in the kernel's coding style and every terminal."""

CONFLICT_START = "<<<<<<<"
CONFLICT_BASE = "|||||||"
CONFLICT_MIDDLE = "======="
CONFLICT_END = ">>>>>>>"


class RowKind(enum.Enum):
    """How the two sides of a row relate; picks the background and the gutter marker."""

    SAME = " "
    CHANGED = "~"
    LEFT_ONLY = "-"
    RIGHT_ONLY = "+"
    CONFLICT = "!"


class ViewKind(enum.StrEnum):
    """The two views of a hunk."""

    DRIFT = "drift"
    """Upstream's pre-image against the vendor's region: where did the vendor's code drift?"""
    MERGE = "merge"
    """Upstream's post-image against the proposal: what will the result be?"""

    def other(self) -> ViewKind:
        """The view the switch key goes to."""
        return ViewKind.MERGE if self is ViewKind.DRIFT else ViewKind.DRIFT


@dataclass(frozen=True)
class Side:
    """One half of a row: a line number and the highlighted text."""

    number: int
    strip: Strip
    background: Style | None = None
    """The row's background, also drawn past the end of the line."""


@dataclass(frozen=True)
class Row:
    """One screen line of the view."""

    kind: RowKind
    left: Side | None
    right: Side | None


@dataclass(frozen=True)
class RenderedView:
    """Everything the side-by-side widget draws for one hunk and view."""

    key: tuple[str, ViewKind, int]
    """(hunk id, view, hash of the texts): lets the app cache and discard stale results."""
    rows: tuple[Row, ...]
    stops: tuple[int, ...]
    """Row indices where a conflict (or, without conflicts, a difference) starts: ``n``/``p``."""
    number_width: int
    """Cells for the widest line number."""
    text_width: int
    """Cells of the widest line on either side (the horizontal scroll range)."""
    conflicts: int
    """Conflict regions in the proposal (0 in the drift view)."""


@dataclass(frozen=True)
class Palette:
    """Backgrounds for row kinds. ``plain`` adds underline to word highlights for NO_COLOR."""

    removed: Style
    added: Style
    removed_word: Style
    added_word: Style
    conflict: Style
    marker: Style
    plain: bool = False


DARK = Palette(
    removed=Style(bgcolor="#3a1f24"),
    added=Style(bgcolor="#1d3525"),
    removed_word=Style(bgcolor="#7a2d38", bold=True),
    added_word=Style(bgcolor="#2c6b3c", bold=True),
    conflict=Style(bgcolor="#4a3a10"),
    marker=Style(bgcolor="#6b5010", color="#ffd75f", bold=True),
)

PLAIN = Palette(
    removed=Style(),
    added=Style(),
    removed_word=Style(reverse=True, underline=True),
    added_word=Style(reverse=True, underline=True),
    conflict=Style(),
    marker=Style(bold=True, reverse=True),
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
    for token, value in lexer_for(path).get_tokens("\n".join(lines)):
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


class _SideText:
    """The visible lines of one side and their highlighted segments."""

    def __init__(self, text: str, path: str, first_line: int) -> None:
        self.lines = [visible(line) for line in split_text(text)]
        self.segments = highlight(self.lines, path)
        self.first_line = max(first_line, 1)

    def side(
        self,
        index: int,
        base: Style | None = None,
        spans: Iterable[tuple[int, int]] = (),
        word: Style | None = None,
    ) -> Side:
        segments = self.segments[index]
        if base is not None or word is not None:
            segments = _restyle(segments, base, spans, word or Style())
        return Side(self.first_line + index, Strip(segments), base)


def conflict_ranges(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Half-open line ranges of conflict blocks (markers included) in a proposal."""
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate(lines):
        if line.startswith(CONFLICT_START) and start is None:
            start = index
        elif line.startswith(CONFLICT_END) and start is not None:
            ranges.append((start, index + 1))
            start = None
    if start is not None:
        ranges.append((start, len(lines)))
    return ranges


def _is_marker(line: str) -> bool:
    return line.startswith((CONFLICT_START, CONFLICT_BASE, CONFLICT_MIDDLE, CONFLICT_END))


def render_view(
    key: tuple[str, ViewKind, int],
    path: str,
    left_text: str,
    right_text: str,
    left_first: int,
    right_first: int,
    palette: Palette = DARK,
) -> RenderedView:
    """Align two texts line by line and highlight them: the rows of one side-by-side view.

    In the merge view (``key[1]`` is ``MERGE``) the right side is a proposal: its conflict blocks
    are shown as conflict rows, and ``n``/``p`` stop at them.
    """
    left = _SideText(left_text, path, left_first)
    right = _SideText(right_text, path, right_first)
    matcher = difflib.SequenceMatcher(None, left.lines, right.lines, autojunk=False)
    rows: list[Row] = []
    stops: list[int] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                Row(RowKind.SAME, left.side(i), right.side(j))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        stops.append(len(rows))
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(pairs):
            i, j = i1 + offset, j1 + offset
            left_spans, right_spans = word_changes(left.lines[i], right.lines[j])
            rows.append(
                Row(
                    RowKind.CHANGED,
                    left.side(i, palette.removed, left_spans, palette.removed_word),
                    right.side(j, palette.added, right_spans, palette.added_word),
                )
            )
        rows.extend(
            Row(RowKind.LEFT_ONLY, left.side(i, palette.removed), None)
            for i in range(i1 + pairs, i2)
        )
        rows.extend(
            Row(RowKind.RIGHT_ONLY, None, right.side(j, palette.added))
            for j in range(j1 + pairs, j2)
        )
    conflicts = 0
    if key[1] is ViewKind.MERGE:
        ranges = conflict_ranges(right.lines)
        conflicts = len(ranges)
        if ranges:
            rows, stops = _mark_conflicts(rows, ranges, right, palette)
    widths = [len(line) for line in (*left.lines, *right.lines)]
    last_number = max(left.first_line + len(left.lines), right.first_line + len(right.lines))
    return RenderedView(
        key=key,
        rows=tuple(rows),
        stops=tuple(stops),
        number_width=len(str(last_number)),
        text_width=max(widths, default=0),
        conflicts=conflicts,
    )


def _mark_conflicts(
    rows: list[Row], ranges: Sequence[tuple[int, int]], right: _SideText, palette: Palette
) -> tuple[list[Row], list[int]]:
    """Turn rows whose right line is inside a conflict block into conflict rows."""
    inside: dict[int, bool] = {}
    for start, end in ranges:
        for index in range(start, end):
            inside[index] = index == start
    marked: list[Row] = []
    stops: list[int] = []
    for row in rows:
        if row.right is None:
            marked.append(row)
            continue
        index = row.right.number - right.first_line
        if index not in inside:
            marked.append(row)
            continue
        if inside[index]:
            stops.append(len(marked))
        line = right.lines[index]
        style = palette.marker if _is_marker(line) else palette.conflict
        marked.append(Row(RowKind.CONFLICT, row.left, right.side(index, style)))
    return marked, stops

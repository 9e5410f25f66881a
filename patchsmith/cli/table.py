"""Plain-text tables for the CLI's long listings, coloured only where colour is wanted.

``check`` on a kernel stable patch lists about 1,100 files. rich lays such a table out in
0.3 s and takes another 30 ms to import, which is longer than the prediction behind it. The
columns here are measured once, so writing the same table takes a few milliseconds. The
layout is the one rich gave: left-aligned columns (numbers right-aligned), two spaces between
them, and a bold header. On a terminal, the last column wraps to the terminal's width and an
over-long first cell folds. Piped output keeps each row on one line, so ``grep`` sees whole
rows.

Colour follows the usual conventions: ``NO_COLOR`` turns it off, ``FORCE_COLOR`` turns it on,
and otherwise there is colour only on a terminal whose ``TERM`` is not ``dumb``.

It never imports rich (the import alone is the 30 ms above).
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from itertools import zip_longest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

Cell = str | tuple[str, str]
"""A cell's text, or (text, style) with a style from :data:`STYLES`."""

STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
    "bold red": "1;31",
}
"""The styles a cell may ask for, as SGR parameters."""

GAP = "  "
MIN_LAST = 24
"""The narrowest the last column gets on a narrow terminal before the first column folds."""
MIN_FIRST = 16


def _escapes(keep: str) -> dict[int, str]:
    """C0 and C1 control characters and DEL (and the raw bytes 0x80-0x9f of a name that is not
    UTF-8, held as surrogates) as octal escapes, the way git quotes such names; ``keep`` stays."""
    table = {code: f"\\{code:03o}" for code in (*range(0x20), *range(0x7F, 0xA0))}
    table.update({0xDC00 + code: f"\\{code:03o}" for code in range(0x80, 0xA0)})
    for character in keep:
        del table[ord(character)]
    return table


_CELL_ESCAPES = _escapes("\t")
_LINE_ESCAPES = _escapes("\t\n")


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape, for one table cell.

    A file name, a reason or a code line comes from the patch: an escape sequence in it
    (``drivers/evil\\033[8m.c``) would reach the terminal as a command (``ESC [8m`` hides
    everything after it, the row's status and the summary included), and a newline or a
    carriage return would forge rows. Shown escaped, it is only text.
    """
    return text.translate(_CELL_ESCAPES)


def visible_lines(text: str) -> str:
    """:func:`visible` for text of whole lines: its newlines stay newlines."""
    return text.translate(_LINE_ESCAPES)


def use_colour(stream: TextIO) -> bool:
    """Whether to colour output to ``stream`` (see the module docstring)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def terminal_width(stream: TextIO) -> int | None:
    """The terminal's width when ``stream`` is one, else ``None`` (piped: no wrapping)."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return shutil.get_terminal_size().columns


def paint(text: str, style: str, colour: bool) -> str:
    """``text`` in ``style`` when ``colour``, else as it is."""
    if not colour or not style or not text:
        return text
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m"


def styled(parts: Iterable[Cell], colour: bool) -> str:
    """Cells joined into one line, each painted in its style."""
    return "".join(paint(*_split(part), colour) for part in parts)


def _split(cell: Cell) -> tuple[str, str]:
    return (visible(cell), "") if isinstance(cell, str) else (visible(cell[0]), cell[1])


def format_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    right: Sequence[int] = (),
    width: int | None = None,
    colour: bool = False,
) -> list[str]:
    """The table's lines (without newlines): ``header`` in bold, then ``rows``.

    ``right`` lists the columns aligned right. With ``width`` (a terminal's), the last column
    wraps within it and first cells longer than their share fold; without it, every row stays
    on one line. Trailing spaces are left out.
    """
    table = [[_split(cell) for cell in row] for row in rows]
    count = len(header)
    widths = [len(name) for name in header]
    for row in table:
        for column, (text, _style) in enumerate(row):
            if len(text) > widths[column]:
                widths[column] = len(text)
    last = None
    if width is not None:
        fixed = sum(widths[:-1]) + len(GAP) * (count - 1)
        last = width - fixed
        if last < MIN_LAST:
            # Narrow the first column (it folds) before squeezing the last below its minimum.
            spare = max(0, widths[0] - MIN_FIRST)
            taken = min(spare, MIN_LAST - last)
            widths[0] -= taken
            last += taken
        last = max(last, 1)
    lines = [_line([(name, "bold") for name in header], widths, right, colour)]
    for row in table:
        first = _fold(row[0][0], widths[0]) if width is not None else [row[0][0]]
        tail = row[-1][0]
        wrapped = textwrap.wrap(tail, last) if last is not None and len(tail) > last else [tail]
        for index, (head, end) in enumerate(zip_longest(first, wrapped, fillvalue="")):
            if index == 0:
                cells = [(head, row[0][1]), *row[1:-1], (end, row[-1][1])]
            else:
                cells = [(head, row[0][1]), *[("", "")] * (count - 2), (end, row[-1][1])]
            lines.append(_line(cells, widths, right, colour))
    return lines


def _fold(text: str, size: int) -> list[str]:
    if len(text) <= size or size <= 0:
        return [text]
    return [text[start : start + size] for start in range(0, len(text), size)]


def _line(
    cells: Sequence[tuple[str, str]], widths: Sequence[int], right: Sequence[int], colour: bool
) -> str:
    out: list[str] = []
    last = len(cells) - 1
    for column, (text, style) in enumerate(cells):
        if column == last:
            out.append(paint(text, style, colour))
            break
        pad = " " * (widths[column] - len(text))
        painted = paint(text, style, colour)
        out.append(pad + painted if column in right else painted + pad)
        out.append(GAP)
    return "".join(out).rstrip()

"""Conflict blocks of a proposal, and picking a side for one block at a time.

A proposal that a merge could not settle keeps ``git merge-file --diff3`` blocks::

    <<<<<<< vendor
    the vendor's lines
    ||||||| upstream-before        (absent in a two-way block)
    upstream's pre-image lines (the merge base)
    =======
    upstream's post-image lines
    >>>>>>> upstream-after

This module finds them and replaces one by the side a person picks (the vendor's lines,
upstream's, or both in either order), as ``:diffget`` in vimdiff or meld's arrows do, and
settles every block that only one side changed. It only rewrites text: the session decides what
is written and committed. Lines are split on ``"\\n"`` only (a form feed or ``\\x1c`` is part of
a line, as in the file); CRLF marker lines are recognised.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from patchsmith.errors import UsageError
from patchsmith.record import record

START = "<<<<<<<"
BASE = "|||||||"
MIDDLE = "======="
END = ">>>>>>>"


class Side(enum.StrEnum):
    """What a person takes for one conflict block."""

    VENDOR = "vendor"
    """The vendor's lines (``:diffget`` from the vendor's buffer)."""
    UPSTREAM = "upstream"
    """Upstream's post-image lines."""
    VENDOR_FIRST = "vendor-first"
    """Both: the vendor's lines, then upstream's."""
    UPSTREAM_FIRST = "upstream-first"
    """Both: upstream's lines, then the vendor's."""


@record
class Block:
    """One conflict block of a text, by line index (0-based, markers included)."""

    start: int
    """Index of the ``<<<<<<<`` line."""
    end: int
    """Index after the ``>>>>>>>`` line."""
    vendor: tuple[str, ...]
    """The vendor's lines (each with its line ending)."""
    base: tuple[str, ...] | None
    """The merge base (upstream's pre-image) of a diff3 block; ``None`` in a two-way block."""
    upstream: tuple[str, ...]
    """Upstream's post-image lines."""

    @property
    def one_side(self) -> Side | None:
        """The side that holds the only change, when the other side equals the base; ``None``
        when both changed (a real conflict) or there is no base to tell."""
        if self.vendor == self.upstream:
            return Side.VENDOR
        if self.base is None:
            return None
        if self.vendor == self.base:
            return Side.UPSTREAM
        if self.upstream == self.base:
            return Side.VENDOR
        return None

    def lines_for(self, side: Side) -> tuple[str, ...]:
        """What the block becomes when ``side`` is picked."""
        if side is Side.VENDOR:
            return self.vendor
        if side is Side.UPSTREAM:
            return self.upstream
        if side is Side.VENDOR_FIRST:
            return _joined(self.vendor, self.upstream)
        return _joined(self.upstream, self.vendor)


_LINE = re.compile(r"[^\n]*\n|[^\n]+")
#   "a\n\x0cb\nc" -> ["a\n", "\x0cb\n", "c"]


def split(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split on ``"\\n"`` only."""
    return _LINE.findall(text)


def _marker(line: str, marker: str) -> bool:
    if not line.startswith(marker):
        return False
    rest = line[len(marker) :].rstrip("\n").rstrip("\r")
    return rest == "" or rest.startswith(" ")


def _joined(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    # A side whose last line has no newline (the end of a file) gets one before the other
    # side's lines follow, or the two would run together on one line.
    if first and second and not first[-1].endswith("\n"):
        return (*first[:-1], first[-1] + "\n", *second)
    return (*first, *second)


def find_blocks(text: str) -> list[Block]:
    """Every complete conflict block of ``text``, in order. A block without its ``=======`` or
    ``>>>>>>>`` line is not one (it is left as text, and the markers stay visible)."""
    lines = split(text)
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        if not _marker(lines[index], START):
            index += 1
            continue
        block = _block_at(lines, index)
        if block is None:
            index += 1
            continue
        blocks.append(block)
        index = block.end
    return blocks


def _block_at(lines: Sequence[str], start: int) -> Block | None:
    base_at: int | None = None
    middle_at: int | None = None
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if _marker(line, START):
            return None  # a second opening before this one closed: not a block we can read
        if middle_at is None and base_at is None and _marker(line, BASE):
            base_at = index
        elif middle_at is None and _marker(line, MIDDLE):
            middle_at = index
        elif middle_at is not None and _marker(line, END):
            vendor_end = base_at if base_at is not None else middle_at
            base = None if base_at is None else tuple(lines[base_at + 1 : middle_at])
            return Block(
                start=start,
                end=index + 1,
                vendor=tuple(lines[start + 1 : vendor_end]),
                base=base,
                upstream=tuple(lines[middle_at + 1 : index]),
            )
    return None


def pick(text: str, index: int, side: Side) -> str:
    """``text`` with its ``index``-th conflict block (0-based) replaced by ``side``'s lines."""
    blocks = find_blocks(text)
    if not 0 <= index < len(blocks):
        raise UsageError(
            f"there is no conflict block {index + 1} (the text has {len(blocks)})",
            hint="pick a side for one of the blocks shown with conflict markers",
        )
    return _replace(text, [(blocks[index], side)])


def pick_one_sided(text: str) -> tuple[str, int]:
    """``text`` with every block that only one side changed settled to that side, and how many
    blocks that was. Blocks both sides changed are left for a person."""
    blocks = find_blocks(text)
    choices = [(block, side) for block in blocks if (side := block.one_side) is not None]
    if not choices:
        return text, 0
    return _replace(text, choices), len(choices)


def _replace(text: str, choices: Sequence[tuple[Block, Side]]) -> str:
    lines = split(text)
    out: list[str] = []
    cursor = 0
    for block, side in sorted(choices, key=lambda choice: choice[0].start):
        out.extend(lines[cursor : block.start])
        out.extend(block.lines_for(side))
        cursor = block.end
    out.extend(lines[cursor:])
    return "".join(out)


__all__ = ["Block", "Side", "find_blocks", "pick", "pick_one_sided", "split"]

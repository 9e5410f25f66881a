"""Which conflict marker lines in a worktree file are a conflict left open, and which are text.

The build gate (:meth:`patchsmith.workspace.session.SessionStore.open_items`) keeps a session
open while a touched file holds a ``<<<<<<<`` or ``>>>>>>>`` line: a conflict block apply wrote
(``--merge``) or one a person half resolved. A vendor file may hold such a line as text (a test
fixture, a document about merges, a script that greps for them), and so may upstream's hunk;
counted as conflicts, they closed the gate for good, with nothing a person could do about it.

:func:`first_open_marker` tells the two apart against the files the session started from: the
snapshot (the vendor's file before apply) and the "apply clean hunks" commit (the vendor's
lines and upstream's hunks as the patch wrote them; apply writes its conflict blocks after that
commit, never in it). A marker line is text when one of them holds it at that place: the diff of
that file and the worktree's keeps the line, and the lines on either side of it, unchanged (or
the file begins or ends there on both sides).

Why the neighbours: a diff keeps a line unchanged wherever some alignment allows, so a block's
opening line written where the vendor's own ``<<<<<<<`` line stood (a person who deleted the
vendor's line, kept the block's) reads as "unchanged" by itself; the block's body after it does
not. What is new counts: a marker line neither file holds with its neighbours, so a block copied
from the vendor's file into another place, a second copy of a vendor's marker line, or a block
written over the vendor's line keeps the gate closed. The cost of the rule is the other way
round: a vendor's marker line right beside a line a resolution changed counts as open too (the
person edits the line out, or the file, by hand), never a conflict let through.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from patchsmith.engine.merge import MARKER_LINE

__all__ = ["alignment", "first_open_marker", "open_markers"]


def first_open_marker(current: bytes, baselines: Sequence[bytes | None]) -> int | None:
    """The first line (1-based) of ``current`` that is a conflict marker line no file in
    ``baselines`` holds at that place; ``None`` when every marker line is one of theirs."""
    found = open_markers(current, baselines)
    return found[0] if found else None


def open_markers(current: bytes, baselines: Sequence[bytes | None]) -> list[int]:
    """Every line (1-based) of ``current`` that is a conflict marker line no file in
    ``baselines`` holds at that place, in order. The resolve verbs ask this of the file a
    resolution would leave, so they refuse exactly the marker lines the gate would count."""
    lines = current.splitlines(keepends=True)
    markers = [number for number, line in enumerate(lines) if MARKER_LINE.match(line)]
    if not markers:
        return []
    held = [_held(lines, baseline.splitlines(keepends=True)) for baseline in baselines if baseline]
    return [
        number + 1 for number in markers if not any(number in lines_held for lines_held in held)
    ]


def _held(lines: list[bytes], old: list[bytes]) -> set[int]:
    """The line numbers (0-based) of ``lines`` that the diff from ``old`` keeps unchanged, with
    the lines on both sides of each unchanged too (or both files ending there)."""
    mapped = alignment(old, lines)
    held: set[int] = set()
    for number, old_number in enumerate(mapped):
        if old_number is None:
            continue
        before = (
            number == 0 and old_number == 0
            if number == 0 or old_number == 0
            else mapped[number - 1] == old_number - 1
        )
        last, old_last = number == len(lines) - 1, old_number == len(old) - 1
        after = last and old_last if last or old_last else mapped[number + 1] == old_number + 1
        if before and after:
            held.add(number)
    return held


def alignment(old: list[bytes], new: list[bytes]) -> list[int | None]:
    """For each line of ``new``, the line of ``old`` a diff keeps it as (``None``: new).

    The common start and end are matched first, so only the part that differs goes to difflib
    (kernel files are long and usually differ in a few places); ``autojunk`` is off because
    blank lines and braces are exactly what a marker line may sit between.
    """
    mapped: list[int | None] = [None] * len(new)
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        mapped[start] = start
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        mapped[len(new) - 1 - end] = len(old) - 1 - end
        end += 1
    matcher = SequenceMatcher(None, old[start : len(old) - end], new[start : len(new) - end], False)
    for old_at, new_at, size in matcher.get_matching_blocks():
        for offset in range(size):
            mapped[start + new_at + offset] = start + old_at + offset
    return mapped

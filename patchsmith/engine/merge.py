"""Merge proposals: what an open hunk's region of the vendor's file could become.

A proposal is a decision about where a change goes, the same kind of decision as placement, so
it lives in the engine. For a hunk that did not apply, :func:`vendor_region` finds the vendor's
lines that correspond to upstream's pre-image (aligned through the vanilla file when the caller
has it, else the engine's placement or best candidate), and :func:`merge_region` merges them
3-way with upstream's pre- and post-image. The line merge itself is ``git merge-file --diff3``,
which the caller passes in (:data:`LineMerge`): runtime git belongs to the workspace, and the
engine never imports it. What a line merge leaves in conflict, :func:`refine_conflicts` settles
where a finer merge can (adjacent line edits, then word-level edits), as wiggle does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from patchsmith.engine.conflict import find_candidates, in_named_function
from patchsmith.engine.filelines import FileLines, split_lines
from patchsmith.engine.locate import expected_index
from patchsmith.engine.predict import HunkPrediction
from patchsmith.patchfile.hunk import Hunk

T = TypeVar("T", bound=Hashable)

LABELS = ("vendor", "upstream-before", "upstream-after")
"""Conflict-marker labels: ours is the vendor's code, base and theirs are upstream's images."""

LineMerge = Callable[[bytes, bytes, bytes, tuple[str, str, str]], tuple[bytes, int]]
"""A line-level 3-way merge (ours, base, theirs, labels) -> (merged text, number of conflicts):
``git merge-file -p --diff3`` (:func:`patchsmith.workspace.git.merge_file`)."""

# A conflict marker line as git merge-file and patchsmith write them:
#   <<<<<<< vendor
#   >>>>>>> upstream-after
# Only the opening and closing lines count: a bare "=======" is also a reStructuredText heading
# underline (the kernel's Documentation/ is full of them), and "|||||||"/"=======" only ever
# appear between these two.
MARKER_LINE = re.compile(rb"^(?:<{7}|>{7})(?: |\r?$)", re.M)


def has_markers(data: bytes) -> bool:
    """Whether ``data`` holds a conflict marker line (``MARKER_LINE.search`` finds one).

    Each run of seven ``<`` or ``>`` is found with ``bytes.find`` and only those places are
    matched: a ``^`` search with ``re.M`` tries every byte of the file, which made looking
    through the ~1,200 files a stable patch touches cost more than applying it.
    """
    for marker in (b"<<<<<<<", b">>>>>>>"):
        at = data.find(marker)
        while at >= 0:
            if MARKER_LINE.match(data, at):  # at a line start, followed by " " or the line end
                return True
            at = data.find(marker, at + 1)
    return False


# --- where the vendor's region is -----------------------------------------------------------------


def align_with_vanilla(
    vanilla_lines: Sequence[bytes], lines: Sequence[bytes]
) -> difflib.SequenceMatcher[bytes]:
    """The alignment of the whole vanilla file with the vendor's, for :func:`vendor_region`."""
    return difflib.SequenceMatcher(
        None, list(vanilla_lines), list(lines), autojunk=len(lines) > 20000
    )


def map_range(
    matcher: difflib.SequenceMatcher[bytes], start: int, end: int, size: int
) -> tuple[int, int]:
    """Where the vanilla lines ``[start, end)`` are in the vendor's file."""
    new_start = new_end = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if new_start is None and i1 <= start < i2:
            new_start = j1 + (start - i1) if tag == "equal" else j1
        if new_start is None and start == i1 == i2:
            new_start = j1
        if end > start and i1 <= end - 1 < i2:
            new_end = j1 + (end - 1 - i1) + 1 if tag == "equal" else j2
    if new_start is None:
        new_start = size
    if new_end is None or end <= start:
        new_end = new_start
    return new_start, max(new_start, new_end)


def vendor_region(
    hunk: Hunk,
    prediction: HunkPrediction,
    lines: Sequence[bytes],
    matcher: difflib.SequenceMatcher[bytes] | None,
    vanilla: Sequence[bytes] | None,
) -> tuple[int, int, str] | None:
    """0-based [start, end) of the vendor's region for an open hunk in the original file, and
    how it was found: ``3way`` (through the vanilla file) or ``hunk-local``."""
    pre = hunk.old_lines
    if matcher is not None and vanilla is not None:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        if list(vanilla[start : start + len(pre)]) == list(pre):
            low, high = map_range(matcher, start, start + len(pre), len(lines))
            return low, high, "3way"
    placement = prediction.placement
    if placement is not None:
        low = max(0, placement.start - placement.top)
        high = min(len(lines), placement.start + placement.length + placement.bottom)
        named = _named_instead(hunk, lines, low)
        if named is not None:
            return named
        return low, high, "hunk-local"
    candidates = prediction.candidates or tuple(
        find_candidates(lines, pre, hunk.new_lines, expected_index(hunk), section=hunk.section)
    )
    if candidates:
        best = candidates[0]
        return best.line - 1, best.line - 1 + best.length, "hunk-local"
    return None


def _named_instead(hunk: Hunk, lines: Sequence[bytes], placed: int) -> tuple[int, int, str] | None:
    """The region most like the pre-image inside the function the hunk header names, when the
    engine's place for a hunk left open is outside it; ``None`` otherwise.

    Such a hunk is open because the place is doubtful (a look-alike function, the named one
    edited by the vendor): a proposal there, and ``resolve --accept``, would write upstream's
    change into the function upstream did not touch. The named function's own region, merged
    3-way, carries the change where upstream made it, with the vendor's edit kept. Without a
    candidate inside the named function (the file does not define it, or nothing there reads
    like the pre-image) the engine's place stands, flagged as it is.
    """
    if not hunk.section.strip():
        return None
    view = FileLines(lines)
    if in_named_function(view, hunk.section, placed):
        return None
    for candidate in find_candidates(
        view, hunk.old_lines, hunk.new_lines, expected_index(hunk), section=hunk.section
    ):
        if in_named_function(view, hunk.section, candidate.line - 1):
            start = candidate.line - 1
            return start, start + candidate.length, "hunk-local"
    return None


# --- the merge ------------------------------------------------------------------------------------


def merge_region(
    vendor: bytes, pre: bytes, post: bytes, line_merge: LineMerge
) -> tuple[bytes, bool]:
    """The 3-way merge of one region: (text, whether it kept conflict markers)."""
    if vendor == pre:
        return post, False
    if vendor == post:
        return vendor, False
    merged, conflicts = line_merge(vendor, pre, post, LABELS)
    if conflicts:
        merged = refine_conflicts(merged)
    return merged, has_markers(merged)


# A conflict block of git merge-file --diff3 with our labels.
_BLOCK = re.compile(
    rb"^<<<<<<< vendor\n(.*?)^\|\|\|\|\|\|\| upstream-before\n(.*?)^=======\n(.*?)"
    rb"^>>>>>>> upstream-after\n",
    re.M | re.S,
)
# Words, runs of blanks, and single punctuation characters: what a word-level merge moves.
_TOKEN = re.compile(rb"\w+|\s+|[^\w\s]")


def merge_sequences(base: Sequence[T], ours: Sequence[T], theirs: Sequence[T]) -> list[T] | None:
    """A 3-way merge of two edits of ``base``, or ``None`` when they touch the same place.

    Unlike ``git merge-file`` (which calls adjacent edits a conflict), edits that do not overlap
    are both kept: what wiggle does. Identical edits count once.
    """

    def edits(other: Sequence[T]) -> list[tuple[int, int, list[T]]]:
        matcher = difflib.SequenceMatcher(None, list(base), list(other), autojunk=False)
        return [
            (i1, i2, list(other[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag != "equal"
        ]

    mine = edits(ours)
    yours = [e for e in edits(theirs) if e not in mine]
    for a1, a2, _a in mine:
        for b1, b2, _b in yours:
            if a1 < b2 and b1 < a2:
                return None  # overlapping ranges
            if a1 == b1 or (a1 == a2 and b1 < a1 < b2) or (b1 == b2 and a1 < b1 < a2):
                return None  # an insertion at or inside the other's change
    out: list[T] = []
    cursor = 0
    for start, end, replacement in sorted(mine + yours, key=lambda e: (e[0], e[1])):
        out.extend(base[cursor:start])
        out.extend(replacement)
        cursor = end
    out.extend(base[cursor:])
    return out


def refine_conflicts(merged: bytes) -> bytes:
    """Settle the conflict blocks of a line merge that a finer merge can settle: adjacent line
    edits, then (for blocks of equally many lines) word-level edits line by line."""

    def settle(match: re.Match[bytes]) -> bytes:
        ours, base, theirs = (split_lines(match.group(n)) for n in (1, 2, 3))
        lines = merge_sequences(base, ours, theirs)
        if lines is not None:
            return b"".join(lines)
        if len(ours) == len(base) == len(theirs):
            out: list[bytes] = []
            for b, o, t in zip(base, ours, theirs, strict=True):
                words = merge_sequences(_TOKEN.findall(b), _TOKEN.findall(o), _TOKEN.findall(t))
                if words is None:
                    return match.group(0)
                out.append(b"".join(words))
            return b"".join(out)
        return match.group(0)

    return _BLOCK.sub(settle, merged)


def _with_newline(data: bytes) -> bytes:
    return data if not data or data.endswith(b"\n") else data + b"\n"


def marker_block(vendor: bytes, pre: bytes, post: bytes) -> bytes:
    """The diff3 block ``--merge`` puts in the file for a conflict."""
    return (
        b"<<<<<<< vendor\n"
        + _with_newline(vendor)
        + b"||||||| upstream-before\n"
        + _with_newline(pre)
        + b"=======\n"
        + _with_newline(post)
        + b">>>>>>> upstream-after\n"
    )

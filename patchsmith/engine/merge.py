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
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Sequence
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


Opcode = tuple[str, int, int, int, int]
"""One of ``difflib.SequenceMatcher.get_opcodes``: tag, vanilla start and end, vendor's."""


class VanillaAlignment:
    """The whole vanilla file aligned with the vendor's exactly as ``difflib.SequenceMatcher``
    aligns them, worked out only around the lines asked about.

    ``get_matching_blocks`` takes the longest matching block of a range, then does the same on
    the ranges left and right of it; every block and every gap between two blocks (an opcode)
    lies inside one of those ranges, which depends on nothing outside it. :meth:`opcodes_near`
    follows only the ranges that hold a line asked about, calling ``find_longest_match`` with
    the very arguments ``get_matching_blocks`` would (the same ``SequenceMatcher``, so the same
    junk), so the opcodes it gives there are difflib's own. Aligning all of a 2,300-line file
    for one open hunk took most of ``apply --base``'s proposals (0.17-0.3 s on s1).
    """

    def __init__(self, vanilla_lines: Sequence[bytes], lines: Sequence[bytes]) -> None:
        self._vanilla = list(vanilla_lines)
        self._lines = list(lines)
        self.sizes = (len(self._vanilla), len(self._lines))
        # difflib's "popular" lines (junk to it), only in files past 20,000 lines: there its
        # own search is used, which knows them.
        self._matcher = (
            difflib.SequenceMatcher(None, self._vanilla, self._lines, autojunk=True)
            if len(self._lines) > 20000
            else None
        )
        self._where: dict[bytes, list[int]] = {}
        for number, line in enumerate(self._lines):
            self._where.setdefault(line, []).append(number)
        self._longest: dict[tuple[int, int, int, int], tuple[int, int, int]] = {}

    def opcodes_near(self, positions: Sequence[int]) -> list[Opcode]:
        """Every opcode of the whole alignment whose vanilla range holds one of ``positions``
        or starts or ends at one (an insertion there included), in difflib's order; adjacent
        equal blocks may stay apart where difflib joins them (the same lines map the same)."""
        found: list[Opcode] = []
        ranges = [(0, self.sizes[0], 0, self.sizes[1])]
        while ranges:
            low, high, vendor_low, vendor_high = ranges.pop()
            if low < high and vendor_low < vendor_high:
                key = (low, high, vendor_low, vendor_high)
                if key not in self._longest:
                    self._longest[key] = self.longest_match(*key)
                at, vendor_at, size = self._longest[key]
                if size:
                    found.append(("equal", at, at + size, vendor_at, vendor_at + size))
                    if any(low <= p <= at for p in positions):
                        ranges.append((low, at, vendor_low, vendor_at))
                    if any(at + size <= p <= high for p in positions):
                        ranges.append((at + size, high, vendor_at + size, vendor_high))
                    continue
            # No block in this range: it is one gap between the blocks around it.
            if low < high and vendor_low < vendor_high:
                found.append(("replace", low, high, vendor_low, vendor_high))
            elif low < high:
                found.append(("delete", low, high, vendor_low, vendor_high))
            elif vendor_low < vendor_high:
                found.append(("insert", low, high, vendor_low, vendor_high))
        found.sort(key=lambda opcode: (opcode[1], opcode[2]))
        return found

    def longest_match(
        self, low: int, high: int, vendor_low: int, vendor_high: int
    ) -> tuple[int, int, int]:
        """``find_longest_match(low, high, vendor_low, vendor_high)`` of difflib: the longest
        run of equal lines in the ranges (start, vendor's start, length), of the longest the
        one ending first in the vanilla file, then in the vendor's (a run of no lines:
        ``(low, vendor_low, 0)``).

        difflib counts the run ending at every pair of equal lines, which for two versions of
        one file is every blank line and closing brace paired with every other (0.2 s for a
        2,300-line file). Every run of at least ``stride`` lines holds a line whose number is
        ``low`` plus a multiple of ``stride``, so only the pairs at those lines are followed
        out to their run's ends; when the longest run found is that long, no longer or equally
        long run was missed. Else the stride comes down to that length and the count is made
        again (at a stride of one, every pair). With difflib's junk (files past 20,000 lines),
        difflib's own search.
        """
        if self._matcher is not None:
            found = self._matcher.find_longest_match(low, high, vendor_low, vendor_high)
            return found.a, found.b, found.size
        vanilla, lines, where = self._vanilla, self._lines, self._where
        stride = 64
        while True:
            best = 0
            ends: list[tuple[int, int]] = []
            for at in range(low, high, stride):
                places = where.get(vanilla[at])
                if not places:
                    continue
                first = bisect_left(places, vendor_low)
                last = bisect_left(places, vendor_high, first)
                for vendor_at in places[first:last]:
                    back = 0
                    while (
                        at - back > low
                        and vendor_at - back > vendor_low
                        and vanilla[at - back - 1] == lines[vendor_at - back - 1]
                    ):
                        back += 1
                        if back == stride:
                            break
                    if back == stride:
                        continue  # through the line a stride above: followed from there
                    ahead = 1
                    while (
                        at + ahead < high
                        and vendor_at + ahead < vendor_high
                        and vanilla[at + ahead] == lines[vendor_at + ahead]
                    ):
                        ahead += 1
                    length = back + ahead
                    ending = (at + ahead - 1, vendor_at + ahead - 1)
                    if length > best:
                        best, ends = length, [ending]
                    elif length == best:
                        ends.append(ending)
            if best >= stride or stride == 1:
                break
            stride = max(best, 1)
        if not best:
            return low, vendor_low, 0
        last, vendor_last = min(ends)
        return last - best + 1, vendor_last - best + 1, best

    def map_range(self, start: int, end: int) -> tuple[int, int]:
        """Where the vanilla lines ``[start, end)`` are in the vendor's file."""
        positions = [start, end - 1] if end > start else [start]
        return map_range(self.opcodes_near(positions), start, end, self.sizes[1])


def map_range(opcodes: Iterable[Opcode], start: int, end: int, size: int) -> tuple[int, int]:
    """Where the vanilla lines ``[start, end)`` are in the vendor's file (``size`` lines),
    through the ``opcodes`` of an alignment of the two."""
    new_start = new_end = None
    for tag, i1, i2, j1, j2 in opcodes:
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
    alignment: VanillaAlignment | None,
    vanilla: Sequence[bytes] | None,
) -> tuple[int, int, str] | None:
    """0-based [start, end) of the vendor's region for an open hunk in the original file, and
    how it was found: ``3way`` (through the vanilla file) or ``hunk-local``."""
    pre = hunk.old_lines
    if alignment is not None and vanilla is not None:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        if list(vanilla[start : start + len(pre)]) == list(pre):
            low, high = alignment.map_range(start, start + len(pre))
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

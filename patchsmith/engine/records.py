"""The records of the locate ladder: where a hunk goes, the verdict and its evidence.

:class:`Placement` (what :func:`~patchsmith.engine.locate.apply_located` needs), :class:`Location`
(the ladder's verdict for one hunk), :class:`Candidate` and :class:`AlignmentRow` (the evidence of
a conflict), and :class:`Images` (a hunk's pre- and post-image, computed once per hunk and handed
from rung to rung).

They live apart from the ladder so that both the ladder (:mod:`patchsmith.engine.locate`) and
its last rungs (:mod:`patchsmith.engine.conflict`, which the ladder imports) can import them:
kept in locate.py, they would make conflict.py import locate.py back, a cycle (the engine's
layers contract in ``pyproject.toml`` keeps this module at the bottom).
"""

from __future__ import annotations

import enum

from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk
from patchsmith.record import record


class Rule(enum.StrEnum):
    """A safety rule: why a hunk that *would* apply (or that reads as already applied) is still
    flagged ``needs_review``. :func:`~patchsmith.engine.locate.locate_hunk` records each flag's
    rule in :attr:`Location.rules`; the value is the rule's name there."""

    AMBIGUOUS = "ambiguous"
    """At the rung where it was found, the image also occurs elsewhere in the file (the whole
    file is searched, not only near the guess); a clean match is exempt, since both its line
    number and its content agree."""
    FAR = "far"
    """An offset beyond ``LARGE_OFFSET`` whose enclosing function is not the hunk's, and any
    whitespace or fuzz match that far."""
    DUPLICATE = "duplicate"
    """The lines the hunk adds already exist within ``DUPLICATE_WINDOW`` lines of the match (a
    fix backported at a slightly different place)."""
    WRONG_FUNCTION = "wrong-function"
    """A fuzz or whitespace match whose enclosing function (the nearest definition-looking line
    above it) is not the function named in the hunk header, or cannot be confirmed because the
    header names none; and an exact match or an exact already-applied post-image whose enclosing
    function is not the named one while the file defines the named one elsewhere, or that lies
    in one ``#ifdef`` twin of the name while the stated line lies in the other (see
    ``_named_elsewhere`` in :mod:`patchsmith.engine.locate`)."""
    EDGE = "edge"
    """The hunk says it starts at the top (or ends at the bottom) of the file, but matched
    elsewhere; or its result, found already there, does not start (end) the file."""
    POST_IMAGE = "post-image"
    """The hunk's result is also in the file near the match, in the same function; or, for a
    match at an offset, it stands exactly at the stated line (the vendor carries the fix there,
    the match is a copy), or, with no function named in the hunk header, within
    ``LARGE_OFFSET`` lines of it, exactly or as the vendor edited it."""
    READS_AS_BOTH = "reads-as-both"
    """The lines at the match are the hunk's result as well (what it adds repeats its context),
    or, for a hunk found already applied, its original with fuzz: the file cannot tell whether
    the fix is there."""
    NEARER_FUZZY = "nearer-fuzzy"
    """An exact match at an offset, while the pre-image matches with fuzz nearer to the stated
    line, or whole with whitespace ignored, or stands nearer to it as the vendor edited it (all
    of its lines but one, in order, a few of the vendor's between): the exact one may be a
    copy, the nearer place the hunk's, changed by the vendor. Also an exact already-applied
    result at an offset while such an edited original stands nearer to the stated line. With
    no function named in the hunk header, an edited original anywhere within ``LARGE_OFFSET``
    lines of the stated one counts (nothing else tells the twins apart)."""
    FUZZ_CORE = "fuzz-core"
    """A fuzz match with fewer than ``MIN_FUZZ_CORE`` pre-image lines left to compare once
    context is dropped: that few lines match by chance in repetitive code."""
    WHITESPACE = "whitespace"
    """A whitespace-insensitive match where the lines the hunk removes differ in whitespace from
    the vendor's."""
    NO_CONTEXT = "no-context"
    """The hunk has no context lines (it only adds) and the file is not empty: its place cannot
    be checked."""
    ABSURD = "absurd-position"
    """The match (or the already-applied post-image) is farther from the line the patch states
    than the file is long: the patch's numbers are wrong, so nothing it says about where the
    hunk goes can be trusted (``@@ -99999999999,3 ...`` on a 3-line file)."""
    WEAK_EVIDENCE = "weak-evidence"
    """An already-applied verdict from a post-image of generic lines only (braces, blank lines,
    ``return``/``goto``/``break``) for a hunk that adds nothing distinctive, found away from the
    stated line or in several places: it could be any function's tail. Also an already-applied
    verdict for a hunk that removes lines while, near the stated line, its context stands with
    something still where it removes lines: some of them as they were, or lines the vendor
    edited (the result found may be a copy of its context). And an already-applied verdict
    for a hunk without context lines whose added lines stand away from the stated line or in
    several places, however distinctive: nothing anchors them to the hunk."""


@record
class Placement:
    """Where a hunk's changes go in a file: everything
    :func:`~patchsmith.engine.locate.apply_located` needs."""

    hunk: Hunk
    start: int
    """0-based index of the first file line covered by the compared part of the pre-image (with
    fuzz, the dropped leading context lines lie just above it and are left as they are)."""
    top: int = 0
    """Leading context lines of the hunk that were not compared (fuzz)."""
    bottom: int = 0
    """Trailing context lines of the hunk that were not compared (fuzz)."""

    @property
    def length(self) -> int:
        """How many file lines the compared part of the pre-image covers."""
        return len(self.hunk.old_lines) - self.top - self.bottom


@record
class Candidate:
    """A region of the file that resembles the hunk: evidence for a conflict or a flagged match."""

    line: int
    """1-based first line of the region."""
    length: int
    """Number of file lines in the region."""
    similarity: float
    """``difflib`` ratio between the hunk's pre-image and the region (whitespace collapsed)."""
    post_similarity: float = 0.0
    """The same ratio against the post-image: high when the vendor already has the change."""

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "length": self.length,
            "similarity": round(self.similarity, 3),
            "post_similarity": round(self.post_similarity, 3),
        }


@record
class AlignmentRow:
    """One row of the alignment of a hunk's pre-image with the vendor's best candidate region."""

    op: str
    """``same``, ``changed`` (the vendor's line differs), ``missing`` (the vendor lacks the
    expected line) or ``extra`` (the vendor has a line the pre-image does not)."""
    expected: bytes | None
    """The pre-image line (``None`` for ``extra``)."""
    vendor: bytes | None
    """The vendor's line (``None`` for ``missing``)."""
    vendor_line: int | None = None
    """1-based line number of the vendor's line in the file."""

    def to_json(self) -> dict[str, object]:
        return {
            "op": self.op,
            "expected": _text(self.expected),
            "vendor": _text(self.vendor),
            "vendor_line": self.vendor_line,
        }


@record
class Location:
    """The verdict of the ladder for one hunk."""

    status: HunkStatus
    expected: int
    """0-based index where the hunk was expected (stated line plus the running shift)."""
    found: int | None
    """0-based index where the hunk's full window (pre-image, post-image or mixed image) starts
    in the file, ``None`` when not found."""
    shift: int
    """``found - expected``: how far the search had to go (0 when not found)."""
    fuzz: int = 0
    needs_review: bool = False
    reasons: tuple[str, ...] = ()
    """Why the hunk got this status or a review flag, most important first."""
    placement: Placement | None = None
    """Set when the hunk would be applied (clean, offset, whitespace, fuzz)."""
    span: int = 0
    """How many file lines the match covers."""
    candidates: tuple[Candidate, ...] = ()
    alignment: tuple[AlignmentRow, ...] = ()
    growth: int = 0
    """Lines the file grows by above the next hunk because of this one, for the running shift:
    the post-image's extra length when the vendor already has the post-image."""
    rules: tuple[Rule, ...] = ()
    """The safety rules (:class:`Rule`) that set ``needs_review`` on a match that would apply, so a
    later judgement (:func:`~patchsmith.engine.locate.clear_with_vanilla`) can tell which flags
    it may lift without parsing :attr:`reasons`."""

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def next_delta(self) -> int:
        """What this hunk adds to the running shift for the next hunk of the same file. The
        running shift is the sum over the hunks above (GNU patch's ``in_offset``), so a hunk
        found where the hunks above say is ``clean``, and the one after it is searched from
        there too."""
        return self.shift + self.growth

    @property
    def end(self) -> int | None:
        """0-based index just past the matched region: no later hunk may start above it."""
        if self.found is None:
            return None
        return self.found + self.span


class Images:
    """The pre- and post-image of a hunk, computed once.

    A plain class, not a frozen dataclass: one is made per hunk and never kept, and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) costs more than twice as much.
    """

    __slots__ = ("leading", "post", "pre", "trailing")

    def __init__(
        self, pre: tuple[bytes, ...], post: tuple[bytes, ...], leading: int, trailing: int
    ) -> None:
        self.pre = pre
        self.post = post
        self.leading = leading
        self.trailing = trailing


def _text(line: bytes | None) -> str | None:
    if line is None:
        return None
    return line.rstrip(b"\r\n").decode("utf-8", "replace")

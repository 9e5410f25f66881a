"""The evidence around one session hunk, in the vendor tree's line numbers.

A person deciding a hunk wants more than its seven lines: the vendor's file around the place,
the function it is in, where an applied or already-applied hunk was found, the ``.rej`` text,
and the merge base. This module reads them for one hunk at a time (the TUI asks for the hunk on
screen), from the session's git objects, never from the vendor's tree itself:

* the vendor's file is the blob at the session's ``snapshot_commit`` (the snapshot of the tree);
* its line numbers are the vendor tree's, the numbering ``check`` reports. The session keeps
  an open hunk's region in the worktree's numbering (after the clean hunks were applied), so it
  is mapped back through ``git diff -U0 snapshot_commit applied_commit`` (exact, not a guess); a
  region that is not where the map says is searched for, nearest first, and reported missing
  rather than shown at a wrong place;
* the worktree's line (where the result is now) is given separately and named as such.

Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from patchsmith.engine.filelines import enclosing_function
from patchsmith.model import HunkStatus
from patchsmith.record import record
from patchsmith.workspace import git
from patchsmith.workspace.regions import find_region, region_lines
from patchsmith.workspace.session import Region, Session, SessionHunk, to_bytes, to_text


class Found:
    """What :attr:`HunkEvidence.region_start` points at (strings, for the view's labels)."""

    REGION = "region"
    """An open hunk: the vendor's lines where it belongs (the best candidate)."""
    PRE_IMAGE = "pre-image"
    """Upstream's pre-image, found where the hunk was (or would be) applied."""
    POST_IMAGE = "post-image"
    """Upstream's post-image, already in the vendor's file (already applied)."""
    NOTHING = "nothing"
    """No place in the vendor's file (missing file, excluded, a file-level item)."""


@record
class HunkEvidence:
    """Everything around one hunk that the session's own record does not hold."""

    hunk_id: str
    vendor_file: str | None
    """The vendor tree's file (text, see :func:`to_text`); ``None`` when the tree lacks it."""
    found: str
    """What the region is: one of the :class:`Found` values."""
    region_start: int | None
    """1-based vendor-tree line where the region starts (for an empty region: the line it sits
    before); ``None`` when there is none."""
    region_text: str
    """The vendor's lines of the region, exactly."""
    function_line: int | None
    """1-based vendor-tree line of the definition the hunk's first change is in."""
    function_text: str
    """That line (without its newline), for a pinned header."""
    worktree_line: int | None
    """1-based line in the worktree file, now, where the hunk's result (or region) starts."""
    worktree_text: str | None
    """What the worktree file holds there now (``None`` when the hunk left no trace)."""
    reject: str
    """The ``.rej`` text ``apply`` wrote for this hunk (header and hunk), ``""`` if none."""
    reject_present: bool
    """Whether the worktree still has that ``.rej`` file (a resolution removes the hunk)."""
    base_text: str | None
    """The merge base of the proposal when ``--base`` was given and vanilla's lines at the
    hunk's stated place matched its pre-image (so the 3-way merge used them)."""
    base_line: int | None
    """1-based vanilla line of :attr:`base_text`."""
    note: str = ""
    """Why something is missing, in words for the person reading the view."""


# "@@ -12,3 +12,4 @@" or "@@ -5 +5,0 @@"
_HUNK_HEADER = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)


@record
class LineMap:
    """Maps lines of a file between two commits from ``git diff -U0`` hunk headers."""

    changes: tuple[tuple[int, int, int, int], ...]
    """(old start, old count, new start, new count) of each change, in order."""

    def to_old(self, new_line: int) -> int:
        """The old line a new line corresponds to (a line a change added maps to the first
        old line of that change)."""
        return _map(self.changes, new_line, forward=False)

    def to_new(self, old_line: int) -> int:
        """The new line an old line corresponds to (a line a change removed maps to the first
        new line of that change)."""
        return _map(self.changes, old_line, forward=True)


def _map(changes: Sequence[tuple[int, int, int, int]], line: int, *, forward: bool) -> int:
    # In -U0 headers an empty side names the line *before* the change: "-7,0" inserts after
    # old line 7, so the change's lines begin at 8 on that side.
    shift = 0
    for old_start, old_count, new_start, new_count in changes:
        old_first = old_start if old_count else old_start + 1
        new_first = new_start if new_count else new_start + 1
        first, count, other_first = (
            (old_first, old_count, new_first) if forward else (new_first, new_count, old_first)
        )
        if line < first:
            break
        if line < first + count:
            return other_first
        shift = (new_first + new_count) - (old_first + old_count)
        if not forward:
            shift = -shift
    return line + shift


def line_map(worktree: Path, old: str, new: str | None, path: str) -> LineMap:
    """How ``path``'s lines moved from commit ``old`` to ``new`` (identity when ``new`` is
    ``None`` or the same)."""
    if new is None or new == old:
        return LineMap(())
    output = git.run_git(
        ["diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", old, new, "--", path],
        cwd=worktree,
    ).stdout
    changes = tuple(
        (int(a), int(b) if b else 1, int(c), int(d) if d else 1)
        for a, b, c, d in _HUNK_HEADER.findall(output)
    )
    return LineMap(changes)


def _leading_context(upstream: str) -> int:
    """How many context lines the hunk (``@@`` line and body) has before its first change."""
    count = 0
    for line in upstream.split("\n")[1:]:
        if line.startswith(("-", "+")):
            return count
        if line.startswith("\\"):
            continue
        count += 1
    return 0


def _locate(lines: Sequence[bytes], text: str, near: int) -> int | None:
    """1-based line where ``text``'s lines are in ``lines``, nearest ``near``; None if absent."""
    if not text:
        return min(max(near, 1), len(lines) + 1)
    at = find_region(list(lines), Region(near, text))
    return None if at is None else at + 1


def reject_text(session: Session, hunk: SessionHunk) -> str:
    """The ``.rej`` text of one hunk as ``apply`` wrote it (with the file's header)."""
    for file in session.files:
        if file.path != hunk.path:
            continue
        for hunk_id, text in file.rejects:
            if hunk_id == hunk.id:
                return file.reject_header + text
    return ""


def evidence(session: Session, hunk_id: str) -> HunkEvidence:
    """Read the evidence around ``hunk_id`` from the session's commits and worktree."""
    hunk = session.hunk(hunk_id)
    worktree = Path(session.worktree)
    reject = reject_text(session, hunk)
    reject_present = bool(reject) and (worktree / (hunk.path + ".rej")).is_file()
    base_text: str | None = None
    base_line: int | None = None
    if session.base is not None and hunk.proposal_source == "3way":
        # apply took this region from vanilla's lines at the stated place only when they equal
        # the pre-image; the merge's base is those lines.
        base_text, base_line = hunk.pre_image, hunk.expected_line
    blob = git.show_file(worktree, session.snapshot_commit, hunk.path) if hunk.number else None
    empty = HunkEvidence(
        hunk_id=hunk.id,
        vendor_file=None if blob is None else to_text(blob),
        found=Found.NOTHING,
        region_start=None,
        region_text="",
        function_line=None,
        function_text="",
        worktree_line=None,
        worktree_text=None,
        reject=reject,
        reject_present=reject_present,
        base_text=base_text,
        base_line=base_line,
    )
    if hunk.number == 0:
        return _with_note(empty, "a file-level item (mode, binary or rename): no lines to show")
    if blob is None:
        return _with_note(empty, "the vendor's tree has no such file")
    lines = region_lines(blob)
    found, start, text, note = _region(session, hunk, lines, worktree)
    function_line: int | None = None
    function_text = ""
    if start is not None:
        first_change = start + (_leading_context(hunk.upstream) if found != Found.REGION else 0)
        if found == Found.REGION and hunk.vendor is not None:
            first_change = start + min(_leading_context(hunk.upstream), hunk.vendor.count)
        definition = enclosing_function(lines, min(first_change, len(lines)))
        if definition is not None:
            function_line = definition[0] + 1
            function_text = to_text(definition[1]).rstrip("\r\n")
    worktree_line, worktree_text = _in_worktree(session, hunk, worktree, found, start)
    return HunkEvidence(
        hunk_id=hunk.id,
        vendor_file=to_text(blob),
        found=found,
        region_start=start,
        region_text=text,
        function_line=function_line,
        function_text=function_text,
        worktree_line=worktree_line,
        worktree_text=worktree_text,
        reject=reject,
        reject_present=reject_present,
        base_text=base_text,
        base_line=base_line,
        note=note,
    )


def _with_note(evidence_: HunkEvidence, note: str) -> HunkEvidence:
    from dataclasses import replace

    return replace(evidence_, note=note)


def _region(
    session: Session, hunk: SessionHunk, lines: Sequence[bytes], worktree: Path
) -> tuple[str, int | None, str, str]:
    """(what, 1-based vendor-tree start, text, note) of the hunk's place in the vendor file."""
    if hunk.vendor is not None:
        mapping = line_map(worktree, session.snapshot_commit, session.applied_commit, hunk.path)
        expected = mapping.to_old(hunk.vendor.start)
        start = _locate(lines, hunk.vendor.text, expected)
        if start is None:
            return Found.NOTHING, None, "", "the vendor's region is not in the vendor's file"
        return Found.REGION, start, hunk.vendor.text, ""
    if hunk.status == HunkStatus.ALREADY_APPLIED:
        near = hunk.found_line or hunk.expected_line
        start = _locate(lines, hunk.post_image, near)
        if start is not None:
            return Found.POST_IMAGE, start, hunk.post_image, ""
        return Found.NOTHING, None, "", "upstream's post-image is not found as is"
    if hunk.found_line is not None and hunk.status != HunkStatus.EXCLUDED:
        start = _locate(lines, hunk.pre_image, hunk.found_line)
        if start is not None:
            return Found.PRE_IMAGE, start, hunk.pre_image, ""
        # fuzz or whitespace: the pre-image is not there as is; show the window it was found in
        count = len(region_lines(to_bytes(hunk.pre_image)))
        start = min(max(hunk.found_line, 1), len(lines) + 1)
        text = to_text(b"".join(lines[start - 1 : start - 1 + count]))
        return Found.PRE_IMAGE, start, text, "the pre-image matched here only with fuzz"
    if hunk.status == HunkStatus.EXCLUDED:
        return Found.NOTHING, None, "", "left out by the selection"
    return Found.NOTHING, None, "", "no place in the vendor's file"


def _in_worktree(
    session: Session, hunk: SessionHunk, worktree: Path, found: str, start: int | None
) -> tuple[int | None, str | None]:
    """Where the hunk's result (or region) is in the worktree file now, and what is there."""
    path = worktree / hunk.path
    try:
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        data = None
    if data is None:
        return None, None
    lines = region_lines(data)
    if hunk.current is not None:
        text = hunk.written if hunk.resolution is not None and hunk.written is not None else None
        if text is None:
            text = hunk.current.text
        at = _locate(lines, text, hunk.current.start)
        return at, text if at is not None else None
    if start is None:
        return None, None
    if hunk.applied:
        mapping = line_map(worktree, session.snapshot_commit, session.applied_commit, hunk.path)
        at = _locate(lines, hunk.post_image, mapping.to_new(start))
        return at, hunk.post_image if at is not None else None
    if found == Found.POST_IMAGE:
        mapping = line_map(worktree, session.snapshot_commit, session.applied_commit, hunk.path)
        at = _locate(lines, hunk.post_image, mapping.to_new(start))
        return at, hunk.post_image if at is not None else None
    return None, None


__all__ = ["Found", "HunkEvidence", "LineMap", "evidence", "line_map", "reject_text"]

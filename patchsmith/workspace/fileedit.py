"""Editing one hunk's result in a copy of its whole file, as an editor shows it.

``E`` in the TUI opens ``$EDITOR`` on the whole worktree file with the hunk's region holding the
text to edit (the proposal with its conflict markers, a draft, or the result), positioned at the
region, instead of a fragment with no context. Afterwards only the region may have changed: the
lines before and after it must come back byte for byte, because a resolution replaces the
hunk's region and nothing else. What the region became is the new text; leftover conflict
markers in it are reported with their line in the file, and nothing is saved. A marker line the
vendor's file holds as text, at its own place with its neighbours, is not a leftover: the gate
counts it as text too (:mod:`patchsmith.workspace.markers`), and so does ``resolve``.

It finds the region as a resolution does (:mod:`patchsmith.workspace.regions`). Never writes
the worktree: the caller writes the copy where it likes and resolves through the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patchsmith.errors import Remedy, SessionError
from patchsmith.record import record
from patchsmith.workspace.markers import open_markers
from patchsmith.workspace.regions import find_region, read_worktree_file, region_lines
from patchsmith.workspace.session import (
    Session,
    has_markers,
    marker_baselines,
    to_bytes,
    to_text,
)


@record
class FileEdit:
    """A copy of a worktree file with one hunk's region holding the text to edit."""

    hunk_id: str
    before: bytes
    """The file's bytes before the region."""
    after: bytes
    """The file's bytes after the region."""
    text: str
    """What the region holds in the copy."""
    line: int
    """1-based line of the region's first line in the copy (where the editor opens)."""
    baselines: Sequence[bytes | None] = ()
    """The file as the snapshot and the applied commit hold it: a marker line one of them holds
    at its place is text, not a leftover."""

    @property
    def data(self) -> bytes:
        """The copy to hand to the editor."""
        return self.before + to_bytes(self.text) + self.after


def prepare(session: Session, hunk_id: str, text: str) -> FileEdit:
    """The worktree file of ``hunk_id`` with its region replaced by ``text``."""
    hunk = session.hunk(hunk_id)
    if hunk.current is None:
        raise SessionError(
            f"{hunk.id} has no place in the file to write to ({hunk.status})",
            hint="it can only be dropped, with a reason",
            remedies=(Remedy.DROP,),
        )
    try:
        # Read as a resolution reads it: a link at the path, or on the way to it, is not
        # followed (one put in the worktree by hand to a copy of the file elsewhere would show
        # that copy's lines, and the region would seem to be there).
        data = read_worktree_file(Path(session.worktree), hunk.path)
    except OSError as error:
        raise SessionError(f"cannot read {hunk.path} in the worktree: {error}") from error
    if data is None:
        raise SessionError(
            f"{hunk.path} is not a regular file in the worktree (a link, or beyond one, or"
            " missing)",
            hint="put the file back as apply left it ('git checkout' in the worktree), then"
            " edit again",
            remedies=(Remedy.RESTORE,),
        )
    lines = region_lines(data)
    region = hunk.current
    if hunk.resolution is not None and hunk.written is not None:
        region = type(region)(region.start, hunk.written)
    at = find_region(lines, region)
    if at is None:
        raise SessionError(
            f"the lines of {hunk.id} (from line {region.start}) are no longer in {hunk.path}",
            hint="the file was changed by hand; undo that change first",
            remedies=(Remedy.RESTORE,),
        )
    count = len(region_lines(to_bytes(region.text)))
    return FileEdit(
        hunk_id=hunk.id,
        before=b"".join(lines[:at]),
        after=b"".join(lines[at + count :]),
        text=text,
        line=at + 1,
        baselines=tuple(marker_baselines(session, hunk.path)),
    )


def extract(edit: FileEdit, edited: bytes) -> str:
    """The region's new text from the edited copy.

    Raises :class:`SessionError` when a line outside the region changed (naming the first one),
    or when the region still has conflict markers (naming the line in the file).
    """
    if not edited.startswith(edit.before) or len(edited) < len(edit.before) + len(edit.after):
        line = _first_difference(edit.before, edited)
        raise SessionError(
            f"line {line} of the file changed, above the region of {edit.hunk_id}",
            hint="only the hunk's lines can be saved as its resolution: edit again and put the "
            "other lines back",
        )
    if not edited.endswith(edit.after):
        tail = len(edited) - len(edit.after)
        line = edited[: max(tail, 0)].count(b"\n") + 1
        raise SessionError(
            f"the file changed below the region of {edit.hunk_id} (from about line {line})",
            hint="only the hunk's lines can be saved as its resolution: edit again and put the "
            "other lines back",
        )
    middle = edited[len(edit.before) : len(edited) - len(edit.after)]
    count = len(region_lines(middle))
    left = [
        line
        for line in (open_markers(edited, edit.baselines) if has_markers(middle) else [])
        if edit.line <= line < edit.line + count
    ]
    if left:
        raise SessionError(
            f"conflict markers are left at line {left[0]} of the file",
            hint="choose the lines to keep and delete the <<<<<<< ||||||| ======= >>>>>>> lines",
        )
    return to_text(middle)


def _first_difference(expected: bytes, edited: bytes) -> int:
    for index, (old, new) in enumerate(
        zip(region_lines(expected), region_lines(edited), strict=False), start=1
    ):
        if old != new:
            return index
    return len(region_lines(expected)) + 1


__all__ = ["FileEdit", "extract", "prepare"]

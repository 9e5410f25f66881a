"""Line numbers between the vendor's tree and the worktree, exactly.

``check`` and the engine number lines as the vendor's tree has them. A session keeps an open
hunk's region as ``apply`` left the worktree file: after the clean hunks above it were written,
so a region that starts at the vendor's line 53 is at line 54 in the worktree when one line was
added above it. Reports and the description ``finish`` writes speak the vendor tree's numbers;
:func:`line_maps` maps between the two from the "apply clean hunks" commit itself
(``git diff -U0 base_commit applied_commit``), not from a guess at what was applied.

Depends on :mod:`patchsmith.workspace.git` and :mod:`patchsmith.patchfile.index` (to read git's
diff, quoted names included).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patchsmith.errors import GitError, InputError
from patchsmith.patchfile.index import index_bytes
from patchsmith.patchfile.select import strip_components
from patchsmith.record import record
from patchsmith.workspace import git

__all__ = ["LineMap", "line_maps"]


@record
class LineMap:
    """How one file's lines moved between two commits (from ``-U0`` hunk headers)."""

    changes: tuple[tuple[int, int, int, int], ...] = ()
    """(old start, old count, new start, new count) of each change, in order."""

    def to_old(self, new_line: int) -> int:
        """The old line a new line corresponds to; a line a change added maps to the first
        old line of that change."""
        return _map(self.changes, new_line, forward=False)

    def to_new(self, old_line: int) -> int:
        """The new line an old line corresponds to; a line a change removed maps to the first
        new line of that change."""
        return _map(self.changes, old_line, forward=True)


def _map(changes: Sequence[tuple[int, int, int, int]], line: int, *, forward: bool) -> int:
    # In -U0 headers an empty side names the line *before* the change ("-7,0" inserts after
    # old line 7), so that side's lines begin one later.
    shift = 0
    for old_start, old_count, new_start, new_count in changes:
        old_first = old_start if old_count else old_start + 1
        new_first = new_start if new_count else new_start + 1
        if forward:
            first, count, other = old_first, old_count, new_first
        else:
            first, count, other = new_first, new_count, old_first
        if line < first:
            break
        if line < first + count:
            return other
        moved = (new_first + new_count) - (old_first + old_count)
        shift = moved if forward else -moved
    return line + shift


def line_maps(worktree: Path, old: str, new: str | None) -> dict[str, LineMap] | None:
    """Every file that changed between commits ``old`` and ``new``, with its :class:`LineMap`
    (a file not listed did not move): empty when ``new`` is ``None`` or ``old``; ``None`` when
    git cannot tell (a missing commit), so that no caller takes "unknown" for "unmoved"."""
    if new is None or new == old:
        return {}
    try:
        output = git.run_git(
            [
                "diff",
                "-U0",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                old,
                new,
            ],
            cwd=worktree,
        ).stdout
    except GitError:
        return None
    if not output:
        return {}
    try:
        index = index_bytes(output, "git diff -U0")
    except InputError:
        return None
    maps: dict[str, LineMap] = {}
    for entry in index.files:
        changes = tuple((h.old_start, h.old_count, h.new_start, h.new_count) for h in entry.hunks)
        maps[strip_components(entry.path, 1)] = LineMap(changes)
    return maps

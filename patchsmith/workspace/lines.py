"""Line numbers between the vendor's tree and the worktree, exactly.

``check`` and the engine number lines as the vendor's tree has them. A session keeps an open
hunk's region as ``apply`` left the worktree file: after the clean hunks above it were written,
so a region that starts at the vendor's line 53 is at line 54 in the worktree when one line was
added above it. Reports and the description ``finish`` writes speak the vendor tree's numbers;
:func:`line_maps` maps between the two from the "apply clean hunks" commit itself
(``git diff -U0 snapshot_commit applied_commit``), not from a guess at what was applied.

:class:`~patchsmith.workspace.view.LineMap` (the TUI's evidence view uses it per file) does the
mapping; :func:`line_maps` reads every file's in one ``git diff``, and says when it cannot.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.errors import GitError, InputError
from patchsmith.patchfile.index import index_bytes
from patchsmith.patchfile.select import strip_components
from patchsmith.workspace import git
from patchsmith.workspace.view import LineMap

__all__ = ["LineMap", "line_maps", "line_maps_to_files"]


def line_maps(worktree: Path, old: str, new: str | None) -> dict[str, LineMap] | None:
    """Every file that changed between commits ``old`` and ``new``, with its :class:`LineMap`
    (a file not listed did not move): empty when ``new`` is ``None`` or ``old``; ``None`` when
    git cannot tell (a missing commit), so that no caller takes "unknown" for "unmoved"."""
    if new is None or new == old:
        return {}
    return _maps(worktree, [old, new])


def line_maps_to_files(worktree: Path, old: str) -> dict[str, LineMap] | None:
    """The same from commit ``old`` to the worktree's files as they are (uncommitted edits
    included; untracked files are not compared)."""
    return _maps(worktree, [old])


def _maps(worktree: Path, revisions: list[str]) -> dict[str, LineMap] | None:
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
                *revisions,
                "--",
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

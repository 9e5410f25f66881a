"""Committing what a resolution changed in a file, and not a person's other edits of it.

A resolution (or its undo) replaces one hunk's region in the worktree file and commits. Before,
it committed the whole file: a person's uncommitted edit elsewhere in the same file went into
the "patchsmith: resolve"/"patchsmith: undo" commit, and the history and ``finish``'s
description then showed that edit as patchsmith's. Now the commit holds the file as the last
commit had it with only the region replaced; the worktree file holds the same with the person's
edits, which stay uncommitted (an ``uncommitted`` item until they commit them, as any hand edit).

:func:`carry` finds the region in the committed file through the diff from it to the worktree
file (:func:`patchsmith.workspace.markers.alignment`), not by searching for the region's text:
in repetitive code the same lines stand in several places, and a hand edit above the region
moves it. Evidence that the place is the region's: every line of the region is kept unchanged
by that diff, one after the other (an empty region: the line before it, or after it, is kept).
Against: a region line the diff calls new (a hand edit reaching into or through the region):
then there is no such place, and the caller refuses rather than guess.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from patchsmith.workspace import git
from patchsmith.workspace.markers import alignment
from patchsmith.workspace.regions import region_lines

__all__ = ["carry", "commit_blob", "store_blob"]


def carry(
    worktree_file: bytes,
    committed: bytes,
    swap: tuple[int, int, bytes],
    held: bytes | None = None,
) -> bytes | None:
    """``committed`` with the lines that stand at ``line`` (0-based) .. ``line + count`` of
    ``worktree_file`` replaced by ``new`` (``swap`` is the three); ``None`` when ``committed``
    does not hold those lines at one place the diff keeps them.

    ``held``: what the last commit holds in place of lines apply wrote after it, uncommitted
    (``apply --merge`` puts a conflict block where the vendor's lines were committed). Those are
    found between the region's neighbours instead: both kept by the diff (or the file's edge
    on both sides), and exactly ``held`` between them."""
    line, count, new = swap
    lines, old = region_lines(worktree_file), region_lines(committed)
    mapped = alignment(old, lines)
    start: int | None
    if count:
        start = mapped[line]
        if start is None or any(mapped[line + i] != start + i for i in range(count)):
            return None if held is None else _between(lines, old, mapped, swap, held)
        return b"".join(old[:start]) + new + b"".join(old[start + count :])
    if line == 0:
        start = 0
    elif line == len(lines):
        start = len(old)
    else:
        before, after = mapped[line - 1], mapped[line]
        start = before + 1 if before is not None else after
    if start is None:
        return None
    return b"".join(old[:start]) + new + b"".join(old[start:])


def _between(
    lines: list[bytes],
    old: list[bytes],
    mapped: list[int | None],
    swap: tuple[int, int, bytes],
    held: bytes,
) -> bytes | None:
    line, count, new = swap
    end_at = line + count
    start = 0 if line == 0 else mapped[line - 1]
    end = len(old) if end_at == len(lines) else mapped[end_at]
    if start is None or end is None:
        return None
    start = start + 1 if line else start
    if old[start:end] != region_lines(held):
        return None
    return b"".join(old[:start]) + new + b"".join(old[end:])


def store_blob(worktree: Path, path: str, data: bytes) -> str:
    """Write ``data`` to the repository's objects as ``git add`` would store ``path`` with it
    (the path's attributes apply); the blob's id."""
    result = git.run_git(
        ["hash-object", "-w", "--stdin", f"--path={path}"], cwd=worktree, input=data
    )
    return result.stdout.decode().strip()


def commit_blob(worktree: Path, path: str, blob: str, message: str) -> str:
    """Commit HEAD's tree with ``path`` set to ``blob`` (HEAD's mode for it); the worktree file
    is not read or written, and nothing else a person staged goes in. The index entry of
    ``path`` becomes the committed blob, so the person's edits of it show as not staged."""
    mode = git.modes_at(worktree, "HEAD", [path]).get(path, "100644")
    parent = git.head(worktree)
    with tempfile.TemporaryDirectory(prefix="patchsmith-index-") as scratch:
        index = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        git.run_git(["read-tree", parent], cwd=worktree, env=index)
        git.run_git(
            ["update-index", "--add", "--cacheinfo", mode, blob, path], cwd=worktree, env=index
        )
        tree = git.run_git(["write-tree"], cwd=worktree, env=index).stdout.decode().strip()
    commit = (
        git.run_git(
            ["commit-tree", tree, "-p", parent, "-F", "-"],
            cwd=worktree,
            input=git.stripspace(message).encode("utf-8"),
        )
        .stdout.decode()
        .strip()
    )
    # The index first: stopped between the two, the commit is not made, the file is as the
    # resolution wrote it, and the next load commits it again (SessionStore._recover).
    git.run_git(["update-index", "--add", "--cacheinfo", mode, blob, path], cwd=worktree)
    first_line = message.splitlines()[0] if message else "patchsmith"
    git.run_git(["update-ref", "-m", first_line, "HEAD", commit, parent], cwd=worktree)
    return commit

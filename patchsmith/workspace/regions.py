"""A session's worktree files: the region a resolution replaces, and the ``.rej`` files.

A resolution replaces exactly the lines a hunk's :class:`~patchsmith.workspace.records.Region`
holds, found nearest its recorded line (:func:`find_region`, :func:`replace_region`); lines are
split by :func:`region_lines`, which, unlike the engine's ``split_lines`` (``\n`` only, as GNU
patch), also ends a line at a lone ``\r`` in a file that has one. Files are read and ``.rej``
files written through the confined reader and writer (:mod:`patchsmith.workspace.confined`):
nothing beyond a link is read or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from patchsmith.errors import Remedy, SessionError
from patchsmith.record import record
from patchsmith.workspace import confined
from patchsmith.workspace.records import Region, Session, SessionFile, to_bytes

# --- locating a region in a file ----------------------------------------------------------------


def region_lines(data: bytes) -> list[bytes]:
    """``data``'s lines with their endings, as regions count them: ``\n`` ends a line, and in a
    file with any ``\r`` a lone ``\r`` does too (``bytes.splitlines``; a form feed never does).
    Not the engine's :func:`~patchsmith.engine.filelines.split_lines` (``\n`` only, as GNU
    patch reads a file)."""
    return data.splitlines(keepends=True) if b"\r" in data else _split_nl(data)


def _split_nl(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def find_region(lines: list[bytes], region: Region) -> int | None:
    """0-based index where ``region``'s lines are in ``lines``, nearest its recorded start."""
    wanted = region_lines(to_bytes(region.text))
    expected = max(region.start - 1, 0)
    if not wanted:
        return min(expected, len(lines))
    best: int | None = None
    first = wanted[0]
    for index, line in enumerate(lines):
        if line != first or lines[index : index + len(wanted)] != wanted:
            continue
        if best is None or abs(index - expected) < abs(best - expected):
            best = index
    return best


def replace_region(data: bytes, region: Region, new_text: bytes) -> tuple[bytes, int]:
    """``data`` with ``region`` replaced by ``new_text``, and where (0-based line) it was."""
    lines = region_lines(data)
    at = find_region(lines, region)
    if at is None:
        raise SessionError(
            f"the lines this hunk replaces (from line {region.start}) are no longer in the file",
            hint="the file was changed by hand in the worktree ('git diff' there shows how): "
            "put the hunk's lines back and resolve again",
            remedies=(Remedy.RESTORE,),
        )
    count = region.count
    return b"".join(lines[:at]) + new_text + b"".join(lines[at + count :]), at


def read_worktree_file(worktree: Path, path: str) -> bytes | None:
    """A regular file's bytes in the worktree, read without following a link: ``None`` for a
    link, a missing file or a path beyond a link or a file."""
    try:
        return confined.read_file(worktree, path)
    except confined.Blocked:
        return None


@record
class KnownWorktree:
    """A worktree's touched paths as the apply that has just made it knows them, so the gate
    after it (``SessionStore.open_items``) needs neither ``git status`` nor a read of every
    touched file. Made only where apply can show that this is what both would find
    (``apply._known_worktree`` says when); anything later reads the worktree itself.
    """

    files: Mapping[str, bytes]
    """Each touched path holding a regular file: its bytes."""
    present: frozenset[str]
    """Every path something is at: the files, their folders and the ``.rej`` files."""
    changed: frozenset[str]
    """The paths whose bytes differ from the last commit (``git status`` would list them)."""


def in_worktree(worktree: Path, path: str) -> bool:
    """Whether anything is at ``path`` in the worktree itself (not beyond a link)."""
    try:
        return confined.lstat(worktree, path) is not None
    except confined.Blocked:
        return False


def put_reject(worktree: Path, file: SessionFile, left: list[str], *, sync: bool = True) -> None:
    """``file.rej`` holding the rejected hunks ``left``, or no ``.rej`` when none is left;
    through the confined writer (a .rej beyond a link is neither written nor removed)."""
    reject = file.path + ".rej"
    if not confined.reachable(worktree, reject):
        return  # beyond a link or a file, as apply leaves it: no .rej can be there
    if left:
        confined.write_file(
            worktree, reject, to_bytes(file.reject_header + "".join(left)), sync=sync
        )
    elif in_worktree(worktree, reject):
        confined.remove(worktree, reject)


def write_rejects(session: Session, paths: list[str]) -> list[str]:
    """Make each ``path.rej`` list exactly the file's rejected hunks without a resolution."""
    worktree = Path(session.worktree)
    resolved = {h.id for h in session.hunks if h.resolution is not None}
    wanted = set(paths)
    touched: list[str] = []
    for file in session.files:
        if file.path not in wanted or not file.rejects:
            continue
        left = [text for hunk_id, text in file.rejects if hunk_id not in resolved]
        put_reject(worktree, file, left, sync=False)
        touched.append(file.path + ".rej")
    return touched

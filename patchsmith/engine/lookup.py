"""Whether the patch's files are where ``-p`` and ``--tree`` say, and if not, where they are.

A wrong ``-p`` or a ``--tree`` that is a subdirectory (or a parent) of the tree's root turns every
file into ``missing-file``, or worse: a top-level ``Makefile`` looked up in ``drivers/`` finds
``drivers/Makefile`` and reports a "conflict" on a file the patch never meant. ``check`` and
``apply`` call :func:`diagnose` first; it costs one ``lstat`` per file, and only when most files
are missing does it try other strip levels and roots (the tree's parents and its folders).

The verdict "the lookup is wrong" needs two facts: most files the patch changes are absent at
the given level and root, and another level or root finds most of them, more than the given one
does. A patch of files the tree really lacks (a driver the vendor dropped) fails the second and
is reported file by file as before.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from patchsmith.patchfile.index import ChangeKind, FileEntry
from patchsmith.record import record

MOST = 0.5
"""More than this share of the files is "most"."""
STRIP_LEVELS = 4
"""Strip levels tried: 0 to 3 (a/, linux-6.1.4/, and a subdirectory or two below)."""
PARENTS = 3
"""How many parents of --tree are tried as the tree's root."""
FOLDERS = 64
"""How many folders of --tree are tried as the tree's root."""
SAMPLE = 64
"""How many of the patch's files every way is tried on before the best are counted in full."""


@record
class Lookup:
    """One way to look the patch's files up: a strip level and a tree root."""

    strip: int
    root: Path
    found: int


@record
class LookupDiagnosis:
    """Most of the patch's files are not where the options look; another way finds them."""

    given: Lookup
    better: Lookup
    total: int
    """Files the patch changes (new files aside: they need not exist)."""
    also: tuple[Path, ...] = ()
    """Other roots that find as many (two trees side by side: say both, choose neither)."""

    def message(self, tree: str) -> str:
        missing = self.total - self.given.found
        also = "".join(f" (or --tree {root})" for root in self.also)
        files = "file" if self.total == 1 else "files"
        found = "file" if self.better.found == 1 else "files"
        return (
            f"{missing} of {self.total} {files} the patch changes are not in {tree} at "
            f"-p{self.given.strip}: wrong -p, or --tree is not the tree's root? "
            f"with {self.suggestion()}{also} {self.better.found} {found} would be found"
        )

    def suggestion(self) -> str:
        parts = []
        if self.better.strip != self.given.strip:
            parts.append(f"-p{self.better.strip}")
        if self.better.root != self.given.root:
            parts.append(f"--tree {self.better.root}")
        return " ".join(parts)


def names_to_find(entries: Iterable[FileEntry]) -> list[str]:
    """The names (as in the patch) of the files that must exist for the patch to apply."""
    return [
        entry.old_name
        for entry in entries
        if entry.old_name is not None and entry.kind != ChangeKind.NEW
    ]


def _strip(name: str, strip: int) -> str | None:
    parts = [part for part in name.split("/") if part]
    if len(parts) <= strip or ".." in parts:
        return None
    return "/".join(parts[strip:])


def count_found(names: Sequence[str], root: Path, strip: int, enough: float | None = None) -> int:
    """How many of ``names``, stripped by ``strip``, name a file (or link) under ``root``: a
    folder, or a link to one, is not a file. With ``enough``, the count stops as soon as it
    is above ``enough`` (the caller only asks whether it is).

    One ``lstat`` per name on a string path (a second ``stat`` only for a link): ``check`` runs
    this on every file of the patch before predicting, and two calls through ``pathlib`` per
    name cost 20 ms of a kernel stable patch's check.
    """
    found = 0
    folder = os.fspath(root)
    for name in names:
        if enough is not None and found > enough:
            break
        path = _strip(name, strip)
        if path is None:
            continue
        full = os.path.join(folder, path)
        try:
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                mode = os.stat(full).st_mode  # where it points decides, as Path.is_dir() says
        except (OSError, ValueError):
            # Absent, or a link whose target cannot be reached (dangling, a loop): a
            # dangling link is there and is no folder, so it counts, as os.path.lexists had it.
            if not os.path.lexists(full):
                continue
            found += 1
            continue
        if not stat.S_ISDIR(mode):
            found += 1
    return found


def _folders(root: Path) -> list[Path]:
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and p.name != ".git")
    except OSError:
        return []
    return children[:FOLDERS]


def _roots(tree: Path) -> list[Path]:
    """--tree itself, then its parents, then its folders: the places a tree's root may be."""
    resolved = tree.absolute()
    parents = list(resolved.parents)[:PARENTS]
    return [resolved, *parents, *_folders(resolved)]


def diagnose(
    entries: Sequence[FileEntry],
    tree: Path,
    strip: int,
    whole: Sequence[FileEntry] | None = None,
) -> LookupDiagnosis | None:
    """A better strip level or root when most files are missing at ``strip`` under ``tree``.

    ``entries`` are the files the command will look up (the selected ones); ``whole`` the
    patch's, which break a tie: with ``--only drivers/md`` and ``--tree linux/drivers``, -p2
    finds the selected files as well as ``--tree linux`` does, but only the root finds the
    rest, and only the root keeps ``--only drivers/md`` meaning what it says.

    ``None`` when most files are found, when there is nothing to find, or when no other way
    finds most of them (then they are missing, and each is reported as such).
    """
    names = names_to_find(entries)
    total = len(names)
    if total == 0:
        return None
    root = tree.absolute()
    # Most files found: counted only until they are most (half of a stable patch's lstat
    # calls, before the prediction starts); the answer is the same.
    found = count_found(names, root, strip, enough=total * MOST)
    if found > total * MOST:
        return None
    every = names_to_find(whole) if whole is not None else names
    # A sample first: a kernel patch names a thousand files and --tree has dozens of folders;
    # only a way that finds a good part of the sample (a quarter: a sample can be unlucky) is
    # counted in full.
    sample = names[:: max(1, total // SAMPLE)]
    ways = [
        (candidate, level)
        for candidate in _roots(tree)
        for level in range(STRIP_LEVELS)
        if not (candidate == root and level == strip)
        and count_found(sample, candidate, level) > len(sample) * MOST / 2
    ]
    best: tuple[tuple[int, int, int], Lookup] | None = None
    also: list[Path] = []
    for candidate, level in ways:
        count = count_found(names, candidate, level)
        if count <= found or count <= total * MOST:
            continue
        # Then what finds more of the whole patch; then the --tree given (a name like
        # old/drivers/x.c is found at -p0 in the parent too, in the pristine old/ beside it);
        # then one change rather than two.
        overall = count if every is names else count_found(every, candidate, level)
        preference = 2 if candidate == root else 1 if level == strip else 0
        key = (count, overall, preference)
        if best is None or key > best[0]:
            best = (key, Lookup(level, candidate, count))
            also = []
        elif key == best[0] and level == best[1].strip:
            also.append(candidate)
    if best is None:
        return None
    return LookupDiagnosis(Lookup(strip, root, found), best[1], total, tuple(also))

"""The tree as a patch leaves it, for the classifier: the patch's Kbuild files applied in memory.

A patch that adds ``iter.c`` usually adds ``ib_core-y += iter.o`` to the Makefile beside it; a
classifier that reads only the tree says "no Kbuild line names iter.o". So before anything is
classified, the patch's own ``Makefile``, ``Kbuild`` and ``Kconfig`` hunks are applied to the
tree's files in memory, the files it creates are held with their content, the files it deletes
are gone, and for every other file it changes the lines it adds are available (an ``#include``
a hunk adds counts for the header scan). The tree itself is never written.

A hunk is applied only where its pre-image matches the tree's lines exactly (at the stated line,
else the nearest exact match): the vendor tree may differ from upstream's, and a Makefile guessed
with fuzz would make a guessed class. A hunk that does not apply is noted on the file
(:attr:`PatchedFile.problem`) and the file is read with the hunks that did.

What it makes is the classifier's :class:`~patchsmith.kernel.treefiles.TreeFiles`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patchsmith.kernel.treefiles import PatchedFile, TreeFiles
from patchsmith.patchfile.hunk import ADD, REMOVE, Hunk, parse_hunk
from patchsmith.patchfile.index import ChangeKind, LazyFiles, PatchIndex
from patchsmith.patchfile.names import decode_path
from patchsmith.patchfile.select import detect_strip, strip_components


def is_kbuild_file(path: str) -> bool:
    """Whether make or Kconfig reads ``path``: ``Makefile``, ``Kbuild``, ``Makefile.kvm``,
    ``Kbuild.platforms``, ``Kconfig``, ``Kconfig.debug``."""
    name = path.rpartition("/")[2]
    return name in ("Makefile", "Kbuild") or name.startswith(("Makefile.", "Kbuild.", "Kconfig"))


def patched_tree(
    index: PatchIndex, root: str | Path, strip: int | None = None, name: str = ""
) -> TreeFiles:
    """``root`` as ``index`` leaves it (see the module docstring). ``strip`` is the ``-p``
    level that makes the patch's names tree paths (detected when ``None``); ``name`` is what
    reasons call the patch."""
    level = strip if strip is not None else detect_strip(index)
    olds, news = _names(index, level)
    files = TreeFiles(root)
    patched: dict[str, PatchedFile] = {}
    modified: dict[str, list[int]] = {}
    for number, (old, new) in enumerate(zip(olds, news, strict=True)):
        if new is not None and old == new and not is_kbuild_file(new):
            modified.setdefault(new, []).append(number)  # read only if asked (additions)
            continue
        entry = index.files[number]
        if entry.kind == ChangeKind.BINARY:
            continue
        if new is None:
            if old is not None:
                patched[old] = PatchedFile(None)
            continue
        if old is not None and old != new and entry.kind == ChangeKind.RENAMED:
            patched[old] = PatchedFile(None)
        before = b"" if old is None else _current(files, patched, old)
        hunks = [parse_hunk(index, entry, hunk) for hunk in entry.hunks]
        patched[new] = _apply_exactly(before, hunks, patched.get(new) if old == new else None)

    made: dict[str, bytes] = {}

    def additions(path: str) -> bytes:
        found = made.get(path)
        if found is None:
            lines: list[bytes] = []
            for number in modified.get(path, ()):
                entry = index.files[number]
                for hunk in entry.hunks:
                    parsed = parse_hunk(index, entry, hunk)
                    lines.extend(
                        text for op, text in zip(parsed.ops, parsed.texts, strict=True) if op == ADD
                    )
            found = made[path] = b"".join(lines)
        return found

    return TreeFiles(files.root, patched, additions, patch_name=name, changed=modified)


def _names(index: PatchIndex, strip: int) -> tuple[list[str | None], list[str | None]]:
    """The tree paths of both sides of every file diff, from the names alone (a lazy index
    makes no entry for them)."""
    files = index.files
    if isinstance(files, LazyFiles):
        raw_olds, raw_news, _gits = files.raw_name_table()
        olds = [None if n is None else decode_path(n) for n in raw_olds]
        news = [None if n is None else decode_path(n) for n in raw_news]
    else:
        olds = [entry.old_name for entry in files]
        news = [entry.new_name for entry in files]
    return (
        [None if n is None else strip_components(n, strip) for n in olds],
        [None if n is None else strip_components(n, strip) for n in news],
    )


def _current(files: TreeFiles, patched: dict[str, PatchedFile], path: str) -> bytes:
    """What ``path`` holds before this file diff: an earlier diff of the input, or the tree."""
    earlier = patched.get(path)
    if earlier is not None:
        return earlier.data or b""
    try:
        return files.read(path)
    except OSError:
        return b""


def _apply_exactly(data: bytes, hunks: Sequence[Hunk], earlier: PatchedFile | None) -> PatchedFile:
    """``data`` with ``hunks`` applied where their pre-images match exactly (see the module
    docstring), the lines they add marked. ``earlier`` is what a previous diff of the same file
    in this input made of it: its additions still count."""
    lines: list[tuple[bytes, bool]] = [(line, False) for line in data.splitlines(keepends=True)]
    if earlier is not None and earlier.data is not None:
        lines = [
            (line, number in earlier.added_lines)
            for number, line in enumerate(earlier.data.splitlines(keepends=True), start=1)
        ]
    problems: list[str] = [earlier.problem] if earlier is not None and earlier.problem else []
    delta = 0
    for hunk in hunks:
        old = [_key(line) for line in hunk.old_lines]
        # Where the hunk starts in the original's 0-based lines: a pure insertion (old count 0)
        # goes after line old_start, anything else starts at it.
        stated = hunk.old_start - (0 if hunk.old_count == 0 else 1)
        at = find_exactly([_key(line) for line, _new in lines], old, max(stated + delta, 0))
        if at is None:
            problems.append(f"hunk #{hunk.number} does not apply exactly")
            continue
        replacement = [
            (text, op == ADD) for op, text in zip(hunk.ops, hunk.texts, strict=True) if op != REMOVE
        ]
        lines[at : at + len(old)] = replacement
        delta = at - stated + len(replacement) - len(old)
    added = frozenset(number for number, (_line, new) in enumerate(lines, start=1) if new)
    problem = "; ".join(problems) if problems else None
    return PatchedFile(b"".join(line for line, _new in lines), added, problem)


def _key(line: bytes) -> bytes:
    return line.rstrip(b"\r\n")


def find_exactly(keys: Sequence[bytes], old: Sequence[bytes], expected: int) -> int | None:
    """Where ``old`` matches ``keys`` exactly (lines without their endings): at ``expected``,
    else the nearest place; ``None`` when nowhere."""
    size = len(old)
    if size == 0:
        return min(expected, len(keys))
    wanted = list(old)
    if list(keys[expected : expected + size]) == wanted:
        return expected
    first = wanted[0]
    hits = [
        start
        for start in range(len(keys) - size + 1)
        if keys[start] == first and list(keys[start : start + size]) == wanted
    ]
    if not hits:
        return None
    return min(hits, key=lambda start: (abs(start - expected), start))


def line_key(line: bytes) -> bytes:
    """A line without its ending, as :func:`find_exactly` compares them."""
    return _key(line)

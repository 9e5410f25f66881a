"""Kbuild-aware selection: a path rule "keep files of these classes" and the warnings of a cut.

This joins the classifier (:mod:`patchsmith.kernel.classify`) to the patch selection
(:mod:`patchsmith.patchfile.select`): :class:`ClassRule` is a ``Selection.file_rules`` entry that
classifies each tree path on demand (so only the Makefiles on the patch's paths are read) and
remembers every answer for ``ls``, ``--explain`` and reports. :func:`selection_warnings` turns a
finished selection into the dependency and built-in-header warnings of
:mod:`patchsmith.kernel.deps`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from patchsmith.errors import UsageError
from patchsmith.kernel.classify import (
    Classification,
    FileClass,
    classify,
    include_closure,
    includers_of,
)
from patchsmith.kernel.config import load_config
from patchsmith.kernel.deps import (
    DependencyWarning,
    PatchHunk,
    cflags_warnings,
    dependency_warnings,
    include_warnings,
    kbuild_warnings,
    kconfig_warnings,
    number_warnings,
    unknown_warnings,
)
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.kernel.patched import find_exactly, line_key, patched_tree
from patchsmith.patchfile.entries import ChangeKind
from patchsmith.patchfile.hunk import parse_hunk
from patchsmith.patchfile.index import PatchIndex
from patchsmith.patchfile.select import SelectionResult

MODULES_ONLY = frozenset({FileClass.MODULE})


def parse_classes(text: str) -> frozenset[FileClass]:
    """``module,header`` → the classes; a clear error naming the valid ones otherwise."""
    classes: set[FileClass] = set()
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        try:
            classes.add(FileClass(word))
        except ValueError as error:
            valid = ", ".join(c.value for c in FileClass)
            raise UsageError(f"unknown class {word!r}", hint=f"classes are: {valid}") from error
    if not classes:
        raise UsageError("--class needs at least one class", hint="e.g. --class module,header")
    return frozenset(classes)


class Classifier:
    """Classifies tree paths under one tree and config, remembering every answer.

    With ``patch`` (the index being selected from) the tree is read as that patch leaves it
    (:mod:`patchsmith.kernel.patched`): its Kbuild hunks and new files count. ``strip`` is the
    ``-p`` level that makes its names tree paths (detected when ``None``).
    """

    def __init__(
        self,
        tree: str | Path,
        config: str | Path,
        arch: str | None = None,
        patch: PatchIndex | None = None,
        strip: int | None = None,
    ) -> None:
        files = None
        if patch is not None:
            name = patch.sources[0].name if patch.sources else ""
            files = patched_tree(patch, tree, strip, name=name)
        self.kbuild = KbuildTree(tree, load_config(config), arch, files=files)
        self.config_path = str(config)
        self.seen: dict[str, Classification] = {}
        self._texts: dict[str, bytes] = {}

    def __call__(self, path: str) -> Classification:
        found = self.seen.get(path)
        if found is None:
            found = classify(self.kbuild, [path])[path]
            self.seen[path] = found
        return found

    def sees(self, path: str, header: str) -> bool:
        """Whether the code of ``path`` sees ``header``: a ``.c`` file includes it, directly
        or not; a private header, or one of the ``.c`` files that include it, does."""
        if header == path or header in include_closure(self.kbuild, path):
            return True
        if not path.endswith(".h") or path.startswith("include/"):
            return False
        users = includers_of(self.kbuild, path).sources
        return any(header in include_closure(self.kbuild, source) for source in users)

    def unpatched(self, path: str) -> Classification:
        """The class of ``path`` on the tree before the patch."""
        return classify(self.kbuild.unpatched(), [path])[path]

    def mentions(self, path: str, names: tuple[str, ...]) -> bool:
        """Whether ``path`` as the patch leaves it (its lines and the ones the patch adds)
        names one of ``names`` as a word."""
        pattern = re.compile(rb"\b(?:%s)\b" % b"|".join(re.escape(n.encode()) for n in names))
        return pattern.search(self._text(path)) is not None

    def types_of(self, path: str, variable: str) -> frozenset[str]:
        """The struct tags (``struct dm_verity *v``) and ``_t`` typedef names ``variable`` is
        declared with anywhere in ``path`` as the patch leaves it; empty when none is found."""
        name = re.escape(variable.encode())
        # struct dm_verity *v    const struct foo *const v    demo_t *v    (then , ; = ) or [)
        pattern = re.compile(
            rb"(?:\bstruct\s+([A-Za-z_]\w*)|\b([A-Za-z_]\w*_t))\s*(?:\*\s*(?:const\s+)?)*"
            rb"\b%s\s*[,;=)\[]" % name
        )
        return frozenset(
            (match.group(1) or match.group(2)).decode("ascii")
            for match in pattern.finditer(self._text(path))
        )

    def _text(self, path: str) -> bytes:
        found = self._texts.get(path)
        if found is None:
            files = self.kbuild.files
            try:
                data = files.read(path)
            except OSError:
                data = b""
            found = self._texts[path] = data + b"\n" + files.additions(path)
        return found

    def classify_all(self, paths: Iterable[str]) -> dict[str, Classification]:
        missing = [p for p in paths if p not in self.seen]
        if missing:
            self.seen.update(classify(self.kbuild, missing))
        return {p: self.seen[p] for p in paths}


class ClassRule:
    """A ``Selection.file_rules`` entry: keep files whose class is in ``keep``."""

    def __init__(self, classifier: Classifier, keep: frozenset[FileClass]) -> None:
        self.classifier = classifier
        self.keep = keep

    @property
    def description(self) -> str:
        """The rule as typed: ``--modules-only`` or ``--class module,header``."""
        kinds = sorted(kind.value for kind in self.keep)
        return "--modules-only" if kinds == ["module"] else f"--class {','.join(kinds)}"

    def __call__(self, path: str) -> str | None:
        found = self.classifier(path)
        if found.kind in self.keep:
            return None
        return f"class {found.kind.value}: {found.reason}"

    def unknown_left_out(self, result: SelectionResult) -> list[tuple[str, int, str]]:
        """(path, first hunk, why) of each file of ``result`` this rule left out because its
        class is unknown (one another rule left out first is not this rule's doing)."""
        if FileClass.UNKNOWN in self.keep:
            return []
        found: list[tuple[str, int, str]] = []
        for decision in result.decisions:
            if decision.selected or decision.tree_path in {p for p, _h, _w in found}:
                continue
            cls = self.classifier.seen.get(decision.tree_path)
            if cls is None or cls.kind != FileClass.UNKNOWN:
                continue  # never asked (a path rule decided), or not unknown
            if decision.tree_path.rpartition("/")[2].startswith("."):
                continue  # .gitignore, .clang-format: nothing Kbuild compiles or reads
            if decision.reason != self(decision.tree_path):
                continue
            hunks = decision.entry.hunks
            found.append((decision.tree_path, hunks[0].number if hunks else 1, cls.reason))
        return found


def selection_warnings(
    result: SelectionResult,
    classes: dict[str, Classification] | None = None,
    classifier: Classifier | None = None,
) -> list[DependencyWarning]:
    """The selection warnings for what ``result`` keeps and leaves out (see
    :mod:`patchsmith.kernel.deps`), numbered and grouped by file: what kept hunks depend on,
    and the files a class rule left out without knowing their class.

    With ``classifier``, left-out hunks are placed in the tree's files (to know whether a line
    is a member, a global or a local), private headers are seen only by their includers, and
    ``classes`` default to its answers.
    """
    unknown: list[DependencyWarning] = []
    for rule in result.selection.file_rules:
        if isinstance(rule, ClassRule):
            keeping = ",".join(sorted({kind.value for kind in rule.keep} | {"unknown"}))
            unknown += unknown_warnings(
                rule.unknown_left_out(result), rule.description, f"--class {keeping}"
            )
    index = result.index
    kept: list[PatchHunk] = []
    left_out: list[PatchHunk] = []
    kept_paths: list[str] = []
    partial: set[str] = set()
    for decision in result.decisions:
        entry = decision.entry
        chosen = set(decision.kept) if decision.selected else set()
        if decision.selected:
            kept_paths.append(decision.tree_path)
        for hunk in entry.hunks:
            item = PatchHunk(decision.tree_path, parse_hunk(index, entry, hunk))
            if hunk.number in chosen:
                kept.append(item)
            else:
                left_out.append(item)
                partial.add(decision.tree_path)
    if not kept_paths:
        return number_warnings(unknown, kept_paths)
    if classes is None and classifier is not None:
        classes = classifier.classify_all([d.tree_path for d in result.decisions])
    sees = classifier.sees if classifier is not None else None
    before = _TreeLines(classifier.kbuild.root) if classifier is not None else None
    mentions = classifier.mentions if classifier is not None else None
    types_of = classifier.types_of if classifier is not None else None
    warnings = dependency_warnings(kept, left_out, classes, sees, before, mentions, types_of)
    warnings += kconfig_warnings(kept, left_out, classes)
    warnings += cflags_warnings(kept, left_out, classes)
    if classifier is not None:
        warnings += include_warnings(kept, _made_left_out(result, classifier), classifier.sees)
    if classes is not None:
        unpatched = classifier.unpatched if classifier is not None else None
        warnings += kbuild_warnings(kept_paths, frozenset(partial), classes, unpatched)
    return number_warnings(warnings + unknown, kept_paths)


def _made_left_out(result: SelectionResult, classifier: Classifier) -> dict[str, int]:
    """The files only a left-out diff of ``result`` makes (created, or renamed or copied to)
    that the tree does not have, each with the diff's first hunk number."""
    root = classifier.kbuild.root
    made: dict[str, int] = {}
    for decision in result.decisions:
        entry = decision.entry
        if decision.selected or entry.kind not in _MAKES_A_FILE:
            continue
        if os.path.lexists(os.path.join(root, decision.tree_path)):
            continue
        made.setdefault(decision.tree_path, entry.hunks[0].number if entry.hunks else 1)
    return made


_MAKES_A_FILE = frozenset({ChangeKind.NEW, ChangeKind.RENAMED, ChangeKind.COPIED})


class _TreeLines:
    """The lines of a tree file above where a hunk's pre-image is, found exactly."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[list[bytes], list[bytes]] | None] = {}

    def __call__(self, item: PatchHunk) -> list[bytes] | None:
        if item.path not in self.files:
            try:
                lines = (self.root / item.path).read_bytes().splitlines(keepends=True)
                self.files[item.path] = (lines, [line_key(line) for line in lines])
            except OSError:
                self.files[item.path] = None
        found = self.files[item.path]
        hunk = item.hunk
        if found is None:
            return [] if hunk.old_count == 0 and hunk.old_start == 0 else None
        lines, keys = found
        old = [line_key(line) for line in hunk.old_lines]
        stated = hunk.old_start - (0 if hunk.old_count == 0 else 1)
        at = find_exactly(keys, old, max(stated, 0))
        return None if at is None else lines[:at]

"""Selecting parts of a patch with filterdiff's rules, and writing them out byte-exact.

Meanings follow patchutils' ``filterdiff`` so muscle memory works:

* ``-i``/``-x`` globs are ``fnmatch`` without ``FNM_PATHNAME`` (``*`` crosses ``/``), matched
  against filterdiff's "best name" of a file diff (the side with the fewest path components,
  then the shortest basename; the old name on a tie) after stripping ``-p N`` components.
  An exclude wins whatever the order (``git apply --include`` is first-match instead).
* ``--hunks``/``--lines``/``--files`` take ranges like ``1,3-5,7-``; a leading ``x`` inverts.
  Hunks are numbered per file, files across the whole input.
* When hunks are left out, the ``+new`` start of every later kept hunk is renumbered, as
  filterdiff does, so the output still applies.

Two things go beyond filterdiff: ``--only DIR`` matches a directory whatever the path prefix
(``a/``, ``linux-2.6.16.29/`` or none, detected from the patch), and hunk-less entries (a mode
change, an empty new file, a binary) are selectable by name, where filterdiff silently drops or
keeps them whatever the pattern.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from operator import is_

from patchsmith.errors import UsageError
from patchsmith.patchfile.index import (
    DiffFormat,
    FileEntry,
    HunkEntry,
    LazyFiles,
    PatchIndex,
    PausedGarbageCollector,
)
from patchsmith.patchfile.names import decode_path, encode_path
from patchsmith.record import record
from patchsmith.typing_shim import overload

# Top-level directories of a kernel tree: a first path component that is one of these is a tree
# path, not a prefix such as "a/" or "linux-2.6.16.29/".
KERNEL_TOP_DIRS = frozenset(
    "Documentation LICENSES arch block certs crypto drivers fs include init io_uring ipc "
    "kernel lib mm net rust samples scripts security sound tools usr virt".split()
)


@record
class RangeSet:
    """A filterdiff range list such as ``1,3-5,7-``; ``x1-2`` is everything but 1 and 2."""

    spans: tuple[tuple[int, int | None], ...]
    inverted: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str, what: str = "range") -> RangeSet:
        body = text.strip()
        inverted = body.startswith("x")
        if inverted:
            body = body[1:]
        spans: list[tuple[int, int | None]] = []
        for part in body.split(","):
            # 3   3-5   7-   -4
            match = re.fullmatch(r"(\d*)(-?)(\d*)", part.strip())
            if match is None or not part.strip() or (not match.group(1) and not match.group(3)):
                raise UsageError(
                    f"bad {what} {text!r}",
                    hint="use numbers and ranges separated by commas, e.g. 1,3-5,7- (x1 inverts)",
                )
            low = int(match.group(1)) if match.group(1) else 1
            if match.group(2):
                high = int(match.group(3)) if match.group(3) else None
            else:
                high = low
            if high is not None and high < low:
                raise UsageError(f"bad {what} {text!r}: {low}-{high} is empty")
            spans.append((low, high))
        return cls(tuple(spans), inverted, text)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        hit = any(low <= number and (high is None or number <= high) for low, high in self.spans)
        return hit != self.inverted

    def overlaps(self, first: int, last: int) -> bool:
        """Whether any number in ``first..last`` is selected (for ``--lines``)."""
        if self.inverted:
            return any(n in self for n in range(first, last + 1))
        return any(low <= last and (high is None or first <= high) for low, high in self.spans)


def strip_components(name: str, count: int) -> str:
    """``name`` without its first ``count`` path components (``-p``); as-is when too short."""
    if count <= 0:
        return name
    if count == 1:  # the common case (a/, b/, linux-6.1.4/), without building a list
        _first, slash, rest = name.partition("/")
        return rest if slash else name
    parts = name.split("/")
    if len(parts) <= count:
        return parts[-1]
    return "/".join(parts[count:])


def best_name(entry: FileEntry) -> str:
    """filterdiff's choice of the name to match: fewest components, then shortest basename."""
    return _best_name(entry.old_name, entry.new_name)


def _best_name(old: str | None, new: str | None) -> str:
    if old is None or new is None or old == new:
        return old if old is not None else new if new is not None else ""
    # min() of the two with this key would do; written out, it runs once per file of a 40 MB
    # patch. The old name wins a tie, as min() would choose it.
    old_key = (old.count("/"), len(old) - old.rfind("/") - 1, len(old))
    new_key = (new.count("/"), len(new) - new.rfind("/") - 1, len(new))
    return new if new_key < old_key else old


def detect_strip(index: PatchIndex) -> int:
    """The ``-p`` level that turns the patch's names into tree paths, by a vote over its files.

    git's ``a/``/``b/`` prefixes and ``diff -urN old-tree new-tree`` names (first components
    differ) vote 1; git ``--no-prefix`` and names starting with a kernel top-level directory
    vote 0.
    """
    if isinstance(index.files, LazyFiles):
        return _detect_strip(*index.files.raw_name_table())
    files = index.files
    return _detect_strip(
        [_encode_or_none(f.old_name) for f in files],
        [_encode_or_none(f.new_name) for f in files],
        [f.git for f in files],
    )


# KERNEL_TOP_DIRS as bytes: strip detection votes on the names' bytes, undecoded.
_KERNEL_TOP_DIRS_RAW = frozenset(encode_path(name) for name in KERNEL_TOP_DIRS)


def _detect_strip(
    olds: Sequence[bytes | None], news: Sequence[bytes | None], gits: Sequence[bool]
) -> int:
    """:func:`detect_strip` over the raw names (:meth:`LazyFiles.raw_name_table`).

    Every file casts one vote and 1 needs more than half of them, so the count stops as soon
    as either side has its majority (0 wins a tie): the 15,000 files of a 40 MB patch all vote
    alike, and counting the second half cost 5 ms of ``filter``.
    """
    if _all_vote_one(olds, news, gits):
        return 1
    count = len(olds)
    ones_needed = count // 2 + 1
    zeros_needed = count - count // 2
    ones = zeros = 0
    for one in _votes(olds, news, gits):
        if one:
            ones += 1
            if ones == ones_needed:
                return 1
        else:
            zeros += 1
            if zeros == zeros_needed:
                return 0
    return 0


def _all_vote_one(
    olds: Sequence[bytes | None], news: Sequence[bytes | None], gits: Sequence[bool]
) -> bool:
    """Whether every file votes for ``-p1`` in :func:`_detect_strip`, shown with a few
    searches in C rather than a vote per file (``diff -urN linux-6.1.4 linux-6.1.180`` and git's
    ``a/``/``b/`` patches, where the 7,500 votes up to a majority cost 5-7 ms of ``filter``).

    It is so when every old name there is starts with one folder P and every new name with one
    folder Q, neither P nor Q is a kernel top-level folder, P and Q are ``a`` and ``b`` if any
    file diff is a git one, and no file diff lacks both names. Then, by :func:`_votes`, a file
    with both names votes 1 (git: ``a/`` and ``b/``; otherwise the new name's folder is not a
    kernel one), and a file with one name votes 1 (it has a folder, not a kernel one). Whatever
    falls outside that shape is ``False`` here and counted vote by vote.
    """
    count = len(olds)
    present_olds = [name for name in olds if name is not None]
    present_news = [name for name in news if name is not None]
    if not present_olds or not present_news:
        return False
    if len(present_olds) < count and len(present_news) < count and any(map(is_, olds, news)):
        return False  # a file diff may have neither name (and votes 0)
    old_top, new_top = _common_top(present_olds), _common_top(present_news)
    if old_top is None or new_top is None:
        return False
    if old_top in _KERNEL_TOP_DIRS_RAW or new_top in _KERNEL_TOP_DIRS_RAW:
        return False
    return (old_top, new_top) == (b"a", b"b") or not any(gits)


def _common_top(names: list[bytes]) -> bytes | None:
    """The first folder every one of ``names`` starts with, or ``None`` when they do not all
    start with the first one's (or it has none).

    Counted over the names joined by NULs: an occurrence of NUL, the folder and "/" starts at
    a NUL, which is where a name starts as long as no name holds a NUL (the scanner refuses
    such names; the count of NULs checks it here too).
    """
    top, slash, _rest = names[0].partition(b"/")
    if not slash:
        return None
    joined = b"\0" + b"\0".join(names)
    if joined.count(b"\0") != len(names) or joined.count(b"\0" + top + b"/") != len(names):
        return None
    return top


def _ones(olds: Sequence[bytes | None], news: Sequence[bytes | None], gits: Sequence[bool]) -> int:
    """How many of :func:`_votes` are for ``-p1``.

    When no file diff is a git one and each names the same file on both sides (a ``-p0``
    patch: ``diff -N`` names a new file's missing side by its own name), a file votes 1 when
    its name has a folder that is not a kernel top-level one: one search over the names
    joined by NULs counts those (no name holds a NUL), where a vote per file cost 8 ms.
    """
    if any(gits) or olds != news:
        return sum(_votes(olds, news, gits))
    joined = b"\0" + b"\0".join(b"" if name is None else name for name in news)
    return sum(1 for _ in _FOREIGN_TOP.finditer(joined))


# A name (after the NUL that joins it to the one before) whose first folder is not a kernel
# top-level one: linux-6.1/Makefile, not drivers/md/dm.c or Makefile.
_FOREIGN_TOP = re.compile(
    rb"\0(?!(?:%s)/)[^/\0]*/" % b"|".join(re.escape(d) for d in sorted(_KERNEL_TOP_DIRS_RAW))
)


def _votes(
    olds: Sequence[bytes | None], news: Sequence[bytes | None], gits: Sequence[bool]
) -> Iterator[bool]:
    """Whether each file diff with these raw names votes for ``-p1`` in :func:`_detect_strip`.

    One generator rather than a function per file: it runs over every file of a ``-p0``
    patch (:func:`_settled_strip`), where a call per file cost 4 ms.
    """
    tops = _KERNEL_TOP_DIRS_RAW
    for old, new, git in zip(olds, news, gits, strict=True):
        if old is not None and new is not None and (git or (b"/" in old and b"/" in new)):
            old_top, new_top = old.partition(b"/")[0], new.partition(b"/")[0]
            if git:
                yield old_top == b"a" and new_top == b"b"
            else:
                # diff -urN old-tree/x new-tree/x; the same first folder votes as one name;
                # a name with a folder that is not a kernel top-level one votes 1 (linux-6.1/x)
                yield old_top != new_top or new_top not in tops
        else:
            name = new if new is not None else old
            yield name is not None and b"/" in name and name.partition(b"/")[0] not in tops


def _settled_strip(
    files: LazyFiles, olds: list[bytes | None], news: list[bytes | None], gits: list[bool]
) -> int | None:
    """:func:`_detect_strip` of the file diffs as taken (:class:`LazyFiles`), settling as few
    of the unsettled pairs as it takes to know it is the level of the settled list too; or
    ``None`` when one of them is not a header (then ``files`` was read again, every pair
    counted: ask again).

    A pair that is not a header only takes its own vote away (the file diff it was taken to
    end keeps its names), and the level is 1 when more files vote 1 than 0. Votes against the
    level that go away only make it surer; votes for it that go away could turn it. So the
    level holds if it holds without every vote for it that is still unsettled, and enough of
    those are settled to make it so. On a ``-p0`` kernel patch every file diff is unsettled
    and all but a few vote 0: a few are counted here.
    """
    unsettled = files.unsettled
    if not unsettled:
        return _detect_strip(olds, news, gits)
    count = len(olds)
    ones = _ones(olds, news, gits)
    level = 1 if ones > count - ones else 0
    against = count - ones if level else ones
    # Were every unsettled file for the level, and none settled, would it still hold?
    if against + level <= (ones if level else count - ones) - len(unsettled):
        return level
    votes = list(_votes(olds, news, gits))
    supporting = [n for n in sorted(unsettled) if votes[n] == level]
    backing = (ones if level else count - ones) - len(supporting)  # settled, for it
    # 1 needs more settled votes for it than against, 0 at least as many.
    needed = against + level - backing
    if needed > 0 and not files.settle(supporting[:needed]):
        files.settle_all()  # reads it again
        return None
    return level


def _encode_or_none(name: str | None) -> bytes | None:
    return None if name is None else encode_path(name)


def _decode_or_none(name: bytes | None) -> str | None:
    return None if name is None else decode_path(name)


@record
class Selection:
    """What to keep. An empty selection keeps everything."""

    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    match_strip: int = 0
    """filterdiff ``-p``: components stripped before matching globs (not in the output)."""
    only: tuple[str, ...] = ()
    """``--only DIR``: tree-relative directories (or files) to keep."""
    strip: int | None = None
    """The strip level that makes names tree paths (for ``--only``); ``None`` detects it."""
    hunks: RangeSet | None = None
    files: RangeSet | None = None
    lines: RangeSet | None = None
    invert: bool = False
    """Keep exactly the files the path rules (globs, ``--only``, ``--files``) would leave out."""
    file_rules: tuple[Callable[[str], str | None], ...] = field(default=())
    """Extra per-file rules over the tree path (Kbuild classes): a reason to leave it out, or
    ``None`` to keep it. Added by :mod:`patchsmith.kernel` front ends."""


def describe(selection: Selection) -> tuple[str, ...]:
    """The rules of ``selection`` as a user would type them (for sessions and reports).

    A ``file_rules`` entry describes itself through a ``description`` attribute when it has one
    (the Kbuild class rule says ``--modules-only`` or ``--class module,header``).
    """
    rules: list[str] = [f"-i {p}" for p in selection.includes]
    rules += [f"-x {p}" for p in selection.excludes]
    rules += [f"--only {d}" for d in selection.only]
    for flag, ranges in (
        ("--files", selection.files),
        ("--hunks", selection.hunks),
        ("--lines", selection.lines),
    ):
        if ranges is not None:
            rules.append(f"{flag} {ranges.text}")
    if selection.match_strip:
        rules.append(f"-p {selection.match_strip}")
    if selection.invert:
        rules.append("--invert")
    for rule in selection.file_rules:
        description = getattr(rule, "description", None)
        if isinstance(description, str):
            rules.append(description)
    return tuple(rules)


@record
class FileDecision:
    """What the selection did with one file diff."""

    entry: FileEntry
    tree_path: str
    """The path in the tree (names stripped by the detected or given level)."""
    kept: tuple[int, ...]
    """Numbers of the kept hunks (all of them when the file is kept whole)."""
    reason: str | None
    """Why the file was left out, or ``None`` when it is kept."""
    hunk_reasons: tuple[tuple[int, str], ...] = ()
    """(hunk number, why) for each hunk left out of a kept file."""

    @property
    def selected(self) -> bool:
        return self.reason is None

    @property
    def whole(self) -> bool:
        return self.selected and len(self.kept) == len(self.entry.hunks)


@record
class SelectionResult:
    """What a selection kept and left out of an index, file by file."""

    index: PatchIndex
    selection: Selection
    strip: int
    decisions: Sequence[FileDecision]
    """One per file diff, in input order: a tuple, or for a path-only selection over a lazy
    index a :class:`LazyDecisions`."""

    @property
    def kept(self) -> tuple[FileDecision, ...]:
        if isinstance(self.decisions, LazyDecisions):
            return tuple(self.decisions[i] for i in self.decisions.selected)
        return tuple(d for d in self.decisions if d.selected)

    @property
    def left_out(self) -> tuple[FileDecision, ...]:
        return tuple(d for d in self.decisions if not d.selected)


class LazyDecisions(Sequence[FileDecision]):
    """The decisions of a selection by path only (no ``--hunks``/``--lines``) over a
    :class:`LazyFiles` index, each made when first looked at.

    The reasons are decided up front from the names alone; a :class:`FileDecision` needs the
    file's entry, which ``filter`` never makes for the thousands of files it leaves out.
    """

    __slots__ = ("_cache", "_generation", "_reasons", "_strip", "files", "selected")

    def __init__(self, files: LazyFiles, strip: int, reasons: list[str | None]) -> None:
        self.files = files
        self._generation = files.generation
        self._strip = strip
        self._reasons = reasons
        self.selected = tuple(i for i, reason in enumerate(reasons) if reason is None)
        """0-based numbers of the kept file diffs, in order."""
        self._cache: dict[int, FileDecision] = {}

    def _still_valid(self) -> None:
        """Refuse once the file list was read again: the numbers here name what it held
        before (a ``bytes_only`` selection left pairs unsettled, and something then needed
        them all: a bug in the caller, never a silent wrong answer)."""
        self.files.settle_all()
        if self.files.generation != self._generation:
            raise RuntimeError("the selection was made over file diffs since read again")

    def __len__(self) -> int:
        self._still_valid()
        return len(self._reasons)

    @overload
    def __getitem__(self, item: int) -> FileDecision: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[FileDecision, ...]: ...

    def __getitem__(self, item: int | slice) -> FileDecision | tuple[FileDecision, ...]:
        if isinstance(item, slice):
            return tuple(self[i] for i in range(*item.indices(len(self))))
        self._still_valid()
        number = item + len(self._reasons) if item < 0 else item
        decision = self._cache.get(number)
        if decision is None:
            entry = self.files[number]
            reason = self._reasons[number]
            kept = tuple(h.number for h in entry.hunks) if reason is None else ()
            tree_path = strip_components(entry.path, self._strip)
            decision = self._cache[number] = FileDecision(entry, tree_path, kept, reason)
        return decision

    def __iter__(self) -> Iterator[FileDecision]:
        return (self[i] for i in range(len(self)))


def _compile_globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One regular expression matching what any of ``fnmatch.fnmatchcase(name, p)`` matches."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


class _PathRules:
    """The path rules of a selection, compiled once for a pass over thousands of file diffs."""

    def __init__(self, selection: Selection, strip: int) -> None:
        self.selection = selection
        self.strip = strip
        self.includes = _compile_globs(selection.includes)
        self.excludes = _compile_globs(selection.excludes)
        only = sorted({d.strip("/") for d in selection.only})
        if "" in only:
            # An empty directory matched only the empty name a missing side (/dev/null) joins
            # as: "--only /" kept the new and deleted files and left out every other one.
            raise UsageError(
                "--only needs a directory or a file of the tree, not an empty name or '/'",
                hint="to keep every file, leave --only out",
            )
        # --only drivers/md keeps a tree path that is drivers/md or starts with drivers/md/.
        # Matched on the names' bytes, every directory in one call per name.
        dirs = b"|".join(re.escape(encode_path(d)) for d in only)
        self.only = re.compile(rb"(?:%s)(?:/|\Z)" % dirs) if only else None
        # The same over names joined by NULs (no name holds one: the scanner refuses it), each
        # after its NUL: one search finds the few kept names among 28,000 (:meth:`under_only`).
        self.only_joined = re.compile(rb"\0(?:%s)(?=[/\0]|\Z)" % dirs) if only else None
        # Stripping one component, the directories anywhere in the joined names: a literal
        # search, where a pattern that steps over each name's first folder tried every one of
        # the 15,000 names (3 ms a side); each hit is then kept only where the stripped name
        # starts (:meth:`_after_first_folder`).
        self.only_anywhere = re.compile(rb"(?:%s)(?=[/\0]|\Z)" % dirs) if only else None
        self.include_reason = "-i " + " -i ".join(selection.includes)
        self.only_reason = "--only " + " --only ".join(selection.only)

    def reason(self, entry: FileEntry) -> str | None:
        """Why the path rules leave ``entry`` out, or ``None`` when they keep it."""
        return self.reason_for(entry.number, entry.old_name, entry.new_name)

    def reason_for(self, number: int, old_name: str | None, new_name: str | None) -> str | None:
        """:meth:`reason` for file diff ``number`` (1-based) with these names."""
        reason = self._name_reason(number, old_name, new_name)
        if reason is not None or self.only is None:
            return reason
        names = [_encode_or_none(old_name), _encode_or_none(new_name)]
        return None if self.under_only(names) else self.only_reason

    def reasons(
        self, olds: Sequence[bytes | None], news: Sequence[bytes | None]
    ) -> list[str | None]:
        """:meth:`reason_for` of every file diff, from the raw names of
        :meth:`LazyFiles.raw_name_table`; names are decoded only for ``--files`` and globs."""
        count = len(olds)
        reasons: list[str | None] = [None] * count
        if self.only is not None:
            reasons = [self.only_reason] * count
            kept = self.under_only(olds)
            if news != olds:  # a -p0 patch names each file alike on both sides: one search
                kept |= self.under_only(news)
            for number in kept:
                reasons[number] = None
        if (
            self.selection.files is not None
            or self.includes is not None
            or self.excludes is not None
        ):
            for number, (old, new) in enumerate(zip(olds, news, strict=True), start=1):
                # These rules come before --only: their reason replaces its reason.
                why = self._name_reason(number, _decode_or_none(old), _decode_or_none(new))
                if why is not None:
                    reasons[number - 1] = why
        return reasons

    def _name_reason(self, number: int, old_name: str | None, new_name: str | None) -> str | None:
        """Why ``--files`` or the globs leave file diff ``number`` out, or ``None``."""
        selection = self.selection
        if selection.files is not None and number not in selection.files:
            return f"--files {selection.files.text}"
        if self.includes is not None or self.excludes is not None:
            matched = strip_components(_best_name(old_name, new_name), selection.match_strip)
            if self.excludes is not None and self.excludes.match(matched):
                pattern = next(p for p in selection.excludes if fnmatch.fnmatchcase(matched, p))
                return f"-x {pattern}"
            if self.includes is not None and not self.includes.match(matched):
                return self.include_reason
        return None

    def _after_first_folder(self, joined: bytes) -> list[int]:
        """Where in ``joined`` (names each after a NUL) a name stripped of one component starts
        with an ``--only`` directory: after the name's first "/", or at its start when it has
        no "/" (``strip_components`` leaves such a name whole). Every position a directory
        matches at is looked at, overlapping ones too (``a/b`` at a name's start hides no
        ``b`` after it)."""
        assert self.only_anywhere is not None
        search = self.only_anywhere.search
        starts: list[int] = []
        hit = search(joined)
        while hit is not None:
            at = hit.start()
            name = joined.rfind(b"\0", 0, at) + 1
            if at == name:
                end = joined.find(b"\0", at)
                whole = joined.find(b"/", at, end if end >= 0 else len(joined)) < 0
                if whole:
                    starts.append(at)
            elif joined[at - 1] == 0x2F and joined.find(b"/", name, at - 1) < 0:  # "/"
                starts.append(at)
            hit = search(joined, at + 1)
        return starts

    def under_only(self, names: Sequence[bytes | None]) -> set[int]:
        """The positions in ``names`` (raw bytes) of those whose tree path (the name stripped by
        the strip level) is an ``--only`` path or under one."""
        assert self.only is not None
        match = self.only.match
        if self.only_joined is not None and self.only_anywhere is not None and self.strip < 2:
            # One search over the names joined by NULs rather than a match per name; the NULs
            # before a hit say which name it is in (counted from one hit to the next: one pass
            # over the few kept names' span). None joins as an empty name, which no directory
            # matches.
            joined = b"\0" + b"\0".join([b"" if name is None else name for name in names])
            if self.strip == 0:
                hits = [hit.start() + 1 for hit in self.only_joined.finditer(joined)]
            else:
                hits = self._after_first_folder(joined)
            kept: set[int] = set()
            number, counted = -1, 0
            for at in hits:
                number += joined.count(b"\0", counted, at)
                counted = at
                kept.add(number)
            return kept
        return {
            i
            for i, name in enumerate(names)
            if name is not None
            and match(encode_path(strip_components(decode_path(name), self.strip)))
        }


def select(index: PatchIndex, selection: Selection, bytes_only: bool = False) -> SelectionResult:
    """Decide, for every file diff and hunk, whether it is kept and why not.

    ``bytes_only``: the caller only writes the kept file diffs' bytes (:func:`render` with no
    ``strip``, ``verbose`` or ``clean``) and looks at no decision. Then a lazy index settles
    only the pairs that could change those bytes (:func:`_select_paths`).
    """
    with PausedGarbageCollector():  # one decision per file: no cycles, many objects
        return _select(index, selection, bytes_only)


def _select(index: PatchIndex, selection: Selection, bytes_only: bool) -> SelectionResult:
    files = index.files
    if isinstance(files, LazyFiles) and selection.hunks is None and selection.lines is None:
        return _select_paths(index, files, selection, bytes_only)
    strip = selection.strip if selection.strip is not None else detect_strip(index)
    rules = _PathRules(selection, strip)
    decisions: list[FileDecision] = []
    for entry in index.files:
        tree_path = strip_components(entry.path, strip)
        reason = rules.reason(entry)
        if selection.invert:
            reason = None if reason is not None else "--invert: matched the path rules"
        if reason is None:
            for rule in selection.file_rules:
                reason = rule(tree_path)
                if reason is not None:
                    break
        kept: list[int] = []
        hunk_reasons: list[tuple[int, str]] = []
        if reason is None:
            for hunk in entry.hunks:
                why = _hunk_reason(hunk, selection)
                if why is None:
                    kept.append(hunk.number)
                else:
                    hunk_reasons.append((hunk.number, why))
            has_hunk_rules = selection.hunks is not None or selection.lines is not None
            if has_hunk_rules and not kept:
                reason = "no hunk selected by --hunks/--lines"
        decisions.append(FileDecision(entry, tree_path, tuple(kept), reason, tuple(hunk_reasons)))
    return SelectionResult(index, selection, strip, tuple(decisions))


def _select_paths(
    index: PatchIndex, files: LazyFiles, selection: Selection, bytes_only: bool
) -> SelectionResult:
    """:func:`_select` when only the path rules decide, from the names alone (``filter``).

    With ``bytes_only``, file diffs that start at a ``---``/``+++`` pair after a hunk are
    taken as the scan found them (:class:`LazyFiles`), and only the pairs that could change
    the bytes written are settled. A pair that is not a header (a removed ``-- x`` and an
    added ``++ y`` line) would take away the file diff it seemed to start, that file's names,
    and one from the number of every later file; the file diff before it would run on over
    it. Nothing else changes: every other file keeps its names. So the kept files and their
    bytes are those of the settled list when (1) no number is asked for (``--files``: all
    are settled), (2) the strip level is one no unsettled pair can change
    (:func:`_settled_strip`), (3) every kept file's start and end is settled: a kept file is
    not one that vanishes, and the one before a vanishing file is not kept. Kbuild rules read
    the whole patch: all are settled for them.
    """
    if not bytes_only or selection.files is not None or selection.file_rules:
        files.settle_all()
    olds, news, gits = files.raw_name_table(settled=False)
    if selection.strip is not None:
        strip = selection.strip
    else:
        detected = _settled_strip(files, olds, news, gits)
        if detected is None:  # a pair was hunk lines: files was read again, counting them all
            return _select_paths(index, files, selection, bytes_only)
        strip = detected
    reasons = _PathRules(selection, strip).reasons(olds, news)
    if selection.invert:
        reasons = [None if r is not None else "--invert: matched the path rules" for r in reasons]
    if selection.file_rules:
        for number, reason in enumerate(reasons):
            if reason is not None:
                continue
            name = news[number] if news[number] is not None else olds[number]
            tree_path = strip_components(decode_path(name) if name is not None else "", strip)
            for rule in selection.file_rules:
                reason = rule(tree_path)
                if reason is not None:
                    reasons[number] = reason
                    break
    decisions = LazyDecisions(files, strip, reasons)
    if files.unsettled:
        around = [n for kept in decisions.selected for n in (kept, kept + 1)]
        if not files.settle(around):
            files.settle_all()  # reads it again: every number above may have moved
            return _select_paths(index, files, selection, bytes_only)
        if any(_bare_context_hunk_in(_bytes_of(index, files, n)) for n in decisions.selected):
            # render() makes the entry of such a file, and an entry needs every pair settled.
            generation = files.generation
            files.settle_all()
            if files.generation != generation:
                return _select_paths(index, files, selection, bytes_only)
    for number in decisions.selected:
        files.check(number)  # what reading a kept file's hunks checks (their counts)
    return SelectionResult(index, selection, strip, decisions)


def _bytes_of(index: PatchIndex, files: LazyFiles, number: int) -> bytes:
    source, start, end = files.span(number)
    return index.sources[source].data[start:end]


def _hunk_reason(hunk: HunkEntry, selection: Selection) -> str | None:
    if selection.hunks is not None and hunk.number not in selection.hunks:
        return f"--hunks {selection.hunks.text}"
    if selection.lines is not None:
        last = hunk.old_start + max(hunk.old_count, 1) - 1
        if not selection.lines.overlaps(hunk.old_start, last):
            return f"--lines {selection.lines.text}"
    return None


# --- output ---------------------------------------------------------------------------------------

# The patterns only -p, --strip, --clean and --hunks renumbering need are compiled on their first
# use (by re's own cache): compiling them cost every filter 0.5 ms of its start-up.
# @@ -10,2 +11,3 @@ int f(void)      (groups: prefix up to '+', the new start, the rest)
_NEW_START = rb"^(@@ -\d+(?:,\d+)? \+)(\d+)"
# @@ -10,2 +11,3 @@ int f(void)      (group: what follows the closing "@@", line ending included)
_SECTION = rb"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@([^\r\n]*)"
# --- 11,13 ----                      (a context hunk's new range: first and last line)
_CONTEXT_NEW = rb"(?m)^--- (\d+)(?:,(\d+))? ----"
_CONTEXT_SEPARATOR = b"***************"


def render(
    result: SelectionResult, strip: int = 0, verbose: bool = False, clean: bool = False
) -> Iterator[bytes]:
    """The selected part of the patch as bytes, in input order.

    Kept whole files are the original bytes, but for context hunks that follow another without
    a ``***************`` line (:func:`_bare_context_hunks`). ``strip`` (filterdiff ``--strip``)
    rewrites the names on header lines; left-out hunks renumber later ones. ``verbose`` keeps
    every line that is not part of a diff (filterdiff ``-v``); otherwise only file diffs are
    written. ``clean`` (filterdiff ``--clean``) drops the text after a unified hunk's ``@@``.
    """
    index = result.index
    decisions = result.decisions
    if isinstance(decisions, LazyDecisions) and strip == 0 and not verbose and not clean:
        # Every kept file is kept whole (no hunk rules): its bytes, without making its entry.
        for number in decisions.selected:
            source, start, end = decisions.files.span(number)
            chunk = index.sources[source].data[start:end]
            if _bare_context_hunk_in(chunk):
                yield from _render_file(index, decisions[number], 0)
            else:
                yield chunk
        return
    by_source: dict[int, list[FileDecision]] = {}
    for decision in result.decisions:
        by_source.setdefault(decision.entry.source, []).append(decision)
    for number in range(len(index.sources)):
        for decision in by_source.get(number, []):
            if verbose:
                yield index.lead(decision.entry)
            if decision.selected:
                yield from _render_file(index, decision, strip, clean)
        if verbose:
            yield index.trailer(number)


def _render_file(
    index: PatchIndex, decision: FileDecision, strip: int, clean: bool = False
) -> Iterator[bytes]:
    entry = decision.entry
    data = index.sources[entry.source].data
    rewritten = (clean and entry.format == DiffFormat.UNIFIED) or _bare_context_hunks(entry, data)
    if decision.whole and strip == 0 and not rewritten:
        yield data[entry.start : entry.end]
        return
    header = index.file_header(entry)
    yield _strip_header(header, entry, strip) if strip else header
    shift = 0
    kept = set(decision.kept)
    for hunk in entry.hunks:
        if hunk.number not in kept:
            shift -= hunk.new_count - hunk.old_count
            continue
        raw = data[hunk.start : hunk.end]
        if entry.format == DiffFormat.UNIFIED:
            if shift:
                raw = _renumber(raw, hunk.new_start + shift)
            if clean:
                raw = _without_section(raw)
        elif entry.format == DiffFormat.CONTEXT:
            if shift:
                raw = _renumber_context(raw, shift)
            if not raw.startswith(_CONTEXT_SEPARATOR):
                crlf = raw.split(b"\n", 1)[0].endswith(b"\r")
                raw = _CONTEXT_SEPARATOR + (b"\r\n" if crlf else b"\n") + raw
        yield raw


# *** 12,17 ****     (a context hunk's old range, at the start of a line of a file diff)
_CONTEXT_OLD_RANGE_LINE = re.compile(rb"\n\*\*\* \d+(?:,\d+)? \*\*\*\*")


def _bare_context_hunk_in(chunk: bytes) -> bool:
    """Whether the file diff ``chunk`` (one whose hunks were checked) may hold a context hunk
    without its ``***************`` line, read from its bytes without making its entry.

    "\\n*** " is in a context diff only (unified hunk lines start with " ", "+", "-"). In a
    checked context file diff every hunk starts at its old range line, after a separator line
    or bare; each separator line is followed by a range line, and no other line starts with
    ``*** N ****``. So as many separators as range lines means none is bare. A file named like
    a range (``*** 1 ****`` as the header) only counts one more range: the careful way, then.
    """
    if b"\n*** " not in chunk:
        return False
    ranges = sum(1 for _ in _CONTEXT_OLD_RANGE_LINE.finditer(chunk))
    return ranges != chunk.count(b"\n" + _CONTEXT_SEPARATOR)


def _bare_context_hunks(entry: FileEntry, data: bytes) -> bool:
    """Whether a context hunk of ``entry`` follows another without its ``***************`` line.

    SUSv2 allows it; GNU patch stops reading the file diff there and applies the hunks before
    it without a word, so such hunks are written with the separator, as filterdiff writes them.
    """
    return entry.format == DiffFormat.CONTEXT and any(
        not data.startswith(_CONTEXT_SEPARATOR, hunk.start) for hunk in entry.hunks
    )


def _renumber(hunk: bytes, new_start: int) -> bytes:
    match = re.match(_NEW_START, hunk)
    if match is None:
        return hunk
    return match.group(1) + str(new_start).encode() + hunk[match.end() :]


def _renumber_context(hunk: bytes, shift: int) -> bytes:
    """A context hunk with its ``--- N,M ----`` range moved by ``shift`` lines (filterdiff's
    renumbering, so the output still applies); an empty new part (``--- 0 ----``) stays."""
    match = re.search(_CONTEXT_NEW, hunk)
    if match is None or match.group(1) == b"0":
        return hunk
    first = int(match.group(1)) + shift
    last = b"" if match.group(2) is None else b",%d" % (int(match.group(2)) + shift)
    return hunk[: match.start()] + b"--- %d%s ----" % (first, last) + hunk[match.end() :]


def _without_section(hunk: bytes) -> bytes:
    """A unified hunk without the text after its header's closing ``@@`` (``--clean``)."""
    match = re.match(_SECTION, hunk)
    if match is None or not match.group(1):
        return hunk
    return hunk[: match.start(1)] + hunk[match.end(1) :]


def _strip_header(header: bytes, entry: FileEntry, strip: int) -> bytes:
    """Rewrite the names on ``diff --git``/``---``/``+++``/``***`` lines (filterdiff --strip)."""
    out: list[bytes] = []
    for line in header.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        ending = line[len(body) :]
        if body.startswith(b"diff --git "):
            old = entry.old_name if entry.old_name is not None else entry.new_name or ""
            new = entry.new_name if entry.new_name is not None else entry.old_name or ""
            body = b"diff --git %s %s" % (
                encode_path(strip_components(old, strip)),
                encode_path(strip_components(new, strip)),
            )
        elif body.startswith(b"diff "):
            # diff -urN old/y/b.c new/y/b.c: the last two words are the names
            words = body.split(b" ")
            if len(words) >= 3:
                words[-2:] = [
                    encode_path(strip_components(w.decode("utf-8", "surrogateescape"), strip))
                    for w in words[-2:]
                ]
                body = b" ".join(words)
        elif body.startswith((b"--- ", b"+++ ", b"*** ")) and not body.startswith(b"--- /dev/null"):
            marker, rest = body[:4], body[4:]
            name, tab, stamp = rest.partition(b"\t")
            if name and name != b"/dev/null" and not name.startswith(b'"'):
                stripped = strip_components(name.decode("utf-8", "surrogateescape"), strip)
                body = marker + encode_path(stripped) + tab + stamp
        out.append(body + ending)
    return b"".join(out)

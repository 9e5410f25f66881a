"""The scanner: finds where every file diff and hunk of one input starts and ends, and checks them.

A kernel patch can be tens of megabytes, so nothing here builds per-line objects. The scanner
jumps between header lines with compiled regular expressions and checks hunk bodies by counting
line prefixes in C (``bytes.count``); it walks a hunk line by line only when the counts do not
settle it (a mail signature after the last hunk, a malformed hunk).

:class:`_Scanner` reads one input, eagerly (:class:`FileEntry` records with their hunks) or
lazily: a plain file diff (the common header of a git, ``diff -u``/quilt or ``diff -c`` file
diff) is left as the match of its header, for :class:`~patchsmith.patchfile.index.LazyFiles`,
and the hunks of other git file diffs as :class:`LazyHunks`. The lazy scan checks that every
line of a file diff is a hunk line and jumps from one header to the next; it counts no hunk.
A ``---``/``+++`` pair with no ``diff`` line above it that follows a hunk may be a removed
``-- x`` and an added ``++ y`` line of it: the lazy scan takes it as a header and leaves it
unsettled (``settle_pairs``), for :class:`~patchsmith.patchfile.index.LazyFiles` to count the
hunk before it where that matters (:func:`_pair_starts_file`). :class:`LazyHunks` is here and not
with the records because it and the scanner make each other: the scanner makes one for a
file diff, and reading one runs the scanner. :class:`_Lines` and :class:`_LineIndex` turn byte
offsets into line numbers; the index's lazy file list and the mail splitter
(:mod:`patchsmith.patchfile.mbox`) use them too.
The underscore names are private to :mod:`patchsmith.patchfile`, not to this module.

The scanner's loops run once per hunk on 40 MB patches: every name they use is a global of this
module (``from ... import name``), never an attribute looked up through another module.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.entries import ChangeKind, DiffFormat, FileEntry, HunkEntry
from patchsmith.patchfile.names import (
    _git_line_names,
    _header_name,
    decode_path,
    encode_path,
    unquote_c,
)
from patchsmith.patchfile.source import PatchSource
from patchsmith.typing_shim import overload

# --- regular expressions; each comment shows a line it matches ---------------------------------

# diff --git a/drivers/md/dm.c b/drivers/md/dm.c
# diff -urN linux-2.6.16.28/drivers/md/dm.c linux-2.6.16.29/drivers/md/dm.c
# --- a/drivers/md/dm.c
# *** drivers/md/dm.c.orig	2006-09-12 20:02:10.000000000 +0200
_FILE_START = re.compile(rb"^(?:diff |--- |\*\*\* )", re.M)

# @@ -1,5 +1,6 @@ static int dm_table_add_target(struct dm_table *t, const char *type,
# @@ -0,0 +1 @@
_UNIFIED_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?([^\r\n]*)")

# @@ -12,3 +12,4 @@   (only "is there a hunk header here", for the garbage check)
_ANY_HUNK_HEADER = re.compile(rb"^@@ -\d", re.M)

# The first line that cannot continue a unified hunk body: anything not starting with ' ', '+',
# '-', '\', or an empty line ("\n", "\r\n"), plus the next hunk or file header. It is matched
# with the newline before it, searching from just before a line start: a literal first character
# lets the regex engine skip between newlines, where "^" with re.M tries every byte (3x slower).
_BODY_STARTS = (b" ", b"+", b"-", b"\\")
"""The first bytes of a unified hunk's body lines (a line after a complete hunk that starts so
is looked at closely)."""

_BODY_STOP = re.compile(rb"\n(?:[^ +\-\\\r\n]|@@ |--- |\+\+\+ |\r[^\n])")

# The common git file diff's header, read in one match (anything else takes the general path);
# group 1 is all of it after "diff --git ", 2 "new"/"deleted", 3 its mode, 4 the index value,
# 5 and 6 the names:
# diff --git a/drivers/md/dm.c b/drivers/md/dm.c
# new file mode 100644                        (or "deleted file mode 100644", or neither)
# index 4a3e1c2..9b8d7f0 100644
# --- a/drivers/md/dm.c
# +++ b/drivers/md/dm.c
# @@ -1,5 +1,6 @@
_PLAIN_HEADER = (
    rb"([^\r\n]*\n"
    rb"(?:(new|deleted) file mode ([0-7]+)\n)?"
    rb"(?:index ([0-9a-f]+\.\.[0-9a-f]+(?: [0-7]+)?)\n)?"
    rb"--- ([^\t\r\n \"\x00]+)\n"
    rb"\+\+\+ ([^\t\r\n \"\x00]+)\n"
    rb"(?=@@ ))"
)
_PLAIN_AT = re.compile(rb"diff --git " + _PLAIN_HEADER)

# In the hunks of a lazily read git file diff, the next line that is not a hunk line, with the
# newline before it (a literal first character lets the regex engine skip between newlines,
# and each branch starting with a literal or a class lets it skip that branch in one test):
# group 1, the next plain git header (above); group 7, another "diff --git" line; no group, a
# line that neither a hunk body nor a hunk header can be ("@x" too), or a ---/+++ pair. Then
# the text up to the next "diff --git" is not all hunks (mail text, a non-git diff), and the
# general path decides where the diff ends. An empty line stops too: it is a context line only
# if the counts say so (git writes " " for one). One pass of this over the input finds every
# file boundary and checks every line between them.
_LAZY_NEXT = re.compile(
    rb"\n(?:diff --git (?:" + _PLAIN_HEADER + rb"|())|[^ +\-\\@]|@(?!@ )|--- [^\n]*\n\+\+\+ )"
)
_GIT_GROUP = 7

# A name on a ---/+++/*** line, up to the tab before diff's timestamp (a name with a space, a
# quote or a NUL, or a CRLF line, takes the general path: it reads and judges those).
_NAME_AND_STAMP = rb"([^\t\r\n \"\x00]+)(?:\t[^\r\n]*)?\n"

# The common non-git unified file diff's header, read in one match: groups 1 and 2 are the
# names when a "diff" line leads it, 3 and 4 when it has none:
# diff -urN linux-6.1.4/drivers/md/dm.c linux-6.1.180/drivers/md/dm.c     (or no such line)
# --- linux-6.1.4/drivers/md/dm.c	2023-01-07 10:12:04.000000000 +0000
# +++ linux-6.1.180/drivers/md/dm.c	2025-07-30 10:59:53.000000000 +0000
# @@ -1,5 +1,6 @@
_UNIFIED_WITH_DIFF = (
    rb"diff (?!--git )[^\n]*\n--- " + _NAME_AND_STAMP + rb"\+\+\+ " + _NAME_AND_STAMP + rb"(?=@@ )"
)
_UNIFIED_PAIR = _NAME_AND_STAMP + rb"\+\+\+ " + _NAME_AND_STAMP + rb"(?=@@ )"  # after "--- "
_UNIFIED_AT = re.compile(_UNIFIED_WITH_DIFF + rb"|--- " + _UNIFIED_PAIR)

# In the hunks of a lazily read non-git unified file diff, the next line that is not a hunk
# line (as _LAZY_NEXT, each branch starting with a literal or a class): groups 1-2 or 3-4, the
# next file's header (above); group 5, a ---/+++ pair that is not one (a name with a space, or
# a removed "-- x" and an added "++ y" line); no group, any line a hunk cannot hold ("diff
# -urN", "Index:", "Only in", "Binary files", mail text, "@x"), or an empty line. A header
# without a "diff" line may be the last two lines of a hunk whose next hunk follows ("-- x",
# "++ y"): the counts of the hunk before it decide.
_UNIFIED_NEXT = re.compile(
    rb"\n(?:"
    + _UNIFIED_WITH_DIFF
    + rb"|--- (?:"
    + _UNIFIED_PAIR
    + rb"|()[^\n]*\n\+\+\+ )|[^ +\-\\@]|@(?!@ ))"
)
_WITH_DIFF_GROUP, _PAIR_GROUP = 2, 4
"""``lastindex`` of a header led by a "diff" line, and of one that is only the pair."""

# The common context-format file diff's header, read in one match: groups 1 and 2 are the
# names when a "diff" line leads it, 3 and 4 when it has none:
# diff -crN linux-6.1.4/drivers/md/dm.c linux-6.1.180/drivers/md/dm.c     (or no such line)
# *** linux-6.1.4/drivers/md/dm.c	2023-01-07 10:12:04.000000000 +0000
# --- linux-6.1.180/drivers/md/dm.c	2025-07-30 10:59:53.000000000 +0000
# ***************
_CONTEXT_HEADER = (
    rb"diff (?!--git )[^\n]*\n\*\*\* "
    + _NAME_AND_STAMP
    + rb"--- "
    + _NAME_AND_STAMP
    + rb"(?=\*{15})|\*\*\* "
    + _NAME_AND_STAMP
    + rb"--- "
    + _NAME_AND_STAMP
    + rb"(?=\*{15})"
)
_CONTEXT_AT = re.compile(_CONTEXT_HEADER)

# The last character of a line that may be a mail signature ("--", "-- "), before its newline.
_SIGNATURE_TAILS = b"- \r"


# *** 1,5 ****        --- 1,6 ----       *** 0 ****
_CONTEXT_OLD_RANGE = re.compile(rb"\*\*\* (\d+)(?:,(\d+))? \*\*\*\*")
_CONTEXT_NEW_RANGE = re.compile(rb"--- (\d+)(?:,(\d+))? ----")

# The lines that continue a context-format hunk:
#   int x;       ! int x;       + int x;       - int x;       \ No newline at end of file
# *** 1,5 ****       --- 1,6 ----        (and an empty line)
_CONTEXT_LINE = rb"  |! |\+ |- |\\|\*\*\* \d+(?:,\d+)? \*\*\*\*|--- \d+(?:,\d+)? ----|\r?\n"

# The first line that cannot continue a context-format hunk, with the newline before it (searched
# from just before a line start, as _BODY_STOP).
_CONTEXT_STOP = re.compile(rb"\n(?!" + _CONTEXT_LINE + rb")")

# In the hunks of a lazily read context-format file diff, the next line that is not a hunk line
# (those of _CONTEXT_STOP, and the row of stars that starts the next hunk), where the file diff
# ends as the eager scan's does: context hunks have no counts to check, so no line is ambiguous;
# then, in groups 1-4, the next file's header (_CONTEXT_AT) when one starts there. The header is
# tried only after a line the lookahead stops at (header branches tried at every line cost a
# third more), and in the same match: one finditer walks a whole run of file diffs, where a
# search for the stop and a match for the header per file cost 15-30 ms of a 53 MB patch.
_CONTEXT_NEXT = re.compile(rb"\n(?!" + _CONTEXT_LINE + rb"|\*{15})(?:" + _CONTEXT_HEADER + rb")?")

_GIT_PATTERNS = frozenset((_PLAIN_AT, _LAZY_NEXT))
"""The patterns whose matches are plain git headers (the others' are non-git ones)."""
_CONTEXT_PATTERNS = frozenset((_CONTEXT_AT, _CONTEXT_NEXT))
"""The patterns whose matches are context-format headers."""

# git's extended header lines, in the order git writes them.
_GIT_HEADERS = (
    b"old mode ",
    b"new mode ",
    b"deleted file mode ",
    b"new file mode ",
    b"copy from ",
    b"copy to ",
    b"rename from ",
    b"rename to ",
    b"similarity index ",
    b"dissimilarity index ",
    b"index ",
)


class _Lines:
    """Line-number bookkeeping for monotonic byte offsets."""

    def __init__(self, data: bytes, pos: int = 0, line: int = 1) -> None:
        """Count from ``pos``, known to be the start of input line ``line``."""
        self.data = data
        self._anchor = (pos, line)
        self._pos = pos
        self._line = line

    def at(self, pos: int) -> int:
        if pos < self._pos:
            self._pos, self._line = self._anchor if pos >= self._anchor[0] else (0, 1)
        self._line += self.data.count(b"\n", self._pos, pos)
        self._pos = pos
        return self._line


class _LineIndex(_Lines):
    """Line numbers of byte offsets asked for in any order, for lazily read entries.

    Each answer is counted from the nearest offset already answered below it, so reading the
    entries of a patch in order counts its lines once, and ``filter``, which asks for none,
    counts nothing.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._offsets = [0]
        self._numbers = [1]

    def at(self, pos: int) -> int:
        slot = bisect.bisect_right(self._offsets, pos) - 1
        base = self._offsets[slot]
        line = self._numbers[slot] + self.data.count(b"\n", base, pos)
        if pos != base:
            self._offsets.insert(slot + 1, pos)
            self._numbers.insert(slot + 1, line)
        return line


def _body_counts(data: bytes, start: int, end: int, old: int, new: int) -> tuple[int, int] | None:
    """The added and removed lines of ``data[start:end]``, a run of whole unified hunk lines
    (none empty), when they are exactly a hunk of ``old`` old and ``new`` new lines; else
    ``None``.

    Counted in C (``bytes.count`` over the range, no copy) rather than line by line: the
    scanner's hot path.
    """
    if end <= start:
        return (0, 0) if old == new == 0 else None
    total = data.count(b"\n", start, end) + (0 if data.endswith(b"\n", start, end) else 1)
    first = data[start]
    # A last line cut to its first byte ("...\n+" at the end of the input) is a line of that
    # kind, as the line-by-line walk reads it: not a context line.
    plus = data.count(b"\n+", start, end) + (first == 0x2B)
    minus = data.count(b"\n-", start, end) + (first == 0x2D)
    marks = data.count(b"\n\\", start, end) + (first == 0x5C)
    context = total - plus - minus - marks
    if context + minus == old and context + plus == new and marks <= 2:
        return plus, minus
    return None


def _without_last(run: list[re.Match[bytes]]) -> tuple[list[re.Match[bytes]], int]:
    """A run of plain file diffs less its last, which needs the general path, and where the
    rest ends (where that one starts)."""
    return run, _start_of(run.pop())


def _start_of(header: re.Match[bytes]) -> int:
    """Where the file diff of a plain header match starts: a header found by a ``_..._NEXT``
    pattern was matched with the newline before it."""
    start = header.start()
    return start + 1 if header.string[start] == 0x0A else start


def _plain_names(header: re.Match[bytes]) -> tuple[bytes, bytes]:
    """The two names of a non-git header match (unified or context), as the patch's bytes."""
    first = 1 if header.group(1) is not None else 3  # 1 and 2 when led by a "diff" line
    return header.group(first), header.group(first + 1)


PlainFields = tuple[str | None, str | None, tuple[tuple[str, str], ...], ChangeKind, DiffFormat]
"""A plain header's old and new name, git headers, change kind and hunk format."""


def _plain_fields(header: re.Match[bytes]) -> PlainFields:
    """What the general path reads from the header a plain-run pattern matched, with no second
    look at the bytes: the names (``None`` for ``/dev/null``, or the side a git ``new``/
    ``deleted file mode`` line leaves out), the git headers, the kind and the format."""
    headers: tuple[tuple[str, str], ...] = ()
    if header.re in _GIT_PATTERNS:
        flag, mode, index, old_raw, new_raw = header.group(2, 3, 4, 5, 6)
        if flag is not None:
            headers += ((flag.decode() + " file mode", mode.decode()),)
        if index is not None:
            headers += (("index", decode_path(index)),)
        fmt = DiffFormat.UNIFIED
    else:
        flag = None
        old_raw, new_raw = _plain_names(header)
        fmt = DiffFormat.CONTEXT if header.re in _CONTEXT_PATTERNS else DiffFormat.UNIFIED
    old_name = None if old_raw == b"/dev/null" or flag == b"new" else decode_path(old_raw)
    new_name = None if new_raw == b"/dev/null" or flag == b"deleted" else decode_path(new_raw)
    if old_name is None:
        kind = ChangeKind.NEW
    elif new_name is None:
        kind = ChangeKind.DELETED
    else:
        kind = ChangeKind.MODIFIED
    return old_name, new_name, headers, kind, fmt


def _after_signature(data: bytes, end: int) -> bool:
    """Whether the line just before ``end`` is a mail signature's "--" (not a removed line)."""
    last_line = data[data.rfind(b"\n", 0, end - 1) + 1 : end]
    return last_line.rstrip(b"\r\n") in (b"--", b"-- ")


def _pair_starts_file(data: bytes, first_hunk: int, end: int) -> bool:
    """Whether the ``---``/``+++`` pair at ``end`` (followed by a hunk) starts a file diff,
    rather than being a removed ``-- x`` and an added ``++ y`` line that end the last hunk
    of the file diff whose hunks start at ``first_hunk``.

    It starts one when that hunk is complete at ``end`` by its counts, or cannot hold the
    pair (it removes or adds nothing). Every line up to ``end`` starts with " ", "+", "-",
    "\\" or is an ``@@`` header (:data:`_UNIFIED_NEXT` stops at any other), so three counts
    in C settle it. A hunk with more lines than its counts is neither: the general path
    reports it.
    """
    header = data.rfind(b"\n@@ ", first_hunk, end) + 1 or first_hunk
    body = data.find(b"\n", header, end) + 1
    match = _UNIFIED_HUNK.match(data, header, body) if body else None
    if match is None:
        return False
    old_count, new_count = match.group(2, 4)
    old = 1 if old_count is None else int(old_count)
    new = 1 if new_count is None else int(new_count)
    if old == 0 or new == 0:
        # A new file's hunk removes nothing and a deleted file's adds nothing: neither can
        # end in a removed "-- x" and an added "++ y" line.
        return True
    # Each line counted by the newline before it: the header's ends the range's first.
    context = data.count(b"\n ", body - 1, end - 1)
    removed = data.count(b"\n-", body - 1, end - 1)
    added = data.count(b"\n+", body - 1, end - 1)
    return context + removed == old and context + added == new


class _Scanner:
    """Scans one input. Positions are byte offsets into ``data``."""

    def __init__(
        self,
        source: PatchSource,
        source_number: int,
        first_file_number: int,
        lazy: bool = False,
        settle_pairs: bool = True,
    ) -> None:
        self.source = source
        self.data = source.data
        self.size = len(source.data)
        self.number = source_number
        self.next_file = first_file_number
        self.lines: _Lines = _LineIndex(self.data) if lazy else _Lines(self.data)
        self.files: list[FileEntry] = []
        self.lazy = lazy
        """Read the hunks of git file diffs on first use (:class:`LazyHunks`), and leave plain
        git file diffs as the matches of their headers in ``plain`` (:class:`LazyFiles`)."""
        self.found = 0
        self.plain: list[re.Match[bytes] | FileEntry] = []
        """Lazy mode: every file diff, in order (a plain git one as its header's match)."""
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.leads: list[int] = []
        self.settle_pairs = settle_pairs
        """Lazy mode: decide now whether each ``---``/``+++`` pair after a hunk starts a file
        diff (:meth:`pair_starts_file`); without it the pair is taken to start one and its
        number goes to ``unsettled``, for :class:`LazyFiles` to settle where that matters."""
        self.unsettled: list[int] = []
        self.old_names: list[bytes | None] = []
        """Lazy mode: each file diff's old name as the patch's bytes (``None`` when the file is
        new), then its new name and whether it is a git diff: read here a run at a time,
        for :meth:`LazyFiles.raw_name_table`."""
        self.new_names: list[bytes | None] = []
        self.git_flags: list[bool] = []
        """Lazy mode, without ``settle_pairs``: the numbers (positions in ``plain``) of the
        file diffs that start at such a pair, not yet settled."""

    # -- helpers ---------------------------------------------------------------------------------

    def line_end(self, pos: int) -> int:
        """Offset just past the line starting at ``pos`` (its newline included)."""
        end = self.data.find(b"\n", pos)
        return self.size if end < 0 else end + 1

    def line(self, pos: int) -> bytes:
        return self.data[pos : self.line_end(pos)]

    def error(self, pos: int, message: str, hint: str | None = None) -> PatchParseError:
        return PatchParseError(message, source=self.source.name, line=self.lines.at(pos), hint=hint)

    # -- the scan ----------------------------------------------------------------------------------

    def scan(self) -> int:
        """Find every file diff; return how many. Eager mode fills ``files``, lazy mode
        ``plain``, ``starts``, ``ends`` and ``leads``."""
        pos = 0
        lead_start = 0
        while pos < self.size:
            match = _FILE_START.search(self.data, pos)
            if match is None:
                break
            candidate = match.start()
            if self.lazy:
                run_end = self.plain_run(candidate, lead_start)
                if run_end is not None:
                    lead_start = pos = run_end
                    continue
            parsed = self.file_at(candidate, lead_start)
            if parsed is None:
                pos = self.line_end(candidate)
                continue
            self.check_interstitial(lead_start, candidate)
            if self.lazy:
                self.plain.append(parsed)
                old, new = parsed.old_name, parsed.new_name
                self.old_names.append(None if old is None else encode_path(old))
                self.new_names.append(None if new is None else encode_path(new))
                self.git_flags.append(parsed.git)
                self.starts.append(parsed.start)
                self.ends.append(parsed.end)
                self.leads.append(lead_start)
            else:
                self.files.append(parsed)
            self.found += 1
            lead_start = pos = parsed.end
        self.check_interstitial(lead_start, self.size)
        return self.found

    def check_interstitial(self, start: int, end: int) -> None:
        """Text between file diffs is kept, but a hunk header there has lost its file header."""
        match = _ANY_HUNK_HEADER.search(self.data, start, end)
        if match is not None and self.found:
            raise self.stray_hunk_error(match.start())

    def stray_hunk_error(self, pos: int) -> PatchParseError:
        return self.error(
            pos,
            "hunk header outside any file diff: text between hunks that is not a header",
            hint="the patch was probably edited by hand or pasted; every hunk must follow the "
            "previous hunk directly or a ---/+++ file header",
        )

    def file_at(self, pos: int, lead_start: int) -> FileEntry | None:
        """Parse a file diff starting at ``pos``, or ``None`` if the line only looks like one."""
        data = self.data
        # Lazy mode counts no lines while scanning: LazyFiles fills in the real number.
        first_line = 0 if self.lazy else self.lines.at(pos)
        git = data.startswith(b"diff --git ", pos)
        if git and not self.lazy:
            plain = _PLAIN_AT.match(data, pos)
            if plain is not None:  # the common git header, read in one match as a lazy scan does
                return self.plain_file(plain, lead_start, first_line)
        binary_line = False
        old_name: str | None = None
        new_name: str | None = None
        headers: list[tuple[str, str]] = []
        cursor = pos
        if data.startswith(b"diff ", pos):
            first = self.line(pos)
            cursor = pos + len(first)
            if git:
                old_name, new_name = _git_line_names(first[len(b"diff --git ") :])
                cursor = self.git_headers(cursor, headers)
            names = self.name_pair(cursor)
            if names is not None:
                old_name, new_name, cursor, fmt = names
            elif git:
                fmt = DiffFormat.NONE
            else:
                marker = self.line(cursor)
                if marker.startswith(b"Binary files "):
                    cursor += len(marker)
                    fmt = DiffFormat.NONE
                    binary_line = True
                    old_name, new_name = self.names_from_diff_command(first)
                else:
                    return None  # a "diff ..." line in prose, or "diff -r" with only "Only in"
        else:
            names = self.name_pair(pos)
            if names is None:
                return None
            old_name, new_name, cursor, fmt = names

        if git:
            old_name, new_name = self.apply_git_headers(headers, old_name, new_name)
        for name in (old_name, new_name):
            if name is not None and "\0" in name:
                raise self.error(
                    pos,
                    f"a file name holds a NUL byte: {name!r}",
                    hint="no file system allows one in a name: the patch is damaged, or made "
                    "to mislead",
                )
        hunks: list[HunkEntry] = []
        lazy_hunks: LazyHunks | None = None
        binary = binary_line
        if fmt == DiffFormat.NONE and not binary:
            nxt = self.line(cursor)
            if nxt.startswith(b"GIT binary patch"):
                cursor = self.git_binary(cursor + len(nxt))
                binary = True
            elif nxt.startswith(b"Binary files ") and nxt.rstrip().endswith(b"differ"):
                cursor += len(nxt)
                binary = True
        elif fmt == DiffFormat.UNIFIED:
            end = self.lazy_end(cursor) if git and self.lazy else None
            if end is not None:
                assert isinstance(self.lines, _LineIndex)
                lazy_hunks = LazyHunks(self.source, self.number, self.lines, cursor, end)
                cursor = end
            else:
                cursor = self.unified_hunks(cursor, hunks)
        else:
            cursor = self.context_hunks(cursor, hunks)
        entry_hunks: Sequence[HunkEntry] = lazy_hunks if lazy_hunks is not None else tuple(hunks)
        if git and not binary and fmt != DiffFormat.NONE and not entry_hunks:
            fmt = DiffFormat.NONE

        kind = self.kind_of(old_name, new_name, headers, binary, entry_hunks)
        entry = FileEntry(
            number=self.next_file,
            source=self.number,
            lead_start=lead_start,
            start=pos,
            end=cursor,
            line=first_line,
            old_name=old_name,
            new_name=new_name,
            git=git,
            headers=tuple(headers),
            kind=kind,
            format=fmt if entry_hunks else DiffFormat.NONE,
            hunks=entry_hunks,
        )
        self.next_file += 1
        return entry

    def plain_file(self, header: re.Match[bytes], lead_start: int, line: int) -> FileEntry:
        """The file diff of a plain git header (:data:`_PLAIN_AT`), hunks read now."""
        old_name, new_name, headers, kind, fmt = _plain_fields(header)
        hunks: list[HunkEntry] = []
        end = self.unified_hunks(header.end(), hunks)
        entry = FileEntry(
            number=self.next_file,
            source=self.number,
            lead_start=lead_start,
            start=header.start(),
            end=end,
            line=line,
            old_name=old_name,
            new_name=new_name,
            git=True,
            headers=headers,
            kind=kind,
            format=fmt,
            hunks=tuple(hunks),
        )
        self.next_file += 1
        return entry

    # -- lazy git file diffs -----------------------------------------------------------------------

    def plain_run(self, pos: int, lead_start: int) -> int | None:
        """Read the run of plain file diffs of one style starting at ``pos`` (a git, non-git
        unified or context-format header read in one match, and hunks up to the next such
        header); return where it ends, or ``None`` when the diff at ``pos`` needs the general
        path.

        One ``finditer`` walks the whole run: each match is the next file's header, and any
        other match is a line that is not a hunk line, where the run ends. Nothing per file is
        built here but the match (:class:`LazyFiles` makes entries), and no hunk is counted but
        the last one of a non-git unified file diff whose successor has no ``diff`` line.
        """
        data = self.data
        first = _PLAIN_AT.match(data, pos)
        unsettled: list[int] = []
        if first is not None:
            run, end = self.git_run(first)
        elif (first := _UNIFIED_AT.match(data, pos)) is not None:
            run, end = self.unified_run(first, unsettled)
        elif (first := _CONTEXT_AT.match(data, pos)) is not None:
            run, end = self.context_run(first)
        else:
            return None
        if not run:
            return None
        self.check_interstitial(lead_start, pos)
        starts = [pos]  # each but the first matched with the newline before it (_start_of)
        starts += [match.start() + 1 for match in run[1:]]
        base, count = len(self.plain), len(run)
        self.unsettled += [base + number for number in unsettled if number < count]
        self.names_of(run)
        self.plain += run
        self.starts += starts
        self.leads.append(lead_start)
        self.leads += starts[1:]
        self.ends += starts[1:]
        self.ends.append(end)
        self.found += len(run)
        self.next_file += len(run)
        return end

    def names_of(self, run: list[re.Match[bytes]]) -> None:
        """Add the raw names of a run of plain headers (all of one style) to ``old_names``,
        ``new_names`` and ``git_flags``, as :func:`_plain_fields` reads them but undecoded.

        A comprehension per run rather than a look at each header's kind: this runs for every
        file diff of a 40 MB patch, which ``filter`` never makes an entry for.
        """
        null = b"/dev/null"
        if run[-1].re in _GIT_PATTERNS:
            # group 2 is "new" or "deleted" (or None), 5 and 6 the names
            self.old_names += [
                None if (old := header[5]) == null or header[2] == b"new" else old for header in run
            ]
            self.new_names += [
                None if (new := header[6]) == null or header[2] == b"deleted" else new
                for header in run
            ]
            self.git_flags += [True] * len(run)
            return
        # Groups 1 and 2 when a "diff" line leads the header, 3 and 4 when it has none; a name
        # is never empty (the pattern takes one byte or more), so "or" picks the one matched.
        # Read by subscript, one side at a time: tuples of four groups per header cost twice
        # as much on a 15,000-file patch (9 ms against 5).
        self.old_names += [
            None if (old := header[1] or header[3]) == null else old for header in run
        ]
        self.new_names += [
            None if (new := header[2] or header[4]) == null else new for header in run
        ]
        self.git_flags += [False] * len(run)

    def git_run(self, first: re.Match[bytes]) -> tuple[list[re.Match[bytes]], int]:
        """The plain git file diffs from ``first`` on, and where the last of them ends."""
        data = self.data
        run = [first]
        for stop in _LAZY_NEXT.finditer(data, first.end()):
            end = stop.start() + 1
            kind = stop.lastindex
            if kind is None or (data[end - 2] in _SIGNATURE_TAILS and _after_signature(data, end)):
                break  # this file needs the general path
            if kind == _GIT_GROUP:  # a git file diff with other headers: the general path
                return run, end
            run.append(stop)
        else:
            if not _after_signature(data, self.size):
                return run, self.size
        return _without_last(run)

    def unified_run(
        self, first: re.Match[bytes], unsettled: list[int]
    ) -> tuple[list[re.Match[bytes]], int]:
        """The plain non-git unified file diffs from ``first`` on, and where the last ends.

        A line no hunk can hold ends a file diff whose counts are honest: one that starts
        with ``diff ``, ``Index:``, ``Only in`` and anything else but a hunk line's first
        character. A ``---``/``+++`` pair followed by a hunk can also be a removed ``-- x`` and
        an added ``++ y`` line ending a hunk; it starts a file only when the hunk before it is
        complete without those lines. With ``settle_pairs`` that is decided here; without it
        the pair is taken to start one and its position in the run is added to ``unsettled``
        (:meth:`LazyFiles.settle` decides it later, where it matters). The counts of every
        other hunk are checked when its file's hunks are read (``filter`` reads those of the
        files it writes).
        """
        data = self.data
        run = [first]
        first_hunk = first.end()  # of the last file diff taken: read only to settle pairs
        settle = self.settle_pairs
        # Once per file diff of a 40 MB patch: each kind of header tested once, and nothing
        # done that only settling needs when not settling (1-2 ms of 77).
        for stop in _UNIFIED_NEXT.finditer(data, first_hunk):
            end = stop.start() + 1
            if data[end - 2] in _SIGNATURE_TAILS and _after_signature(data, end):
                break  # a mail signature or a removed "- " line: the counts decide
            kind = stop.lastindex
            if kind == _PAIR_GROUP:
                if not settle:
                    unsettled.append(len(run))
                elif self.pair_starts_file(first_hunk, end):
                    first_hunk = stop.end()
                else:
                    break  # "-- x" and "++ y" lines of the last hunk, or a miscounted hunk
                run.append(stop)
                continue
            if kind == _WITH_DIFF_GROUP:
                run.append(stop)
                if settle:
                    first_hunk = stop.end()
                continue
            if kind is None and data[end] not in b"\r\n":
                return run, end  # a line no hunk holds: the file diff ends before it
            break  # an empty line (context, or not), a ---/+++ pair with odd names
        else:
            if not _after_signature(data, self.size):
                return run, self.size
        while unsettled and unsettled[-1] == len(run) - 1:
            # The general path reads the last file diff from its header on, so it would take
            # the pair as a header unasked: settle it now, as the eager scan does. If it is
            # hunk lines, the file diff before it is the one the general path must read.
            unsettled.pop()
            if self.pair_starts_file(run[-2].end(), _start_of(run[-1])):
                break
            run.pop()
        return _without_last(run)

    def context_run(self, first: re.Match[bytes]) -> tuple[list[re.Match[bytes]], int]:
        """The plain context-format file diffs from ``first`` on, and where the last ends:
        context hunks have no counts, so the first line no hunk holds ends a file diff, as in
        :meth:`context_hunks`."""
        run = [first]
        for stop in _CONTEXT_NEXT.finditer(self.data, first.end()):
            if stop.lastindex is None:  # a line no hunk holds, and no header starts there
                return run, stop.start() + 1
            run.append(stop)
        return run, self.size

    def pair_starts_file(self, first_hunk: int, end: int) -> bool:
        """:func:`_pair_starts_file` in this scanner's input."""
        return _pair_starts_file(self.data, first_hunk, end)

    def lazy_end(self, body: int) -> int | None:
        """Where a git file diff whose first hunk starts at ``body`` ends, without reading its
        hunks, or ``None`` when only reading them can tell.

        No line of a hunk body starts with ``diff --git``, so the diff ends at the next such line
        when every line up to it could be a hunk line. Whether the counts of the ``@@`` lines
        agree with the bodies is checked when the hunks are read: counting here would cost more
        than the rest of the scan.
        """
        data = self.data
        if not data.startswith(b"@@ ", body):
            return None
        # One search finds both the next "diff --git" line and any line that is not hunk.
        stop = _LAZY_NEXT.search(data, body)
        if stop is None:
            section_end = self.size
        elif stop.lastindex is not None:  # a "diff --git" line
            section_end = stop.start() + 1
        else:
            return None  # mail text, an empty line, a non-git diff: the general path walks it
        if _after_signature(data, section_end):
            return None  # a mail signature on its own: not a removed line
        return section_end

    @staticmethod
    def names_from_diff_command(line: bytes) -> tuple[str | None, str | None]:
        """``diff -urN a/x b/x`` (used only for "Binary files ... differ" entries)."""
        words = line.rstrip(b"\r\n").split()
        paths = [w for w in words[1:] if not w.startswith(b"-")]
        if len(paths) >= 2:
            return decode_path(paths[-2]), decode_path(paths[-1])
        return None, None

    def git_headers(self, cursor: int, headers: list[tuple[str, str]]) -> int:
        while cursor < self.size:
            line = self.line(cursor)
            for key in _GIT_HEADERS:
                if line.startswith(key):
                    value = line[len(key) :].rstrip(b"\r\n")
                    quotable = key in (b"rename from ", b"rename to ", b"copy from ", b"copy to ")
                    if quotable and value.startswith(b'"'):
                        try:
                            value = unquote_c(value)[0]
                        except ValueError:
                            pass  # not a well-formed quoted name: keep it as written
                    headers.append((key.decode().strip(), decode_path(value)))
                    break
            else:
                return cursor
            cursor += len(line)
        return cursor

    @staticmethod
    def apply_git_headers(
        headers: list[tuple[str, str]], old: str | None, new: str | None
    ) -> tuple[str | None, str | None]:
        """Rename/copy headers give unprefixed names; keep the diff line's prefixes on them."""
        values = dict(headers)

        def prefixed(name: str, like: str | None) -> str:
            if like is not None and "/" in like:
                prefix = like.split("/", 1)[0]
                if prefix in ("a", "b") or like.endswith("/" + name):
                    return f"{prefix}/{name}" if not like.endswith(name) else like
            return name

        if "rename from" in values or "copy from" in values:
            source = values.get("rename from", values.get("copy from", ""))
            old = prefixed(source, old)
        if "rename to" in values or "copy to" in values:
            target = values.get("rename to", values.get("copy to", ""))
            new = prefixed(target, new)
        if "new file mode" in values:
            old = None
        if "deleted file mode" in values:
            new = None
        return old, new

    def name_pair(self, pos: int) -> tuple[str | None, str | None, int, DiffFormat] | None:
        """``--- old`` + ``+++ new`` (+ a hunk), or ``*** old`` + ``--- new`` (+ a hunk)."""
        data = self.data
        if data.startswith(b"--- ", pos):
            first = self.line(pos)
            second_at = pos + len(first)
            if not data.startswith(b"+++ ", second_at):
                return None
            second = self.line(second_at)
            body = second_at + len(second)
            if not data.startswith(b"@@ ", body) and body < self.size:
                # "--- a\n+++ b\n" followed by something other than a hunk: a removed "-- a"
                # line of an earlier hunk, or prose. Only a diff whose hunk follows counts.
                return None
            return (
                _header_name(first[4:]),
                _header_name(second[4:]),
                body,
                DiffFormat.UNIFIED,
            )
        if data.startswith(b"*** ", pos):
            first = self.line(pos)
            second_at = pos + len(first)
            if not data.startswith(b"--- ", second_at):
                return None
            second = self.line(second_at)
            body = second_at + len(second)
            if not data.startswith(b"***************", body):
                return None
            return (
                _header_name(first[4:]),
                _header_name(second[4:]),
                body,
                DiffFormat.CONTEXT,
            )
        return None

    def git_binary(self, cursor: int) -> int:
        """Skip ``literal N``/``delta N`` blocks of base85 lines, each ended by an empty line."""
        blocks = 0
        while cursor < self.size and blocks < 2:
            line = self.line(cursor)
            if not (line.startswith((b"literal ", b"delta "))):
                break
            cursor += len(line)
            while cursor < self.size:
                line = self.line(cursor)
                cursor += len(line)
                if line.strip() == b"":
                    break
            blocks += 1
        return cursor

    # -- unified hunks -----------------------------------------------------------------------------

    def unified_hunks(self, cursor: int, hunks: list[HunkEntry] | None) -> int:
        """Read the hunks from ``cursor`` into ``hunks`` (or, with ``None``, only check them);
        return where they end."""
        data = self.data
        # The loop a kernel patch runs thousands of times: the header line is sliced here and
        # its groups read at once, rather than through the helpers.
        while data.startswith(b"@@ ", cursor):
            newline = data.find(b"\n", cursor)
            body = self.size if newline < 0 else newline + 1
            header = data[cursor:body]
            match = _UNIFIED_HUNK.match(header)
            if match is None:
                raise self.error(
                    cursor,
                    f"malformed hunk header {header.rstrip()!r}",
                    hint="a unified hunk header looks like '@@ -12,7 +12,8 @@'",
                )
            old_start, old_count, new_start, new_count, section = match.groups()
            old = 1 if old_count is None else int(old_count)
            new = 1 if new_count is None else int(new_count)
            end, added, removed = self.hunk_body(body, old, new, cursor)
            if hunks is not None:
                hunks.append(
                    HunkEntry(
                        number=len(hunks) + 1,
                        start=cursor,
                        end=end,
                        line=self.lines.at(cursor),
                        old_start=int(old_start),
                        old_count=old,
                        new_start=int(new_start),
                        new_count=new,
                        section=section.decode("utf-8", "surrogateescape"),  # decode_path
                        added=added,
                        removed=removed,
                    )
                )
            cursor = end
            self.check_after_hunk(cursor)
        return cursor

    def hunk_body(self, body: int, old: int, new: int, header: int) -> tuple[int, int, int]:
        """Where a hunk body ends, with its added and removed line counts.

        The fast path counts prefixes between ``body`` and the first line that cannot belong to
        a hunk; if that settles both counts exactly, that is the end. Otherwise walk line by line.
        """
        data = self.data
        stop = _BODY_STOP.search(data, body - 1)
        end = self.size if stop is None else stop.start() + 1
        if end > body:
            counts = _body_counts(data, body, end, old, new)
            if counts is not None:
                return end, counts[0], counts[1]
        return self.walk_hunk(body, old, new, header)

    def walk_hunk(self, pos: int, old: int, new: int, header: int) -> tuple[int, int, int]:
        data = self.data
        added = removed = 0
        old_left, new_left = old, new
        while old_left > 0 or new_left > 0:
            if pos >= self.size:
                raise self.error(
                    pos,
                    f"input ends inside the hunk at line {self.lines.at(header)}: "
                    f"{old_left} old and {new_left} new lines missing",
                    hint="the patch is truncated, or the hunk header's counts are wrong",
                )
            char = data[pos]
            if char in (0x20, 0x0A) or (char == 0x0D and data.startswith(b"\r\n", pos)):
                old_left -= 1
                new_left -= 1
            elif char == 0x2D:  # '-'
                old_left -= 1
                removed += 1
            elif char == 0x2B:  # '+'
                new_left -= 1
                added += 1
            elif char == 0x5C:  # '\' No newline at end of file
                pass
            else:
                raise self.error(
                    pos,
                    f"hunk at line {self.lines.at(header)} is shorter than its header says: "
                    f"expected {old_left} more old and {new_left} more new lines, found "
                    f"{self.line(pos)[:40].rstrip()!r}",
                    hint="fix the counts in the @@ line or restore the missing lines",
                )
            if old_left < 0 or new_left < 0:
                raise self.error(
                    pos,
                    f"hunk at line {self.lines.at(header)} has more lines than its header says",
                    hint="fix the counts in the @@ line",
                )
            pos = self.line_end(pos)
        if data.startswith(b"\\", pos):
            pos = self.line_end(pos)
        return pos, added, removed

    def check_after_hunk(self, pos: int) -> None:
        """A completed hunk followed by more hunk-like lines is longer than its header says."""
        if self.data[pos : pos + 1] not in _BODY_STARTS:
            return  # the next hunk's "@@", the next diff, the end: nothing to look at
        line = self.line(pos)
        if line.rstrip(b"\r\n") in (b"--", b"-- "):  # a mail signature
            return
        if line.startswith(b"--- ") and self.data.startswith(b"+++ ", pos + len(line)):
            return  # the next file's header
        if line.startswith(b"--- ") and not self.found and not line.strip(b"- \r\n"):
            return
        raise self.error(
            pos,
            f"hunk is longer than its header says: {line[:40].rstrip()!r} follows a complete hunk",
            hint="fix the counts in the @@ line, or remove the stray line",
        )

    # -- context-format hunks ----------------------------------------------------------------------

    def context_hunks(self, cursor: int, hunks: list[HunkEntry] | None) -> int:
        """Read the context-format hunks from ``cursor`` into ``hunks`` (or, with ``None``, only
        check them); return where they end."""
        data = self.data
        size = self.size
        separated = data.startswith(b"***************", cursor)
        count = 0
        # GNU diff writes "***************" before every hunk; SUSv2 only before the first, the
        # next hunk starting at its "*** N ****" line (filterdiff reads both). This loop runs
        # once per hunk of every context file diff filter keeps: line ends are found inline,
        # and the parts are counted in place (ranges of ``body``) rather than sliced and handed
        # to _count_prefixed, 10.8 us a hunk against 12.6.
        while separated or (count and _CONTEXT_OLD_RANGE.match(data, cursor)):
            count += 1
            start = cursor
            if separated:
                cursor = data.find(b"\n", cursor) + 1 or size
            # The range pattern holds no newline, so it matches here exactly where it would
            # match the line on its own.
            match = _CONTEXT_OLD_RANGE.match(data, cursor)
            if match is None:
                old_header = self.line(cursor)
                raise self.error(cursor, f"malformed context hunk range {old_header.rstrip()!r}")
            old_start, old_count = _context_range(match)
            cursor = data.find(b"\n", cursor) + 1 or size
            stop = _CONTEXT_STOP.search(data, cursor - 1)
            end = size if stop is None else stop.start() + 1
            body = data[cursor:end]
            new_match = _at_a_line_start(_CONTEXT_NEW_RANGE, body, b"--- ")
            if new_match is None:
                raise self.error(cursor, "context hunk has no '--- N,M ----' line")
            new_start, new_count = _context_range(new_match)
            following = _at_a_line_start(_CONTEXT_OLD_RANGE, body, b"*** ", new_match.end())
            if following is not None:  # the next hunk, without a separator
                end = cursor + following.start()
                body = body[: following.start()]
            split, resume = new_match.start(), new_match.end()
            if b"\r" in body:  # a lone "\r" may end a line: _count_prefixed of each part
                old_part, new_part = body[:split], body[resume:]
                removed = _count_prefixed(old_part, (b"- ", b"! "))
                added = _count_prefixed(new_part, (b"+ ", b"! "))
                old_context = _count_prefixed(old_part, (b"  ",))
                new_context = _count_prefixed(new_part, (b"  ",))
            else:  # what _count_prefixed counts without a "\r": a line starts a part or a "\n"
                occurs, opens = body.count, body.startswith
                removed = opens(b"- ", 0, split) + opens(b"! ", 0, split)
                removed += occurs(b"\n- ", 0, split) + occurs(b"\n! ", 0, split)
                added = opens(b"+ ", resume) + opens(b"! ", resume)
                added += occurs(b"\n+ ", resume) + occurs(b"\n! ", resume)
                old_context = opens(b"  ", 0, split) + occurs(b"\n  ", 0, split)
                new_context = opens(b"  ", resume) + occurs(b"\n  ", resume)
            # A part that would only repeat context is left out; then the other part's context
            # lines are its lines. Either way the counts must be the ranges': a hunk cut short
            # (a truncated file, a lost "+ " line) would otherwise be read short.
            old_lines = (old_context + removed) or new_context
            new_lines = (new_context + added) or old_context
            # diff -C0 writes an empty range as the one number of the line before it ("--- 2
            # ----" over no lines after a deletion): a one-number range over no lines is empty.
            if old_lines == 0 and match.group(2) is None:
                old_count = 0
            if new_lines == 0 and new_match.group(2) is None:
                new_count = 0
            if (old_lines, new_lines) != (old_count, new_count):
                raise self.error(
                    start,
                    f"context hunk has {old_lines} old and {new_lines} new lines, but its ranges "
                    f"say {old_count} and {new_count}",
                    hint="the patch is truncated, or the hunk was edited by hand",
                )
            cursor = end
            separated = data.startswith(b"***************", cursor)
            if hunks is None:
                continue
            # this hunk's own row of stars, with the function name diff -p writes after it
            has_stars = data.startswith(b"***************", start)
            section_line = self.line(start) if has_stars else b""
            hunks.append(
                HunkEntry(
                    number=len(hunks) + 1,
                    start=start,
                    end=end,
                    line=self.lines.at(start),
                    old_start=old_start,
                    old_count=old_count,
                    new_start=new_start,
                    new_count=new_count,
                    section=decode_path(section_line[15:].strip()),
                    added=added,
                    removed=removed,
                )
            )
        return cursor

    @staticmethod
    def kind_of(
        old: str | None,
        new: str | None,
        headers: Sequence[tuple[str, str]],
        binary: bool,
        hunks: Sequence[HunkEntry],
    ) -> ChangeKind:
        keys = {key for key, _value in headers}
        if binary:
            return ChangeKind.BINARY
        if old is None or "new file mode" in keys:
            return ChangeKind.NEW
        if new is None or "deleted file mode" in keys:
            return ChangeKind.DELETED
        if "rename from" in keys:
            return ChangeKind.RENAMED
        if "copy from" in keys:
            return ChangeKind.COPIED
        if not hunks and ("old mode" in keys or "new mode" in keys):
            return ChangeKind.MODE
        return ChangeKind.MODIFIED


def _context_range(match: re.Match[bytes]) -> tuple[int, int]:
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if first == 0 and match.group(2) is None:
        return 0, 0
    return first, last - first + 1


def _at_a_line_start(
    pattern: re.Pattern[bytes], text: bytes, marker: bytes, pos: int = 0
) -> re.Match[bytes] | None:
    """The first match of ``pattern`` at a line start of ``text`` from ``pos`` on, where the
    line starts with ``marker`` (the pattern's own start): what a search for the pattern
    anchored with "^" under ``re.M`` finds. The line starts are found with ``bytes.find``: a
    "^" pattern gives the regex engine no first character to skip to, so it tries every byte
    (20 us a hunk, most of the time ``filter`` spent checking the context hunks it writes).
    """
    if (pos == 0 or text[pos - 1] == 0x0A) and (match := pattern.match(text, pos)):
        return match
    needle = b"\n" + marker
    at = text.find(needle, pos)
    while at >= 0:
        match = pattern.match(text, at + 1)
        if match is not None:
            return match
        at = text.find(needle, at + 1)
    return None


def _count_prefixed(text: bytes, prefixes: tuple[bytes, ...]) -> int:
    """How many of ``text.splitlines()`` start with one of ``prefixes`` (none a prefix of
    another), counted in C without making the lines: a line starts the text or follows a
    "\n", or a "\r" that is not part of a "\r\n" (``bytes.splitlines`` ends lines at
    both), and a prefix holds neither character, so a "\r" before it is never part of a
    "\r\n". A test compares it with the splitlines count on lines with lone and paired "\r".
    """
    lone_returns = b"\r" in text  # rare: then a third count
    count = 0
    for prefix in prefixes:
        count += text.startswith(prefix) + text.count(b"\n" + prefix)
        if lone_returns:
            count += text.count(b"\r" + prefix)
    return count


class LazyHunks(Sequence[HunkEntry]):
    """The hunks of one file diff, read on first use (``index_sources(..., lazy=True)``).

    ``filter`` on a 40 MB patch writes a few dozen of its ten thousand files: reading every hunk
    header of the rest would cost more than the whole of C ``filterdiff``. Reading here applies
    the same checks as the eager scan, so a malformed hunk still raises :class:`PatchParseError`,
    only later: when something first looks at this file's hunks.
    """

    __slots__ = ("_context", "_end", "_first_hunk", "_hunks", "_lines", "_number", "_source")

    def __init__(
        self,
        source: PatchSource,
        number: int,
        lines: _LineIndex,
        first_hunk: int,
        end: int,
        context: bool = False,
    ) -> None:
        # Plain fields rather than a closure: one object per file diff, which keeps the garbage
        # collector's work (it runs every few hundred allocations) small on 10,000-file patches.
        self._source = source
        self._number = number
        self._lines = lines
        self._first_hunk = first_hunk
        self._end = end
        self._context = context
        """Context-format hunks (``***************``), not unified ones."""
        self._hunks: tuple[HunkEntry, ...] | None = None

    def _scan(self, hunks: list[HunkEntry] | None) -> None:
        scanner = _Scanner(self._source, self._number, 0)
        scanner.lines = self._lines
        if self._context:
            cursor = scanner.context_hunks(self._first_hunk, hunks)
        else:
            cursor = scanner.unified_hunks(self._first_hunk, hunks)
        if cursor != self._end:
            stray = _ANY_HUNK_HEADER.search(self._source.data, cursor, self._end)
            raise scanner.stray_hunk_error(stray.start() if stray is not None else cursor)

    def check(self) -> None:
        """Raise :class:`PatchParseError` if reading the hunks would; build nothing.

        ``filter`` checks the files it writes this way: the same checks as reading them, without
        a line number for every hunk (counting lines up to a file deep in a 40 MB patch costs
        more than the scan). A line number is counted only for an error.
        """
        if self._hunks is None:
            self._scan(None)

    def _read(self) -> tuple[HunkEntry, ...]:
        if self._hunks is None:
            hunks: list[HunkEntry] = []
            self._scan(hunks)
            self._hunks = tuple(hunks)
        return self._hunks

    @overload
    def __getitem__(self, item: int) -> HunkEntry: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[HunkEntry, ...]: ...

    def __getitem__(self, item: int | slice) -> HunkEntry | tuple[HunkEntry, ...]:
        return self._read()[item]

    def __len__(self) -> int:
        return len(self._read())

    def __iter__(self) -> Iterator[HunkEntry]:
        return iter(self._read())

    def __bool__(self) -> bool:
        return True  # only entries with at least one "@@" line get a LazyHunks

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LazyHunks, tuple)):
            return self._read() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._read())

    def __repr__(self) -> str:
        return repr(self._read()) if self._hunks is not None else "LazyHunks(<not read yet>)"

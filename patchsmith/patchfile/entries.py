"""The records of a patch index: a file diff, a hunk, a mail, and the enums that classify them.

They are plain values: byte offsets into the input and the fields of its header lines, with no
reference to the bytes. The scanner (:mod:`patchsmith.patchfile.scan`) makes them and the index
(:mod:`patchsmith.patchfile.index`) hands them out, and the index needs the scanner: the records
are in a module of their own so that both import them and the imports form no cycle. Everyone
else imports them from :mod:`patchsmith.patchfile.index`, which re-exports them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from patchsmith.record import record


class ChangeKind(enum.StrEnum):
    """What a file diff does to its file; the letter is ``ls``'s status column."""

    MODIFIED = "!"
    NEW = "+"
    DELETED = "-"
    RENAMED = "R"
    COPIED = "C"
    BINARY = "B"
    MODE = "M"


class DiffFormat(enum.StrEnum):
    """How the hunks of a file diff are written."""

    UNIFIED = "unified"
    CONTEXT = "context"
    NONE = "none"
    """No hunks at all: a mode change, an empty new file, a rename without edits, a binary."""


@record
class HunkEntry:
    """One hunk: its byte range in the input and the numbers of its header."""

    number: int
    """1-based position within its file diff (filterdiff's ``--hunks`` numbering)."""
    start: int
    """Byte offset of the ``@@`` (or ``***************``) line."""
    end: int
    """Byte offset just past the hunk's last line (including a ``\\ No newline`` marker)."""
    line: int
    """1-based input line number of the header line."""
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    """The function context after the second ``@@`` (``static int dm_table_add(...)``), if any."""
    added: int
    removed: int


@record
class FileEntry:
    """One file diff: byte ranges, the names on both sides and git's extended headers."""

    number: int
    """1-based position in the whole input (filterdiff's ``--files`` numbering)."""
    source: int
    """Index of the :class:`PatchSource` this diff is in (several for a series)."""
    lead_start: int
    """Start of the non-diff text before this diff (equals ``start`` when there is none)."""
    start: int
    """Byte offset of the first header line (``diff ...``, ``--- ...`` or ``*** ...``)."""
    end: int
    """Byte offset just past the last hunk (or the last header line of a hunk-less entry)."""
    line: int
    """1-based input line number of the first header line."""
    old_name: str | None
    """The old-side path exactly as in the patch (prefix included), ``None`` for /dev/null."""
    new_name: str | None
    """The new-side path exactly as in the patch, ``None`` for /dev/null."""
    git: bool
    """Whether the diff has a ``diff --git`` line (then ``a/``/``b/`` are git's prefixes)."""
    headers: tuple[tuple[str, str], ...]
    """git extended headers in order, e.g. ``("new file mode", "100644")``."""
    kind: ChangeKind
    format: DiffFormat
    hunks: Sequence[HunkEntry]
    """The hunks in order: a tuple, or with ``index_sources(..., lazy=True)`` a :class:`LazyHunks`
    that reads (and checks) them on first use."""
    mail: int | None = None
    """Index into :attr:`PatchIndex.mails` of the mail this diff came from, if any."""

    @property
    def path(self) -> str:
        """The name users mean: the new name, or the old one for a deletion."""
        name = self.new_name if self.new_name is not None else self.old_name
        return name if name is not None else ""

    @property
    def names(self) -> tuple[str, ...]:
        """Every distinct name of the entry (both sides of a rename), for matching."""
        found = [n for n in (self.old_name, self.new_name) if n is not None]
        return tuple(dict.fromkeys(found))

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    def header(self, key: str) -> str | None:
        """The value of a git extended header (``"rename from"``), or ``None``."""
        for name, value in self.headers:
            if name == key:
                return value
        return None


@record
class Mail:
    """One message of an mbox or ``git format-patch`` output."""

    source: int
    start: int
    line: int
    subject: str
    author: str
    date: str

"""The rich parse of one hunk: its lines, as the engine needs them, made only on demand.

The index (:mod:`patchsmith.patchfile.index`) knows where a hunk is; this module turns that byte
range into :class:`Hunk`, the pre-image and post-image as lists of exact line bytes (line ending
included, so CRLF and Latin-1 survive) and the operations between them.

Unified hunks are read here directly from bytes. unidiff's ``PatchSet`` would need the whole patch
decoded to text, drops ``\\r`` from whole-CRLF patches and rewrites ``@@ -1 +0,0 @@``; tests check
that this reader agrees with unidiff line for line on ordinary patches. Context-format hunks (old
``.rej`` files, ``diff -c``) are read here too: whatthepatch 1.0.7 drops an added line at the end of
a context hunk (``fixtures/patches/context_format.diff`` shows it), and losing a line is the one
thing this module must never do; a test cross-checks whatthepatch where it does read correctly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from itertools import compress
from operator import itemgetter

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.index import DiffFormat, FileEntry, HunkEntry, PatchIndex
from patchsmith.record import record

CONTEXT = " "
ADD = "+"
REMOVE = "-"


@record
class HunkLine:
    """One line of a hunk body."""

    op: str
    """``" "`` context, ``"+"`` added, ``"-"`` removed."""
    text: bytes
    """The line's content with its line ending, exactly as it will be written to a file. For the
    last line of a file without a trailing newline (``\\ No newline at end of file``) the ending is
    absent."""


@record
class Hunk:
    """A parsed hunk: numbers from the header and its lines.

    The lines are held as two parallel sequences, :attr:`ops` and :attr:`texts`, and
    :attr:`lines` (one :class:`HunkLine` each) is made only when asked for: ``check`` on a
    kernel patch reads ~50,000 lines, needs only the pre- and post-image of most hunks, and
    making an object per line cost more than the rest of parsing.
    """

    number: int
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    ops: str
    """One character per line: ``" "`` context, ``"+"`` added, ``"-"`` removed."""
    texts: tuple[bytes, ...]
    """Each line's text, as :attr:`HunkLine.text`."""
    _lines: tuple[HunkLine, ...] | None = field(default=None, compare=False, repr=False)
    """:attr:`lines` once made."""

    @classmethod
    def from_lines(
        cls,
        number: int,
        old_start: int,
        old_count: int,
        new_start: int,
        new_count: int,
        section: str,
        lines: Iterable[HunkLine],
    ) -> Hunk:
        """A hunk of these header numbers and lines (the parser makes ops and texts directly)."""
        made = tuple(lines)
        ops = "".join([line.op for line in made])
        texts = tuple([line.text for line in made])
        return cls(number, old_start, old_count, new_start, new_count, section, ops, texts, made)

    @property
    def lines(self) -> tuple[HunkLine, ...]:
        """The lines in order (made on first use, then kept)."""
        if self._lines is None:
            object.__setattr__(self, "_lines", tuple(map(HunkLine, self.ops, self.texts)))
        assert self._lines is not None
        return self._lines

    # compress() keeps the texts whose selector is true. The ops as bytes, with one op's bytes
    # zeroed, select an image in C: twice as fast as a comprehension over ~15 lines.

    @property
    def old_lines(self) -> tuple[bytes, ...]:
        """The pre-image: context and removed lines, in order."""
        return tuple(compress(self.texts, self.ops.encode().replace(b"+", b"\0")))

    @property
    def new_lines(self) -> tuple[bytes, ...]:
        """The post-image: context and added lines, in order."""
        return tuple(compress(self.texts, self.ops.encode().replace(b"-", b"\0")))

    @property
    def leading_context(self) -> int:
        """Context lines before the first change (what fuzz may drop from the top)."""
        return len(self.ops) - len(self.ops.lstrip(CONTEXT))

    @property
    def trailing_context(self) -> int:
        """Context lines after the last change."""
        return len(self.ops) - len(self.ops.rstrip(CONTEXT))

    @property
    def header(self) -> str:
        """The ``@@`` line, normalised (for display; the original bytes are in the index)."""
        old = f"{self.old_start},{self.old_count}"
        new = f"{self.new_start},{self.new_count}"
        tail = f" {self.section}" if self.section else ""
        return f"@@ -{old} +{new} @@{tail}"


def _hunk_of(entry: HunkEntry, ops: str, texts: list[bytes]) -> Hunk:
    """A :class:`Hunk` of ``entry``'s numbers whose lines are made only when asked for."""
    return Hunk(
        entry.number,
        entry.old_start,
        entry.old_count,
        entry.new_start,
        entry.new_count,
        entry.section,
        ops,
        tuple(texts),
    )


def parse_hunk(index: PatchIndex, entry: FileEntry, hunk: HunkEntry) -> Hunk:
    """The lines of one hunk of ``entry``."""
    raw = index.sources[entry.source].data[hunk.start : hunk.end]
    if entry.format == DiffFormat.CONTEXT:
        return _context_hunk(raw, hunk, index.sources[entry.source].name)
    return _unified_hunk(raw, hunk)


def parse_file(index: PatchIndex, entry: FileEntry) -> tuple[Hunk, ...]:
    """Every hunk of a file diff."""
    return tuple(parse_hunk(index, entry, h) for h in entry.hunks)


# The op of a unified body line, by its first byte.
_OPS = {0x20: CONTEXT, 0x2B: ADD, 0x2D: REMOVE}


def _unified_hunk(raw: bytes, hunk: HunkEntry) -> Hunk:
    # Only "\n" ends a line in a patch (the index reads it so); bytes.splitlines would also
    # split at a lone "\r" inside a line, so it is used only when the hunk has no "\r" at all.
    if b"\r" in raw:
        body = _split_at_newlines(raw)[1:]
    else:
        body = raw.splitlines(keepends=True)[1:]
    # The common hunk, a kernel patch's every hunk: every line's first byte is its op (no
    # "\ No newline" marker, no context line whose space a mailer ate, nothing the index would
    # not let through). Then the ops and texts are taken in one pass each at C speed (or
    # nearly), where _unified_lines is a loop per line. (Searching the hunk for "\n\\" and the
    # like instead costs more than this whole test: a two-byte search is slow in CPython.)
    ops = bytes(map(_first_byte, body))
    if not ops.translate(None, b" +-"):
        return _hunk_of(hunk, ops.decode("ascii"), [text[1:] for text in body])
    lines = _unified_lines(body)
    return _hunk_of(hunk, "".join(line.op for line in lines), [line.text for line in lines])


_first_byte = itemgetter(0)


def _unified_lines(body: list[bytes]) -> list[HunkLine]:
    lines: list[HunkLine] = []
    for text in body:
        first = text[:1]
        if first == b"\\":
            # "\ No newline at end of file": the previous line has no line ending in the file.
            if lines:
                previous = lines[-1]
                lines[-1] = HunkLine(previous.op, _strip_newline(previous.text))
            continue
        if first in (b"\n", b"\r"):
            lines.append(HunkLine(CONTEXT, text))  # a context line whose space a mailer ate
        else:
            lines.append(HunkLine(first.decode("ascii"), text[1:]))
    return lines


def _split_at_newlines(raw: bytes) -> list[bytes]:
    """``raw``'s lines, each with its ``\\n`` (a lone ``\\r`` stays inside its line)."""
    pieces = raw.split(b"\n")
    last = pieces.pop()
    lines = [piece + b"\n" for piece in pieces]
    if last:
        lines.append(last)
    return lines


def _strip_newline(text: bytes) -> bytes:
    if text.endswith(b"\r\n"):
        return text[:-2]
    if text.endswith(b"\n"):
        return text[:-1]
    return text


def _context_hunk(raw: bytes, hunk: HunkEntry, source: str) -> Hunk:
    """A context-format hunk (``*** 1,5 ****`` / ``--- 1,6 ----``) turned into unified lines.

    ``raw`` starts at the ``***************`` line, or at the ``*** N ****`` line of a hunk
    that follows another without one (SUSv2). The old part lists context (``"  "``), removed
    (``"- "``) and changed (``"! "``) lines; the new part context, added (``"+ "``) and changed
    lines. Either part may be omitted when it would only repeat context.
    """
    body = raw.splitlines(keepends=True)
    if body and body[0].startswith(b"***************"):
        body = body[1:]
    old_part: list[tuple[str, bytes]] = []
    new_part: list[tuple[str, bytes]] = []
    target = old_part
    for text in body[1:]:
        if text.startswith(b"--- ") and text.rstrip().endswith(b"----"):
            target = new_part
            continue
        if text.startswith(b"\\"):
            if target:
                op, previous = target[-1]
                target[-1] = (op, _strip_newline(previous))
            continue
        marker = text[:1].decode("latin-1")
        if marker not in " -+!" or len(text) < 2:
            raise PatchParseError(
                f"context-format hunk line {text[:40]!r} has no '  ', '- ', '+ ' or '! ' marker",
                source=source,
                line=hunk.line,
            )
        target.append((marker, text[2:]))
    if not old_part:
        old_part = [(op, t) for op, t in new_part if op == " "]
    if not new_part:
        new_part = [(op, t) for op, t in old_part if op == " "]
    lines: list[HunkLine] = []
    i = j = 0
    while i < len(old_part) or j < len(new_part):
        old_op = old_part[i][0] if i < len(old_part) else None
        new_op = new_part[j][0] if j < len(new_part) else None
        if old_op == "-":
            lines.append(HunkLine(REMOVE, old_part[i][1]))
            i += 1
        elif new_op == "+":
            lines.append(HunkLine(ADD, new_part[j][1]))
            j += 1
        elif old_op == "!" or new_op == "!":
            while i < len(old_part) and old_part[i][0] == "!":
                lines.append(HunkLine(REMOVE, old_part[i][1]))
                i += 1
            while j < len(new_part) and new_part[j][0] == "!":
                lines.append(HunkLine(ADD, new_part[j][1]))
                j += 1
        elif old_op == " " and new_op == " ":
            lines.append(HunkLine(CONTEXT, old_part[i][1]))
            i += 1
            j += 1
        else:
            raise PatchParseError(
                "context-format hunk: the old and new parts do not line up",
                source=source,
                line=hunk.line,
            )
    return _hunk_of(hunk, "".join(line.op for line in lines), [line.text for line in lines])

"""A target file held as bytes, and the byte-level searches the locate ladder runs on it.

:class:`FileLines` keeps a file as it was read (``bytes`` with their line endings) and finds
images (runs of whole lines) in it with ``bytes.find``, splitting it into lines only when a hunk
needs more than an exact search, or when so many hunks searched the whole file that indexing
its lines is cheaper (:data:`INDEX_AFTER`: a search then costs what the image's rarest line
occurs, not the file's length, which keeps a file with 100,000 hunks linear). Each image's
places are searched for once per file and kept in order (:class:`Hits`): repetitive code (the
same block a thousand times, a hunk on each) asks for one image once per hunk, and each answer
is as long as the code is repetitive. Beside it, the
helpers that work on such bytes and lines: :func:`split_lines`, :func:`normalize` (whitespace
collapsed), :func:`enclosing_function` (the definition line git would name in a hunk header),
:func:`same_function` (whether a hunk header names it) and :func:`nearest` (which of a search's
hits GNU patch would take). Lines are compared as
bytes and never decoded; nothing here reads or writes files.

This is the bottom of the engine (its layers contract in ``pyproject.toml``): it knows nothing of
hunks, locations or statuses, so :mod:`patchsmith.engine.conflict` and
:mod:`patchsmith.engine.locate` both import it without a cycle.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

# A line that starts a definition git would name in a hunk header: it begins with a letter,
# ``_`` or ``$`` (git's default funcname rule and diff -p's), and is not a goto label.
#   static int mana_process_rx_cqe(struct mana_rxq *rxq, struct mana_cq *cq,
#   struct dm_target_type {
_DEFINITION = re.compile(rb"^[A-Za-z_$]")
#   out_unlock:
_LABEL = re.compile(rb"^[A-Za-z_]\w*:\s*$")
# The same lines found in a file's bytes: a line (without its newline) that follows a newline
# and starts like a definition. Starting with a literal newline lets the regex engine skip
# ahead to each line start instead of trying every byte.
_DEFINITION_AFTER_NEWLINE = re.compile(rb"\n([A-Za-z_$][^\n]*)")

INDEX_AFTER = 32
"""Whole-file searches of one file after which its lines are indexed (each line's text to the
indexes where it stands) and every later search looks the image's rarest line up instead of
reading the file. A kernel stable patch touches a file a few times, and splitting a file into
lines costs several searches: indexing from the first search would slow the common case. A
patch with thousands of hunks in one file must not read the file once per hunk: that made
``check`` quadratic (117 s for 100,000 hunks), and the index makes it linear."""


class Hits(list[int]):
    """The places a whole-file search found, in file order and each once (what :func:`nearest`
    and the rules that look only at the first few may bisect or cut short). One list is kept
    per image and handed to every caller that asks for it: it must not be changed."""

    __slots__ = ()


class FileLines:
    """A file's lines with search helpers built on demand (a cache, so not a frozen dataclass).

    Made from lines or from the file's bytes. Exact searches run on the bytes with
    ``bytes.find`` (C speed) and keep hits that start on a line boundary, so the common case (a
    clean hunk) never splits the file into lines: on a kernel patch, building two million line
    objects costs more than every search together. Lines and the whitespace-collapsed copy are
    built only when a hunk needs them.
    """

    __slots__ = (
        "_blob",
        "_definition",
        "_definitions",
        "_found",
        "_hit_bytes",
        "_index",
        "_length",
        "_lines",
        "_mark",
        "_normalized",
        "_normalized_blob",
        "_normalized_index",
        "_searches",
    )

    def __init__(self, lines: Sequence[bytes] | None = None, data: bytes | None = None) -> None:
        if lines is None and data is None:
            raise ValueError("FileLines needs lines or data")
        self._lines = lines
        self._blob = data
        self._normalized: list[bytes] | None = None
        self._normalized_blob: bytes | None = None
        self._length: int | None = None
        # Whole-file searches so far, and once there were INDEX_AFTER of them, each line's
        # indexes by its text (exact, and whitespace collapsed).
        self._searches = 0
        self._index: dict[bytes, list[int]] | None = None
        self._normalized_index: dict[bytes, list[int]] | None = None
        # Indexes of the definition lines (see enclosing_function), for a file held as lines.
        self._definitions: list[int] | None = None
        # (byte offset, line index) of the last hit: hunks come in file order, so counting
        # newlines from there instead of from the start keeps a file's searches linear.
        self._mark = (0, 0)
        # (byte offset of a line start, the definition above it) of the last
        # :meth:`definition_above` read from the bytes: the next hunk, most often in the same
        # function, looks only at the lines between.
        self._definition: tuple[int, bytes | None] = (0, None)
        # line index -> byte offset of lines found by exact searches, so a look around a match
        # can slice the bytes instead of splitting the whole file.
        self._hit_bytes: dict[int, int] = {}
        # Each image's whole-file hits, searched for once: repetitive code (the same block a
        # thousand times, a hunk on each) asks for the same image once per hunk, and each answer
        # is as long as the file is repetitive, so searching again made such a file quadratic.
        self._found: dict[tuple[bytes, ...], Hits] = {}

    @classmethod
    def from_bytes(cls, data: bytes) -> FileLines:
        return cls(data=data)

    @property
    def lines(self) -> Sequence[bytes]:
        if self._lines is None:
            assert self._blob is not None
            self._lines = split_lines(self._blob)
        return self._lines

    @property
    def indexed(self) -> bool:
        """Whether searches look lines up in the index instead of reading the file."""
        return self._index is not None

    def _whole_file_search(self) -> dict[bytes, list[int]] | None:
        """Count one search of the whole file; the index, once there were enough of them."""
        if self._index is None:
            self._searches += 1
            if self._searches > INDEX_AFTER:
                self._index = _positions(self._line_list())
        return self._index

    def _line_list(self) -> list[bytes]:
        """The lines as a list (a caller's tuple is copied once), so slices compare with
        lists."""
        lines = self.lines
        if not isinstance(lines, list):
            lines = self._lines = list(lines)
        return lines

    def normalized_positions(self) -> dict[bytes, list[int]]:
        """Each whitespace-collapsed line's indexes, in file order: where a line stands,
        without reading the file once per question (a conflict asks for several lines)."""
        if self._normalized_index is None:
            self._normalized_index = _positions(self.normalized)
        return self._normalized_index

    @property
    def blob(self) -> bytes:
        if self._blob is None:
            assert self._lines is not None
            self._blob = b"".join(self._lines)
        return self._blob

    @property
    def normalized(self) -> list[bytes]:
        if self._normalized is None:
            self._normalized = [normalize(line) for line in self.lines]
        return self._normalized

    @property
    def normalized_blob(self) -> bytes:
        if self._normalized_blob is None:
            self._normalized_blob = b"".join(line + b"\n" for line in self.normalized)
        return self._normalized_blob

    def __len__(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        if self._length is None:
            blob = self.blob
            self._length = blob.count(b"\n") + (0 if not blob or blob.endswith(b"\n") else 1)
        return self._length

    def line_at(self, position: int) -> int:
        """The 0-based line index of a byte offset that starts a line."""
        mark, line = self._mark
        if position >= mark:
            line += self.blob.count(b"\n", mark, position)
        else:
            line = self.blob.count(b"\n", 0, position)
        self._mark = (position, line)
        return line

    def find_all(
        self, image: Sequence[bytes], low: int | None = None, high: int | None = None
    ) -> list[int]:
        """Every 0-based index where ``image`` occurs exactly, in file order; with ``low``
        and ``high``, only those from ``low`` to ``high`` (inclusive).

        Every line of an image but the last ends with ``\\n``, so a hit of the joined image
        that starts on a line boundary is a match of whole lines; a last line without a newline
        (``\\ No newline at end of file``) must end the file. Once the file is indexed (see
        :data:`INDEX_AFTER`), the image's rarest line is looked up instead, with the same
        answer: a line without a newline can only be the file's last.
        """
        if not image:
            return []
        # Counted as before, cached or not: when the file is indexed (and split into lines)
        # decides which searches the rules near a match run, so it must not move.
        index = self._whole_file_search()
        key = tuple(image)
        hits = self._found.get(key)
        if hits is None:
            if index is not None:
                hits = Hits(_find_indexed(image, index, self._line_list(), None, None))
            else:
                hits = Hits(self._scan(image))
            self._found[key] = hits
        if low is None and high is None:
            return hits
        first = bisect_left(hits, low) if low is not None else 0
        last = bisect_right(hits, high) if high is not None else len(hits)
        return Hits(hits[first:last])

    def _scan(self, image: Sequence[bytes]) -> list[int]:
        """Every index where ``image`` occurs, read from the bytes (see :meth:`find_all`)."""
        needle = b"".join(image)
        at_end = not image[-1].endswith(b"\n")
        blob = self.blob
        hits: list[int] = []
        position = blob.find(needle)
        while position >= 0:
            if (position == 0 or blob[position - 1] == 0x0A) and (
                not at_end or position + len(needle) == len(blob)
            ):
                line = self.line_at(position)
                self._hit_bytes[line] = position
                hits.append(line)
            position = blob.find(needle, position + 1)
        return hits

    def holds_at(self, image: Sequence[bytes], index: int) -> bool:
        """Whether ``image`` occurs exactly at line ``index``, as :meth:`find_all` would find it.

        Searched from the last hit on (from the start if that is below ``index``) up to the
        first hit at or past ``index``: hunks come in file order, so a file's hunks matching
        where they say read the file once, instead of once per hunk as :meth:`find_all` does.
        """
        if not image:
            return False
        if self._index is not None:
            lines = self._line_list()
            return index >= 0 and lines[index : index + len(image)] == list(image)
        needle = b"".join(image)
        at_end = not image[-1].endswith(b"\n")
        blob = self.blob
        mark, line = self._mark
        position = blob.find(needle, mark if line <= index else 0)
        while position >= 0:
            if (position == 0 or blob[position - 1] == 0x0A) and (
                not at_end or position + len(needle) == len(blob)
            ):
                line = self.line_at(position)
                if line >= index:
                    if line != index:
                        return False
                    self._hit_bytes[line] = position
                    return True
            position = blob.find(needle, position + 1)
        return False

    def definition_above(self, index: int) -> bytes | None:
        """The line :func:`enclosing_function` finds for ``index``, or ``None``.

        Read from the bytes, going up from the line's start, when ``index`` was an exact hit and
        the file was never split: the lines up to the definition are all it looks at.
        """
        position = self._hit_bytes.get(index)
        if self._lines is not None or position is None:
            found = self.enclosing(index)
            return self.lines[found] if found is not None else None
        floor, above = self._definition
        if floor > position:
            floor, above = 0, None
        found_bytes = _definition_before(self.blob, position, floor, above)
        self._definition = (position, found_bytes)
        return found_bytes

    def enclosing(self, index: int) -> int | None:
        """The index of the line :func:`enclosing_function` finds for ``index``, or ``None``:
        looked up in the file's definition lines, found once (a file with no definition line
        would otherwise be read back to its top for every question)."""
        if self._definitions is None:
            self._definitions = _definition_lines(self.blob)
        definitions = self._definitions
        found = bisect_left(definitions, min(index, len(self))) - 1
        return definitions[found] if found >= 0 else None

    def definitions_named(self, section: bytes) -> list[int]:
        """The indexes of the definition lines (see :meth:`enclosing`) that a hunk header's
        section text names (:func:`same_function`), in file order: more than one when the
        file defines the name twice (``#ifdef`` twins) or declares it too (a prototype)."""
        if self._definitions is None:
            self._definitions = _definition_lines(self.blob)
        lines = self.lines
        return [index for index in self._definitions if same_function(section, lines[index])]

    def around(self, first: int, last: int, reach: int) -> tuple[int, Sequence[bytes]]:
        """Lines ``first - reach`` to ``last + reach`` (clipped): (index of the first, lines).

        Sliced from the bytes when ``first`` was an exact hit and the file was never split.
        """
        span = self.span_around(first, last, reach)
        if span is None:
            low = max(0, first - reach)
            return low, self.lines[low : min(len(self.lines), last + reach)]
        low, start, end = span
        return low, split_lines(self.blob[start:end])

    def span_around(self, first: int, last: int, reach: int) -> tuple[int, int, int] | None:
        """What :meth:`around` covers as (index of the first line, start byte, end byte), or
        ``None`` when the file is held as lines or ``first`` was not an exact hit."""
        position = self._hit_bytes.get(first)
        if self._lines is not None or position is None:
            return None
        blob = self.blob
        back, start = _lines_back(blob, position, reach)
        return first - back, start, _lines_forward(blob, position, last - first + reach)

    def bytes_around(self, first: int, last: int, reach: int) -> tuple[int, int] | None:
        """A byte range holding at least lines ``first - reach`` to ``last + reach`` (clipped),
        maybe more: what a search near a match needs, found by counting newlines (no line is
        made). ``None`` when the file is held as lines or ``first`` was not an exact hit."""
        position = self._hit_bytes.get(first)
        if self._lines is not None or position is None:
            return None
        blob = self.blob
        size = len(blob)
        # Above: ``reach`` lines start after the newline ending line first - reach - 1.
        guess = 48 * (reach + 1)
        start = max(0, position - guess)
        while start and blob.count(b"\n", start, position) <= reach:
            guess *= 4
            start = max(0, position - guess)
        # Below: from ``first``, the lines up to last + reach - 1 each end with a newline.
        below = last - first + reach
        guess = 48 * (below + 1)
        end = min(size, position + guess)
        while end < size and blob.count(b"\n", position, end) < below:
            guess *= 4
            end = min(size, position + guess)
        return start, end

    def find_all_between(
        self, image: Sequence[bytes], span: tuple[int, int], first: int
    ) -> list[int]:
        """The hits of :meth:`find_all` that start in the byte range ``span`` (from
        :meth:`bytes_around` for the exact hit ``first``), searched for only there."""
        if not image:
            return []
        start, end = span
        origin = self._hit_bytes[first]
        needle = b"".join(image)
        at_end = not image[-1].endswith(b"\n")
        blob = self.blob
        # A hit starting inside the range may run past its end.
        limit = min(len(blob), end + len(needle))
        hits: list[int] = []
        position = blob.find(needle, start, limit)
        while 0 <= position < end:
            if (position == 0 or blob[position - 1] == 0x0A) and (
                not at_end or position + len(needle) == len(blob)
            ):
                if position < origin:
                    hits.append(first - blob.count(b"\n", position, origin))
                else:
                    hits.append(first + blob.count(b"\n", origin, position))
            position = blob.find(needle, position + 1, limit)
        return hits

    def image_at(self, image: Sequence[bytes], index: int) -> bool:
        """Whether ``image`` occurs exactly at line ``index`` (as :meth:`find_all` would find
        it): a comparison at one place, from the bytes when ``index`` was an exact hit."""
        if not image:
            return False
        position = self._hit_bytes.get(index)
        if self._lines is not None or position is None:
            return list(self.lines[index : index + len(image)]) == list(image)
        needle = b"".join(image)
        if not self.blob.startswith(needle, position):
            return False
        return image[-1].endswith(b"\n") or position + len(needle) == len(self.blob)

    def contains(self, text: bytes) -> bool:
        """Whether ``text`` occurs anywhere in the file: a cheap test before a careful one."""
        return self.blob.find(text) >= 0

    def find_all_normalized(self, image: Sequence[bytes]) -> list[int]:
        """Every index where ``image`` occurs with whitespace collapsed (``image`` normalized)."""
        if not image:
            return []
        if self._whole_file_search() is not None:
            return _find_indexed(image, self.normalized_positions(), self.normalized, None, None)
        needle = b"".join(line + b"\n" for line in image)
        blob = self.normalized_blob
        hits: list[int] = []
        position = blob.find(needle)
        line = 0
        last = 0
        while position >= 0:
            if position == 0 or blob[position - 1] == 0x0A:
                line += blob.count(b"\n", last, position)
                last = position
                hits.append(line)
            position = blob.find(needle, position + 1)
        return hits


def _positions(lines: Iterable[bytes]) -> dict[bytes, list[int]]:
    """Each line's indexes, in order."""
    positions: dict[bytes, list[int]] = {}
    for number, line in enumerate(lines):
        found = positions.get(line)
        if found is None:
            positions[line] = [number]
        else:
            found.append(number)
    return positions


def _find_indexed(
    image: Sequence[bytes],
    positions: dict[bytes, list[int]],
    lines: list[bytes],
    low: int | None,
    high: int | None,
) -> list[int]:
    """:meth:`FileLines.find_all` from the index: the image's rarest line's indexes are the
    only places it can start from; each is compared in full."""
    rarest: list[int] | None = None
    offset = 0
    for number, line in enumerate(image):
        found = positions.get(line)
        if found is None:
            return []
        if rarest is None or len(found) < len(rarest):
            rarest, offset = found, number
            if len(found) == 1:
                break
    assert rarest is not None
    size = len(image)
    wanted = list(image)
    first = bisect_left(rarest, (low if low is not None else 0) + offset)
    last = bisect_right(rarest, high + offset) if high is not None else len(rarest)
    hits: list[int] = []
    limit = len(lines) - size
    for position in rarest[first:last]:
        start = position - offset
        if 0 <= start <= limit and lines[start : start + size] == wanted:
            hits.append(start)
    return hits


def _definition_lines(blob: bytes) -> list[int]:
    """Indexes of the lines :func:`enclosing_function` takes for definitions, in order."""
    found: list[int] = []
    first = blob[: blob.find(b"\n") + 1] if b"\n" in blob else blob
    if _DEFINITION.match(first) and not _LABEL.match(first):
        found.append(0)
    line = 0
    last = 0
    for match in _DEFINITION_AFTER_NEWLINE.finditer(blob):
        if _LABEL.match(match.group(1)):
            continue
        start = match.start(1)
        line += blob.count(b"\n", last, start)
        last = start
        found.append(line)
    return found


def split_lines(data: bytes) -> list[bytes]:
    """A file's lines with their endings; only ``\\n`` ends a line, as for GNU patch."""
    return io.BytesIO(data).readlines()


def _lines_back(blob: bytes, position: int, count: int) -> tuple[int, int]:
    """From ``position`` (a line start), up to ``count`` lines up: (lines gone, start byte)."""
    if count <= 0 or position == 0:
        return 0, position
    guess = 64 * (count + 1)
    while True:
        low = max(0, position - guess)
        # The newline just before ``position`` ends the line above: count + 1 newlines bound
        # the ``count`` lines above.
        parts = blob[low:position].rsplit(b"\n", count + 1)
        if len(parts) == count + 2:
            return count, low + len(parts[0]) + 1
        if low == 0:
            return len(parts) - 1, 0
        guess *= 4


def _definition_before(
    blob: bytes, position: int, floor: int = 0, above: bytes | None = None
) -> bytes | None:
    """The nearest definition-looking line that ends before ``position`` (a line start), with
    its newline, as :func:`enclosing_function` finds it among the lines. Searched in chunks
    going up, each four times the last: most hunks sit a few hundred bytes below their
    function's first line, so one small search finds it.

    Only the lines from ``floor`` (a line start no later than ``position``) down are searched:
    ``above`` is the answer for ``floor`` (a call made earlier), so it stands when none of them
    is a definition."""
    end = position
    size = 512
    while end > floor:
        # Back to a line start, so the chunk holds whole lines; every line above ``position``
        # ends with a newline.
        start = max(floor, blob.rfind(b"\n", 0, max(0, end - size)) + 1)
        # From the newline before ``start``, so a definition on the chunk's first line counts;
        # the last one in the chunk that is not a label is the nearest.
        found: list[bytes] = _DEFINITION_AFTER_NEWLINE.findall(blob, max(0, start - 1), end)
        for line in reversed(found):
            if not _LABEL.match(line):  # the same answer with or without the newline
                return line + b"\n"
        if start == 0:
            # The file's first line has no newline before it.
            first = blob[: blob.find(b"\n", 0, end) + 1]
            if _DEFINITION.match(first) and not _LABEL.match(first):
                return first
        end = start
        size *= 4
    return above


def _lines_forward(blob: bytes, position: int, count: int) -> int:
    """The byte just past ``count`` lines from ``position`` (the end of the file at most)."""
    if count <= 0:
        return position
    guess = 64 * (count + 1)
    while True:
        high = min(len(blob), position + guess)
        chunk = blob[position:high]
        parts = chunk.split(b"\n", count)
        if len(parts) == count + 1:
            return high - len(parts[-1])
        if high == len(blob):
            return high
        guess *= 4


def normalize(line: bytes) -> bytes:
    """A line with every whitespace run collapsed to one space and the ends stripped."""
    return b" ".join(line.split())


def within(hits: Sequence[int], low: int, high: int) -> Sequence[int]:
    """The hits from ``low`` to ``high`` (inclusive) in their order: a bisection of
    :class:`Hits`, all of any other sequence (its caller filters it anyway)."""
    if isinstance(hits, Hits):
        return hits[bisect_left(hits, low) : bisect_right(hits, high)]
    return hits


def holds(hits: Sequence[int], value: int) -> bool:
    """Whether ``value`` is one of ``hits`` (bisected in :class:`Hits`)."""
    if isinstance(hits, Hits):
        place = bisect_left(hits, value)
        return place < len(hits) and hits[place] == value
    return value in hits


def nearest(hits: Iterable[int], expected: int, floor: int = 0) -> int | None:
    """The hit GNU patch would take: the nearest to ``expected`` at or after ``floor``; on a tie
    the one after (patch tries ``+n`` before ``-n``)."""
    if isinstance(hits, list) and len(hits) < 2:  # the common case: one hit, or none
        return hits[0] if hits and hits[0] >= floor else None
    if isinstance(hits, Hits):
        # In order and each once: the nearest is one of the two around ``expected``.
        after_index = bisect_left(hits, max(expected, floor))
        after = hits[after_index] if after_index < len(hits) else None
        before_index = bisect_left(hits, expected) - 1
        before = hits[before_index] if before_index >= 0 and hits[before_index] >= floor else None
        if before is None or (after is not None and after - expected <= expected - before):
            return after
        return before
    best: int | None = None
    for hit in hits:
        if hit < floor:
            continue
        if best is None or (abs(hit - expected), hit < expected) < (
            abs(best - expected),
            best < expected,
        ):
            best = hit
    return best


def same_function(section: bytes, line: bytes) -> bool:
    """Whether a hunk header's section text names this file line (git truncates sections)."""
    if section and not section.isspace() and line.startswith(section):
        # The common answer, without normalizing: git copies the line (stripped, maybe cut
        # short), and a prefix stays a prefix once whitespace runs are collapsed.
        return True
    left = normalize(section)
    right = normalize(line)
    if not left or not right:
        return False
    return right.startswith(left) or left.startswith(right)


def enclosing_function(lines: Sequence[bytes], index: int) -> tuple[int, bytes] | None:
    """The nearest definition-looking line strictly above ``index``: (0-based index, line)."""
    for position in range(min(index, len(lines)) - 1, -1, -1):
        line = lines[position]
        if _DEFINITION.match(line) and not _LABEL.match(line):
            return position, line
    return None

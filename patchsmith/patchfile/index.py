"""The patch index: where every file diff and hunk starts and ends, in bytes, with header fields.

This is the index's public face: :class:`PatchIndex`, its lazy file list :class:`LazyFiles`,
and the entry points :func:`index_sources` and :func:`index_bytes`. The records it holds
(:class:`FileEntry`, :class:`HunkEntry`, :class:`Mail`, :class:`ChangeKind`,
:class:`DiffFormat`) are defined in :mod:`patchsmith.patchfile.entries` and re-exported here
(``__all__``): import them from here. Reading the bytes is the scanner's work
(:mod:`patchsmith.patchfile.scan`); mails are split by :mod:`patchsmith.patchfile.mbox` and
path names decoded by :mod:`patchsmith.patchfile.names`.

Everything users get back out of a patch is sliced from the original bytes with these offsets,
so CRLF, Latin-1, timestamps and ``\\ No newline at end of file`` survive untouched.

Every byte of an input belongs to exactly one piece: the text before a file diff (its *lead*:
mail headers, commit message, diffstat), the file diff itself, or the trailer after the last one.
Concatenating the pieces gives back the input (a property test checks it).

The imports point one way, so there is no cycle: :mod:`~patchsmith.patchfile.names` and
:mod:`~patchsmith.patchfile.entries` import no other module of the package,
:mod:`~patchsmith.patchfile.scan` imports those two, :mod:`~patchsmith.patchfile.mbox` the
scanner, and this module all of them. :class:`PatchIndex` stays here rather than with the
records because :meth:`PatchIndex.trailer` asks whether its files are a :class:`LazyFiles`,
and :class:`LazyFiles` needs the scanner (it makes the scanner's :class:`LazyHunks`).
"""

from __future__ import annotations

import bisect
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import field, replace

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.entries import ChangeKind, DiffFormat, FileEntry, HunkEntry, Mail
from patchsmith.patchfile.mbox import _mails, between, encoded_diff
from patchsmith.patchfile.names import _decode_or_none
from patchsmith.patchfile.scan import (
    _CONTEXT_PATTERNS,
    _GIT_PATTERNS,
    LazyHunks,
    _LineIndex,
    _pair_starts_file,
    _plain_fields,
    _Scanner,
)
from patchsmith.patchfile.source import PatchSource
from patchsmith.record import record
from patchsmith.typing_shim import overload

__all__ = [
    "ChangeKind",
    "DiffFormat",
    "FileEntry",
    "HunkEntry",
    "LazyFiles",
    "Mail",
    "PatchIndex",
    "PausedGarbageCollector",
    "index_bytes",
    "index_sources",
]


@record
class PatchIndex:
    """The index of one or more inputs, read in order (a quilt series gives several)."""

    sources: tuple[PatchSource, ...]
    files: Sequence[FileEntry]
    """In input order: a tuple, or with ``index_sources(..., lazy=True)`` a :class:`LazyFiles`
    that makes each entry when it is first looked at."""
    mails: tuple[Mail, ...] = field(default=())

    @property
    def hunk_count(self) -> int:
        return sum(len(f.hunks) for f in self.files)

    def data(self, entry: FileEntry | HunkEntry, source: int = 0) -> bytes:
        """The exact bytes of a file diff (headers and hunks) or, with its source, of a hunk."""
        if isinstance(entry, FileEntry):
            return self.sources[entry.source].data[entry.start : entry.end]
        return self.sources[source].data[entry.start : entry.end]

    def file_header(self, entry: FileEntry) -> bytes:
        """The header lines of a file diff, up to its first hunk."""
        first = entry.hunks[0].start if entry.hunks else entry.end
        return self.sources[entry.source].data[entry.start : first]

    def lead(self, entry: FileEntry) -> bytes:
        """The non-diff text just before a file diff."""
        return self.sources[entry.source].data[entry.lead_start : entry.start]

    def trailer(self, source: int) -> bytes:
        """The text after the last file diff of a source."""
        if isinstance(self.files, LazyFiles):
            return self.sources[source].data[self.files.last_end(source) :]
        ends = [f.end for f in self.files if f.source == source]
        return self.sources[source].data[max(ends, default=0) :]

    def pieces(self) -> Iterator[bytes]:
        """Every byte of every input, as leads, file diffs and trailers, in order."""
        for number, _source in enumerate(self.sources):
            for entry in self.files:
                if entry.source == number:
                    yield self.lead(entry)
                    yield self.data(entry)
            yield self.trailer(number)


class LazyFiles(Sequence[FileEntry]):
    """The file diffs of ``index_sources(..., lazy=True)``, each made when first looked at.

    ``filter --only drivers/md`` on a 40 MB patch writes 60 of its 14,000 file diffs: making an
    entry for each of the others (names decoded, a line number counted from the top) cost more
    than C ``filterdiff``'s whole run. A plain git file diff is kept as the match of its header
    until then; :meth:`raw_name_table`, :meth:`span` and :meth:`check` answer what selecting and
    writing need without entries. Entries are made once and kept, so they compare and behave
    like the eager index's (a property test checks it).

    A file diff without a ``diff`` line that follows a hunk (``--- x``/``+++ y`` at the end of
    a ``-p0`` or quilt file diff) is taken to start there, unsettled: those two lines could
    also be a removed ``-- x`` and an added ``++ y`` line ending the hunk, and only counting
    that hunk tells (on a 40 MB ``-p0`` patch, counting the last hunk of each of 15,000 files
    cost as much as the rest of the scan). :meth:`settle` counts the ones asked for; whatever
    needs the whole list (its length, its entries, every name) settles all of them first, and
    if one does not start a file diff the inputs are read again counting every one
    (:attr:`generation` then changes). ``filter`` settles only the ones that could change what
    it writes (:func:`patchsmith.patchfile.select.select` with ``bytes_only``).
    """

    __slots__ = (
        "_cache",
        "_ends",
        "_first_of_source",
        "_gits",
        "_items",
        "_leads",
        "_lines",
        "_mails",
        "_news",
        "_olds",
        "_sources",
        "_starts",
        "_unsettled",
        "generation",
    )

    def __init__(self, sources: Sequence[PatchSource]) -> None:
        self._sources = tuple(sources)
        self._lines = [_LineIndex(source.data) for source in sources]
        self._items: list[re.Match[bytes] | FileEntry] = []
        """A plain git file diff's header match, or the entry the general path made (its line
        number not yet counted)."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._leads: list[int] = []
        self._first_of_source: list[int] = []
        self._mails: dict[int, int] = {}
        self._cache: dict[int, FileEntry] = {}
        self._olds: list[bytes | None] = []
        self._news: list[bytes | None] = []
        self._gits: list[bool] = []
        self._unsettled: set[int] = set()
        """The file diffs that start at a ``---``/``+++`` pair taken to be a header, not yet
        counted (0-based numbers)."""
        self.generation = 0
        """How many times the inputs were read again (a taken pair was not a header): a
        number from before then may name another file diff."""

    def add(self, source: int, scanner: _Scanner, mails: Sequence[int | None]) -> None:
        """Take the file diffs a lazy :class:`_Scanner` found in source ``source`` (in order)."""
        first = len(self._items)
        self._first_of_source.append(first)
        self._items += scanner.plain
        self._starts += scanner.starts
        self._ends += scanner.ends
        self._leads += scanner.leads
        self._olds += scanner.old_names
        self._news += scanner.new_names
        self._gits += scanner.git_flags
        self._unsettled.update(first + number for number in scanner.unsettled)
        for offset, mail in enumerate(mails):
            if mail is not None:
                self._mails[first + offset] = mail

    def __len__(self) -> int:
        self.settle_all()
        return len(self._items)

    def taken(self) -> int:
        """How many file diffs there are, unsettled pairs taken as headers."""
        return len(self._items)

    @property
    def unsettled(self) -> frozenset[int]:
        """The file diffs (0-based) that start at a pair not yet settled."""
        return frozenset(self._unsettled)

    def settle(self, numbers: Iterable[int]) -> bool:
        """Count the hunk before each unsettled pair among the file diffs ``numbers`` (0-based,
        as taken); ``True`` when each of them starts a file diff. ``False`` when one does not:
        the list as taken is wrong from there on, and :meth:`settle_all` reads it again."""
        wanted = sorted(self._unsettled.intersection(numbers))
        for number in wanted:
            previous = self._items[number - 1]  # the pair ends a hunk of the run it is in
            assert isinstance(previous, re.Match)
            data = self._sources[self.source_of(number)].data
            if not _pair_starts_file(data, previous.end(), self._starts[number]):
                return False
            self._unsettled.discard(number)
        return True

    def settle_all(self) -> None:
        """Settle every pair; if one is not a header, read the inputs again counting each
        (what the eager scan would say, errors included) and replace this list with that."""
        if self._unsettled and not self.settle(tuple(self._unsettled)):
            settled = _index_sources(self._sources, lazy=True, settle_pairs=True).files
            assert isinstance(settled, LazyFiles)
            generation = self.generation
            for name in LazyFiles.__slots__:
                setattr(self, name, getattr(settled, name))
            self.generation = generation + 1

    def _require_settled_around(self, number: int) -> None:
        """Refuse a number whose file diff's start or end is still a pair taken as a header:
        what a caller does with it may be wrong (settle around it first)."""
        if number in self._unsettled or number + 1 in self._unsettled:
            raise RuntimeError(f"file diff {number} is bounded by an unsettled pair")

    @overload
    def __getitem__(self, item: int) -> FileEntry: ...

    @overload
    def __getitem__(self, item: slice) -> tuple[FileEntry, ...]: ...

    def __getitem__(self, item: int | slice) -> FileEntry | tuple[FileEntry, ...]:
        if isinstance(item, slice):
            return tuple(self[i] for i in range(*item.indices(len(self))))
        count = len(self)  # settles every pair: an entry's number counts from the top
        number = item + count if item < 0 else item
        if not 0 <= number < count:
            raise IndexError("file index out of range")
        entry = self._cache.get(number)
        if entry is None:
            entry = self._cache[number] = self._make(number)
        return entry

    def __iter__(self) -> Iterator[FileEntry]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (LazyFiles, tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyFiles(<{len(self)} file diffs>)"

    def source_of(self, number: int) -> int:
        """The source index of file diff ``number`` (0-based)."""
        return bisect.bisect_right(self._first_of_source, number) - 1

    def span(self, number: int) -> tuple[int, int, int]:
        """(source, start, end) of file diff ``number`` (0-based, as taken: the pairs around it
        settled), without making its entry."""
        self._require_settled_around(number)
        return self.source_of(number), self._starts[number], self._ends[number]

    def last_end(self, source: int) -> int:
        """Where the last file diff of ``source`` ends (the trailer starts there)."""
        self.settle_all()
        following = self._first_of_source[source + 1 : source + 2]
        last = (following[0] if following else len(self._items)) - 1
        return self._ends[last] if last >= self._first_of_source[source] else 0

    def name_table(self) -> tuple[list[str | None], list[str | None], list[bool]]:
        """Every file diff's old name, new name and whether it is a git diff, as three lists:
        what selecting by path needs, at a fraction of the cost of making the entries."""
        olds, news, gits = self.raw_name_table()
        return [_decode_or_none(n) for n in olds], [_decode_or_none(n) for n in news], gits

    def raw_name_table(
        self, settled: bool = True
    ) -> tuple[list[bytes | None], list[bytes | None], list[bool]]:
        """:meth:`name_table` with the names as the patch's bytes, undecoded; with
        ``settled=False``, of the file diffs as taken (unsettled pairs included).

        ``filter --only`` matches 28,000 names of a 40 MB patch on their bytes and decodes
        only the few it keeps: decoding them all cost a quarter of the selection.
        """
        if settled:
            self.settle_all()
        return self._olds, self._news, self._gits

    def check(self, number: int) -> None:
        """Raise :class:`PatchParseError` where reading file diff ``number``'s hunks would
        (``number`` as in :meth:`span`)."""
        self._require_settled_around(number)
        entry = self._cache.get(number)
        item = self._items[number] if entry is None else entry
        if isinstance(item, FileEntry):
            if isinstance(item.hunks, LazyHunks):
                item.hunks.check()
            return
        self._hunks(number, item).check()

    def _hunks(self, number: int, header: re.Match[bytes]) -> LazyHunks:
        source = self.source_of(number)
        return LazyHunks(
            self._sources[source],
            source,
            self._lines[source],
            header.end(),
            self._ends[number],
            context=header.re in _CONTEXT_PATTERNS,
        )

    def _make(self, number: int) -> FileEntry:
        item = self._items[number]
        source = self.source_of(number)
        line = self._lines[source].at(self._starts[number])
        mail = self._mails.get(number)
        if isinstance(item, FileEntry):
            return replace(item, line=line, mail=mail)
        old_name, new_name, headers, kind, fmt = _plain_fields(item)
        return FileEntry(
            number=number + 1,
            source=source,
            lead_start=self._leads[number],
            start=self._starts[number],
            end=self._ends[number],
            line=line,
            old_name=old_name,
            new_name=new_name,
            git=item.re in _GIT_PATTERNS,
            headers=headers,
            kind=kind,
            format=fmt,
            hunks=self._hunks(number, item),
            mail=mail,
        )


def index_sources(sources: Sequence[PatchSource], lazy: bool = False) -> PatchIndex:
    """Index every input in order. Raises :class:`PatchParseError` on malformed input.

    With ``lazy``, the hunks of git file diffs are read when first used (:class:`LazyHunks`):
    file boundaries, names and headers are read and checked now, and every line of a file diff
    is checked to be a hunk line, but an ``@@`` line whose counts disagree with its body
    raises only when that file's hunks are used. ``filter`` uses this: it reads only the hunks
    of the files it writes.
    """
    with PausedGarbageCollector():
        return _index_sources(sources, lazy)


class PausedGarbageCollector:
    """``with PausedGarbageCollector():`` builds many small objects without cyclic GC passes.

    Indexing a 40 MB patch makes tens of thousands of entries, none of them in a reference
    cycle; the collector still walks every live object each time its counters trip, which made
    a 4x larger patch take 6x as long. The previous state is restored on the way out.
    """

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self.was_enabled:
            gc.enable()


def _index_sources(
    sources: Sequence[PatchSource], lazy: bool, settle_pairs: bool = False
) -> PatchIndex:
    files: list[FileEntry] = []
    lazy_files = LazyFiles(sources) if lazy else None
    mails: list[Mail] = []
    for number, source in enumerate(sources):
        if not source.data:
            raise PatchParseError(
                "the input is empty",
                source=source.name,
                line=1,
                hint="pass a patch file, or pipe one to '-'",
            )
        first_number = lazy_files.taken() if lazy_files is not None else len(files)
        scanner = _Scanner(source, number, first_number + 1, lazy, settle_pairs)
        try:
            scanned = scanner.scan()
        except PatchParseError:
            # An encoded mail often reads as a broken hunk ('=20' for a blank context line):
            # say what it is rather than where the hunk broke.
            encoded_diff(source, [(0, len(source.data))])
            raise
        if not scanned:
            encoded_diff(source, [(0, len(source.data))])
            binary = b"\x00" in source.data[:65536]
            raise PatchParseError(
                "binary data, not a patch" if binary else "no file diff found in the input",
                source=source.name,
                line=1,
                hint="a patch has '--- a/FILE' and '+++ b/FILE' lines followed by '@@' hunks"
                if not binary
                else "compressed inputs (gzip, bzip2, xz, zstd) are recognised; is this one?",
            )
        found = scanner.files
        if lazy_files is not None:
            starts, ends = scanner.starts, scanner.ends
        else:
            starts, ends = [f.start for f in found], [f.end for f in found]
        encoded_diff(source, between(starts, ends, len(source.data)))
        source_mails = _mails(source, number, starts, ends)
        file_mails: list[int | None] = []
        if source_mails:
            mail_starts = [m.start for m in source_mails]
            first_mail = len(mails)
            for start in starts:
                mail = bisect.bisect_right(mail_starts, start) - 1
                file_mails.append(first_mail + mail if mail >= 0 else None)
            mails.extend(source_mails)
        if lazy_files is not None:
            lazy_files.add(number, scanner, file_mails)
        else:
            if file_mails:
                found = [_with_mail(e, m) for e, m in zip(found, file_mails, strict=True)]
            files.extend(found)
    return PatchIndex(
        sources=tuple(sources),
        files=lazy_files if lazy_files is not None else tuple(files),
        mails=tuple(mails),
    )


def _with_mail(entry: FileEntry, mail: int | None) -> FileEntry:
    return entry if mail is None else replace(entry, mail=mail)


def index_bytes(data: bytes, name: str = "<patch>") -> PatchIndex:
    """Index a patch held in memory (tests, stdin already read)."""
    return index_sources([PatchSource(name, data)])

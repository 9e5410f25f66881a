"""Where patch bytes come from: files, stdin, compressed files, directories and quilt series.

Compression is detected from magic bytes, never from the file name, so ``patch-2.6.16.29.bz2``,
a ``.gz`` renamed ``.diff`` and a plain patch all read the same way. Every input is returned as the
exact decompressed bytes: nothing is decoded, normalised or re-encoded here.

The decompressors (``zstandard`` among them) and :mod:`pathlib` are imported only when an input
needs them: ``filter`` on a plain patch file is a short-lived process, and their imports were a
tenth of its start-up.
"""

from __future__ import annotations

import io  # loaded before any program runs (the standard streams are io objects): free
import os
import sys
from collections.abc import Sequence

from patchsmith.errors import InputError
from patchsmith.record import record

# Imports for the type checker only (mypy reads TYPE_CHECKING as true): typing and pathlib cost
# ``filter`` start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

# (magic bytes, name) of every container we open; the first match wins.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

STDIN = "-"


@record
class PatchSource:
    """One input patch as read: the name a user recognises and the exact decompressed bytes."""

    name: str
    """The path as given (or ``<stdin>``, or ``dir/0001-x.patch`` inside a series)."""
    data: bytes
    """The decompressed bytes, untouched."""
    compression: str | None = None
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``None``: reported by ``ls`` and reports."""
    raw_size: int = 0
    """Size of the input as stored (compressed), for reports."""


def detect_compression(head: bytes) -> str | None:
    """The container format named by the first bytes of an input, or ``None`` for plain text."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    # pzstd (parallel zstd) opens with a skippable frame (magics 0x184D2A50-5F) saying how
    # long the next frame is; zstd reads past it, so must we.
    if len(head) >= 4 and int.from_bytes(head[:4], "little") & 0xFFFFFFF0 == 0x184D2A50:
        return "zstd"
    return None


SIZE_FLOOR = 1 << 30
"""A decompressed input up to this size is always read (1 GiB: ten times the largest
cumulative kernel patch)."""

SIZE_RATIO = 64
"""Above :data:`SIZE_FLOOR`, an input may decompress to this many times its stored size. Text
patches compress 4-10x; a file that expands 64x and past a gigabyte is a decompression bomb
(1.5 KB of bzip2 expands to 2 GiB of zeros), and reading it whole would take the machine's
memory before "binary data, not a patch" could be said."""

DECIDE_IN_MEMORY = 64 << 20
"""While the output is already over :data:`SIZE_RATIO` times the input, only this much of it is
kept: past it the stream is only counted, and read a second time if it ends under the limit.
So a bomb costs this much memory at most while it is being refused."""

_CHUNK = 1 << 20


def size_limit(raw_size: int, max_size: int | None = None) -> int:
    """The most bytes an input stored in ``raw_size`` bytes may decompress to.

    ``max_size`` (``--max-size``) replaces the rule; without it, the larger of
    :data:`SIZE_FLOOR` and :data:`SIZE_RATIO` times the stored size.
    """
    if max_size is not None:
        return max_size
    return max(SIZE_FLOOR, SIZE_RATIO * raw_size)


def human_size(size: int) -> str:
    """``1536`` as ``1.5 KiB``: sizes in messages."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns at GiB


MAX_SIZE_OPTION = "--max-size"
"""The option that raises the limit, named in the refusal's hint (``None`` where a command has
none: a kernel config or a module that large is not what was asked for)."""


def decompress(
    raw: bytes, name: str, max_size: int | None = None, *, option: str | None = MAX_SIZE_OPTION
) -> tuple[bytes, str | None]:
    """Decompress ``raw`` if its magic bytes name a known container; return (bytes, format).

    The output is read as a stream and refused (:class:`InputError`) once it passes
    :func:`size_limit`; a damaged stream is an :class:`InputError` too, whatever the
    decompressor raised. ``option`` is what the refusal's hint says raises the limit.
    """
    kind = detect_compression(raw[:8])
    if kind is None:
        return raw, None
    limit = size_limit(len(raw), max_size)
    try:
        data = _stream(raw, kind, limit, keep_up_to=max(DECIDE_IN_MEMORY, SIZE_RATIO * len(raw)))
        if data is None:  # counted, not kept, and under the limit: read it again, keeping it
            data = _stream(raw, kind, limit, keep_up_to=limit)
    except _TooLarge:
        raise _bomb(name, len(raw), kind, limit, max_size, option) from None
    except ImportError as error:  # pragma: no cover - zstandard is a declared dependency
        raise _no_zstandard(name) from error
    except Exception as error:  # each decompressor has error types of its own
        if not _is_damage(error):
            raise
        raise _damaged(name, kind, error) from error
    assert data is not None
    return data, kind


def _bomb(
    name: str, raw_size: int, kind: str, limit: int, max_size: int | None, option: str | None
) -> InputError:
    rule = (
        "the limit given"
        if max_size is not None
        else f"the larger of {human_size(SIZE_FLOOR)} and {SIZE_RATIO}x the compressed size"
    )
    if option is not None:
        hint = f"if it really is that large, raise the limit: {option} {(limit >> 30) * 4 or 1}G"
    else:
        hint = "no file of this kind is that large: check that it is the file you meant"
    return InputError(
        f"{name}: {human_size(raw_size)} of {kind} data that decompresses to more than "
        f"{human_size(limit)} ({rule}): refused as a likely decompression bomb",
        hint=hint,
    )


def _damaged(name: str, kind: str, error: Exception) -> InputError:
    return InputError(
        f"{name}: looks like {kind} data but does not decompress: {error}",
        hint="the file may be truncated or damaged; check it with the matching tool "
        "(gzip -t, bzip2 -t, xz -t, zstd -t)",
    )


def _no_zstandard(name: str) -> InputError:  # pragma: no cover - a declared dependency
    return InputError(
        f"{name}: zstd input needs the 'zstandard' package", hint="pip install zstandard"
    )


class _TooLarge(Exception):
    """The decompressed stream passed its limit."""


def _reader(raw: bytes | BinaryIO, kind: str) -> io.BufferedIOBase:
    """A file-like reader of the decompressed stream (every member or frame, in order), from
    the compressed bytes or from a file open on them."""
    import io

    source = io.BytesIO(raw) if isinstance(raw, bytes) else raw
    if kind == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=source)
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(source)
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(source)
    import zstandard  # optional at import time: only needed for .zst input

    if _zstd_cut_short(source):
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
    # A stream written without a content size in its frame header, or several frames (pzstd,
    # or "zstd -c a b"), needs the streaming reader across frames.
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    return reader  # type: ignore[return-value]


def _zstd_cut_short(source: BinaryIO) -> bool:
    """Whether the zstd stream's last frame runs past the end of the input.

    zstandard's stream reader ends quietly where its input ends, inside a frame or not, so a
    ``.zst`` cut short read as a shorter patch (whole files missing, nothing said) where gzip,
    bzip2 and xz call the same cut damage. The frame and block headers (RFC 8878, 3.1) give
    every frame's length without decompressing anything; ``source`` is left at its start.
    What is not a frame header is left to the decompressor to refuse.
    """
    size = source.seek(0, os.SEEK_END)
    position = 0
    try:
        while position < size:
            source.seek(position)
            head = source.read(14)  # magic, descriptor, window, dictionary id, content size
            if len(head) < 4:
                return True
            magic = int.from_bytes(head[:4], "little")
            if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame: its size, then its data
                if len(head) < 8:
                    return True
                position += 8 + int.from_bytes(head[4:8], "little")
                continue
            if magic != 0xFD2FB528 or len(head) < 5:
                return magic == 0xFD2FB528
            descriptor = head[4]
            single_segment = descriptor >> 5 & 1
            content_size = (0 if not single_segment else 1, 2, 4, 8)[descriptor >> 6]
            position += 5 + (not single_segment) + (0, 1, 2, 4)[descriptor & 3] + content_size
            while True:  # blocks: a 3-byte header (last flag, type, size), then the content
                source.seek(position)
                header = source.read(3)
                if len(header) < 3:
                    return True
                value = int.from_bytes(header, "little")
                kind = value >> 1 & 3
                position += 3 + (1 if kind == 1 else value >> 3)
                if value & 1:
                    break
            position += 4 * (descriptor >> 2 & 1)  # the content checksum
        return position > size
    finally:
        source.seek(0)


def open_decompressed(
    path: str, max_size: int | None = None, *, option: str | None = MAX_SIZE_OPTION
) -> BinaryIO:
    """The file at ``path``, decompressed as it is read (magic bytes decide; a plain file reads
    as it is), for an input too large to hold in memory (a kernel tarball).

    Reading past :func:`size_limit` of the stored size, or a damaged stream, raises
    :class:`InputError` (``option`` as for :func:`decompress`). An ``OSError`` from opening the
    file is raised as it is, for the caller to name the file its own way.
    """
    import io

    handle = open(path, "rb")  # noqa: SIM115 - closed with the stream returned
    try:
        kind = detect_compression(handle.read(8))
        handle.seek(0)
        raw_size = os.fstat(handle.fileno()).st_size
        if kind is None:
            return handle
        try:
            inner = _reader(handle, kind)
        except Exception as error:  # each decompressor has error types of its own
            if not _is_damage(error):
                raise
            raise _damaged(path, kind, error) from error
        limited = _Limited(inner, handle, path, kind, raw_size, max_size, option)
        return io.BufferedReader(limited, _CHUNK)
    except BaseException:
        handle.close()
        raise


class _Limited(io.RawIOBase):
    """A decompressing reader that refuses past its limit and names damage as bad input."""

    def __init__(
        self,
        inner: io.BufferedIOBase,
        handle: BinaryIO,
        name: str,
        kind: str,
        raw_size: int,
        max_size: int | None,
        option: str | None,
    ) -> None:
        self._inner = inner
        self._handle = handle
        self._name = name
        self._kind = kind
        self._raw_size = raw_size
        self._max_size = max_size
        self._option = option
        self._limit = size_limit(raw_size, max_size)
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except Exception as error:  # each decompressor has error types of its own
            if not _is_damage(error):
                raise
            raise _damaged(self._name, self._kind, error) from error
        self._total += len(data)
        if self._total > self._limit:
            raise _bomb(
                self._name, self._raw_size, self._kind, self._limit, self._max_size, self._option
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                self._handle.close()
        super().close()


def _stream(raw: bytes, kind: str, limit: int, keep_up_to: int) -> bytes | None:
    """The decompressed bytes; ``None`` when more than ``keep_up_to`` came out (only counted,
    to decide) but no more than ``limit``. Raises :class:`_TooLarge` past ``limit``."""
    import io

    kept: io.BytesIO | None = io.BytesIO()
    total = 0
    with _reader(raw, kind) as reader:
        while True:
            chunk = reader.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise _TooLarge
            if kept is not None:
                if total > keep_up_to:
                    kept = None  # from here on only count: the buffer's memory goes now
                else:
                    kept.write(chunk)
    return kept.getvalue() if kept is not None else None


def _is_damage(error: Exception) -> bool:
    """Whether ``error`` is a decompressor's way of saying the stream is damaged."""
    import lzma
    import zlib

    if isinstance(error, (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)):
        return True
    return type(error).__module__.startswith("zstandard") or type(error).__name__ == "ZstdError"


def read_source(
    path: str, stdin: BinaryIO | None = None, max_size: int | None = None
) -> list[PatchSource]:
    """Read one patch argument: a file, ``-`` for stdin, a directory or a quilt ``series`` file.

    A directory reads its ``series`` file if it has one, else every ``*.patch``/``*.diff`` file in
    name order (``git format-patch`` output). A file named ``series`` is a quilt series: the patches
    it lists, in order, relative to its folder. Everything else is one patch.

    A compressed input may decompress to at most :func:`size_limit` bytes (``max_size``
    replaces the rule).
    """
    if path == STDIN:
        raw = _read_stdin(stdin, max_size)
        data, kind = decompress(raw, "<stdin>", max_size)
        return [PatchSource("<stdin>", data, kind, len(raw))]
    if "\0" in path:
        raise InputError(f"{path!r}: a file name cannot contain a NUL byte")
    if not os.path.isdir(path) and os.path.basename(path) != "series":
        return [_read_one(path, max_size)]
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        series = target / "series"
        if series.is_file():
            return _read_series(series, max_size)
        members = sorted(
            p for p in target.iterdir() if p.is_file() and p.suffix in {".patch", ".diff"}
        )
        if not members:
            raise InputError(
                f"{path}: directory holds no series file and no *.patch or *.diff files",
                hint="pass a patch file, a quilt series file, or a folder of format-patch output",
            )
        return [_read_one(str(p), max_size) for p in members]
    if target.name == "series" and target.is_file():
        return _read_series(target, max_size)
    return [_read_one(path, max_size)]


def read_sources(
    paths: Sequence[str], stdin: BinaryIO | None = None, max_size: int | None = None
) -> list[PatchSource]:
    """Read several patch arguments, in order (``max_size``: see :func:`read_source`)."""
    sources: list[PatchSource] = []
    for path in paths:
        sources.extend(read_source(path, stdin, max_size))
    return sources


def _read_stdin(stdin: BinaryIO | None, max_size: int | None) -> bytes:
    if stdin is None:
        # Closed at start (``<&-``): Python leaves ``sys.stdin`` as None.
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise InputError(
                "standard input is closed", hint="pipe a patch to '-', or pass a file name"
            )
        stdin = stream
    return _read_stream(stdin, "<stdin>", max_size)


def _read_stream(
    stream: BinaryIO, name: str, max_size: int | None, option: str | None = MAX_SIZE_OPTION
) -> bytes:
    """All of a pipe, a terminal or a device, up to the size limit (``/dev/zero`` never ends)."""
    import io

    limit = SIZE_FLOOR if max_size is None else max_size
    out = io.BytesIO()
    try:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return out.getvalue()
            if out.tell() + len(chunk) > limit:
                raise InputError(
                    f"{name}: more than {human_size(limit)} of input: refused",
                    hint="if it really is a patch that large, save it to a file, or raise the "
                    f"limit: {option} {(limit >> 30) * 4 or 1}G"
                    if option is not None
                    else "no file of this kind is that large: check that it is the file you meant",
                )
            out.write(chunk)
    except (OSError, ValueError) as error:
        raise InputError(
            f"{name}: cannot read: {getattr(error, 'strerror', None) or error}",
            hint="a pipe or a device that fails while it is read; save the patch to a file",
        ) from error


def read_file(
    path: str, max_size: int | None = None, *, option: str | None = MAX_SIZE_OPTION
) -> PatchSource:
    """The file at ``path`` read as a patch input is: a regular file whole, a pipe or a device
    up to the size limit, then decompressed by its magic bytes with the limit
    (:func:`decompress`; ``option`` as there). For other inputs than patches too (a kernel
    config, a module). An ``OSError`` from opening or reading the file is raised as it is, for
    the caller to name the file its own way; too much data or a damaged stream is an
    :class:`InputError`."""
    import stat

    with open(path, "rb") as stream:
        status = os.fstat(stream.fileno())
        if stat.S_ISREG(status.st_mode):
            raw = _read_regular(stream, status.st_size)
        else:
            raw = _read_stream(stream, path, max_size, option)
    data, kind = decompress(raw, path, max_size, option=option)
    return PatchSource(path, data, kind, len(raw))


HUGE_PAGE_READ = 8 << 20
"""A regular file at least this large is read into memory the kernel is asked to back with
huge pages (:func:`_read_into_huge_pages`)."""


def _read_regular(stream: io.BufferedIOBase, size: int) -> bytes:
    """All of a regular file that was ``size`` bytes long when opened."""
    if size >= HUGE_PAGE_READ:
        data = _read_into_huge_pages(stream, size)
        if data is not None:
            return data
        stream.seek(0)
    return stream.read()


def _read_into_huge_pages(stream: io.BufferedIOBase, size: int) -> bytes | None:
    """The ``size`` bytes of ``stream`` (at its start), read into a new ``bytes`` object whose
    memory is marked ``MADV_HUGEPAGE`` before the first byte lands in it; ``None`` where that
    cannot be done (not CPython on Linux) or the file is not ``size`` bytes long any more (the
    caller then reads it the ordinary way, from the start).

    Reading a 42 MB patch whole is a quarter of ``filter``'s work past its start-up, and most
    of that is the kernel faulting in and zeroing ten thousand 4 KiB pages for the new object:
    26 ms on this project's machine, 8 ms with the same bytes in 2 MiB pages (a Linux kernel
    whose transparent huge pages are ``madvise``, as Debian's and Ubuntu's are; with
    ``always`` the ordinary read gets them too, with ``never`` this changes nothing). Python
    cannot ask for them: the memory of a ``bytes`` object is the allocator's, so it is marked
    here with :mod:`ctypes` while no page of it has been touched (``bytes(size)`` is calloc'd
    memory, fresh from the kernel at this size), then filled through a writable view, as
    CPython's own ``read`` fills the ``bytes`` it returns. No other reference to the object
    exists until it is returned whole.
    """
    if sys.platform != "linux" or sys.implementation.name != "cpython":
        return None
    import ctypes
    import mmap

    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):  # no C library to ask
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    data = bytes(size)
    address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    if address is None:  # pragma: no cover - a bytes object always has a buffer
        return None
    page = mmap.PAGESIZE
    first, last = -(-address // page) * page, (address + size) // page * page
    if last > first:
        # Advice only: refused (no transparent huge pages in this kernel), the read still works.
        madvise(first, last - first, mmap.MADV_HUGEPAGE)
    view = (ctypes.c_char * size).from_address(address)
    filled = stream.readinto(view)
    del view
    if filled != size or stream.read(1):
        return None  # the file was cut or grew while it was read
    return data


def _read_one(path: str, max_size: int | None = None) -> PatchSource:
    try:
        return read_file(path, max_size)
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file", hint="check the patch path") from error
    except IsADirectoryError as error:  # pragma: no cover - directories are handled above
        raise InputError(f"{path}: is a directory") from error
    except OSError as error:
        from patchsmith.paths import path_error  # only on the way out

        raise path_error(f"{path}: cannot read", error, path) from error


def _read_series(series: Path, max_size: int | None = None) -> list[PatchSource]:
    """A quilt series: one patch per line, ``#`` comments, an optional ``-pN`` after the name."""
    sources: list[PatchSource] = []
    try:
        lines = series.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as error:
        from patchsmith.paths import path_error  # only on the way out

        raise path_error(f"{series}: cannot read", error, series) from error
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        member = series.parent / text.split()[0]
        if not member.is_file():
            raise InputError(
                f"{series}:{number}: lists {text.split()[0]}, which does not exist",
                hint="quilt series entries are relative to the folder of the series file",
            )
        sources.append(_read_one(str(member), max_size))
    if not sources:
        raise InputError(f"{series}: the series lists no patches")
    return sources

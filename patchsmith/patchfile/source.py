"""Where patch bytes come from: files, stdin, compressed files, directories and quilt series.

Compression is detected from magic bytes, never from the file name, so ``patch-2.6.16.29.bz2``,
a ``.gz`` renamed ``.diff`` and a plain patch all read the same way. Every input is returned as the
exact decompressed bytes: nothing is decoded, normalised or re-encoded here.

Depends only on :mod:`patchsmith.errors` and on the optional ``zstandard`` package. The
decompressors and :mod:`pathlib` are imported only when an input needs them: ``filter`` on a
plain patch file is a short-lived process, and their imports were a tenth of its start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from patchsmith.errors import InputError
from patchsmith.record import record

# Imports for the type checker only (mypy reads TYPE_CHECKING as true): typing and pathlib cost
# ``filter`` start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import io
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


def decompress(raw: bytes, name: str, max_size: int | None = None) -> tuple[bytes, str | None]:
    """Decompress ``raw`` if its magic bytes name a known container; return (bytes, format).

    The output is read as a stream and refused (:class:`InputError`) once it passes
    :func:`size_limit`; a damaged stream is an :class:`InputError` too, whatever the
    decompressor raised.
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
        rule = (
            "the limit given"
            if max_size is not None
            else f"the larger of {human_size(SIZE_FLOOR)} and {SIZE_RATIO}x the compressed size"
        )
        raise InputError(
            f"{name}: {human_size(len(raw))} of {kind} data that decompresses to more than "
            f"{human_size(limit)} ({rule}): refused as a likely decompression bomb",
            hint="if it really is a patch that large, raise the limit: --max-size "
            f"{(limit >> 30) * 4 or 1}G",
        ) from None
    except ImportError as error:  # pragma: no cover - zstandard is a declared dependency
        raise InputError(
            f"{name}: zstd input needs the 'zstandard' package",
            hint="pip install zstandard",
        ) from error
    except Exception as error:  # each decompressor has error types of its own
        if not _is_damage(error):
            raise
        raise InputError(
            f"{name}: looks like {kind} data but does not decompress: {error}",
            hint="the file may be truncated or damaged; check it with the matching tool "
            "(gzip -t, bzip2 -t, xz -t, zstd -t)",
        ) from error
    assert data is not None
    return data, kind


class _TooLarge(Exception):
    """The decompressed stream passed its limit."""


def _reader(raw: bytes, kind: str) -> io.BufferedIOBase:
    """A file-like reader of the decompressed stream (every member or frame, in order)."""
    import io

    if kind == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=io.BytesIO(raw))
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(io.BytesIO(raw))
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(io.BytesIO(raw))
    import zstandard  # optional at import time: only needed for .zst input

    # A stream written without a content size in its frame header, or several frames (pzstd,
    # or "zstd -c a b"), needs the streaming reader across frames.
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return reader  # type: ignore[return-value]


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


def _read_stream(stream: BinaryIO, name: str, max_size: int | None) -> bytes:
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
                    f"limit: --max-size {(limit >> 30) * 4 or 1}G",
                )
            out.write(chunk)
    except (OSError, ValueError) as error:
        raise InputError(
            f"{name}: cannot read: {getattr(error, 'strerror', None) or error}"
        ) from error


def _read_one(path: str, max_size: int | None = None) -> PatchSource:
    import stat

    try:
        with open(path, "rb") as stream:
            if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raw = stream.read()
            else:
                raw = _read_stream(stream, path, max_size)
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file", hint="check the patch path") from error
    except IsADirectoryError as error:  # pragma: no cover - directories are handled above
        raise InputError(f"{path}: is a directory") from error
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    data, kind = decompress(raw, path, max_size)
    return PatchSource(path, data, kind, len(raw))


def _read_series(series: Path, max_size: int | None = None) -> list[PatchSource]:
    """A quilt series: one patch per line, ``#`` comments, an optional ``-pN`` after the name."""
    sources: list[PatchSource] = []
    try:
        lines = series.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as error:
        raise InputError(f"{series}: cannot read: {error.strerror}") from error
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

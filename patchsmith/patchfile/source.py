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


def decompress(raw: bytes, name: str) -> tuple[bytes, str | None]:
    """Decompress ``raw`` if its magic bytes name a known container; return (bytes, format)."""
    kind = detect_compression(raw[:8])
    if kind is None:
        return raw, None
    import lzma  # here, not at the top: most inputs are plain text

    try:
        if kind == "gzip":
            import gzip

            return gzip.decompress(raw), kind
        if kind == "bzip2":
            import bz2

            return bz2.decompress(raw), kind
        if kind == "xz":
            return lzma.decompress(raw), kind
        import zstandard  # optional at import time: only needed for .zst input

        # Streams written without a content size in the frame header need the streaming reader.
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        return reader.read(), kind
    except (OSError, EOFError, lzma.LZMAError, ValueError) as error:
        raise InputError(
            f"{name}: looks like {kind} data but does not decompress: {error}",
            hint="the file may be truncated; check it with the matching tool (gzip -t, bzip2 -t, "
            "xz -t, zstd -t)",
        ) from error
    except ImportError as error:  # pragma: no cover - zstandard is a declared dependency
        raise InputError(
            f"{name}: zstd input needs the 'zstandard' package",
            hint="pip install zstandard",
        ) from error


def read_source(path: str, stdin: BinaryIO | None = None) -> list[PatchSource]:
    """Read one patch argument: a file, ``-`` for stdin, a directory or a quilt ``series`` file.

    A directory reads its ``series`` file if it has one, else every ``*.patch``/``*.diff`` file in
    name order (``git format-patch`` output). A file named ``series`` is a quilt series: the patches
    it lists, in order, relative to its folder. Everything else is one patch.
    """
    if path == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read()
        data, kind = decompress(raw, "<stdin>")
        return [PatchSource("<stdin>", data, kind, len(raw))]
    if not os.path.isdir(path) and os.path.basename(path) != "series":
        return [_read_one(path)]
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        series = target / "series"
        if series.is_file():
            return _read_series(series)
        members = sorted(
            p for p in target.iterdir() if p.is_file() and p.suffix in {".patch", ".diff"}
        )
        if not members:
            raise InputError(
                f"{path}: directory holds no series file and no *.patch or *.diff files",
                hint="pass a patch file, a quilt series file, or a folder of format-patch output",
            )
        return [_read_one(str(p)) for p in members]
    if target.name == "series" and target.is_file():
        return _read_series(target)
    return [_read_one(path)]


def read_sources(paths: Sequence[str], stdin: BinaryIO | None = None) -> list[PatchSource]:
    """Read several patch arguments, in order."""
    sources: list[PatchSource] = []
    for path in paths:
        sources.extend(read_source(path, stdin))
    return sources


def _read_one(path: str) -> PatchSource:
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file", hint="check the patch path") from error
    except IsADirectoryError as error:  # pragma: no cover - directories are handled above
        raise InputError(f"{path}: is a directory") from error
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    data, kind = decompress(raw, path)
    return PatchSource(path, data, kind, len(raw))


def _read_series(series: Path) -> list[PatchSource]:
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
        sources.append(_read_one(str(member)))
    if not sources:
        raise InputError(f"{series}: the series lists no patches")
    return sources

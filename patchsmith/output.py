"""Writing a file the user named (``-o FILE``): all of it or nothing, and never a temp file left.

``filter -o``, ``report -o``, ``check --report -o`` and ``finish -o`` write here. A regular file
(or a new one) is written to a temporary file beside it and renamed over it only when every byte
was written, so a full disk, a ``^C`` or a malformed hunk found half-way leaves the old file as
it was and no ``.NAME.*.patchsmith-tmp`` behind. (No ``fsync``: these are outputs a command
makes again, not state to recover after a power cut, and it made ``filter -o`` of a kernel patch
much slower.) What is not a regular file (``/dev/stdout``, a FIFO, ``/dev/full``) cannot be
replaced that way, and as root renaming over ``/dev/null`` would replace the device: it is
written in place. Every failure is an :class:`~patchsmith.errors.OutputError` naming the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from patchsmith.errors import OutputError

_TEMP_SUFFIX = ".patchsmith-tmp"
_HINT = "write somewhere you may create files, with room for them"


def check_output(path: str | Path) -> Path:
    """The file to write for ``path``, or :class:`OutputError` if it cannot be one.

    Called before a command does work it cannot undo (``finish`` commits), so a mistyped
    ``-o`` is refused first. A symbolic link is followed: the file it names is written.
    """
    target = Path(path)
    if "\0" in str(target):
        raise OutputError(f"{str(target)!r}: a file name cannot contain a NUL byte")
    if target.is_symlink() and _is_regular_or_new(target):
        # A link to a file: replace the file, not the link. A link to a pipe or a device
        # (/dev/stdout) is written through, in place.
        target = Path(os.path.realpath(target))
    if target.is_dir():
        raise OutputError(
            f"{path}: is a directory", hint=f"name a file in it, e.g. {Path(path) / 'out.patch'}"
        )
    folder = target.parent
    if not folder.is_dir():
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise OutputError(
                f"{path}: cannot write: {blocker} is a file, not a folder",
                hint="name a file in a folder",
            )
        raise OutputError(
            f"{path}: cannot write: the folder {folder} does not exist",
            hint="create the folder first, or name a file in an existing one",
        )
    if _is_regular_or_new(target) and not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{path}: cannot write: the folder {folder} is not writable",
            hint="write somewhere you may create files",
        )
    return target


def write_output(path: str | Path, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` (bytes, or chunks as a generator makes them) to ``path``; return the file.

    An exception while the chunks are made (a malformed hunk) removes the temporary file and
    is raised as it is; a failed write is an :class:`OutputError`.
    """
    target = check_output(path)
    chunks = (data,) if isinstance(data, bytes) else data
    if not _is_regular_or_new(target):
        _write_in_place(target, chunks, path)
        return target
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    temporary, descriptor = _create_temporary(target, path)
    try:
        with open(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise OutputError(f"{path}: cannot write: {error.strerror or error}", _HINT) from error
    except BaseException:
        _remove(temporary)
        raise
    return target


def _is_regular_or_new(target: Path) -> bool:
    try:
        return stat.S_ISREG(target.stat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _create_temporary(target: Path, path: str | Path) -> tuple[Path, int]:
    """A new file beside ``target``, created exclusively, with the mode a new file gets (the
    umask applies, unlike ``mkstemp``'s 0600)."""
    for attempt in range(100):
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{attempt}{_TEMP_SUFFIX}")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"{path}: cannot write: {error.strerror or error}", _HINT) from error
        return temporary, descriptor
    raise OutputError(f"{path}: cannot write: too many leftover temporary files beside it")


def _write_in_place(target: Path, chunks: Iterable[bytes], path: str | Path) -> None:
    try:
        with open(target, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}", _HINT) from error


def _remove(temporary: Path) -> None:
    try:
        temporary.unlink()
    except OSError:
        pass

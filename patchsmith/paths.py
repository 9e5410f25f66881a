"""Paths the user named: what is wrong with one, said in words, as bad input (exit 2).

A path on the command line (``--tree``, ``--config``, ``-o``, ``--worktree``, ``--session``...)
can be missing, a file where a folder is wanted or the other way round, under a file, unreadable,
in a folder nobody may write, or somewhere nothing can be made (``/proc/x``). The system says so
with an ``OSError`` (``ENOENT``, ``ENOTDIR``, ``EEXIST``, ``EISDIR``, ``EACCES``...); reaching
the CLI's boundary as such, the path-shaped ones would count as internal errors, because there
they cannot be told from a bug. So the code that opens a user's path turns the ``OSError`` into
an :class:`~patchsmith.errors.InputError` here, with a reason a person can act on (which part of
the path is a file, which folder is missing) and a hint.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from patchsmith.errors import InputError, PatchsmithError

_HINTS = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "check the path: a part of it is a file, not a folder",
    errno.EEXIST: "check the path: a part of it is a file, not a folder",
    errno.EISDIR: "name a file, not a folder",
    errno.EACCES: "check the permissions of it and of the folders above it",
    errno.EPERM: "check the permissions of it and of the folders above it",
    errno.EROFS: "name a place on a writable file system",
    errno.ENAMETOOLONG: "a name in the path is longer than the file system takes (255 bytes a "
    "name on most): shorten it",
}


def reason(error: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """What ``error`` (raised for ``path``) means, in words: which part of the path is a file,
    which folder is missing, or the system's own text."""
    where = Path(path if path is not None else error.filename or "")
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = _first_non_folder(where)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    if error.errno == errno.ENOENT:
        missing = _first_missing(where)
        if missing is not None and missing != where:
            return f"the folder {missing} does not exist"
        return "no such file or folder"
    if error.errno == errno.EISDIR:
        return "it is a folder, not a file"
    return error.strerror or str(error)


def hint_for(error: OSError) -> str:
    """A generic hint for a path ``error``; callers with a better one give theirs."""
    return _HINTS.get(error.errno or 0, "check the path and its permissions")


def path_error(
    subject: str,
    error: OSError,
    path: str | os.PathLike[str] | None = None,
    hint: str | None = None,
    kind: type[PatchsmithError] = InputError,
) -> PatchsmithError:
    """``subject: cannot ...: reason`` as a typed error with a hint (``subject`` names the
    path and what was being done, e.g. ``"--config /x: cannot read"``)."""
    return kind(f"{subject}: {reason(error, path)}", hint=hint or hint_for(error))


def readable_file(path: str | os.PathLike[str], subject: str, hint: str | None = None) -> None:
    """Refuse (:class:`InputError`) unless ``path`` is a file this process can open to read.
    ``subject`` names it in the message (``"--sign-key /x"``)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK)
    except FileNotFoundError as error:
        if _first_missing(Path(path)) == Path(path):
            raise InputError(f"{subject}: no such file", hint=hint or "check the path") from None
        raise path_error(f"{subject}: cannot read", error, path, hint) from None
    except OSError as error:
        raise path_error(f"{subject}: cannot read", error, path, hint) from None
    try:
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise InputError(
                f"{subject}: it is a folder, not a file", hint=hint or "name a file, not a folder"
            )
    finally:
        os.close(descriptor)


def readable_folder(path: str | os.PathLike[str], subject: str, hint: str | None = None) -> None:
    """Refuse (:class:`InputError`) unless ``path`` is a folder this process can list and
    enter. ``subject`` names it in the message (``"--kernel-dir /x"``)."""
    try:
        info = os.stat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise InputError(
                f"{subject}: it is a file, not a folder", hint=hint or "name a folder, not a file"
            )
        with os.scandir(path):
            pass
        os.stat(os.path.join(path, "."))  # entering it (search permission)
    except OSError as error:
        raise path_error(f"{subject}: cannot read", error, path, hint) from None


def creatable_folder(path: str | os.PathLike[str], subject: str, hint: str | None = None) -> None:
    """Refuse (:class:`InputError`) unless a folder can be made at ``path`` (the folders above
    it are made when missing, as ``mkdir -p`` does), or is there and empty.

    It is tried for real: a new folder is made and removed again (``/proc`` and a read-only
    mount look writable to a permission check as root, and refuse only when asked).
    """
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise path_error(f"{subject}: cannot use it", error, target, hint) from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise InputError(
                f"{subject}: it is a symbolic link", hint=hint or "pick a new path for it"
            )
        if not stat.S_ISDIR(info.st_mode):
            raise InputError(
                f"{subject}: it is a file, not a folder", hint=hint or "pick a new path for it"
            )
        try:
            entries = os.listdir(target)
        except OSError as error:
            raise path_error(f"{subject}: cannot read it", error, target, hint) from None
        if entries:
            raise InputError(
                f"{subject}: it exists and is not empty", hint=hint or "pick a new path for it"
            )
        probe = target / f".patchsmith-probe-{os.getpid()}"
    else:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise path_error(
                f"{subject}: cannot make its folder", error, target.parent, hint
            ) from None
        probe = target
    try:
        os.mkdir(probe)
    except OSError as error:
        if error.errno == errno.ENOENT:
            # The folder above is there (made or checked just now): this file system does not
            # let anything be made in it (/proc).
            raise InputError(
                f"{subject}: nothing can be made in {probe.parent}: {error.strerror}",
                hint=hint or "pick a path in a folder you may write to",
            ) from None
        raise path_error(
            f"{subject}: cannot make a folder in {probe.parent}", error, probe, hint
        ) from None
    os.rmdir(probe)


def _first_non_folder(path: Path) -> Path | None:
    """The first existing component of ``path`` that is not a folder."""
    for part in reversed((path, *path.parents)):
        try:
            info = os.stat(part)
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return part
    return None


def _first_missing(path: Path) -> Path | None:
    """The first component of ``path`` that does not exist."""
    for part in reversed((path, *path.parents)):
        if not os.path.lexists(part):
            return part
    return None


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """The SHA-256 of a named file's bytes as they are on disk (a compressed config stays
    compressed: the digest names the file the user gave), or ``None`` when it cannot be read."""
    import hashlib  # here: loading OpenSSL costs 4 ms of every command's start-up (tree.py)

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()

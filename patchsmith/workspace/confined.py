"""Writing inside the worktree and nowhere else: every path resolved without following a link.

The worktree is patchsmith's, but what goes into it comes from a patch, and a patch can name a
path beyond a symlink it creates itself (``drivers/evil -> /tmp``, then ``drivers/evil/x.c``).
Each function here opens the worktree and walks the path one folder at a time with
``O_DIRECTORY | O_NOFOLLOW`` relative to the folder before (``openat``), creating missing
folders the same way, and does the last step relative to the last folder's descriptor: a
rename over the name (which replaces a link, never writes through it), an ``unlink``, a
``symlink``. A link, a file or anything else where a folder is needed stops the walk with
:class:`Blocked`, before anything is written.

The engine already refuses to settle such paths (:mod:`patchsmith.engine.tree`), so in apply
this is the second wall, not the first: it holds even if the two ever disagree, and for the
``.rej`` files and conflict blocks the workspace writes on its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from patchsmith.engine.tree import check_relative, points_outside
from patchsmith.errors import TreeError

_DIRECTORY_FLAGS = (
    os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
_NOFOLLOW_READ = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


_NAME_MAX = 255
"""The longest name (one path component, in bytes) Linux's file systems take."""


class Blocked(TreeError):
    """A path cannot be reached inside the worktree without passing a link (or a file)."""

    def __init__(self, relative: str, component: str, what: str) -> None:
        super().__init__(
            f"{relative}: {component} is {what} in the worktree; patchsmith does not write "
            "through it",
            hint="the patch or the tree puts a symlink where a folder is needed; see "
            "'patchsmith check' for the item",
        )
        self.relative = relative
        self.component = component


@contextlib.contextmanager
def _folder(root: Path, relative: str, create: bool) -> Iterator[tuple[int, str]]:
    """The descriptor of the folder holding ``relative`` (walked without following links,
    made when ``create``) and the last component's name."""
    check_relative(relative)
    parts = [p for p in relative.split("/") if p and p != "."]
    if not parts:
        raise TreeError(f"not a file path: {relative!r}")
    descriptor = _walk(root, parts[:-1], relative, create)
    try:
        yield descriptor, parts[-1]
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def folder(root: Path, relative: str, create: bool = False) -> Iterator[int]:
    """The descriptor of the folder ``relative`` itself (``""``: the root), walked as every
    write here is: no link followed, missing folders made when ``create``. :class:`Blocked`
    when a link or a file is on the way; ``FileNotFoundError`` for a missing folder otherwise.
    For many names in one folder: one walk, then ``dir_fd`` calls (:func:`copy_in`)."""
    parts = [p for p in relative.split("/") if p and p != "."]
    if parts:
        check_relative(relative)
    descriptor = _walk(root, parts, relative, create)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _walk(root: Path, folders: list[str], relative: str, create: bool) -> int:
    """Open ``root``, then each of ``folders`` below the one before without following a link
    (made when ``create``); return the last descriptor (the caller closes it)."""
    descriptor = os.open(root, _DIRECTORY_FLAGS)
    try:
        walked: list[str] = []
        for part in folders:
            walked.append(part)
            try:
                following = os.open(part, _DIRECTORY_FLAGS, dir_fd=descriptor)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=descriptor)
                except FileExistsError:
                    pass  # made meanwhile: the open below checks what it is
                following = _open_folder(descriptor, part, relative, walked)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _blocked(descriptor, part, relative, walked) from error
                raise
            os.close(descriptor)
            descriptor = following
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _open_folder(descriptor: int, part: str, relative: str, walked: list[str]) -> int:
    try:
        return os.open(part, _DIRECTORY_FLAGS, dir_fd=descriptor)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _blocked(descriptor, part, relative, walked) from error
        raise


def _blocked(descriptor: int, part: str, relative: str, walked: list[str]) -> Blocked:
    info = os.lstat(part, dir_fd=descriptor)
    if stat.S_ISLNK(info.st_mode):
        what = f"a symlink (→ {os.readlink(part, dir_fd=descriptor)})"
    elif stat.S_ISREG(info.st_mode):
        what = "a file"
    else:
        what = "not a folder"
    return Blocked(relative, "/".join(walked), what)


def _temporary_name(name: str) -> str:
    return f".{name[:200]}.patchsmith-{os.getpid()}-{secrets.token_hex(4)}"


def write_file(
    root: Path, relative: str, data: bytes, mode: int | None = None, *, sync: bool = True
) -> None:
    """Make ``relative`` a regular file holding ``data`` (atomically: a new file renamed over
    the name). Its permission bits are ``mode``, or else the replaced file's, or else the
    default; a link at the name is replaced, never written through. ``sync=False`` skips the
    ``fsync`` where a crash is recovered otherwise (a write the session is not yet told of)."""
    with _folder(root, relative, create=True) as (folder, name):
        keep: int | None = mode
        if keep is None:
            try:
                info = os.lstat(name, dir_fd=folder)
                if stat.S_ISREG(info.st_mode):
                    keep = stat.S_IMODE(info.st_mode)
            except FileNotFoundError:
                pass
        temporary = _temporary_name(name)
        handle = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
            0o666,
            dir_fd=folder,
        )
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(handle, view)
                    view = view[written:]
                if keep is not None:
                    os.fchmod(handle, keep)
                if sync:
                    os.fsync(handle)
            finally:
                os.close(handle)
            os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise


def make_durable(paths: Iterable[Path]) -> None:
    """Flush to disk everything written so far on the file systems holding ``paths``.

    One call replaces an ``fsync`` per file where many files and git's own writes must be on
    disk before one record says they are (apply writes a thousand files of a stable patch, then
    git writes their objects and moves the branch; then the session says "ready"). An ``fsync``
    per file cost 1-4 ms each on a loaded disk, and still left git's loose objects and refs,
    which git does not sync by default, to chance. ``syncfs`` flushes each file system once,
    whatever wrote to it; where the C library has none (not Linux), ``sync`` flushes them all.
    A write error the flush reports is raised as an ``OSError``.
    """
    devices: dict[int, Path] = {}
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            devices.setdefault(os.stat(path).st_dev, path)
    try:
        import ctypes  # only here: apply's durability point, not every command's start-up

        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    for path in devices.values():
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            if syncfs(descriptor) != 0:
                number = ctypes.get_errno()
                raise OSError(number, os.strerror(number), str(path))
        finally:
            os.close(descriptor)


class OutsideLink(TreeError):
    """A link patchsmith was asked to make points outside the worktree."""

    def __init__(self, relative: str, target: bytes) -> None:
        super().__init__(
            f"{relative}: a symlink to {os.fsdecode(target)!r} would point outside the"
            " worktree; patchsmith does not make it",
            hint="the patch makes a link out of the tree; see 'patchsmith check' for the item",
        )
        self.relative = relative
        self.target = target


def write_link(root: Path, relative: str, target: bytes, *, outside: bool = False) -> None:
    """Make ``relative`` a symlink to ``target`` (as the patch spells it; never followed).

    A target outside the worktree (absolute, or climbing above the root from the link's
    folder: :func:`~patchsmith.engine.tree.points_outside`) is refused with
    :class:`OutsideLink` before anything is written: the engine already calls such a link a
    conflict and never asks for it, so this is the second wall, holding if the two ever
    disagree (a later write through the link would leave the worktree, and git would commit a
    link a build then follows). ``outside=True`` is only for putting back a link the snapshot
    itself holds (the vendor's tree had it; restoring it is not the patch's doing).
    """
    if not outside and points_outside(relative, target):
        raise OutsideLink(relative, target)
    with _folder(root, relative, create=True) as (folder, name):
        temporary = _temporary_name(name)
        os.symlink(os.fsdecode(target), temporary, dir_fd=folder)
        try:
            os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise


def exists_in(folder: int, name: str) -> bool:
    """Whether ``name`` (anything, a link too) is in the folder open as ``folder``."""
    try:
        os.lstat(name, dir_fd=folder)
    except FileNotFoundError:
        return False
    return True


def copy_in(folder: int, name: str, origin: str) -> bool:
    """Copy the regular file or link at ``origin`` (outside the worktree, not followed) to
    ``name`` in the worktree folder open as ``folder``, with its permission bits and times, as
    ``cp -a`` would: a new file renamed over the name, so nothing is written through a link.
    Anything else at ``origin`` (a FIFO, a device: reading it could hang) is not copied:
    ``False``."""
    info = os.lstat(origin)
    temporary = _temporary_name(name)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(origin), temporary, dir_fd=folder)
    elif stat.S_ISREG(info.st_mode):
        source = os.open(origin, _NOFOLLOW_READ)
        try:
            handle = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                0o600,
                dir_fd=folder,
            )
            try:
                # No fsync: a build's copy of the tree, made again if it is lost.
                while chunk := os.read(source, 1 << 20):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(handle, view) :]
                os.fchmod(handle, stat.S_IMODE(info.st_mode))
                os.utime(handle, ns=(info.st_atime_ns, info.st_mtime_ns))
            finally:
                os.close(handle)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
        finally:
            os.close(source)
    else:
        return False
    try:
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
    return True


def remove(root: Path, relative: str) -> bool:
    """Remove the file or link at ``relative`` (a link itself, not its target); ``False`` when
    nothing was there."""
    try:
        with _folder(root, relative, create=False) as (folder, name):
            os.unlink(name, dir_fd=folder)
            return True
    except FileNotFoundError:
        return False


def read_file(root: Path, relative: str) -> bytes | None:
    """A regular file's bytes at ``relative``; ``None`` when it is absent or not a regular
    file (a link is not followed)."""
    try:
        with _folder(root, relative, create=False) as (folder, name):
            try:
                handle = os.open(name, _NOFOLLOW_READ, dir_fd=folder)
            except OSError as error:
                if error.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO):
                    return None
                raise
            try:
                if not stat.S_ISREG(os.fstat(handle).st_mode):
                    return None
                chunks = []
                while chunk := os.read(handle, 1 << 20):
                    chunks.append(chunk)
                return b"".join(chunks)
            finally:
                os.close(handle)
    except FileNotFoundError:
        return None


def lstat(root: Path, relative: str) -> os.stat_result | None:
    """``lstat`` of ``relative`` inside the worktree (``None`` when absent, and for a name
    longer than the file system allows, which nothing can be at)."""
    try:
        with _folder(root, relative, create=False) as (folder, name):
            try:
                return os.lstat(name, dir_fd=folder)
            except FileNotFoundError:
                return None
            except OSError as error:
                if error.errno == errno.ENAMETOOLONG:
                    return None
                raise
    except FileNotFoundError:
        return None


def reachable(root: Path, relative: str) -> bool:
    """Whether ``relative`` can be written without passing a link or a file on the way, and
    its name is one the file system takes (a ``.rej`` beside a file whose name is already near
    the limit is not: ``x.c.rej`` is four bytes longer than ``x.c``)."""
    try:
        with _folder(root, relative, create=False) as (folder, name):
            try:
                os.lstat(name, dir_fd=folder)
            except FileNotFoundError:
                pass
            except OSError as error:
                if error.errno == errno.ENAMETOOLONG:
                    return False
                raise
            return True
    except FileNotFoundError:
        return len(os.fsencode(relative.rsplit("/", 1)[-1])) <= _NAME_MAX  # folders made
    except Blocked:
        return False


def set_mode(root: Path, relative: str, mode: str) -> None:
    """Give the regular file at ``relative`` git's mode ``100755`` (execute bits where the read
    bits are) or ``100644`` (none); a link or anything else is left alone."""
    with _folder(root, relative, create=False) as (folder, name):
        try:
            handle = os.open(name, _NOFOLLOW_READ, dir_fd=folder)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENXIO):
                return
            raise
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode):
                return
            current = stat.S_IMODE(info.st_mode)
            if mode == "100755":
                os.fchmod(handle, current | ((current & 0o444) >> 2))
            elif mode == "100644":
                os.fchmod(handle, current & ~0o111)
        finally:
            os.close(handle)

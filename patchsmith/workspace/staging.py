"""The new worktree's folders and files, made by a child process while apply works.

A one-pass apply (:func:`patchsmith.workspace.apply._apply_one_pass`) knows the touched paths
the moment it has read them, but the worktree can exist only after the prediction, once the
results are committed (``git worktree add`` needs the commit). Creating a thousand files across
hundreds of folders then costs 0.3-0.8 ms a file on a slow disk, most of it in the kernel, and
all of it on the critical path (0.5 s of a stable patch's apply).

So, right after the read, a child process (the same interpreter, isolated: ``-I -S``) makes
every touched regular file's folders and an empty file for each in a staging folder of
patchsmith's own, on the worktree's file system, while this process predicts. It is a process,
not a thread: a thread returning from each system call would wait for the interpreter's lock
the prediction holds (about 5 ms a file). :func:`patchsmith.workspace.git.checkout_files` then
swaps the staging folder in for the worktree folder ``git worktree add --no-checkout`` made
(its ``.git`` file moved across; the admin directory already names that path) and fills the
files. Whatever goes wrong here (a child that fails, a different file system, names the child
could not make) only means the staging folder is removed and the files are created as before:
the worktree is the same either way (``tests/workspace/test_staging.py`` compares it with git's
own checkout).

A staging folder is named ``staging-<pid>-<random>`` in the tree's lock folder; one a killed
apply left behind is removed by the next apply of the tree (:func:`remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

_PREFIX = "staging-"

_CHILD = """\
import os, sys
root = sys.argv[1]
flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
made = set()
for record in sys.stdin.buffer.read().split(b"\\0")[:-1]:
    mode, path = record[:6], os.fsdecode(record[6:])
    if os.path.isabs(path) or {"", ".", ".."} & set(path.split("/")):
        raise ValueError(f"not a plain relative path: {path!r}")
    folder = os.path.dirname(path)
    if folder and folder not in made:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        made.add(folder)
    os.close(os.open(os.path.join(root, path), flags, 0o777 if mode == b"100755" else 0o666))
"""
"""The child: folders and empty files for ``mode path`` records (NUL-ended) under argv[1].
Any error (an ``OSError``, or the ``ValueError`` for a path that is not plain) ends it with a
traceback and a non-zero exit, and the parent does without it."""


class Staging:
    """A child making the folders and empty files of ``files`` (path -> git mode) in a fresh
    folder, and what became of it."""

    def __init__(self, folder: Path, files: Mapping[str, str]) -> None:
        self.folder = folder
        self.files = dict(files)
        self._child: subprocess.Popen[bytes] | None = None
        self.used = False
        """Whether :func:`patchsmith.workspace.git.checkout_files` took the folder."""

    def _start(self) -> bool:
        records = b"".join(
            mode.encode("ascii") + os.fsencode(path) + b"\0" for path, mode in self.files.items()
        )
        try:
            # As git makes a worktree's folder (the umask's mode): it becomes that folder.
            os.mkdir(self.folder)
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD, os.fspath(self.folder)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
            assert self._child.stdin is not None
            self._child.stdin.write(records)
            self._child.stdin.close()
        except (OSError, ValueError):
            self.discard()
            return False
        return True

    def take(self) -> Path | None:
        """The staging folder, its folders and empty files all made; ``None`` (and the folder
        removed) when the child failed."""
        child = self._child
        if child is None:
            return None
        if child.wait() != 0:
            self.discard()
            return None
        self._child = None
        return self.folder

    def discard(self) -> None:
        """Stop the child if it runs and remove the folder, unless it became the worktree."""
        child = self._child
        self._child = None
        if child is not None:
            with contextlib.suppress(OSError):
                child.kill()
            child.wait()
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()
        if not self.used:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(lock_folder: Path, worktree: Path, files: Mapping[str, str]) -> Staging | None:
    """A :class:`Staging` of ``files`` (path -> git mode, ``100644`` or ``100755``) started
    in ``lock_folder`` for a worktree at ``worktree``; ``None`` where the swap could not work:
    no interpreter to run, the worktree's folder on another file system than ``lock_folder``,
    a name that is not plain ASCII (the checkout that follows leaves such trees to git)."""
    if not sys.executable or not files:
        return None
    if any(mode not in ("100644", "100755") for mode in files.values()):
        return None
    if not all(path.isascii() for path in files):
        return None
    try:
        if os.stat(lock_folder).st_dev != os.stat(worktree.parent).st_dev:
            return None
    except OSError:
        return None
    staging = Staging(lock_folder / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}", files)
    return staging if staging._start() else None


@contextlib.contextmanager
def started(
    lock_folder: Path, worktree: Path, files: Mapping[str, str]
) -> Iterator[Staging | None]:
    """:func:`start`, for a block; whatever the block did not take is stopped and removed as
    it ends, however it ends."""
    staged = start(lock_folder, worktree, files)
    try:
        yield staged
    finally:
        if staged is not None:
            staged.discard()


def remove_leftovers(lock_folder: Path) -> None:
    """Remove staging folders a killed apply left in ``lock_folder`` (the caller holds the
    tree's apply lock, so none is in use)."""
    try:
        names = os.listdir(lock_folder)
    except OSError:
        return
    for name in names:
        if name.startswith(_PREFIX):
            shutil.rmtree(lock_folder / name, ignore_errors=True)

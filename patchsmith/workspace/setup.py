"""Apply's setup step, made safe to run twice at once and to kill at any moment.

Setting up an apply creates a branch and a worktree before the session that describes them
exists (the session lives in the worktree's git directory). Two things go wrong there without
care: a second ``apply`` of the same tree takes the first one's half-made branch for crash
leftovers and removes it under it, and a ``kill -9`` between ``git worktree add`` and the
session leaves a branch and a worktree nothing knows about.

So every apply of a tree holds :func:`apply_lock` (an ``flock`` on a file beside the
repository, with the holder's pid in it) from before it looks at branches until it returns; a
second one waits a little and then refuses, naming the pid. And before creating anything it
records an :class:`Intent` (the branch, the worktree, the repository) next to the lock; the
session, once written, supersedes it. An intent still there when the lock is free is an apply
that died during setup: the next ``apply`` or ``abort`` removes exactly what it names
(:func:`undo`).

The lock and the intent live in ``<git common dir>/patchsmith/`` for a git tree and beside the
repository patchsmith keeps for a plain tree (``$XDG_DATA_HOME/patchsmith/trees/<key>/``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from patchsmith.errors import GitError, SessionError
from patchsmith.record import record
from patchsmith.workspace import git
from patchsmith.workspace.session import session_path

APPLY_WAIT = 10.0
"""Seconds a second apply of the same tree waits for the first before refusing."""

_LOCK = "apply.lock"
_INTENT = "setup.json"


def folder_for_plain(tree: Path) -> Path:
    """Where a plain tree's lock and intent live (beside patchsmith's repository for it)."""
    return git.data_home() / "trees" / git.tree_key(tree)


def folder_for_repository(git_dir: Path) -> Path:
    """Where the lock and intent of the repository at ``git_dir`` (a common dir) live."""
    trees = git.data_home() / "trees"
    if git_dir.name == "repo.git" and os.path.realpath(git_dir.parent.parent) == os.path.realpath(
        trees
    ):
        return git_dir.parent
    return git_dir / "patchsmith"


@contextlib.contextmanager
def apply_lock(folder: Path, wait: float = APPLY_WAIT) -> Iterator[None]:
    """Hold the lock of one tree's applies for the block; refuse after ``wait`` seconds with
    the pid of the apply that holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _LOCK
    handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(handle, 64, 0).decode("ascii", "replace").strip()
                    raise SessionError(
                        f"another apply is running on this tree (pid {holder or 'unknown'})",
                        hint="wait for it to finish and run this again (its session will be "
                        "there), or pass --wait SECONDS to wait longer",
                    ) from error
                time.sleep(0.1)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(handle, 0)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


@record
class Intent:
    """What an apply is about to create, recorded before it creates it."""

    git_dir: str
    """The repository (common dir) the branch and the worktree belong to."""
    branch: str
    worktree: str
    tree: str
    pid: int
    patch: str
    """The patch's name, for the message."""

    def to_json(self) -> dict[str, object]:
        return {
            "git_dir": self.git_dir,
            "branch": self.branch,
            "worktree": self.worktree,
            "tree": self.tree,
            "pid": self.pid,
            "patch": self.patch,
        }

    def describe(self) -> str:
        return (
            f"an apply of {self.patch} (pid {self.pid}) was interrupted while it set up branch "
            f"{self.branch} and worktree {self.worktree}"
        )


def record_intent(folder: Path, intent: Intent) -> None:
    """Write the intent atomically (before the branch and the worktree exist)."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{_INTENT}.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(intent.to_json(), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / _INTENT)


def pending(folder: Path) -> Intent | None:
    """The intent an apply left in ``folder``, if any (an unreadable one counts as none)."""
    try:
        data = json.loads((folder / _INTENT).read_text(encoding="utf-8"))
        return Intent(
            git_dir=str(data["git_dir"]),
            branch=str(data["branch"]),
            worktree=str(data["worktree"]),
            tree=str(data["tree"]),
            pid=int(data["pid"]),
            patch=str(data["patch"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (folder / _INTENT).unlink()


def undo(folder: Path, intent: Intent) -> list[str]:
    """Remove what an interrupted setup made (its worktree and branch, exactly those) and the
    intent; return what was removed, for the message. Call with the lock held."""
    git_dir = Path(intent.git_dir)
    removed: list[str] = []
    if (git_dir / "HEAD").exists():
        registered = git.worktree_of_branch(git_dir, intent.branch)
        worktree = registered if registered is not None else Path(intent.worktree)
        if registered is not None or worktree.exists():
            git.remove_worktree(git_dir, worktree)
            removed.append(f"worktree {worktree}")
        else:
            git.run_git(["worktree", "prune"], git_dir=git_dir, check=False)
        if git.ref_exists(git_dir, f"refs/heads/{intent.branch}"):
            git.delete_branch(git_dir, intent.branch)
            removed.append(f"branch {intent.branch}")
    elif Path(intent.worktree).exists():
        # The repository itself is gone: only the folder is left to take away.
        git.remove_worktree(git_dir, Path(intent.worktree))
        removed.append(f"worktree {intent.worktree}")
    clear(folder)
    return removed


def folders_near(start: Path) -> list[Path]:
    """The lock folders of the trees ``start`` may belong to: the repository it is in (a
    git tree, or a worktree an interrupted setup left) and the plain trees enclosing it."""
    found: dict[str, Path] = {}
    for repository in git.repositories_for(start):
        folder = folder_for_repository(repository)
        found[os.path.realpath(folder)] = folder
    try:
        inside: Path | None = git.common_dir(start)
    except GitError:
        inside = None  # not in a repository
    if inside is not None:
        folder = folder_for_repository(inside)
        found[os.path.realpath(folder)] = folder
    return list(found.values())


def _session_exists(worktree: Path) -> bool:
    if not worktree.is_dir():
        return False
    try:
        git_dir = git.git_dir_of(worktree)
    except GitError:
        return False
    return session_path(git_dir).exists()


def finish_interrupted(folder: Path) -> list[str]:
    """With the lock held: settle the intent an interrupted setup left in ``folder``. If its
    session got written, the session says what is there (an apply continues it); else what it
    names is removed. Returns what was removed."""
    intent = pending(folder)
    if intent is None:
        return []
    if _session_exists(Path(intent.worktree)):
        clear(folder)
        return []
    return undo(folder, intent)


def interrupted_near(start: Path) -> list[Intent]:
    """Setups that died before their session existed, for the tree or worktree ``start`` is
    in (for a message: nothing is changed)."""
    found: list[Intent] = []
    for folder in folders_near(start):
        intent = pending(folder)
        if intent is not None and not _session_exists(Path(intent.worktree)):
            found.append(intent)
    return found


def abort_interrupted_setup(start: Path) -> list[tuple[Intent, list[str]]]:
    """Undo every setup that died before its session existed, for the tree or worktree
    ``start`` is in; refuse while an apply of that tree is running."""
    done: list[tuple[Intent, list[str]]] = []
    for folder in folders_near(start):
        if pending(folder) is None:
            continue
        with apply_lock(folder, wait=0):
            intent = pending(folder)
            if intent is not None and not _session_exists(Path(intent.worktree)):
                done.append((intent, finish_interrupted(folder)))
    return done

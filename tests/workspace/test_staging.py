"""The worktree's folders and files made by a child process while apply predicts.

A one-pass apply starts a child that makes every touched file's folders and an empty file for
each in a staging folder (:mod:`patchsmith.workspace.staging`); the checkout swaps it in for the
folder ``git worktree add --no-checkout`` made and fills the files. The worktree must be the
one git itself checks out of the same commit whatever the patch does to the staged paths
(deletes a folder's only file, changes a mode either way, creates files in new folders), and
whenever the staging cannot be used (the child fails, the worktree holds more than ``.git``)
the files are made as before and no staging folder is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git, staging
from patchsmith.workspace.apply import ApplyOptions, apply_patch_known
from tests.workspace.test_checkout_files import _files, _run
from tests.workspace.test_known_worktree import CONFLICT, Files, _apply, _patch

VANILLA: Files = {
    "drivers/md/dm.c": ("file", CONFLICT * 3),
    "drivers/md/conflict.c": ("file", CONFLICT),
    "drivers/lonely/only.c": ("file", b"int only;\n"),
    "drivers/deep/er/gone.c": ("file", b"int gone;\n"),
    "scripts/run.sh": ("exec", b"echo run\n"),
    "scripts/stop.sh": ("file", b"echo stop\n"),
    "Makefile": ("file", b"all:\n"),
}
UPSTREAM: Files = {
    "drivers/md/dm.c": ("file", CONFLICT * 2 + CONFLICT.replace(b"int a;", b"int c;")),
    "drivers/md/conflict.c": ("file", CONFLICT.replace(b"int b;", b"int upstream;")),
    "drivers/new/deep/x.c": ("file", b"int x;\n"),
    "scripts/run.sh": ("file", b"echo run\n"),  # loses its execute bit
    "scripts/stop.sh": ("exec", b"echo stop\n"),  # gains one
    "Makefile": ("file", b"all: more\n"),
}
VENDOR: Files = {
    **VANILLA,
    "drivers/md/conflict.c": ("file", CONFLICT.replace(b"int b;", b"int vendor;")),
}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[staging.Staging | None]:
    """Every staging an apply starts, to see what became of it."""
    made: list[staging.Staging | None] = []
    real = staging.start

    def recording(*args: object, **kwargs: object) -> staging.Staging | None:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(result)
        return result

    monkeypatch.setattr(staging, "start", recording)
    return made


def _lock_folder(session_git_dir: str) -> Path:
    return Path(session_git_dir).parent


def _same_as_git(folder: Path, worktree: Path) -> None:
    theirs = folder / "git-checkout"
    _run(worktree, "worktree", "add", "-q", "--detach", str(theirs), "HEAD")
    ours = _files(worktree)
    assert ours.pop("drivers/md/conflict.c.rej")
    assert ours == _files(theirs)
    # No folder git would not have: the deleted files' folders are gone.
    for gone in ("drivers/lonely", "drivers/deep"):
        assert not (worktree / gone).exists(), gone
    assert _run(worktree, "ls-files", "-s") == _run(theirs, "ls-files", "-s")
    assert _run(worktree, "status", "--porcelain") == "?? drivers/md/conflict.c.rej\n"
    assert _run(worktree, "fsck", "--no-dangling") == ""
    assert (os.stat(worktree).st_mode & 0o777) == (os.stat(theirs).st_mode & 0o777)


def test_the_staged_worktree_is_what_git_checks_out(
    tmp_path: Path, started: list[staging.Staging | None]
) -> None:
    patch = _patch(tmp_path, VANILLA, UPSTREAM)
    session, _known, _store = _apply(tmp_path, VENDOR, patch, merge=False)
    [staged] = started
    assert staged is not None and staged.used
    assert set(staged.files) == set(VENDOR)
    _same_as_git(tmp_path, Path(session.worktree))
    assert not [n for n in os.listdir(_lock_folder(session.git_dir)) if n.startswith("staging-")]


def test_a_failing_child_leaves_the_files_made_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[staging.Staging | None]
) -> None:
    monkeypatch.setattr(staging, "_CHILD", "import sys\nsys.exit(3)\n")
    patch = _patch(tmp_path, VANILLA, UPSTREAM)
    session, _known, _store = _apply(tmp_path, VENDOR, patch, merge=False)
    [staged] = started
    assert staged is not None and not staged.used
    assert not staged.folder.exists()
    _same_as_git(tmp_path, Path(session.worktree))


def test_a_leftover_staging_folder_is_removed_by_the_next_apply(tmp_path: Path) -> None:
    patch = _patch(tmp_path, VANILLA, UPSTREAM)
    tree = tmp_path / "vendor"
    session, _known, _store = _apply(tmp_path, VENDOR, patch, merge=False)
    lock_folder = _lock_folder(session.git_dir)
    leftover = lock_folder / "staging-1-deadbeef" / "drivers"
    leftover.mkdir(parents=True)
    (leftover / "x.c").write_bytes(b"")
    # A second apply of the same tree, on a branch of its own.
    index = read_index([str(patch)])
    options = ApplyOptions(branch="known/again", worktree=tmp_path / "again")
    apply_patch_known(index, select(index, Selection()), tree, options)
    assert not [n for n in os.listdir(lock_folder) if n.startswith("staging-")]


def test_the_swap_is_refused_when_the_worktree_holds_more_than_git_made(tmp_path: Path) -> None:
    lock_folder = tmp_path / "lock"
    lock_folder.mkdir()
    worktree = tmp_path / "worktree"
    staged = staging.start(lock_folder, worktree, {"drivers/a.c": "100644"})
    assert staged is not None
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: elsewhere\n")
    (worktree / "stray").write_text("someone else's\n")
    made = git._swap_in(worktree, {"drivers/a.c": ("100644", b"int a;\n")}, staged)
    assert made == {}
    assert not staged.used and not staged.folder.exists()
    assert sorted(os.listdir(worktree)) == [".git", "stray"]


def test_the_child_refuses_a_path_that_is_not_plain(tmp_path: Path) -> None:
    lock_folder = tmp_path / "lock"
    lock_folder.mkdir()
    for bad in ("../escape.c", "/abs.c", "a//b.c", "a/./b.c"):
        staged = staging.start(lock_folder, tmp_path / "worktree", {bad: "100644"})
        assert staged is not None
        assert staged.take() is None, bad
        assert not staged.folder.exists()
    assert not (tmp_path / "escape.c").exists()
    assert os.listdir(lock_folder) == []

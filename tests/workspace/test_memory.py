"""Resolution memory: a decision is stored per user and reused, marked, on the next apply."""

from __future__ import annotations

import os
from pathlib import Path

from patchsmith.cli.common import read_index
from patchsmith.model import Resolution
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git, memory
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import SessionStore, session_path
from tests.workspace.conftest import DEMO_PATCH


def _apply(tree: Path) -> SessionStore:
    index = read_index([str(DEMO_PATCH)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    return SessionStore(session_path(git.git_dir_of(Path(session.worktree))))


def test_key_ignores_whitespace_but_not_content() -> None:
    assert memory.key_for("a  b\n", "c\n", "v\n") == memory.key_for("a b\n\n", "c\n", " v\n")
    assert memory.key_for("a\n", "c\n", "v\n") != memory.key_for("a\n", "c\n", "w\n")


def test_resolutions_are_reused_on_the_next_run(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve("drivers/md/dm-snap.c#3", Resolution.DROPPED, reason="vendor's check covers it")
    assert len(os.listdir(memory.directory())) == 2
    assert str(memory.directory()).startswith(os.environ["XDG_DATA_HOME"])
    first = store.load()
    git.remove_worktree(Path(first.git_dir), Path(first.worktree))
    git.delete_branch(Path(first.git_dir), first.branch)

    second = _apply(demo_tree).load()
    assert second.open_hunks == ()
    makefile = second.hunk("Makefile#1")
    assert makefile.reused and makefile.resolution == Resolution.ACCEPTED
    dropped = second.hunk("drivers/md/dm-snap.c#3")
    assert dropped.reused and dropped.resolution_reason == "vendor's check covers it"
    assert second.counts["reused"] == 2


def test_a_damaged_record_is_ignored(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    for name in os.listdir(memory.directory()):
        (memory.directory() / name).write_text("{not json")
    assert memory.recall(store.load().hunk("Makefile#1")) is None

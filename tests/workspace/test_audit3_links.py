"""Audit: the resolve write paths (the session's verbs, the whole-file edit) never read or write
through a link put in the worktree after apply, and never leave the worktree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from patchsmith.cli.common import read_index
from patchsmith.errors import PatchsmithError
from patchsmith.model import Resolution
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import fileedit, git
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import SessionStore, session_path
from tests.support.paths import DEMO_PATCH
from tests.support.trees import fingerprint

SNAP = "drivers/md/dm-snap.c#3"
SNAP_PATH = "drivers/md/dm-snap.c"


def _apply(tree: Path) -> SessionStore:
    index = read_index([str(DEMO_PATCH)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    return SessionStore(session_path(git.git_dir_of(Path(session.worktree))))


@pytest.mark.parametrize("how", ["file", "folder"])
def test_a_link_put_in_the_worktree_is_neither_read_nor_written_through(
    demo_tree: Path, tmp_path: Path, how: str
) -> None:
    store = _apply(demo_tree)
    session = store.load()
    worktree = Path(session.worktree)
    outside = tmp_path / "outside"
    outside.mkdir()
    if how == "file":
        # The file itself replaced by a link to an outside copy holding the same bytes: every
        # region is "still there" when read through it.
        shutil.copy(worktree / SNAP_PATH, outside / "dm-snap.c")
        os.unlink(worktree / SNAP_PATH)
        os.symlink(outside / "dm-snap.c", worktree / SNAP_PATH)
    else:
        # Its folder replaced by a link to an outside copy of the folder.
        shutil.copytree(worktree / "drivers/md", outside / "md")
        shutil.rmtree(worktree / "drivers/md")
        os.symlink(outside / "md", worktree / "drivers/md")
    before = fingerprint(outside)
    with pytest.raises(PatchsmithError):
        fileedit.prepare(store.load(), SNAP, "edited\n")
    for resolution, text in (
        (Resolution.EDITED, "\tedited();\n"),
        (Resolution.UPSTREAM, None),
        (Resolution.ACCEPTED, None),
    ):
        try:
            store.resolve(SNAP, resolution, text=text)
        except PatchsmithError:
            pass
        assert fingerprint(outside) == before, resolution

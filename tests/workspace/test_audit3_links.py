"""Audit: the resolve write paths (the session's verbs, the whole-file edit) never read or write
through a link put in the worktree after apply, and never leave the worktree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from patchsmith.errors import PatchsmithError
from patchsmith.model import Resolution
from patchsmith.workspace import fileedit
from tests.support.paths import DEMO_PATCH
from tests.support.sessions import apply_file
from tests.support.trees import fingerprint

SNAP = "drivers/md/dm-snap.c#3"
SNAP_PATH = "drivers/md/dm-snap.c"


@pytest.mark.parametrize("how", ["file", "folder"])
def test_a_link_put_in_the_worktree_is_neither_read_nor_written_through(
    demo_tree: Path, tmp_path: Path, how: str
) -> None:
    store = apply_file(DEMO_PATCH, demo_tree)
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

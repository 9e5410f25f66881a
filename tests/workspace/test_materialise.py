"""Filling a session's sparse worktree for a build: the rest of the tree, and nothing outside.

A plain tree's worktree is filled by copying from the tree; a git tree's by ``git
checkout-index``. Either way a link in the worktree where a folder is needed (the patch's own,
or one put there by hand) must not carry a write outside the worktree, and a file the patch
deletes must not come back from the tree.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import confined
from patchsmith.workspace.apply import ApplyOptions, apply_patch, materialise
from patchsmith.workspace.session import Session
from tests.support.paths import DEMO, DEMO_PATCH
from tests.support.trees import fingerprint
from tests.support.trees import git as run

# A new file under drivers/md, a new file in a folder the tree lacks, and a deleted file.
PATCH = b"""\
diff --git a/drivers/md/dm-new.c b/drivers/md/dm-new.c
new file mode 100644
--- /dev/null
+++ b/drivers/md/dm-new.c
@@ -0,0 +1 @@
+int dm_new;
diff --git a/drivers/md/dm-old.c b/drivers/md/dm-old.c
deleted file mode 100644
--- a/drivers/md/dm-old.c
+++ /dev/null
@@ -1 +0,0 @@
-int dm_old;
"""


def _session(tree: Path, patch: Path) -> Session:
    index = read_index([str(patch)])
    return apply_patch(index, select(index, Selection()), tree, ApplyOptions())


@pytest.fixture
def plain(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    (tree / "drivers/md/dm-old.c").write_text("int dm_old;\n")
    (tree / "drivers/md/persistent-data").mkdir()
    (tree / "drivers/md/persistent-data/dm-btree.c").write_text("int btree;\n")
    (tree / "drivers/md/persistent-data/dm-btree.c").chmod(0o640)
    (tree / "scripts").mkdir()
    (tree / "scripts/checkpatch.pl").write_text("#!/usr/bin/perl\n")
    (tree / "scripts/checkpatch.pl").chmod(0o755)
    (tree / "include/asm").symlink_to("asm-generic")  # a link to a folder: copied as a link
    patch = tmp_path / "p.diff"
    patch.write_bytes(PATCH)
    return tree, patch


def test_the_rest_of_a_plain_tree_is_copied_as_it_is(plain: tuple[Path, Path]) -> None:
    tree, patch = plain
    before = fingerprint(tree)
    session = _session(tree, patch)
    worktree = Path(session.worktree)
    written = materialise(session)
    assert written > 0
    copy = fingerprint(worktree)
    for path, (mode, digest) in before.items():
        if path == "drivers/md/dm-old.c":
            continue
        assert copy[path][1] == digest, path
        if not stat.S_ISDIR(mode):
            assert stat.S_IMODE(copy[path][0]) == stat.S_IMODE(mode), path
    assert os.readlink(worktree / "include/asm") == "asm-generic"
    assert (worktree / "drivers/md/dm-new.c").read_text() == "int dm_new;\n"
    # The file the patch deletes stays deleted: the tree's copy is not brought back.
    assert not (worktree / "drivers/md/dm-old.c").exists()
    assert fingerprint(tree) == before
    # A second fill has nothing to do.
    assert materialise(session) == 0


def test_a_link_in_the_worktree_where_a_folder_is_needed_is_never_passed(
    plain: tuple[Path, Path], tmp_path: Path
) -> None:
    """By hand, after apply: drivers/md/persistent-data becomes a link to a folder outside.
    Copying the tree's persistent-data/dm-btree.c would write there; it is refused instead."""
    tree, patch = plain
    session = _session(tree, patch)
    worktree = Path(session.worktree)
    outside = tmp_path / "outside"
    outside.mkdir()
    (worktree / "drivers/md/persistent-data").symlink_to(outside)
    with pytest.raises(confined.Blocked, match="persistent-data is a symlink"):
        materialise(session)
    assert list(outside.iterdir()) == []


def test_a_worktree_file_where_the_tree_has_a_folder_stops_the_fill(
    plain: tuple[Path, Path],
) -> None:
    """Was exit 3 (FileExistsError from mkdir); now the confined writer's TreeError."""
    tree, patch = plain
    session = _session(tree, patch)
    worktree = Path(session.worktree)
    (worktree / "scripts").write_text("a file where the tree has a folder\n")
    with pytest.raises(confined.Blocked, match="scripts is a file"):
        materialise(session)


def test_a_git_worktree_is_filled_by_git_which_replaces_a_link_it_finds_on_the_way(
    tmp_path: Path,
) -> None:
    """git checkout-index never writes beyond a link: the link put where a folder of a
    skipped entry goes is replaced by that folder, and the place it pointed to is untouched."""
    repo = tmp_path / "repo"
    shutil.copytree(DEMO / "vendor", repo, symlinks=True)
    (repo / "lib/crc").mkdir(parents=True)
    (repo / "lib/crc/crc32.c").write_text("int crc32;\n")
    run(repo, "init", "-q")
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "vendor")
    session = _session(repo, DEMO_PATCH)
    worktree = Path(session.worktree)
    assert not (worktree / "lib").exists()  # sparse: lib/ holds no touched file
    outside = tmp_path / "outside"
    outside.mkdir()
    (worktree / "lib").symlink_to(outside)
    assert materialise(session) > 0
    assert list(outside.iterdir()) == []
    assert (worktree / "lib").is_dir() and not (worktree / "lib").is_symlink()
    assert (worktree / "lib/crc/crc32.c").read_text() == "int crc32;\n"


def test_the_copy_is_made_through_the_worktree_only(plain: tuple[Path, Path]) -> None:
    """copy_in renames over a name: a link already at the name is replaced, not written
    through (the fill never meets one, since it copies only what is absent; the writer holds
    anyway)."""
    tree, patch = plain
    session = _session(tree, patch)
    worktree = Path(session.worktree)
    target = tree.parent / "target.txt"
    target.write_text("untouched\n")
    (worktree / "Kbuild").symlink_to(target)
    with confined.folder(worktree, "") as folder:
        assert confined.copy_in(folder, "Kbuild", str(tree / "Kbuild"))
    assert target.read_text() == "untouched\n"
    assert (worktree / "Kbuild").read_bytes() == (tree / "Kbuild").read_bytes()

"""The tree as the engine reads it: no link followed, obstacles named, names checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.engine.predict import predict
from patchsmith.engine.tree import Kind, Tree, check_relative, points_outside
from patchsmith.errors import TreeError
from patchsmith.model import HunkStatus
from patchsmith.patchfile.index import index_bytes


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "drivers/md").mkdir(parents=True)
    (root / "drivers/md/x.c").write_text("x\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    return root


def test_entries_are_what_lstat_sees(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("do not read\n")
    os.symlink(secret, root / "drivers/md/in.c")
    os.symlink("md", root / "drivers/alias")
    os.mkfifo(root / "drivers/md/pipe")
    view = Tree(root)
    assert (view.entry("drivers/md/x.c").kind, view.entry("drivers/md/x.c").data) == (
        Kind.FILE,
        b"x\n",
    )
    assert view.entry("run.sh").mode == "100755"
    assert view.entry("drivers/md/x.c").mode == "100644"
    link = view.entry("drivers/md/in.c")
    assert (link.kind, link.data, link.mode) == (Kind.LINK, os.fsencode(secret), "120000")
    assert view.entry("drivers/md").kind == Kind.DIRECTORY
    # A FIFO is neither read nor waited on.
    assert view.entry("drivers/md/pipe").kind == Kind.OTHER
    assert view.entry("drivers/md/none.c").kind == Kind.ABSENT
    assert view.read("drivers/md/in.c") is None


def test_a_path_beyond_a_link_or_a_file_names_the_obstacle(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink("md", root / "drivers/alias")
    beyond = Tree(root).entry("drivers/alias/x.c")
    assert beyond.kind == Kind.ABSENT and beyond.obstacle is not None
    assert (beyond.obstacle.path, beyond.obstacle.kind, beyond.obstacle.target) == (
        "drivers/alias",
        Kind.LINK,
        b"md",
    )
    assert beyond.obstacle.describe() == "drivers/alias is a symlink in the tree (→ md)"
    inside_file = Tree(root).entry("run.sh/x")
    assert inside_file.obstacle is not None and inside_file.obstacle.kind == Kind.FILE
    # Deeper paths stop at the first obstacle.
    deeper = Tree(root).kind("drivers/alias/a/b/c.c")
    assert deeper.obstacle is not None and deeper.obstacle.path == "drivers/alias"


@pytest.mark.parametrize(
    ("link", "target", "outside"),
    [
        ("drivers/evil", "/tmp", True),
        ("drivers/evil", "..", False),
        ("drivers/evil", "../..", True),
        ("drivers/evil", "../md/../../..", True),
        ("include/dt", "../scripts/dtc/include-prefixes/dt-bindings", False),
        ("top", "x", False),
        ("top", "../x", True),
    ],
)
def test_points_outside_reads_the_target_as_text(link: str, target: str, outside: bool) -> None:
    assert points_outside(link, target.encode()) is outside


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../x", "a/../../x", ".git/config", "a/.Git/hooks/x", "a\0b"],
)
def test_names_out_of_the_tree_are_refused(name: str) -> None:
    with pytest.raises(TreeError):
        check_relative(name)


@pytest.mark.parametrize("name", ["a/.gitignore", "a/..b/c", ".github/x", "a/.git-x"])
def test_names_that_only_look_odd_are_accepted(name: str) -> None:
    check_relative(name)


MODIFY = """\
diff --git a/{path} b/{path}
--- a/{path}
+++ b/{path}
@@ -1 +1 @@
-x
+y
"""

LINK_CHANGE = """\
diff --git a/drivers/md/in.c b/drivers/md/in.c
index 1234567..89abcde 120000
--- a/drivers/md/in.c
+++ b/drivers/md/in.c
@@ -1 +1 @@
-x.c
\\ No newline at end of file
+y.c
\\ No newline at end of file
"""


def test_a_diff_of_a_symlink_is_judged_on_its_target_text(tmp_path: Path) -> None:
    # git writes a changed symlink as a text diff of its target: that text is what is
    # compared, never the file it points to.
    root = _tree(tmp_path)
    os.symlink("x.c", root / "drivers/md/in.c")
    index = index_bytes(LINK_CHANGE.encode())
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == HunkStatus.CLEAN
    assert file.result_lines == (b"y.c",)
    # The same diff on a regular file is a conflict (the tree's file is not a link).
    os.unlink(root / "drivers/md/in.c")
    (root / "drivers/md/in.c").write_text("x.c")
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == HunkStatus.CONFLICT
    assert "changes a symlink, but the tree has a regular file" in file.reason


def test_a_folder_or_a_device_where_the_patch_wants_a_file_is_an_item(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "fifo")
    patch = MODIFY.format(path="drivers/md") + MODIFY.format(path="fifo")
    index = index_bytes(patch.encode())
    folder, fifo = predict(index, index.files, root, strip=1).files
    assert folder.status == fifo.status == HunkStatus.CONFLICT
    assert "is a folder in the tree" in folder.reason
    assert "not a regular file" in fifo.reason


def test_a_file_an_earlier_diff_creates_is_an_obstacle_for_a_later_one(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    patch = (
        "diff --git a/drivers/new b/drivers/new\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/drivers/new\n@@ -0,0 +1 @@\n+x\n"
        "diff --git a/drivers/new/y.c b/drivers/new/y.c\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/drivers/new/y.c\n@@ -0,0 +1 @@\n+y\n"
        "diff --git a/drivers/md b/drivers/md\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/drivers/md\n@@ -0,0 +1 @@\n+z\n"
    )
    index = index_bytes(patch.encode())
    first, second, third = predict(index, index.files, root, strip=1).files
    assert first.status == HunkStatus.CLEAN
    assert second.status == HunkStatus.CONFLICT
    assert second.reason.startswith(
        "drivers/new is a file created by an earlier diff of this patch, not a folder"
    )
    assert third.status == HunkStatus.FILE_EXISTS
    assert third.reason == "the tree has a folder at this path"


def test_a_tree_answers_for_what_it_remembers_as_it_read_it(tmp_path: Path) -> None:
    # apply's one pass reads the touched files once and has the engine judge those very
    # bytes: a file changed on disk after the read must not change the verdict.
    (tmp_path / "a.c").write_bytes(b"int a;\nint b;\nint c;\n")
    tree = Tree(tmp_path)
    read = {"a.c": tree.entry("a.c"), "gone.c": tree.entry("gone.c")}
    tree.remember(read)
    (tmp_path / "a.c").write_bytes(b"int z;\n")
    (tmp_path / "gone.c").write_bytes(b"int late;\n")
    assert tree.entry("a.c").data == b"int a;\nint b;\nint c;\n"
    assert tree.kind("a.c").kind == Kind.FILE and tree.kind("a.c").data is None
    assert tree.kind("a.c").mode == "100644"
    assert tree.entry("gone.c").kind == Kind.ABSENT and tree.kind("gone.c").kind == Kind.ABSENT
    patch = index_bytes(
        b"--- a/a.c\n+++ b/a.c\n@@ -1,3 +1,3 @@\n int a;\n-int b;\n+int B;\n int c;\n"
    )
    predicted = predict(patch, patch.files, tree, strip=1)
    assert [h.status for h in predicted.files[0].hunks] == [HunkStatus.CLEAN]
    # Read afresh, the changed file no longer takes the hunk.
    again = predict(patch, patch.files, tmp_path, strip=1)
    assert again.files[0].hunks[0].status != HunkStatus.CLEAN

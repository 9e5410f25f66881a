"""A session reads and writes its worktree without following a link.

``open_items`` looks for ``.rej`` files and conflict markers in every touched file, and a
resolution reads and rewrites the hunk's file and its ``.rej``. A git tree can hold a link that
points out of it (``drivers/evil -> /somewhere``), checked out in the worktree as it is, and a
link can be put in the worktree by hand after apply. Through either, ordinary path operations
would read (a marker or a .rej outside counted as the session's) or write outside the worktree.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.workspace.session import SessionStore
from tests.support.paths import DEMO, DEMO_PATCH
from tests.support.trees import fingerprint, git

MARKED = b"int a;\n<<<<<<< vendor\nint b;\n=======\nint c;\n>>>>>>> upstream\n"

PATCH = b"""\
diff --git a/drivers/evil/x.c b/drivers/evil/x.c
--- a/drivers/evil/x.c
+++ b/drivers/evil/x.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int B;
 int c;
diff --git a/drivers/md/dm.c b/drivers/md/dm.c
--- a/drivers/md/dm.c
+++ b/drivers/md/dm.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int B;
 int c;
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every tree and worktree, holding what would fool the session: a file
    with conflict markers and a .rej beside it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "x.c").write_bytes(MARKED)
    (folder / "x.c.rej").write_bytes(b"--- x.c\n+++ x.c\n@@ -1 +1 @@\n-a\n+b\n")
    return folder


def test_open_items_do_not_read_beyond_a_link_of_a_git_tree(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "drivers/md").mkdir(parents=True)
    (repo / "drivers/md/dm.c").write_text("int a;\nint b;\nint c;\n")
    (repo / "drivers/evil").symlink_to(outside)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "vendor")
    patch = tmp_path / "p.diff"
    patch.write_bytes(PATCH)
    worktree = tmp_path / "worktree"
    assert main(["apply", str(patch), "--tree", str(repo), "--worktree", str(worktree)]) == 1
    assert (worktree / "drivers/evil").is_symlink()  # the tree's link, checked out as it is
    before = fingerprint(outside)
    store = SessionStore.open(worktree)
    items = [(item.kind, item.path) for item in store.open_items()]
    # The hunk beyond the link is open (the engine says why); the marker and the .rej outside
    # are not the session's.
    assert items == [("hunk", "drivers/evil/x.c")]
    # Dropping it reads nothing outside and writes nothing there; then nothing is open and
    # the session finishes.
    capsys.readouterr()
    assert (
        main(
            [
                "resolve",
                "drivers/evil/x.c#1",
                "--drop",
                "--reason",
                "not ours",
                "--session",
                str(worktree),
            ]
        )
        == 0
    )
    assert store.open_items() == []
    assert main(["finish", "--session", str(worktree), "-o", str(tmp_path / "out.patch")]) == 0
    assert fingerprint(outside) == before


def test_a_resolution_never_writes_through_a_link_put_in_the_worktree(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After apply, drivers/md is made a link to a copy outside (by hand, or by anything with
    access to the worktree): resolving a hunk of drivers/md/dm-snap.c writes neither the file
    nor its .rej there; it is refused with the reason (remove the link, and it goes ahead)."""
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    worktree = tmp_path / "worktree"
    assert main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    shutil.copytree(worktree / "drivers/md", outside / "md")
    shutil.rmtree(worktree / "drivers/md")
    (worktree / "drivers/md").symlink_to(outside / "md")
    before = fingerprint(outside)
    capsys.readouterr()
    # A drop puts the vendor's region back: a write too.
    for action in (["--upstream"], ["--drop", "--reason", "vendor's"]):
        code = main(["resolve", "drivers/md/dm-snap.c#3", *action, "--session", str(worktree)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "drivers/md is a symlink" in err and "does not write through it" in err
        assert "internal error" not in err
        assert fingerprint(outside) == before
    # What open_items would see through the link (the .rej apply wrote, now beside the copy
    # outside) is not the session's.
    assert (outside / "md/dm-snap.c.rej").exists()
    kinds = {(item.kind, item.path) for item in SessionStore.open(worktree).open_items()}
    assert ("reject", "drivers/md/dm-snap.c.rej") not in kinds
    assert ("hunk", "drivers/md/dm-snap.c") in kinds
    # The link gone (the folder back as it was), the same resolution goes ahead.
    (worktree / "drivers/md").unlink()
    shutil.copytree(outside / "md", worktree / "drivers/md")
    code = main(["resolve", "drivers/md/dm-snap.c#3", "--upstream", "--session", str(worktree)])
    assert code in (0, 1), capsys.readouterr().err
    assert fingerprint(outside) == before

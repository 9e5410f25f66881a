"""Audit: odd names a patch gives, through check and apply alike.

A ``./`` in a name (``a/./drivers/md/x.c``, as some scripts write it) is the same file as
without it: check settled it while apply refused it ("the worktree does not hold ./drivers/md/x.c
as the tree does"). A name near the file system's limit of 255 bytes leaves no room for the
``.rej`` beside it (``x.c.rej`` is four bytes longer): apply crashed writing it, and after a
clean create every session command failed looking for it ("File name too long").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.engine.predict import predict
from patchsmith.model import HunkStatus, Resolution
from patchsmith.patchfile.index import index_bytes
from patchsmith.workspace.finish import finish_session
from tests.support.sessions import apply_text
from tests.support.trees import fingerprint

FILE = "a\nb\nc\nd\ne\n"


def _diff(name: str, old: str = "c", new: str = "C") -> str:
    return (
        f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
        f"@@ -1,5 +1,5 @@\n a\n b\n-{old}\n+{new}\n d\n e\n"
    )


def _create(name: str) -> str:
    return (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n+++ b/{name}\n"
        "@@ -0,0 +1 @@\n+x\n"
    )


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    tree = tmp_path / "vendor"
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    return tree


def test_a_dot_component_is_the_same_file_for_check_and_apply(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"drivers/md/x.c": FILE})
    patch = _diff("./drivers/md/x.c")
    index = index_bytes(patch.encode())
    prediction = predict(index, index.files, tree, strip=1)
    assert [(f.path, f.hunks[0].status) for f in prediction.files] == [
        ("drivers/md/x.c", HunkStatus.CLEAN)
    ]
    before = fingerprint(tree)
    session = apply_text(tmp_path, tree, patch).load()
    assert [(h.path, h.status, h.open) for h in session.hunks] == [
        ("drivers/md/x.c", HunkStatus.CLEAN, False)
    ]
    assert (Path(session.worktree) / "drivers/md/x.c").read_text() == FILE.replace("c\n", "C\n")
    assert fingerprint(tree) == before


def test_a_created_file_at_the_name_limit_leaves_a_usable_session(tmp_path: Path) -> None:
    name = "drivers/md/" + "d" * 250 + ".c"  # 252 bytes: its .rej would be 256
    tree = _tree(tmp_path, {"drivers/md/x.c": FILE})
    store = apply_text(tmp_path, tree, _create(name))
    session = store.load()
    assert (Path(session.worktree) / name).read_text() == "x\n"
    assert store.open_items() == []


def test_a_conflict_at_the_name_limit_stays_open_without_a_rej(tmp_path: Path) -> None:
    name = "drivers/md/" + "e" * 252 + ".c"  # 254 bytes: the .rej cannot exist
    tree = _tree(tmp_path, {name: FILE})
    store = apply_text(tmp_path, tree, _diff(name, old="q", new="Q"))
    session = store.load()
    worktree = Path(session.worktree)
    (hunk,) = session.hunks
    assert hunk.status == HunkStatus.CONFLICT and hunk.open
    assert [item.hunk_id for item in store.open_items()] == [hunk.id]
    assert not any(p.name.endswith(".rej") for p in (worktree / "drivers/md").iterdir())
    store.resolve(hunk.id, Resolution.DROPPED, reason="the vendor's line differs")
    assert store.open_items() == []
    finished = finish_session(store)
    assert finished.patch.is_file()


def test_a_name_no_file_system_here_takes_is_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The refusal's hint used to send the reader to the permissions, which were fine.
    name = "drivers/md/" + "f" * 300 + ".c"
    tree = _tree(tmp_path, {"drivers/md/x.c": FILE})
    (tmp_path / "fix.patch").write_text(_create(name))
    for command in ("check", "apply"):
        assert main([command, str(tmp_path / "fix.patch"), "--tree", str(tree)]) == 2
        error = capsys.readouterr().err
        assert "File name too long" in error and "longer than this file system takes" in error
        assert "permissions" not in error

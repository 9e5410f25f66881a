"""Audit: a link whose target text looks inside the tree but is not.

``points_outside`` read a target as text, and ``posixpath.normpath`` folds ``up/..`` away as if
``up`` were a folder. When ``up`` is a link (one the same patch makes, ``up -> ..``, or one the
vendor has), ``up/../secret`` names the folder above the tree: check called the second link
clean, apply made it, and a build or any later tool following it reads outside the worktree. A
link into ``.git`` names git's state, not the tree. Both are now refused like an absolute target,
by check and by apply's last wall (``write_link``) alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.engine.tree import points_outside
from patchsmith.model import HunkStatus
from patchsmith.workspace import confined
from tests.workspace.test_hostile import NEW_LINK, _layout, _run


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("drivers/e", "up/../secret"),
        ("drivers/e", "up/../../x"),
        ("e", "md/./../y"),
        ("drivers/g", "../.git/hooks"),
        ("g", ".GIT/config"),
        ("drivers/md/g", "../../.git"),
    ],
)
def test_a_target_its_text_cannot_keep_inside_counts_as_outside(link: str, target: str) -> None:
    assert points_outside(link, target.encode())


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("scripts/dtc/include-prefixes/arm", "../../../arch/arm/boot/dts"),
        (
            "tools/testing/selftests/powerpc/primitives/asm/asm-compat.h",
            "../.././../../../../arch/powerpc/include/asm/asm-compat.h",
        ),
        ("drivers/alias", "./sub/x.c"),
        ("drivers/g", "../.gitignore"),
    ],
)
def test_targets_that_climb_then_descend_stay_inside(link: str, target: str) -> None:
    assert not points_outside(link, target.encode())


def test_a_link_chain_out_of_the_tree_is_refused_by_check_and_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, _outside = _layout(tmp_path)
    patch = NEW_LINK.format(path="drivers/up", target="..") + NEW_LINK.format(
        path="drivers/escape", target="up/../outside/x.c"
    )
    outputs = _run(tmp_path, patch, tree, capsys)
    up, escape = (f["hunks"][0] for f in outputs.checked["files"])
    assert up["status"] == str(HunkStatus.CLEAN)
    assert escape["status"] == str(HunkStatus.CONFLICT) and escape["needs_review"]
    assert "outside the tree" in escape["reason"]
    assert outputs.check_code == outputs.apply_code == 1
    worktree = tmp_path / "w" / "x" / "wt"
    # Made, the link would read tmp_path/outside/x.c (the tree's parent's sibling).
    assert os.path.islink(worktree / "drivers/up")
    assert not os.path.lexists(worktree / "drivers/escape")


def test_write_link_refuses_the_chain_and_git_targets(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "drivers").mkdir(parents=True)
    confined.write_link(root, "drivers/up", b"..")
    for path, target in [("drivers/e", b"up/../secret"), ("drivers/g", b"../.git/hooks")]:
        with pytest.raises(confined.OutsideLink):
            confined.write_link(root, path, target)
        assert not os.path.lexists(root / path)

"""Fixtures of the workspace tests: the demo vendor tree as a plain folder and as a repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import DEMO
from tests.support.trees import git


@pytest.fixture
def demo_tree(tmp_path: Path) -> Path:
    """A plain copy of the demo vendor tree, with a .gitignore that hides everything."""
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    (tree / ".gitignore").write_text("/*\n*.c\n")
    return tree


@pytest.fixture
def demo_repo(tmp_path: Path) -> Path:
    """The demo vendor tree as a git repository with one commit."""
    tree = tmp_path / "repo"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "vendor")
    return tree

"""Shared setup for the workspace tests: trees copied from fixtures, and a tree fingerprint."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
DEMO = FIXTURES / "demo"
DEMO_PATCH = DEMO / "patch-6.1.999.diff"


def fingerprint(root: Path) -> dict[str, tuple[int, str]]:
    """Every file, link and directory under ``root`` with its mode and content hash."""
    found: dict[str, tuple[int, str]] = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if os.path.islink(path):
                digest = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                digest = "dir"
            found[os.path.relpath(path, root)] = (info.st_mode, digest)
    return found


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")}
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


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

"""Sessions in tests: apply a patch through the library and open the store that apply wrote.

Many tests start from a session on a small tree; this is that start, written once, so a change
to how apply is called or where the session lives is made in one place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from patchsmith.cli import main
from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import SessionStore, session_path


def store_of(worktree: Path) -> SessionStore:
    """The session store of the worktree ``worktree``."""
    return SessionStore(session_path(git.git_dir_of(worktree)))


def apply_file(
    patch: Path, tree: Path, selection: Selection | None = None, **options: Any
) -> SessionStore:
    """Apply ``patch`` (every hunk, unless ``selection`` says otherwise) to ``tree``; its store."""
    index = read_index([str(patch)])
    session = apply_patch(
        index, select(index, selection or Selection()), tree, ApplyOptions(**options)
    )
    return store_of(Path(session.worktree))


def apply_text(directory: Path, tree: Path, text: str, **options: Any) -> SessionStore:
    """Apply the patch ``text``, written to ``directory``/fix.patch, to ``tree``; its store."""
    patch = directory / "fix.patch"
    patch.write_text(text)
    return apply_file(patch, tree, **options)


def abort(store: SessionStore) -> None:
    """Remove the session's worktree and branch, as ``patchsmith abort`` does."""
    session = store.read()
    git.remove_worktree(Path(session.git_dir), Path(session.worktree))
    git.delete_branch(Path(session.git_dir), session.branch)


def demo_conflict_worktree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo's drivers/md applied to a copy of its vendor tree: one conflict
    (``drivers/md/dm-snap.c#3``) open, with its .rej; the worktree."""
    from tests.support.paths import DEMO, DEMO_PATCH

    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree)
    code = main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--only", "drivers/md", "--json"])
    assert code == 1
    return Path(json.loads(capsys.readouterr().out)["worktree"])


def run_in_session(
    worktree: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """``patchsmith ARGS --session WORKTREE``: its exit code and what it printed (both streams)."""
    capsys.readouterr()
    code = main([*args, "--session", str(worktree)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err

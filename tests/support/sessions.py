"""Sessions in tests: apply a patch through the library and open the store that apply wrote.

Many tests start from a session on a small tree; this is that start, written once, so a change
to how apply is called or where the session lives is made in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

"""Finish a session: the gate, the last commit, and the combined patch.

:func:`finish_session` refuses (:class:`~patchsmith.errors.GateError`, listing the items) while a
hunk is unresolved, a ``.rej`` file remains, a touched file has conflict markers, or apply did
not finish. Otherwise it commits any hand edits of touched files, writes ``git diff base..branch``
(which applies to the original tree with ``patch -p1``) and marks the session finished.

A named output (``-o``) is checked before anything is committed and written whole or not at all
(:mod:`patchsmith.output`): a folder, a missing folder or a read-only place is refused up front,
a full disk leaves no temporary file, and the session is marked finished only once the patch
is written.

Depends on the other workspace modules and :mod:`patchsmith.output`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from patchsmith.errors import GateError
from patchsmith.output import check_output, write_output
from patchsmith.workspace import git
from patchsmith.workspace.session import Phase, SessionStore


def default_output(store: SessionStore, name: str) -> Path:
    """Beside the session (in the worktree's git directory, never in the tree)."""
    return store.path.parent / f"{name}.carried.patch"


def finish_session(store: SessionStore, output: str | None = None) -> Path:
    """Check the gate, commit, write the combined patch; return where it was written."""
    if output is not None:
        check_output(output)
    items = [i for i in store.open_items() if i.kind != "uncommitted"]
    if items:
        raise GateError(
            f"{len(items)} item(s) still open: " + "; ".join(str(i) for i in items[:5]),
            [str(i) for i in items],
            hint="'patchsmith status' lists them; resolve each, or 'patchsmith abort'",
        )
    with store.locked():
        session = store.read()
        worktree = Path(session.worktree)
        dirty = set(git.changed_paths(worktree)) & set(session.touched)
        if dirty:
            git.commit_paths(worktree, sorted(dirty), "patchsmith: hand edits before finish")
        tip = git.head(worktree)
        patch = git.diff(worktree, session.base_commit, tip)
        target = Path(output) if output else default_output(store, session.patch.name)
        write_output(target, patch)
        store.write(replace(session, phase=Phase.FINISHED))
    return target

"""Confirming reused (remembered) resolutions from the resolve screen: ``c`` the hunk shown,
``C`` every one the list shows; the session on disk says who confirmed."""

from __future__ import annotations

from pathlib import Path

from patchsmith_tui.app import make_app
from textual.widgets import Static

from patchsmith.cli.common import read_index
from patchsmith.model import Resolution
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import SessionStore, session_path
from tests.tui.demo_session import demo_session
from tests.tui.helpers import asynctest, resolve_screen, settle

MAKEFILE = "Makefile#1"
SNAP = "drivers/md/dm-snap.c#3"


def reused_session(tmp_path: Path) -> SessionStore:
    """The demo resolved once, then applied again: both decisions replayed, to confirm."""
    first = demo_session(tmp_path)
    first.resolve(MAKEFILE, Resolution.ACCEPTED)
    first.resolve(SNAP, Resolution.UPSTREAM)
    made = first.read()
    git.remove_worktree(Path(made.git_dir), Path(made.worktree))
    git.delete_branch(Path(made.git_dir), made.branch)
    index = read_index([str(tmp_path / "patch-6.1.999.diff")])
    session = apply_patch(
        index,
        select(index, Selection()),
        tmp_path / "vendor",
        ApplyOptions(worktree=tmp_path / "again"),
    )
    store = SessionStore(session_path(git.git_dir_of(Path(session.worktree))))
    assert [h.id for h in store.load().hunks if h.to_confirm] == [MAKEFILE, SNAP]
    return store


@asynctest
async def test_c_confirms_the_hunk_and_capital_c_every_one_shown(tmp_path: Path) -> None:
    store = reused_session(tmp_path)
    app = make_app(store.path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        progress = str(screen.query_one("#progress", Static).render())
        assert "2 of 2 resolved · 2 reused to confirm (c)" in progress
        assert screen.selected == MAKEFILE
        await pilot.press("c")
        await settle(pilot)
        assert [h.id for h in store.load().hunks if h.to_confirm] == [SNAP]
        assert store.load().hunk(MAKEFILE).confirmed_by
        await pilot.press("C")
        await settle(pilot)
    session = store.load()
    assert session.open_hunks == ()
    assert all(h.confirmed_at for h in session.hunks if h.reused)

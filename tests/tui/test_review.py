"""A hunk ``apply --accept-fuzz`` wrote is a review item in the TUI too, and ``c`` settles it.

The library keeps such a hunk open until a person confirms what was written (where fuzz put it
is unproven: GNU patch writes the wrong function in ``check/trap-wrong-function``). Without a
key for it, the TUI would list an open item nothing on screen can close, and say "refused"
with a command-line flag for every key tried. Runs on the fixtures the CLI's test uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import StatusFilter
from textual.widgets import Static

from patchsmith.cli import main
from patchsmith.workspace.session import SessionStore
from tests.support.paths import CHECK
from tests.tui.helpers import asynctest, resolve_screen, settle

SIZE = (120, 36)


def _applied(fixture: str, tmp_path: Path) -> SessionStore:
    tree = tmp_path / "tree"
    shutil.copytree(CHECK / fixture / "tree", tree)
    worktree = tmp_path / "worktree"
    patch = str(CHECK / fixture / "patch.diff")
    assert (
        main(["apply", patch, "--tree", str(tree), "--accept-fuzz", "--worktree", str(worktree)])
        == 1
    )
    return SessionStore.open(worktree)


@pytest.mark.parametrize("fixture", ["fuzz", "trap-wrong-function"])
@asynctest
async def test_c_confirms_what_accept_fuzz_wrote_and_only_then_is_it_ready(
    fixture: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _applied(fixture, tmp_path)
    capsys.readouterr()
    (item,) = store.open_items()
    hunk_id = item.hunk_id
    assert hunk_id is not None and store.load().hunk(hunk_id).to_review
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == hunk_id  # the one thing open is what it opens on
        progress = str(screen.query_one("#progress", Static).render())
        assert (
            progress.startswith("1 of 1 open") and "1 written with fuzz to review (c)" in progress
        )
        assert screen.current is not None
        assert "applied with fuzz, unreviewed: c confirms it" in screen.current.titles[-1]
        for key in ("a", "t", "d", "e", "E", "1", "A"):
            # there is no proposal: what is written is what to confirm
            await pilot.press(key)
            await settle(pilot)
            resolve_screen(pilot)  # no dialog, no editor
            said = list(app._notifications)[-1]
            assert "c confirms it" in said.message and "--confirm" not in said.message, key
        assert store.load().hunk(hunk_id).to_review
        await pilot.press("C")  # confirms reused resolutions only: each review on its own
        await settle(pilot)
        assert store.load().hunk(hunk_id).to_review
        await pilot.press("c")
        await settle(pilot)
        assert not store.load().hunk(hunk_id).to_review
        assert store.open_items() == []
        assert screen.session.ready
        assert "ready to build" in str(screen.query_one("#progress", Static).render())
        assert screen.status_filter in tuple(StatusFilter)
        await pilot.press("q")
    assert app.return_code == 0

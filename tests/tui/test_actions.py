"""Every action of the resolve screen against a real session on disk (the demo scenario).

Each test presses keys, then reads the session back through the library's ``SessionStore`` (what
``patchsmith status`` in another terminal sees) and asserts the change there, not on the screen.
"""

from __future__ import annotations

import contextlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from patchsmith_tui.app import PatchsmithApp, make_app
from patchsmith_tui.render import RowKind, split_text, visible
from patchsmith_tui.screens.dialogs import EditScreen
from patchsmith_tui.screens.error import ErrorScreen
from patchsmith_tui.screens.resolve import ResolveScreen
from patchsmith_tui.widgets.side_by_side import SideBySide

from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace.session import SessionStore
from tests.tui.demo_session import demo_session
from tests.tui.helpers import asynctest, resolve_screen, settle

SIZE = (120, 36)
MAKEFILE = "Makefile#1"
"""The demo's conflict whose proposal merged cleanly (it can be accepted)."""
SNAP = "drivers/md/dm-snap.c#3"
"""The demo's conflict whose proposal still has conflict markers."""


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return demo_session(tmp_path)


def resolution(store: SessionStore, hunk_id: str) -> Resolution | None:
    return store.load().hunk(hunk_id).resolution


async def _select(pilot: object, hunk_id: str) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    screen = resolve_screen(pilot)
    while screen.selected != hunk_id:
        await pilot.press("right_square_bracket")
        await settle(pilot)


@asynctest
async def test_accept_writes_the_proposal(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resolve_screen(pilot).selected == MAKEFILE
        await pilot.press("a")
        await settle(pilot)
    hunk = store.load().hunk(MAKEFILE)
    assert hunk.resolution is Resolution.ACCEPTED
    assert hunk.resolved_by


@asynctest
async def test_accept_is_refused_while_the_proposal_has_markers(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("a")
        await settle(pilot)
        assert resolve_screen(pilot).selected == SNAP  # still here, error shown
    assert resolution(store, SNAP) is None


@asynctest
async def test_take_upstream(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("t")
        await settle(pilot)
    assert resolution(store, SNAP) is Resolution.UPSTREAM


@asynctest
async def test_drop_with_a_reason(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", *"vendor keeps its EXTRAVERSION", "enter")
        await settle(pilot)
    hunk = store.load().hunk(MAKEFILE)
    assert hunk.resolution is Resolution.DROPPED
    assert hunk.resolution_reason == "vendor keeps its EXTRAVERSION"


@asynctest
async def test_inline_edit_writes_the_text(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, EditScreen)
        text = store.load().hunk(SNAP).post_image
        editor.query_one("#edit-text").text = text  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
    hunk = store.load().hunk(SNAP)
    assert hunk.resolution is Resolution.EDITED
    worktree_file = Path(store.load().worktree) / "drivers/md/dm-snap.c"
    assert text in worktree_file.read_text()


@asynctest
async def test_external_editor(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\nsed -i -e '/^[<=>|]\\{7\\}/d' \"$1\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)

    @contextlib.contextmanager
    def no_suspend(self: PatchsmithApp) -> Iterator[None]:
        yield  # the headless test driver cannot suspend; a terminal one can

    monkeypatch.setattr(PatchsmithApp, "suspend", no_suspend)
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("E")
        await settle(pilot)
    hunk = store.load().hunk(SNAP)
    assert hunk.resolution is Resolution.EDITED
    assert "<<<<<<<" not in (hunk.written or "")


@asynctest
async def test_undo(store: SessionStore) -> None:
    store.resolve(MAKEFILE, Resolution.UPSTREAM)
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resolve_screen(pilot).selected == MAKEFILE
        await pilot.press("u")
        await settle(pilot)
    assert resolution(store, MAKEFILE) is None


def right_side(screen: ResolveScreen) -> list[str]:
    """The lines the merge view shows on its right half, as drawn (tabs expanded)."""
    assert screen.current is not None
    return [row.right.strip.text for row in screen.current.rows if row.right is not None]


def worktree_region(store: SessionStore, hunk_id: str) -> list[str]:
    """What the worktree file holds now where the hunk's resolution went, as drawn."""
    session = store.load()
    hunk = session.hunk(hunk_id)
    assert hunk.current is not None
    lines = (Path(session.worktree) / hunk.path).read_text().split("\n")
    text = hunk.written if hunk.written is not None else hunk.current.text
    count = len(split_text(text))
    return [
        visible(line) for line in lines[hunk.current.start - 1 : hunk.current.start - 1 + count]
    ]


@asynctest
async def test_merge_view_shows_the_worktree_after_a_resolution(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        screen = resolve_screen(pilot)
        view = screen.query_one(SideBySide)
        assert screen.current is not None
        assert screen.current.conflicts == 1
        assert view.titles[1] == "proposal"

        await pilot.press("d")
        await pilot.pause()
        await pilot.press(*"vendor fix is enough", "enter")
        await settle(pilot)
        await _select(pilot, SNAP)
        vendor = store.load().hunk(SNAP).vendor
        assert vendor is not None
        assert right_side(screen) == [visible(line) for line in split_text(vendor.text)]
        assert right_side(screen) == worktree_region(store, SNAP)
        assert screen.current is not None
        assert not any(row.kind is RowKind.CONFLICT for row in screen.current.rows)
        assert view.titles[1].startswith("result (dropped: vendor's code kept by ")

        await pilot.press("u")  # the proposal, markers and all, comes back
        await settle(pilot)
        assert screen.current is not None
        assert screen.current.conflicts == 1
        assert any("<<<<<<<" in line for line in right_side(screen))
        assert view.titles[1] == "proposal"

        await pilot.press("e")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, EditScreen)
        text = store.load().hunk(SNAP).post_image.replace("valid)", "valid) /* edited */")
        editor.query_one("#edit-text").text = text  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        await _select(pilot, SNAP)
        assert right_side(screen) == [visible(line) for line in split_text(text)]
        assert right_side(screen) == worktree_region(store, SNAP)
        assert view.titles[1].startswith("result (edited by ")


@asynctest
async def test_picks_up_changes_made_by_the_cli(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.session.open_count == 2
        store.resolve(SNAP, Resolution.UPSTREAM)  # "another terminal"
        await pilot.pause(1.5)  # the mtime poll runs every second
        assert screen.session.open_count == 1
        hunk = screen.session.find(SNAP)
        assert hunk is not None
        assert hunk.resolution is Resolution.UPSTREAM


@asynctest
async def test_every_conflict_resolved_with_the_keyboard_alone(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")  # Makefile: accept the clean merge, moves on to dm-snap.c#3
        await settle(pilot)
        assert resolve_screen(pilot).selected == SNAP
        await pilot.press("t")  # dm-snap.c: take upstream
        await settle(pilot)
        assert resolve_screen(pilot).session.ready
        await pilot.press("q")
    assert app.return_code == 0
    assert [item for item in store.open_items() if item.kind == "hunk"] == []


@asynctest
async def test_no_session_shows_the_library_message(tmp_path: Path) -> None:
    app = make_app(tmp_path / "nowhere")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "no such session" in app.screen.error.details()
        await pilot.press("q")
    assert app.return_code == SessionError.exit_code


@asynctest
async def test_session_from_another_version(store: SessionStore) -> None:
    data = json.loads(store.path.read_text())
    data["schema"] = "patchsmith.session/0"
    store.path.write_text(json.dumps(data))
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "different patchsmith" in str(app.screen.query_one("#error-details").render())

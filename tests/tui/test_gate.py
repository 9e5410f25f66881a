"""What the resolve screen calls open is the build gate's own list, and selection warnings are
items of it that a person reads and acknowledges (``c``, after a dialog).

Real sessions on disk: ``fixtures/kernel-tree`` applied with ``--modules-only`` (every hunk is
clean; the one dependency warning is the only thing the gate waits for), and the demo with
things only the gate sees (a ``.rej`` file and a conflict marker left by hand, no hunk open).
The screen's list and counter are checked against ``SessionStore.open_items()``, what
``build`` and ``finish`` ask.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import ItemView, StatusFilter, warning_entry
from patchsmith_tui.screens.dialogs import AckDialog
from patchsmith_tui.widgets.hunk_list import HunkList, entry_id
from textual.pilot import Pilot
from textual.widgets import Static

from patchsmith.cli import main
from patchsmith.model import Resolution
from patchsmith.workspace import git
from patchsmith.workspace.session import OpenItem, SessionStore, session_path
from tests.support.paths import FIXTURES
from tests.tui.demo_session import demo_session
from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.sample import FakeBackend, warning_session

SIZE = (120, 36)


@pytest.fixture
def warned(tmp_path: Path) -> SessionStore:
    """``kernel-tree.patch`` applied with ``--modules-only``: clean hunks, one warning (a kept
    ``dm-table.c`` hunk uses ``DEMO_CORE_FLAG_SYNC``, which a left-out header hunk adds).
    ``drivers/odd/odd.c`` (class unknown: its Makefile is broken) is left out by hand, or it
    would be a second warning."""
    tree = tmp_path / "vendor"
    shutil.copytree(FIXTURES / "kernel-tree", tree)
    worktree = tmp_path / "worktree"
    code = main(
        [
            "apply",
            str(FIXTURES / "kernel-tree.patch"),
            "--tree",
            str(tree),
            "--config",
            str(FIXTURES / "kernel-tree.config"),
            "--modules-only",
            "-x",
            "*/odd.c",
            "--worktree",
            str(worktree),
        ]
    )
    assert code == 1  # the warning keeps it open
    return SessionStore(session_path(git.git_dir_of(worktree)))


def progress(pilot: Pilot[int]) -> str:
    return str(resolve_screen(pilot).query_one("#progress", Static).render())


def listed(pilot: Pilot[int]) -> list[str]:
    screen = resolve_screen(pilot)
    return [entry_id(entry) for entry in screen.visible_entries()]


def gate_ids(items: list[OpenItem]) -> list[str]:
    """The list ids the screen must show for the gate's items, in the gate's order."""
    ids = []
    for item in items:
        if item.hunk_id is not None:
            ids.append(item.hunk_id)
        elif item.warning is not None:
            ids.append(warning_entry(item.warning))
        else:
            ids.append(f"\x00{item.kind}\x00{item.path}")
    return ids


async def _goto(pilot: Pilot[int], wanted: str) -> None:
    screen = resolve_screen(pilot)
    for _ in range(10):
        if screen.selected == wanted:
            return
        await pilot.press("n")
        await settle(pilot)
    raise AssertionError(f"{wanted!r} is not an open item")


@asynctest
async def test_a_warning_is_an_item_with_its_evidence_and_keeps_the_gate_closed(
    warned: SessionStore,
) -> None:
    session = warned.load()
    assert session.open_hunks == ()  # no hunk is open: only the warning is
    (warning,) = session.warnings
    app = make_app(warned.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        # no hunk needs a person, so the list opens on the warning
        assert listed(pilot) == [warning_entry(warning.number)]
        assert screen.selected == warning_entry(warning.number)
        said = progress(pilot)
        assert "ready to build" not in said  # a hunks-only count would say it here
        assert said.startswith("1 of 1 open") and "1 warning to read (c)" in said
        view = screen.current
        assert view is not None
        texts = [row.cells[0].text for row in view.rows if row.cells[0] is not None]
        # the evidence: the kept line that uses it and the left-out line that changes it
        assert warning.kept_line.expandtabs(8) in texts
        assert warning.other_line.expandtabs(8) in texts
        assert f"kept: {warning.path} hunk #{warning.hunk} uses it" in texts
        assert view.titles == (f"selection warning [{warning.number}]: open",)
        header = str(screen.query_one("#hunk-header").render())
        assert "c acknowledges it once read" in header


@asynctest
async def test_c_asks_first_and_only_y_acknowledges(warned: SessionStore) -> None:
    number = warned.load().warnings[0].number
    app = make_app(warned.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _goto(pilot, warning_entry(number))
        for dismiss in ("escape", "n", "enter"):  # enter presses the focused Cancel button
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, AckDialog)
            await pilot.press(dismiss)
            await settle(pilot)
            resolve_screen(pilot)
            assert warned.load().warnings[0].open, dismiss
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        warning = warned.load().warnings[0]
        assert not warning.open
        assert warning.acknowledged_by == "Patchsmith Test <test@patchsmith.invalid>"
        assert warned.open_items() == []
        assert "ready to build" in progress(pilot)
        entry = resolve_screen(pilot).session.find_entry(warning_entry(number))
        assert isinstance(entry, ItemView) and not entry.is_open
    assert app.return_code == 0 or app.return_code is None


@asynctest
async def test_an_acknowledgement_made_with_the_cli_shows_at_once(warned: SessionStore) -> None:
    number = warned.load().warnings[0].number
    app = make_app(warned.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "ready to build" not in progress(pilot)
        assert main(["resolve", "--ack-warning", str(number), "--session", str(warned.path)]) == 0
        await pilot.pause(1.5)  # the session file is polled every second
        assert "ready to build" in progress(pilot)
        screen = resolve_screen(pilot)
        assert screen.session.gate == ()
        entry = screen.session.find_entry(warning_entry(number))
        assert isinstance(entry, ItemView)
        assert entry.warning is not None and entry.warning.acknowledged_by
        # still listed for review, as acknowledged; no longer among the open items
        assert warning_entry(number) in listed(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert screen.status_filter is StatusFilter.OPEN
        assert listed(pilot) == []


@asynctest
async def test_the_gate_list_not_the_hunks_decides_ready(tmp_path: Path) -> None:
    # Every hunk resolved, but a .rej put back by hand and a conflict marker committed by
    # hand: the gate stays closed, so the screen must not say "ready to build".
    store = demo_session(tmp_path)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve("drivers/md/dm-snap.c#3", Resolution.UPSTREAM)
    worktree = Path(store.load().worktree)
    (worktree / "drivers/md/dm-snap.c.rej").write_text("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n")
    table = worktree / "drivers/md/dm-table.c"
    table.write_text(table.read_text() + "<<<<<<< vendor\n>>>>>>> upstream-after\n")
    git.commit_paths(worktree, ["drivers/md/dm-table.c"], "a marker, by hand")
    assert store.load().open_hunks == ()
    items = store.open_items()
    assert sorted(item.kind for item in items) == ["marker", "reject"]
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert "ready to build" not in progress(pilot)
        await pilot.press("f")  # "open": the gate's list, in its order
        await settle(pilot)
        assert screen.status_filter is StatusFilter.OPEN
        assert listed(pilot) == gate_ids(items)
        assert screen.selected == gate_ids(items)[0]
        assert progress(pilot).startswith(f"1 of {len(items)} open")
        await pilot.press("n")
        await settle(pilot)
        assert screen.selected == gate_ids(items)[1]
        assert progress(pilot).startswith(f"2 of {len(items)} open")
        # the marker's pane says what settles it, in the TUI's words
        await _goto(pilot, "\x00marker\x00drivers/md/dm-table.c")
        assert screen.current is not None
        prose = " ".join(row.cells[0].text for row in screen.current.rows if row.cells[0])
        assert "conflict marker at line" in prose and "r reloads" in prose
        # settled by hand: the gate opens, and the screen follows it
        (worktree / "drivers/md/dm-snap.c.rej").unlink()
        table.write_text(table.read_text().replace("<<<<<<< vendor\n>>>>>>> upstream-after\n", ""))
        git.commit_paths(worktree, ["drivers/md/dm-table.c"], "the marker, gone")
        await pilot.press("r")
        await settle(pilot)
        assert store.open_items() == []
        assert "ready to build" in progress(pilot)


@asynctest
async def test_capital_c_never_acknowledges_a_warning_and_hunk_keys_say_what_to_do() -> None:
    backend = FakeBackend(warning_session())
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")  # open: the gate's list
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.status_filter is StatusFilter.OPEN
        await pilot.press("C")
        await settle(pilot)
        assert backend.calls == []  # nothing reused to confirm; the warning is not touched
        await _goto(pilot, warning_entry(1))
        for key in ("a", "t", "d", "e", "1", "A", "u"):
            await pilot.press(key)
            await settle(pilot)
            resolve_screen(pilot)  # no dialog opened
        assert backend.calls == []
        said = [str(n.message) for n in app._notifications]
        assert "c acknowledges it once read" in said[-1]
        hunk_list = screen.query_one(HunkList)
        assert hunk_list.option_count == 4  # two hunks, the .rej, the warning

"""Every action of the resolve screen against a real session on disk (the demo scenario).

Each test presses keys, then reads the session back through the library's ``SessionStore`` (what
``patchsmith status`` in another terminal sees) and asserts the change there, not on the screen.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from patchsmith_tui.app import PatchsmithApp, make_app
from patchsmith_tui.render import Mark, ViewKind, split_text, visible
from patchsmith_tui.screens.error import ErrorScreen
from patchsmith_tui.screens.resolve import InlineEditor, ResolveScreen

from patchsmith.cli import main
from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace import memory
from patchsmith.workspace.session import SessionStore
from tests.support.trees import git
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
    for key in ("J", "K"):  # down to the end of the list, then up to its top
        for _ in range(20):
            if screen.selected == hunk_id:
                return
            before = screen.selected
            await pilot.press(key)
            await settle(pilot)
            if screen.selected == before:
                break
    raise AssertionError(f"{hunk_id} is not in the list")


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
        await pilot.press("4", *"vendor keeps its EXTRAVERSION", "enter")
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
        editor = resolve_screen(pilot).query_one(InlineEditor)
        text = store.load().hunk(SNAP).post_image
        editor.text = text
        await pilot.press("ctrl+s")
        await settle(pilot)
    hunk = store.load().hunk(SNAP)
    assert hunk.resolution is Resolution.EDITED
    worktree_file = Path(store.load().worktree) / "drivers/md/dm-snap.c"
    assert text in worktree_file.read_text()


def fake_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """$EDITOR as a shell script; it logs its arguments, so a test sees the line it got."""
    script = tmp_path / "fake-editor"
    log = tmp_path / "editor.log"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nfile="$2"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)

    @contextlib.contextmanager
    def no_suspend(self: PatchsmithApp) -> Iterator[None]:
        yield  # the headless test driver cannot suspend; a terminal one can

    monkeypatch.setattr(PatchsmithApp, "suspend", no_suspend)
    return log


@asynctest
async def test_external_editor_gets_the_whole_file_at_the_region(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The editor keeps upstream's side of the block (deletes the markers and the vendor's and
    # the base's lines), as a person would; every other line of the file must come back.
    log = fake_editor(
        tmp_path,
        monkeypatch,
        "sed -i -e '/^<<<<<<< /,/^=======/d' -e '/^>>>>>>> /d' \"$file\"",
    )
    worktree = Path(store.load().worktree)
    before = (worktree / "drivers/md/dm-snap.c").read_text()
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("E")
        await settle(pilot)
    line, path = log.read_text().split()
    assert line == "+54"  # the region's line in the worktree file, where the editor opens
    assert path.endswith("dm-snap.c")
    hunk = store.load().hunk(SNAP)
    assert hunk.resolution is Resolution.EDITED
    assert "<<<<<<<" not in (hunk.written or "")
    assert "s->merge_failed" in (hunk.written or "")
    after = (worktree / "drivers/md/dm-snap.c").read_text()
    assert len(after.splitlines()) == len(before.splitlines())


@asynctest
async def test_external_editor_refuses_leftover_markers_and_reopens_the_edit(
    store: SessionStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First run: the person edits one line but leaves the markers. Nothing is saved, the
    # message names the line; the second E reopens the same copy (the edit is not lost).
    fake_editor(
        tmp_path,
        monkeypatch,
        'if grep -q EDITED "$file"; then sed -i -e "/^[<=>|]\\{7\\}/d" "$file"; '
        'else sed -i -e "s/int r = /int r = 0 + \\/* EDITED *\\/ /" "$file"; fi',
    )
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("E")
        await settle(pilot)
        said = [str(n.message) for n in app._notifications]
        assert any("conflict markers are left at line 57" in text for text in said), said
        assert resolution(store, SNAP) is None
        await pilot.press("E")
        await settle(pilot)
    hunk = store.load().hunk(SNAP)
    assert hunk.resolution is Resolution.EDITED
    assert "EDITED" in (hunk.written or "")


@asynctest
async def test_a_resolution_memory_cannot_keep_is_done_and_said_not_refused(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The data home passed the check made before the resolution, then could not take the
    # record (a full disk): the hunk is resolved and committed; saying "refused" would be false.
    def full(self: memory.Memory, entry: memory.Entry) -> None:
        raise memory._unusable(self.folder, OSError(28, "No space left on device"))

    monkeypatch.setattr(memory.Memory, "put", full)
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("t")
        await settle(pilot)
        assert resolution(store, SNAP) is Resolution.UPSTREAM
        assert resolve_screen(pilot).session.find(SNAP).resolution is Resolution.UPSTREAM  # type: ignore[union-attr]
        last = list(app._notifications)[-1]
        assert last.title.endswith(": done, not remembered") and last.severity == "warning"
        assert "refused" not in last.title
        assert "No space left on device" in last.message
        assert "u undoes it" in last.message and "--undo" not in last.message


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


def result_pane(screen: ResolveScreen) -> list[str]:
    """The lines the merge view shows in its result pane, as drawn (tabs expanded)."""
    view = screen.current
    assert view is not None
    pane = view.panes - 1
    return [row.cells[pane].text for row in view.rows if row.cells[pane] is not None]  # type: ignore[union-attr]


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
        assert screen.current is not None
        assert screen.current.conflicts == 1
        assert screen.current.titles[-1].startswith("proposal (")

        await pilot.press("d", "3")  # superseded by the vendor's change
        await pilot.pause()
        await pilot.click("#drop-ok")
        await settle(pilot)
        await _select(pilot, SNAP)
        vendor = store.load().hunk(SNAP).vendor
        assert vendor is not None
        assert result_pane(screen) == [visible(line) for line in split_text(vendor.text)]
        assert result_pane(screen) == worktree_region(store, SNAP)
        assert screen.current is not None
        assert screen.current.conflicts == 0
        assert screen.current.titles[-1].startswith("result: dropped, vendor's code kept by ")
        assert store.load().hunk(SNAP).resolution_reason == "superseded by the vendor's change"

        await pilot.press("u")  # the proposal, markers and all, comes back
        await settle(pilot)
        assert screen.current is not None
        assert screen.current.conflicts == 1
        assert any("<<<<<<<" in line for line in result_pane(screen))


@asynctest
async def test_line_numbers_are_the_vendor_trees(
    store: SessionStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # check says "closest region at line 53"; the worktree has it at 54 (a clean hunk above
    # added a line). The vendor pane and the header say 53; 54 only where labelled worktree.
    patch, vendor = str(tmp_path / "patch-6.1.999.diff"), str(tmp_path / "vendor")
    main(["check", patch, "--tree", vendor, "--json"])
    checked = json.loads(capsys.readouterr().out)
    (snap_file,) = [f for f in checked["files"] if f["path"] == "drivers/md/dm-snap.c"]
    said = snap_file["hunks"][2]["reason"]
    assert re.search(r"closest region at line 53\b", said), said
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        screen = resolve_screen(pilot)
        header = str(screen.query_one("#hunk-header").render())
        assert "vendor tree line 53 · worktree line 54" in header
        view = screen.current
        assert view is not None
        vendor_pane = view.panes - 2
        assert view.titles[vendor_pane] == "vendor tree, line 53"
        numbers = [row.cells[vendor_pane].number for row in view.rows if row.cells[vendor_pane]]  # type: ignore[union-attr]
        assert numbers[0] == 53
        assert "worktree line 54" in view.titles[-1]


@asynctest
async def test_with_a_base_the_first_pane_is_vanillas_lines_at_their_line(tmp_path: Path) -> None:
    # Compared with the vanilla file itself, not with what the session recorded: a base pane
    # one line off, or showing the vendor's lines, would fail here.
    store = demo_session(tmp_path, base=True)
    assert store.load().hunk(SNAP).proposal_source == "3way"
    vanilla = (tmp_path / "vanilla" / "drivers/md/dm-snap.c").read_text().split("\n")
    app = make_app(store.path)
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        view = resolve_screen(pilot).current
        assert view is not None
        assert view.panes == 4
        assert view.titles[0].startswith("base: vanilla line ")
        first = int(view.titles[0].rsplit(" ", 1)[1])
        cells = [row.cells[0] for row in view.rows if row.cells[0] is not None]
        assert [cell.number for cell in cells] == list(range(first, first + len(cells)))
        assert [cell.text for cell in cells] == [
            visible(line) for line in vanilla[first - 1 : first - 1 + len(cells)]
        ]
        assert len(cells) > 3


@asynctest
async def test_settled_hunks_show_what_was_found_where(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f", "f", "f", "f")  # all
        await settle(pilot)
        screen = resolve_screen(pilot)
        await _select(pilot, "drivers/md/dm-snap.c#2")  # offset +5, applied
        view = screen.current
        assert view is not None
        assert view.titles[1] == "vendor tree: pre-image found at line 44"
        assert view.titles[2].startswith("worktree: applied, worktree line")
        assert any(row.cells[2] is not None for row in view.rows)
        await _select(pilot, "drivers/md/dm-table.c#1")  # already applied
        view = screen.current
        assert view is not None
        assert view.titles[1] == "vendor tree: already has it at line 12"
        assert view.titles[2].startswith("worktree: unchanged, already there")
        cells = [cell for row in view.rows for cell in row.cells if cell is not None]
        vendor_cells = [row.cells[1] for row in view.rows if row.cells[1] is not None]
        assert vendor_cells and all(cell.mark is Mark.SAME for cell in vendor_cells)
        assert any(cell.mark is Mark.ADDED for cell in cells)  # upstream's added lines


@asynctest
async def test_reject_view_shows_the_rej_text(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, SNAP)
        await pilot.press("v", "v")
        await settle(pilot)
        view = resolve_screen(pilot).current
        assert view is not None and view.key[1] is ViewKind.REJECT
        assert view.titles == ("drivers/md/dm-snap.c.rej (in the worktree)",)
        rej = (Path(store.load().worktree) / "drivers/md/dm-snap.c.rej").read_text()
        assert [row.cells[0].text for row in view.rows] == [  # type: ignore[union-attr]
            visible(line) for line in split_text(rej)
        ]


@asynctest
async def test_picks_up_changes_made_by_the_cli(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        # the gate's own list: two open hunks and the .rej file each left in the worktree
        assert screen.session.open_count == len(store.open_items()) == 4
        store.resolve(SNAP, Resolution.UPSTREAM)  # "another terminal"
        await pilot.pause(1.5)  # the mtime poll runs every second
        assert screen.session.open_count == len(store.open_items()) == 2
        hunk = screen.session.find(SNAP)
        assert hunk is not None
        assert hunk.resolution is Resolution.UPSTREAM


@asynctest
async def test_every_conflict_resolved_with_the_keyboard_alone(store: SessionStore) -> None:
    worktree = Path(store.load().worktree)

    def commits() -> list[str]:
        return git(worktree, "log", "--format=%s").splitlines()

    before = commits()
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
    # Each decision is a commit of its own on the session's branch (read with a second git
    # client), and nothing is left uncommitted in the worktree.
    made = commits()[: len(commits()) - len(before)]
    assert len(made) == 2, made
    assert MAKEFILE in made[1] and SNAP in made[0]
    assert git(worktree, "status", "--porcelain", "--untracked-files=no") == ""


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

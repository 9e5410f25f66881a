"""The resolve screen driven with Pilot over a literal session (navigation, views, dialogs).

What each key asks of the library is checked on the fake backend's call log here; the tests in
``test_actions.py`` check the same keys against a real session on disk.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import StatusFilter
from patchsmith_tui.render import PLAIN, ViewKind
from patchsmith_tui.screens.dialogs import DropDialog, EditScreen
from patchsmith_tui.screens.error import ErrorScreen
from patchsmith_tui.screens.help import HelpScreen
from patchsmith_tui.widgets.hunk_list import HunkList
from patchsmith_tui.widgets.side_by_side import SideBySide
from textual.widget import Widget

from patchsmith.errors import SessionError
from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.sample import FakeBackend

SIZE = (120, 36)


@asynctest
async def test_opens_on_the_first_hunk_needing_a_person() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#1"
        assert screen.status_filter is StatusFilter.REVIEW
        # the clean hunk is not listed under the default filter
        assert screen.query_one(HunkList).option_count == 3
        assert screen.current is not None
        assert screen.current.key[1] is ViewKind.MERGE


@asynctest
async def test_v_switches_between_merge_and_drift_views() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.view_kind is ViewKind.DRIFT
        assert screen.current is not None
        assert screen.current.key[1] is ViewKind.DRIFT
        await pilot.press("v")
        await settle(pilot)
        assert screen.view_kind is ViewKind.MERGE


@asynctest
async def test_n_and_p_walk_the_conflicts_and_wrap() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=(120, 14)) as pilot:
        await settle(pilot)
        await pilot.press("v")  # the drift view has two differences
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.current is not None
        assert len(screen.current.stops) == 2
        await pilot.press("n")
        assert screen._stop == 0
        await pilot.press("n")
        assert screen._stop == 1
        await pilot.press("n")
        assert screen._stop == 0
        await pilot.press("p")
        assert screen._stop == 1


@asynctest
async def test_brackets_move_between_hunks() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#2"
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#1"


@asynctest
async def test_f_cycles_the_filter() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        hunk_list = screen.query_one(HunkList)
        counts = {}
        for _ in StatusFilter:
            counts[screen.status_filter] = hunk_list.option_count
            await pilot.press("f")
            await settle(pilot)
        assert counts == {
            StatusFilter.REVIEW: 3,
            StatusFilter.OPEN: 2,
            StatusFilter.CONFLICT: 2,
            StatusFilter.RESOLVED: 1,
            StatusFilter.ALL: 4,
        }
        assert screen.status_filter is StatusFilter.REVIEW


@asynctest
async def test_keys_call_the_backend() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        # accepting moves on to the next open hunk
        assert resolve_screen(pilot).selected == "drivers/md/dm-snap.c#2"
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("left_square_bracket", "left_square_bracket", "u")
        await settle(pilot)
    assert backend.calls == [
        ("accept", "drivers/md/dm-snap.c#1"),
        ("upstream", "drivers/md/dm-snap.c#2"),
        ("undo", "drivers/md/dm-snap.c#1"),
    ]


@asynctest
async def test_drop_asks_for_a_reason_and_refuses_an_empty_one() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DropDialog)
        app.screen.query_one("#drop-reason").value = ""  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DropDialog)
        await pilot.press(*"vendor has it")
        await pilot.press("enter")
        await settle(pilot)
    assert backend.calls == [("drop", "drivers/md/dm-snap.c#1", "vendor has it")]


@asynctest
async def test_escape_cancels_drop_and_edit() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EditScreen)
        await pilot.press("escape")
        await pilot.pause()
    assert backend.calls == []


@asynctest
async def test_undo_without_a_resolution_only_warns() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await pilot.pause()
    assert backend.calls == []


@asynctest
async def test_help_lists_every_binding_and_closes() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = [keys for keys, _ in app.screen.bindings]
        assert {"a", "t", "d", "e", "E", "u", "n", "p", "v", "[", "]", "f", "?", "q"} <= set(keys)
        await pilot.press("escape")
        await pilot.pause()
        resolve_screen(pilot)


@asynctest
async def test_session_error_shows_details_instead_of_crashing() -> None:
    error = SessionError(
        "the session was written by patchsmith 0.0.1 (format 0)",
        hint="finish or abort it with that version",
    )
    app = make_app(backend=FakeBackend(error=error))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        shown = str(app.screen.query_one("#error-details").render())
        assert "format 0" in shown
        assert "hint: finish or abort" in shown
        await pilot.press("q")
    assert app.return_code == SessionError.exit_code


@asynctest
async def test_quit_returns_attention_while_hunks_are_open() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 1


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
@asynctest
async def test_small_and_wide_terminals(size: tuple[int, int]) -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        view = resolve_screen(pilot).query_one(SideBySide)
        assert view.size.width > 20
        await pilot.press("pagedown", "pageup", "right", "left")


LONG_TITLE = "patch-6.1.999 onto /srv/build/" + "very-long-vendor-tree-name/" * 4 + "linux"


def line(widget: Widget, y: int = 0) -> str:
    """The text a widget draws on its line ``y``."""
    return widget.render_line(y).text


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 36), (160, 48), (200, 60)])
@asynctest
async def test_header_lines_never_overlap(size: tuple[int, int]) -> None:
    backend = FakeBackend()
    # A long title, and a list entry wider than the narrow sidebar ("✓ accepted (reused)").
    hunks = tuple(
        replace(hunk, reused=True) if hunk.resolution else hunk for hunk in backend.session.hunks
    )
    backend.session = replace(backend.session, title=LONG_TITLE, hunks=hunks)
    app = make_app(backend=backend)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        progress = screen.query_one("#progress")
        title = screen.query_one("#session-title")
        assert line(progress).rstrip() == "1 of 3 resolved · 2 unresolved"
        assert progress.region.right + 3 <= title.region.x
        shown = line(title).rstrip()
        full = f"patchsmith resolve · {LONG_TITLE}"
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))

        shown = line(screen.query_one("#filter-bar")).strip()
        assert shown.startswith("review: 3 of 4 · f")
        assert shown == "review: 3 of 4 · f filter" or shown.endswith("…")

        # Every list entry stays two lines however narrow the sidebar is.
        hunk_list = screen.query_one(HunkList)
        assert hunk_list.virtual_size.height == 2 * hunk_list.option_count

        # The column titles sit over their halves: the separator is in the same column.
        view = screen.query_one(SideBySide)
        titles, first_row = line(view, 0), line(view, 1)
        assert titles.index("│") == first_row.index("│")
        assert titles[: titles.index("│")].strip().startswith("upstream res")
        assert titles[titles.index("│") + 1 :].strip() == "proposal"


@asynctest
async def test_no_color_uses_the_plain_palette(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        assert resolve_screen(pilot).palette is PLAIN

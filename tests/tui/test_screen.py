"""The resolve screen driven with Pilot over a literal session (navigation, views, dialogs).

What each key asks of the library is checked on the fake backend's call log here; the tests in
``test_actions.py`` check the same keys against a real session on disk.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import StatusFilter
from patchsmith_tui.render import PLAIN, Mark, ViewKind
from patchsmith_tui.screens.dialogs import DropDialog
from patchsmith_tui.screens.error import ErrorScreen
from patchsmith_tui.screens.help import HelpScreen
from patchsmith_tui.screens.resolve import (
    CONTEXT_DELAY,
    CONTEXT_STEPS,
    InlineEditor,
    ResolveScreen,
)
from patchsmith_tui.widgets.hunk_list import HunkList
from patchsmith_tui.widgets.panes import PaneView
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Input

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
async def test_v_cycles_the_merge_file_and_reject_views() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        seen = []
        for _ in range(4):
            assert screen.current is not None
            seen.append(screen.current.key[1])
            await pilot.press("v")
            await settle(pilot)
        assert seen == [ViewKind.MERGE, ViewKind.FILE, ViewKind.REJECT, ViewKind.MERGE]


async def drawn(pilot: object) -> None:
    """Wait for the file view to be drawn after + or - (it waits for the keys to stop)."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.pause(CONTEXT_DELAY + 0.1)
    await settle(pilot)


@asynctest
async def test_the_file_view_widens_narrows_and_jumps_to_the_function() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=(120, 20)) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        await pilot.press("plus")  # from the merge view: goes to the file view first
        await drawn(pilot)
        assert screen.view_kind is ViewKind.FILE
        narrow = len(screen.current.rows)  # type: ignore[union-attr]
        await pilot.press("plus")
        await drawn(pilot)
        assert len(screen.current.rows) > narrow  # type: ignore[union-attr]
        await pilot.press(*["plus"] * 6)  # pressed quickly: drawn once, when they stop
        await drawn(pilot)
        assert screen.context_step == len(CONTEXT_STEPS) - 1  # the whole file
        assert not any(row.cells[0].mark is Mark.FOLDED for row in screen.current.rows)  # type: ignore[union-attr]
        await pilot.press("minus")
        await drawn(pilot)
        assert screen.context_step == len(CONTEXT_STEPS) - 2
        view = screen.query_one(PaneView)
        await pilot.press("G")
        await pilot.press("left_curly_bracket")
        await settle(pilot)
        evidence = screen.evidence["drivers/md/dm-snap.c#1"]
        rows = screen.current.rows  # type: ignore[union-attr]
        function_row = next(
            n for n, row in enumerate(rows) if row.cells[0].number == evidence.function_line
        )
        assert view.top_row <= function_row < view.top_row + view.band_height()


@asynctest
async def test_brackets_walk_the_conflict_blocks_and_wrap() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=(120, 14)) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.current is not None
        assert screen.current.conflicts == 2
        for expected in (0, 1, 0):
            await pilot.press("right_square_bracket")
            assert screen.block == expected
        await pilot.press("left_square_bracket")
        assert screen.block == 1
        header = str(screen.query_one("#hunk-header").render())
        assert "conflict block 2 of 2" in header


@asynctest
async def test_shift_j_and_k_move_between_hunks() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#2"
        await pilot.press("K")
        await settle(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#1"


@asynctest
async def test_n_and_p_go_to_open_items_and_the_counter_says_which() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        progress = screen.query_one("#progress")
        assert str(progress.render()).startswith("1 of 2 open")
        await pilot.press("n")
        await settle(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#2"
        assert str(progress.render()).startswith("2 of 2 open")
        await pilot.press("n")  # wraps
        await settle(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#1"
        await pilot.press("p")
        await settle(pilot)
        assert screen.selected == "drivers/md/dm-snap.c#2"


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


def notices(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


@asynctest
async def test_a_refused_accept_says_what_to_press() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert backend.calls == []  # the proposal has conflict blocks: never sent
        said = notices(app)[-1]
        assert "1-4" in said and "--edit" not in said


@asynctest
async def test_picking_sides_block_by_block_resolves_with_one_edit() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        await pilot.press("1")  # block 1: the vendor's lines; one block left, nothing saved
        await settle(pilot)
        assert backend.calls == []
        assert screen.current is not None and screen.current.conflicts == 1
        await pilot.press("u")  # the pick is taken back
        await settle(pilot)
        assert screen.current is not None and screen.current.conflicts == 2
        await pilot.press("2", "A")  # block 1 upstream's; block 2 changed only upstream
        await settle(pilot)
    ((verb, hunk_id, text, reason),) = backend.calls
    assert (verb, hunk_id) == ("edit", "drivers/md/dm-snap.c#1")
    assert "<<<<<<<" not in text
    assert 'DMERR("cannot create exception store");' in text
    assert "GFP_NOIO" not in text  # upstream's side of block 1
    assert "/* the store is ready */" in text  # the one-sided block went to upstream
    assert reason == ("picked: block 1: took upstream's lines; 1 one-sided block settled")


@asynctest
async def test_both_sides_in_either_order() -> None:
    for key, first in (("3", "GFP_NOIO"), ("4", "DMERR")):
        backend = FakeBackend()
        app = make_app(backend=backend)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press(key, "A")
            await settle(pilot)
        text = backend.calls[0][2]
        assert text.index(first) < text.index("DMERR" if first == "GFP_NOIO" else "GFP_NOIO")


@asynctest
async def test_whole_hunk_verbs_still_work() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert resolve_screen(pilot).selected == "drivers/md/dm-snap.c#2"
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("K", "K", "u")
        await settle(pilot)
    assert backend.calls == [
        ("upstream", "drivers/md/dm-snap.c#1"),
        ("accept", "drivers/md/dm-snap.c#2"),
        ("undo", "drivers/md/dm-snap.c#1"),
    ]


@asynctest
async def test_drop_offers_reasons_selects_none_and_requires_one() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DropDialog)
        assert dialog.choice is None
        assert dialog.query_one("#drop-reason", Input).value == ""
        assert dialog.query_one("#drop-ok", Button).disabled
        await pilot.press("tab", "tab", "enter")  # nothing chosen: Drop does nothing
        await pilot.pause()
        assert isinstance(app.screen, DropDialog)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("4")  # other: type it
        await pilot.pause()
        assert app.screen.query_one("#drop-ok", Button).disabled  # nothing typed yet
        await pilot.press(*"vendor has its own locking", "enter")
        await settle(pilot)
        assert backend.calls == [("drop", "drivers/md/dm-snap.c#1", "vendor has its own locking")]
        # the reason shows afterwards
        await pilot.press("K")
        await settle(pilot)
        header = str(resolve_screen(pilot).query_one("#hunk-header").render())
        assert "dropped" in header and "vendor has its own locking" in header


@asynctest
async def test_drop_with_a_listed_reason() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        await pilot.click("#drop-ok")
        await settle(pilot)
    assert backend.calls == [
        ("drop", "drivers/md/dm-snap.c#1", "not needed for this configuration")
    ]


@asynctest
async def test_inline_edit_keeps_the_evidence_in_view_and_saves() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        await pilot.press("e")
        await pilot.pause()
        editor = screen.query_one(InlineEditor)
        view = screen.query_one(PaneView)
        assert editor.display and editor.has_focus
        assert view.display and view.visible_panes == [0, 1]  # upstream and vendor stay
        assert "<<<<<<< vendor" in editor.text
        editor.text = "\treturn dm_snapshot_setup(s);\n"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not editor.display
        assert view.visible_panes == [0, 1, 2]
    assert backend.calls == [("edit", "drivers/md/dm-snap.c#1", "\treturn dm_snapshot_setup(s);\n")]


@asynctest
async def test_inline_edit_refuses_leftover_markers_and_escape_cancels() -> None:
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the proposal as it is: markers and all
        await settle(pilot)
        assert "Conflict markers are left" in notices(app)[-1]
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.press("e")
        await pilot.pause()
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
async def test_help_lists_every_key() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {
            key.strip()
            for _, rows in help_screen.sections
            for keys, _ in rows
            for key in keys.split(",")
        }
        wanted = {"a", "t", "d", "e", "E", "u", "1", "2", "3", "4", "A", "n", "p", "[", "]"}
        wanted |= {"J", "K", "v", "+", "-", "{", "f", "s", "r", "?", "q"}
        wanted |= {"h", "j", "k", "l", "PgUp", "PgDn", "g", "G", "ctrl+s", "Esc"}
        wanted |= {"c", "C", "i", "y", "n"}  # confirm / acknowledge (and its dialog), inputs
        assert wanted <= listed, wanted - listed
        rows = {keys: text for _, section in help_screen.sections for keys, text in section}
        assert "reused" in rows["c"] and "warning" in rows["c"]
        assert "never a warning" in rows["C"]
        assert "SHA-256" in rows["i"]
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
        assert "at the shell: finish or abort" in shown
        await pilot.press("q")
    assert app.return_code == SessionError.exit_code


@asynctest
async def test_quit_returns_attention_while_hunks_are_open() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 1


@pytest.mark.parametrize("size", [(80, 24), (160, 45), (220, 60)])
@asynctest
async def test_the_change_is_in_view_at_every_size(size: tuple[int, int]) -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        view = screen.query_one(PaneView)
        assert screen.current is not None
        first_block = screen.current.stops[0]
        assert view.top_row <= first_block < view.top_row + view.band_height()
        if size[0] < 100:
            assert view.stacked  # panes one band under another
            assert screen.query_one("#sidebar").has_class("hidden")  # s shows the list
        else:
            assert not screen.query_one("#sidebar").has_class("hidden")
        await pilot.press("pagedown", "pageup")
        view.focus()
        await pilot.press("l")
        assert view.scroll_x > 0  # long lines scroll sideways
        await pilot.press("h")
        assert view.scroll_x == 0


LONG_TITLE = "patch-6.1.999 onto /srv/build/" + "very-long-vendor-tree-name/" * 4 + "linux"


def line(widget: Widget, y: int = 0) -> str:
    """The text a widget draws on its line ``y``."""
    return widget.render_line(y).text


@pytest.mark.parametrize("size", [(100, 30), (120, 36), (160, 45), (220, 60)])
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
        assert line(progress).rstrip().startswith("1 of 2 open · 1 of 3 resolved")
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

        # The pane titles sit over their panes: the separators are in the same columns.
        view = screen.query_one(PaneView)
        titles, first_row = line(view, 0), line(view, 1)
        if not view.stacked or view.grid[0] > 1:
            assert titles.index("│") == first_row.index("│")
        assert titles.strip().startswith("upstream: pre → post")


@asynctest
async def test_no_color_uses_the_plain_palette(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        assert resolve_screen(pilot).palette is PLAIN


@asynctest
async def test_the_header_names_who_without_the_email_address() -> None:
    backend = FakeBackend()
    hunks = tuple(
        replace(hunk, resolved_by="Alice Smith <alice@example.org>") if hunk.resolution else hunk
        for hunk in backend.session.hunks
    )
    backend.session = replace(backend.session, hunks=hunks)
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("J", "J")
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == "drivers/md/Makefile#1"
        header = str(screen.query_one("#hunk-header").render())
        assert "by Alice Smith" in header
        assert "alice@example.org" not in header
        assert screen.current is not None
        assert "alice@example.org" not in " ".join(screen.current.titles)


@asynctest
async def test_an_unchanged_external_edit_does_not_suggest_a_refused_accept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib
    from collections.abc import Iterator

    from patchsmith_tui.app import PatchsmithApp

    @contextlib.contextmanager
    def no_suspend(self: PatchsmithApp) -> Iterator[None]:
        yield

    monkeypatch.setattr(PatchsmithApp, "suspend", no_suspend)
    monkeypatch.setenv("EDITOR", "true")  # leaves the file as it is
    monkeypatch.delenv("VISUAL", raising=False)
    backend = FakeBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("E")  # the conflict: a would be refused
        await settle(pilot)
        said = notices(app)[-1]
        assert said.startswith("Unchanged: nothing saved.")
        assert "a accepts" not in said and "1-4" in said
        await pilot.press("n", "E")  # the fuzz hunk: its proposal can be accepted
        await settle(pilot)
        assert "a accepts the proposal" in notices(app)[-1]
    assert backend.calls == [
        ("prepare_file_edit", "drivers/md/dm-snap.c#1"),
        ("prepare_file_edit", "drivers/md/dm-snap.c#2"),
    ]


@asynctest
async def test_a_base_pane_when_the_session_has_a_base() -> None:
    backend = FakeBackend()
    backend.session = replace(backend.session, has_base=True)
    app = make_app(backend=backend)
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot)
        view = resolve_screen(pilot).current
        assert view is not None
        assert view.panes == 4
        assert view.titles[0] == "base: vanilla line 200"
        assert resolve_screen(pilot).query_one(PaneView).grid == (4, 1)


@asynctest
async def test_the_function_line_stays_pinned_when_scrolled_past() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=(120, 16)) as pilot:
        await settle(pilot)
        await pilot.press("v", "plus", "plus", "plus")
        await drawn(pilot)
        screen = resolve_screen(pilot)
        view = screen.query_one(PaneView)
        evidence = screen.evidence["drivers/md/dm-snap.c#1"]
        rows = screen.current.rows  # type: ignore[union-attr]
        definition = next(
            n for n, row in enumerate(rows) if row.cells[0].number == evidence.function_line
        )
        view.scroll_to(y=definition + 4, animate=False, immediate=True)
        await pilot.pause()
        assert evidence.function_text in line(view, 1)  # the first row line: the pinned one
        assert evidence.function_text not in line(view, 2)


@pytest.mark.parametrize(
    ("editor", "expected"),
    [
        ("vi", ["vi", "+57", "/w/dm-snap.c"]),
        ("emacs -nw", ["emacs", "-nw", "+57", "/w/dm-snap.c"]),
        ("code -w", ["code", "-w", "--goto", "/w/dm-snap.c:57"]),
        ("/usr/bin/subl -w", ["/usr/bin/subl", "-w", "/w/dm-snap.c:57"]),
    ],
)
def test_the_editor_opens_at_the_region(editor: str, expected: list[str]) -> None:
    from pathlib import Path

    from patchsmith_tui.screens.resolve import editor_command

    assert editor_command(editor, Path("/w/dm-snap.c"), 57) == expected


def test_no_key_does_two_things_on_the_resolve_screen() -> None:
    # the screen's keys and those of the widgets that have focus on it (a key bound twice
    # would do whichever the focused widget wants, not what ? says)
    owners: dict[str, str] = {}
    for owner in (ResolveScreen, PaneView, HunkList):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            for key in binding.key.split(","):
                action = f"{owner.__name__}.{binding.action}"
                earlier = owners.setdefault(key.strip(), action)
                if earlier != action:
                    # j/k, Home/End, PgUp/PgDn move whichever has focus, the same way: that
                    # is one meaning
                    assert any({earlier, action} <= same for same in SAME_MOVES), key


SAME_MOVES = (
    {"PaneView.scroll_up", "HunkList.cursor_up"},
    {"PaneView.scroll_down", "HunkList.cursor_down"},
    {"PaneView.scroll_home", "HunkList.first"},
    {"PaneView.scroll_end", "HunkList.last"},
    {"PaneView.page_up", "HunkList.page_up"},
    {"PaneView.page_down", "HunkList.page_down"},
)
"""Pairs of bindings that are one move: up, down, first, last, a page, in the panes or the
list (whichever has the focus)."""

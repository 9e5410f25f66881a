"""Every key the TUI acts on is on the ``?`` screen, the README's key table lists exactly the
keys the ``?`` screen lists, and quitting from anywhere gives ``q``'s exit code.

The help screen is built from the bindings, but a key Textual binds by itself (Tab, Enter on the
list, ctrl+q) or one a widget inherits (the list's Home and End) is in no binding of ours; the
first test asks Textual which keys are live, with the focus on the list and on the panes, so a
new inherited key shows up here instead of staying undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.model import warning_entry
from patchsmith_tui.screens.dialogs import AckDialog
from patchsmith_tui.screens.error import ErrorScreen
from patchsmith_tui.screens.help import HelpScreen, key_name
from patchsmith_tui.screens.resolve import help_sections
from patchsmith_tui.widgets.hunk_list import HunkList
from patchsmith_tui.widgets.panes import PaneView
from textual.widget import Widget

from patchsmith.errors import SessionError
from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.sample import FakeBackend, warning_session

README = Path(__file__).resolve().parents[2] / "README.md"
SIZE = (120, 36)

NOT_LISTED = {
    "super+c": "copies selected text (a terminal's own habit; the panes select nothing)",
}
"""Live keys the help leaves out, and why."""


def listed_keys() -> set[str]:
    """Every key the ``?`` screen names, as it names them."""
    return {
        key.strip()
        for _, rows in help_sections()
        for keys, _ in rows
        for key in keys.split(",")
        if key.strip()
    }


def readme_keys() -> set[str]:
    """The keys in the first column of the README's key table (the table after "The keys")."""
    text = README.read_text(encoding="utf-8")
    start = text.index("The keys, as `?` lists them")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    assert len(rows) > 10, "the README's key table was not found"
    keys: set[str] = set()
    for row in rows[2:]:  # the header and its rule
        first = row.split("|")[1]
        keys |= set(re.findall(r"`([^`]+)`", first))
    return keys


def test_the_readme_key_table_lists_exactly_the_help_screens_keys() -> None:
    readme, listed = readme_keys(), listed_keys()
    assert readme - listed == set(), "in the README but bound to nothing"
    assert listed - readme == set(), "bound but missing from the README's table"


@pytest.mark.parametrize("focus", [HunkList, PaneView])
@asynctest
async def test_every_live_key_is_on_the_help_screen(focus: type[Widget]) -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        resolve_screen(pilot).query_one(focus).focus()
        await pilot.pause()
        assert isinstance(app.focused, focus)
        live = {key_name(key) for key in app.active_bindings}
        assert len(live) > 30  # the screen's keys are live too, not only the widget's
        missing = live - listed_keys() - set(NOT_LISTED)
        assert missing == set(), "live keys the ? screen does not name"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.sections == help_sections()


@asynctest
async def test_ctrl_c_quits_with_qs_exit_code_even_from_a_dialog() -> None:
    app = make_app(backend=FakeBackend(warning_session()))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert not screen.session.ready
        await pilot.press("f")  # open: the gate's list, the warning among it
        await settle(pilot)
        for _ in range(6):
            if screen.selected == warning_entry(1):
                break
            await pilot.press("n")
            await settle(pilot)
        assert screen.selected == warning_entry(1)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, AckDialog)
        await pilot.press("ctrl+c")
    # Not 0: 0 says nothing is left to do.
    assert app.return_code == 1


@asynctest
async def test_ctrl_q_on_the_error_screen_keeps_the_errors_exit_code() -> None:
    error = SessionError("the session file is damaged", hint="abort it and apply again")
    app = make_app(backend=FakeBackend(error=error))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == SessionError.exit_code


@asynctest
async def test_ctrl_pagedown_pages_the_panes_sideways_further_than_l() -> None:
    app = make_app(backend=FakeBackend())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = resolve_screen(pilot).query_one(PaneView)
        view.focus()
        await pilot.press("l")
        step = view.scroll_x
        assert step > 0
        await pilot.press("h", "ctrl+pagedown")
        assert view.scroll_x > step
        await pilot.press("ctrl+pageup")
        assert view.scroll_x == 0

"""The ``?`` screen: every key binding of the resolve screen, with what it does.

Built from the bindings themselves, so it cannot drift from them. Depends on Textual only.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Resolve each open hunk: accept the proposal, take upstream's version, drop it (keep the "
    "vendor's code, with a reason) or edit the result. Every action is saved to the session at "
    "once, so `patchsmith status` in another terminal sees it; changes made there show up here."
)

VIEWS = (
    "drift view: upstream's pre-image (left) against the vendor's code at the best candidate "
    "location (right).\nmerge view: upstream's post-image (left) against the proposal (right), "
    "or once the hunk is resolved, what the worktree now holds; conflict blocks are marked ! in "
    "the gutter.\nGutter markers: ~ changed, - left only, "
    "+ right only, ! conflict."
)


class HelpScreen(ModalScreen[None]):
    """A table of key bindings; any of escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help-close"),
    ]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold")
        table.add_column()
        for keys, description in self.bindings:
            table.add_row(keys, description)
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static("patchsmith resolve: keys", classes="title")
            yield Static(INTRO, classes="help-text")
            yield Static(table)
            yield Static(VIEWS, classes="help-text")
            yield Static("escape, q or ? closes this screen.", classes="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)


def describe(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, description) pairs for the help table, keys shown the way the footer shows them."""
    names = {"question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]"}
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        keys = ", ".join(names.get(key.strip(), key.strip()) for key in binding.key.split(","))
        rows.append((keys, binding.tooltip or binding.description))
    return rows

"""The ``?`` screen: every key of every part of the resolve screen, with what it does.

Built from the bindings themselves (the screen's, the panes', the list's, the inline editor's
and the drop dialog's), so it cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "The list is what the build gate waits for: open hunks, and the gate's other items "
    "(selection warnings, .rej files left, conflict markers, uncommitted edits); 'ready to "
    "build' means the gate's own list is empty. Resolve each open hunk: accept the proposal, "
    "pick a side per conflict block, take upstream's version, drop it (keep the vendor's "
    "code, with a reason) or edit the result. Read each selection warning and acknowledge it "
    "with c. Every decision is a commit on the session's branch (picks not yet resolving a "
    "hunk are a draft, kept on disk at each pick), so `patchsmith status` in another terminal "
    "sees it; changes made there show up here."
)

VIEWS = (
    "merge view: upstream's change (pre -> post, vanilla line numbers), the vendor's region "
    "(vendor tree line numbers), and the proposal, draft or result (worktree line numbers, "
    "labelled so); with --base, the merge base first. Words that differ are highlighted; "
    "unchanged rows are dimmed.\n"
    "file view: the vendor's file around the region with the change in place, the function's "
    "first line pinned; + and - widen and narrow the context up to the whole file.\n"
    "reject view: the .rej text apply wrote for the hunk.\n"
    "Gutter markers: - removed, + added, ~ changed, ! conflict block, ⋯ folded lines; "
    "› and ‹ mark a line cut at the pane's edge (h and l scroll sideways)."
)

_NAMES = {
    "question_mark": "?",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "home": "Home",
    "end": "End",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "shift+tab": "shift+Tab",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "left_curly_bracket": "{",
    "plus": "+",
    "minus": "-",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "ctrl+pageup": "ctrl+PgUp",
    "ctrl+pagedown": "ctrl+PgDn",
    "escape": "Esc",
}


class HelpScreen(ModalScreen[None]):
    """Tables of key bindings, one per part of the screen; escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help-close"),
    ]

    def __init__(self, sections: Sequence[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static("patchsmith resolve: keys", classes="title")
            yield Static(INTRO, classes="help-text")
            for name, rows in self.sections:
                table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
                table.add_column(style="bold", min_width=14)
                table.add_column()
                for keys, description in rows:
                    table.add_row(keys, description)
                yield Static(name, classes="help-section")
                yield Static(table)
            yield Static(VIEWS, classes="help-text")
            yield Static("escape, q or ? closes this screen.", classes="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)


def key_name(key: str) -> str:
    """A key as the help screen (and the README's key table) shows it: ``?`` for
    ``question_mark``, ``PgUp`` for ``pageup``, letters as they are."""
    return _NAMES.get(key.strip(), key.strip())


def describe(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, description) pairs for a help table, keys shown the way a person types them."""
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        keys = ", ".join(key_name(key) for key in binding.key.split(","))
        rows.append((keys, binding.tooltip or binding.description))
    return rows

"""The screen shown instead of a crash when there is nothing to resolve or it cannot be read.

It shows the library's message and what to do about it (:func:`patchsmith_tui.advice.explain`:
nothing here can fix a missing or damaged session, so the hint is labelled as what to do at the
shell) and quits with the error's exit code.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from patchsmith.errors import PatchsmithError

from ..advice import explain


class ErrorScreen(Screen[None]):
    """A message, a hint and a way out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape,enter", "leave", "Quit", id="error-quit"),
    ]

    def __init__(self, error: PatchsmithError, title: str = "patchsmith cannot resolve") -> None:
        super().__init__()
        self.error = error
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="dialog"):
            yield Static(self.heading, classes="title")
            yield Static(explain(self.error), id="error-details", markup=False)
            yield Static("Press q to quit.", classes="help-hint")
        yield Footer()

    def action_leave(self) -> None:
        self.app.exit(return_code=self.exit_code())

    def exit_code(self) -> int:
        """The error's own exit code (2 for bad input, ...): leaving does not make it a 0."""
        return self.error.exit_code

"""Modal dialogs: the reason for a drop, and the inline editor for a hunk's result.

Each returns its answer through ``dismiss`` (None when cancelled); the resolve screen passes the
answer to the library. Depends on Textual only.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

DEFAULT_DROP_REASON = "already applied by vendor"


class DropDialog(ModalScreen[str | None]):
    """Ask why a hunk is dropped; an empty reason is not accepted (the library requires one)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="drop-cancel"),
    ]

    def __init__(self, hunk_id: str) -> None:
        super().__init__()
        self.hunk_id = hunk_id

    def compose(self) -> ComposeResult:
        with Vertical(id="drop-dialog", classes="dialog"):
            yield Label(f"Drop {self.hunk_id}: keep the vendor's code. Why?", classes="title")
            yield Input(
                value=DEFAULT_DROP_REASON, placeholder="reason (required)", id="drop-reason"
            )
            with Horizontal(classes="buttons"):
                yield Button("Drop", variant="error", id="drop-ok")
                yield Button("Cancel", id="drop-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "drop-ok":
            self._submit(self.query_one("#drop-reason", Input).value)
        else:
            self.dismiss(None)

    def _submit(self, value: str) -> None:
        reason = value.strip()
        if not reason:
            self.notify("A drop needs a reason.", severity="warning")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _indent_type(text: str) -> Literal["tabs", "spaces"]:
    """Tabs unless the text indents with spaces and never with a tab."""
    lines = text.splitlines()
    if any(line.startswith("\t") for line in lines):
        return "tabs"
    if any(line.startswith("    ") for line in lines):
        return "spaces"
    return "tabs"


class EditScreen(ModalScreen[str | None]):
    """Edit a hunk's result inline; ``ctrl+s`` saves it as an ``edited`` resolution."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="edit-save"),
        Binding("escape", "cancel", "Cancel", id="edit-cancel"),
    ]

    def __init__(self, hunk_id: str, text: str, language: str | None = None) -> None:
        super().__init__()
        self.hunk_id = hunk_id
        self.text = text
        self.language = language

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-dialog", classes="dialog"):
            yield Label(
                f"Edit the result of {self.hunk_id}  (ctrl+s save · escape cancel)",
                classes="title",
            )
            area = TextArea(
                self.text,
                language=self.language,
                show_line_numbers=True,
                tab_behavior="indent",
                id="edit-text",
            )
            # Tab inserts what the file uses: kernel C and Makefiles indent with tabs, and a
            # resolution typed with spaces would be a whitespace change nobody asked for.
            area.indent_type = _indent_type(self.text)
            yield area

    def action_save(self) -> None:
        self.dismiss(self.query_one("#edit-text", TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)

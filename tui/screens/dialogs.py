"""The drop dialog: why a hunk is dropped, chosen on purpose, never pre-filled.

A drop keeps the vendor's code, and its reason lands in the commit and the report, so the
dialog offers reasons to pick and one to type, selects none of them, and will not drop until one
is chosen (and, for "other", typed). It returns the reason through ``dismiss`` (None when
cancelled); the resolve screen passes it to the library. Depends on Textual only.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

DROP_REASONS = (
    "already in the vendor tree",
    "not needed for this configuration",
    "superseded by the vendor's change",
)
"""The reasons offered; a fourth choice lets a person type their own."""

OTHER = "other"


class DropDialog(ModalScreen[str | None]):
    """Ask why a hunk is dropped; nothing is chosen until a person chooses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="drop-cancel", tooltip="Close without dropping"),
        Binding("1", "choose(0)", show=False, tooltip="Already in the vendor tree"),
        Binding("2", "choose(1)", show=False, tooltip="Not needed for this configuration"),
        Binding("3", "choose(2)", show=False, tooltip="Superseded by the vendor's change"),
        Binding("4", "choose(3)", show=False, tooltip="Other: type the reason"),
    ]

    def __init__(self, hunk_id: str) -> None:
        super().__init__()
        self.hunk_id = hunk_id

    def compose(self) -> ComposeResult:
        with Vertical(id="drop-dialog", classes="dialog"):
            yield Label(
                f"Drop {self.hunk_id}: keep the vendor's code. Why? (required)", classes="title"
            )
            with RadioSet(id="drop-choices"):
                for number, reason in enumerate(DROP_REASONS, start=1):
                    yield RadioButton(f"{number}  {reason}", id=f"drop-choice-{number}")
                yield RadioButton("4  other: type it below", id="drop-choice-4")
            yield Input(placeholder="the reason, in a few words", id="drop-reason", disabled=True)
            with Horizontal(classes="buttons"):
                yield Button("Drop", variant="error", id="drop-ok", disabled=True)
                yield Button("Cancel", id="drop-cancel")

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    @property
    def choice(self) -> int | None:
        """The chosen reason's index (3 is "other"), or None."""
        index = self.query_one(RadioSet).pressed_index
        return None if index < 0 else index

    def reason(self) -> str | None:
        """The reason as it will be recorded, or None while the choice is incomplete."""
        choice = self.choice
        if choice is None:
            return None
        if choice < len(DROP_REASONS):
            return DROP_REASONS[choice]
        typed = self.query_one("#drop-reason", Input).value.strip()
        return typed or None

    def _refresh(self) -> None:
        other = self.choice == len(DROP_REASONS)
        field = self.query_one("#drop-reason", Input)
        field.disabled = not other
        if other:
            field.focus()
        self.query_one("#drop-ok", Button).disabled = self.reason() is None

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._refresh()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#drop-ok", Button).disabled = self.reason() is None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "drop-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_choose(self, index: int) -> None:
        if self.focused is self.query_one("#drop-reason", Input):
            return
        buttons = list(self.query(RadioButton))
        buttons[index].value = True

    def _submit(self) -> None:
        reason = self.reason()
        if reason is None:
            self.notify("Choose a reason (1-4) before dropping.", severity="warning")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


def indent_type(text: str) -> Literal["tabs", "spaces"]:
    """Tabs unless the text indents with spaces and never with a tab."""
    lines = text.splitlines()
    if any(line.startswith("\t") for line in lines):
        return "tabs"
    if any(line.startswith("    ") for line in lines):
        return "spaces"
    return "tabs"

"""The resolve screen's dialogs: why a hunk is dropped, and whether a warning was read.

A drop keeps the vendor's code, and its reason lands in the commit and the report, so the
drop dialog offers reasons to pick and one to type, selects none of them, and will not drop
until one is chosen (and, for "other", typed). It returns the reason through ``dismiss`` (None
when cancelled); the resolve screen passes it to the library.

Acknowledging a selection warning opens the build gate for a module that may not compile, so
the acknowledge dialog shows the evidence again and acknowledges only on ``y`` (or its button);
Enter and Escape cancel.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ..model import WarningView

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
                f"Drop {self.hunk_id}: keep the vendor's code. Why? (required)",
                classes="title",
                markup=False,
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


class AckDialog(ModalScreen[bool]):
    """Ask before acknowledging a selection warning; nothing is acknowledged by default."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "acknowledge", "Acknowledge", id="ack-yes", tooltip="Acknowledge it"),
        Binding(
            "n,escape", "cancel", "Cancel", id="ack-no", tooltip="Close, acknowledging nothing"
        ),
    ]

    def __init__(self, warning: WarningView) -> None:
        super().__init__()
        self.warning = warning

    def compose(self) -> ComposeResult:
        warning = self.warning
        with VerticalScroll(id="ack-dialog", classes="dialog"):
            yield Label(
                f"Acknowledge selection warning [{warning.number}]?", classes="title", markup=False
            )
            yield Static(warning.message, classes="ack-message", markup=False)
            if warning.kept_line:
                yield Static(
                    f"kept, {warning.path} hunk #{warning.hunk}:", classes="ack-label", markup=False
                )
                yield Static(warning.kept_line.expandtabs(8), classes="ack-line", markup=False)
            if warning.other_line:
                yield Static(f"left out, {warning.other_path}:", classes="ack-label", markup=False)
                yield Static(warning.other_line.expandtabs(8), classes="ack-line", markup=False)
            yield Static(
                "Acknowledging says you read it and build the kept code without the left-out "
                "change. It stops keeping the build gate closed; status and the report name "
                "you.",
                classes="ack-note",
            )
            with Horizontal(classes="buttons"):
                yield Button("Acknowledge (y)", variant="warning", id="ack-yes", compact=True)
                yield Button("Cancel (n, esc)", id="ack-no", compact=True)

    def on_mount(self) -> None:
        # Enter presses the focused button: let that be the one that changes nothing.
        self.query_one("#ack-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "ack-yes")

    def action_acknowledge(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

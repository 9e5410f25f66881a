"""The ``i`` screen: what decided the session, as ``apply`` recorded it.

A reviewer deciding hunks wants to know which patch (and its SHA-256, to check it is the
published one), which tree and base, which ``.config`` (and its SHA-256: the file may have
changed since) and which selection rules chose them, and what the selection left out and why:
the same record the report's "Inputs" and the carried patch's description come from. Sessions
made before that record existed show what they kept (the patch and the one-line selection), and
say so.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..model import SessionInfo

LEFT_OUT_SHOWN = 200
"""At most this many left-out files are listed (a kernel update leaves out thousands)."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def info_table(info: SessionInfo) -> Table:
    """The inputs, one row each: what, and the value."""
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for number, patch in enumerate(info.patches):
        label = "patch" if len(info.patches) == 1 else f"patch {number + 1}"
        compression = f", {patch.compression}" if patch.compression else ""
        table.add_row(
            label, Text.assemble(patch.name, (f"  {patch.size:,} bytes{compression}", "dim"))
        )
        # The digest on a row of its own: 64 characters fit beside the labels at 80 columns.
        table.add_row(Text("  sha256", style="dim"), patch.sha256)
    kind = "a git repository" if info.tree_kind == "git" else "a plain directory"
    table.add_row("tree", Text.assemble(info.tree, (f"  ({kind}; only read)", "dim")))
    table.add_row(
        "base",
        info.base if info.base else Text("none: proposals are hunk-local merges", style="dim"),
    )
    if info.config:
        table.add_row("config", info.config)
        table.add_row(
            Text("  sha256", style="dim"),
            info.config_sha256 or Text("the file could not be read when apply ran", "italic"),
        )
    else:
        table.add_row("config", Text("none (no Kbuild class rule)", style="dim"))
    rules = " ".join(info.rules) if info.rules else "everything (no selection options)"
    options = f"-p{info.strip}, fuzz {info.fuzz}"
    if info.accept_fuzz:
        options += ", --accept-fuzz"
    if info.merge:
        options += ", --merge"
    selection = Text.assemble(rules, "\n", (options, "dim"))
    if not info.recorded:
        selection.append(
            "\nas this session's patchsmith kept it (one line; the per-file record came later)",
            style="italic",
        )
    table.add_row("selection", selection)
    table.add_row("worktree", Text.assemble(info.worktree, (f"  branch {info.branch}", "dim")))
    table.add_row("applied", info.created)
    if info.recorded:
        table.add_row(
            "kept",
            f"{_plural(info.files_kept, 'file')}, {info.hunks_kept} of "
            f"{_plural(info.hunks_total, 'hunk')}",
        )
        table.add_row("left out", _plural(info.files_left_out, "file"))
    if info.warnings:
        table.add_row(
            "warnings",
            f"{_plural(info.warnings, 'selection warning')}, {info.warnings_open} not acknowledged",
        )
    return table


def left_out_text(info: SessionInfo) -> Text:
    """The files the selection left out (the first :data:`LEFT_OUT_SHOWN`), each on a line of
    its own with why below it: a path is never folded in the middle."""
    text = Text()
    for path, why in info.left_out[:LEFT_OUT_SHOWN]:
        text.append(f"{path}\n")
        text.append(f"    {why}\n", style="dim")
    hidden = len(info.left_out) - LEFT_OUT_SHOWN
    if hidden > 0:
        text.append(f"... and {hidden} more (the report lists them all)\n", style="italic")
    text.rstrip()
    return text


class InfoScreen(ModalScreen[None]):
    """The session's recorded inputs; escape, q or i closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,i", "close", "Close", id="info-close", tooltip="Close this screen"),
    ]

    def __init__(self, info: SessionInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="info-dialog", classes="dialog"):
            yield Static("What decided this session (as apply recorded it)", classes="title")
            yield Static(info_table(self.info), id="info-inputs")
            if self.info.left_out:
                yield Static("Left out by the selection", classes="help-section")
                yield Static(left_out_text(self.info), id="info-left-out")
            yield Static("escape, q or i closes this screen.", classes="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)

"""The hunk list: one entry per hunk with its status badge and resolution, and one per other
item of the build gate's list (a selection warning, a ``.rej`` file left...).

An ``OptionList`` (a Line-API widget) so a session of hundreds of hunks opens at once; each entry
is two lines: the hunk id (or what the item is about), then the status badge (docs/DESIGN.md,
"Status vocabulary", or the item's kind) and what was decided. Selecting an entry is reported
by ``OptionList.OptionHighlighted``; the screen reacts to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from patchsmith.model import HunkStatus
from patchsmith.quoting import quote_name

from ..model import HunkView, ItemView

BADGE_STYLES: dict[HunkStatus, Style] = {
    HunkStatus.CLEAN: Style(color="#98c379"),
    HunkStatus.OFFSET: Style(color="#98c379"),
    HunkStatus.WHITESPACE: Style(color="#e5c07b"),
    HunkStatus.FUZZ: Style(color="#e5c07b", bold=True),
    HunkStatus.ALREADY_APPLIED: Style(color="#61afef"),
    HunkStatus.PARTIALLY_APPLIED: Style(color="#d19a66", bold=True),
    HunkStatus.CONFLICT: Style(color="#e06c75", bold=True),
    HunkStatus.MISSING_FILE: Style(color="#e06c75"),
    HunkStatus.FILE_EXISTS: Style(color="#e06c75"),
    HunkStatus.EXCLUDED: Style(color="#7f848e"),
}
"""Badge colours; the badge text is always the status name, so NO_COLOR loses nothing."""


def badge(hunk: HunkView) -> Text:
    """The status badge, with ``review`` when a located hunk still needs a person."""
    text = Text(f"[{hunk.status.value}]", style=BADGE_STYLES[hunk.status])
    if hunk.needs_review and hunk.status is not HunkStatus.CONFLICT:
        text.append(" review", style=Style(color="#e5c07b", italic=True))
    return text


def decision(hunk: HunkView) -> Text:
    """What happened to the hunk: ``✓ accepted``, ``● open`` or nothing."""
    if hunk.to_confirm:
        return Text(f"? {hunk.resolution} (reused: confirm)", style=Style(color="#e5c07b"))
    if hunk.to_review:
        return Text("? written by --accept-fuzz (review: c)", style=Style(color="#e5c07b"))
    if hunk.resolution is not None:
        label = f"✓ {hunk.resolution.value}" + (" (reused)" if hunk.reused else "")
        return Text(label, style=Style(color="#98c379"))
    if hunk.is_open:
        return Text("● open", style=Style(color="#e06c75", bold=True))
    return Text("")


ITEM_BADGES: dict[str, str] = {
    "warning": "selection warning",
    "reject": ".rej left",
    "marker": "conflict marker",
    "uncommitted": "uncommitted edit",
    "link": "symlink out of the worktree",
    "interrupted": "apply interrupted",
}
"""The badge of each kind of item that is not a hunk (an unknown kind shows its own name)."""

ITEM_STYLE = Style(color="#d19a66", bold=True)


def item_title(item: ItemView) -> str:
    """The first line of an item's entry: what it is about."""
    if item.warning is not None:
        return f"[{item.warning.number}] {quote_name(item.path)}"
    return quote_name(item.path)


def item_badge(item: ItemView) -> Text:
    """The item's kind, as a badge."""
    return Text(f"[{ITEM_BADGES.get(item.kind, item.kind)}]", style=ITEM_STYLE)


def item_state(item: ItemView) -> Text:
    """``● open`` or ``✓ acknowledged``."""
    if item.is_open:
        return Text("● open", style=Style(color="#e06c75", bold=True))
    return Text("✓ acknowledged", style=Style(color="#98c379"))


def prompt(entry: HunkView | ItemView) -> Text:
    """The two-line list entry of a hunk or another item."""
    if isinstance(entry, ItemView):
        text = Text(item_title(entry), no_wrap=True, overflow="ellipsis")
        text.append("\n  ")
        text.append_text(item_badge(entry))
        text.append(" ")
        text.append_text(item_state(entry))
        return text
    hunk = entry
    # Quoted as git status quotes names: a raw byte and the same characters typed never alike.
    text = Text(quote_name(hunk.hunk_id), no_wrap=True, overflow="ellipsis")
    text.append("\n  ")
    text.append_text(badge(hunk))
    status = decision(hunk)
    if status:
        text.append(" ")
        text.append_text(status)
    return text


class HunkList(OptionList):
    """The list of hunks under the current filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Next entry"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Previous entry"),
        # OptionList's own keys, bound again here so that the help screen (built from these
        # bindings) lists them.
        Binding("home", "first", "First", show=False, tooltip="First entry"),
        Binding("end", "last", "Last", show=False, tooltip="Last entry"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="A page of entries up"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="A page down"),
        Binding("enter", "select", "Panes", show=False, tooltip="Go to the panes (Tab too)"),
    ]

    def show(self, entries: Sequence[HunkView | ItemView], selected: str | None) -> None:
        """Replace the entries, keeping ``selected`` highlighted if it is still listed."""
        self.set_options(Option(prompt(entry), id=entry_id(entry)) for entry in entries)
        if not entries:
            return
        ids = [entry_id(entry) for entry in entries]
        self.highlighted = ids.index(selected) if selected in ids else 0

    @property
    def selected_id(self) -> str | None:
        """The id of the highlighted hunk, if any."""
        option = self.highlighted_option
        return option.id if option is not None else None


def entry_id(entry: HunkView | ItemView) -> str:
    """The list id of a hunk (its id) or another item."""
    return entry.entry_id if isinstance(entry, ItemView) else entry.hunk_id

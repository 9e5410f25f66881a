"""The view-model of the TUI: plain frozen data of what a screen shows, and the backend protocol.

Screens and widgets render :class:`SessionView` and :class:`HunkView` and never see the library's
own types, so the library's session format can change without touching a widget, and tests can
drive a screen from a few literal values. :mod:`patchsmith_tui.backend` adapts the library's
``SessionStore`` to :class:`SessionBackend`; every action a person takes goes through it.

What is open is never worked out here: :attr:`SessionView.gate` is the build gate's own list
(``SessionStore.open_items``, what ``build``, ``finish``, ``status`` and the report use), and the
TUI is "ready to build" exactly when that list is empty. The hunk list shows each of its items:
hunks, and the rest (selection warnings, ``.rej`` files left, conflict markers, uncommitted
edits) as :class:`ItemView` entries.

It never imports Textual (a contract in ``pyproject.toml``), so it is importable
and testable without a terminal.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from patchsmith.model import HunkStatus, Resolution


@dataclass(frozen=True)
class HunkView:
    """One hunk as the TUI shows it: list row, header line and the texts of both views."""

    hunk_id: str
    """Stable id, ``path#n`` (the same id ``patchsmith resolve HUNK`` takes)."""
    path: str
    """Path in the tree: picks the syntax highlighter and groups the list."""
    status: HunkStatus
    """The predicted status (docs/DESIGN.md, "Status vocabulary"), shown as a badge."""
    needs_review: bool
    """True when a person must decide even though the hunk has a place (fuzz, far offset…)."""
    is_open: bool
    """True while the build gate counts this hunk as unresolved."""
    reason: str
    """Why ``check`` gave this status, shown in the header line."""
    expected_line: int
    """Where upstream's hunk header says the hunk goes (1-based)."""
    found_line: int | None
    """Where the best candidate region starts in the vendor file, if anywhere."""
    upstream_pre: str
    """Upstream's pre-image: what the hunk expects to find."""
    upstream_post: str
    """Upstream's post-image: what the hunk leaves behind on a vanilla tree."""
    vendor_region: str
    """The vendor's lines at the best candidate location (empty when there is none)."""
    proposal: str
    """The proposed result for the region, with conflict markers where the merge was ambiguous."""
    proposal_line: int | None = None
    """Where the proposal's region starts in the worktree file (defaults to ``found_line``)."""
    resolution: Resolution | None = None
    """How the hunk was settled, if it was."""
    resolved_by: str = ""
    """Who settled it (user name), for the header line."""
    resolved_at: str = ""
    """When it was settled (ISO 8601), for the header line."""
    reused: bool = False
    """True when the resolution came from resolution memory (a previous run)."""
    to_confirm: bool = False
    """A reused resolution no person has confirmed yet (it keeps the gate closed)."""
    to_review: bool = False
    """Written by ``apply --accept-fuzz`` (fuzz, whitespace, a review flag) and not yet
    confirmed by a person: where it went is unproven, so it keeps the gate closed."""
    memory_note: str = ""
    """What resolution memory said about the hunk: where a reused decision came from, or a
    suggestion it did not replay."""
    drop_reason: str = ""
    """The reason given when the hunk was dropped."""
    result: str | None = None
    """What the worktree holds for the hunk now that it is resolved (the edit, the proposal,
    upstream's lines, or the vendor's code kept by a drop); ``None`` while unresolved. The merge
    view shows this instead of the proposal, so a resolved hunk never shows stale markers."""
    result_line: int | None = None
    """Where :attr:`result` starts in the worktree file (defaults to ``proposal_line``)."""
    upstream_hunk: str = ""
    """Upstream's hunk as in the patch (``@@`` line and body): the upstream pane shows it."""
    applied: bool = False
    """Written into the worktree by ``apply`` (clean or offset): nothing to decide."""
    proposal_conflicts: bool = False
    """Whether the proposal still has conflict blocks (``a`` is refused until they are picked
    or edited away)."""
    has_place: bool = True
    """Whether the hunk has a region in the worktree file to write a resolution to."""
    proposal_source: str = ""
    """``3way`` (found through the vanilla base), ``hunk-local`` or empty."""

    @property
    def start_text(self) -> str:
        """What an edit starts from: the result once resolved, else the proposal."""
        return self.result if self.result is not None else self.proposal

    @property
    def who(self) -> str:
        """The name of whoever resolved the hunk, without the e-mail address."""
        return self.resolved_by.split(" <", 1)[0]

    @property
    def needs_decision(self) -> bool:
        """True for the hunks progress counts: those that did or do need a person."""
        return self.is_open or self.resolution is not None


@dataclass(frozen=True)
class WarningView:
    """A selection warning: a kept hunk uses something a left-out hunk changes."""

    number: int
    """What ``patchsmith resolve --ack-warning`` takes (1-based)."""
    kind: str
    path: str
    """The (first) kept file it is about."""
    hunk: int
    """The (first) kept hunk of :attr:`path`."""
    message: str
    other_path: str | None
    """The left-out file it points at."""
    kept_line: str
    """Evidence: the kept line that uses what the left-out hunk changes."""
    other_line: str
    """Evidence: the left-out line that changes it."""
    acknowledged_by: str = ""
    acknowledged_at: str = ""

    @property
    def is_open(self) -> bool:
        """Not acknowledged yet (the gate then lists it)."""
        return not self.acknowledged_by


ENTRY_MARK = "\x00"
"""Starts the list id of an entry that is not a hunk: no hunk id (a path from a patch, ``#``
and a number) can hold it."""


@dataclass(frozen=True)
class GateItem:
    """One thing the build gate waits for, as the library's gate lists it."""

    kind: str
    """``hunk``, ``confirm``, ``warning``, ``reject``, ``marker``, ``uncommitted``,
    ``interrupted``, or a kind a newer library adds (shown under its own name)."""
    path: str
    detail: str
    hunk_id: str | None = None
    warning: int | None = None
    """A warning's number."""

    @property
    def entry_id(self) -> str:
        """The id of the list entry that shows this item (a hunk's own id for a hunk)."""
        if self.hunk_id is not None:
            return self.hunk_id
        if self.warning is not None:
            return warning_entry(self.warning)
        return f"{ENTRY_MARK}{self.kind}{ENTRY_MARK}{self.path}"


def warning_entry(number: int) -> str:
    """The list id of selection warning ``number``."""
    return f"{ENTRY_MARK}warning{ENTRY_MARK}{number}"


@dataclass(frozen=True)
class ItemView:
    """A list entry that is not a hunk: an item of the gate's list, or a warning that was
    acknowledged (kept in the list so a reviewer sees who did it)."""

    entry_id: str
    kind: str
    path: str
    detail: str
    """What the gate says about it."""
    is_open: bool
    """In the gate's list now."""
    warning: WarningView | None = None


@dataclass(frozen=True)
class InputFile:
    """A patch file as ``apply`` read it."""

    name: str
    size: int
    sha256: str
    compression: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    """What decided the session: its inputs as ``apply`` recorded them (the ``i`` screen)."""

    patches: tuple[InputFile, ...]
    tree: str
    tree_kind: str
    worktree: str
    branch: str
    base: str | None
    created: str
    config: str | None
    config_sha256: str | None
    rules: tuple[str, ...]
    """The selection options as typed (``--only drivers/md``, ``--modules-only``...)."""
    strip: int
    fuzz: int
    accept_fuzz: bool
    merge: bool
    recorded: bool
    """``apply`` recorded the selection (older sessions have only :attr:`rules`)."""
    files_kept: int = 0
    files_left_out: int = 0
    hunks_kept: int = 0
    hunks_total: int = 0
    left_out: tuple[tuple[str, str], ...] = ()
    """(path, why) of every file diff the selection left out, in patch order."""
    warnings: int = 0
    warnings_open: int = 0


@dataclass(frozen=True)
class SessionView:
    """The whole session as the TUI shows it."""

    hunks: tuple[HunkView, ...]
    """Every hunk of the session, in patch order."""
    gate: tuple[GateItem, ...] | None
    """The build gate's list (``SessionStore.open_items``), in its order; ``None`` when it
    could not be read (then the session is never shown as ready)."""
    warnings: tuple[WarningView, ...] = ()
    """Every selection warning, open or acknowledged, by number."""
    title: str = ""
    """What the session is about (patch name, tree), for the title bar."""
    source: Path | None = None
    """The session file: its modification time tells the TUI to reload."""
    has_base: bool = False
    """``apply --base`` was given: the merge view shows the merge base as a pane of its own."""

    @property
    def open_count(self) -> int:
        """Items the build gate still waits for (hunks and everything else it lists)."""
        return len(self.gate) if self.gate is not None else 0

    @property
    def confirm_count(self) -> int:
        """Reused resolutions waiting for a person to confirm them (counted in ``open_count``)."""
        return sum(1 for hunk in self.hunks if hunk.to_confirm)

    @property
    def review_count(self) -> int:
        """Hunks ``apply --accept-fuzz`` wrote that nobody has confirmed (in ``open_count``)."""
        return sum(1 for hunk in self.hunks if hunk.to_review)

    @property
    def decided_count(self) -> int:
        """Hunks that needed a person and got a resolution."""
        return sum(1 for hunk in self.hunks if hunk.resolution is not None)

    @property
    def decision_count(self) -> int:
        """Hunks that need (or needed) a person: the denominator of the progress line."""
        return sum(1 for hunk in self.hunks if hunk.needs_decision)

    @property
    def ready(self) -> bool:
        """The build gate's list is known and empty (never decided here)."""
        return self.gate is not None and not self.gate

    @property
    def warnings_open(self) -> int:
        """Selection warnings the gate lists (not acknowledged)."""
        return sum(1 for item in self.gate or () if item.kind == "warning")

    @cached_property
    def items(self) -> tuple[ItemView, ...]:
        """The list entries that are not hunks: the gate's other items in its order, then the
        acknowledged warnings."""
        by_number = {warning.number: warning for warning in self.warnings}
        items: list[ItemView] = []
        for item in self.gate or ():
            if item.kind in ("hunk", "confirm") and item.hunk_id is not None:
                continue
            warning = by_number.get(item.warning) if item.warning is not None else None
            items.append(ItemView(item.entry_id, item.kind, item.path, item.detail, True, warning))
        listed = {item.entry_id for item in items}
        for warning in self.warnings:
            entry = warning_entry(warning.number)
            if entry not in listed and not warning.is_open:
                detail = f"acknowledged by {warning.acknowledged_by}"
                items.append(ItemView(entry, "warning", warning.path, detail, False, warning))
        return tuple(items)

    @cached_property
    def gate_entries(self) -> tuple[str, ...]:
        """The list ids of the gate's items, in the gate's order (what ``n`` walks)."""
        seen: dict[str, None] = {}
        for item in self.gate or ():
            seen.setdefault(item.entry_id, None)
        return tuple(seen)

    def entries(self, status_filter: StatusFilter) -> list[HunkView | ItemView]:
        """What the list shows under ``status_filter``: with ``open``, the gate's items in
        the gate's order; else an interrupted apply first, the hunks in patch order, then the
        other items."""
        if status_filter is StatusFilter.OPEN:
            shown: list[HunkView | ItemView] = []
            for entry_id in self.gate_entries:
                found = self.find_entry(entry_id)
                if found is not None:
                    shown.append(found)
            return shown
        first = [i for i in self.items if i.kind == "interrupted"]
        rest = [i for i in self.items if i.kind != "interrupted" and status_filter.keeps(i)]
        hunks = [hunk for hunk in self.hunks if status_filter.keeps(hunk)]
        return [*first, *hunks, *rest]

    def find_entry(self, entry_id: str) -> HunkView | ItemView | None:
        """The hunk or other item listed under ``entry_id``."""
        if entry_id.startswith(ENTRY_MARK):
            return next((item for item in self.items if item.entry_id == entry_id), None)
        return self.find(entry_id)

    def status_counts(self) -> Counter[HunkStatus]:
        """How many hunks have each status."""
        return Counter(hunk.status for hunk in self.hunks)

    @property
    def open_hunks(self) -> list[HunkView]:
        """The hunks the build gate waits for, in patch order."""
        return [hunk for hunk in self.hunks if hunk.is_open]

    def find(self, hunk_id: str) -> HunkView | None:
        """The hunk with this id, or None."""
        return self._by_id.get(hunk_id)

    @cached_property
    def _by_id(self) -> dict[str, HunkView]:
        return {hunk.hunk_id: hunk for hunk in self.hunks}


@dataclass(frozen=True)
class EvidenceView:
    """What is around one hunk in the vendor's file and the worktree (read on demand)."""

    hunk_id: str
    vendor_file: str | None
    """The vendor tree's file (``None``: the tree has no such file)."""
    found: str
    """What the region is: ``region`` (an open hunk's best place), ``pre-image`` (where an
    applied hunk was found), ``post-image`` (already there) or ``nothing``."""
    region_start: int | None
    """1-based line of the region in the vendor's tree."""
    region_text: str
    function_line: int | None
    """1-based vendor-tree line of the definition the hunk is in."""
    function_text: str
    worktree_line: int | None
    """1-based line in the worktree file now (labelled ``worktree`` wherever it is shown)."""
    worktree_text: str | None
    reject: str
    """The ``.rej`` text apply wrote for the hunk (``""``: none)."""
    reject_present: bool
    base_text: str | None = None
    """The merge base when ``--base`` was given and matched here."""
    base_line: int | None = None
    note: str = ""


class Action(enum.StrEnum):
    """What a person can do to a hunk; each maps to one library session call."""

    ACCEPT = "accept"
    UPSTREAM = "upstream"
    DROP = "drop"
    EDIT = "edit"
    UNDO = "undo"


class SessionBackend(Protocol):
    """What the TUI needs from the library. Implementations raise ``PatchsmithError`` subclasses.

    Every method reads or writes the session on disk, so a ``patchsmith status`` in another
    terminal sees an action at once and the TUI sees the CLI's actions on the next reload.
    """

    def load(self) -> SessionView:
        """Read the session from disk."""
        ...

    def watched_path(self) -> Path | None:
        """The file whose modification time changes when the session changes."""
        ...

    def accept(self, hunk_id: str) -> None:
        """Resolve the hunk with its proposal."""
        ...

    def take_upstream(self, hunk_id: str) -> None:
        """Resolve the hunk with upstream's post-image as is."""
        ...

    def drop(self, hunk_id: str, reason: str) -> None:
        """Leave the vendor code; ``reason`` is required."""
        ...

    def edit(self, hunk_id: str, text: str, reason: str | None = None) -> None:
        """Resolve the hunk with text a person wrote (or picked, block by block: ``reason``
        says which sides)."""
        ...

    def undo(self, hunk_id: str) -> None:
        """Take the hunk's resolution back."""
        ...

    def evidence(self, hunk_id: str) -> EvidenceView:
        """Read what is around the hunk (called from a worker thread)."""
        ...

    def prepare_file_edit(self, hunk_id: str, text: str) -> tuple[bytes, int, object]:
        """The hunk's whole worktree file with ``text`` in its region: (bytes, 1-based line of
        the region, a handle for :meth:`region_from_file_edit`)."""
        ...

    def region_from_file_edit(self, handle: object, edited: bytes) -> str:
        """The region's text from the edited file; raises when other lines changed or
        conflict markers are left (the message names the line)."""
        ...

    def confirm(self, hunk_ids: list[str]) -> None:
        """Confirm these hunks' reused (remembered) resolutions."""
        ...

    def acknowledge_warning(self, number: int) -> None:
        """Record that a person read selection warning ``number`` (it leaves the gate)."""
        ...

    def info(self) -> SessionInfo:
        """What decided the session (its recorded inputs)."""
        ...

    def drafts(self) -> tuple[dict[str, list[tuple[str, str]]], tuple[str, ...]]:
        """The side picks kept for unresolved hunks (hunk id -> [(text after the pick, what
        was picked)]), and a sentence for each kept draft that no longer applies and was set
        aside."""
        ...

    def save_draft(self, hunk_id: str, start: str, picks: list[tuple[str, str]]) -> None:
        """Keep the picks made in ``hunk_id`` (on the text ``start``) across a quit; none
        removes the draft."""
        ...

    def discard_draft(self, hunk_id: str) -> None:
        """Forget the draft of ``hunk_id`` (once the hunk is resolved)."""
        ...


class StatusFilter(enum.StrEnum):
    """The hunk list's filter, cycled with a key; the names are shown in the list's title."""

    REVIEW = "review"
    """Hunks that need (or needed) a person, open or resolved, and every other item (open
    or acknowledged): the default."""
    OPEN = "open"
    """Exactly the build gate's list, in its order."""
    CONFLICT = "conflict"
    """Only hunks whose status is ``conflict``."""
    RESOLVED = "resolved"
    """Hunks that have a resolution, and acknowledged warnings."""
    ALL = "all"
    """Everything, including clean and excluded hunks."""

    def keeps(self, hunk: HunkView | ItemView) -> bool:
        """True when the list shows ``hunk`` (or another item) under this filter."""
        if self is StatusFilter.ALL:
            return True
        if isinstance(hunk, ItemView):
            # Items are what the gate lists (and warnings someone acknowledged): a person
            # reviews all of them; none is a conflict.
            if self is StatusFilter.OPEN:
                return hunk.is_open
            if self is StatusFilter.RESOLVED:
                return not hunk.is_open
            return self is StatusFilter.REVIEW
        if self is StatusFilter.OPEN:
            return hunk.is_open
        if self is StatusFilter.REVIEW:
            return hunk.needs_decision
        if self is StatusFilter.RESOLVED:
            return hunk.resolution is not None
        return hunk.status is HunkStatus.CONFLICT

    def next(self) -> StatusFilter:
        """The filter after this one, wrapping around."""
        members = list(StatusFilter)
        return members[(members.index(self) + 1) % len(members)]

"""The view-model of the TUI: plain frozen data of what a screen shows, and the backend protocol.

Screens and widgets render :class:`SessionView` and :class:`HunkView` and never see the library's
own types, so the library's session format can change without touching a widget, and tests can
drive a screen from a few literal values. :mod:`patchsmith_tui.backend` adapts the library's
``SessionStore`` to :class:`SessionBackend`; every action a person takes goes through it.

Depends on :mod:`patchsmith.model` only (for the status and resolution vocabulary); never on
Textual, so it is importable and testable without a terminal.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
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
class SessionView:
    """The whole session as the TUI shows it."""

    hunks: tuple[HunkView, ...]
    """Every hunk of the session, in patch order."""
    title: str = ""
    """What the session is about (patch name, tree), for the title bar."""
    source: Path | None = None
    """The session file: its modification time tells the TUI to reload."""
    has_base: bool = False
    """``apply --base`` was given: the merge view shows the merge base as a pane of its own."""

    @property
    def open_count(self) -> int:
        """Hunks the build gate still waits for."""
        return sum(1 for hunk in self.hunks if hunk.is_open)

    @property
    def confirm_count(self) -> int:
        """Reused resolutions waiting for a person to confirm them (counted in ``open_count``)."""
        return sum(1 for hunk in self.hunks if hunk.to_confirm)

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
        """True when nothing is unresolved: the build gate is open."""
        return self.open_count == 0

    def status_counts(self) -> Counter[HunkStatus]:
        """How many hunks have each status."""
        return Counter(hunk.status for hunk in self.hunks)

    @property
    def open_hunks(self) -> list[HunkView]:
        """The hunks the build gate waits for, in patch order."""
        return [hunk for hunk in self.hunks if hunk.is_open]

    def find(self, hunk_id: str) -> HunkView | None:
        """The hunk with this id, or None."""
        for hunk in self.hunks:
            if hunk.hunk_id == hunk_id:
                return hunk
        return None


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


class StatusFilter(enum.StrEnum):
    """The hunk list's filter, cycled with a key; the names are shown in the list's title."""

    REVIEW = "review"
    """Hunks that need (or needed) a person, open or resolved: the default."""
    OPEN = "open"
    """Only what the build gate still waits for."""
    CONFLICT = "conflict"
    """Only hunks whose status is ``conflict``."""
    RESOLVED = "resolved"
    """Only hunks that have a resolution."""
    ALL = "all"
    """Every hunk, including clean and excluded ones."""

    def keeps(self, hunk: HunkView) -> bool:
        """True when the list shows ``hunk`` under this filter."""
        if self is StatusFilter.ALL:
            return True
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

"""The adapter from the library's :class:`SessionStore` to the TUI's :class:`SessionBackend`.

This is the only module of the TUI that knows the library's session types: it turns a
:class:`~patchsmith.workspace.session.SessionHunk` into a :class:`HunkView` and each key press
into one store call, the same calls ``patchsmith resolve HUNK --accept|--upstream|--drop|--edit``
makes. What is open comes from the build gate's own list (``SessionStore.open_items``), read with
the session. Side picks not yet resolved are kept with :mod:`patchsmith.workspace.drafts`. Errors
are the library's (``SessionError`` and friends) and reach the screen unchanged.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.model import Resolution
from patchsmith.workspace import fileedit
from patchsmith.workspace.drafts import DraftStore, Pick
from patchsmith.workspace.session import (
    OpenItem,
    Session,
    SessionHunk,
    SessionStore,
    SessionWarning,
)
from patchsmith.workspace.view import evidence

from .model import (
    EvidenceView,
    GateItem,
    HunkView,
    InputFile,
    SessionInfo,
    SessionView,
    WarningView,
)


def hunk_view(hunk: SessionHunk) -> HunkView:
    """What the TUI shows of one session hunk."""
    # ``found_line`` is the engine's, in the vendor tree's numbering (what ``check`` says); the
    # regions are in the worktree's, used only where they are labelled as the worktree's.
    current_line = hunk.current.start if hunk.current is not None else hunk.found_line
    proposal = hunk.proposal
    if proposal is None:
        proposal = hunk.current.text if hunk.current is not None else ""
    result: str | None = None
    if hunk.resolution is not None:
        # ``current`` is the region as apply left it and ``written`` what the resolution put in
        # its place; a resolution that wrote nothing left ``current`` (or no region) in the file.
        if hunk.written is not None:
            result = hunk.written
        else:
            result = hunk.current.text if hunk.current is not None else ""
    return HunkView(
        hunk_id=hunk.id,
        path=hunk.path,
        status=hunk.status,
        needs_review=hunk.needs_review,
        is_open=hunk.open,
        reason=hunk.reason,
        expected_line=hunk.expected_line,
        found_line=hunk.found_line,
        upstream_pre=hunk.pre_image,
        upstream_post=hunk.post_image,
        vendor_region=hunk.vendor.text if hunk.vendor is not None else "",
        proposal=proposal,
        proposal_line=current_line,
        resolution=hunk.resolution,
        resolved_by=hunk.resolved_by or "",
        resolved_at=hunk.resolved_at or "",
        reused=hunk.reused,
        to_confirm=hunk.to_confirm,
        to_review=hunk.to_review,
        memory_note=hunk.memory_note or "",
        drop_reason=hunk.resolution_reason or "",
        result=result,
        result_line=current_line if hunk.current is not None else 1,
        upstream_hunk=hunk.upstream,
        applied=hunk.applied,
        proposal_conflicts=hunk.proposal_conflicts,
        has_place=hunk.current is not None,
        proposal_source=hunk.proposal_source,
    )


def warning_view(warning: SessionWarning) -> WarningView:
    """What the TUI shows of one selection warning."""
    return WarningView(
        number=warning.number,
        kind=warning.kind,
        path=warning.path,
        hunk=warning.hunk,
        message=warning.message,
        other_path=warning.other_path,
        kept_line=warning.kept_line,
        other_line=warning.other_line,
        acknowledged_by=warning.acknowledged_by or "",
        acknowledged_at=warning.acknowledged_at or "",
    )


def gate_item(item: OpenItem) -> GateItem:
    """One item of the gate's list, as the TUI lists it."""
    return GateItem(item.kind, item.path, item.detail, item.hunk_id, item.warning)


def session_view(
    session: Session, open_items: list[OpenItem] | None, source: Path | None = None
) -> SessionView:
    """What the TUI shows of a whole session; ``open_items`` is the gate's list for it."""
    title = f"{session.patch.name} onto {session.tree}"
    return SessionView(
        hunks=tuple(hunk_view(hunk) for hunk in session.hunks),
        gate=None if open_items is None else tuple(gate_item(item) for item in open_items),
        warnings=tuple(warning_view(w) for w in session.warnings),
        title=title,
        source=source,
        has_base=session.base is not None,
    )


def session_info(session: Session) -> SessionInfo:
    """What decided ``session``: the inputs ``apply`` recorded (or what an older session
    kept: its patch and its one-line selection)."""
    inputs = session.inputs
    if inputs is not None and inputs.sources:
        patches = tuple(InputFile(s.name, s.size, s.sha256, s.compression) for s in inputs.sources)
    else:
        patch = session.patch
        names = ", ".join(patch.paths) or patch.name
        patches = (InputFile(names, patch.size, patch.sha256),)
    left_out: tuple[tuple[str, str], ...] = ()
    kept_files = left_files = kept_hunks = total_hunks = 0
    if inputs is not None:
        left_out = tuple((f.path, f.reason) for f in inputs.files if f.reason is not None)
        kept_files = len(inputs.kept)
        left_files = len(left_out)
        kept_hunks = inputs.hunks_kept
        total_hunks = inputs.hunks_total
    rules = (
        inputs.rules if inputs is not None else ((session.selection,) if session.selection else ())
    )
    return SessionInfo(
        patches=patches,
        tree=session.tree,
        tree_kind=session.tree_kind,
        worktree=session.worktree,
        branch=session.branch,
        base=session.base,
        created=session.created,
        config=inputs.config if inputs is not None else None,
        config_sha256=inputs.config_sha256 if inputs is not None else None,
        rules=rules,
        strip=session.strip,
        fuzz=session.fuzz,
        accept_fuzz=session.accept_fuzz,
        merge=session.merge,
        recorded=inputs is not None,
        files_kept=kept_files,
        files_left_out=left_files,
        hunks_kept=kept_hunks,
        hunks_total=total_hunks,
        left_out=left_out,
        warnings=len(session.warnings),
        warnings_open=sum(1 for w in session.warnings if w.open),
    )


class LibraryBackend:
    """A session on disk, read and changed through ``patchsmith.workspace.session``."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.draft_store = DraftStore(store.path)
        self._session: Session | None = None
        """The session as last loaded (for the drafts and the info screen)."""

    @classmethod
    def open(cls, session_path: Path | None) -> LibraryBackend:
        """The session at ``session_path`` (``session.json`` or a worktree), or the current
        folder's; raises ``SessionError`` when there is none."""
        if session_path is None:
            return cls(SessionStore.find(Path.cwd()))
        return cls(SessionStore.open(session_path))

    def load(self) -> SessionView:
        session = self.store.load()
        self._session = session
        # The gate's own list, for the session just read (one read of the file for both).
        return session_view(session, self.store.open_items(session), self.store.path)

    def _loaded(self) -> Session:
        if self._session is None:
            self._session = self.store.load()
        return self._session

    def watched_path(self) -> Path | None:
        return self.store.path

    def accept(self, hunk_id: str) -> None:
        self.store.resolve(hunk_id, Resolution.ACCEPTED)

    def take_upstream(self, hunk_id: str) -> None:
        self.store.resolve(hunk_id, Resolution.UPSTREAM)

    def drop(self, hunk_id: str, reason: str) -> None:
        self.store.resolve(hunk_id, Resolution.DROPPED, reason=reason)

    def edit(self, hunk_id: str, text: str, reason: str | None = None) -> None:
        self.store.resolve(hunk_id, Resolution.EDITED, reason=reason, text=text)

    def undo(self, hunk_id: str) -> None:
        self.store.undo(hunk_id)

    def prepare_file_edit(self, hunk_id: str, text: str) -> tuple[bytes, int, object]:
        edit = fileedit.prepare(self.store.load(), hunk_id, text)
        return edit.data, edit.line, edit

    def region_from_file_edit(self, handle: object, edited: bytes) -> str:
        assert isinstance(handle, fileedit.FileEdit)
        return fileedit.extract(handle, edited)

    def evidence(self, hunk_id: str) -> EvidenceView:
        found = evidence(self.store.load(), hunk_id)
        return EvidenceView(
            hunk_id=found.hunk_id,
            vendor_file=found.vendor_file,
            found=found.found,
            region_start=found.region_start,
            region_text=found.region_text,
            function_line=found.function_line,
            function_text=found.function_text,
            worktree_line=found.worktree_line,
            worktree_text=found.worktree_text,
            reject=found.reject,
            reject_present=found.reject_present,
            base_text=found.base_text,
            base_line=found.base_line,
            note=found.note,
        )

    def confirm(self, hunk_ids: list[str]) -> None:
        self.store.confirm(hunk_ids)

    def acknowledge_warning(self, number: int) -> None:
        self.store.acknowledge_warning(number)

    def info(self) -> SessionInfo:
        return session_info(self._loaded())

    def drafts(self) -> tuple[dict[str, list[tuple[str, str]]], tuple[str, ...]]:
        restored = self.draft_store.restore(self._loaded())
        drafts = {
            hunk_id: [(pick.text, pick.label) for pick in picks]
            for hunk_id, picks in restored.drafts.items()
        }
        return drafts, restored.set_aside

    def save_draft(self, hunk_id: str, start: str, picks: list[tuple[str, str]]) -> None:
        self.draft_store.save(hunk_id, start, [Pick(text, label) for text, label in picks])

    def discard_draft(self, hunk_id: str) -> None:
        self.draft_store.discard(hunk_id)

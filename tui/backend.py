"""The adapter from the library's :class:`SessionStore` to the TUI's :class:`SessionBackend`.

This is the only module of the TUI that knows the library's session types: it turns a
:class:`~patchsmith.workspace.session.SessionHunk` into a :class:`HunkView` and each key press
into one store call, the same calls ``patchsmith resolve HUNK --accept|--upstream|--drop|--edit``
makes. Errors are the library's (``SessionError`` and friends) and reach the screen unchanged.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.model import Resolution
from patchsmith.workspace import fileedit
from patchsmith.workspace.session import Session, SessionHunk, SessionStore
from patchsmith.workspace.view import evidence

from .model import EvidenceView, HunkView, SessionView


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


def session_view(session: Session, source: Path | None = None) -> SessionView:
    """What the TUI shows of a whole session."""
    title = f"{session.patch.name} onto {session.tree}"
    return SessionView(
        hunks=tuple(hunk_view(hunk) for hunk in session.hunks),
        title=title,
        source=source,
        has_base=session.base is not None,
    )


class LibraryBackend:
    """A session on disk, read and changed through ``patchsmith.workspace.session``."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    @classmethod
    def open(cls, session_path: Path | None) -> LibraryBackend:
        """The session at ``session_path`` (``session.json`` or a worktree), or the current
        folder's; raises ``SessionError`` when there is none."""
        if session_path is None:
            return cls(SessionStore.find(Path.cwd()))
        return cls(SessionStore.open(session_path))

    def load(self) -> SessionView:
        return session_view(self.store.load(), self.store.path)

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

"""Side picks a person has made in a hunk that is not resolved yet: the TUI's *draft*, on disk.

Picking a side per conflict block (``:diffget``, meld's arrows) resolves the hunk only with the
last block; until then the picks are work in progress that a quit, a crash or a closed terminal
must not lose, as an editor's swap file keeps an unsaved buffer. A draft is not a resolution:
it writes nothing in the worktree, makes no commit and leaves the gate as it is; the last pick
is recorded with :meth:`SessionStore.resolve <patchsmith.workspace.session.SessionStore.resolve>`
like any edit.

Storage: one JSON file per hunk in ``drafts/`` beside ``session.json`` (in the worktree's git
directory, never in the tree), ``"schema": "patchsmith.draft/1"``, written atomically (temporary
file, fsync, ``os.replace``). A draft records the SHA-256 of the text its first pick was made on
(the hunk's proposal); :meth:`DraftStore.restore` gives back only drafts whose hunk is still
unresolved with that same proposal, and says why it set each other one aside (resolved in
another terminal meanwhile, say), so a stale draft is never applied and never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patchsmith.errors import SessionError
from patchsmith.record import record
from patchsmith.workspace.session import Session, now

SCHEMA = "patchsmith.draft/1"
FOLDER = "drafts"

__all__ = ["SCHEMA", "Draft", "DraftStore", "Pick", "Restored"]


@record
class Pick:
    """One block picked: the hunk's lines after it, and what was picked."""

    text: str
    """The whole region's text after this pick (conflict blocks left in it)."""
    label: str
    """What was picked, in words (``block 1: took the vendor's lines``): the resolution's
    reason lists them once the last block is picked."""


@record
class Draft:
    """The picks made so far in one hunk."""

    hunk_id: str
    start_sha256: str
    """SHA-256 of the text the first pick was made on (the hunk's proposal)."""
    picks: tuple[Pick, ...]
    saved_at: str = ""


@record
class Restored:
    """What :meth:`DraftStore.restore` found."""

    drafts: dict[str, tuple[Pick, ...]]
    """Hunk id -> its picks, for each draft that still applies."""
    set_aside: tuple[str, ...] = ()
    """One sentence per draft that no longer applies (its file is removed)."""


def digest(text: str) -> str:
    """The SHA-256 a draft records of the text it started from."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class DraftStore:
    """The drafts of one session. Cheap to create; holds no open files."""

    def __init__(self, session_file: Path) -> None:
        self.folder = Path(session_file).parent / FOLDER

    def path_for(self, hunk_id: str) -> Path:
        """The draft file of ``hunk_id``: readable, and distinct for ids that differ only in
        characters a file name cannot hold (``a/b#1`` and ``a_b#1``)."""
        readable = "".join(c if c.isalnum() or c in "._-" else "_" for c in hunk_id)[-80:]
        tag = hashlib.sha256(hunk_id.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        return self.folder / f"{readable}.{tag}.json"

    def save(self, hunk_id: str, start: str, picks: Sequence[Pick]) -> None:
        """Keep ``picks`` (made on ``start``) for ``hunk_id``; no picks removes the draft."""
        if not picks:
            self.discard(hunk_id)
            return
        data = {
            "schema": SCHEMA,
            "hunk_id": hunk_id,
            "start_sha256": digest(start),
            "picks": [{"text": p.text, "label": p.label} for p in picks],
            "saved_at": now(),
        }
        encoded = json.dumps(data, indent=1, ensure_ascii=True).encode("ascii") + b"\n"
        target = self.path_for(hunk_id)
        try:
            _write_atomic(target, encoded)
        except OSError as error:
            raise SessionError(
                f"cannot keep the draft of {hunk_id} in {target.parent}: {error.strerror or error}",
                hint="the session's folder must be writable (a plain tree's is in "
                "$XDG_DATA_HOME/patchsmith)",
            ) from error

    def discard(self, hunk_id: str) -> None:
        """Forget the draft of ``hunk_id`` (nothing to forget is fine)."""
        try:
            self.path_for(hunk_id).unlink()
        except FileNotFoundError:
            pass

    def read_all(self) -> tuple[list[tuple[Path, Draft]], list[tuple[Path, str]]]:
        """Every draft on disk with its file, and the files that could not be read (with
        why)."""
        drafts: list[tuple[Path, Draft]] = []
        damaged: list[tuple[Path, str]] = []
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return drafts, damaged
        for name in names:
            if not name.endswith(".json"):
                continue  # a temporary file of a write that a crash interrupted
            path = self.folder / name
            try:
                draft = _from_json(json.loads(path.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError) as error:
                damaged.append((path, str(error)))
                continue
            if path != self.path_for(draft.hunk_id):
                damaged.append((path, f"it is named for another hunk than {draft.hunk_id}"))
                continue
            drafts.append((path, draft))
        return drafts, damaged

    def restore(self, session: Session) -> Restored:
        """The drafts that still apply to ``session``; every other one is removed, and why
        is said (a draft is applied only to the exact proposal it was made on)."""
        drafts, damaged = self.read_all()
        kept: dict[str, tuple[Pick, ...]] = {}
        notes: list[str] = []
        by_id = {hunk.id: hunk for hunk in session.hunks}
        for path, problem in damaged:
            notes.append(f"a draft file could not be read and was removed ({path.name}: {problem})")
            path.unlink(missing_ok=True)
        for _path, draft in drafts:
            hunk = by_id.get(draft.hunk_id)
            count = len(draft.picks)
            picks = f"{count} pick{'s' if count != 1 else ''}"
            why: str | None = None
            if hunk is None:
                why = "the session has no such hunk"
            elif hunk.resolution is not None:
                why = f"the hunk was resolved meanwhile ({hunk.resolution})"
            elif not hunk.open or hunk.current is None or hunk.proposal is None:
                why = "the hunk has nothing left to pick"
            elif digest(hunk.proposal) != draft.start_sha256:
                why = "its proposal is not the one the picks were made on"
            if why is None:
                kept[draft.hunk_id] = draft.picks
                continue
            notes.append(f"{draft.hunk_id}: your draft ({picks}) was set aside: {why}")
            self.discard(draft.hunk_id)
        return Restored(kept, tuple(notes))


def _write_atomic(target: Path, data: bytes) -> None:
    """``target`` replaced by ``data`` in one rename, on disk before it returns (as the
    session file is written: a crash leaves the old draft or the new one, never half)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _from_json(data: Any) -> Draft:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    picks = tuple(Pick(_text(p, "text"), _text(p, "label")) for p in data["picks"])
    if not picks:
        raise ValueError("a draft without picks")
    return Draft(
        hunk_id=_text(data, "hunk_id"),
        start_sha256=_text(data, "start_sha256"),
        picks=picks,
        saved_at=str(data.get("saved_at", "")),
    )


def _text(data: Any, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value

"""The records of a session: what ``session.json`` holds, as frozen data.

:class:`Session` (one apply: where, from what, every hunk's fate), :class:`SessionHunk` (one
hunk: the engine's verdict at apply, what was written, the resolution, who and when),
:class:`SessionFile`, :class:`SessionWarning`, :class:`PatchInfo`, :class:`Pending` (a
resolution in flight), :class:`OpenItem` (one entry of the build gate's list), the
:class:`Phase` of a session, and their JSON form (``"schema": "patchsmith.session/1"``). Text
fields hold file bytes decoded as UTF-8 with ``surrogateescape``: Latin-1 and other bytes
survive the JSON round trip (:func:`to_bytes` gives the bytes back).

Nothing here reads or writes a file: :mod:`patchsmith.workspace.session` (the store) does, and
re-exports these records, so the rest of patchsmith imports them from there.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import fields
from typing import Any

from patchsmith.errors import Remedy, SessionError
from patchsmith.model import HunkStatus, Resolution
from patchsmith.quoting import quote_name
from patchsmith.record import record
from patchsmith.workspace.inputs import SelectionInputs

SCHEMA = "patchsmith.session/1"


def to_text(data: bytes) -> str:
    """File bytes as a JSON-safe string (``surrogateescape`` keeps every byte)."""
    return data.decode("utf-8", "surrogateescape")


def to_bytes(text: str) -> bytes:
    """The inverse of :func:`to_text`."""
    return text.encode("utf-8", "surrogateescape")


def now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class Phase(enum.StrEnum):
    """Where a session is in its life (docs/DESIGN.md, "Phases"); the value is what
    ``session.json`` holds."""

    APPLYING = "applying"
    """``apply`` started and has not finished (a crash leaves this; ``apply`` again continues)."""
    READY = "ready"
    """Applied; hunks may be open."""
    FINISHED = "finished"
    """``finish`` wrote the combined patch."""


OPEN_STATUSES = frozenset(
    {
        HunkStatus.CONFLICT,
        HunkStatus.PARTIALLY_APPLIED,
        HunkStatus.MISSING_FILE,
        HunkStatus.FILE_EXISTS,
        HunkStatus.FUZZ,
        HunkStatus.WHITESPACE,
    }
)
"""Statuses that need a person when the hunk was not applied."""


@record
class Region:
    """A run of lines in a worktree file: where a resolution goes."""

    start: int
    """1-based first line (for an empty region: the line it sits before)."""
    text: str
    """The lines, exactly (see :func:`to_text`)."""

    @property
    def count(self) -> int:
        return len(to_bytes(self.text).splitlines(keepends=True))


@record
class SessionHunk:
    """One selected hunk: what happened to it on apply and how it was resolved."""

    id: str
    """``path#N`` (``drivers/md/dm.c#2``): stable across runs and easy to type."""
    path: str
    """The file in the tree (prefix stripped)."""
    file_number: int
    """The file diff's number in the patch (``--files`` numbering)."""
    number: int
    """The hunk's number within its file diff (``--hunks`` numbering)."""
    status: HunkStatus
    """The engine's verdict (docs/DESIGN.md, "Status vocabulary")."""
    needs_review: bool
    reason: str
    """Why the engine gave this status or flag."""
    expected_line: int
    """The line the patch states."""
    found_line: int | None
    offset: int
    fuzz: int
    applied: bool
    """Written into the worktree by ``apply`` (clean, offset, or fuzz with ``--accept-fuzz``)."""
    upstream: str
    """The hunk as in the patch (``@@`` line and body)."""
    pre_image: str
    """Upstream's lines before the change (context and removed)."""
    post_image: str
    """Upstream's lines after the change (context and added)."""
    vendor: Region | None = None
    """The vendor's lines where the hunk belongs (the best candidate), in the worktree file as
    ``apply`` left it; ``None`` when there is no such place."""
    current: Region | None = None
    """What the worktree holds at that place now: the vendor's lines, or with ``--merge`` the
    conflict-marker block. A resolution replaces exactly this."""
    proposal: str | None = None
    """The proposed replacement for :attr:`current` (never applied without a person saying so)."""
    proposal_conflicts: bool = False
    """Whether the proposal still has conflict markers (it cannot be accepted as is)."""
    proposal_source: str = ""
    """``3way`` (with ``--base``), ``hunk-local`` (without), ``vendor`` (keep the vendor's)."""
    resolution: Resolution | None = None
    resolution_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    reused: bool = False
    """The resolution came from resolution memory (an earlier run), not from a person now;
    :attr:`resolved_by` and :attr:`resolved_at` are then who decided it then, and when."""
    written: str | None = None
    """What the resolution put in place of :attr:`current` (for ``undo``)."""
    confirmed_by: str | None = None
    """Who confirmed a reused resolution, or a hunk ``apply --accept-fuzz`` wrote (until then
    either keeps the gate closed)."""
    confirmed_at: str | None = None
    trusted: bool = False
    """Confirmed by ``apply --trust-memory``, not by a person looking at it."""
    memory_id: str | None = None
    """The remembered decision this resolution stored (or, when reused, came from)."""
    memory_previous: str | None = None
    """The remembered decision it replaced, as stored (``undo`` puts it back)."""
    memory_note: str | None = None
    """What memory said about this hunk at apply: where a reused decision came from, or a
    suggestion that was not reused and why."""

    @property
    def to_confirm(self) -> bool:
        """A reused resolution no person has confirmed yet."""
        return self.reused and self.resolution is not None and self.confirmed_at is None

    @property
    def written_unproven(self) -> bool:
        """Written by ``apply --accept-fuzz`` although the engine could not show the place is
        right (fuzz, whitespace ignored, a review flag: on 6.1.180 -> 6.1.187 that writes
        ``mana_en.c#1`` into the wrong function). Asking for fuzz to be written is not a review
        of where it went: such a hunk is a review item until a person confirms what was written
        (``resolve HUNK --confirm``): see docs/DESIGN.md, "The gate"."""
        return (
            self.applied
            and self.number > 0
            and (self.needs_review or self.status in (HunkStatus.FUZZ, HunkStatus.WHITESPACE))
        )

    @property
    def to_review(self) -> bool:
        """Written unproven (:attr:`written_unproven`) and not confirmed by a person yet."""
        return self.written_unproven and self.confirmed_at is None

    @property
    def needs_resolution(self) -> bool:
        """Whether a person must decide this hunk's fate (resolved or not)."""
        if self.applied or self.status == HunkStatus.EXCLUDED:
            return False
        if self.status == HunkStatus.ALREADY_APPLIED:
            return self.needs_review
        return self.status in OPEN_STATUSES or self.needs_review

    @property
    def open(self) -> bool:
        """Keeps the gate closed: needs a resolution and has none yet, or has a reused one
        nobody has confirmed."""
        return self.to_review or (
            self.needs_resolution and (self.resolution is None or self.to_confirm)
        )

    def to_json(self) -> dict[str, Any]:
        # The field names looked up once (dataclasses.fields and a type test per field made
        # this a third of writing a stable patch's session); the typed ones converted by name.
        data: dict[str, Any] = {name: getattr(self, name) for name in _HUNK_FIELDS}
        data["status"] = str(self.status)
        if self.resolution is not None:
            data["resolution"] = str(self.resolution)
        for name in ("vendor", "current"):
            region = data[name]
            if region is not None:
                data[name] = {"start": region.start, "text": region.text}
        data["open"] = self.open
        data["to_confirm"] = self.to_confirm
        data["to_review"] = self.to_review
        # ``check --json`` and reports call the hunk's number within its file "index"; say it
        # under that name too so one reader handles all three documents.
        data["index"] = self.number
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionHunk:
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data:
                continue
            value = data[item.name]
            if item.name in ("vendor", "current") and value is not None:
                value = Region(int(value["start"]), str(value["text"]))
            elif item.name == "status":
                value = HunkStatus(value)
            elif item.name == "resolution" and value is not None:
                value = Resolution(value)
            values[item.name] = value
        return cls(**values)


_HUNK_FIELDS = tuple(item.name for item in fields(SessionHunk))


@record
class SessionFile:
    """One file the session touches."""

    path: str
    kind: str
    """The file diff's kind (``modified``, ``new``, ``deleted``, ``renamed``...)."""
    reject_header: str = ""
    """The ``---``/``+++`` lines of its ``.rej`` file (GNU patch's form)."""
    rejects: tuple[tuple[str, str], ...] = ()
    """(hunk id, reject text) for each hunk written to the ``.rej`` file, in order."""
    base_sha256: str | None = None
    """With ``--base``: the SHA-256 of the vanilla file (``absent`` when vanilla lacks it), part
    of where a remembered decision was made."""


@record
class PatchInfo:
    """Which patch this session applies (checked again when ``apply`` continues)."""

    name: str
    paths: tuple[str, ...]
    size: int
    sha256: str


@record
class Pending:
    """A resolution in flight: recorded before the file is written, cleared after the commit."""

    op: str
    hunk_id: str
    action: str
    """A :class:`Resolution` value, or ``undo``."""
    reason: str | None
    before_sha: str
    after_sha: str
    written: str | None
    by: str
    at: str
    reused: bool = False
    memory_id: str | None = None
    memory_previous: str | None = None
    committed_blob: str | None = None
    """The file to commit, when it is not the worktree's: the last commit's file with only the
    region changed (a person's other edits of it stay uncommitted; :mod:`.owncommit`)."""


@record
class SessionWarning:
    """A selection warning (:mod:`patchsmith.kernel.deps`): a kept hunk depends on something
    the selection left out. Open, it closes the gate like an unresolved hunk until a person
    acknowledges it."""

    number: int
    """What ``resolve --ack-warning`` takes (1-based, in the order they are listed)."""
    key: str
    """Identifies the warning across runs of ``apply`` (an acknowledgement is kept by it)."""
    kind: str
    path: str
    """The (first) kept file it is about."""
    message: str
    hunk: int = 0
    """The (first) kept hunk of :attr:`path` it is about."""
    other_path: str | None = None
    """The left-out file it points at."""
    kept_line: str = ""
    other_line: str = ""
    """The evidence: a kept line and the left-out line it depends on."""
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_by is None


@record
class Session:
    """Everything about one apply: where, from what, and every hunk's fate."""

    patch: PatchInfo
    tree: str
    """The source tree (real path). Only ever read."""
    tree_kind: str
    """``git`` (a repository: worktree from its HEAD) or ``plain`` (a repository of our own)."""
    worktree: str
    branch: str
    git_dir: str
    """The repository's common git directory (where the branch lives)."""
    snapshot_commit: str
    """The snapshot of the tree the worktree starts from; ``git diff snapshot_commit..branch`` is
    the result. Kept under its first name, ``base_commit``, in ``session.json`` (every session
    written so far has it); ``base`` is the vanilla tree everywhere else."""
    strip: int
    fuzz: int
    selection: str
    """A one-line summary of the selection options."""
    accept_fuzz: bool
    merge: bool
    base: str | None
    """``--base`` (vanilla tree, tarball or ref), if given."""
    created: str
    phase: Phase = Phase.APPLYING
    applied_commit: str | None = None
    """The "apply clean hunks" commit."""
    files: tuple[SessionFile, ...] = ()
    hunks: tuple[SessionHunk, ...] = ()
    pending: Pending | None = None
    schema: str = SCHEMA
    warnings: tuple[SessionWarning, ...] = ()
    """The selection's dependency warnings (absent from sessions of older patchsmiths)."""
    lineage: str | None = None
    """The vendor tree's lineage (:func:`memory.lineage_of`): where remembered decisions are
    replayed, and recorded with the ones made here."""
    trust_memory: bool = False
    """``apply --trust-memory``: reused resolutions were confirmed without a person."""
    inputs: SelectionInputs | None = None
    """What decided the selection (rules, config and its SHA-256, every file's decision and
    mail), recorded by ``apply``; ``None`` in sessions of older patchsmiths."""

    @property
    def touched(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def hunk(self, hunk_id: str) -> SessionHunk:
        """The hunk with this id (``path#N``); a bare number ``N`` means the N-th hunk listed."""
        for hunk in self.hunks:
            if hunk.id == hunk_id:
                return hunk
        if hunk_id.isdigit() and 1 <= int(hunk_id) <= len(self.hunks):
            return self.hunks[int(hunk_id) - 1]
        matches = [h for h in self.hunks if h.id.endswith("/" + hunk_id) or h.id == hunk_id]
        if len(matches) == 1:
            return matches[0]
        raise SessionError(
            f"no hunk {hunk_id!r} in this session",
            hint="'patchsmith status' lists the hunk ids (like drivers/md/dm.c#2)",
            remedies=(Remedy.LIST,),
        )

    @property
    def open_hunks(self) -> tuple[SessionHunk, ...]:
        return tuple(h for h in self.hunks if h.open)

    @property
    def counts(self) -> dict[str, int]:
        """Hunks by status, and by resolution."""
        out: dict[str, int] = {}
        for hunk in self.hunks:
            out[str(hunk.status)] = out.get(str(hunk.status), 0) + 1
        for hunk in self.hunks:
            if hunk.resolution is not None:
                key = "reused" if hunk.reused else str(hunk.resolution)
                out[key] = out.get(key, 0) + 1
        out["to-confirm"] = sum(1 for h in self.hunks if h.to_confirm and h.needs_resolution)
        out["to-review"] = sum(1 for h in self.hunks if h.to_review)
        out["open"] = len(self.open_hunks)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "phase": str(self.phase),
            "patch": {
                "name": self.patch.name,
                "paths": list(self.patch.paths),
                "size": self.patch.size,
                "sha256": self.patch.sha256,
            },
            "tree": self.tree,
            "tree_kind": self.tree_kind,
            "worktree": self.worktree,
            "branch": self.branch,
            "git_dir": self.git_dir,
            "base_commit": self.snapshot_commit,
            "applied_commit": self.applied_commit,
            "strip": self.strip,
            "fuzz": self.fuzz,
            "selection": self.selection,
            "accept_fuzz": self.accept_fuzz,
            "merge": self.merge,
            "base": self.base,
            "created": self.created,
            "lineage": self.lineage,
            "trust_memory": self.trust_memory,
            "counts": self.counts,
            "files": [
                {
                    "path": f.path,
                    "kind": f.kind,
                    "reject_header": f.reject_header,
                    "rejects": [list(r) for r in f.rejects],
                    "base_sha256": f.base_sha256,
                }
                for f in self.files
            ],
            "hunks": [h.to_json() for h in self.hunks],
            "pending": None if self.pending is None else _plain(self.pending),
            "warnings": [_plain(w) for w in self.warnings],
            "inputs": None if self.inputs is None else self.inputs.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "session") -> Session:
        schema = data.get("schema")
        if schema != SCHEMA:
            raise SessionError(
                f"{source} was written by a different patchsmith (schema {schema!r}, this one"
                f" reads {SCHEMA!r})",
                hint="finish or abort it with the patchsmith that created it, or start again"
                " with 'patchsmith abort' and 'patchsmith apply'",
            )
        try:
            patch = data["patch"]
            pending = data.get("pending")
            return cls(
                schema=schema,
                phase=Phase(data["phase"]),
                patch=PatchInfo(
                    patch["name"], tuple(patch["paths"]), int(patch["size"]), patch["sha256"]
                ),
                tree=data["tree"],
                tree_kind=data["tree_kind"],
                worktree=data["worktree"],
                branch=data["branch"],
                git_dir=data["git_dir"],
                snapshot_commit=data["base_commit"],
                applied_commit=data.get("applied_commit"),
                strip=int(data["strip"]),
                fuzz=int(data["fuzz"]),
                selection=data["selection"],
                accept_fuzz=bool(data["accept_fuzz"]),
                merge=bool(data["merge"]),
                base=data.get("base"),
                created=data["created"],
                lineage=data.get("lineage"),
                trust_memory=bool(data.get("trust_memory", False)),
                files=tuple(
                    SessionFile(
                        f["path"],
                        f["kind"],
                        f.get("reject_header", ""),
                        tuple((a, b) for a, b in f.get("rejects", [])),
                        f.get("base_sha256"),
                    )
                    for f in data["files"]
                ),
                hunks=tuple(SessionHunk.from_json(h) for h in data["hunks"]),
                pending=None if pending is None else Pending(**pending),
                warnings=tuple(SessionWarning(**w) for w in data.get("warnings", [])),
                inputs=None
                if data.get("inputs") is None
                else SelectionInputs.from_json(data["inputs"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SessionError(
                f"{source} is damaged: {error!r}",
                hint="'patchsmith abort' removes the session and its worktree",
            ) from error


def _plain(value: Any) -> dict[str, Any]:
    return {item.name: getattr(value, item.name) for item in fields(value)}


@record
class OpenItem:
    """Something that keeps a session from finishing."""

    kind: str
    """``hunk`` (unresolved), ``confirm`` (a reused resolution no person has confirmed),
    ``reject`` (a ``.rej`` file), ``marker`` (conflict markers in a touched file),
    ``interrupted`` (apply did not finish), ``uncommitted`` (a touched file differs from the
    branch), ``warning`` (a selection warning nobody acknowledged)."""
    path: str
    detail: str
    hunk_id: str | None = None
    warning: int | None = None
    """For a ``warning``: its number (what ``resolve --ack-warning`` takes)."""

    def __str__(self) -> str:
        where = quote_name(self.hunk_id or self.path)
        return f"{self.kind}: {where}: {self.detail}"

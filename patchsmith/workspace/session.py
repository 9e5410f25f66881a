"""Session state: every hunk's fate and resolution, kept in the worktree's git directory.

This is the API the CLI (``status``, ``resolve``, ``finish``), the TUI, the reports and the build
gate call. A session is created by :func:`patchsmith.workspace.apply.apply_patch`; afterwards::

    store = SessionStore.find(Path.cwd())           # or SessionStore.open(path), SessionStore(json)
    session = store.load()                          # -> Session (frozen), recovers a crashed step
    for hunk in session.hunks: hunk.id, hunk.status, hunk.open, hunk.proposal, hunk.resolution
    store.resolve("drivers/md/dm.c#2", Resolution.ACCEPTED)             # the proposal
    store.resolve("drivers/md/dm.c#3", Resolution.DROPPED, reason="already backported")
    store.resolve("drivers/md/dm.c#4", Resolution.EDITED, text="...new region text...")
    store.resolve("drivers/md/dm.c#5", Resolution.UPSTREAM)             # upstream's post-image
    store.undo("drivers/md/dm.c#2")
    store.confirm(["drivers/md/dm.c#6"])   # a reused (remembered) resolution, seen by a person
    store.open_items()      # -> list[OpenItem]: unresolved hunks, reused ones to confirm, .rej
                            #    files, conflict markers, selection warnings nobody acknowledged
    store.next_open()       # -> SessionHunk | None
    store.set_warnings([...]); store.acknowledge_warning(3)     # the selection's warnings
    store.record_inputs(selection_inputs(result))   # what decided the selection (apply has
                                                    # them in its ready write: ApplyOptions.inputs)

Every mutating call returns the new :class:`Session`. Files are written in the worktree only,
each resolution is one commit on the session's branch, and a person's resolution is remembered
for the next run (:mod:`patchsmith.workspace.memory`; ``undo`` takes back what it remembered).
``apply`` replays remembered decisions with :func:`replay`: written and committed at once, but
open (``reused: confirm``) until a person confirms them.

Storage: ``<git dir of the worktree>/patchsmith/session.json`` (never in the tree, never
committed), written atomically (temporary file, fsync, ``os.replace``) under an exclusive
``fcntl.flock`` on ``lock`` beside it; ``"schema": "patchsmith.session/1"``. A resolution first
records its intent (:class:`Pending`), then writes the file, commits, and records the result; a
crash anywhere in between is finished or rolled back by the next :meth:`SessionStore.load`, so the
TUI and the CLI always see one consistent state.

Text fields hold file bytes decoded as UTF-8 with ``surrogateescape``: Latin-1 and other bytes
survive the JSON round trip (:func:`to_bytes` gives the bytes back).

Depends on :mod:`patchsmith.model`, :mod:`patchsmith.errors` and the other workspace modules.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import enum
import errno
import fcntl
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from patchsmith.engine.merge import MARKER_LINE, has_markers
from patchsmith.errors import GitError, InputError, NotRemembered, Remedy, SessionError
from patchsmith.model import HunkStatus, Resolution
from patchsmith.record import record
from patchsmith.workspace import confined, git, memory
from patchsmith.workspace.inputs import SelectionInputs

SCHEMA = "patchsmith.session/1"
SESSION_DIR = "patchsmith"
SESSION_FILE = "session.json"
LOCK_TIMEOUT = 10.0
"""Seconds a mutating call waits for another process's lock before giving up."""

MARKERS = (b"<<<<<<< ", b"||||||| ", b"=======", b">>>>>>> ")


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
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Region):
                value = {"start": value.start, "text": value.text}
            elif isinstance(value, HunkStatus | Resolution):
                value = str(value)
            data[item.name] = value
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
    base_commit: str
    """The snapshot the worktree starts from; ``git diff base..branch`` is the result."""
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
            "base_commit": self.base_commit,
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
                base_commit=data["base_commit"],
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
        where = self.hunk_id or self.path
        return f"{self.kind}: {where}: {self.detail}"


# --- locating a region in a file ----------------------------------------------------------------


def split_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) if b"\r" in data else _split_nl(data)


def _split_nl(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def find_region(lines: list[bytes], region: Region) -> int | None:
    """0-based index where ``region``'s lines are in ``lines``, nearest its recorded start."""
    wanted = split_lines(to_bytes(region.text))
    expected = max(region.start - 1, 0)
    if not wanted:
        return min(expected, len(lines))
    best: int | None = None
    first = wanted[0]
    for index, line in enumerate(lines):
        if line != first or lines[index : index + len(wanted)] != wanted:
            continue
        if best is None or abs(index - expected) < abs(best - expected):
            best = index
    return best


def replace_region(data: bytes, region: Region, new_text: bytes) -> tuple[bytes, int]:
    """``data`` with ``region`` replaced by ``new_text``, and where (0-based line) it was."""
    lines = split_lines(data)
    at = find_region(lines, region)
    if at is None:
        raise SessionError(
            f"the lines this hunk replaces (from line {region.start}) are no longer in the file",
            hint="the file was changed by hand in the worktree ('git diff' there shows how): "
            "put the hunk's lines back and resolve again",
            remedies=(Remedy.RESTORE,),
        )
    count = region.count
    return b"".join(lines[:at]) + new_text + b"".join(lines[at + count :]), at


# --- the store ------------------------------------------------------------------------------------


def session_path(git_dir: Path) -> Path:
    """Where the session of the worktree whose git dir is ``git_dir`` lives."""
    return git_dir / SESSION_DIR / SESSION_FILE


def _sha(data: bytes | None) -> str:
    return "absent" if data is None else hashlib.sha256(data).hexdigest()


class SessionStore:
    """Reads, locks, recovers and changes one session. Cheap to create; holds no open files."""

    def __init__(self, path: Path, from_tree: str | None = None) -> None:
        self.path = Path(path)
        """The ``session.json`` file."""
        self.from_tree = from_tree
        """The session's worktree, when :meth:`find` found it from the tree the session was
        made from rather than from inside the worktree (the CLI says so)."""

    # -- finding one --

    @classmethod
    def find(cls, start: Path) -> SessionStore:
        """The session of the worktree ``start`` is in (a directory inside it, or the
        worktree); else, from the tree a session was made from (or a folder inside it), that
        tree's session, when it has exactly one."""
        try:
            git_dir: Path | None = git.git_dir_of(start)
        except GitError:
            git_dir = None
        if git_dir is not None and session_path(git_dir).exists():
            return cls(session_path(git_dir))
        found = cls.of_tree(start)
        if len(found) == 1:
            return found[0]
        if found:
            listed = ", ".join(str(store.from_tree) for store in found)
            raise SessionError(
                f"{start} has {len(found)} patchsmith sessions: {listed}",
                hint="pass --session WORKTREE for the one you mean",
            )
        if git_dir is None:
            # Not being in a worktree is a usage matter (exit 2), not a failure of git.
            raise SessionError(
                f"no patchsmith session here: {start} is not inside a git worktree, nor in a "
                "tree patchsmith has applied to",
                hint="run from inside the worktree 'patchsmith apply' made, or pass --session PATH",
            )
        raise SessionError(
            f"no patchsmith session in the worktree at {start}",
            hint="run 'patchsmith apply PATCH --tree DIR' first, or pass --session PATH",
        )

    @classmethod
    def of_tree(cls, start: Path) -> list[SessionStore]:
        """The sessions made from the tree ``start`` is in (see :func:`git.repositories_for`):
        worktrees with a session whose source tree holds ``start``."""
        real = os.path.realpath(start)
        stores: list[SessionStore] = []
        for repository in git.repositories_for(start):
            for worktree in git.worktrees(repository):
                if not worktree.is_dir():
                    continue  # a worktree deleted by hand; 'git worktree prune' forgets it
                path = session_path(git.git_dir_of(worktree))
                if not path.exists():
                    continue
                session = cls(path).read()
                tree = os.path.realpath(session.tree)
                if real == tree or real.startswith(tree.rstrip(os.sep) + os.sep):
                    stores.append(cls(path, from_tree=session.worktree))
        return stores

    @classmethod
    def open(cls, where: Path) -> SessionStore:
        """A session from ``--session``: the ``session.json`` file or a worktree directory."""
        if where.is_file():
            return cls(where)
        if where.is_dir():
            return cls.find(where)
        raise SessionError(f"{where}: no such session", hint="pass the worktree or session.json")

    # -- locking and storage --

    @property
    def lock_path(self) -> Path:
        return self.path.parent / "lock"

    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the session's lock (exclusive, across processes) for the block; a session
        folder that cannot be written (a read-only data home) is a typed error up front."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "Permission denied")
            handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise SessionError(
                f"cannot write the session in {self.path.parent}: {error.strerror or error}",
                hint="the session of a plain tree lives in patchsmith's data directory "
                "($XDG_DATA_HOME/patchsmith): make it writable again (or use the "
                "XDG_DATA_HOME the session was made with)",
            ) from error
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise SessionError(
                            "another patchsmith process is working on this session",
                            hint="wait for it to finish (or close the other terminal's TUI)",
                            remedies=(Remedy.WAIT,),
                        ) from error
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)

    def read(self) -> Session:
        """The session as stored, without recovery or locking (atomic writes make this safe)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError as error:
            raise SessionError(
                f"no session at {self.path}",
                hint="run 'patchsmith apply PATCH --tree DIR' first",
            ) from error
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise SessionError(
                f"{self.path} is not valid JSON ({error})",
                hint="'patchsmith abort' removes the session and its worktree",
            ) from error
        if not isinstance(data, dict):
            raise SessionError(f"{self.path} is not a patchsmith session")
        return Session.from_json(data, str(self.path))

    def write(self, session: Session) -> None:
        """Store ``session`` atomically (call with the lock held)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(session.to_json(), indent=1, ensure_ascii=True).encode("ascii")
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def load(self) -> Session:
        """The session, with a crashed resolution finished or rolled back first."""
        session = self.read()
        if session.pending is None:
            return session
        try:
            with self.locked(timeout=0.5):
                return self._recover(self.read())
        except SessionError:
            return session  # another process holds it and will finish its own step

    # -- reading --

    def open_items(self, stored: Session | None = None) -> list[OpenItem]:
        """What keeps the session from finishing: the build gate's and ``finish``'s question.

        ``stored``: the session as the caller has just written it (apply) or loaded it (the
        TUI, which reads it once for both), so the store is not read again (6 MB of JSON for a
        stable patch); with a resolution pending, it is.
        """
        session = stored if stored is not None and stored.pending is None else self.load()
        items: list[OpenItem] = []
        if session.phase == Phase.APPLYING:
            items.append(
                OpenItem(
                    "interrupted",
                    session.worktree,
                    "apply did not finish; run the same 'patchsmith apply' again to continue",
                )
            )
        for hunk in session.open_hunks:
            if hunk.to_confirm:
                items.append(OpenItem("confirm", hunk.path, reuse_summary(hunk), hunk.id))
            elif hunk.to_review:
                items.append(OpenItem("hunk", hunk.path, review_summary(hunk), hunk.id))
            else:
                items.append(OpenItem("hunk", hunk.path, f"{hunk.status}: {hunk.reason}", hunk.id))
        worktree = Path(session.worktree)
        for path in session.touched:
            # Read as apply writes: no link followed (a .rej or a marker beyond a link is not
            # the worktree's, and is not read).
            if _exists(worktree, path + ".rej"):
                items.append(OpenItem("reject", path + ".rej", "reject file left in the worktree"))
            data = _read(worktree, path)
            if data is not None and has_markers(data):
                line = data[: MARKER_LINE.search(data).start()].count(b"\n") + 1  # type: ignore[union-attr]
                items.append(OpenItem("marker", path, f"conflict marker at line {line}"))
        if session.phase != Phase.APPLYING and worktree.exists():
            dirty = set(git.changed_paths(worktree))
            for path in session.touched:
                if path in dirty and not any(i.path == path and i.kind == "marker" for i in items):
                    items.append(OpenItem("uncommitted", path, "changed since the last commit"))
        for warning in session.warnings:
            if warning.open:
                detail = (
                    f"selection warning [{warning.number}]: {warning.message}; read it, then "
                    f"'patchsmith resolve --ack-warning {warning.number}'"
                )
                items.append(OpenItem("warning", warning.path, detail, warning=warning.number))
        return items

    def next_open(self) -> SessionHunk | None:
        hunks = self.load().open_hunks
        return hunks[0] if hunks else None

    # -- changing --

    def resolve(
        self,
        hunk_id: str,
        action: Resolution,
        reason: str | None = None,
        text: str | None = None,
        *,
        by: str | None = None,
        at: str | None = None,
        remember: bool = True,
        memory_folder: Path | None = None,
    ) -> Session:
        """Settle one hunk; write the file, commit it, remember the decision.

        ``ACCEPTED`` writes the proposal (refused while it has conflict markers), ``UPSTREAM``
        upstream's post-image, ``DROPPED`` keeps the vendor's lines (``reason`` required),
        ``EDITED`` writes ``text``. A hunk that is already resolved is undone first (and what
        that resolution remembered is taken back). With ``remember``, a memory that cannot be
        written stops the call before anything changes.
        """
        store = memory.Memory(memory_folder)
        if remember:
            store.require_writable()
        with self.locked():
            session = self._recover(self.read())
            self._require_ready(session)
            hunk = session.hunk(hunk_id)
            if hunk.written_unproven:
                raise SessionError(
                    f"{hunk.id} is written already (apply --accept-fuzz, {hunk.status})",
                    hint=f"read it in the worktree, then confirm it: 'patchsmith resolve "
                    f"{hunk.id} --confirm'; to change it, edit the file and commit",
                    remedies=(Remedy.CONFIRM,),
                )
            if not hunk.needs_resolution:
                raise SessionError(
                    f"{hunk.id} needs no resolution ({hunk.status}"
                    f"{', applied' if hunk.applied else ''})",
                    hint="'patchsmith status' shows which hunks are open",
                    remedies=(Remedy.LIST,),
                )
            if hunk.resolution is not None:
                # Refuse before taking the old resolution back: a resolution that cannot be
                # made must leave the hunk exactly as it was.
                self._replacement(replace(hunk, resolution=None), action, reason, text)
                _forget(store, hunk)
                session = self._undo(session, hunk)
                hunk = session.hunk(hunk.id)
            replacement = self._replacement(hunk, action, reason, text)
            decision = memory.Decision(action, reason, replacement, by or _who(), at or now())
            entry = _entry(session, hunk, decision) if remember else None
            previous = store.raw(entry.id, entry.situation) if entry is not None else None
            session = self._change(
                session,
                hunk,
                str(action),
                reason,
                replacement,
                by=decision.by,
                at=decision.at,
                reused=False,
                memory_id=entry.id if entry is not None else None,
                memory_previous=previous,
            )
            # After the resolution is recorded: a crash before this line forgets the decision,
            # which is safe; remembering one that was never made would not be.
            if entry is not None:
                try:
                    store.put(entry)
                except InputError as error:
                    # The check before the resolution passed, so the data home changed since:
                    # the resolution stands, and not being remembered is said, never silent.
                    raise NotRemembered(
                        f"{hunk.id}: {action} is recorded and committed, but not remembered: "
                        f"{error.message}",
                        hint="the next apply onto this tree will ask about this hunk again; to "
                        "have it remembered, make the data home writable, then 'patchsmith "
                        f"resolve {hunk.id} --undo' and resolve it again",
                        remedies=(Remedy.UNDO,),
                    ) from error
        return session

    def set_warnings(self, warnings: tuple[SessionWarning, ...]) -> Session:
        """Record the selection's warnings; one acknowledged before (same key) stays so."""
        with self.locked():
            session = self.read()
            known = {w.key: w for w in session.warnings if not w.open}
            kept = tuple(
                replace(
                    w,
                    acknowledged_by=known[w.key].acknowledged_by,
                    acknowledged_at=known[w.key].acknowledged_at,
                )
                if w.key in known
                else w
                for w in warnings
            )
            session = replace(session, warnings=kept)
            self.write(session)
            return session

    def record_inputs(self, inputs: SelectionInputs) -> Session:
        """Keep what decided the selection with the session (``apply`` calls it)."""
        with self.locked():
            session = replace(self.read(), inputs=inputs)
            self.write(session)
            return session

    def acknowledge_warning(self, number: int, by: str | None = None) -> Session:
        """Mark selection warning ``number`` as read by a person: it no longer closes the gate."""
        with self.locked():
            session = self.read()
            found = [w for w in session.warnings if w.number == number]
            if not found:
                listed = len(session.warnings)
                raise SessionError(
                    f"no selection warning {number} in this session ({listed} warnings)",
                    hint="'patchsmith status' lists them with their numbers",
                    remedies=(Remedy.LIST,),
                )
            if not found[0].open:
                return session
            acknowledged = replace(found[0], acknowledged_by=by or _who(), acknowledged_at=now())
            session = replace(
                session,
                warnings=tuple(acknowledged if w.number == number else w for w in session.warnings),
            )
            self.write(session)
            return session

    def undo(self, hunk_id: str, memory_folder: Path | None = None) -> Session:
        """Take back a hunk's resolution: the file returns to what it was, in a new commit, and
        what the resolution added to memory is taken back first (a reused one stays
        remembered: ``patchsmith memory forget`` forgets it)."""
        store = memory.Memory(memory_folder)
        with self.locked():
            session = self._recover(self.read())
            self._require_ready(session)
            hunk = session.hunk(hunk_id)
            if hunk.resolution is None:
                raise SessionError(f"{hunk.id} has no resolution to undo")
            _forget(store, hunk)
            return self._undo(session, hunk)

    def confirm(
        self, hunk_ids: list[str] | None = None, by: str | None = None, at: str | None = None
    ) -> tuple[Session, list[str]]:
        """Confirm reused resolutions and hunks ``apply --accept-fuzz`` wrote: the named ones,
        or (``None``) every one waiting. One write of the session; the files are already as
        the resolutions (or apply) left them."""
        with self.locked():
            session = self._recover(self.read())
            self._require_ready(session)
            if hunk_ids is None:
                chosen = [h.id for h in session.hunks if h.to_confirm or h.to_review]
            else:
                chosen = []
                for hunk_id in hunk_ids:
                    hunk = session.hunk(hunk_id)
                    if not (hunk.to_confirm or hunk.to_review):
                        raise SessionError(
                            f"{hunk.id} has no reused resolution to confirm, and was not "
                            "written with fuzz to be reviewed",
                            hint="'patchsmith status' marks them 'reused: confirm' and "
                            "'by --accept-fuzz: REVIEW'",
                            remedies=(Remedy.LIST,),
                        )
                    chosen.append(hunk.id)
            if not chosen:
                return session, []
            who, when = by or _who(), at or now()
            wanted = set(chosen)
            result = replace(
                session,
                hunks=tuple(
                    replace(h, confirmed_by=who, confirmed_at=when) if h.id in wanted else h
                    for h in session.hunks
                ),
            )
            self.write(result)
            return result, chosen

    # -- internals --

    @staticmethod
    def _require_ready(session: Session) -> None:
        if session.phase == Phase.APPLYING:
            raise SessionError(
                "apply did not finish for this session",
                hint="run the same 'patchsmith apply' again to continue, or 'patchsmith abort'",
                remedies=(Remedy.REAPPLY,),
            )
        if session.phase == Phase.FINISHED:
            raise SessionError(
                "this session is finished",
                hint="start a new one with apply",
                remedies=(Remedy.REAPPLY,),
            )

    @staticmethod
    def _replacement(
        hunk: SessionHunk, action: Resolution, reason: str | None, text: str | None
    ) -> str | None:
        """What goes in place of ``hunk.current`` (``None``: the file is left as it is)."""
        if action == Resolution.DROPPED:
            if not reason:
                raise SessionError(
                    "dropping a hunk needs a reason",
                    hint="pass --reason TEXT (e.g. 'backported')",
                    remedies=(Remedy.DROP,),
                )
            if hunk.current is not None and hunk.vendor is not None:
                return hunk.vendor.text
            return None
        if hunk.current is None:
            if action == Resolution.UPSTREAM and hunk.status == HunkStatus.FILE_EXISTS:
                return hunk.post_image
            raise SessionError(
                f"{hunk.id} has no place in the file to write to ({hunk.status})",
                hint="drop it with --drop --reason TEXT, or change the file by hand in the"
                " worktree, commit, and drop it with the reason",
                remedies=(Remedy.DROP,),
            )
        if action == Resolution.ACCEPTED:
            if hunk.proposal is None:
                raise SessionError(
                    f"{hunk.id} has no proposal",
                    hint="use --upstream or --edit",
                    remedies=(Remedy.UPSTREAM, Remedy.EDIT),
                )
            if hunk.proposal_conflicts:
                raise SessionError(
                    f"the proposal for {hunk.id} still has conflict markers",
                    hint="resolve it with --edit (the markers show what to choose)",
                    remedies=(Remedy.PICK, Remedy.EDIT, Remedy.UPSTREAM),
                )
            return hunk.proposal
        if action == Resolution.UPSTREAM:
            return hunk.post_image
        if action == Resolution.EDITED:
            if text is None:
                raise SessionError("an edit needs the new text")
            if has_markers(to_bytes(text)):
                raise SessionError(
                    "the edited text still has conflict markers",
                    hint="remove the <<<<<<< ||||||| ======= >>>>>>> lines",
                    remedies=(Remedy.EDIT,),
                )
            return text
        raise SessionError(f"unknown resolution {action!r}")

    def _change(
        self,
        session: Session,
        hunk: SessionHunk,
        action: str,
        reason: str | None,
        replacement: str | None,
        *,
        by: str,
        at: str,
        reused: bool,
        memory_id: str | None = None,
        memory_previous: str | None = None,
    ) -> Session:
        worktree = Path(session.worktree)
        try:
            before = confined.read_file(worktree, hunk.path)
            blocked: confined.Blocked | None = None
        except confined.Blocked as error:
            # Beyond a link or a file: nothing there is the worktree's. What writes nothing (a
            # drop of a hunk with no region) may go ahead; what writes is refused, with why.
            before, blocked = None, error
        after = before
        if replacement is not None:
            if blocked is not None:
                raise blocked
            if action == "undo":
                assert hunk.written is not None and hunk.current is not None
                region = Region(hunk.current.start, hunk.written)
                after, _ = replace_region(before or b"", region, to_bytes(hunk.current.text))
            elif hunk.current is None:
                after = to_bytes(replacement)
            else:
                after, _ = replace_region(before or b"", hunk.current, to_bytes(replacement))
        op = uuid.uuid4().hex
        pending = Pending(
            op=op,
            hunk_id=hunk.id,
            action=action,
            reason=reason,
            before_sha=_sha(before),
            after_sha=_sha(after),
            written=replacement,
            by=by,
            at=at,
            reused=reused,
            memory_id=memory_id,
            memory_previous=memory_previous,
        )
        self.write(replace(session, pending=pending))
        if after != before and after is not None:
            confined.write_file(worktree, hunk.path, after)
        return self._commit_and_record(replace(session, pending=pending))

    def _commit_and_record(self, session: Session) -> Session:
        pending = session.pending
        assert pending is not None
        worktree = Path(session.worktree)
        hunk = session.hunk(pending.hunk_id)
        verb = "undo" if pending.action == "undo" else f"resolve ({pending.action})"
        message = f"patchsmith: {verb} {hunk.id}"
        if pending.reason:
            message += f"\n\n{pending.reason}"
        message += f"\n\nPatchsmith-Op: {pending.op}"
        git.commit_paths(worktree, [hunk.path], message)
        return self._record_only(session, hunk, pending)

    def _rewrite_reject(self, session: Session, hunk: SessionHunk, pending: Pending) -> None:
        """Keep ``path.rej`` listing exactly the file's unresolved rejected hunks."""
        worktree = Path(session.worktree)
        for file in session.files:
            if file.path != hunk.path or not file.rejects:
                continue
            resolved = {h.id for h in session.hunks if h.resolution is not None}
            if pending.action == "undo":
                resolved.discard(hunk.id)
            else:
                resolved.add(hunk.id)
            left = [text for hunk_id, text in file.rejects if hunk_id not in resolved]
            _put_reject(worktree, file, left)

    def _undo(self, session: Session, hunk: SessionHunk) -> Session:
        replacement = hunk.written if hunk.current is not None else None
        if hunk.current is not None and hunk.written is None:
            replacement = None
        return self._change(
            session,
            hunk,
            "undo",
            None,
            replacement,
            by=_who(),
            at=now(),
            reused=False,
        )

    def _recover(self, session: Session) -> Session:
        """Finish or roll back a resolution a crash interrupted (call with the lock held)."""
        pending = session.pending
        if pending is None:
            return session
        worktree = Path(session.worktree)
        if f"Patchsmith-Op: {pending.op}" in git.last_message(worktree):
            # Committed; only the session update was lost.
            return self._record_only(session, session.hunk(pending.hunk_id), pending)
        current = _sha(_read(worktree, session.hunk(pending.hunk_id).path))
        if current == pending.after_sha:
            return self._commit_and_record(session)
        # Not written (or changed by hand since): forget the intent, keep the file as it is.
        result = replace(session, pending=None)
        self.write(result)
        return result

    def _record_only(self, session: Session, hunk: SessionHunk, pending: Pending) -> Session:
        self._rewrite_reject(session, hunk, pending)
        if pending.action == "undo":
            updated = replace(
                hunk,
                resolution=None,
                resolution_reason=None,
                resolved_by=None,
                resolved_at=None,
                reused=False,
                written=None,
                confirmed_by=None,
                confirmed_at=None,
                trusted=False,
                memory_id=None,
                memory_previous=None,
            )
        else:
            updated = replace(
                hunk,
                resolution=Resolution(pending.action),
                resolution_reason=pending.reason,
                resolved_by=pending.by,
                resolved_at=pending.at,
                reused=pending.reused,
                written=pending.written,
                confirmed_by=None,
                confirmed_at=None,
                trusted=False,
                memory_id=pending.memory_id,
                memory_previous=pending.memory_previous,
            )
        result = replace(
            session,
            hunks=tuple(updated if h.id == hunk.id else h for h in session.hunks),
            pending=None,
        )
        self.write(result)
        return result


def _who() -> str:
    name, email = git.identity()
    return f"{name} <{email}>"


# --- resolution memory --------------------------------------------------------------------------


def situation_of(hunk: SessionHunk) -> memory.Situation:
    """The small record of a hunk resolution memory works with."""
    return memory.Situation(
        hunk_id=hunk.id,
        path=hunk.path,
        status=str(hunk.status),
        pre_image=hunk.pre_image,
        post_image=hunk.post_image,
        vendor=hunk.vendor.text if hunk.vendor is not None else None,
        vendor_start=hunk.vendor.start if hunk.vendor is not None else 0,
    )


def base_of(session: Session, path: str) -> str | None:
    """The vanilla file's digest for ``path`` when the session has a base."""
    if session.base is None:
        return None
    for file in session.files:
        if file.path == path:
            return file.base_sha256
    return None


def lineage(session: Session) -> str:
    """The session's lineage (worked out again for a session made before it was recorded)."""
    return session.lineage or memory.lineage_of(Path(session.tree), session.tree_kind)


def _entry(session: Session, hunk: SessionHunk, decision: memory.Decision) -> memory.Entry | None:
    """What memory keeps of a person's decision on ``hunk``: its place in the file as apply
    left it (read from the "apply clean hunks" commit, so conflict markers and other
    resolutions in the worktree do not count)."""
    if session.applied_commit is None:
        return None
    situation = situation_of(hunk)
    data = git.show_file(Path(session.worktree), session.applied_commit, hunk.path)
    place, _same = memory.place_of(situation, data, base_of(session, hunk.path))
    return memory.Entry(
        lineage=lineage(session),
        path=hunk.path,
        status=str(hunk.status),
        pre_image=hunk.pre_image,
        post_image=hunk.post_image,
        vendor=situation.vendor,
        place=place,
        decision=decision,
        patch=session.patch.name,
        hunk_id=hunk.id,
        tree=session.tree,
    )


def _forget(store: memory.Memory, hunk: SessionHunk) -> None:
    """Take back what a person's resolution of ``hunk`` added to memory (before the undo, so a
    failure leaves both as they were)."""
    if hunk.memory_id is None or hunk.reused:
        return
    situation = memory.situation_key(
        hunk.pre_image,
        hunk.post_image,
        hunk.vendor.text if hunk.vendor is not None else None,
        str(hunk.status),
    )
    try:
        store.restore(hunk.memory_id, situation, hunk.memory_previous)
    except InputError as error:
        # memory's own hint offers --no-remember, which cannot help here: the decision is
        # already remembered, and keeping it after the undo would replay a decision taken back.
        raise InputError(
            f"{error.message}; {hunk.id}'s resolution is remembered there, and taking it back "
            "must forget it",
            hint="nothing was changed: make the data home writable (XDG_DATA_HOME) and run it "
            "again",
        ) from error


def review_summary(hunk: SessionHunk) -> str:
    """What became of a hunk ``apply --accept-fuzz`` wrote: open, and how to close it, or who
    confirmed it."""
    where = f" at line {hunk.found_line}" if hunk.found_line is not None else ""
    if not hunk.to_review:
        return (
            f"{hunk.status}: written{where} by apply --accept-fuzz, reviewed by "
            f"{hunk.confirmed_by} at {hunk.confirmed_at}"
        )
    return (
        f"{hunk.status}: written{where} by apply --accept-fuzz, reviewed by nobody "
        f"({hunk.reason}); read it, then 'patchsmith resolve {hunk.id} --confirm'"
    )


def reuse_summary(hunk: SessionHunk) -> str:
    """``reused: confirm (upstream by A <a@b> at 2025-...)`` and the like."""
    said = f"{hunk.resolution} by {hunk.resolved_by or 'someone'} at {hunk.resolved_at or '?'}"
    if hunk.to_confirm:
        state = "reused: confirm"
    elif hunk.trusted:
        state = "reused, trusted (apply --trust-memory)"
    else:
        state = f"reused, confirmed by {hunk.confirmed_by} at {hunk.confirmed_at}"
    return f"{state} ({said})"


def reuse_diff(hunk: SessionHunk) -> str:
    """The diff a resolution produces in the file here: the region as apply left it against
    what the resolution wrote, with the file's line numbers (empty when it changed nothing)."""
    before = hunk.current.text if hunk.current is not None else ""
    after = hunk.written if hunk.written is not None else before
    if before == after:
        return ""
    shift = (hunk.current.start - 1) if hunk.current is not None else 0

    def renumber(match: re.Match[str]) -> str:
        old, new = int(match.group(1)) + shift, int(match.group(3)) + shift
        return f"@@ -{old}{match.group(2)} +{new}{match.group(4)} @@"

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{hunk.path}",
        f"b/{hunk.path}",
        n=3,
    )
    out = []
    for line in lines:
        if line.startswith("@@"):
            line = _RANGES.sub(renumber, line)
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


# A unified hunk header's ranges:   @@ -12,4 +12,5 @@
_RANGES = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


def find_reuse(
    session: Session, memory_folder: Path | None = None
) -> tuple[list[memory.Verdict], dict[str, str]]:
    """What memory has for the session's open hunks: the decisions to replay, and a note for
    each hunk with only a suggestion. Reads the memory folder once and, for the hunks it has
    something for, their files once (as apply left them); nothing else."""
    store = memory.Memory(memory_folder)
    hunks = [h for h in session.open_hunks if h.resolution is None]
    keys = {
        h.id: memory.situation_key(
            h.pre_image,
            h.post_image,
            h.vendor.text if h.vendor is not None else None,
            str(h.status),
        )
        for h in hunks
    }
    found = store.candidates(keys.values())
    if not found:
        return [], {}
    worktree = Path(session.worktree)
    check = memory.LineageCheck(lineage(session), Path(session.git_dir))
    wanted = [h.path for h in hunks if found.get(keys[h.id])]
    files: dict[str, bytes | None] = (
        git.show_files(worktree, session.applied_commit, wanted)
        if session.applied_commit is not None
        else dict.fromkeys(wanted)
    )
    reuse: list[memory.Verdict] = []
    notes: dict[str, str] = {}
    for hunk in hunks:
        entries = found.get(keys[hunk.id])
        if not entries:
            continue
        situation = situation_of(hunk)
        place, same = memory.place_of(situation, files[hunk.path], base_of(session, hunk.path))
        verdicts = [memory.judge(e, situation, place, same, check) for e in entries]
        chosen = next((v for v in verdicts if v.reuse), None)
        if chosen is not None:
            reuse.append(chosen)
            notes[hunk.id] = chosen.note
        else:
            # The closest suggestion, the latest of equally close ones.
            closest = max(verdicts, key=lambda v: (v.closeness, v.entry.decision.at, v.entry.id))
            notes[hunk.id] = closest.note
    return reuse, notes


def replay(
    session: Session,
    reuse: list[memory.Verdict],
    notes: dict[str, str],
    *,
    trust: bool = False,
    by: str | None = None,
    at: str | None = None,
) -> Session:
    """Write the remembered decisions into the worktree: one write per file, one commit for
    all, no write of the session (the caller writes it once). A decision whose region is not
    exactly where the session says, or overlaps another's, is left open with a note."""
    worktree = Path(session.worktree)
    by_path: dict[str, list[tuple[SessionHunk, memory.Verdict]]] = {}
    for verdict in reuse:
        hunk = session.hunk(verdict.hunk_id)
        by_path.setdefault(hunk.path, []).append((hunk, verdict))
    done: dict[str, SessionHunk] = {}
    changed: list[str] = []
    for path, items in by_path.items():
        data = _read(worktree, path)
        lines = split_lines(data or b"")
        chosen: list[tuple[SessionHunk, memory.Verdict]] = []
        whole: bytes | None = None
        end_of_previous = 0
        for hunk, verdict in sorted(items, key=lambda i: i[0].current.start if i[0].current else 0):
            written = verdict.entry.decision.written
            if hunk.current is None:
                if written is None:
                    chosen.append((hunk, verdict))
                elif hunk.status == HunkStatus.FILE_EXISTS and len(items) == 1:
                    whole = to_bytes(written)
                    chosen.append((hunk, verdict))
                else:
                    notes[hunk.id] = verdict.note + "; not replayed: it has no place to write"
                continue
            start = hunk.current.start - 1
            region = split_lines(to_bytes(hunk.current.text))
            if start < end_of_previous or lines[start : start + len(region)] != region:
                notes[hunk.id] = verdict.note + "; not replayed: its region moved or overlaps"
                continue
            end_of_previous = start + len(region)
            chosen.append((hunk, verdict))
        after = lines
        for hunk, verdict in reversed(chosen):
            written = verdict.entry.decision.written
            if hunk.current is None or written is None:
                continue
            start = hunk.current.start - 1
            count = len(split_lines(to_bytes(hunk.current.text)))
            after = after[:start] + split_lines(to_bytes(written)) + after[start + count :]
        new = whole if whole is not None else b"".join(after)
        if chosen and (new != (data or b"") or whole is not None):
            # No fsync: until the caller writes the session, a crash leaves it "applying", and
            # the next apply starts again from the base.
            confined.write_file(worktree, path, new, sync=False)
            changed.append(path)
        for hunk, verdict in chosen:
            decision = verdict.entry.decision
            written = decision.written if hunk.current is not None or whole is not None else None
            done[hunk.id] = replace(
                hunk,
                resolution=decision.resolution,
                resolution_reason=decision.reason,
                resolved_by=decision.by or None,
                resolved_at=decision.at or None,
                reused=True,
                written=written,
                confirmed_by=(by or _who()) if trust else None,
                confirmed_at=(at or now()) if trust else None,
                trusted=trust,
                memory_id=verdict.entry.id,
                memory_previous=None,
            )
    hunks = tuple(
        replace(done.get(h.id, h), memory_note=notes[h.id]) if h.id in notes else h
        for h in session.hunks
    )
    result = replace(session, hunks=hunks, trust_memory=trust)
    if done:
        paths = sorted({h.path for h in done.values()})
        listed = "\n".join(f"  {hunk_id}" for hunk_id in done)
        _write_rejects(result, paths)
        git.commit_paths(
            worktree,
            changed,
            f"patchsmith: replay {len(done)} remembered resolution(s)"
            + (" (trusted: apply --trust-memory)" if trust else " (to confirm)")
            + f"\n\n{listed}",
        )
    return result


def _read(worktree: Path, path: str) -> bytes | None:
    """A regular file's bytes in the worktree, read without following a link: ``None`` for a
    link, a missing file or a path beyond a link or a file."""
    try:
        return confined.read_file(worktree, path)
    except confined.Blocked:
        return None


def _exists(worktree: Path, path: str) -> bool:
    """Whether anything is at ``path`` in the worktree itself (not beyond a link)."""
    try:
        return confined.lstat(worktree, path) is not None
    except confined.Blocked:
        return False


def _put_reject(worktree: Path, file: SessionFile, left: list[str], *, sync: bool = True) -> None:
    """``file.rej`` holding the rejected hunks ``left``, or no ``.rej`` when none is left;
    through the confined writer (a .rej beyond a link is neither written nor removed)."""
    reject = file.path + ".rej"
    if not confined.reachable(worktree, reject):
        return  # beyond a link or a file, as apply leaves it: no .rej can be there
    if left:
        confined.write_file(
            worktree, reject, to_bytes(file.reject_header + "".join(left)), sync=sync
        )
    elif _exists(worktree, reject):
        confined.remove(worktree, reject)


def _write_rejects(session: Session, paths: list[str]) -> list[str]:
    """Make each ``path.rej`` list exactly the file's rejected hunks without a resolution."""
    worktree = Path(session.worktree)
    resolved = {h.id for h in session.hunks if h.resolution is not None}
    wanted = set(paths)
    touched: list[str] = []
    for file in session.files:
        if file.path not in wanted or not file.rejects:
            continue
        left = [text for hunk_id, text in file.rejects if hunk_id not in resolved]
        _put_reject(worktree, file, left, sync=False)
        touched.append(file.path + ".rej")
    return touched


__all__ = [
    "SCHEMA",
    "OpenItem",
    "PatchInfo",
    "Pending",
    "Phase",
    "Region",
    "Session",
    "SessionFile",
    "SessionHunk",
    "SessionStore",
    "has_markers",
    "session_path",
    "to_bytes",
    "to_text",
]

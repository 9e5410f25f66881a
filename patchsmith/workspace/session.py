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

This module is the store. The records it reads and writes are defined in
:mod:`patchsmith.workspace.records` and re-exported here (import them from here); the region a
resolution replaces and the ``.rej`` files are :mod:`patchsmith.workspace.regions`; what
resolution memory knows about a hunk is :mod:`patchsmith.workspace.reuse`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from patchsmith.engine.merge import has_markers
from patchsmith.engine.tree import points_outside
from patchsmith.errors import GitError, InputError, NotRemembered, Remedy, SessionError
from patchsmith.model import HunkStatus, Resolution
from patchsmith.quoting import quote_name
from patchsmith.workspace import confined, git, memory
from patchsmith.workspace.inputs import SelectionInputs
from patchsmith.workspace.markers import first_open_marker, open_markers
from patchsmith.workspace.owncommit import carry, commit_blob, store_blob
from patchsmith.workspace.records import (
    OPEN_STATUSES,
    SCHEMA,
    OpenItem,
    PatchInfo,
    Pending,
    Phase,
    Region,
    Session,
    SessionFile,
    SessionHunk,
    SessionWarning,
    now,
    to_bytes,
    to_text,
)
from patchsmith.workspace.regions import (
    KnownWorktree,
    find_region,
    in_worktree,
    put_reject,
    read_worktree_file,
    region_lines,
    replace_region,
    write_rejects,
)
from patchsmith.workspace.reuse import (
    forget_remembered,
    memory_entry,
    reuse_summary,
    review_summary,
)

__all__ = [
    "OPEN_STATUSES",
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
    "SessionWarning",
    "has_markers",
    "marker_baselines",
    "now",
    "region_open_marker",
    "replay",
    "session_path",
    "to_bytes",
    "to_text",
]


SESSION_DIR = "patchsmith"
SESSION_FILE = "session.json"
LOCK_TIMEOUT = 10.0
"""Seconds a mutating call waits for another process's lock before giving up."""


def _open_markers(session: Session, marked: dict[str, bytes]) -> dict[str, int]:
    """Path -> the first marker line of it that is a conflict left open, for the files in
    ``marked`` (those holding a marker line): one the snapshot and the applied commit do not
    hold at that place (:mod:`patchsmith.workspace.markers`). A commit git cannot read counts
    as holding nothing, so every marker line stays open."""
    if not marked:
        return {}
    baselines = _baselines(session, list(marked))
    found: dict[str, int] = {}
    for path, data in marked.items():
        line = first_open_marker(data, [baseline.get(path) for baseline in baselines])
        if line is not None:
            found[path] = line
    return found


def _baselines(session: Session, paths: list[str]) -> list[dict[str, bytes | None]]:
    """``paths`` as the snapshot and as the applied commit hold them: what a marker line is
    held against. A commit git cannot read is left out (it holds nothing)."""
    worktree = Path(session.worktree)
    baselines: list[dict[str, bytes | None]] = []
    for commit in (session.snapshot_commit, session.applied_commit):
        if commit is None:
            continue
        try:
            baselines.append(git.show_files(worktree, commit, paths))
        except (GitError, ValueError):
            continue
    return baselines


def _outside_link(worktree: Path, path: str) -> tuple[str, bytes] | None:
    """(where, target) of a symlink at touched ``path``, or in its place on the way to it,
    whose target leaves the worktree (:func:`points_outside`, the rule apply holds every link
    the patch makes to); ``None`` when there is none."""
    try:
        info = confined.lstat(worktree, path)
        link = path if info is not None and stat.S_ISLNK(info.st_mode) else None
    except confined.Blocked as error:
        link = error.component  # a folder on the way is a link (or a file)
    if link is None:
        return None
    try:
        # The folders above ``link`` were walked without following a link: this reads it.
        target = os.fsencode(os.readlink(worktree / link))
    except OSError:
        return None  # a file where a folder was, not a link
    return (link, target) if points_outside(link, target) else None


def _not_the_vendors(session: Session, links: dict[str, bytes]) -> dict[str, bytes]:
    """``links`` less the vendor's own: the snapshot holds a link there with that target (apply
    puts such a link back as the tree had it). A commit git cannot read holds none."""
    if not links:
        return {}
    worktree = Path(session.worktree)
    try:
        modes = git.modes_at(worktree, session.snapshot_commit, sorted(links))
        held = git.show_files(worktree, session.snapshot_commit, links)
    except (GitError, ValueError):
        return dict(links)
    return {
        link: target
        for link, target in links.items()
        if not (modes.get(link) == "120000" and held.get(link) == target)
    }


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

    @staticmethod
    def encode(session: Session) -> bytes:
        """The bytes :meth:`write` stores for ``session``."""
        # Compact: json's C encoder writes only unindented JSON, and the indented form took
        # Python's encoder 0.13 s for a stable patch's 7 MB (0.04 s this way, 11% smaller);
        # every reader parses it, none reads it by line.
        data = json.dumps(session.to_json(), ensure_ascii=True, separators=(",", ":"))
        return data.encode("ascii") + b"\n"

    def write(self, session: Session, encoded: bytes | None = None) -> None:
        """Store ``session`` atomically (call with the lock held); ``encoded``: its
        :meth:`encode`, when the caller has made it already."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = encoded if encoded is not None else self.encode(session)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
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

    def open_items(
        self, stored: Session | None = None, known: KnownWorktree | None = None
    ) -> list[OpenItem]:
        """What keeps the session from finishing: the build gate's and ``finish``'s question.

        ``stored``: the session as the caller has just written it (apply) or loaded it (the
        TUI, which reads it once for both), so the store is not read again (6 MB of JSON for a
        stable patch); with a resolution pending, it is. ``known``: the worktree as the apply
        that wrote ``stored`` left it (``apply_patch_known``), answered from memory instead of
        ``git status`` and a read of every touched file; only with ``stored``.
        """
        if stored is None or stored.pending is not None:
            known = None
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
        marked: dict[str, bytes] = {}
        links: dict[str, bytes] = {}
        for path in session.touched:
            # Read as apply writes: no link followed (a .rej or a marker beyond a link is not
            # the worktree's, and is not read).
            if (
                path + ".rej" in known.present
                if known is not None
                else in_worktree(worktree, path + ".rej")
            ):
                items.append(OpenItem("reject", path + ".rej", "reject file left in the worktree"))
            data = (
                known.files.get(path) if known is not None else read_worktree_file(worktree, path)
            )
            if data is not None and has_markers(data):
                marked[path] = data
            elif data is None and known is None:
                outside = _outside_link(worktree, path)
                if outside is not None:
                    links.setdefault(*outside)
        for path, line in _open_markers(session, marked).items():
            items.append(OpenItem("marker", path, f"conflict marker at line {line}"))
        for link, target in _not_the_vendors(session, links).items():
            items.append(
                OpenItem(
                    "link",
                    link,
                    f"a symlink to {os.fsdecode(target)!r}, out of the worktree: finish would "
                    "carry it and build would read through it; put back what was there and "
                    f"commit ('git log -p -- {link}' in the worktree shows it)",
                )
            )
        if session.phase != Phase.APPLYING and worktree.exists():
            dirty = set(known.changed if known is not None else git.changed_paths(worktree))
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

        ``ACCEPTED`` writes the proposal (refused while it has conflict markers the gate counts as
        open), ``UPSTREAM``
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
                written = self._replacement(replace(hunk, resolution=None), action, reason, text)
                self._refuse_open_markers(session, hunk, action, written)
                forget_remembered(store, hunk)
                session = self._undo(session, hunk)
                hunk = session.hunk(hunk.id)
            replacement = self._replacement(hunk, action, reason, text)
            self._refuse_open_markers(session, hunk, action, replacement)
            decision = memory.Decision(action, reason, replacement, by or _who(), at or now())
            entry = memory_entry(session, hunk, decision) if remember else None
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
        memory is taken back first: what a person's resolution added, or for a reused one the
        decision it replayed (:func:`~patchsmith.workspace.reuse.forget_remembered`)."""
        store = memory.Memory(memory_folder)
        with self.locked():
            session = self._recover(self.read())
            self._require_ready(session)
            hunk = session.hunk(hunk_id)
            if hunk.resolution is None:
                raise SessionError(
                    f"{hunk.id} has no resolution to undo",
                    hint="'patchsmith status' shows which hunks are resolved",
                    remedies=(Remedy.LIST,),
                )
            forget_remembered(store, hunk, replayed=True)
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
            return hunk.proposal
        if action == Resolution.UPSTREAM:
            return hunk.post_image
        if action == Resolution.EDITED:
            if text is None:
                raise SessionError("an edit needs the new text")
            return text
        raise SessionError(f"unknown resolution {action!r}")

    @staticmethod
    def _refuse_open_markers(
        session: Session, hunk: SessionHunk, action: Resolution, replacement: str | None
    ) -> None:
        """Refuse a proposal or an edit that would leave a conflict marker line the gate counts
        as open in the hunk's region (:func:`region_open_marker`); the vendor's own marker text
        at its own place goes through, as the gate lets it."""
        if action not in (Resolution.ACCEPTED, Resolution.EDITED) or replacement is None:
            return
        line = region_open_marker(session, hunk, to_bytes(replacement))
        if line is None:
            return
        if action == Resolution.ACCEPTED:
            raise SessionError(
                f"the proposal for {hunk.id} still has conflict markers (line {line} of "
                f"{hunk.path})",
                hint="resolve it with --edit (the markers show what to choose)",
                remedies=(Remedy.PICK, Remedy.EDIT, Remedy.UPSTREAM),
            )
        raise SessionError(
            f"the edited text still has conflict markers (line {line} of {hunk.path})",
            hint="remove the <<<<<<< ||||||| ======= >>>>>>> lines",
            remedies=(Remedy.EDIT,),
        )

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
        # What the resolution does to the file, as (line, count, new lines); None: nothing, or
        # (whole) the file is the resolution's.
        swap: tuple[int, int, bytes] | None = None
        whole = False
        if replacement is not None:
            if blocked is not None:
                raise blocked
            region: Region | None = None
            if action == "undo":
                assert hunk.written is not None and hunk.current is not None
                region, new = Region(hunk.current.start, hunk.written), to_bytes(hunk.current.text)
            elif hunk.current is None:
                after, whole = to_bytes(replacement), True
            else:
                region, new = hunk.current, to_bytes(replacement)
            if region is not None:
                after, place = replace_region(before or b"", region, new)
                swap = (place, region.count, new)
        committed_blob = (
            None
            if whole or blocked is not None
            else _own_blob(worktree, hunk, before, after, swap, undo=action == "undo")
        )
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
            committed_blob=committed_blob,
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
        # Quoted as git quotes names: a commit message is UTF-8 text, and a name that is not
        # UTF-8 made the commit (and so the resolution) fail.
        message = f"patchsmith: {verb} {quote_name(hunk.id)}"
        if pending.reason:
            message += f"\n\n{pending.reason}"
        message += f"\n\nPatchsmith-Op: {pending.op}"
        if pending.committed_blob is not None:
            commit_blob(worktree, hunk.path, pending.committed_blob, message)
        else:
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
            put_reject(worktree, file, left)

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
        current = _sha(read_worktree_file(worktree, session.hunk(pending.hunk_id).path))
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
        data = read_worktree_file(worktree, path)
        lines = region_lines(data or b"")
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
            region = region_lines(to_bytes(hunk.current.text))
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
            count = len(region_lines(to_bytes(hunk.current.text)))
            after = after[:start] + region_lines(to_bytes(written)) + after[start + count :]
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
        listed = "\n".join(f"  {quote_name(hunk_id)}" for hunk_id in done)
        write_rejects(result, paths)
        git.commit_paths(
            worktree,
            changed,
            f"patchsmith: replay {len(done)} remembered resolution(s)"
            + (" (trusted: apply --trust-memory)" if trust else " (to confirm)")
            + f"\n\n{listed}",
        )
    return result


def region_open_marker(session: Session, hunk: SessionHunk, text: bytes) -> int | None:
    """The first line (1-based, of the file) of ``text`` written as ``hunk``'s region that is a
    conflict marker line the gate would count as open (:mod:`patchsmith.workspace.markers`), or
    ``None``. Where the file or the region cannot be read, every marker line of ``text`` is."""
    if not has_markers(text):
        return None
    region = hunk.current
    if region is not None and hunk.resolution is not None and hunk.written is not None:
        region = Region(region.start, hunk.written)
    worktree = Path(session.worktree)
    data = read_worktree_file(worktree, hunk.path) if region is not None else None
    at = find_region(region_lines(data), region) if data is not None and region else None
    if data is None or region is None or at is None:
        return _first_marker(text, region.start if region is not None else 1)
    lines = region_lines(data)
    after = b"".join(lines[:at]) + text + b"".join(lines[at + region.count :])
    count = len(region_lines(text))
    baselines = marker_baselines(session, hunk.path)
    return next((line for line in open_markers(after, baselines) if at < line <= at + count), None)


def marker_baselines(session: Session, path: str) -> list[bytes | None]:
    """``path`` as the snapshot and the applied commit hold it: a marker line either holds at
    its place, with its neighbours, is text (:mod:`patchsmith.workspace.markers`)."""
    return [baseline.get(path) for baseline in _baselines(session, [path])]


def _first_marker(text: bytes, start: int) -> int | None:
    for offset, line in enumerate(region_lines(text)):
        if has_markers(line if line.endswith(b"\n") else line + b"\n"):
            return start + offset
    return None


def _own_blob(
    worktree: Path,
    hunk: SessionHunk,
    before: bytes | None,
    after: bytes | None,
    swap: tuple[int, int, bytes] | None,
    *,
    undo: bool,
) -> str | None:
    """The blob to commit for ``hunk.path`` when the worktree file holds edits of a person's
    the last commit does not (:mod:`patchsmith.workspace.owncommit`): the committed file with
    only the resolution's change; ``None`` when committing the worktree file is the same."""
    committed = git.show_file(worktree, "HEAD", hunk.path)
    if committed is None or committed == before:
        return None
    if swap is not None:
        # A resolution replaces what apply wrote; with --merge that is a conflict block,
        # written after the last commit, where the commit holds the vendor's lines.
        held = to_bytes(hunk.vendor.text) if hunk.vendor is not None and not undo else None
        carried = carry(before or b"", committed, swap, held)
        if carried is None:
            raise SessionError(
                f"{hunk.path} has uncommitted edits in the lines of {hunk.id}",
                hint="commit them, or put the lines back, in the worktree ('git diff' there "
                "shows them), then resolve again",
                remedies=(Remedy.RESTORE,),
            )
        committed = carried
    if committed == after:
        return None
    return store_blob(worktree, hunk.path, committed)

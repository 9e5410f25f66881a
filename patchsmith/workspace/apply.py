"""Apply: turn the engine's prediction into a worktree a person can resolve and a compiler build.

:func:`apply_patch` never writes to the source tree. It

1. checks every name the patch gives (no ``..``, no absolute path, nothing in ``.git``: refused
   as check refuses it, before anything exists), takes the tree's apply lock and records what it
   is about to create (:mod:`patchsmith.workspace.setup`: a second apply of the tree waits or
   refuses; an apply killed during setup is undone by the next apply or ``abort``);
2. snapshots the tree (a git repository: ``HEAD``, or the dirty state with ``allow_dirty``, with
   the touched paths as the tree has them; a plain directory: the touched files, into a
   repository patchsmith keeps outside the tree; links as links, never followed) and creates a
   worktree on a branch of its own with only the touched files checked out
   (:mod:`patchsmith.workspace.git`);
3. records the session (phase ``applying``) so that a crash leaves something to continue from;
4. predicts every selected hunk with :func:`patchsmith.engine.predict.predict` on the tree
   itself, as ``check`` does (one engine, one input: the same verdict for every hunk), checks
   that the worktree holds every touched path as the tree does (else it removes what it made
   and refuses), and writes the hunks the engine placed through the engine's own
   :func:`~patchsmith.engine.locate.apply_located` and the confined writer
   (:mod:`patchsmith.workspace.confined`: no write passes a link): ``clean`` and ``offset``
   always, ``fuzz``/``whitespace``/flagged ones only with ``accept_fuzz``; ``already-applied``
   is recorded and skipped; the rest go to GNU-patch-format ``.rej`` files beside their file
   (:mod:`patchsmith.patchfile.reject`: the bytes ``patch`` writes, line numbers shifted by
   what was applied above), except beside a path beyond a link, where none can go;
5. commits "apply clean hunks", then with ``merge`` puts a diff3 conflict block
   (``<<<<<<< vendor``, ``||||||| upstream-before``, ``=======``, ``>>>>>>> upstream-after``) in
   place of each conflict's region instead of a ``.rej``;
6. computes a proposal for every open hunk with :mod:`patchsmith.engine.merge`: a 3-way merge
   (``git merge-file --diff3``) of the vendor's region with upstream's pre- and post-image. With
   ``base`` (the vanilla tree: a directory, a tarball or a git ref, read by
   :mod:`patchsmith.workspace.base`) the vendor's region is found by aligning the whole vanilla
   file with the vendor's, so the merge is the per-file 3-way restricted to that hunk; without
   one, the engine's best candidate region is used. Proposals are recorded, never applied;
7. replays remembered resolutions made in the same place on the same tree lineage
   (:mod:`patchsmith.workspace.memory`): written in one commit, marked ``reused: confirm``
   (open until a person confirms them, unless ``trust_memory``); then marks the session
   ``ready`` in one write.

A new apply to a plain tree does steps 2-5 in one pass (:func:`_apply_one_pass`): it reads the
touched files, predicts and works out every result in memory, then writes the snapshot and the
results as two commits in one pack and checks the results out once (the files and the index
written by apply itself, :func:`patchsmith.workspace.git.checkout_files`, into folders and
empty files a child process made while the prediction ran, :mod:`patchsmith.workspace.staging`);
the session (``applying``) is written right after the worktree exists. The commits are the
ones the steps above make (``tests/workspace/test_one_pass.py`` compares them); a path the
in-memory model cannot answer for (beyond a link, a file and a folder at once) takes the steps
one by one, as a git tree and an interrupted apply do.

Running the same apply again after a crash continues: the worktree's touched files are reset to
the base commit and steps 4-7 run again (the engine is deterministic). So nothing written in
steps 4-7 needs to reach the disk before the session says ``ready``, and nothing is synced file
by file: just before that write, one flush of the file systems holding the worktree and the
repository (:func:`patchsmith.workspace.confined.make_durable`) puts every file, ``.rej``,
object and ref this apply made on disk, git's own writes included (git syncs no loose object
or ref by default). A power cut before the flush leaves the session ``applying``; after it,
everything the session then records is there.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from patchsmith import paths
from patchsmith.engine.locate import apply_located
from patchsmith.engine.merge import (
    VanillaAlignment,
    has_markers,
    marker_block,
    merge_region,
    vendor_region,
)
from patchsmith.engine.predict import (
    BaseReader,
    FilePrediction,
    HunkPrediction,
    diff_modes,
    predict,
    split_lines,
    strip_path,
)
from patchsmith.engine.records import Placement
from patchsmith.engine.tree import Entry, Kind, Tree, check_relative
from patchsmith.errors import SessionError, TreeError, UsageError
from patchsmith.model import SYMLINK, HunkStatus
from patchsmith.patchfile.hunk import ADD, REMOVE, Hunk, parse_file
from patchsmith.patchfile.index import ChangeKind, FileEntry, PatchIndex
from patchsmith.patchfile.reject import reject_header, reject_hunk
from patchsmith.patchfile.select import FileDecision, SelectionResult
from patchsmith.record import record
from patchsmith.workspace import confined, git, memory, setup, staging
from patchsmith.workspace.base import VanillaBase
from patchsmith.workspace.inputs import SelectionInputs
from patchsmith.workspace.regions import KnownWorktree
from patchsmith.workspace.reuse import find_reuse
from patchsmith.workspace.session import (
    PatchInfo,
    Phase,
    Region,
    Session,
    SessionFile,
    SessionHunk,
    SessionStore,
    now,
    replay,
    session_path,
    to_bytes,
    to_text,
)

_T = TypeVar("_T")

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total); stages: ``snapshot``, ``worktree``, ``predict``, ``write``,
``proposals``, ``memory``."""

Checkpoint = Callable[[str], None]
"""Called at the points where a crash is hardest to recover from, with the point's name:
``worktree`` (branch and worktree made, no session yet; the apply lock held) and ``written``
(files written, nothing committed; in one pass, the results committed and checked out and the
session ``applying``). The crash tests pass one that stops the process there until
they have killed it (``tests/support/pause.py``); apply itself needs none."""


@record
class ApplyOptions:
    """What ``patchsmith apply`` was asked to do, beyond the patch and the selection."""

    fuzz: int = 2
    accept_fuzz: bool = False
    """Write ``fuzz``, ``whitespace`` and flagged (``needs_review``) hunks the engine placed."""
    merge: bool = False
    """Conflict blocks in the files instead of ``.rej`` files."""
    base: str | None = None
    """The vanilla tree: a directory, a tarball, or a git ref in the tree's repository."""
    branch: str | None = None
    worktree: Path | None = None
    allow_dirty: bool = False
    name: str | None = None
    """The patch's name for the branch and the worktree (default: from the patch file name)."""
    selection_summary: str = ""
    use_memory: bool = True
    wait: float = setup.APPLY_WAIT
    """Seconds to wait for another apply of the same tree before refusing."""
    trust_memory: bool = False
    """Replayed resolutions count as confirmed (recorded as such in the session and reports)."""
    lineage: str | None = None
    """A name for the vendor tree's lineage (default: from the tree, see ``memory.lineage_of``)."""
    max_size: int | None = None
    """The most a compressed ``base`` tarball may expand to (``--max-size``; ``None``: the
    rule a compressed patch has)."""
    inputs: SelectionInputs | None = None
    """What decided the selection, kept in the session in the write that marks it ready (a
    write of its own after it read and wrote a 6 MB session again for a stable patch)."""


# --- naming ---------------------------------------------------------------------------------------

# patch-6.1.187.xz, 0001-dm-fix.patch.gz, upstream.diff
_SUFFIXES = re.compile(r"(\.(gz|bz2|xz|zst|patch|diff|mbox|txt))+$")


def patch_name(index: PatchIndex) -> str:
    """A branch-safe name for the patch: its file name without the usual suffixes."""
    names = [source.name for source in index.sources]
    raw = os.path.basename(names[0]) if names and names[0] not in ("-", "<stdin>") else "stdin"
    stem = _SUFFIXES.sub("", raw) or "patch"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "patch"
    return safe.replace("..", ".")


def patch_info(index: PatchIndex, name: str) -> PatchInfo:
    digest = hashlib.sha256()
    size = 0
    for source in index.sources:
        digest.update(source.data)
        size += len(source.data)
    return PatchInfo(name, tuple(s.name for s in index.sources), size, digest.hexdigest())


def touched_paths(result: SelectionResult) -> list[str]:
    """Every tree path the kept file diffs read or write (both sides of a rename)."""
    paths: dict[str, None] = {}
    for decision in result.kept:
        entry = decision.entry
        for name in (entry.old_name, entry.new_name):
            if name is not None:
                paths[strip_path(name, result.strip)] = None
    return list(paths)


# --- the worktree ---------------------------------------------------------------------------------


@record
class _Place:
    """Where an apply works: the repository, the session's worktree and branch, the commit of
    the vendor's snapshot, and the kind of tree (plain or git, with its top)."""

    git_dir: Path
    worktree: Path
    branch: str
    snapshot_commit: str
    kind: str
    repo_root: Path | None


def _default_worktree(tree: Path, name: str) -> Path:
    folder = git.writable_data_dir("worktrees")
    stem = f"{os.path.basename(os.path.realpath(tree)) or 'tree'}-{name}"
    candidate = folder / stem
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}"
        number += 1
    return candidate


def _existing_session(git_dir: Path, branch: str) -> tuple[Path | None, SessionStore | None]:
    worktree = git.worktree_of_branch(git_dir, branch)
    if worktree is None or not worktree.exists():
        return worktree, None
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    return worktree, (store if store.path.exists() else None)


@record
class _Where:
    """The repository an apply of a tree works in, known before anything is created."""

    kind: str
    root: Path | None
    """The tree's repository top, for a git tree."""
    folder: Path
    """Where the apply lock and the setup intent live (:mod:`patchsmith.workspace.setup`)."""


def _where(tree: Path) -> _Where:
    root = git.repository_root(tree)
    if root is not None:
        return _Where("git", root, setup.folder_for_repository(git.common_dir(root)))
    # A plain tree's lock lives in the data home: one that cannot be written is said so here.
    return _Where("plain", None, git.writable_folder(setup.folder_for_plain(tree)))


@record
class _NewPlace:
    """Where a new apply's branch and worktree go, checked before anything is made."""

    git_dir: Path
    worktree: Path
    branch: str


def _plan_place(
    tree: Path, where: _Where, options: ApplyOptions, name: str
) -> tuple[_Place, SessionStore] | _NewPlace:
    """The interrupted apply on this branch to continue (its place and store), or where a new
    one goes; refuses a branch that is taken and a worktree path that cannot be used."""
    root = where.root
    branch = options.branch or f"patchsmith/{name}"
    git_dir = git.common_dir(root) if root is not None else git.tree_repository(tree)
    if git.ref_exists(git_dir, f"refs/heads/{branch}"):
        worktree, store = _existing_session(git_dir, branch)
        if store is not None:
            session = store.read()
            if session.phase == Phase.APPLYING:
                place = _Place(
                    git_dir,
                    Path(session.worktree),
                    branch,
                    session.snapshot_commit,
                    where.kind,
                    root,
                )
                return place, store
            raise SessionError(
                f"there is already a session on branch {branch} (worktree {session.worktree})",
                hint="continue it ('patchsmith status --session "
                f"{session.worktree}'), remove it ('patchsmith abort --session "
                f"{session.worktree}'), or pass --branch NAME",
            )
        where_text = f" (worktree {worktree})" if worktree is not None else ""
        raise SessionError(
            f"branch {branch} already exists in {root or git_dir}{where_text}, and no "
            "patchsmith session or interrupted apply is on it",
            hint="pass --branch NAME, or delete the branch",
        )
    # The worktree's path before any work: a file, a path under a file, a folder that is not
    # empty or one nothing can be made in is bad input, refused with nothing made yet.
    worktree = options.worktree or _default_worktree(tree, name)
    option = "--worktree" if options.worktree is not None else "the worktree"
    real_worktree = os.path.realpath(worktree)
    real_tree = os.path.realpath(tree)
    if real_worktree == real_tree or real_worktree.startswith(real_tree.rstrip(os.sep) + os.sep):
        raise UsageError(
            f"{option} {worktree} is inside the tree",
            hint="patchsmith never writes into the tree; pick a path outside it",
        )
    # (After the check above: making its folders must not write into the tree.)
    paths.creatable_folder(worktree, f"{option} {worktree}", hint="pick a new path for it")
    return _NewPlace(git_dir, worktree.absolute(), branch)


def _intent(where: _Where, new: _NewPlace, tree: Path, name: str) -> None:
    """Record what is about to be made (:mod:`patchsmith.workspace.setup`)."""
    setup.record_intent(
        where.folder,
        setup.Intent(
            git_dir=str(new.git_dir),
            branch=new.branch,
            worktree=str(new.worktree),
            tree=os.path.realpath(tree),
            pid=os.getpid(),
            patch=name,
        ),
    )


def _prepare(
    tree: Path,
    where: _Where,
    touched: list[str],
    options: ApplyOptions,
    name: str,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
    planned: tuple[_Place, SessionStore] | _NewPlace | None = None,
) -> tuple[_Place, SessionStore | None]:
    """The worktree for this apply, or the one an interrupted apply left (with its store)."""
    root = where.root
    kind = where.kind
    plan = planned if planned is not None else _plan_place(tree, where, options, name)
    if not isinstance(plan, _NewPlace):
        return plan
    git_dir, worktree, branch = plan.git_dir, plan.worktree, plan.branch
    if progress is not None:
        progress("snapshot", 0, 1)
    if kind == "git":
        assert root is not None
        dirty = git.dirty_paths(root)
        if dirty and not options.allow_dirty:
            raise TreeError(
                f"the tree {tree} has uncommitted changes ({len(dirty)} path(s), e.g. {dirty[0]})",
                hint="commit or stash them, or pass --allow-dirty to apply on a snapshot of the "
                "current state (the tree itself is never changed)",
            )
        head = git.snapshot_dirty(root) if dirty else git.rev_parse(root, "HEAD")
        # The touched paths exactly as the tree has them (an ignored file, a file git's
        # filters would normalise): the engine judges the tree, the worktree must hold the same.
        base = git.snapshot_paths(
            git_dir,
            tree,
            touched,
            "patchsmith: the touched files as the tree has them",
            parent=head,
        )
        checkout: list[str] | None = touched
    else:
        base = git.snapshot_paths(git_dir, tree, touched, _snapshot_message(tree))
        checkout = None  # the base holds only the touched files
    if progress is not None:
        progress("snapshot", 1, 1)
        progress("worktree", 0, 1)
    _intent(where, plan, tree, name)
    if worktree.exists():
        worktree.rmdir()
    git.add_worktree(git_dir, worktree, branch, base, checkout)
    if checkpoint is not None:
        checkpoint("worktree")
    if progress is not None:
        progress("worktree", 1, 1)
    return _Place(git_dir, worktree, branch, base, kind, root), None


def _snapshot_message(tree: Path) -> str:
    return f"patchsmith: base snapshot of {os.path.realpath(tree)}"


def _applied_message(session: Session) -> str:
    return f"patchsmith: apply clean hunks of {session.patch.name}"


def _shape(entry: Entry) -> tuple[object, ...]:
    """What of a path the engine's verdict and apply's writes depend on: a file's bytes and
    mode, a link's target, the obstacle on the way; a folder or a device is nothing to write."""
    if entry.obstacle is not None:
        blocker = entry.obstacle
        return ("beyond", blocker.path, blocker.kind, blocker.target)
    if entry.kind in (Kind.FILE, Kind.LINK):
        return (entry.kind, entry.data, entry.mode)
    return (Kind.ABSENT,)


def _differences(tree: Path, worktree: Path, paths: Sequence[str]) -> list[str]:
    """The touched paths the worktree does not show as the tree does."""
    source, copy = Tree(tree), Tree(worktree)
    return [p for p in paths if _shape(source.entry(p)) != _shape(copy.entry(p))]


# --- one file -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _FileWork:
    """What apply does to one file (mutable while it is being worked out)."""

    decision: FileDecision
    prediction: FilePrediction
    hunks: tuple[Hunk, ...]
    result: bytes | None
    """The file's new content after the applied hunks (``None``: deleted or untouched)."""
    write: bool
    delete_path: str | None
    session_hunks: list[SessionHunk]
    rejects: list[tuple[str, bytes]]
    reject_header: bytes
    mode: str | None = None
    """The git mode to give the file (a mode change that applies, or a new file's mode)."""


def _is_applied(prediction: HunkPrediction, accept_fuzz: bool) -> bool:
    if prediction.placement is None:
        return False
    if prediction.status in (HunkStatus.CLEAN, HunkStatus.OFFSET) and not prediction.needs_review:
        return True
    return accept_fuzz and prediction.status in (
        HunkStatus.CLEAN,
        HunkStatus.OFFSET,
        HunkStatus.FUZZ,
        HunkStatus.WHITESPACE,
    )


def _delta(hunk: Hunk) -> int:
    # Counted in the ops string: making the hunk's line objects to count them cost 0.05 s of
    # a stable patch's apply.
    return hunk.ops.count(ADD) - hunk.ops.count(REMOVE)


def _work_file(
    index: PatchIndex,
    decision: FileDecision,
    prediction: FilePrediction,
    options: ApplyOptions,
    vanilla: bytes | None,
    ids: dict[str, int],
) -> _FileWork:
    entry = decision.entry
    all_hunks = {h.number: h for h in parse_file(index, entry)}
    hunks = tuple(all_hunks[p.hunk_number] for p in prediction.hunks)
    base_lines = split_lines(prediction.vendor_bytes) if prediction.vendor_bytes is not None else []
    applied = [p for p in prediction.hunks if _is_applied(p, options.accept_fuzz)]
    placements: list[Placement] = [p.placement for p in applied if p.placement is not None]
    path = prediction.path
    result: bytes | None = None
    write = False
    delete_path: str | None = None
    kind = entry.kind
    if kind == ChangeKind.DELETED:
        if prediction.status == HunkStatus.CLEAN and not prediction.needs_review:
            delete_path = path
    elif (
        prediction.vendor_bytes is not None
        and (placements or kind == ChangeKind.NEW)
        and (
            kind != ChangeKind.NEW
            or (
                prediction.status == HunkStatus.CLEAN
                and all(_is_applied(p, options.accept_fuzz) for p in prediction.hunks)
            )
        )
    ):
        result = b"".join(apply_located(base_lines, placements))
        write = True
    if (
        kind in (ChangeKind.RENAMED, ChangeKind.COPIED)
        and prediction.old_path
        and prediction.status in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        and all(_is_applied(p, options.accept_fuzz) for p in prediction.hunks)
    ):
        result = b"".join(apply_located(base_lines, placements))
        write = True
        if kind == ChangeKind.RENAMED:
            delete_path = prediction.old_path
    change = prediction.mode
    if (
        not prediction.hunks
        and change is not None
        and change.status == HunkStatus.CLEAN
        and SYMLINK in (change.old, change.new)
        and prediction.vendor_bytes is not None
    ):
        # A type change without hunks (``new mode 120000``, or back): the file's bytes become
        # the link's target, or the target the file's bytes. Setting a mode cannot do it, and
        # leaving it undone would record it done.
        result = prediction.vendor_bytes
        write = True
    # Open hunks: their region in the file as written, proposals, reject text. The vanilla file
    # is aligned with the vendor's for the first open hunk: most files have none, and aligning
    # all of them cost more than the rest of apply --base.
    aligned: list[tuple[VanillaAlignment | None, list[bytes] | None]] = []

    def alignment() -> tuple[VanillaAlignment | None, list[bytes] | None]:
        if not aligned:
            if vanilla is not None and prediction.vendor_bytes is not None:
                vanilla_lines = split_lines(vanilla)
                aligned.append((VanillaAlignment(vanilla_lines, base_lines), vanilla_lines))
            else:
                aligned.append((None, None))
        return aligned[0]

    applied_numbers = {p.hunk_number for p in applied}
    out_offset = 0
    shift_points: list[tuple[int, int, int]] = []  # (start, end, delta) of applied hunks
    for prediction_hunk in applied:
        placement = prediction_hunk.placement
        assert placement is not None
        shift_points.append(
            (placement.start, placement.start + placement.length, _delta(placement.hunk))
        )
    session_hunks: list[SessionHunk] = []
    rejects: list[tuple[str, bytes]] = []
    raw_header = index.file_header(entry)
    source = index.sources[entry.source].data
    for hunk_prediction, hunk in zip(prediction.hunks, hunks, strict=True):
        hunk_entry = entry.hunks[hunk.number - 1]
        raw = source[hunk_entry.start : hunk_entry.end]
        hunk_id = f"{path}#{hunk.number}"
        if hunk_id in ids:
            hunk_id = f"{path}#{entry.number}.{hunk.number}"
        ids[hunk_id] = 1
        is_applied = hunk.number in applied_numbers
        item = SessionHunk(
            id=hunk_id,
            path=path,
            file_number=entry.number,
            number=hunk.number,
            status=hunk_prediction.status,
            needs_review=hunk_prediction.needs_review,
            reason=hunk_prediction.reason,
            expected_line=hunk_prediction.expected_line,
            found_line=hunk_prediction.found_line,
            offset=hunk_prediction.offset,
            fuzz=hunk_prediction.fuzz,
            applied=is_applied,
            upstream=to_text(raw),
            pre_image=to_text(b"".join(hunk.old_lines)),
            post_image=to_text(b"".join(hunk.new_lines)),
        )
        if is_applied:
            out_offset += _delta(hunk)
        if item.needs_resolution and not is_applied:
            rejects.append((hunk_id, reject_hunk(raw, hunk, out_offset)))
            if prediction.vendor_bytes is not None and kind != ChangeKind.NEW:
                matcher, vanilla_lines = alignment()
                found = vendor_region(hunk, hunk_prediction, base_lines, matcher, vanilla_lines)
                if found is not None:
                    item = _with_region(item, found, base_lines, shift_points, hunk)
        session_hunks.append(item)
    mode = _mode_to_set(entry, prediction, write)
    if not prediction.hunks:
        done = write or delete_path is not None
        if prediction.mode is not None:
            done = prediction.mode.settled
        session_hunks.append(_hunkless(index, entry, prediction, done))
    elif prediction.mode is not None:
        # The mode part of a diff that also has hunks: an item of its own, so a mode change is
        # shown done, or left open, and never dropped without a word.
        session_hunks.insert(0, _hunkless(index, entry, prediction, prediction.mode.settled))
    return _FileWork(
        decision=decision,
        prediction=prediction,
        hunks=hunks,
        result=result,
        write=write,
        delete_path=delete_path,
        session_hunks=session_hunks,
        rejects=rejects,
        reject_header=reject_header(raw_header, path),
        mode=mode,
    )


def _mode_to_set(entry: FileEntry, prediction: FilePrediction, write: bool) -> str | None:
    """The mode apply gives the file: a mode change the tree's file is ready for, or the mode
    of a new file it writes (``new file mode 100755`` for a script)."""
    if prediction.mode is not None:
        return prediction.mode.new if prediction.mode.status == HunkStatus.CLEAN else None
    if entry.kind == ChangeKind.NEW and write:
        return entry.header("new file mode")
    if write and diff_modes(entry)[1] == SYMLINK:
        return SYMLINK  # a symlink whose target the diff changes stays a symlink
    return None


def _hunkless(
    index: PatchIndex, entry: FileEntry, prediction: FilePrediction, done: bool
) -> SessionHunk:
    """A file diff without hunks (binary, mode change, pure rename, empty file) as one item,
    ``path#0``, so it is never left out of the session silently. One the engine found already
    done (a rename the vendor made, a mode already set) is recorded and settled, as an
    already-applied hunk is: there is nothing to do by hand."""
    reason = prediction.reason
    status = prediction.status
    review = prediction.needs_review
    if prediction.mode is not None and prediction.hunks:
        # The mode item of a diff with hunks: its own verdict, not the hunks'.
        reason, status = prediction.mode.reason, prediction.mode.status
        review = False
    settled = done or status == HunkStatus.ALREADY_APPLIED
    if entry.kind == ChangeKind.BINARY or not settled:
        review = True
        reason = (reason + "; " if reason else "") + "not applied by patchsmith: do it by hand"
    return SessionHunk(
        id=f"{prediction.path}#0",
        path=prediction.path,
        file_number=entry.number,
        number=0,
        status=status,
        needs_review=review,
        reason=reason,
        expected_line=0,
        found_line=None,
        offset=0,
        fuzz=0,
        applied=done,
        upstream=to_text(index.file_header(entry)),
        pre_image="",
        post_image="",
    )


def _with_region(
    item: SessionHunk,
    found: tuple[int, int, str],
    base_lines: Sequence[bytes],
    shift_points: Sequence[tuple[int, int, int]],
    hunk: Hunk,
) -> SessionHunk:
    low, high, how = found
    for start, end, _delta_lines in shift_points:
        if start < high and low < end:
            # An applied hunk sits inside this region: the region as read no longer exists.
            return replace(item, reason=item.reason + "; its region overlaps an applied hunk")
    shift = sum(delta for start, end, delta in shift_points if end <= low)
    vendor = b"".join(base_lines[low:high])
    proposal, conflicts = merge_region(
        vendor, b"".join(hunk.old_lines), b"".join(hunk.new_lines), git.merge_file
    )
    region = Region(low + shift + 1, to_text(vendor))
    return replace(
        item,
        vendor=region,
        current=region,
        proposal=to_text(proposal),
        proposal_conflicts=conflicts,
        proposal_source=how,
    )


# --- the whole apply ------------------------------------------------------------------------------


def apply_patch(
    index: PatchIndex,
    selection: SelectionResult,
    tree: Path,
    options: ApplyOptions,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> Session:
    """Apply the selected hunks in a new worktree; return the session (see the module doc).
    ``checkpoint`` is called at the named points of :data:`Checkpoint`."""
    return apply_patch_known(index, selection, tree, options, progress, checkpoint)[0]


def apply_patch_known(
    index: PatchIndex,
    selection: SelectionResult,
    tree: Path,
    options: ApplyOptions,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> tuple[Session, KnownWorktree | None]:
    """:func:`apply_patch`, and the worktree as it left it where that is known without reading
    it (:func:`_known_worktree`), for the gate that follows (``SessionStore.open_items``)."""
    tree = Path(tree)
    if not tree.is_dir():
        raise TreeError(f"the tree {tree} is not a directory", hint="pass --tree DIR")
    if not selection.kept:
        raise UsageError("the selection keeps no file of the patch", hint="check the -i/--only")
    name = options.name or patch_name(index)
    info = patch_info(index, name)
    # Every name is checked before anything is made: a patch naming ../x or /etc/x is refused
    # as check refuses it, with no branch, worktree or session left behind.
    touched = touched_paths(selection)
    for path in touched:
        check_relative(path)
    where = _where(tree)
    # The vanilla base is checked before anything is made: a --base that is missing,
    # unreadable or not a tarball is refused with no branch or worktree left behind. A tarball
    # or a git ref is read now, whole, for the same reason (a tarball past its size limit is
    # refused); a directory is read as the tree is, after the prediction.
    vanilla_reader = (
        VanillaBase(options.base, where.root, options.max_size)
        if options.base is not None
        else None
    )
    vanilla_read: dict[str, bytes | None] | None = None
    if vanilla_reader is not None and vanilla_reader.directory is None:
        vanilla_read = vanilla_reader.read_many(_vanilla_paths(selection))
    inputs = _Inputs(index, selection, tree, options, vanilla_reader, vanilla_read)
    with setup.apply_lock(where.folder, options.wait):
        # An apply killed during setup (its intent is still there): undo what it made.
        setup.finish_interrupted(where.folder)
        staging.remove_leftovers(where.folder)
        planned = _plan_place(tree, where, options, name)
        done: tuple[Session, SessionStore] | None = None
        one_pass: _OnePass | None = None
        if isinstance(planned, _NewPlace) and where.kind == "plain" and ONE_PASS:
            one_pass = _apply_one_pass(inputs, where, planned, info, touched, progress, checkpoint)
        if one_pass is not None:
            done = one_pass.session, one_pass.store
        else:
            done = _apply_step_by_step(inputs, where, planned, info, touched, progress, checkpoint)
        session, store = done
        known: KnownWorktree | None = None
        with store.locked():
            replayed = False
            if options.use_memory:
                # Before the one write that marks the session ready: a crash in between leaves
                # it "applying", and the next apply starts again from the base.
                session, replayed = _reuse(session, options, progress)
            if one_pass is not None and not one_pass.settled:
                # git wrote the files and the index in the same second: settled once here
                # (when a second has passed), not hashed again by every status after.
                git.settle_index(Path(session.worktree), store.path.parent.parent)
            if options.inputs is not None:
                session = replace(session, inputs=options.inputs)
            ready = session

            def meanwhile() -> tuple[bytes, KnownWorktree | None]:
                found = None
                if one_pass is not None and not replayed:
                    found = _known_worktree(
                        ready, one_pass.results, one_pass.wrote, verbatim=one_pass.settled
                    )
                return store.encode(ready), found

            # Every file, reject, object and ref this apply wrote reaches the disk before the
            # session says "ready": one flush of their file systems, not an fsync per file,
            # while the session's JSON is made (the flush waits on the disk, the JSON on the
            # processor); the session is written once the flush is done.
            folders = [Path(session.worktree), Path(session.git_dir), store.path.parent]
            encoded, known = _while_flushing(folders, meanwhile)
            store.write(session, encoded)
    return session, known


def _while_flushing(folders: list[Path], work: Callable[[], _T]) -> _T:
    """``work()``, done while another thread flushes the file systems holding ``folders``
    (:func:`confined.make_durable`, which waits in the kernel without the interpreter's
    lock); returns when both have, raising the flush's error first."""
    failed: list[BaseException] = []

    def flush() -> None:
        try:
            confined.make_durable(folders)
        except BaseException as error:  # noqa: BLE001 (raised again below, in the caller)
            failed.append(error)

    thread = threading.Thread(target=flush, name="patchsmith-flush")
    thread.start()
    try:
        result = work()
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return result


ONE_PASS = True
"""Apply to a plain tree in one pass (:func:`_apply_one_pass`) where it can; the tests turn it
off to compare with the step-by-step path, which an interrupted apply and a git tree take."""


@record
class _Inputs:
    """What one apply works from, handed to whichever path does the work."""

    index: PatchIndex
    selection: SelectionResult
    tree: Path
    options: ApplyOptions
    vanilla_reader: VanillaBase | None
    vanilla_read: dict[str, bytes | None] | None


def _new_session(inputs: _Inputs, info: PatchInfo, touched: list[str], place: _Place) -> Session:
    """The session as it is first written (phase ``applying``)."""
    options = inputs.options
    return Session(
        patch=info,
        tree=os.path.realpath(inputs.tree),
        tree_kind=place.kind,
        worktree=str(place.worktree),
        branch=place.branch,
        git_dir=str(place.git_dir),
        snapshot_commit=place.snapshot_commit,
        strip=inputs.selection.strip,
        fuzz=options.fuzz,
        selection=options.selection_summary,
        accept_fuzz=options.accept_fuzz,
        merge=options.merge,
        base=options.base,
        created=now(),
        phase=Phase.APPLYING,
        files=tuple(SessionFile(p, "touched") for p in touched),
        lineage=memory.lineage_of(inputs.tree, place.kind, options.lineage),
    )


def _apply_step_by_step(
    inputs: _Inputs,
    where: _Where,
    planned: tuple[_Place, SessionStore] | _NewPlace,
    info: PatchInfo,
    touched: list[str],
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> tuple[Session, SessionStore]:
    """Snapshot, worktree, session ``applying``, prediction, writes, commit: the path an
    interrupted apply continues on, and a git tree's."""
    tree, options = inputs.tree, inputs.options
    place, resumed = _prepare(
        tree, where, touched, options, info.name, progress, checkpoint, planned
    )
    worktree = place.worktree
    store = resumed or SessionStore(session_path(git.git_dir_of(worktree)))
    with store.locked():
        if resumed is not None:
            previous = store.read()
            if previous.patch.sha256 != info.sha256:
                raise SessionError(
                    "an interrupted apply of a different patch is on this branch",
                    hint=f"'patchsmith abort --session {previous.worktree}' first",
                )
            _reset(worktree, place.snapshot_commit, set(touched) | set(previous.touched))
        session = _new_session(inputs, info, touched, place)
        store.write(session)
        # The session says what is there from now on; the intent has done its job.
        setup.clear(where.folder)
        session = _apply_in(inputs, worktree, session, progress, checkpoint)
    return session, store


def _vanilla_paths(selection: SelectionResult) -> list[str]:
    """The tree paths whose vanilla version apply reads: every kept diff's old side."""
    return [
        strip_path(d.entry.old_name, selection.strip)
        for d in selection.kept
        if d.entry.old_name is not None
    ]


def _reset(worktree: Path, base: str, paths: set[str]) -> None:
    """Put an interrupted apply's worktree back to the base commit (touched paths only)."""
    git.run_git(["reset", "-q", "--soft", base], cwd=worktree)
    listed = sorted(paths)
    if listed:
        git.run_git(
            ["reset", "-q", base, "--pathspec-from-file=-", "--pathspec-file-nul"],
            cwd=worktree,
            input=b"\0".join(p.encode("utf-8", "surrogateescape") for p in listed) + b"\0",
        )
    # Modes too: the interrupted run may have set a mode change's mode already, and the next
    # run judges the mode change on the file as it finds it.
    modes = git.modes_at(worktree, base, listed)
    for path in listed:
        if not confined.reachable(worktree, path):
            continue  # beyond a link the base holds: nothing was written there
        confined.remove(worktree, path + ".rej")
        data = git.show_file(worktree, base, path)
        mode = modes.get(path)
        if data is None:
            if confined.lstat(worktree, path) is not None:
                confined.remove(worktree, path)
            continue
        if mode == SYMLINK:
            # The snapshot's own link, as the vendor's tree had it (wherever it points).
            confined.write_link(worktree, path, data, outside=True)
            continue
        if confined.read_file(worktree, path) != data:
            confined.write_file(worktree, path, data, sync=False)
        if mode in ("100644", "100755"):
            confined.set_mode(worktree, path, mode)


@record
class _Plan:
    """The engine's verdicts and what apply makes of each file, before anything is written."""

    works: list[_FileWork]
    vanilla: dict[str, bytes | None]


def _plan(inputs: _Inputs, progress: Progress | None, tree: Tree | None = None) -> _Plan:
    """Predict every kept file diff on the tree (``tree``: as read already, else read now)
    and work out each file's result, its session hunks, proposals and rejects (nothing is
    written)."""
    selection, options, vanilla_reader = inputs.selection, inputs.options, inputs.vanilla_reader
    kept = selection.kept
    vanilla: dict[str, bytes | None] = {}
    # The engine reads the vanilla files itself to judge flagged matches (a clean match next to
    # code it adds was vanilla's too): a directory under the tree's rules (no link followed);
    # a tarball or a git ref, read before anything was made (they hold no path out of the tree
    # to follow).
    base: Path | BaseReader | None = None
    if vanilla_reader is not None:
        if vanilla_reader.directory is not None:
            base = vanilla_reader.directory
        else:
            vanilla = inputs.vanilla_read or {}
            base = vanilla.get
    # The engine judges the tree itself, exactly as check does: one engine, one input, one
    # verdict. The worktree only has to hold the same bytes where apply writes, which the
    # caller checks.
    predicted = predict(
        inputs.index,
        [d.entry for d in kept],
        tree if tree is not None else inputs.tree,
        selection.strip,
        options.fuzz,
        progress=(lambda done, total, _path: progress("predict", done, total))
        if progress is not None
        else None,
        kept={d.entry.number: d.kept for d in kept if not d.whole and d.entry.hunks},
        base=base,
    )
    by_number = {p.entry_number: p for p in predicted.files}
    if vanilla_reader is not None and vanilla_reader.directory is not None:
        vanilla = vanilla_reader.read_many(_vanilla_paths(selection))
    works: list[_FileWork] = []
    ids: dict[str, int] = {}
    for number, decision in enumerate(kept, start=1):
        entry = decision.entry
        prediction = by_number[entry.number]
        old = strip_path(entry.old_name, selection.strip) if entry.old_name is not None else None
        works.append(
            _work_file(
                inputs.index,
                decision,
                prediction,
                options,
                vanilla.get(old) if old is not None else None,
                ids,
            )
        )
        if progress is not None:
            progress("proposals", number, len(kept))
    return _Plan(works, vanilla)


def _differing_error(differing: Sequence[str]) -> TreeError:
    return TreeError(
        f"the worktree does not hold {differing[0]} as the tree does"
        + (f" (and {len(differing) - 1} more)" if len(differing) > 1 else "")
        + ", so what apply writes could differ from what check judged; nothing was applied",
        hint="the tree changed while apply ran, or the repository's .gitattributes "
        "filters change files on checkout; run again on a quiet tree, or apply to a plain "
        "copy of it",
    )


def _apply_in(
    inputs: _Inputs,
    worktree: Path,
    session: Session,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> Session:
    plan = _plan(inputs, progress)
    differing = _differences(inputs.tree, worktree, session.touched)
    if differing:
        git.remove_worktree(Path(session.git_dir), worktree)
        git.delete_branch(Path(session.git_dir), session.branch)
        raise _differing_error(differing)
    works = plan.works
    # Write, in patch order, through the confined writer only; nothing more until the commit.
    written: list[str] = []
    modes: dict[str, str] = {}
    for number, work in enumerate(works, start=1):
        path = work.prediction.path
        if work.write and work.result is not None:
            if work.mode == SYMLINK:
                confined.write_link(worktree, path, work.result)
            else:
                confined.write_file(worktree, path, work.result, sync=False)
            written.append(path)
        if work.mode not in (None, SYMLINK) and _is_regular(worktree, path):
            confined.set_mode(worktree, path, work.mode)
            modes[path] = work.mode
            written.append(path)
        if work.delete_path is not None:
            confined.remove(worktree, work.delete_path)
            written.append(work.delete_path)
        if progress is not None:
            progress("write", number, len(works))
    if checkpoint is not None:
        checkpoint("written")
    files = _session_files(inputs, worktree, session, plan)
    touched = sorted({f.path for f in files} | set(written))
    applied_commit = git.commit_paths(worktree, touched, _applied_message(session), modes)
    return _after_commit(inputs, worktree, session, works, files, applied_commit)


def _session_files(
    inputs: _Inputs, worktree: Path, session: Session, plan: _Plan
) -> tuple[SessionFile, ...]:
    """The session's files: each kept diff's (its rejects, where a ``.rej`` can go), then the
    other touched paths."""
    for work in plan.works:
        if work.rejects and not confined.reachable(worktree, work.prediction.path + ".rej"):
            # Beyond a link or a file: no .rej can sit beside it without writing through it
            # (the hunks stay open, and their reason says why).
            work.rejects = []
    strip = inputs.selection.strip
    files = tuple(
        SessionFile(
            work.prediction.path,
            work.decision.entry.kind.name.lower(),
            to_text(work.reject_header) if work.rejects else "",
            tuple((hunk_id, to_text(text)) for hunk_id, text in work.rejects),
            _base_digest(inputs.vanilla_reader, plan.vanilla, work.decision.entry, strip),
        )
        for work in plan.works
    )
    worked = {w.prediction.path for w in plan.works}
    extra = [f.path for f in session.files if f.path not in worked]
    return files + tuple(SessionFile(p, "touched") for p in extra)


def _after_commit(
    inputs: _Inputs,
    worktree: Path,
    session: Session,
    works: list[_FileWork],
    files: tuple[SessionFile, ...],
    applied_commit: str,
    wrote: dict[str, bytes] | None = None,
) -> Session:
    """After the commit: what a person resolves. Rejects, or conflict blocks with --merge.
    Each file written is put in ``wrote`` (path -> bytes)."""
    merge = inputs.options.merge
    hunks: list[SessionHunk] = []
    for work in works:
        path = work.prediction.path
        file_hunks = list(work.session_hunks)
        rejects = list(work.rejects)
        if merge:
            file_hunks, rejects = _put_markers(worktree, path, file_hunks, rejects, wrote)
        if rejects:
            data = work.reject_header + b"".join(text for _id, text in rejects)
            confined.write_file(worktree, path + ".rej", data, sync=False)
            if wrote is not None:
                wrote[path + ".rej"] = data
        hunks.extend(file_hunks)
        if merge:
            files = tuple(
                replace(
                    f,
                    rejects=tuple((i, to_text(t)) for i, t in rejects),
                    reject_header=f.reject_header if rejects else "",
                )
                if f.path == path
                else f
                for f in files
            )
    return replace(
        session,
        phase=Phase.READY,
        applied_commit=applied_commit,
        files=files,
        hunks=tuple(hunks),
    )


# --- one pass (a plain tree) ----------------------------------------------------------------------


@dataclass(slots=True)
class _OnePass:
    """What the one pass made: the session and its store, the applied commit's tree (path ->
    (mode, bytes)) as checked out, and what apply wrote after that."""

    session: Session
    store: SessionStore
    results: dict[str, tuple[str, bytes]]
    wrote: dict[str, bytes]
    settled: bool
    """Whether the index already trusts the files (:func:`git.checkout_files` wrote them)."""


def _apply_one_pass(
    inputs: _Inputs,
    where: _Where,
    new: _NewPlace,
    info: PatchInfo,
    touched: list[str],
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> _OnePass | None:
    """A new apply to a plain tree, its git work done once: the touched files read, the
    prediction and every result worked out in memory, then the snapshot and the results
    committed as one pack (:func:`patchsmith.workspace.git.snapshot_and_results`) and checked
    out once (``git worktree add --no-checkout`` makes the branch and the worktree, and
    :func:`patchsmith.workspace.git.checkout_files` the files and the index; where git's own
    checkout could write other bytes, git checks them out). The step-by-step path imported
    the snapshot, checked it out, wrote the results over it and hashed them again with ``git
    add``: four passes over a stable patch's thousand files, most of apply's time.

    The commits are those the step-by-step path makes (a test compares them): the snapshot
    holds the touched paths as the tree has them, the results commit what its writes, mode
    changes and deletions in patch order leave (:func:`_results_in_memory`). Where that cannot
    be worked out without the file system's answer (a path beyond a link or a file, a path
    that is a folder, a path that is both a file and a folder among those touched), ``None``
    is returned before anything is made, and the caller takes the step-by-step path.

    Crash safety is the step-by-step path's: the intent is recorded before the branch exists,
    the session (``applying``) right after the worktree does, and an apply that finds it
    continues on the step-by-step path from the snapshot commit.
    """
    tree = inputs.tree
    if progress is not None:
        progress("snapshot", 0, 1)
    # Read once: the engine judges these very entries (the tree remembers them), so the
    # snapshot is what it judged even if the tree changes meanwhile (the step-by-step path
    # compares the worktree it checked out instead).
    view = Tree(tree)
    snapshot = {path: view.entry(path) for path in touched}
    if not all(_plain_entry(entry) for entry in snapshot.values()):
        return None
    view.remember(snapshot)
    # The worktree's folders and files are made by a child process while this one predicts.
    regular = {path: entry.mode for path, entry in snapshot.items() if entry.mode in _REGULAR}
    with staging.started(where.folder, new.worktree, regular) as staged:
        plan = _plan(inputs, progress, view)
        base = {
            path: (entry.mode, entry.data)
            for path, entry in snapshot.items()
            if entry.mode is not None and entry.data is not None
        }
        results = _results_in_memory(base, plan.works)
        if results is None:
            return None
        if progress is not None:
            progress("snapshot", 1, 1)
            progress("worktree", 0, 1)
        _intent(where, new, tree, info.name)
        draft = _new_session(
            inputs, info, touched, _Place(new.git_dir, new.worktree, new.branch, "", "plain", None)
        )
        blobs: dict[str, bytes] = {}
        snapshot_commit, applied_commit = git.snapshot_and_results(
            new.git_dir, base, results, (_snapshot_message(tree), _applied_message(draft)), blobs
        )
        if new.worktree.exists():
            new.worktree.rmdir()
        written = git.checkout_files(
            new.git_dir, new.worktree, new.branch, applied_commit, results, blobs, staged
        )
    if checkpoint is not None:
        checkpoint("worktree")
    if progress is not None:
        progress("worktree", 1, 1)
    worktree = new.worktree
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    with store.locked():
        session = replace(draft, snapshot_commit=snapshot_commit)
        store.write(session)
        # The session says what is there from now on; the intent has done its job.
        setup.clear(where.folder)
        if checkpoint is not None:
            checkpoint("written")
        files = _session_files(inputs, worktree, session, plan)
        wrote: dict[str, bytes] = {}
        session = _after_commit(inputs, worktree, session, plan.works, files, applied_commit, wrote)
    return _OnePass(session, store, results, wrote, settled=written)


_REGULAR = ("100644", "100755")


def _known_worktree(
    session: Session,
    results: dict[str, tuple[str, bytes]],
    wrote: dict[str, bytes],
    verbatim: bool = False,
) -> KnownWorktree | None:
    """The worktree a one pass has just made, known without reading it; ``None`` wherever
    ``git status`` and a read of the files could find anything else.

    The applied commit, whose tree is ``results``, was checked out into a new folder (by
    :func:`git.checkout_files`, or git), and apply then wrote only ``wrote`` (conflict blocks,
    ``.rej`` files); memory replayed nothing (the caller checks). So each touched path holds
    its result, or what apply wrote over it, and ``git status`` lists exactly the files apply
    wrote over (a checkout differs from its commit in nothing), provided that:

    - the checkout wrote every file byte for byte and git compares it so (no line-end
      conversion, filter, ``$Id$``, re-encoding, sparse checkout:
      :func:`git.checkout_is_verbatim` asks git, or ``verbatim``: :func:`git.checkout_files`
      asked it and wrote the files itself);
    - the file system keeps every name apart (ASCII names, none equal to another but for
      case: a case-folding or normalising one would put two in one file);
    - no link (a file system without them makes one a file) and no ``.rej`` written over a
      touched path, a result or a folder (git would list or hide it by rules of its own), and
      the folders a ``.rej`` needed counted as there;
    - every file apply wrote over holds a conflict marker (the gate lists it as one, never as
      uncommitted);
    - each file is on disk as a regular file of its result's size and executable bit (an
      ``lstat`` each: what a file system that drops modes, or anything that got there
      between, would show).
    """
    touched = set(session.touched)
    if any(mode == SYMLINK for mode, _data in results.values()):
        return None
    rejects = {path for path in wrote if path not in results}
    # A .rej's folders too: writing one makes any the checkout did not.
    folders = {
        path[:at] for path in (*results, *rejects) for at, char in enumerate(path) if char == "/"
    }
    names = set(results) | folders | rejects | touched
    if not all(name.isascii() for name in names) or len({n.lower() for n in names}) != len(names):
        return None
    if rejects & (set(results) | folders | touched) or touched & folders:
        return None
    files: dict[str, bytes] = {}
    for path, (_mode, data) in results.items():
        files[path] = wrote.get(path, data)
        if path in wrote and not has_markers(files[path]):
            return None
    worktree = Path(session.worktree)
    for path, (mode, _data) in results.items():
        try:
            info = os.lstat(worktree / path)
        except OSError:
            return None
        executable = bool(info.st_mode & stat.S_IXUSR)
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_size != len(files[path])
            or executable != (mode == "100755")
        ):
            return None
    if not verbatim and not git.checkout_is_verbatim(worktree, sorted(results)):
        return None
    changed = frozenset(
        path for path, data in wrote.items() if path in results and data != results[path][1]
    )
    return KnownWorktree(files, frozenset(set(results) | folders | rejects), changed)


def _plain_entry(entry: Entry) -> bool:
    """A touched path whose snapshot and result need no file system to work out: a file, a
    link or nothing, with only folders on the way."""
    return entry.obstacle is None and entry.kind in (Kind.FILE, Kind.LINK, Kind.ABSENT)


def _results_in_memory(
    base: dict[str, tuple[str, bytes]], works: Sequence[_FileWork]
) -> dict[str, tuple[str, bytes]] | None:
    """The touched paths (path -> (mode, bytes)) as the step-by-step path's writes leave them
    and its commit records them: each file's result written (a rewritten file keeps its mode,
    a new one is ``100644``, a link stays a link), its mode set when it is a regular file, the
    source of a rename removed, in patch order; a mode apply set is what the commit records.

    ``None`` when a path written, removed or in the snapshot is also a folder on the way to
    another: on disk that is a link or file in the way (``Blocked``) or a folder where a file
    goes, which the step-by-step path meets as the file system says.
    """
    involved = set(base)
    for work in works:
        if (work.write and work.result is not None) or work.mode is not None:
            involved.add(work.prediction.path)
        if work.delete_path is not None:
            involved.add(work.delete_path)
    folders = {path[:at] for path in involved for at, char in enumerate(path) if char == "/"}
    if folders & involved:
        return None
    state = dict(base)
    modes: dict[str, str] = {}
    for work in works:
        path = work.prediction.path
        if work.write and work.result is not None:
            if work.mode == SYMLINK:
                state[path] = (SYMLINK, work.result)
            else:
                held = state.get(path)
                kept = held[0] if held is not None and held[0] != SYMLINK else "100644"
                state[path] = (kept, work.result)
        if work.mode not in (None, SYMLINK):
            held = state.get(path)
            if held is not None and held[0] != SYMLINK:
                # confined.set_mode knows these two; the commit records any other as 100644.
                known = work.mode if work.mode in ("100644", "100755") else held[0]
                state[path] = (known, held[1])
                modes[path] = work.mode
        if work.delete_path is not None:
            state.pop(work.delete_path, None)
    for path, mode in modes.items():
        held = state.get(path)
        if held is not None and held[0] != SYMLINK:
            state[path] = ("100755" if mode == "100755" else "100644", held[1])
    return state


def _is_regular(worktree: Path, path: str) -> bool:
    info = confined.lstat(worktree, path)
    return info is not None and stat.S_ISREG(info.st_mode)


def _put_markers(
    worktree: Path,
    path: str,
    hunks: list[SessionHunk],
    rejects: list[tuple[str, bytes]],
    wrote: dict[str, bytes] | None = None,
) -> tuple[list[SessionHunk], list[tuple[str, bytes]]]:
    """With ``--merge``: a conflict block in place of each open hunk's region (bottom up, so
    line numbers above stay right); hunks without a region keep their reject."""
    data = confined.read_file(worktree, path) if confined.reachable(worktree, path) else None
    if data is None:
        return hunks, rejects
    lines = split_lines(data)
    by_id = {h.id: h for h in hunks}
    placed: dict[str, SessionHunk] = {}
    ordered = sorted(
        (h for h in hunks if h.current is not None and h.open),
        key=lambda h: h.current.start if h.current is not None else 0,
    )
    previous_end = 0
    chosen: list[SessionHunk] = []
    for hunk in ordered:
        assert hunk.current is not None
        start = hunk.current.start - 1
        if start < previous_end:
            continue  # overlaps the region of the hunk above: keep its reject
        chosen.append(hunk)
        previous_end = start + hunk.current.count
    growth = 0
    out: list[bytes] = []
    cursor = 0
    for hunk in chosen:
        assert hunk.current is not None and hunk.vendor is not None
        start = hunk.current.start - 1
        count = hunk.current.count
        block = marker_block(
            to_bytes(hunk.vendor.text), to_bytes(hunk.pre_image), to_bytes(hunk.post_image)
        )
        out.extend(lines[cursor:start])
        out.append(block)
        cursor = start + count
        placed[hunk.id] = replace(hunk, current=Region(start + 1 + growth, to_text(block)))
        growth += len(split_lines(block)) - count
    out.extend(lines[cursor:])
    if chosen:
        written = b"".join(out)
        confined.write_file(worktree, path, written, sync=False)
        if wrote is not None:
            wrote[path] = written
    result = [placed.get(h.id, by_id[h.id]) for h in hunks]
    left = [(i, t) for i, t in rejects if i not in placed]
    return result, left


def _base_digest(
    reader: VanillaBase | None, vanilla: dict[str, bytes | None], entry: FileEntry, strip: int
) -> str | None:
    """The vanilla file's digest, part of where a remembered decision was made."""
    if reader is None:
        return None
    old = strip_path(entry.old_name, strip) if entry.old_name is not None else None
    return memory.sha256_of(vanilla.get(old) if old is not None else None)


def _reuse(
    session: Session, options: ApplyOptions, progress: Progress | None
) -> tuple[Session, bool]:
    """Replay the remembered decisions made in the same place (one read of the memory folder,
    one read of each file memory has something for, one commit); and whether any was (only
    then does replaying write to the worktree)."""
    if progress is not None:
        progress("memory", 0, 1)
    reuse, notes = find_reuse(session)
    session = replay(session, reuse, notes, trust=options.trust_memory)
    if progress is not None:
        progress("memory", 1, 1)
    return session, bool(reuse)


def materialise(session: Session, progress: git.ProgressCallback | None = None) -> int:
    """Fill the session's worktree with the whole tree, for a build (``git.materialise_full``)."""
    source = Path(session.tree) if session.tree_kind == "plain" else None
    # The touched paths are the session's: a file the patch deletes stays deleted.
    return git.materialise_full(Path(session.worktree), source, progress, leave=session.touched)

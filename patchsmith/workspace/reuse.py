"""What resolution memory knows about a session's hunks: where a decision was made, what it says.

The session's side of :mod:`patchsmith.workspace.memory`: a hunk's
:class:`~patchsmith.workspace.memory.Situation` (:func:`situation_of`), the entry a resolution
stores (:func:`memory_entry`), what a replay may reuse (:func:`find_reuse`), and the words
``status``, ``resolve`` and the TUI show about a reused or unreviewed hunk
(:func:`reuse_summary`, :func:`review_summary`, :func:`reuse_diff`). Writing a replayed decision
is the store's (:func:`patchsmith.workspace.session.replay`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from patchsmith.errors import InputError
from patchsmith.workspace import git, memory
from patchsmith.workspace.records import Session, SessionHunk

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


def memory_entry(
    session: Session, hunk: SessionHunk, decision: memory.Decision
) -> memory.Entry | None:
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


def _situation(hunk: SessionHunk) -> str:
    return memory.situation_key(
        hunk.pre_image,
        hunk.post_image,
        hunk.vendor.text if hunk.vendor is not None else None,
        str(hunk.status),
    )


def replayed_entry(store: memory.Memory, hunk: SessionHunk) -> memory.Entry | None:
    """The remembered decision a reused ``hunk`` replayed, while memory still holds it as it
    was replayed (``None`` once forgotten, or replaced by a newer decision for that place)."""
    if not hunk.reused or hunk.memory_id is None:
        return None
    entry = store.entry(hunk.memory_id, _situation(hunk))
    if entry is None:
        return None
    decided = (entry.decision.resolution, entry.decision.by or None, entry.decision.at or None)
    return entry if decided == (hunk.resolution, hunk.resolved_by, hunk.resolved_at) else None


def forget_remembered(store: memory.Memory, hunk: SessionHunk, *, replayed: bool = False) -> bool:
    """Take back from memory what ``hunk``'s resolution stands on, before the undo (so a
    failure leaves both as they were); ``True`` when a replayed decision was forgotten.

    A person's own resolution: what it added (the entry it replaced comes back). A reused one,
    with ``replayed`` (``resolve --undo``): the decision it replayed. Undoing a replay is a
    person saying that decision is wrong here, in the very situation and place it was
    remembered for (a reuse needs both to match); kept, it would be replayed by the next
    apply, and settled unread by ``--trust-memory``. Only that decision goes: an entry a newer
    decision has replaced since (another session, the same place) stays. Without ``replayed``
    (a new decision over a reused one, which replaces it in memory by itself and brings it
    back when taken back) memory is left as it is.
    """
    if hunk.memory_id is None:
        return False
    try:
        if not hunk.reused:
            store.restore(hunk.memory_id, _situation(hunk), hunk.memory_previous)
            return False
        if not replayed or replayed_entry(store, hunk) is None:
            return False
        return store.remove(hunk.memory_id, _situation(hunk))
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

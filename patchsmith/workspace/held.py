"""Whether the worktree still holds the lines ``apply`` wrote for each hunk.

A hunk ``apply`` wrote is reported as applied, and ``finish`` describes it as applied as
upstream wrote it. Both are claims about the worktree, which a person may edit afterwards (by
hand, committed or not, or through a resolution whose region reaches into it). This module
checks the claim instead of assuming it: :func:`changed_after_apply` names every hunk whose
written lines were changed since.

The evidence is two ``git diff -U0`` runs and nothing else: the snapshot against the "apply
clean hunks" commit says which lines apply wrote for which hunk (each change belongs to the
applied hunk whose vendor region holds it), and that commit against the worktree's files says
which of those lines differ now. A hunk is named when a change since touches a line it added
or put lines back where it removed some. A change beside its lines (its context, the hunk
above or below) does not name it, nor does a resolution of the hunk itself (the resolution
speaks for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patchsmith.workspace.lines import line_maps, line_maps_to_files
from patchsmith.workspace.regions import find_region, read_worktree_file, region_lines
from patchsmith.workspace.session import Region, Session, SessionHunk

__all__ = ["changed_after_apply"]

Change = tuple[int, int, int, int]
"""(old start, old count, new start, new count) of a ``git diff -U0`` hunk header."""


def changed_after_apply(session: Session) -> dict[str, str]:
    """Hunk id -> what changed, for each hunk apply wrote whose lines the worktree's files no
    longer hold as written (uncommitted edits count: ``finish`` commits them), and for each
    hunk a resolution wrote whose text the file no longer holds (:func:`_changed_resolutions`)."""
    worktree = Path(session.worktree)
    if not worktree.is_dir():
        return {}
    return {**_changed_applied(session, worktree), **_changed_resolutions(session, worktree)}


def _changed_resolutions(session: Session, worktree: Path) -> dict[str, str]:
    """Each resolved hunk whose written text is nowhere in its file any more.

    A resolution records the text it wrote (``written``), and ``undo`` looks for it the same
    way (:func:`find_region`, nearest the recorded place). Evidence for naming the hunk: the
    text is gone, so what status, the report and ``finish`` say was decided is not what the
    file carries. A text found elsewhere in the file (a short, generic one) names nothing:
    that is the weaker side, never a hunk named for an edit beside it.
    """
    changed: dict[str, str] = {}
    files: dict[str, bytes | None] = {}
    for hunk in session.hunks:
        if hunk.resolution is None or not hunk.written or hunk.current is None:
            continue
        if hunk.path not in files:
            files[hunk.path] = read_worktree_file(worktree, hunk.path)
        data = files[hunk.path]
        region = Region(hunk.current.start, hunk.written)
        if data is None or find_region(region_lines(data), region) is None:
            changed[hunk.id] = (
                f"the worktree no longer holds what its resolution ({hunk.resolution}) wrote "
                "(changed since by hand; 'git diff' there shows how)"
            )
    return changed


def _changed_applied(session: Session, worktree: Path) -> dict[str, str]:
    if session.applied_commit is None:
        return {}
    by_path: dict[str, list[SessionHunk]] = {}
    for hunk in session.hunks:
        if hunk.applied and hunk.resolution is None and hunk.found_line is not None:
            by_path.setdefault(hunk.path, []).append(hunk)
    if not by_path:
        return {}
    since = line_maps_to_files(worktree, session.applied_commit)
    if not since or not by_path.keys() & since.keys():
        return {}
    written = line_maps(worktree, session.snapshot_commit, session.applied_commit)
    if written is None:
        return {}
    changed: dict[str, str] = {}
    for path, hunks in by_path.items():
        if path not in since or path not in written:
            continue
        later = since[path].changes
        for hunk_id, own in _attributed(hunks, written[path].changes).items():
            line = _first_touched(own, later)
            if line is not None:
                changed[hunk_id] = (
                    f"the worktree no longer holds what apply wrote for it (line {line} as "
                    "apply left the file was changed since, by hand or by a resolution)"
                )
    return changed


def _attributed(hunks: Sequence[SessionHunk], changes: Sequence[Change]) -> dict[str, list[Change]]:
    """Each change apply made, under the id of the applied hunk whose vendor region holds it."""
    owned: dict[str, list[Change]] = {}
    for change in changes:
        old_start, old_count = change[0], change[1]
        # In -U0 headers an empty side names the line before: "-7,0" inserts before line 8.
        first = old_start if old_count else old_start + 1
        best: SessionHunk | None = None
        for hunk in hunks:
            assert hunk.found_line is not None
            length = hunk.pre_image.count("\n") + (0 if hunk.pre_image.endswith("\n") else 1)
            if hunk.found_line - 1 <= first <= hunk.found_line + length + 1 and (
                best is None or abs(hunk.found_line - first) < abs((best.found_line or 0) - first)
            ):
                best = hunk
        if best is not None:
            owned.setdefault(best.id, []).append(change)
    return owned


def _first_touched(own: Sequence[Change], later: Sequence[Change]) -> int | None:
    """The first line (as apply left the file) of what ``own`` wrote that a ``later`` change
    replaced, removed, split or refilled; ``None`` when none did."""
    for _, _, new_start, new_count in own:
        for old_start, old_count, _, _ in later:
            if new_count:
                # Lines new_start .. new_start+new_count-1 were written.
                last = new_start + new_count - 1
                if old_count and old_start <= last and new_start <= old_start + old_count - 1:
                    return max(old_start, new_start)
                if not old_count and new_start <= old_start < last:
                    return old_start  # lines inserted between two written lines
            elif old_count and old_start <= new_start < old_start + old_count - 1:
                # Removed after line new_start; a replacement across that point may bring the
                # removed lines back.
                return new_start
            elif not old_count and old_start == new_start:
                return new_start + 1  # lines put back exactly where apply removed some
    return None

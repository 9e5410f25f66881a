"""Prediction: every selected hunk's fate on the vendor tree, computed without writing anything.

:func:`predict` reads only the files the patch touches, runs the locate ladder
(:mod:`patchsmith.engine.locate`) on each hunk and returns frozen data: one
:class:`HunkPrediction` per hunk with exactly one :class:`~patchsmith.model.HunkStatus`, and per
file the contents it would have after applying the hunks that have a place
(:attr:`FilePrediction.result_lines`), so the apply stage reuses them instead of applying twice.

Several diffs of one file in one patch are predicted in sequence, the second against the result
of the first. New, deleted, renamed and copied files are judged on the file as a whole.

The tree is never written, and read through :mod:`patchsmith.engine.tree`: a name in the patch
that escapes the tree (``../``, absolute, into ``.git``) raises
:class:`~patchsmith.errors.TreeError` before anything is read, and no symlink is ever followed
(reading what a hostile patch names is how a tool leaks ``/etc/shadow`` into a report). A diff of
a path beyond a link (in the tree, or one an earlier diff of the patch creates), of a link where
the patch wants a regular file, or of a folder or a device, is a flagged ``conflict`` (or
``file-exists`` for a new file) with the reason. Every symlink the patch leaves in the tree
(created, re-targeted, made from a file by ``new mode 120000``, renamed or copied to a new place)
is judged by one rule: a target that is absolute or climbs out of the tree is a ``conflict``, and
nothing of the diff is applied. A diff of a symlink (git's mode ``120000``) is judged on the
link's target text; a later diff of the same patch sees the link with its new target.
"""

from __future__ import annotations

import functools
import os
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import field, fields, replace
from operator import attrgetter
from pathlib import Path

from patchsmith.engine.conflict import align
from patchsmith.engine.filelines import FileLines, split_lines
from patchsmith.engine.locate import (
    PLACE_RULES,
    apply_located,
    bound_by_neighbours,
    clear_with_vanilla,
    locate_hunk,
)
from patchsmith.engine.records import AlignmentRow, Candidate, Location, Placement
from patchsmith.engine.tree import (
    Entry,
    Kind,
    Obstacle,
    Tree,
    check_relative,
    points_outside,
    strip_path,
)
from patchsmith.model import SEVERITY, SYMLINK, HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import ChangeKind, FileEntry, PatchIndex
from patchsmith.record import record

__all__ = [
    "SCHEMA",
    "AlignmentRow",
    "BaseReader",
    "Candidate",
    "FilePrediction",
    "HunkPrediction",
    "ModeChange",
    "Placement",
    "Prediction",
    "apply_located",
    "diff_modes",
    "predict",
    "predict_file",
    "split_lines",
    "strip_path",
]

SCHEMA = "patchsmith.check/1"

APPLICABLE = frozenset(
    {HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.WHITESPACE, HunkStatus.FUZZ}
)
"""Statuses whose hunk has a place in the file and is in :attr:`FilePrediction.result_lines`."""

SETTLED = frozenset({HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.ALREADY_APPLIED})
"""Statuses that need nothing from a person (unless flagged ``needs_review``)."""

SETTLED_OR_EXCLUDED = SETTLED | {HunkStatus.EXCLUDED}

# Statuses whose hunk occupies its place in the file: later hunks of the file are searched
# below it, shifted by what it shifted.
_PLACED = APPLICABLE | {HunkStatus.ALREADY_APPLIED}


Progress = Callable[[int, int, str], None]
"""Called after each file diff with (files done, files in total, path)."""

Encode = Callable[[Sequence["FilePrediction"]], str]
"""Text made of a run of file predictions (see :func:`predict`'s ``encode``)."""

BaseReader = Callable[[str], bytes | None]
"""The vanilla file at a tree-relative path (``None`` when vanilla lacks it): how :func:`predict`
reads a base that is not a directory (a tarball or a git ref the caller has read)."""


@record
class HunkPrediction:
    """One hunk's predicted fate, with the evidence."""

    file_number: int
    """The file diff's 1-based number in the whole input (``--files`` numbering)."""
    hunk_number: int
    """1-based within its file diff (``--hunks`` numbering)."""
    status: HunkStatus
    expected_line: int
    """The line the patch states (``@@ -N``): what a user finds in the patch."""
    found_line: int | None
    """1-based line where the hunk's window starts in the vendor's file, if found."""
    offset: int
    """``found_line - expected_line``, as GNU patch reports it (0 when not found). A ``clean``
    hunk can have an offset: the shift was already seen, and flagged, on an earlier hunk."""
    fuzz: int
    needs_review: bool
    """Set when the hunk would apply but patchsmith cannot show it is safe, and on every
    partially-applied and conflict hunk."""
    reason: str
    candidates: tuple[Candidate, ...] = ()
    """For a conflict: the regions of the file most like the hunk, best first."""
    alignment: tuple[AlignmentRow, ...] = ()
    """For a conflict: the pre-image aligned with the best candidate, line by line."""
    placement: Placement | None = field(default=None, compare=False)
    """Where the hunk goes, when it has a place: what :func:`apply_located` takes (``None``
    also when :func:`predict` was told not to keep the file's contents)."""

    @property
    def settled(self) -> bool:
        """Nothing for a person to do: clean, offset or already applied, and not flagged."""
        return self.status in SETTLED_OR_EXCLUDED and not self.needs_review

    def to_json(self, verbose: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "index": self.hunk_number,
            "status": str(self.status),
            "expected_line": self.expected_line,
            "found_line": self.found_line,
            "offset": self.offset,
            "fuzz": self.fuzz,
            "needs_review": self.needs_review,
            "reason": self.reason,
            "candidates": [c.to_json() for c in self.candidates],
        }
        if verbose or self.alignment:
            data["alignment"] = [row.to_json() for row in self.alignment]
        return data


@record
class ModeChange:
    """A file diff's change of its file's mode (git's ``old mode`` and ``new mode`` headers),
    judged against the mode the tree's file has. Modes are git's: ``100644``, ``100755``,
    ``120000`` (a symlink)."""

    old: str
    new: str
    found: str | None
    """The tree's file's mode, ``None`` when the file is absent."""
    status: HunkStatus
    """``clean`` when the tree has ``old``, ``already-applied`` when it has ``new``, else
    ``conflict``."""

    @property
    def settled(self) -> bool:
        return self.status in SETTLED

    @property
    def reason(self) -> str:
        change = f"mode {self.old} → {self.new}"
        if self.status == HunkStatus.CLEAN:
            return change
        if self.status == HunkStatus.ALREADY_APPLIED:
            return f"{change}: already {self.new}"
        found = "absent" if self.found is None else f"mode {self.found}"
        return f"{change}, but the tree's file is {found}"

    def to_json(self) -> dict[str, object]:
        return {"old": self.old, "new": self.new, "found": self.found, "status": str(self.status)}


def judge_mode(old: str, new: str, found: str | None) -> ModeChange:
    """The verdict on a mode change ``old`` → ``new`` for a file whose mode is ``found``."""
    if found == old:
        status = HunkStatus.CLEAN
    elif found == new:
        status = HunkStatus.ALREADY_APPLIED
    else:
        status = HunkStatus.CONFLICT
    return ModeChange(old, new, found, status)


@record
class FilePrediction:
    """One file diff's predicted fate."""

    path: str
    """The file the diff produces, relative to the tree (prefix stripped)."""
    entry_number: int
    kind: ChangeKind
    status: HunkStatus
    """The worst status among the hunks, or the file's own for a diff without hunks."""
    hunks: tuple[HunkPrediction, ...]
    vendor_bytes: bytes | None = field(default=None, repr=False, compare=False)
    """The vendor's file the hunks were located in, as bytes (empty for a new file); ``None``
    when the diff deletes the file or the file cannot be patched (missing, binary). Kept as one
    ``bytes`` rather than lines: on a kernel patch, holding two million line objects until the
    end costs more than the whole search. Also ``None`` when :func:`predict` was told not to
    keep contents (``keep_contents=False``)."""
    reason: str = ""
    """For the file as a whole (a new file that exists, a binary, a deletion that differs)."""
    old_path: str | None = None
    """The source of a rename or copy."""
    needs_review: bool = False
    """For a diff without hunks, the file-level flag; otherwise any hunk's."""
    kbuild_class: str | None = None
    """The Kbuild class, when the caller asked for Kbuild selection."""
    mode: ModeChange | None = None
    """The diff's change of the file's mode, if it has one (with or without hunks)."""

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Where each hunk with a place goes (see :data:`APPLICABLE`)."""
        return tuple(h.placement for h in self.hunks if h.placement is not None)

    @property
    def result_lines(self) -> tuple[bytes, ...] | None:
        """The file after applying every hunk with a place, computed on demand; ``None`` when
        the file is absent afterwards (deleted) or cannot be patched (missing, binary)."""
        if self.vendor_bytes is None:
            return None
        return tuple(apply_located(split_lines(self.vendor_bytes), self.placements))

    @property
    def settled(self) -> bool:
        if self.mode is not None and not self.mode.settled:
            return False
        if self.hunks:
            return all(h.settled for h in self.hunks)
        return self.status in SETTLED and not self.needs_review

    def to_json(self, verbose: bool = False) -> dict[str, object]:
        data: dict[str, object] = {"path": self.path}
        if self.kbuild_class is not None:
            data["class"] = self.kbuild_class
        data["entry"] = self.entry_number
        data["kind"] = self.kind.name.lower()
        if self.old_path is not None:
            data["old_path"] = self.old_path
        data["status"] = str(self.status)
        data["needs_review"] = self.needs_review
        data["reason"] = self.reason
        if self.mode is not None:
            data["mode"] = self.mode.to_json()
        data["hunks"] = [h.to_json(verbose) for h in self.hunks]
        return data


@record
class Prediction:
    """Every selected file diff's prediction, in patch order."""

    files: tuple[FilePrediction, ...]
    fuzz: int = 2
    strip: int = 1
    encoded: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    """With :func:`predict`'s ``encode``: what it made of the files, a run of them at a time in
    patch order (the processes that predicted them made them), so that ``", ".join(encoded)``
    is what ``encode`` gives for all of them. ``None`` without ``encode``."""

    @property
    def counts(self) -> dict[HunkStatus, int]:
        """Hunks by status; a file diff without hunks counts once under its own status."""
        counter: Counter[HunkStatus] = Counter()
        for file in self.files:
            if file.hunks:
                counter.update(h.status for h in file.hunks)
            else:
                counter[file.status] += 1
        return {status: counter[status] for status in HunkStatus if counter[status]}

    @property
    def review_count(self) -> int:
        """Items (hunks, or hunk-less files) flagged ``needs_review``."""
        return sum(
            sum(1 for h in f.hunks if h.needs_review) if f.hunks else int(f.needs_review)
            for f in self.files
        ) + sum(1 for f in self.files if f.hunks and f.mode is not None and not f.mode.settled)

    @property
    def settled(self) -> bool:
        """Whether nothing needs a person: the check command's exit 0."""
        return all(f.settled for f in self.files)

    def to_json(self, verbose: bool = False, files: bool = True) -> dict[str, object]:
        """The ``patchsmith.check/1`` document; without ``files``, all of it but its last key,
        ``files`` (for a caller that has the files' text already: :attr:`encoded`)."""
        document: dict[str, object] = {
            "schema": SCHEMA,
            "fuzz": self.fuzz,
            "strip": self.strip,
            "counts": {str(status): count for status, count in self.counts.items()},
            "needs_review": self.review_count,
            "settled": self.settled,
        }
        if files:
            document["files"] = [f.to_json(verbose) for f in self.files]
        return document


# --- one file -------------------------------------------------------------------------------------


def _hunk_prediction(
    file_number: int, hunk: Hunk, location: Location, keep_placement: bool = True
) -> HunkPrediction:
    found = location.found + 1 if location.found is not None else None
    stated = hunk.old_start
    return HunkPrediction(
        file_number=file_number,
        hunk_number=hunk.number,
        status=location.status,
        expected_line=stated,
        found_line=found,
        offset=found - _stated_window_line(hunk) if found is not None else 0,
        fuzz=location.fuzz,
        needs_review=location.needs_review,
        reason=location.reason,
        candidates=location.candidates,
        alignment=location.alignment,
        placement=location.placement if keep_placement else None,
    )


def _stated_window_line(hunk: Hunk) -> int:
    """1-based line where the hunk's window starts according to the patch."""
    return hunk.old_start + 1 if hunk.old_count == 0 else hunk.old_start


def _uniform(
    file_number: int,
    hunks: Sequence[Hunk],
    status: HunkStatus,
    reason: str,
    *,
    review: bool = False,
    alignment: tuple[AlignmentRow, ...] = (),
) -> tuple[HunkPrediction, ...]:
    """The same verdict for every hunk of a file (a missing file, a binary, a new file)."""
    return tuple(
        HunkPrediction(
            file_number=file_number,
            hunk_number=hunk.number,
            status=status,
            expected_line=hunk.old_start,
            found_line=None,
            offset=0,
            fuzz=0,
            needs_review=review,
            reason=reason,
            alignment=alignment if index == 0 else (),
        )
        for index, hunk in enumerate(hunks)
    )


def _summary(hunks: Sequence[HunkPrediction], default: HunkStatus) -> HunkStatus:
    present = {h.status for h in hunks}
    for status in SEVERITY:
        if status in present:
            return status
    return default


def _image(hunks: Sequence[Hunk], post: bool) -> list[bytes]:
    out: list[bytes] = []
    for hunk in hunks:
        out.extend(hunk.new_lines if post else hunk.old_lines)
    return out


def predict_file(
    path: str,
    old_lines: Sequence[bytes] | bytes | None,
    hunks: Sequence[Hunk],
    kind: ChangeKind,
    fuzz: int = 2,
    *,
    entry_number: int = 0,
    old_path: str | None = None,
    target_exists: bool = False,
    keep_vendor_bytes: bool = True,
    base_lines: Sequence[bytes] | bytes | None = None,
    renamed_before: bool = False,
) -> FilePrediction:
    """Predict one file diff against the file's current lines (``None``: the file is absent).

    ``old_lines`` is the file the hunks apply to: for a new file, whatever already sits at the
    new path; for a rename or copy, the source file. ``target_exists`` says, for a rename or copy,
    whether the destination already exists (then the diff is ``file-exists``).

    ``old_lines`` may also be the file's bytes as read: then the file is only split into lines
    if a hunk needs more than an exact search (see :class:`~patchsmith.engine.filelines.FileLines`).
    ``keep_vendor_bytes=False`` leaves :attr:`FilePrediction.vendor_bytes` ``None``, and each
    hunk's :attr:`~HunkPrediction.placement` (see :func:`predict`).

    ``base_lines`` is the vanilla file the diff was made against (lines or bytes), when known:
    a clean or offset hunk flagged only because of its surroundings is then cleared if the
    vendor left them as vanilla had them (:func:`~patchsmith.engine.locate.clear_with_vanilla`).

    ``renamed_before`` says that a rename's source is absent and its destination is there (the
    tree has the names the patch leaves; ``old_lines`` is then the destination's file). A rename
    without hunks is then ``already-applied``, not ``clean``: applying it changes nothing.
    """
    view: FileLines | None = None
    if isinstance(old_lines, bytes):
        view = FileLines(data=old_lines)
    elif old_lines is not None:
        view = FileLines(old_lines)
    vanilla: FileLines | None = None
    if isinstance(base_lines, bytes):
        vanilla = FileLines(data=base_lines)
    elif base_lines is not None:
        vanilla = FileLines(base_lines)

    def done(
        status: HunkStatus,
        predictions: tuple[HunkPrediction, ...],
        vendor_bytes: bytes | None,
        reason: str = "",
        review: bool = False,
    ) -> FilePrediction:
        return FilePrediction(
            path=path,
            entry_number=entry_number,
            kind=kind,
            status=_summary(predictions, status),
            hunks=predictions,
            vendor_bytes=vendor_bytes if keep_vendor_bytes else None,
            reason=reason,
            old_path=old_path,
            needs_review=review or any(p.needs_review for p in predictions),
        )

    def original() -> bytes:
        return view.blob if view is not None else b""

    number = entry_number
    if kind == ChangeKind.BINARY:
        return done(
            HunkStatus.CONFLICT,
            (),
            None,
            "a binary diff: patchsmith does not predict binary changes; compare by hand",
            review=True,
        )

    if kind == ChangeKind.NEW:
        content = _image(hunks, post=True)
        if view is None:
            placed = tuple(
                _hunk_prediction(number, hunk, locate_hunk([], hunk, fuzz=fuzz), keep_vendor_bytes)
                for hunk in hunks
            )
            return done(HunkStatus.CLEAN, placed, b"", "new file")
        if view.blob == b"".join(content):
            reason = "the file already exists with exactly this content"
            return done(
                HunkStatus.ALREADY_APPLIED,
                _uniform(number, hunks, HunkStatus.ALREADY_APPLIED, reason),
                original(),
                reason,
            )
        reason = "the patch creates this file, but the tree already has a different one"
        return done(
            HunkStatus.FILE_EXISTS,
            _uniform(number, hunks, HunkStatus.FILE_EXISTS, reason, review=True),
            original(),
            reason,
            review=True,
        )

    if kind == ChangeKind.DELETED:
        if view is None:
            reason = "the file is already gone"
            return done(
                HunkStatus.ALREADY_APPLIED,
                _uniform(number, hunks, HunkStatus.ALREADY_APPLIED, reason),
                None,
                reason,
            )
        expected = _image(hunks, post=False)
        if not hunks or view.blob == b"".join(expected):
            review = bool(not hunks and view.blob)
            reason = (
                "the patch deletes an empty file, but the vendor's is not empty"
                if review
                else "deleted"
            )
            return done(
                HunkStatus.CONFLICT if review else HunkStatus.CLEAN,
                _uniform(number, hunks, HunkStatus.CLEAN, reason),
                None,
                reason,
                review=review,
            )
        reason = "the vendor's file differs from the one the patch deletes"
        return done(
            HunkStatus.CONFLICT,
            _uniform(
                number,
                hunks,
                HunkStatus.CONFLICT,
                reason,
                review=True,
                alignment=align(expected, view.lines, 0),
            ),
            original(),
            reason,
            review=True,
        )

    if kind in (ChangeKind.RENAMED, ChangeKind.COPIED) and target_exists:
        verb = "renames" if kind == ChangeKind.RENAMED else "copies"
        reason = f"the patch {verb} {old_path} to this path, which already exists"
        if view is not None:
            return done(
                HunkStatus.FILE_EXISTS,
                _uniform(number, hunks, HunkStatus.FILE_EXISTS, reason, review=True),
                None,
                reason,
                review=True,
            )

    if view is None:
        reason = "the file to patch does not exist in the tree"
        return done(
            HunkStatus.MISSING_FILE,
            _uniform(number, hunks, HunkStatus.MISSING_FILE, reason, review=True),
            None,
            reason,
            review=True,
        )

    locations: list[Location] = []
    delta = 0
    floor = 0
    for hunk in hunks:
        location = locate_hunk(view, hunk, delta=delta, floor=floor, fuzz=fuzz)
        if vanilla is not None and location.needs_review:
            location = clear_with_vanilla(view, hunk, location, vanilla)
        locations.append(location)
        if location.found is not None and location.status in _PLACED:
            delta += location.next_delta
            end = location.end
            floor = end if end is not None else floor
    if len(hunks) > 1 and any(location.needs_review for location in locations):
        locations = _bound_by_neighbours(view, hunks, locations, fuzz)
    predictions = [
        _hunk_prediction(number, hunk, location, keep_vendor_bytes)
        for hunk, location in zip(hunks, locations, strict=True)
    ]
    default = HunkStatus.CLEAN
    reason = ""
    if not hunks and kind == ChangeKind.MODE:
        reason = "mode change only"
    elif not hunks and kind == ChangeKind.RENAMED and renamed_before:
        # Evidence: the tree has the destination and not the source, the names the rename
        # leaves; against it would be the source still there (then it is renamed: clean) or
        # the destination too (file-exists, above). The destination's bytes cannot be held to
        # the source's (a rename without hunks carries none), and need not be: applying it
        # would leave them as they are.
        default = HunkStatus.ALREADY_APPLIED
        reason = f"the tree has this path and no {old_path}: renamed before, nothing to do"
    elif not hunks and kind in (ChangeKind.RENAMED, ChangeKind.COPIED):
        reason = f"{kind.name.lower()} without changes"
    return done(default, tuple(predictions), original(), reason)


def _gone_but_renamed(
    prediction: FilePrediction,
    tree: Tree,
    path: str,
    hunks: Sequence[Hunk],
    named: Collection[str],
) -> FilePrediction:
    """A deletion of a file the tree lacks (``already-applied``: it is gone), flagged when a
    file beside it holds exactly the bytes the patch deletes.

    Evidence for "already applied": nothing is at the path, which is what the patch leaves.
    Against: the vendor renamed the file (``dm-foo.c`` to ``dm-foo-vendor.c``), so the code
    upstream deletes is still in the tree, and still built; a file in the same folder with
    every byte of it is that evidence, unless the patch names that file too (deletes or
    changes it: upstream's own copy, not the vendor's). Only the same folder is looked in (one
    listing, and only files of the same size are read).
    """
    if prediction.status != HunkStatus.ALREADY_APPLIED:
        return prediction
    renamed = tree.same_content_beside(path, b"".join(_image(hunks, post=False)), named)
    if renamed is None:
        return prediction
    reason = (
        f"the file is gone, but {renamed} beside it holds exactly what the patch deletes: the"
        " vendor may have renamed it, and that code is still in the tree"
    )
    return replace(
        prediction,
        hunks=tuple(replace(h, needs_review=True, reason=reason) for h in prediction.hunks),
        reason=reason,
        needs_review=True,
    )


def _bound_by_neighbours(
    view: FileLines, hunks: Sequence[Hunk], locations: Sequence[Location], fuzz: int
) -> list[Location]:
    """What :func:`~patchsmith.engine.locate.bound_by_neighbours` gives, asked only about the
    hunks whose flag it could lift, each with the two settled hunks that bound it.

    It looks, for every flagged hunk, at every hunk above and below and at every other place
    the hunk's lines match: on repetitive code (the same block a thousand times, a hunk on
    each, every hunk ambiguous) that is quadratic. Its answer for a hunk depends on the hunk,
    its location, the greatest end of a settled hunk above it and the least start of one
    below. So each is found once here (a running maximum and minimum); a hunk with another
    exact match between them keeps its flag whatever else it asks (every other place must cross
    one of them), and only the rest are passed on, one at a time, between those two settled
    hunks: the same bounds, the same answer.
    """
    result = list(locations)
    settled = [
        location.found is not None
        and location.status in (HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.ALREADY_APPLIED)
        and not location.needs_review
        for location in locations
    ]
    count = len(locations)
    # For each hunk, the settled hunk above with the greatest end, and the one below with the
    # least start (None: the file's top or end).
    above: list[int | None] = [None] * count
    best: int | None = None
    for number, location in enumerate(locations):
        above[number] = best
        if (
            settled[number]
            and location.end is not None
            and (best is None or location.end > (locations[best].end or 0))
        ):
            best = number
    below: list[int | None] = [None] * count
    best = None
    for number in range(count - 1, -1, -1):
        below[number] = best
        location = locations[number]
        if (
            settled[number]
            and location.found is not None
            and (best is None or location.found < (locations[best].found or 0))
        ):
            best = number
    for number, (hunk, location) in enumerate(zip(hunks, locations, strict=True)):
        if (
            not location.needs_review
            or not location.rules
            or not set(location.rules) <= PLACE_RULES
            or location.status not in (HunkStatus.CLEAN, HunkStatus.OFFSET)
            or location.fuzz
            or location.found is None
        ):
            continue
        up, down = above[number], below[number]
        low = locations[up].end or 0 if up is not None else 0
        high = locations[down].found if down is not None else None
        top = len(view) if high is None else high
        size = len(hunk.old_lines)
        if not low <= location.found <= location.found + size <= top:
            continue
        # The places between the bounds, counted by bisection (a copy of them would be as long
        # as the file is repetitive, for every hunk).
        hits = view.find_all(hunk.old_lines)
        first, last = bisect_left(hits, low), bisect_right(hits, top - size)
        if last - first > 1 or (last == first + 1 and hits[first] != location.found):
            continue  # another exact place between the bounds: the flag stays
        window = [k for k in (up, number, down) if k is not None]
        bounded = bound_by_neighbours(
            view, [hunks[k] for k in window], [locations[k] for k in window], fuzz
        )
        result[number] = bounded[window.index(number)]
    return result


# --- the tree -------------------------------------------------------------------------------------


def diff_modes(entry: FileEntry) -> tuple[str | None, str | None]:
    """The git modes a diff gives its file before and after (``None`` when it says nothing):
    from ``old mode``/``new mode``, ``deleted file mode``/``new file mode``, or the mode at the
    end of the ``index`` line (``index 1234567..89abcde 120000``: a symlink's target changed)."""
    index_mode: str | None = None
    line = entry.header("index")
    if line is not None:
        words = line.split()
        if len(words) > 1:
            index_mode = words[1]
    old = entry.header("old mode") or entry.header("deleted file mode") or index_mode
    new = entry.header("new mode") or entry.header("new file mode") or index_mode
    return old, new


@record
class _Made:
    """What an earlier diff of this patch puts at a path (for the diffs after it)."""

    kind: Kind
    target: bytes | None = None
    changed: bool = False
    """The path was there before the patch (a link re-targeted, a file made a link)."""


def _link_left(
    data: bytes | None, hunks: Sequence[Hunk], prediction: FilePrediction, path: str
) -> tuple[bytes, bytes | None]:
    """The target of the link a diff leaves at ``path`` (its new target as the patch states it,
    or the source's for a diff without hunks) and the first of the targets it could get that
    points outside the tree, if any.

    A link's target is whatever apply writes, and apply writes the hunks it places: all of them
    with ``--accept-fuzz``, only the exact ones without. Each of those results is judged, with
    the patch's own post-image: a link that could point outside under any of them is refused,
    whatever the hunks' verdicts (a fuzzy place in a two-line target could make one out of the
    other)."""
    stated = b"".join(_image(hunks, post=True)) if hunks else (data or b"")
    lines = split_lines(data or b"")
    every = [h.placement for h in prediction.hunks if h.placement is not None]
    exact = [
        h.placement
        for h in prediction.hunks
        if h.placement is not None
        and h.status in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        and not h.needs_review
    ]
    candidates = [
        stated,
        b"".join(apply_located(lines, every)),
        b"".join(apply_located(lines, exact)),
    ]
    outside = next((c for c in candidates if points_outside(path, c)), None)
    return stated, outside


def _outside_reason(
    entry: FileEntry, old_mode: str | None, moved_from: str | None, target: bytes
) -> str:
    """Why a diff that leaves a link pointing outside the tree is refused, in the words of what
    the diff does to the path."""
    shown = target.decode("utf-8", "replace")
    if moved_from is not None:
        verb = "renames" if entry.kind == ChangeKind.RENAMED else "copies"
        return (
            f"the patch {verb} the symlink {moved_from} to this path, where it points outside "
            f"the tree (→ {shown})"
        )
    if old_mode != SYMLINK:
        return f"the patch turns this file into a symlink pointing outside the tree (→ {shown})"
    return f"the patch re-targets this symlink to point outside the tree (→ {shown})"


def _remember(
    state: dict[str, bytes | None],
    prediction: FilePrediction,
    kind: ChangeKind,
    target: str,
    moved_from: str | None,
) -> None:
    """Record what a diff left behind, for a later diff of the same file."""
    result = prediction.result_lines
    if result is not None:
        state[target] = b"".join(result)
        if moved_from is not None and kind == ChangeKind.RENAMED:
            state[moved_from] = None
    elif kind == ChangeKind.DELETED and prediction.status in (
        HunkStatus.CLEAN,
        HunkStatus.ALREADY_APPLIED,
    ):
        state[target] = None


def _new_symlink(
    entry: FileEntry, path: str, hunks: Sequence[Hunk], found: Entry
) -> FilePrediction:
    """A diff creating a symlink, judged on what the tree has at ``path`` (the link itself,
    never where it points)."""
    target = b"".join(_image(hunks, post=True))
    shown = target.decode("utf-8", "replace")
    if found.kind == Kind.ABSENT:
        if points_outside(path, target):
            # Making it is not a write outside, but everything after it (a later diff of a
            # path beyond it, a build) would read or write there.
            reason = f"the patch creates a symlink pointing outside the tree (→ {shown})"
            return _refused(entry, path, hunks, HunkStatus.CONFLICT, reason)
        # Placed like any new file's hunks (the link's target is the file's content); apply
        # makes it a symlink from the mode.
        reason = f"new symlink → {shown}"
        return FilePrediction(
            path=path,
            entry_number=entry.number,
            kind=entry.kind,
            status=HunkStatus.CLEAN,
            hunks=tuple(_hunk_prediction(entry.number, h, locate_hunk([], h)) for h in hunks),
            vendor_bytes=b"",
            reason=reason,
        )
    if found.kind == Kind.LINK and found.data == target:
        status, reason, review = HunkStatus.ALREADY_APPLIED, "the symlink is already there", False
    else:
        status, reason, review = (
            HunkStatus.FILE_EXISTS,
            f"the patch creates a symlink → {shown}, but the tree already has this path",
            True,
        )
    return FilePrediction(
        path=path,
        entry_number=entry.number,
        kind=entry.kind,
        status=status,
        hunks=_uniform(entry.number, hunks, status, reason, review=review),
        vendor_bytes=None,
        reason=reason,
        needs_review=review,
    )


def _refused(
    entry: FileEntry,
    path: str,
    hunks: Sequence[Hunk],
    status: HunkStatus,
    reason: str,
    old_path: str | None = None,
) -> FilePrediction:
    """A file diff patchsmith will not place (a path beyond a link, a link where the patch
    wants a file...): every hunk gets ``status`` and ``reason``, flagged, with nothing to apply."""
    return FilePrediction(
        path=path,
        entry_number=entry.number,
        kind=entry.kind,
        status=status,
        hunks=_uniform(entry.number, hunks, status, reason, review=True),
        vendor_bytes=None,
        reason=reason,
        old_path=old_path,
        needs_review=True,
    )


def _not_a_file(
    path: str, found: Entry, diff_is_link: bool, creates: bool, earlier: bool = False
) -> str | None:
    """Why the diff cannot be judged on what is at ``path`` (``None``: it can). A diff of a
    regular file meets a symlink, a folder or a device; a diff of a symlink meets a file.
    ``earlier``: what is there is what an earlier diff of this patch left."""
    if found.kind == Kind.LINK and not diff_is_link:
        shown = (found.data or b"").decode("utf-8", "replace")
        where = "after an earlier diff of this patch" if earlier else "in the tree"
        if creates:
            return f"the tree has a symlink at this path (→ {shown})"
        return (
            f"{path} is a symlink {where} (→ {shown}), but the patch changes a regular "
            "file: patching through the link would change the file it points to, replacing it "
            "would turn the link into a file"
        )
    if found.kind == Kind.FILE and diff_is_link and not creates:
        return "the patch changes a symlink, but the tree has a regular file here"
    if found.kind == Kind.DIRECTORY:
        if creates:
            return "the tree has a folder at this path"
        return f"{path} is a folder in the tree, but the patch treats it as a file"
    if found.kind == Kind.OTHER:
        return f"{path} is not a regular file in the tree (a FIFO, a socket or a device)"
    return None


def _with_mode(prediction: FilePrediction, mode: ModeChange) -> FilePrediction:
    """``prediction`` with its diff's mode change judged: the file's own verdict for a diff
    that only changes the mode, a note (and a flag when it conflicts) beside the hunks'."""
    conflict = not mode.settled
    if not prediction.hunks:
        return replace(
            prediction,
            mode=mode,
            status=mode.status,
            reason=mode.reason,
            needs_review=prediction.needs_review or conflict,
        )
    reason = "; ".join(r for r in (prediction.reason, mode.reason) if r)
    return replace(
        prediction, mode=mode, reason=reason, needs_review=prediction.needs_review or conflict
    )


def _clearable(prediction: FilePrediction) -> bool:
    """Whether a vanilla file could lift a flag of this file diff (a flagged exact match)."""
    return prediction.kind not in (ChangeKind.NEW, ChangeKind.DELETED, ChangeKind.BINARY) and any(
        h.needs_review and h.status in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        for h in prediction.hunks
    )


def predict(
    index: PatchIndex,
    entries: Iterable[FileEntry],
    tree: Path | Tree,
    strip: int,
    fuzz: int = 2,
    progress: Progress | None = None,
    classes: Mapping[str, str] | None = None,
    kept: Mapping[int, Collection[int]] | None = None,
    keep_contents: bool = True,
    base: Path | BaseReader | None = None,
    workers: int = 1,
    encode: Encode | None = None,
) -> Prediction:
    """Predict every hunk of ``entries`` (file diffs of ``index``) on ``tree``, read-only (a
    :class:`~patchsmith.engine.tree.Tree` already made, with what it remembers, or a folder).

    ``strip`` is patch's ``-p``. ``kept`` maps a file diff's number to the hunk numbers the
    selection kept (all when absent); the others are reported ``excluded`` and not applied.
    ``classes`` maps tree paths to Kbuild classes, shown in the output when given.

    ``keep_contents=False`` is for a caller that only reports statuses (``check --json``, the
    table): :attr:`FilePrediction.vendor_bytes` (and so ``result_lines``) is then ``None``, and
    so is each hunk's :attr:`~HunkPrediction.placement` (where a hunk goes means nothing without
    the file). Holding every file a kernel patch touches (50 MB) until the end costs a fifth of
    the prediction's time in fresh memory; let go, each file's buffer is reused for the next.

    ``base`` is the vanilla tree the patch was made against: a directory (read under the same
    rules as ``tree``: no path out of it, no symlink out of it) or a :data:`BaseReader`. With it,
    a clean or offset hunk flagged only by the duplicate-code or ambiguity rule is cleared when
    the vendor's code around the match equals vanilla's (see :func:`predict_file`). A vanilla
    file is read only for a file diff with such a hunk, and only for the first diff of a path:
    a later diff of the same file was made against vanilla plus the earlier one, which is not
    on disk.

    ``workers`` above 1 shares the file diffs among that many processes (this one and forked
    children, see :func:`predict_shared`), with the same result as one process gives; below
    :func:`workers_for`'s threshold it costs more than it saves. A process with another thread
    running (the TUI) never forks: a child could wait forever for a lock that thread held.

    ``encode`` turns a run of file predictions (consecutive in patch order) into text, such
    that the texts of consecutive runs joined by ``", "`` are the text of them all (the items
    of a JSON list, for ``check --json``). Each process encodes the runs it predicted, so a
    big patch's output is made in parallel too; the result's :attr:`Prediction.encoded` holds
    the texts in patch order.
    """
    source = tree if isinstance(tree, Tree) else Tree(tree)
    plan = _Plan(index, list(entries), source, strip, fuzz, classes, kept, keep_contents, base)
    files: list[FilePrediction] | None = None
    pieces: list[tuple[int, str]] | None = [] if encode is not None else None
    if workers > 1 and plan.shareable() and _can_fork():
        try:
            files = predict_shared(plan, workers, progress, encode=encode, encoded=pieces)
        except Exception:  # noqa: BLE001 (not swallowed: the run below raises it again)
            # A diff raised in some process. One process alone raises the error of the first
            # diff, in patch order, that has one: the same error, whichever process met it.
            files = None
    if files is None:
        walk = _Walk(plan)
        files = []
        total = len(plan.selected)
        for position in range(total):
            files.append(walk.predict_at(position))
            if progress is not None:
                progress(position + 1, total, plan.targets[position])
        if encode is not None:
            pieces = [(0, encode(files))] if files else []
    encoded = None if pieces is None else tuple(text for _first, text in sorted(pieces))
    return Prediction(files=tuple(files), fuzz=fuzz, strip=strip, encoded=encoded)


PARALLEL_FROM = 64
"""File diffs from which :func:`workers_for` shares them among processes: forking, and bringing
the results back, costs a few milliseconds, what predicting some twenty files costs."""

CHUNKS_PER_WORKER = 32
"""How finely the file diffs are cut for :func:`predict_shared`: each process asks for the next
chunk when done with its last, so at the end at most one chunk's time is spent by one process
alone."""


def _can_fork() -> bool:
    from patchsmith.engine.workers import can_fork

    return can_fork()


def workers_for(files: int) -> int:
    """How many processes :func:`predict` should use for ``files`` file diffs: one per CPU this
    process may run on, one alone for a small patch or where forking is unsafe."""
    if files < PARALLEL_FROM or not _can_fork():
        return 1
    affinity = getattr(os, "sched_getaffinity", None)
    count = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(count, 8))


class _Plan:
    """What every diff of one prediction is judged with, fixed before the first is: the diffs,
    their tree paths (stripped and checked once), the trees, the options. Read only, so forked
    workers share it as is."""

    def __init__(
        self,
        index: PatchIndex,
        selected: list[FileEntry],
        source_tree: Tree,
        strip: int,
        fuzz: int,
        classes: Mapping[str, str] | None,
        kept: Mapping[int, Collection[int]] | None,
        keep_contents: bool,
        base: Path | BaseReader | None,
    ) -> None:
        self.index = index
        self.selected = selected
        self.source_tree = source_tree
        self.fuzz = fuzz
        self.classes = classes
        self.kept = kept
        self.keep_contents = keep_contents
        self.read_base: BaseReader | None = None
        if isinstance(base, Path):
            self.read_base = Tree(base, what="the vanilla tree", option="--base").read
        elif base is not None:
            self.read_base = base
        # Each diff's tree paths (old, new), stripped once. Only files that more than one diff
        # touches need their predicted contents kept.
        self.paths: list[tuple[str | None, str | None]] = []
        self.targets: list[str] = []
        seen: Counter[str] = Counter()
        for entry in selected:
            old_rel = strip_path(entry.old_name, strip) if entry.old_name is not None else None
            new_rel = strip_path(entry.new_name, strip) if entry.new_name is not None else None
            for relative in (old_rel, new_rel):
                if relative is not None:
                    check_relative(relative)
            self.paths.append((old_rel, new_rel))
            target = new_rel if new_rel is not None else old_rel
            assert target is not None  # the index never yields a diff without names
            self.targets.append(target)
            seen.update({relative for relative in (old_rel, new_rel) if relative is not None})
        self.repeated = {path for path, count in seen.items() if count > 1}
        self.named = frozenset(seen)
        """Every tree path a selected diff names."""

    def hunks(self, entry: FileEntry) -> tuple[tuple[Hunk, ...], tuple[Hunk, ...]]:
        """The diff's hunks the selection kept, and those it left out."""
        hunks = parse_file(self.index, entry)
        chosen = self.kept.get(entry.number) if self.kept is not None else None
        if chosen is not None and len(chosen) < len(hunks):
            return (
                tuple(h for h in hunks if h.number in chosen),
                tuple(h for h in hunks if h.number not in chosen),
            )
        return hunks, ()

    def kept_count(self, entry: FileEntry) -> int:
        """How many of the diff's hunks the selection kept, from the index (nothing parsed)."""
        chosen = self.kept.get(entry.number) if self.kept is not None else None
        if chosen is None:
            return len(entry.hunks)
        return sum(1 for h in entry.hunks if h.number in chosen)

    def shareable(self) -> bool:
        """Whether the diffs can be shared among processes (:func:`predict_shared`).

        A diff's verdict depends on earlier diffs through two things: the contents an earlier
        diff of the same path leaves (the diffs of a path go to one process together), and what
        earlier diffs make at their paths (:class:`_Made`), which every process follows for every
        diff, its own or not, from the patch alone. Only a diff that leaves a symlink without
        hunks takes the link's target from the file (a mode change of a file into a link): its
        target is known only once read, so such a patch is predicted in one process.
        """
        for entry in self.selected:
            _old_mode, new_mode = diff_modes(entry)
            if _leaves_link(entry, new_mode) and self.kept_count(entry) == 0:
                return False
        return len(self.selected) > 1


def _leaves_link(entry: FileEntry, new_mode: str | None) -> bool:
    """Whether the diff leaves a symlink at a path that was there (not a new one)."""
    return (
        entry.kind != ChangeKind.NEW
        and new_mode == SYMLINK
        and entry.kind not in (ChangeKind.DELETED, ChangeKind.BINARY)
    )


class _Walk:
    """The diffs of one prediction taken in patch order, with what the earlier ones left: the
    in-memory contents of files diffed before, what they made at their paths, the paths they
    touched. Mutable state for one pass (so a plain class)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        # Paths an earlier diff of this patch touched: their vanilla is no longer what the next
        # diff of them was made against.
        self.diffed: set[str] = set()
        # The in-memory state of files earlier diffs of this patch touched: path -> contents, or
        # None for a file an earlier diff deleted. A later diff of the same file sees this, not
        # the disk.
        self.state: dict[str, bytes | None] = {}
        # What earlier diffs create (a link, a file) and the folders their new paths need: a
        # later diff of a path beyond them is judged as if they were in the tree, whether or not
        # the earlier diff gets applied, so the verdict does not depend on what apply writes
        # first.
        self.made: dict[str, _Made] = {}
        self.made_folders: set[str] = set()

    def entry_at(self, relative: str) -> Entry:
        """What is at a path as earlier diffs of this patch left it."""
        if relative in self.state:
            data = self.state[relative]
            if data is None:
                return Entry(Kind.ABSENT)
            kind = self.made[relative].kind if relative in self.made else Kind.FILE
            return Entry(kind, data)
        if relative in self.made_folders:
            return Entry(Kind.DIRECTORY)
        return self.plan.source_tree.entry(relative)

    def exists(self, relative: str) -> bool:
        if relative in self.state:
            return self.state[relative] is not None
        if relative in self.made_folders:
            return True
        return self.plan.source_tree.kind(relative).kind != Kind.ABSENT

    def mode_of(self, relative: str) -> str | None:
        """The file's git mode (on disk: an earlier diff of this patch changing it is not
        followed), ``None`` when absent or deleted by an earlier diff."""
        if relative in self.state and self.state[relative] is None:
            return None
        return self.plan.source_tree.kind(relative).mode

    def obstacle(self, relative: str) -> Obstacle | None:
        """The first folder on the way to ``relative`` that is not one, in the tree or made so
        by an earlier diff."""
        found = self.plan.source_tree.obstacle(relative)
        made = self.made
        if not made:
            return found
        shallowest: Obstacle | None = None
        folder = relative.rpartition("/")[0]
        while folder:
            made_here = made.get(folder)
            if made_here is not None and made_here.kind != Kind.DIRECTORY:
                shallowest = Obstacle(
                    folder,
                    made_here.kind,
                    made_here.target,
                    made_by_patch=True,
                    changed=made_here.changed,
                )
            folder = folder.rpartition("/")[0]
        if shallowest is None:
            return found
        # A link the tree has and an earlier diff re-targets is judged with its new target:
        # the patch's own component wins unless the tree stops the path further up.
        if found is not None and found.path.count("/") < shallowest.path.count("/"):
            return found
        return shallowest

    def predict_at(self, position: int) -> FilePrediction:
        """The prediction of the diff at ``position``; every earlier one was walked."""
        plan = self.plan
        entry = plan.selected[position]
        old_rel, new_rel = plan.paths[position]
        target = plan.targets[position]
        repeated = plan.repeated
        hunks, excluded = plan.hunks(entry)
        moved = entry.kind in (ChangeKind.RENAMED, ChangeKind.COPIED) and old_rel != new_rel
        source = old_rel if moved else target
        assert source is not None
        old_mode, new_mode = diff_modes(entry)
        creates = entry.kind == ChangeKind.NEW
        new_link = creates and new_mode == SYMLINK
        leaves_link = _leaves_link(entry, new_mode)
        refusal: tuple[HunkStatus, str] | None = None
        blocked: Obstacle | None = None
        for relative in dict.fromkeys((source, target)):
            blocked = self.obstacle(relative)
            if blocked is not None:
                refusal = (
                    HunkStatus.CONFLICT,
                    f"{blocked.describe()}: patchsmith neither reads nor writes through it",
                )
                break
        data: bytes | None = None
        target_exists = False
        renamed_before = False
        if refusal is None and not new_link:
            # A new symlink is judged on the link itself (below); anything else on the file,
            # read without following a link.
            found = self.entry_at(source)
            if moved:
                target_exists = self.exists(target)
                if found.kind == Kind.ABSENT and target_exists:
                    # Already renamed in the vendor tree: patch the file where it now lives.
                    found = self.entry_at(target)
                    target_exists = False
                    renamed_before = entry.kind == ChangeKind.RENAMED
            link_diff = (new_mode if creates else old_mode) == SYMLINK
            why = _not_a_file(
                source,
                found,
                link_diff,
                creates,
                earlier=source in self.made and source in self.state,
            )
            if why is not None:
                refusal = (HunkStatus.FILE_EXISTS if creates else HunkStatus.CONFLICT, why)
            data = found.data
        binary = data is not None and b"\x00" in data
        if refusal is not None:
            prediction = _refused(
                entry, target, hunks, refusal[0], refusal[1], old_rel if moved else None
            )
        elif new_link:
            prediction = _new_symlink(entry, target, hunks, self.entry_at(target))
        elif binary and entry.kind != ChangeKind.DELETED and hunks:
            reason = "the tree's file is binary (it contains NUL bytes); the patch changes text"
            prediction = FilePrediction(
                path=target,
                entry_number=entry.number,
                kind=entry.kind,
                status=HunkStatus.CONFLICT,
                hunks=_uniform(entry.number, hunks, HunkStatus.CONFLICT, reason, review=True),
                reason=reason,
                old_path=old_rel if moved else None,
                needs_review=True,
            )
        else:
            predict_this = functools.partial(
                predict_file,
                target,
                data,
                hunks,
                entry.kind,
                plan.fuzz,
                entry_number=entry.number,
                old_path=old_rel if moved else None,
                target_exists=target_exists,
                renamed_before=renamed_before,
                # A link's new target is judged from the placements (_link_left), and a later
                # diff of the same file starts from this one's result.
                keep_vendor_bytes=plan.keep_contents
                or leaves_link
                or target in repeated
                or old_rel in repeated,
            )
            prediction = predict_this()
            if entry.kind == ChangeKind.DELETED and data is None and hunks:
                prediction = _gone_but_renamed(
                    prediction, plan.source_tree, source, hunks, plan.named
                )
            read_base = plan.read_base
            if read_base is not None and source not in self.diffed and _clearable(prediction):
                # Only a file with a flag vanilla could lift is read from the base, and predicted
                # again with it (a handful of files on a stable patch).
                vanilla = read_base(source)
                if vanilla is not None:
                    prediction = predict_this(base_lines=vanilla)
        link_target: bytes | None = None
        link_refused = False
        if leaves_link:
            link_target, outside = _link_left(data, hunks, prediction, target)
            if refusal is None and outside is not None:
                prediction = _refused(
                    entry,
                    target,
                    hunks,
                    HunkStatus.CONFLICT,
                    _outside_reason(entry, old_mode, old_rel if moved else None, outside),
                    old_rel if moved else None,
                )
                link_refused = True
        if excluded:
            left_out = _uniform(
                entry.number, excluded, HunkStatus.EXCLUDED, "left out by --hunks/--lines"
            )
            merged = sorted(prediction.hunks + left_out, key=lambda h: h.hunk_number)
            prediction = replace(prediction, hunks=tuple(merged))
        header_old, header_new = entry.header("old mode"), entry.header("new mode")
        if (
            header_old is not None
            and header_new is not None
            and entry.kind != ChangeKind.BINARY
            and blocked is None
            and not link_refused
        ):
            prediction = _with_mode(
                prediction, judge_mode(header_old, header_new, self.mode_of(source))
            )
        classes = plan.classes
        if classes is not None and target in classes:
            prediction = replace(prediction, kbuild_class=classes[target])
        if target in repeated or (old_rel is not None and old_rel in repeated):
            _remember(self.state, prediction, entry.kind, target, old_rel if moved else None)
            if link_target is not None and target in repeated:
                # A later diff of this path meets the link with its new target, applied or not
                # (as for a link the patch creates), so check and apply see the same thing.
                self.state[target] = link_target
        self._leave(position, hunks, moved, old_mode, new_mode, link_target)
        return prediction

    def skip(self, position: int) -> None:
        """Walk past the diff at ``position`` without predicting it (another process does):
        only what later diffs of other paths see of it, what it makes at its path."""
        plan = self.plan
        entry = plan.selected[position]
        old_rel, new_rel = plan.paths[position]
        moved = entry.kind in (ChangeKind.RENAMED, ChangeKind.COPIED) and old_rel != new_rel
        old_mode, new_mode = diff_modes(entry)
        hunks: tuple[Hunk, ...] = ()
        link_target: bytes | None = None
        if new_mode == SYMLINK:
            # A link's target is its post-image (never empty here: see _Plan.shareable).
            hunks = plan.hunks(entry)[0]
            if _leaves_link(entry, new_mode):
                link_target = b"".join(_image(hunks, post=True))
        self._leave(position, hunks, moved, old_mode, new_mode, link_target)

    def _leave(
        self,
        position: int,
        hunks: Sequence[Hunk],
        moved: bool,
        old_mode: str | None,
        new_mode: str | None,
        link_target: bytes | None,
    ) -> None:
        """Note what the diff at ``position`` leaves for the diffs after it, whether it is
        applied or not: the paths it touched, and what it makes at its path."""
        plan = self.plan
        entry = plan.selected[position]
        old_rel, new_rel = plan.paths[position]
        target = plan.targets[position]
        made = self.made
        self.diffed.update(r for r in (old_rel, new_rel) if r is not None)
        if link_target is not None and not moved:
            made[target] = _Made(Kind.LINK, link_target, changed=True)
        elif (
            target in made
            and made[target].kind == Kind.LINK
            and old_mode == SYMLINK
            and new_mode not in (None, SYMLINK)
            and entry.kind != ChangeKind.DELETED
            and not moved
        ):
            # A link an earlier diff left, made a file again (``new mode 100644``).
            made[target] = _Made(Kind.FILE, changed=True)
        if entry.kind == ChangeKind.NEW or moved:
            made[target] = _Made(
                Kind.LINK if new_mode == SYMLINK else Kind.FILE,
                link_target
                if link_target is not None
                else b"".join(_image(hunks, post=True))
                if new_mode == SYMLINK
                else None,
            )
            folder = target.rpartition("/")[0]
            while folder and folder not in self.made_folders:
                self.made_folders.add(folder)
                folder = folder.rpartition("/")[0]


# --- shared among processes ---------------------------------------------------------------------


def predict_shared(
    plan: _Plan,
    workers: int,
    progress: Progress | None = None,
    *,
    static: bool = False,
    encode: Encode | None = None,
    encoded: list[tuple[int, str]] | None = None,
) -> list[FilePrediction] | None:
    """Every diff's prediction, computed by ``workers`` processes, in patch order; ``None`` when
    a worker failed (the caller predicts in one process then).

    The diffs are cut into chunks of about equal patch bytes, handed out in order to whichever
    process asks (:func:`patchsmith.engine.workers.share`). Each process walks every diff in
    patch order: it predicts those of its chunks and only follows the others
    (:meth:`_Walk.skip`), so what earlier diffs made at their paths is known to all. The diffs
    of one path (a file diffed twice, renamed and then changed) go with the chunk of the first
    of them, so one process sees them in sequence as one process alone would. Results come back
    as plain tuples of the records' fields (a tenth of what pickling the records costs) and are
    put back in patch order.

    With ``encode``, each process also encodes each run of consecutive diffs it predicted, and
    ``encoded`` gets (the run's first position, its text) for every run.
    """
    from patchsmith.engine.workers import MAX_CHUNKS, share

    total = len(plan.selected)
    chunks = max(1, min(MAX_CHUNKS, total, workers * CHUNKS_PER_WORKER))
    # Contiguous ranges of about equal weight: a diff's bytes in the patch, plus what opening
    # and reading a file costs whatever its diff.
    weights = [entry.end - entry.start + 4096 for entry in plan.selected]
    whole = sum(weights)
    ranges: list[int] = []
    before = 0
    for weight in weights:
        ranges.append(min(chunks - 1, before * chunks // whole))
        before += weight
    # The chunk each diff goes with: its own range's, or the first diff of its paths'.
    home = list(ranges)
    first: dict[str, int] = {}
    for position, (old_rel, new_rel) in enumerate(plan.paths):
        for relative in (old_rel, new_rel):
            if relative is None or relative not in plan.repeated:
                continue
            earlier = first.setdefault(relative, position)
            home[position] = min(home[position], home[earlier])
    # A diff of two paths (a rename) joins the chunks of both: follow every link to the end.
    changed = True
    while changed:
        changed = False
        for position, (old_rel, new_rel) in enumerate(plan.paths):
            for relative in (old_rel, new_rel):
                if relative is not None and relative in first:
                    earlier = first[relative]
                    lowest = min(home[position], home[earlier])
                    if home[position] != lowest or home[earlier] != lowest:
                        home[position] = home[earlier] = lowest
                        changed = True
    last = [-1] * chunks  # the last diff each chunk has
    for position, chunk in enumerate(home):
        last[chunk] = max(last[chunk], position)

    def work(
        claim: Callable[[], int | None], report: Progress | None
    ) -> list[tuple[int, FilePrediction]]:
        walk = _Walk(plan)
        mine = [False] * chunks
        current = claim()
        needed = -1  # the last diff this process must predict so far
        if current is not None:
            mine[current] = True
            needed = last[current]
        done: list[tuple[int, FilePrediction]] = []
        for position in range(total):
            while current is not None and current < ranges[position]:
                current = claim()
                if current is not None:
                    mine[current] = True
                    needed = max(needed, last[current])
            if current is None and position > needed:
                break  # every chunk is taken, and this process has nothing further on
            if mine[home[position]]:
                done.append((position, walk.predict_at(position)))
            else:
                walk.skip(position)
            if report is not None:
                # How far this process has walked: a child's own progress is not seen here.
                report(position + 1, total, plan.targets[position])
        return done

    def runs(done: list[tuple[int, FilePrediction]]) -> list[tuple[int, str]]:
        """Each run of consecutive positions in ``done`` (in order), encoded."""
        if encode is None:
            return []
        texts: list[tuple[int, str]] = []
        first = 0
        for number in range(1, len(done) + 1):
            if number == len(done) or done[number][0] != done[number - 1][0] + 1:
                texts.append((done[first][0], encode([file for _p, file in done[first:number]])))
                first = number
        return texts

    def here(
        claim: Callable[[], int | None],
    ) -> tuple[list[tuple[int, FilePrediction]], list[tuple[int, str]]]:
        done = work(claim, progress)
        return done, runs(done)

    def there(
        claim: Callable[[], int | None],
    ) -> tuple[list[tuple[int, tuple[object, ...]]], list[tuple[int, str]]]:
        # A child writes nothing to the terminal (its buffers are the parent's copies).
        done = work(claim, None)
        return [(position, _pack(file)) for position, file in done], runs(done)

    shared = share(chunks, workers, here, there, static=static)
    if shared is None:
        return None
    (own, own_texts), others = shared
    placed: list[FilePrediction | None] = [None] * total
    for position, file in own:
        placed[position] = file
    texts = list(own_texts)
    for rows, their_texts in others:
        for position, row in rows:
            placed[position] = _unpack(row)
        texts += their_texts
    if encoded is not None:
        encoded += texts
    files = [file for file in placed if file is not None]
    if len(files) != total:
        raise AssertionError(f"{total - len(files)} diffs were predicted by no process")
    return files


_HUNK_FIELDS = tuple(f.name for f in fields(HunkPrediction))
_FILE_FIELDS = tuple(f.name for f in fields(FilePrediction))
_HUNKS = _FILE_FIELDS.index("hunks")
_hunk_values = attrgetter(*_HUNK_FIELDS)
_file_values = attrgetter(*_FILE_FIELDS)


def _pack(file: FilePrediction) -> tuple[object, ...]:
    """A file's prediction as a tuple of its fields, each hunk's as a tuple of its own."""
    values = list(_file_values(file))
    values[_HUNKS] = [_hunk_values(hunk) for hunk in file.hunks]
    return tuple(values)


def _unpack(row: tuple[object, ...]) -> FilePrediction:
    """The :class:`FilePrediction` :func:`_pack` made ``row`` from."""
    values = list(row)
    hunks = values[_HUNKS]
    assert isinstance(hunks, list)
    values[_HUNKS] = tuple(HunkPrediction(*hunk) for hunk in hunks)
    return FilePrediction(*values)  # type: ignore[arg-type]

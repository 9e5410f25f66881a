"""The report model: everything a reviewer sees, as frozen data, before any format is chosen.

A :class:`Report` is built once, from a prediction (``check``, :mod:`patchsmith.report.prediction`)
or an apply session (:mod:`patchsmith.report.session`); the Markdown, HTML and JSON renderers only
lay it out. So the three formats cannot disagree, and a renderer never decides a hunk's fate:
statuses, review flags, resolutions and "is it open" come from the engine and the session as
they are.

Field names follow ``check --json`` (``patchsmith.check/1``) and ``status --json`` where the
same thing is meant: a file has ``path``, ``entry``, ``kind``, ``status``, ``needs_review``,
``reason``; a hunk has ``index``, ``status``, ``expected_line``, ``found_line``, ``offset``,
``fuzz``, ``needs_review``, ``reason``.
"""

from __future__ import annotations

import enum

from patchsmith.model import HunkStatus, Resolution
from patchsmith.quoting import escape_line, has_raw_bytes
from patchsmith.record import record

SCHEMA = "patchsmith.report/1"
"""The ``schema`` value of the JSON form; ``patchsmith/schemas/report-1.json`` describes it."""

FUZZY = frozenset({HunkStatus.FUZZ, HunkStatus.WHITESPACE})
"""Statuses that mean "found only after ignoring something": what "silently fuzzed" is about."""


class ReportKind(enum.StrEnum):
    """What the report was made from."""

    PREDICTION = "prediction"
    """``check``: nothing was written; outcomes are predictions."""
    SESSION = "session"
    """An apply session, at any point of resolution."""


class Severity(enum.StrEnum):
    """How much a row of "Needs attention" asks of a reviewer; the order of the members is the
    order of the table (the first five are open: the build gate waits for them)."""

    CONFLICT = "conflict"
    """Open: no safe place (conflict, partially applied, missing file, file exists)."""
    REVIEW = "review"
    """Open: found only with fuzz or whitespace ignored, or flagged for review."""
    WORKTREE = "worktree"
    """Open: a ``.rej`` file, a conflict marker, an uncommitted edit or an interrupted apply."""
    CONFIRM = "confirm"
    """Open: a resolution reused from memory that no person has confirmed."""
    WARNING = "warning"
    """Open: a selection warning nobody acknowledged."""
    UNREVIEWED = "unreviewed"
    """Not open, not proven: a reused resolution trusted by ``apply --trust-memory`` (or, in
    a session of an older patchsmith, a hunk ``apply --accept-fuzz`` wrote); no person decided
    it here. A hunk ``apply --accept-fuzz`` writes is a review item until a person confirms
    it."""
    RESOLVED = "resolved"
    """Decided by a person (a resolution, a confirmation, an acknowledged warning)."""
    SETTLED = "settled"
    """Nothing to decide: already applied, a mode change done."""
    OFFSET = "offset"
    """Found exactly, some lines away: harmless, collapsed into one line."""

    @property
    def rank(self) -> int:
        """0 for the most severe."""
        return _SEVERITY_ORDER.index(self)

    @property
    def open(self) -> bool:
        return self in _OPEN_SEVERITIES


_SEVERITY_ORDER = tuple(Severity)
_OPEN_SEVERITIES = frozenset(
    {Severity.CONFLICT, Severity.REVIEW, Severity.WORKTREE, Severity.CONFIRM, Severity.WARNING}
)

OPEN_KINDS: dict[str, tuple[Severity, str, str]] = {
    "conflict": (Severity.CONFLICT, "conflict", "conflicts"),
    "review": (Severity.REVIEW, "review item", "review items"),
    "interrupted": (Severity.WORKTREE, "interrupted apply", "interrupted applies"),
    "reject": (Severity.WORKTREE, ".rej file left", ".rej files left"),
    "marker": (Severity.WORKTREE, "file with conflict markers", "files with conflict markers"),
    "uncommitted": (Severity.WORKTREE, "uncommitted edit", "uncommitted edits"),
    "link": (Severity.WORKTREE, "symlink out of the worktree", "symlinks out of the worktree"),
    "confirm": (
        Severity.CONFIRM,
        "reused resolution to confirm",
        "reused resolutions to confirm",
    ),
    "warning": (Severity.WARNING, "selection warning", "selection warnings"),
}
"""Every kind of open item: its severity and its name (one, many), in the summary's order."""

CONFLICT_STATUSES = frozenset(
    {
        HunkStatus.CONFLICT,
        HunkStatus.PARTIALLY_APPLIED,
        HunkStatus.MISSING_FILE,
        HunkStatus.FILE_EXISTS,
    }
)
"""Statuses with no safe place: an open hunk with one is a conflict, any other a review item."""


def open_kind(status: HunkStatus) -> str:
    """``conflict`` or ``review``: the kind of open item an open hunk with ``status`` is."""
    return "conflict" if status in CONFLICT_STATUSES else "review"


def _kind(kind: str) -> tuple[Severity, str, str]:
    # A kind of open item this report does not know (a newer gate's) still keeps the gate
    # closed: it is shown under its own name with the worktree items.
    return OPEN_KINDS.get(kind, (Severity.WORKTREE, kind, kind))


def count_phrase(count: int, kind: str) -> str:
    """``1 conflict``, ``3 review items``."""
    _severity, one, many = _kind(kind)
    return f"{count} {one if count == 1 else many}"


# --- inputs ---------------------------------------------------------------------------------------


@record
class PatchInput:
    """One patch file as read, identified so a reviewer can check it is the published one."""

    name: str
    """The path as given on the command line (or ``<stdin>``)."""
    size: int
    """Bytes as stored (compressed size for a compressed file)."""
    data_size: int
    """Bytes after decompression: what was indexed."""
    sha256: str
    """SHA-256 of the decompressed bytes (the text the hunks come from)."""
    compression: str | None = None
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``None``."""


@record
class Inputs:
    """What went in: enough to reproduce the run."""

    patches: tuple[PatchInput, ...]
    tree: str
    """The vendor tree as given."""
    base: str | None
    """The vanilla base (``--base``), when a true 3-way merge was possible."""
    config: str | None
    """The kernel ``.config``, when Kbuild classes were used."""
    options: tuple[str, ...]
    """The selection and Kbuild options as typed (``--only drivers/md``, ``--modules-only``)."""
    strip: int
    """The ``-p`` level that turned patch names into tree paths."""
    fuzz: int
    """The largest fuzz the locate ladder was allowed."""
    version: str
    """patchsmith's version."""
    generated: str
    """When the report was made, ISO 8601 with a time zone."""
    config_sha256: str | None = None
    """SHA-256 of the ``.config`` when the selection read it (recorded by ``apply``)."""
    recorded: bool = True
    """Whether the selection's inputs were recorded (a session of an older patchsmith has only
    a one-line summary of its options)."""


# --- selection ------------------------------------------------------------------------------------


@record
class LeftOutGroup:
    """Files and hunks left out for one reason (a rule or a Kbuild class)."""

    rule: str
    files: int
    """Whole file diffs left out."""
    hunks: int
    """Hunks left out, those of whole files included."""
    paths: tuple[str, ...]
    """The files concerned (tree paths), in patch order."""
    sizes: tuple[int, ...] = ()
    """Hunks left out of each of :attr:`paths`, in the same order."""


@record
class ClassCount:
    """Files and hunks of one Kbuild class, kept and left out."""

    kbuild_class: str
    kept_files: int
    kept_hunks: int
    left_out_files: int
    left_out_hunks: int


@record
class SelectionWarning:
    """A dependency or header warning from selection (:mod:`patchsmith.kernel.deps`)."""

    kind: str
    """``uses-left-out`` or ``builtin-header``."""
    path: str
    hunk: int
    message: str
    other_path: str | None = None
    other_hunk: int | None = None
    identifiers: tuple[str, ...] = ()
    number: int = 0
    """What ``resolve --ack-warning`` takes (0 when it was never numbered)."""
    acknowledged_by: str = ""
    """Who read it and said so (``resolve --ack-warning``); empty while it is open."""
    acknowledged_at: str = ""

    @property
    def open(self) -> bool:
        return not self.acknowledged_by

    @property
    def id(self) -> str:
        """``[3] drivers/md/dm-verity-target.c``: how the gate names it."""
        return f"[{self.number}] {self.path}" if self.number else self.path


@record
class SelectionReport:
    """What the selection kept and left out, and why."""

    rules: tuple[str, ...]
    """The rules in effect, as a user would type them; empty when everything was kept."""
    files_total: int
    hunks_total: int
    files_kept: int
    hunks_kept: int
    left_out: tuple[LeftOutGroup, ...]
    """Grouped by rule, largest group first."""
    classes: tuple[ClassCount, ...]
    """By Kbuild class, when classes were computed; empty otherwise."""
    warnings: tuple[SelectionWarning, ...]

    @property
    def files_left_out(self) -> int:
        return self.files_total - self.files_kept

    @property
    def hunks_left_out(self) -> int:
        return self.hunks_total - self.hunks_kept


# --- outcomes -------------------------------------------------------------------------------------


@record
class DiffLine:
    """One line of a shown diff."""

    op: str
    """``" "`` on both sides, ``"-"`` old side only, ``"+"`` new side only."""
    text: str
    """The line without its ending, decoded with surrogateescape (a byte that is not UTF-8 is
    ``\\udcNN``; renderers show it with :func:`patchsmith.quoting.escape_line`)."""


@record
class Diff:
    """A diff shown to the reviewer: upstream's hunk, the vendor's region or the final result."""

    title: str
    """``upstream``, ``vendor`` or ``result``."""
    old_label: str
    """What the left side is (``vanilla``, ``upstream expects``, ``vendor``)."""
    new_label: str
    old_start: int
    """1-based line of the first old-side line."""
    new_start: int
    lines: tuple[DiffLine, ...]
    note: str = ""
    """A sentence on what the diff shows (``the vendor already has this change``)."""
    section: str = ""
    """The function context of upstream's ``@@`` line, kept so the hunk reads as in the patch."""
    old_numbering: str = ""
    """Whose line numbers :attr:`old_start` is in: ``vanilla``, ``vendor tree``, ``worktree``
    (empty: the label says it, as ``vanilla`` and ``upstream`` do)."""
    new_numbering: str = ""

    @property
    def caption(self) -> str:
        """``vendor had, vendor tree line 53 → proposal, worktree line 54``."""

        def side(label: str, numbering: str, start: int) -> str:
            return f"{label}, {numbering} line {start}" if numbering else f"{label} line {start}"

        return (
            f"{side(self.old_label, self.old_numbering, self.old_start)} → "
            f"{side(self.new_label, self.new_numbering, self.new_start)}"
        )

    @property
    def old_count(self) -> int:
        return sum(1 for line in self.lines if line.op != "+")

    @property
    def new_count(self) -> int:
        return sum(1 for line in self.lines if line.op != "-")

    @property
    def changed(self) -> bool:
        return any(line.op != " " for line in self.lines)

    def unified(self) -> str:
        """The diff as one unified hunk (header and lines), ``\\n``-terminated."""
        tail = f" {self.section}" if self.section else ""
        head = (
            f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@{tail}\n"
        )
        return head + "".join(f"{line.op}{line.text}\n" for line in self.lines)

    def shown_unified(self) -> str:
        """:meth:`unified` for a reader: a line holding a byte that is not UTF-8 escaped
        (:func:`patchsmith.quoting.escape_line`); :meth:`raw_lines` names those lines."""
        tail = f" {escape_line(self.section)}" if self.section else ""
        head = (
            f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@{tail}\n"
        )
        return head + "".join(f"{line.op}{escape_line(line.text)}\n" for line in self.lines)

    def raw_lines(self) -> tuple[str, ...]:
        """The lines :meth:`shown_unified` escaped, named as a reader finds them in the diff:
        ``@@`` for the header, ``-12`` and ``+13`` for a removed and an added line (by their
        side's number), ``14`` for a context line (by the old side's number)."""
        places = ["@@"] if has_raw_bytes(self.section) else []
        old = self.old_start
        new = self.new_start
        for line in self.lines:
            if has_raw_bytes(line.text):
                side = {"+": f"+{new}", "-": f"-{old}"}
                places.append(side.get(line.op, str(old)))
            if line.op != "+":
                old += 1
            if line.op != "-":
                new += 1
        return tuple(places)


@record
class HunkResolution:
    """How a person (or a remembered decision) settled a hunk."""

    resolution: Resolution
    by: str
    """Who (user name, or ``memory`` style identifiers from the session)."""
    at: str
    """When, ISO 8601."""
    reason: str = ""
    """Why; required for ``dropped``."""
    reused: bool = False
    """Taken from resolution memory (an earlier run) rather than decided now; :attr:`by` and
    :attr:`at` are then who decided it, and when."""
    confirmed_by: str = ""
    """Who confirmed a reused resolution (empty: nobody yet, and the gate waits for it)."""
    confirmed_at: str = ""
    trusted: bool = False
    """Confirmed by ``apply --trust-memory`` rather than by a person."""

    @property
    def reuse_state(self) -> str:
        """``reused: confirm``, ``reused, trusted (apply --trust-memory)``, ``reused, confirmed
        by X at T``, or empty for a resolution made in this session."""
        if not self.reused:
            return ""
        if self.trusted:
            return "reused, trusted (apply --trust-memory)"
        if not self.confirmed_at:
            return "reused: confirm"
        return f"reused, confirmed by {self.confirmed_by} at {self.confirmed_at}"


@record
class HunkReport:
    """One hunk's fate, with the evidence a reviewer needs to check it."""

    id: str
    """``path#n``: the id ``patchsmith resolve`` takes."""
    index: int
    """1-based within its file diff (``--hunks`` numbering), as ``check --json``."""
    header: str
    """The ``@@`` line as written in the patch."""
    status: HunkStatus
    expected_line: int
    found_line: int | None
    offset: int
    fuzz: int
    needs_review: bool
    reason: str
    added: int
    removed: int
    open: bool
    """Still needs a person: the build gate counts it."""
    resolution: HunkResolution | None = None
    upstream: Diff | None = None
    """Upstream's hunk as in the patch; set for every hunk that is not plainly clean."""
    vendor: Diff | None = None
    """What upstream expected against what the vendor has there; ``None`` when nothing is there."""
    result: Diff | None = None
    """The vendor's region against what it becomes; ``None`` while unresolved."""
    vendor_missing: str = ""
    """Why there is no :attr:`vendor` diff, in words, when there is none."""
    result_missing: str = ""
    """Why there is no :attr:`result` diff, in words, when there is none."""
    applied: bool = False
    """Written where :attr:`found_line` says (by ``apply``; for a prediction: what ``apply``
    would write)."""
    region_line: int | None = None
    """For a hunk that was not written: the vendor tree's line where the region a resolution
    replaces starts (the 3-way region, or the closest candidate), when there is one."""
    worktree_line: int | None = None
    """Where that region (or the result) starts in the worktree now, for a session."""
    region_kind: str = "region"
    """What :attr:`region_line` is: ``3-way region`` (found by aligning vanilla's file with the
    vendor's), ``closest region`` (the most similar lines, as ``check`` reports), ``region``."""
    reviewed_by: str = ""
    """Who confirmed what ``apply --accept-fuzz`` wrote for this hunk (empty: nobody, and while
    it is written unproven the gate waits for it)."""
    reviewed_at: str = ""

    @property
    def written_by_accept_fuzz(self) -> bool:
        """Written only because ``apply --accept-fuzz`` asked: fuzz, whitespace or a flag."""
        return self.applied and (self.needs_review or self.status in FUZZY)

    @property
    def detailed(self) -> bool:
        """Whether the hunk carries evidence (it was not plainly clean)."""
        return self.upstream is not None

    @property
    def for_a_person(self) -> bool:
        """Whether a person has to look, or did: flagged, not settled (fuzz, a conflict...),
        still open, or resolved by someone. A plain offset or an already-applied fix is not."""
        settled = (HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.ALREADY_APPLIED)
        return (
            self.needs_review
            or self.open
            or self.resolution is not None
            or self.status not in (*settled, HunkStatus.EXCLUDED)
        )

    @property
    def fuzzy(self) -> bool:
        return self.status in FUZZY

    @property
    def severity(self) -> Severity | None:
        """Where the hunk goes in "Needs attention"; ``None`` for a plainly clean or left-out
        hunk (not listed)."""
        if self.status == HunkStatus.EXCLUDED:
            return None
        if self.open:
            if self.resolution is not None:
                return Severity.CONFIRM  # a reused resolution nobody confirmed
            return Severity.CONFLICT if self.status in CONFLICT_STATUSES else Severity.REVIEW
        if self.resolution is not None:
            return Severity.UNREVIEWED if self.resolution.trusted else Severity.RESOLVED
        if self.written_by_accept_fuzz:
            # Not open: a person confirmed it (a session), or nobody could (older sessions).
            return Severity.RESOLVED if self.reviewed_by else Severity.UNREVIEWED
        if self.status == HunkStatus.OFFSET:
            return Severity.OFFSET
        if self.status == HunkStatus.CLEAN and not self.needs_review:
            return None
        return Severity.SETTLED

    @property
    def place(self) -> str:
        """Where the hunk is, in the vendor tree's line numbers (``check``'s): ``line 44
        (offset +5)``, ``already there at line 12``, ``not written; fuzzy match at line 1617
        (offset +368, fuzz 2); its region at line 1721``. A line number in the worktree is
        named as such; an open hunk is never said to be anywhere it was not written."""
        if self.status == HunkStatus.EXCLUDED:
            return "—"
        extras = []
        if self.offset:
            extras.append(f"offset {self.offset:+d}")
        if self.fuzz:
            extras.append(f"fuzz {self.fuzz}")
        tail = f" ({', '.join(extras)})" if extras else ""
        if self.status == HunkStatus.ALREADY_APPLIED:
            where = f"at line {self.found_line}" if self.found_line is not None else ""
            return f"already there {where}".strip()
        if self.applied and self.found_line is not None:
            if self.written_by_accept_fuzz:
                return f"written at line {self.found_line}{tail} by apply --accept-fuzz"
            return f"line {self.found_line}{tail}"
        parts: list[str] = []
        if self.found_line is not None:
            match = {
                HunkStatus.FUZZ: "fuzzy match",
                HunkStatus.WHITESPACE: "match with whitespace ignored",
            }.get(self.status, "match")
            parts.append(f"{match} at line {self.found_line}{tail}")
        if self.region_line is not None and self.region_line != self.found_line:
            parts.append(f"{self.region_kind} at line {self.region_line}")
        elif self.region_line is None and self.worktree_line is not None:
            parts.append(f"{self.region_kind} at worktree line {self.worktree_line}")
        if self.resolution is not None:
            lead = f"{self.resolution.resolution}"
        elif self.open:
            lead = "not written"
        else:
            lead = "not written (nothing to write)"
        if not parts:
            return lead if self.resolution is not None else f"{lead}; no place found"
        return f"{lead}; " + "; ".join(parts)


@record
class FileReport:
    """One file diff of the patch: kept or left out, with its hunks."""

    path: str
    """Tree path (prefix stripped)."""
    entry: int
    """The file diff's 1-based number in the whole input (``--files`` numbering)."""
    kind: str
    """``modified``, ``new``, ``deleted``, ``renamed``, ``copied``, ``binary`` or ``mode``."""
    status: HunkStatus
    """The worst hunk status, or the file's own when it has no hunks."""
    selected: bool
    needs_review: bool
    reason: str
    """Why the file has its status, or why it was left out."""
    added: int
    removed: int
    hunks: tuple[HunkReport, ...]
    open: bool
    """For a file without hunks (binary, mode change): still needs a person."""
    old_path: str | None = None
    kbuild_class: str | None = None
    module: str | None = None
    """The module it ends up in, for module code (``dm-snapshot``)."""
    class_reason: str | None = None
    """Why it has its Kbuild class (``drivers/md/Makefile:12: ...``)."""

    @property
    def id(self) -> str:
        return self.path

    @property
    def severity(self) -> Severity | None:
        """For a file without hunks (binary, mode change): as :attr:`HunkReport.severity`."""
        if not self.selected or self.hunks:
            return None
        if self.open:
            return Severity.CONFLICT if self.status in CONFLICT_STATUSES else Severity.REVIEW
        if self.status != HunkStatus.CLEAN or self.needs_review:
            return Severity.SETTLED
        return None

    @property
    def detailed(self) -> bool:
        return self.status != HunkStatus.CLEAN or any(h.detailed for h in self.hunks)


@record
class StatusCount:
    """How many hunks have one status (a row of the summary's counts)."""

    status: HunkStatus
    count: int


@record
class OpenItemReport:
    """One thing the build gate waits for (``check``'s exit 1 for a prediction)."""

    kind: str
    """A key of :data:`OPEN_KINDS`: ``conflict``, ``review``, ``confirm``, ``warning``,
    ``reject``, ``marker``, ``uncommitted``, ``interrupted``."""
    id: str
    """The hunk id, the warning (``[3] path``) or the path."""
    detail: str = ""

    @property
    def severity(self) -> Severity:
        return _kind(self.kind)[0]

    @property
    def label(self) -> str:
        """How :attr:`Summary.unresolved` names it: the hunk id, or ``path (reject)``."""
        if self.kind in ("conflict", "review"):
            return self.id
        if self.kind == "confirm":
            return f"{self.id} (reused: confirm)"
        return f"{self.id} ({self.kind})"


@record
class Summary:
    """The ten-second answer at the top of every report.

    Every statement in it is derived from :attr:`open`, the build gate's own list (a session's
    :meth:`~patchsmith.workspace.session.SessionStore.open_items`; for a prediction, what makes
    ``check`` exit 1), so the summary and the gate cannot disagree: :attr:`safe_to_build` is
    "the list is empty", and nothing is said to be fine while it is not."""

    files: int
    """File diffs kept by the selection."""
    hunks: int
    """Hunks kept by the selection."""
    counts: tuple[StatusCount, ...]
    """Kept hunks by status (a file without hunks counts once), then ``excluded``; in the order
    of :class:`~patchsmith.model.HunkStatus`, only statuses that occur."""
    open: tuple[OpenItemReport, ...]
    """What the gate waits for, most severe first (then in the gate's order)."""
    fuzzed: tuple[str, ...]
    """Ids of every kept hunk found only with fuzz or whitespace ignored."""
    silently_fuzzed: tuple[str, ...]
    """Those of :attr:`fuzzed` that were written without a person deciding them and are not
    open: only in a session of an older patchsmith, where ``apply --accept-fuzz`` settled them
    (now such a hunk is open until a person confirms it)."""
    resolved: int
    """Hunks a person decided (resolutions made here, and reused ones confirmed)."""
    warnings: int
    """Selection warnings, open or acknowledged."""
    prediction: bool = False
    """Made from ``check``: the gate is ``check``'s exit status, and "open" means "would be
    open once applied"."""
    trusted: tuple[str, ...] = ()
    """Reused resolutions ``apply --trust-memory`` confirmed: not open, and seen by nobody."""

    @property
    def safe_to_build(self) -> bool:
        return not self.open

    @property
    def unresolved(self) -> tuple[str, ...]:
        """:attr:`open` as labels (:attr:`OpenItemReport.label`), in its order."""
        return tuple(item.label for item in self.open)

    @property
    def open_counts(self) -> tuple[tuple[str, int], ...]:
        """(kind, count) of :attr:`open`, in the order of :data:`OPEN_KINDS`."""
        counted: dict[str, int] = {}
        for item in self.open:
            counted[item.kind] = counted.get(item.kind, 0) + 1
        known = [kind for kind in OPEN_KINDS if kind in counted]
        known += [kind for kind in counted if kind not in OPEN_KINDS]
        return tuple((kind, counted[kind]) for kind in known)

    @property
    def open_phrase(self) -> str:
        """``1 conflict, 1 .rej file left`` (empty when nothing is open)."""
        return ", ".join(count_phrase(count, kind) for kind, count in self.open_counts)

    @property
    def warnings_open(self) -> int:
        return sum(1 for item in self.open if item.kind == "warning")

    @property
    def fuzzed_open(self) -> tuple[str, ...]:
        waiting = {item.id for item in self.open}
        return tuple(i for i in self.fuzzed if i in waiting)

    @property
    def fuzz_phrase(self) -> str:
        """``fuzzy hunks: 2 (1 open, 1 decided by a person)``: what happened to each."""
        if not self.fuzzed:
            return "fuzzy hunks: none"
        waiting = len(self.fuzzed_open)
        silent = len(self.silently_fuzzed)
        decided = len(self.fuzzed) - waiting - silent
        parts = [
            f"{count} {what}"
            for count, what in (
                (waiting, "open"),
                (decided, "decided by a person"),
                (silent, "written by apply --accept-fuzz, decided by nobody"),
            )
            if count
        ]
        return f"fuzzy hunks: {len(self.fuzzed)} ({', '.join(parts)})"

    @property
    def warnings_phrase(self) -> str:
        """``selection warnings: 3 (1 open, 2 acknowledged)``."""
        if not self.warnings:
            return "selection warnings: none"
        waiting = self.warnings_open
        if self.prediction:
            return f"selection warnings: {self.warnings}"
        read = self.warnings - waiting
        parts = [f"{n} {w}" for n, w in ((waiting, "open"), (read, "acknowledged")) if n]
        return f"selection warnings: {self.warnings} ({', '.join(parts)})"

    @property
    def verdict(self) -> str:
        """Why it is or is not safe to build, one clause (without the yes or no)."""
        count = len(self.open)
        noun = "item" if count == 1 else "items"
        if self.prediction:
            if count:
                phrase = self.open_phrase
                return f"{count} {noun} would be open once applied: {phrase} (check exits 1)"
            return (
                "once applied, nothing would be open: every hunk has a safe place or is already "
                "there (check exits 0)"
            )
        if count:
            verb = "keeps" if count == 1 else "keep"
            return f"{count} open {noun} {verb} the build gate closed: {self.open_phrase}"
        return "nothing is open: the build gate opens"


@record
class BuildReport:
    """The result of the build gate's compile, when there was one."""

    ok: bool
    command: str
    message: str
    modules: tuple[str, ...] = ()
    """The ``.ko`` files built, tree-relative."""
    log_tail: str = ""
    """The last lines of the build log (the error, when it failed)."""


@record
class DiffstatEntry:
    """One file's line counts in the diffstat: lines added and removed."""

    path: str
    added: int
    removed: int


@record
class AttentionRow:
    """One row of "Needs attention": a hunk, a file without hunks, a selection warning or
    another open item of the gate, with its place in the order reviewers read."""

    order: int
    """1-based position in the table (severity first, then patch order)."""
    severity: Severity
    kind: str
    """For an open row, a key of :data:`OPEN_KINDS`; otherwise the severity's name."""
    id: str
    path: str
    status: str
    """The hunk's or file's status, or what the item is (``reject``, ``warning``...)."""
    place: str
    """Where, in the vendor tree's line numbers (:attr:`HunkReport.place`)."""
    reason: str
    open: bool
    entry: int | None = None
    """The file diff it belongs to (for links), when it is a hunk or a file."""
    hunk: HunkReport | None = None
    file: FileReport | None = None
    warning: SelectionWarning | None = None

    @property
    def needs_review(self) -> bool:
        """The engine's review flag on the hunk (or on the hunk-less file) of the row."""
        if self.hunk is not None:
            return self.hunk.needs_review
        return self.file is not None and self.file.needs_review


@record
class OffsetDigest:
    """The harmless offsets, collapsed into one line: ``16 offsets, largest +30``."""

    count: int
    largest: int
    """The offset farthest from zero, signed."""
    ids: tuple[str, ...]


@record
class Report:
    """A whole review report."""

    kind: ReportKind
    title: str
    inputs: Inputs
    summary: Summary
    files: tuple[FileReport, ...]
    """Every file diff of the patch in patch order, left-out ones included."""
    diffstat: tuple[DiffstatEntry, ...]
    """The final combined change, per file, in patch order."""
    selection: SelectionReport | None = None
    build: BuildReport | None = None
    attention: tuple[AttentionRow, ...] = ()
    """Everything a reviewer should look at, most severe first (:class:`Severity`); the
    harmless offsets last."""
    phase: str = ""
    """A session's phase in words (``applied``, ``finished``); empty for a prediction."""
    schema: str = SCHEMA

    @property
    def kept_files(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if f.selected)

    @property
    def left_out_files(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if not f.selected)

    @property
    def listed_attention(self) -> tuple[AttentionRow, ...]:
        """The rows shown one by one: all but the harmless offsets."""
        return tuple(row for row in self.attention if row.severity != Severity.OFFSET)

    @property
    def offsets(self) -> OffsetDigest | None:
        """The harmless offsets, for the one collapsed line (``None`` when there are none)."""
        rows = [r for r in self.attention if r.severity == Severity.OFFSET and r.hunk is not None]
        if not rows:
            return None
        shifts = [r.hunk.offset for r in rows if r.hunk is not None]
        largest = max(shifts, key=lambda shift: (abs(shift), shift))
        return OffsetDigest(len(rows), largest, tuple(r.id for r in rows))

    @property
    def attention_files(self) -> tuple[FileReport, ...]:
        """The kept files with a row in :attr:`attention` other than a harmless offset, in
        patch order: what ``--attention-only`` lists."""
        wanted = {row.entry for row in self.listed_attention if row.entry is not None}
        return tuple(f for f in self.kept_files if f.entry in wanted)

"""The report model: everything a reviewer sees, as frozen data, before any format is chosen.

A :class:`Report` is built once, from a prediction (``check``) or an apply session, by
:mod:`patchsmith.report.builders`; the Markdown, HTML and JSON renderers only lay it out. So the
three formats cannot disagree, and a renderer never decides a hunk's fate: statuses, review flags,
resolutions and "is it open" come from the engine and the session as they are.

Field names follow ``check --json`` (``patchsmith.check/1``) and ``status --json`` where the
same thing is meant: a file has ``path``, ``entry``, ``kind``, ``status``, ``needs_review``,
``reason``; a hunk has ``index``, ``status``, ``expected_line``, ``found_line``, ``offset``,
``fuzz``, ``needs_review``, ``reason``.

Depends on :mod:`patchsmith.model` only; never on a renderer, the CLI or the TUI.
"""

from __future__ import annotations

import enum

from patchsmith.model import HunkStatus, Resolution
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
    """The line without its ending, decoded for display (undecodable bytes as ``\\xNN``)."""


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
    def landed(self) -> str:
        """Where it landed, in words: ``line 25 (offset +5, fuzz 1)``, or an em dash."""
        if self.found_line is None:
            return "—"
        extras = []
        if self.offset:
            extras.append(f"offset {self.offset:+d}")
        if self.fuzz:
            extras.append(f"fuzz {self.fuzz}")
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"line {self.found_line}{tail}"


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
    def detailed(self) -> bool:
        return self.status != HunkStatus.CLEAN or any(h.detailed for h in self.hunks)


@record
class StatusCount:
    status: HunkStatus
    count: int


@record
class Summary:
    """The ten-second answer at the top of every report."""

    files: int
    """File diffs kept by the selection."""
    hunks: int
    """Hunks kept by the selection."""
    counts: tuple[StatusCount, ...]
    """Kept hunks by status (a file without hunks counts once), then ``excluded``; in the order
    of :class:`~patchsmith.model.HunkStatus`, only statuses that occur."""
    fuzzed: tuple[str, ...]
    """Ids of every hunk found only with fuzz or whitespace ignored."""
    silently_fuzzed: tuple[str, ...]
    """Those of :attr:`fuzzed` that went in without a review flag or a person's decision."""
    unresolved: tuple[str, ...]
    """Ids of what still needs a person (hunks, or files without hunks)."""
    warnings: int
    """Selection warnings to read."""
    safe_to_build: bool
    verdict: str
    """Why it is or is not safe to build, one clause (without the yes or no)."""


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
    path: str
    added: int
    removed: int


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
    schema: str = SCHEMA

    @property
    def kept_files(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if f.selected)

    @property
    def left_out_files(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if not f.selected)

    @property
    def attention_files(self) -> tuple[FileReport, ...]:
        """The kept files with something in :attr:`attention`, in patch order."""
        wanted = {id(file) for file, _hunk in self.attention}
        return tuple(f for f in self.kept_files if id(f) in wanted)

    @property
    def attention(self) -> tuple[tuple[FileReport, HunkReport | None], ...]:
        """Every kept hunk (or hunk-less file) that was not plainly clean, in patch order."""
        found: list[tuple[FileReport, HunkReport | None]] = []
        for file in self.kept_files:
            if not file.hunks:
                if file.status != HunkStatus.CLEAN or file.needs_review or file.open:
                    found.append((file, None))
                continue
            found.extend(
                (file, hunk)
                for hunk in file.hunks
                if hunk.status != HunkStatus.EXCLUDED
                and (hunk.status != HunkStatus.CLEAN or hunk.needs_review or hunk.open)
            )
        return tuple(found)

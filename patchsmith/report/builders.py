"""Build a :class:`~patchsmith.report.model.Report` from a prediction (and later a session).

Everything a report says about a hunk is taken from what the engine or the session decided: the
status, the review flag, the place, the reason, whether it is open. What is computed here is only
what a reviewer needs to *see* it: the hunk's lines, the vendor's lines at that place, the result
there (by :func:`patchsmith.engine.locate.apply_located`, the same function apply uses), counts
and a diffstat.

Evidence (the three diffs) is gathered only for hunks that were not plainly clean, so a report of
a 3,500-hunk stable patch reads a few dozen regions, not the whole tree.

Its sources are the engine's prediction, the session (with what ``apply`` recorded and the line
maps of :mod:`patchsmith.workspace.lines`) and the kernel package's classes, warnings and build
result; the renderers see only the :class:`~patchsmith.report.model.Report` made here.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from patchsmith import __version__
from patchsmith.engine.locate import apply_located
from patchsmith.engine.predict import FilePrediction, HunkPrediction, Prediction, split_lines
from patchsmith.kernel.build import BuildResult
from patchsmith.kernel.classify import Classification
from patchsmith.kernel.deps import DependencyWarning
from patchsmith.model import SEVERITY, HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_hunk
from patchsmith.patchfile.index import ChangeKind, FileEntry, HunkEntry, PatchIndex
from patchsmith.patchfile.select import SelectionResult, describe
from patchsmith.record import record
from patchsmith.report.model import (
    AttentionRow,
    BuildReport,
    ClassCount,
    Diff,
    DiffLine,
    DiffstatEntry,
    FileReport,
    HunkReport,
    HunkResolution,
    Inputs,
    LeftOutGroup,
    OpenItemReport,
    PatchInput,
    Report,
    ReportKind,
    SelectionReport,
    SelectionWarning,
    Severity,
    StatusCount,
    Summary,
    open_kind,
)
from patchsmith.workspace.inputs import SelectionInputs
from patchsmith.workspace.lines import LineMap
from patchsmith.workspace.session import OpenItem, Phase, Session, SessionHunk, SessionWarning

__all__ = [
    "ReportContext",
    "attention_rows",
    "diffstat_of",
    "from_build_json",
    "from_build_result",
    "from_prediction",
    "from_session",
    "inputs_from",
    "selection_report",
    "summarize",
]

Clock = Callable[[], datetime]

_KIND_NAMES = {
    ChangeKind.MODIFIED: "modified",
    ChangeKind.NEW: "new",
    ChangeKind.DELETED: "deleted",
    ChangeKind.RENAMED: "renamed",
    ChangeKind.COPIED: "copied",
    ChangeKind.BINARY: "binary",
    ChangeKind.MODE: "mode",
}


@record
class ReportContext:
    """What a report says about the run besides the outcomes: the inputs as the user gave them."""

    tree: str
    base: str | None = None
    config: str | None = None
    options: tuple[str, ...] = ()
    """Selection and Kbuild options as typed, for the inputs table and the selection rules."""
    classes: Mapping[str, Classification] | None = None
    """Kbuild classes by tree path, when the selection used them."""
    warnings: Sequence[DependencyWarning] = ()
    build: BuildReport | None = None
    version: str = __version__
    now: Clock | None = None
    """Injected by tests for a fixed date; the current time (UTC) otherwise."""
    applied_lines: Mapping[str, LineMap] | None = None
    """For a session: how each file's lines moved from the vendor's tree to the "apply clean
    hunks" commit (:func:`patchsmith.workspace.lines.line_maps`), so regions are reported in
    the vendor tree's numbers; a path not in it did not move. ``None``: not known, and the
    report gives worktree line numbers, named as such."""
    result_lines: Mapping[str, LineMap] | None = None
    """The same from the vendor's tree to the session's branch now (where results are)."""


# --- small helpers --------------------------------------------------------------------------------


def display(line: bytes) -> str:
    """A line for display: ending removed, undecodable bytes shown as ``\\xNN``."""
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line.decode("utf-8", "backslashreplace")


def _raw_header(index: PatchIndex, entry: FileEntry, hunk: HunkEntry) -> str:
    data = index.sources[entry.source].data
    end = data.find(b"\n", hunk.start, hunk.end)
    return display(data[hunk.start : end if end >= 0 else hunk.end])


def _generated(context: ReportContext) -> str:
    moment = context.now() if context.now is not None else datetime.now(UTC)
    return moment.isoformat(timespec="seconds")


def inputs_from(index: PatchIndex, context: ReportContext, strip: int, fuzz: int) -> Inputs:
    patches = tuple(
        PatchInput(
            name=source.name,
            size=source.raw_size or len(source.data),
            data_size=len(source.data),
            sha256=hashlib.sha256(source.data).hexdigest(),
            compression=source.compression,
        )
        for source in index.sources
    )
    return Inputs(
        patches=patches,
        tree=context.tree,
        base=context.base,
        config=context.config,
        options=context.options,
        strip=strip,
        fuzz=fuzz,
        version=context.version,
        generated=_generated(context),
    )


# --- selection ------------------------------------------------------------------------------------


def describe_rules(result: SelectionResult, options: Sequence[str] = ()) -> tuple[str, ...]:
    """The rules of a selection as a user would type them, plus any further options given."""
    rules = list(describe(result.selection))
    known = set(rules)
    rules += [o for o in options if o not in known and o.startswith("--") and "only" not in o]
    return tuple(rules)


def _group_rule(reason: str, kbuild_class: str | None) -> str:
    """The group a left-out file is counted under: its command-line rule, or its Kbuild class."""
    if reason.startswith("-") or kbuild_class is None:
        return reason
    return f"Kbuild class: {kbuild_class}"


@record
class _Choice:
    """One file diff's selection decision, from a selection result or a session's record."""

    path: str
    reason: str | None
    hunks: int
    kept: int
    hunk_reasons: tuple[tuple[int, str], ...]
    kbuild_class: str | None


def _selection_of(
    choices: Iterable[_Choice],
    rules: tuple[str, ...],
    hunks_total: int,
    warnings: tuple[SelectionWarning, ...],
) -> SelectionReport:
    groups: dict[str, tuple[int, int, list[str], list[int]]] = {}
    classes: dict[str, list[int]] = {}
    files_total = files_kept = hunks_kept = 0

    def count_class(kind: str | None, kept_files: int, kept: int, out_files: int, out: int) -> None:
        if kind is None:
            return
        row = classes.setdefault(kind, [0, 0, 0, 0])
        for position, amount in enumerate((kept_files, kept, out_files, out)):
            row[position] += amount

    def add(rule: str, files: int, hunks: int, path: str) -> None:
        old = groups.get(rule, (0, 0, [], []))
        if path in old[2]:
            old[3][old[2].index(path)] += hunks
        else:
            old[2].append(path)
            old[3].append(hunks)
        groups[rule] = (old[0] + files, old[1] + hunks, old[2], old[3])

    for choice in choices:
        files_total += 1
        if choice.reason is not None:
            add(_group_rule(choice.reason, choice.kbuild_class), 1, choice.hunks, choice.path)
            count_class(choice.kbuild_class, 0, 0, 1, choice.hunks)
            continue
        files_kept += 1
        hunks_kept += choice.kept
        for _number, why in choice.hunk_reasons:
            add(why, 0, 1, choice.path)
        count_class(choice.kbuild_class, 1, choice.kept, 0, len(choice.hunk_reasons))
    left_out = tuple(
        LeftOutGroup(rule, files, hunks, tuple(paths), tuple(sizes))
        for rule, (files, hunks, paths, sizes) in sorted(
            groups.items(), key=lambda item: (-item[1][0], -item[1][1], item[0])
        )
    )
    return SelectionReport(
        rules=rules,
        files_total=files_total,
        hunks_total=hunks_total,
        files_kept=files_kept,
        hunks_kept=hunks_kept,
        left_out=left_out,
        classes=tuple(
            ClassCount(kind, *row) for kind, row in sorted(classes.items(), key=lambda i: i[0])
        ),
        warnings=warnings,
    )


def selection_report(
    result: SelectionResult,
    context: ReportContext,
    predicted: Mapping[int, FilePrediction] | None = None,
) -> SelectionReport:
    choices = (
        _Choice(
            path=d.tree_path,
            reason=d.reason,
            hunks=len(d.entry.hunks),
            kept=len(d.kept) if d.reason is None else 0,
            hunk_reasons=tuple(d.hunk_reasons),
            kbuild_class=_class_of(d.tree_path, context.classes, predicted, d.entry.number),
        )
        for d in result.decisions
    )
    warnings = tuple(_warning(w) for w in context.warnings)
    return _selection_of(
        choices, describe_rules(result, context.options), result.index.hunk_count, warnings
    )


def selection_from_inputs(
    inputs: SelectionInputs, warnings: tuple[SelectionWarning, ...]
) -> SelectionReport:
    """What a session's selection kept and left out, from what ``apply`` recorded."""
    choices = (
        _Choice(
            path=f.path,
            reason=f.reason,
            hunks=f.hunks,
            kept=len(f.kept),
            hunk_reasons=f.hunk_reasons,
            kbuild_class=f.kbuild_class,
        )
        for f in inputs.files
    )
    return _selection_of(choices, inputs.rules, inputs.hunks_total, warnings)


def _warning(warning: DependencyWarning) -> SelectionWarning:
    return SelectionWarning(
        kind=str(warning.kind),
        path=warning.path,
        hunk=warning.hunk,
        message=warning.message,
        other_path=warning.other_path,
        other_hunk=warning.other_hunk,
        identifiers=warning.identifiers,
        number=warning.number,
    )


def _session_warning(warning: SessionWarning) -> SelectionWarning:
    return SelectionWarning(
        kind=warning.kind,
        path=warning.path,
        hunk=warning.hunk,
        message=warning.message,
        other_path=warning.other_path,
        number=warning.number,
        acknowledged_by=warning.acknowledged_by or "",
        acknowledged_at=warning.acknowledged_at or "",
    )


def _class_of(
    path: str,
    classes: Mapping[str, Classification] | None,
    predicted: Mapping[int, FilePrediction] | None,
    entry: int | None,
) -> str | None:
    if classes is not None and path in classes:
        return str(classes[path].kind)
    if predicted is not None and entry is not None and entry in predicted:
        return predicted[entry].kbuild_class
    return None


# --- evidence -------------------------------------------------------------------------------------


def _rows(old: Sequence[str], new: Sequence[str]) -> tuple[DiffLine, ...]:
    """Every line of both sides, as a diff (no context trimming: the regions are small)."""
    rows: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, old_low, old_high, new_low, new_high in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(DiffLine(" ", line) for line in old[old_low:old_high])
            continue
        rows.extend(DiffLine("-", line) for line in old[old_low:old_high])
        rows.extend(DiffLine("+", line) for line in new[new_low:new_high])
    return tuple(rows)


def upstream_diff(hunk: Hunk) -> Diff:
    return Diff(
        title="upstream",
        old_label="vanilla",
        new_label="upstream",
        old_start=hunk.old_start,
        new_start=hunk.new_start,
        lines=tuple(DiffLine(line.op, display(line.text)) for line in hunk.lines),
        section=hunk.section,
    )


def _region(prediction: HunkPrediction, hunk: Hunk, size: int) -> tuple[int, int] | None:
    """The 0-based [start, end) of the vendor's lines the hunk concerns, if it has a place."""
    placement = prediction.placement
    if placement is not None:
        start = max(0, placement.start - placement.top)
        return start, min(size, placement.start + placement.length + placement.bottom)
    numbered = [row.vendor_line for row in prediction.alignment if row.vendor_line is not None]
    if numbered:
        return min(numbered) - 1, max(numbered)
    if prediction.found_line is not None:
        if prediction.status == HunkStatus.ALREADY_APPLIED:
            length = len(hunk.new_lines)
        else:
            length = max(len(hunk.old_lines), len(hunk.new_lines))
        start = prediction.found_line - 1
        return start, min(size, start + length)
    if prediction.candidates:
        best = prediction.candidates[0]
        return best.line - 1, min(size, best.line - 1 + best.length)
    return None


def _evidence(
    prediction: HunkPrediction, hunk: Hunk, lines: Sequence[bytes] | None
) -> tuple[Diff | None, Diff | None]:
    """(vendor, result) diffs of one hunk on the file's current lines."""
    if lines is None:
        return None, None
    bounds = _region(prediction, hunk, len(lines))
    if bounds is None:
        return None, None
    low, high = bounds
    region = [display(line) for line in lines[low:high]]
    expected = [display(line) for line in hunk.old_lines]
    vendor = Diff(
        title="vendor",
        old_label="upstream expects",
        new_label="vendor has",
        old_start=hunk.old_start,
        new_start=low + 1,
        lines=_rows(expected, region),
        note="" if expected != region else "the vendor's lines are exactly what upstream expects",
        old_numbering="vanilla",
        new_numbering="vendor tree",
    )
    result: Diff | None = None
    placement = prediction.placement
    if placement is not None:
        moved = replace(placement, start=placement.start - low)
        after = [display(line) for line in apply_located(lines[low:high], [moved])]
        result = Diff(
            title="result",
            old_label="vendor has",
            new_label="result",
            old_start=low + 1,
            new_start=low + 1,
            lines=_rows(region, after),
            old_numbering="vendor tree",
        )
    elif prediction.status == HunkStatus.ALREADY_APPLIED:
        result = Diff(
            title="result",
            old_label="vendor has",
            new_label="result",
            old_start=low + 1,
            new_start=low + 1,
            lines=tuple(DiffLine(" ", line) for line in region),
            note="the vendor already has upstream's change: nothing is written",
            old_numbering="vendor tree",
        )
    return vendor, result


# --- summary --------------------------------------------------------------------------------------


def summarize(
    files: Sequence[FileReport],
    open_items: Sequence[OpenItemReport],
    warnings: int,
    kind: ReportKind,
) -> Summary:
    """The summary of ``files`` under the gate's list ``open_items`` (see :class:`Summary`)."""
    counter: Counter[HunkStatus] = Counter()
    fuzzed: list[str] = []
    silent: list[str] = []
    trusted: list[str] = []
    resolved = 0
    kept_files = 0
    kept_hunks = 0
    for file in files:
        if not file.selected:
            counter[HunkStatus.EXCLUDED] += max(len(file.hunks), 1)
            continue
        kept_files += 1
        if not file.hunks:
            counter[file.status] += 1
            kept_hunks += 1
            continue
        for hunk in file.hunks:
            counter[hunk.status] += 1
            if hunk.status == HunkStatus.EXCLUDED:
                continue
            kept_hunks += 1
            if hunk.resolution is not None and not hunk.open:
                if hunk.resolution.trusted:
                    trusted.append(hunk.id)
                else:
                    resolved += 1
            elif hunk.reviewed_by and not hunk.open:
                resolved += 1  # what apply --accept-fuzz wrote, confirmed by a person
            if hunk.fuzzy:
                fuzzed.append(hunk.id)
                if not hunk.open and hunk.applied and not hunk.reviewed_by:
                    silent.append(hunk.id)
    counts = tuple(StatusCount(s, counter[s]) for s in HunkStatus if counter[s])
    return Summary(
        files=kept_files,
        hunks=kept_hunks,
        counts=counts,
        open=_by_severity(open_items),
        fuzzed=tuple(fuzzed),
        silently_fuzzed=tuple(silent),
        resolved=resolved,
        warnings=warnings,
        prediction=kind == ReportKind.PREDICTION,
        trusted=tuple(trusted),
    )


def _by_severity(items: Sequence[OpenItemReport]) -> tuple[OpenItemReport, ...]:
    """Most severe first; the gate's own order within a severity."""
    return tuple(sorted(items, key=lambda item: item.severity.rank))


def _prediction_open(
    files: Sequence[FileReport], warnings: Sequence[SelectionWarning]
) -> list[OpenItemReport]:
    """What makes ``check`` exit 1: every kept hunk (or hunk-less file) that is not settled,
    and every selection warning."""
    items: list[OpenItemReport] = []
    for file in files:
        if not file.selected:
            continue
        if not file.hunks:
            if file.open:
                items.append(OpenItemReport(open_kind(file.status), file.id, file.reason))
            continue
        for hunk in file.hunks:
            if hunk.open and hunk.status != HunkStatus.EXCLUDED:
                items.append(
                    OpenItemReport(open_kind(hunk.status), hunk.id, f"{hunk.status}: {hunk.reason}")
                )
    items.extend(OpenItemReport("warning", w.id, w.message) for w in warnings if w.open)
    return items


# "selection warning [3]: ..." (the detail of a session's warning item)
_WARNING_NUMBER = re.compile(r"\[(\d+)\]")


def _session_open(session: Session, open_items: Sequence[OpenItem]) -> list[OpenItemReport]:
    """The session's gate list (:meth:`SessionStore.open_items`) in the report's terms: an
    unresolved hunk is a conflict or a review item by its status, a warning is named as the
    gate names it."""
    statuses = {h.id: h.status for h in session.hunks}
    items: list[OpenItemReport] = []
    for item in open_items:
        if item.kind == "hunk" and item.hunk_id is not None:
            status = statuses.get(item.hunk_id, HunkStatus.CONFLICT)
            items.append(OpenItemReport(open_kind(status), item.hunk_id, item.detail))
        elif item.kind == "confirm" and item.hunk_id is not None:
            items.append(OpenItemReport("confirm", item.hunk_id, item.detail))
        elif item.kind == "warning":
            number = _WARNING_NUMBER.search(item.detail)
            name = f"[{number.group(1)}] {item.path}" if number else item.path
            items.append(OpenItemReport("warning", name, item.detail))
        else:
            # reject, marker, uncommitted, interrupted; a kind this report does not know yet
            # is still an open item (it keeps the gate closed), shown under its own name.
            items.append(OpenItemReport(item.kind, item.hunk_id or item.path, item.detail))
    return items


def attention_rows(
    files: Sequence[FileReport],
    warnings: Sequence[SelectionWarning],
    open_items: Sequence[OpenItemReport],
) -> tuple[AttentionRow, ...]:
    """ "Needs attention", most severe first (:class:`Severity`), patch order within a severity:
    every kept hunk or hunk-less file that is not plainly clean, every selection warning, and
    every item of the gate's list that is neither (a ``.rej`` file, a conflict marker...)."""
    rows: list[AttentionRow] = []
    shown: set[str] = set()
    for file in files:
        if not file.selected:
            continue
        if not file.hunks:
            severity = file.severity
            if severity is None:
                continue
            kind = open_kind(file.status) if severity.open else str(severity)
            rows.append(
                AttentionRow(
                    order=0,
                    severity=severity,
                    kind=kind,
                    id=file.id,
                    path=file.path,
                    status=str(file.status),
                    place="—",
                    reason=file.reason,
                    open=file.open,
                    entry=file.entry,
                    file=file,
                )
            )
            shown.add(file.id)
            continue
        for hunk in file.hunks:
            severity = hunk.severity
            if severity is None:
                continue
            if severity.open:
                kind = "confirm" if severity == Severity.CONFIRM else open_kind(hunk.status)
            else:
                kind = str(severity)
            rows.append(
                AttentionRow(
                    order=0,
                    severity=severity,
                    kind=kind,
                    id=hunk.id,
                    path=file.path,
                    status=str(hunk.status),
                    place=hunk.place,
                    reason=hunk.reason,
                    open=hunk.open,
                    entry=file.entry,
                    hunk=hunk,
                    file=file,
                )
            )
            shown.add(hunk.id)
    for warning in warnings:
        rows.append(
            AttentionRow(
                order=0,
                severity=Severity.WARNING if warning.open else Severity.RESOLVED,
                kind="warning" if warning.open else str(Severity.RESOLVED),
                id=warning.id,
                path=warning.path,
                status="warning",
                place=f"hunk #{warning.hunk}" if warning.hunk else "—",
                reason=warning.message,
                open=warning.open,
                warning=warning,
            )
        )
        shown.add(warning.id)
    for item in open_items:
        if item.id in shown:
            continue
        rows.append(
            AttentionRow(
                order=0,
                severity=item.severity,
                kind=item.kind,
                id=item.id,
                path=item.id,
                status=item.kind,
                place="—",
                reason=item.detail,
                open=True,
            )
        )
    ordered = sorted(enumerate(rows), key=lambda pair: (pair[1].severity.rank, pair[0]))
    return tuple(replace(row, order=number) for number, (_, row) in enumerate(ordered, 1))


# --- from a prediction ----------------------------------------------------------------------------


def _hunk_report(
    path: str,
    entry: FileEntry,
    hunk_entry: HunkEntry,
    prediction: HunkPrediction,
    index: PatchIndex,
    lines: Callable[[], Sequence[bytes] | None],
) -> HunkReport:
    detailed = prediction.status != HunkStatus.CLEAN or prediction.needs_review
    upstream = vendor = result = None
    vendor_missing = result_missing = ""
    if detailed:
        hunk = parse_hunk(index, entry, hunk_entry)
        upstream = upstream_diff(hunk)
        current = lines()
        vendor, result = _evidence(prediction, hunk, current)
        if vendor is None:
            vendor_missing = (
                "the file is not in the tree (or cannot be read as text)"
                if current is None
                else "nothing in the file resembles this hunk's lines"
            )
        if result is None:
            result_missing = (
                "none yet: this hunk needs a resolution"
                if not prediction.settled
                else "nothing is written"
            )
    return HunkReport(
        id=f"{path}#{hunk_entry.number}",
        index=hunk_entry.number,
        header=_raw_header(index, entry, hunk_entry),
        status=prediction.status,
        expected_line=prediction.expected_line,
        found_line=prediction.found_line,
        offset=prediction.offset,
        fuzz=prediction.fuzz,
        needs_review=prediction.needs_review,
        reason=prediction.reason,
        added=hunk_entry.added,
        removed=hunk_entry.removed,
        open=not prediction.settled,
        upstream=upstream,
        vendor=vendor,
        result=result,
        vendor_missing=vendor_missing,
        result_missing=result_missing,
        applied=prediction.placement is not None and prediction.settled,
        region_line=_closest_region(prediction),
        region_kind="closest region",
    )


def _closest_region(prediction: HunkPrediction) -> int | None:
    """Where a hunk that has no place would be resolved: ``check``'s "closest region"."""
    if prediction.placement is not None or prediction.status == HunkStatus.ALREADY_APPLIED:
        return None
    if prediction.settled or not prediction.candidates:
        return None
    return prediction.candidates[0].line


def _excluded_hunk(
    path: str, entry: FileEntry, hunk_entry: HunkEntry, index: PatchIndex, reason: str
) -> HunkReport:
    return HunkReport(
        id=f"{path}#{hunk_entry.number}",
        index=hunk_entry.number,
        header=_raw_header(index, entry, hunk_entry),
        status=HunkStatus.EXCLUDED,
        expected_line=hunk_entry.old_start,
        found_line=None,
        offset=0,
        fuzz=0,
        needs_review=False,
        reason=reason,
        added=hunk_entry.added,
        removed=hunk_entry.removed,
        open=False,
    )


def _file_report(
    file: FilePrediction,
    entry: FileEntry,
    index: PatchIndex,
    hunk_reasons: Mapping[int, str],
    classes: Mapping[str, Classification] | None,
) -> FileReport:
    by_number = {h.hunk_number: h for h in file.hunks}
    cache: list[Sequence[bytes] | None] = []

    def lines() -> Sequence[bytes] | None:
        if not cache:
            cache.append(split_lines(file.vendor_bytes) if file.vendor_bytes is not None else None)
        return cache[0]

    hunks: list[HunkReport] = []
    for hunk_entry in entry.hunks:
        predicted = by_number.get(hunk_entry.number)
        if predicted is None:
            why = hunk_reasons.get(hunk_entry.number, "not predicted")
            hunks.append(_excluded_hunk(file.path, entry, hunk_entry, index, why))
        else:
            hunks.append(_hunk_report(file.path, entry, hunk_entry, predicted, index, lines))
    classification = classes.get(file.path) if classes is not None else None
    return FileReport(
        path=file.path,
        entry=entry.number,
        kind=_KIND_NAMES[entry.kind],
        status=file.status,
        selected=True,
        needs_review=file.needs_review,
        reason=file.reason,
        added=entry.added,
        removed=entry.removed,
        hunks=tuple(hunks),
        open=not file.settled if not file.hunks else False,
        old_path=file.old_path,
        kbuild_class=str(classification.kind) if classification else file.kbuild_class,
        module=classification.module if classification else None,
        class_reason=classification.reason if classification else None,
    )


def _left_out_file(
    entry: FileEntry,
    path: str,
    reason: str,
    index: PatchIndex,
    classes: Mapping[str, Classification] | None,
) -> FileReport:
    classification = classes.get(path) if classes is not None else None
    return FileReport(
        path=path,
        entry=entry.number,
        kind=_KIND_NAMES[entry.kind],
        status=HunkStatus.EXCLUDED,
        selected=False,
        needs_review=False,
        reason=reason,
        added=entry.added,
        removed=entry.removed,
        hunks=tuple(_excluded_hunk(path, entry, h, index, reason) for h in entry.hunks),
        open=False,
        kbuild_class=str(classification.kind) if classification else None,
        module=classification.module if classification else None,
        class_reason=classification.reason if classification else None,
    )


def _diffstat(file: FilePrediction, entry: FileEntry) -> DiffstatEntry | None:
    """What applying the prediction writes to one file: the hunks with a place."""
    placed = {p.hunk.number for p in file.placements}
    added = sum(h.added for h in entry.hunks if h.number in placed)
    removed = sum(h.removed for h in entry.hunks if h.number in placed)
    if entry.kind == ChangeKind.DELETED and file.status == HunkStatus.CLEAN:
        removed = entry.removed
    if not added and not removed:
        return None
    return DiffstatEntry(file.path, added, removed)


def from_prediction(
    prediction: Prediction,
    index: PatchIndex,
    context: ReportContext,
    selection: SelectionResult | None = None,
) -> Report:
    """The report of a ``check``: every file of the patch, the kept ones with their prediction."""
    if selection is not None and not context.options:
        context = replace(context, options=describe_rules(selection))
    entries = {entry.number: entry for entry in index.files}
    predicted = {file.entry_number: file for file in prediction.files}
    files: list[FileReport] = []
    diffstat: list[DiffstatEntry] = []
    decisions = selection.decisions if selection is not None else ()
    if decisions:
        order: Iterable[tuple[int, str | None, str, Mapping[int, str]]] = (
            (d.entry.number, d.reason, d.tree_path, dict(d.hunk_reasons)) for d in decisions
        )
    else:
        order = ((f.entry_number, None, f.path, {}) for f in prediction.files)
    for number, reason, tree_path, hunk_reasons in order:
        entry = entries[number]
        file = predicted.get(number)
        if file is None:
            why = reason if reason is not None else "not predicted"
            files.append(_left_out_file(entry, tree_path, why, index, context.classes))
            continue
        files.append(_file_report(file, entry, index, hunk_reasons, context.classes))
        stat = _diffstat(file, entry)
        if stat is not None:
            diffstat.append(stat)
    selection_part = (
        selection_report(selection, context, predicted) if selection is not None else None
    )
    warnings = (
        selection_part.warnings
        if selection_part is not None
        else tuple(_warning(w) for w in context.warnings)
    )
    open_items = _prediction_open(files, warnings)
    summary = summarize(files, open_items, len(warnings), ReportKind.PREDICTION)
    names = ", ".join(source.name.rsplit("/", 1)[-1] for source in index.sources)
    strip = selection.strip if selection is not None else prediction.strip
    return Report(
        kind=ReportKind.PREDICTION,
        title=f"{names} on {context.tree}",
        inputs=inputs_from(index, context, strip, prediction.fuzz),
        summary=summary,
        files=tuple(files),
        diffstat=tuple(diffstat),
        selection=selection_part,
        build=context.build,
        attention=attention_rows(files, warnings, summary.open),
    )


# --- from a session -------------------------------------------------------------------------------


def _text_lines(text: str) -> list[str]:
    """Session text (``surrogateescape``-decoded file bytes) as display lines."""
    data = text.encode("utf-8", "surrogateescape")
    return [display(line) for line in data.splitlines(keepends=True)]


def _session_upstream(hunk: SessionHunk) -> Diff:
    """Upstream's hunk from the session's copy of its raw text (``@@`` line and body)."""
    lines = hunk.upstream.encode("utf-8", "surrogateescape").splitlines(keepends=True)
    header = display(lines[0]) if lines else ""
    match = _HUNK_HEADER.match(header)
    old_start, new_start, section = (
        (int(match.group(1)), int(match.group(2)), match.group(3) or "")
        if match
        else (hunk.expected_line, hunk.expected_line, "")
    )
    body: list[DiffLine] = []
    for raw in lines[1:]:
        op = raw[:1].decode("ascii", "replace")
        if op == "\\":
            continue
        if op not in (" ", "+", "-"):
            op, raw = " ", b" " + raw
        body.append(DiffLine(op, display(raw[1:])))
    return Diff(
        title="upstream",
        old_label="vanilla",
        new_label="upstream",
        old_start=old_start,
        new_start=new_start,
        lines=tuple(body),
        section=section.strip(),
    )


# @@ -48,7 +49,7 @@ static int snapshot_map(struct dm_target *ti, struct bio *bio)
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")


@record
class _Lines:
    """A session hunk's line numbers: the vendor tree's and the worktree's."""

    region: int | None
    """Vendor tree line of the hunk's region (``None``: not known)."""
    region_worktree: int | None
    """Where that region is in the worktree now (or as ``apply`` left it, when not known)."""
    found_worktree: int | None
    """Where an applied hunk's lines are in the worktree now."""
    worktree: str
    """The worktree numbering's name in captions: ``worktree`` or ``worktree as apply left
    it``."""


def _lines_of(hunk: SessionHunk, context: ReportContext) -> _Lines:
    applied = context.applied_lines
    result = context.result_lines
    identity = LineMap(())
    region = None
    if hunk.vendor is not None and applied is not None:
        region = applied.get(hunk.path, identity).to_old(hunk.vendor.start)
    if result is not None:
        moved = result.get(hunk.path, identity)
        region_now = moved.to_new(region) if region is not None else None
        if region_now is None and hunk.vendor is not None and applied is None:
            region_now = hunk.vendor.start
        found_now = moved.to_new(hunk.found_line) if hunk.found_line is not None else None
        return _Lines(region, region_now, found_now, "worktree")
    region_now = hunk.vendor.start if hunk.vendor is not None else None
    return _Lines(region, region_now, None, "worktree as apply left it")


def _session_evidence(hunk: SessionHunk, lines: _Lines) -> tuple[Diff | None, Diff | None]:
    """(vendor, result) diffs of a session hunk, from what the session recorded; the vendor's
    side in the vendor tree's line numbers, the result's in the worktree's (named so)."""
    pre = _text_lines(hunk.pre_image)
    if hunk.vendor is None:
        if (
            hunk.applied
            and hunk.found_line is not None
            and hunk.status in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        ):
            # An exact match: the vendor's lines are the pre-image, the result the post-image.
            post = _text_lines(hunk.post_image)
            now = lines.found_worktree
            result = Diff(
                "result",
                "vendor had",
                "result",
                hunk.found_line,
                now if now is not None else hunk.found_line,
                _rows(pre, post),
                note="applied by apply at this place",
                old_numbering="vendor tree",
                new_numbering=lines.worktree if now is not None else "vendor tree",
            )
            return None, result
        return None, None
    region = _text_lines(hunk.vendor.text)
    # The vendor's lines are numbered as the vendor's tree has them when the line map is
    # known; otherwise as apply left the worktree, and the caption says so.
    if lines.region is not None:
        vendor_start, vendor_numbering = lines.region, "vendor tree"
    else:
        vendor_start, vendor_numbering = hunk.vendor.start, "worktree as apply left it"
    now = lines.region_worktree if lines.region_worktree is not None else hunk.vendor.start
    vendor = Diff(
        title="vendor",
        old_label="upstream expects",
        new_label="vendor has",
        old_start=hunk.expected_line,
        new_start=vendor_start,
        lines=_rows(pre, region),
        old_numbering="vanilla",
        new_numbering=vendor_numbering,
    )

    def outcome(label: str, after: Sequence[str], note: str) -> Diff:
        return Diff(
            "result",
            "vendor had" if label == "result" else "vendor has",
            label,
            vendor_start,
            now,
            _rows(region, after),
            note=note,
            old_numbering=vendor_numbering,
            new_numbering=lines.worktree,
        )

    if hunk.resolution is not None and hunk.written is not None:
        note = f"{hunk.resolution}" + (
            f": {hunk.resolution_reason}" if hunk.resolution_reason else ""
        )
        return vendor, outcome("result", _text_lines(hunk.written), note)
    if hunk.resolution is not None:
        return vendor, outcome("result", region, f"{hunk.resolution}: the vendor's lines are kept")
    if hunk.proposal is not None:
        marks = " (it still has conflict markers)" if hunk.proposal_conflicts else ""
        source = f" ({hunk.proposal_source})" if hunk.proposal_source else ""
        return vendor, outcome(
            "proposal",
            _text_lines(hunk.proposal),
            f"the proposal{source}, not accepted yet{marks}",
        )
    return vendor, None


_REGION_KINDS = {"3way": "3-way region", "hunk-local": "region", "vendor": "region"}
"""How a session hunk's region was found, as the "where" column names it."""


def _session_hunk(hunk: SessionHunk, context: ReportContext) -> HunkReport:
    upstream_text = _session_upstream(hunk)
    lines = _lines_of(hunk, context)
    detailed = hunk.status != HunkStatus.CLEAN or hunk.needs_review or hunk.resolution is not None
    vendor = result = None
    vendor_missing = result_missing = ""
    if detailed:
        vendor, result = _session_evidence(hunk, lines)
        if vendor is None:
            vendor_missing = (
                "not recorded: the session keeps the vendor's lines only for hunks a person "
                "must resolve"
            )
            if hunk.status in (HunkStatus.CLEAN, HunkStatus.OFFSET) and hunk.applied:
                vendor_missing = "exactly what upstream expects (an exact match)"
        if hunk.written_unproven and vendor is None:
            vendor_missing = (
                f"not recorded: apply --accept-fuzz wrote the hunk over the vendor's lines at "
                f"line {hunk.found_line} ({hunk.status}); the worktree's file shows them replaced"
            )
        if result is None:
            if hunk.applied:
                # Checked before "open": a hunk apply --accept-fuzz wrote is open (it waits for
                # a review) and written; "none yet" would hide what is to be reviewed.
                result_missing = f"applied by apply at line {hunk.found_line}; see the diffstat"
                if hunk.written_unproven:
                    result_missing = (
                        f"written by apply --accept-fuzz at line {hunk.found_line} (the vendor "
                        "tree's numbering): read it in the worktree's file, and in the combined "
                        "diff (git diff against the session's base commit)"
                    )
            elif hunk.open:
                result_missing = "none yet: this hunk needs a resolution"
            else:
                result_missing = "nothing is written"
    resolution = None
    if hunk.resolution is not None:
        resolution = HunkResolution(
            resolution=hunk.resolution,
            by=hunk.resolved_by or "",
            at=hunk.resolved_at or "",
            reason=hunk.resolution_reason or "",
            reused=hunk.reused,
            confirmed_by=hunk.confirmed_by or "",
            confirmed_at=hunk.confirmed_at or "",
            trusted=hunk.trusted,
        )
    header = hunk.upstream.split("\n", 1)[0].rstrip("\r")
    return HunkReport(
        id=hunk.id,
        index=hunk.number,
        header=header.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"),
        status=hunk.status,
        expected_line=hunk.expected_line,
        found_line=hunk.found_line,
        offset=hunk.offset,
        fuzz=hunk.fuzz,
        needs_review=hunk.needs_review,
        reason=hunk.reason,
        added=sum(1 for line in upstream_text.lines if line.op == "+"),
        removed=sum(1 for line in upstream_text.lines if line.op == "-"),
        open=hunk.open,
        resolution=resolution,
        upstream=upstream_text if detailed else None,
        vendor=vendor,
        result=result,
        vendor_missing=vendor_missing,
        result_missing=result_missing,
        applied=hunk.applied,
        region_line=lines.region,
        worktree_line=lines.region_worktree,
        region_kind=_REGION_KINDS.get(hunk.proposal_source, "region"),
        reviewed_by=(hunk.confirmed_by or "") if hunk.written_unproven else "",
        reviewed_at=(hunk.confirmed_at or "") if hunk.written_unproven else "",
    )


def diffstat_of(diff: bytes) -> tuple[DiffstatEntry, ...]:
    """Per-file counts of a ``git diff`` (the session's combined result)."""
    entries: list[DiffstatEntry] = []
    path: str | None = None
    added = removed = 0
    in_hunk = False

    def close() -> None:
        if path is not None and (added or removed):
            entries.append(DiffstatEntry(path, added, removed))

    for line in diff.splitlines():
        if line.startswith(b"diff --git "):
            close()
            path = display(line.split(b" b/", 1)[-1]) if b" b/" in line else display(line)
            added = removed = 0
            in_hunk = False
        elif line.startswith(b"@@"):
            in_hunk = True
        elif in_hunk and line.startswith(b"+"):
            added += 1
        elif in_hunk and line.startswith(b"-"):
            removed += 1
    close()
    return tuple(entries)


def _phase_words(session: Session) -> str:
    if session.phase == Phase.FINISHED:
        return "finished: the combined patch is written"
    if session.phase == Phase.APPLYING:
        return "apply did not finish"
    return "applied; not finished"


def from_session(
    session: Session,
    open_items: Sequence[OpenItem],
    context: ReportContext,
    combined_diff: bytes | None = None,
) -> Report:
    """The report of an apply session, at any point of resolution.

    ``open_items`` is :meth:`SessionStore.open_items` (the build gate's answer): the summary
    says what it says and nothing else about what is open; ``combined_diff`` is ``git diff
    base..branch`` of the worktree, for the diffstat, when the worktree exists.
    """
    kinds = {f.path: f.kind for f in session.files}
    by_file: dict[tuple[int, str], list[SessionHunk]] = {}
    for hunk in session.hunks:
        by_file.setdefault((hunk.file_number, hunk.path), []).append(hunk)
    recorded = {f.path: f for f in session.inputs.files} if session.inputs is not None else {}
    files: list[FileReport] = []
    for (number, path), hunks in sorted(by_file.items()):
        reports = tuple(_session_hunk(h, context) for h in hunks)
        present = {h.status for h in hunks}
        status = next((s for s in SEVERITY if s in present), HunkStatus.CLEAN)
        classification = context.classes.get(path) if context.classes is not None else None
        kind = kinds.get(path, "modified")
        kbuild_class = str(classification.kind) if classification else None
        if kbuild_class is None and path in recorded:
            kbuild_class = recorded[path].kbuild_class
        files.append(
            FileReport(
                path=path,
                entry=number,
                kind=kind if kind in _KIND_NAMES.values() else "modified",
                status=status,
                selected=True,
                needs_review=any(h.needs_review for h in hunks),
                reason="",
                added=sum(h.added for h in reports),
                removed=sum(h.removed for h in reports),
                hunks=reports,
                open=False,
                kbuild_class=kbuild_class,
                module=classification.module if classification else None,
                class_reason=classification.reason if classification else None,
            )
        )
    warnings = tuple(_session_warning(w) for w in session.warnings)
    # The build gate's own list is the truth about what is open: it also sees .rej files,
    # conflict markers and uncommitted edits, which no hunk status shows.
    open_list = _session_open(session, open_items)
    summary = summarize(files, open_list, len(warnings), ReportKind.SESSION)
    patch = session.patch
    inputs_record = session.inputs
    options = context.options or (
        inputs_record.rules
        if inputs_record is not None
        else ((session.selection,) if session.selection else ())
    )
    inputs = Inputs(
        patches=_session_patches(session),
        tree=context.tree or session.tree,
        base=context.base if context.base is not None else session.base,
        config=context.config
        if context.config is not None
        else (inputs_record.config if inputs_record is not None else None),
        options=options,
        strip=session.strip,
        fuzz=session.fuzz,
        version=context.version,
        generated=_generated(context),
        config_sha256=inputs_record.config_sha256 if inputs_record is not None else None,
        recorded=inputs_record is not None,
    )
    selection = selection_from_inputs(inputs_record, warnings) if inputs_record else None
    return Report(
        kind=ReportKind.SESSION,
        title=f"{patch.name} on {inputs.tree}",
        inputs=inputs,
        summary=summary,
        files=tuple(files),
        diffstat=diffstat_of(combined_diff) if combined_diff is not None else (),
        selection=selection,
        build=context.build,
        attention=attention_rows(files, warnings, summary.open),
        phase=_phase_words(session),
    )


def _session_patches(session: Session) -> tuple[PatchInput, ...]:
    """Each input file with its own digest when ``apply`` recorded them; else the session's
    one line (the digest of all of them together)."""
    if session.inputs is not None and session.inputs.sources:
        return tuple(
            PatchInput(
                name=source.name,
                size=source.size,
                data_size=source.size,
                sha256=source.sha256,
                compression=source.compression,
            )
            for source in session.inputs.sources
        )
    patch = session.patch
    return (
        PatchInput(
            name=", ".join(patch.paths) or patch.name,
            size=patch.size,
            data_size=patch.size,
            sha256=patch.sha256,
        ),
    )


def from_build_result(result: BuildResult) -> BuildReport:
    """The report's view of a :class:`~patchsmith.kernel.build.BuildResult`."""
    tail = "\n".join(f"{d.location}: {d.message}" for d in result.errors[:20])
    return BuildReport(
        ok=result.ok,
        command=result.command,
        message=result.message,
        modules=result.relative_modules(),
        log_tail=tail,
    )


def from_build_json(data: Mapping[str, object]) -> BuildReport:
    """The report's view of a stored ``build.json`` (``BuildResult.to_json``)."""
    errors = data.get("errors")
    lines: list[str] = []
    if isinstance(errors, list):
        for error in errors[:20]:
            if isinstance(error, dict):
                where = str(error.get("path") or "modpost")
                if error.get("line") is not None:
                    where += f":{error['line']}"
                lines.append(f"{where}: {error.get('message', '')}")
    modules = data.get("modules_relative") or data.get("modules") or []
    return BuildReport(
        ok=bool(data.get("ok")),
        command=str(data.get("command", "")),
        message=str(data.get("message", "")),
        modules=tuple(str(m) for m in modules) if isinstance(modules, list) else (),
        log_tail="\n".join(lines),
    )

"""A :class:`~patchsmith.report.model.Report` from a prediction (``check --report``).

Everything a report says about a hunk is taken from what the engine decided: the status, the
review flag, the place, the reason, whether it is settled. What is computed here is only what a
reviewer needs to *see* it: the hunk's lines, the vendor's lines at that place, the result there
(by :func:`patchsmith.engine.locate.apply_located`, the same function apply uses), counts and a
diffstat. Evidence (the three diffs) is gathered only for hunks that were not plainly clean, so
a report of a 3,500-hunk stable patch reads a few dozen regions, not the whole tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from patchsmith.engine.locate import apply_located
from patchsmith.engine.predict import FilePrediction, HunkPrediction, Prediction, split_lines
from patchsmith.kernel.classify import Classification
from patchsmith.kernel.deps import DependencyWarning
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_hunk
from patchsmith.patchfile.index import ChangeKind, FileEntry, HunkEntry, PatchIndex
from patchsmith.patchfile.select import SelectionResult, describe
from patchsmith.paths import file_sha256
from patchsmith.report.model import (
    Diff,
    DiffLine,
    DiffstatEntry,
    FileReport,
    HunkReport,
    Inputs,
    OpenItemReport,
    PatchInput,
    Report,
    ReportKind,
    SelectionReport,
    SelectionWarning,
    open_kind,
)
from patchsmith.report.parts import (
    KIND_NAMES,
    Choice,
    ReportContext,
    attention_rows,
    diff_rows,
    display,
    generated,
    selection_of,
    summarize,
)

__all__ = ["describe_rules", "from_prediction", "inputs_from", "selection_report", "upstream_diff"]


def _raw_header(index: PatchIndex, entry: FileEntry, hunk: HunkEntry) -> str:
    data = index.sources[entry.source].data
    end = data.find(b"\n", hunk.start, hunk.end)
    return display(data[hunk.start : end if end >= 0 else hunk.end])


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
        config_sha256=file_sha256(context.config) if context.config is not None else None,
        options=context.options,
        strip=strip,
        fuzz=fuzz,
        version=context.version,
        generated=generated(context),
    )


# --- selection ------------------------------------------------------------------------------------


def describe_rules(result: SelectionResult, options: Sequence[str] = ()) -> tuple[str, ...]:
    """The rules of a selection as a user would type them, plus any further options given."""
    rules = list(describe(result.selection))
    known = set(rules)
    rules += [o for o in options if o not in known and o.startswith("--") and "only" not in o]
    return tuple(rules)


def selection_report(
    result: SelectionResult,
    context: ReportContext,
    predicted: Mapping[int, FilePrediction] | None = None,
) -> SelectionReport:
    choices = (
        Choice(
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
    return selection_of(
        choices, describe_rules(result, context.options), result.index.hunk_count, warnings
    )


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
        lines=diff_rows(expected, region),
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
            lines=diff_rows(region, after),
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
        kind=KIND_NAMES[entry.kind],
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
        kind=KIND_NAMES[entry.kind],
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

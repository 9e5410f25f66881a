"""What every report source shares: the run's context, display helpers, the selection
section, diff rows, the summary and the attention table.

The three sources (:mod:`patchsmith.report.prediction`, :mod:`patchsmith.report.session`,
:mod:`patchsmith.report.build`) make a :class:`~patchsmith.report.model.Report`, or part of
one, from what the engine, the session or a build decided; these are the pieces two of them
use. Nothing here decides a hunk's fate: statuses, flags and "is it open" come in as they are.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from patchsmith import __version__
from patchsmith.kernel.classify import Classification
from patchsmith.kernel.deps import DependencyWarning
from patchsmith.model import HunkStatus
from patchsmith.patchfile.index import ChangeKind
from patchsmith.record import record
from patchsmith.report.model import (
    AttentionRow,
    BuildReport,
    ClassCount,
    DiffLine,
    FileReport,
    LeftOutGroup,
    OpenItemReport,
    ReportKind,
    SelectionReport,
    SelectionWarning,
    Severity,
    StatusCount,
    Summary,
    open_kind,
)
from patchsmith.workspace.lines import LineMap

__all__ = ["ReportContext", "attention_rows", "display", "summarize"]


Clock = Callable[[], datetime]

KIND_NAMES = {
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
    changed: Mapping[str, str] | None = None
    """For a session: hunks apply wrote that the worktree no longer holds as written, with
    why (:func:`patchsmith.workspace.held.changed_after_apply`); never reported as applied
    as upstream wrote them."""


# --- small helpers --------------------------------------------------------------------------------


def display(line: bytes) -> str:
    """A line for display: ending removed, decoded with surrogateescape, so a byte that is not
    UTF-8 stays a surrogate (``\\udcff``) the renderers show as such
    (:func:`patchsmith.quoting.escape_line`) and JSON carries as ``\\udcff``: it reads back
    into the same byte and is never confused with the four characters ``\\xff`` typed."""
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line.decode("utf-8", "surrogateescape")


def generated(context: ReportContext) -> str:
    moment = context.now() if context.now is not None else datetime.now(UTC)
    return moment.isoformat(timespec="seconds")


def group_rule(reason: str, kbuild_class: str | None) -> str:
    """The group a left-out file is counted under: its command-line rule, or its Kbuild class."""
    if reason.startswith("-") or kbuild_class is None:
        return reason
    return f"Kbuild class: {kbuild_class}"


@record
class Choice:
    """One file diff's selection decision, from a selection result or a session's record."""

    path: str
    reason: str | None
    hunks: int
    kept: int
    hunk_reasons: tuple[tuple[int, str], ...]
    kbuild_class: str | None


def selection_of(
    choices: Iterable[Choice],
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
            add(group_rule(choice.reason, choice.kbuild_class), 1, choice.hunks, choice.path)
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


# --- evidence -------------------------------------------------------------------------------------


def diff_rows(old: Sequence[str], new: Sequence[str]) -> tuple[DiffLine, ...]:
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

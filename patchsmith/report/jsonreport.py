"""The JSON report, schema ``patchsmith.report/1`` (``patchsmith/schemas/report-1.json``).

Field names are those of ``check --json`` (``patchsmith.check/1``) where the same thing is meant
(``path``, ``class``, ``entry``, ``kind``, ``status``, ``needs_review``, ``reason``, and per hunk
``index``, ``expected_line``, ``found_line``, ``offset``, ``fuzz``), so a script written for one
reads the other. Every key is always present (``null`` when it does not apply) so consumers never
need ``get`` with a default. Diffs are unified text (``@@`` header and lines), as ``patch`` and
every review tool read them.
"""

from __future__ import annotations

import json

from patchsmith.report.model import (
    AttentionRow,
    BuildReport,
    Diff,
    FileReport,
    HunkReport,
    Inputs,
    Report,
    SelectionReport,
    Summary,
)

__all__ = ["render_json", "to_json"]


def _diff(diff: Diff | None) -> dict[str, object] | None:
    if diff is None:
        return None
    return {
        "title": diff.title,
        "old_label": diff.old_label,
        "new_label": diff.new_label,
        "old_start": diff.old_start,
        "new_start": diff.new_start,
        "note": diff.note,
        "text": diff.unified(),
        "old_numbering": diff.old_numbering,
        "new_numbering": diff.new_numbering,
    }


def _hunk(hunk: HunkReport) -> dict[str, object]:
    resolution = hunk.resolution
    return {
        "id": hunk.id,
        "index": hunk.index,
        "header": hunk.header,
        "status": str(hunk.status),
        "expected_line": hunk.expected_line,
        "found_line": hunk.found_line,
        "offset": hunk.offset,
        "fuzz": hunk.fuzz,
        "needs_review": hunk.needs_review,
        "reason": hunk.reason,
        "added": hunk.added,
        "removed": hunk.removed,
        "open": hunk.open,
        "resolution": None
        if resolution is None
        else {
            "resolution": str(resolution.resolution),
            "by": resolution.by,
            "at": resolution.at,
            "reason": resolution.reason,
            "reused": resolution.reused,
            "confirmed_by": resolution.confirmed_by,
            "confirmed_at": resolution.confirmed_at,
            "trusted": resolution.trusted,
        },
        "upstream": _diff(hunk.upstream),
        "vendor": _diff(hunk.vendor),
        "result": _diff(hunk.result),
        "severity": None if hunk.severity is None else str(hunk.severity),
        "place": hunk.place,
        "applied": hunk.applied,
        "region_line": hunk.region_line,
        "worktree_line": hunk.worktree_line,
        "reviewed_by": hunk.reviewed_by or None,
        "reviewed_at": hunk.reviewed_at or None,
    }


def _file(file: FileReport) -> dict[str, object]:
    return {
        "path": file.path,
        "class": file.kbuild_class,
        "entry": file.entry,
        "kind": file.kind,
        "old_path": file.old_path,
        "status": str(file.status),
        "selected": file.selected,
        "needs_review": file.needs_review,
        "reason": file.reason,
        "added": file.added,
        "removed": file.removed,
        "open": file.open,
        "module": file.module,
        "class_reason": file.class_reason,
        "hunks": [_hunk(h) for h in file.hunks],
    }


def _summary(summary: Summary) -> dict[str, object]:
    return {
        "files": summary.files,
        "hunks": summary.hunks,
        "counts": {str(c.status): c.count for c in summary.counts},
        "fuzzed": list(summary.fuzzed),
        "silently_fuzzed": list(summary.silently_fuzzed),
        "unresolved": list(summary.unresolved),
        "warnings": summary.warnings,
        "safe_to_build": summary.safe_to_build,
        "verdict": summary.verdict,
        "open": [
            {
                "kind": item.kind,
                "severity": str(item.severity),
                "id": item.id,
                "detail": item.detail,
            }
            for item in summary.open
        ],
        "open_counts": dict(summary.open_counts),
        "warnings_open": summary.warnings_open,
        "resolved": summary.resolved,
        "trusted": list(summary.trusted),
    }


def _inputs(inputs: Inputs) -> dict[str, object]:
    return {
        "patches": [
            {
                "name": p.name,
                "size": p.size,
                "data_size": p.data_size,
                "sha256": p.sha256,
                "compression": p.compression,
            }
            for p in inputs.patches
        ],
        "tree": inputs.tree,
        "base": inputs.base,
        "config": inputs.config,
        "options": list(inputs.options),
        "strip": inputs.strip,
        "fuzz": inputs.fuzz,
        "version": inputs.version,
        "generated": inputs.generated,
        "config_sha256": inputs.config_sha256,
        "recorded": inputs.recorded,
    }


def _selection(selection: SelectionReport | None) -> dict[str, object] | None:
    if selection is None:
        return None
    return {
        "rules": list(selection.rules),
        "files_total": selection.files_total,
        "hunks_total": selection.hunks_total,
        "files_kept": selection.files_kept,
        "hunks_kept": selection.hunks_kept,
        "files_left_out": selection.files_left_out,
        "hunks_left_out": selection.hunks_left_out,
        "left_out": [
            {"rule": g.rule, "files": g.files, "hunks": g.hunks, "paths": list(g.paths)}
            for g in selection.left_out
        ],
        "classes": [
            {
                "class": c.kbuild_class,
                "kept_files": c.kept_files,
                "kept_hunks": c.kept_hunks,
                "left_out_files": c.left_out_files,
                "left_out_hunks": c.left_out_hunks,
            }
            for c in selection.classes
        ],
        "warnings": [
            {
                "kind": w.kind,
                "path": w.path,
                "hunk": w.hunk,
                "message": w.message,
                "other_path": w.other_path,
                "other_hunk": w.other_hunk,
                "identifiers": list(w.identifiers),
                "number": w.number,
                "open": w.open,
                "acknowledged_by": w.acknowledged_by,
                "acknowledged_at": w.acknowledged_at,
            }
            for w in selection.warnings
        ],
    }


def _build(build: BuildReport | None) -> dict[str, object] | None:
    if build is None:
        return None
    return {
        "ok": build.ok,
        "command": build.command,
        "message": build.message,
        "modules": list(build.modules),
        "log_tail": build.log_tail,
    }


def _row(row: AttentionRow) -> dict[str, object]:
    return {
        "order": row.order,
        "severity": str(row.severity),
        "rank": row.severity.rank,
        "kind": row.kind,
        "id": row.id,
        "path": row.path,
        "entry": row.entry,
        "index": row.hunk.index if row.hunk is not None else None,
        "status": row.status,
        "place": row.place,
        "reason": row.reason,
        "open": row.open,
    }


def to_json(report: Report) -> dict[str, object]:
    """The report as JSON-ready data (dicts, lists, strings, numbers, booleans, ``None``)."""
    return {
        "schema": report.schema,
        "kind": str(report.kind),
        "title": report.title,
        "summary": _summary(report.summary),
        "inputs": _inputs(report.inputs),
        "selection": _selection(report.selection),
        "files": [_file(f) for f in report.files],
        "build": _build(report.build),
        "diffstat": [
            {"path": d.path, "added": d.added, "removed": d.removed} for d in report.diffstat
        ],
        "attention": [_row(row) for row in report.attention],
        "phase": report.phase,
    }


def render_json(report: Report) -> str:
    """The JSON document, indented, UTF-8 text, ending in a newline."""
    return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"

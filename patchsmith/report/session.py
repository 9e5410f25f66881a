"""A :class:`~patchsmith.report.model.Report` from an apply session (``patchsmith report``).

Everything a report says about a hunk is what the session recorded: the engine's verdict at
apply, what was written, every resolution with who, when and why, and whether it is open (the
build gate's own list, :meth:`~patchsmith.workspace.session.SessionStore.open_items`, passed in
by the caller). Line numbers are the vendor tree's, mapped back through the apply commit's line
maps (:mod:`patchsmith.workspace.lines`); a worktree line is named as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from patchsmith.model import SEVERITY, HunkStatus
from patchsmith.patchfile.names import decode_path, unquote_c
from patchsmith.record import record
from patchsmith.report.model import (
    Diff,
    DiffLine,
    DiffstatEntry,
    FileReport,
    HunkReport,
    HunkResolution,
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
from patchsmith.workspace.inputs import SelectionInputs
from patchsmith.workspace.lines import LineMap
from patchsmith.workspace.session import OpenItem, Phase, Session, SessionHunk, SessionWarning

__all__ = ["diffstat_of", "from_session", "selection_from_inputs"]


def selection_from_inputs(
    inputs: SelectionInputs, warnings: tuple[SelectionWarning, ...]
) -> SelectionReport:
    """What a session's selection kept and left out, from what ``apply`` recorded."""
    choices = (
        Choice(
            path=f.path,
            reason=f.reason,
            hunks=f.hunks,
            kept=len(f.kept),
            hunk_reasons=f.hunk_reasons,
            kbuild_class=f.kbuild_class,
        )
        for f in inputs.files
    )
    return selection_of(choices, inputs.rules, inputs.hunks_total, warnings)


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
                diff_rows(pre, post),
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
        lines=diff_rows(pre, region),
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
            diff_rows(region, after),
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
    changed = (context.changed or {}).get(hunk.id)
    if changed is not None:
        detailed = True
    if detailed:
        vendor, result = _session_evidence(hunk, lines)
        if changed is not None and result is not None:
            # What apply wrote, no longer what the worktree holds: said on the evidence itself.
            written = "what apply wrote here" if hunk.applied else "what the resolution wrote"
            result = replace(result, note=f"{written}; {changed}")
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
        header=header,
        status=hunk.status,
        expected_line=hunk.expected_line,
        found_line=hunk.found_line,
        offset=hunk.offset,
        fuzz=hunk.fuzz,
        needs_review=hunk.needs_review or changed is not None,
        reason=hunk.reason if changed is None else f"{hunk.reason}; {changed}",
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
            path = _new_name(line[len(b"diff --git ") :])
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


def _new_name(names: bytes) -> str:
    """The ``b/`` name of a ``diff --git`` line's names: git puts a name with a quote, a
    backslash or a control character in C quotes (``"b/x\\\\xff.c"``), read back into its bytes,
    so the diffstat shows the file's own name, not git's quoting of it."""
    if names.endswith(b'"') and b' "' in names:
        try:
            name = unquote_c(names[names.rfind(b' "') + 1 :])[0]
        except ValueError:
            name = names
    else:
        name = names.split(b" b/", 1)[-1] if b" b/" in names else names
    return decode_path(name.removeprefix(b"b/"))


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
                kind=kind if kind in KIND_NAMES.values() else "modified",
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
        generated=generated(context),
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

"""The Markdown report, for GitHub and GitLab merge requests.

Layout: a verdict and a status table a reviewer reads in ten seconds, a table of everything that
needs a look, the inputs, the selection, then one collapsible ``<details>`` block per file with
its hunk table and, for every hunk that was not plainly clean, fenced ``diff`` blocks of
upstream's hunk, the vendor's region and the result.

Text from the patch and the tree is never trusted to be plain: code spans and fences are made
longer than any backtick run inside them, table cells escape ``|``, and text inside HTML tags is
HTML-escaped, so a hunk containing backticks or ``</details>`` cannot break the layout.

Names (paths, hunk ids, the inputs' files) are shown through :func:`name_span`, quoted as git
quotes them (:func:`patchsmith.quoting.quote_name`), and a code line holding a byte that is not
UTF-8 is escaped and named in a note under its block (:func:`raw_note`), so a raw byte and the
same characters typed never look the same.
"""

from __future__ import annotations

import html
import re

from patchsmith.quoting import has_raw_bytes, quote_name
from patchsmith.report.model import (
    OPEN_KINDS,
    AttentionRow,
    Diff,
    DiffstatEntry,
    FileReport,
    HunkReport,
    Report,
    ReportKind,
    SelectionReport,
    SelectionWarning,
    Severity,
    Summary,
)

__all__ = ["code_span", "diffstat_text", "fence", "name_span", "raw_note", "render_markdown"]

_BACKTICKS = re.compile(r"`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code_span(text: str, in_table: bool = True) -> str:
    """``text`` as an inline code span that survives backticks (and ``|`` in a table cell)."""
    if not text:
        return ""
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    body = text.replace("|", "\\|") if in_table else text
    return f"{ticks}{pad}{body}{pad}{ticks}"


def name_span(name: str, in_table: bool = True) -> str:
    """A name (a path, a hunk id, an input file) as a code span, quoted as ``git status`` quotes
    it when it holds anything a reader could take for something else."""
    return code_span(quote_name(name), in_table)


def header_text(header: str) -> str:
    """A hunk's ``@@`` line as shown: quoted as a name when it holds a byte that is not UTF-8
    (an ``@@`` line begins with ``@``, so a quoted one is never taken for one shown as is)."""
    return quote_name(header) if has_raw_bytes(header) else header


def raw_note(diff: Diff) -> str:
    """The sentence under a diff that has lines with bytes that are not UTF-8, naming them;
    empty when it has none."""
    places = diff.raw_lines()
    if not places:
        return ""
    return (
        f"Not UTF-8 on line(s) {', '.join(places)}: there a byte that is not UTF-8 is shown as "
        "\\ooo (octal, as git quotes names) and a backslash as \\\\; on every other line a "
        "backslash is the file's own."
    )


def fence(text: str, info: str = "") -> str:
    """A fenced code block longer than any backtick run in ``text``."""
    ticks = "`" * max(3, _longest_backticks(text) + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{info}\n{body}{ticks}\n"


def _plain(text: str) -> str:
    """Prose from the patch or the engine, safe in a table cell or a paragraph."""
    escaped = html.escape(text, quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


def _h(text: str) -> str:
    return html.escape(text, quote=False)


def _size(count: int) -> str:
    return f"{count:,} bytes"


def omitted_count(report: Report) -> tuple[int, int]:
    """(files, hunks) of the kept files that an attention-only report does not list."""
    listed = {id(f) for f in report.attention_files}
    rest = [f for f in report.kept_files if id(f) not in listed]
    return len(rest), sum(len(f.hunks) for f in rest)


def _omitted_note(report: Report) -> str:
    files, hunks = omitted_count(report)
    return (
        f"Only the files with something to look at are listed, with the evidence of the hunks a "
        f"person has to look at: {files} more kept file(s), {hunks} hunk(s), went in clean or at "
        "an offset (the full report lists them, and shows every offset hunk: run without "
        "`--attention-only`)."
    )


def diffstat_text(entries: tuple[DiffstatEntry, ...], width: int = 60) -> str:
    """``git diff --stat`` style lines, with the closing totals line."""
    if not entries:
        return "0 files changed\n"
    names = [quote_name(e.path) for e in entries]
    name_width = max(len(name) for name in names)
    largest = max(e.added + e.removed for e in entries)
    count_width = len(str(largest))
    room = max(10, width - min(name_width, 50) - count_width)
    lines = []
    for entry, name in zip(entries, names, strict=True):
        total = entry.added + entry.removed
        scale = min(1.0, room / largest) if largest else 1.0
        plus = round(entry.added * scale) or (1 if entry.added else 0)
        minus = round(entry.removed * scale) or (1 if entry.removed else 0)
        lines.append(
            f" {name.ljust(name_width)} | {str(total).rjust(count_width)} "
            f"{'+' * plus}{'-' * minus}".rstrip()
        )
    added = sum(e.added for e in entries)
    removed = sum(e.removed for e in entries)
    files = "file" if len(entries) == 1 else "files"
    lines.append(
        f" {len(entries)} {files} changed, {added} insertion{'s' if added != 1 else ''}(+), "
        f"{removed} deletion{'s' if removed != 1 else ''}(-)"
    )
    return "\n".join(lines) + "\n"


def _resolution(hunk: HunkReport) -> str:
    resolution = hunk.resolution
    if resolution is None:
        if hunk.written_by_accept_fuzz:
            if hunk.open:
                return "**open**: written by `apply --accept-fuzz`, reviewed by nobody"
            if hunk.reviewed_by:
                who = ", ".join(p for p in (hunk.reviewed_by, hunk.reviewed_at) if p)
                return f"written by `apply --accept-fuzz`, reviewed by {_plain(who)}"
        return "**open**" if hunk.open else "—"
    text = f"{resolution.resolution}"
    if resolution.reused:
        text += f" ({resolution.reuse_state})"
    who = ", ".join(p for p in (resolution.by, resolution.at) if p)
    if who:
        text += f" by {_plain(who)}"
    if resolution.reason:
        text += f": {_plain(resolution.reason)}"
    if hunk.open:
        text = f"**open** ({text})"
    return text


def _warning_state(warning: SelectionWarning) -> str:
    if warning.open:
        return "**open**"
    when = f", {warning.acknowledged_at}" if warning.acknowledged_at else ""
    return f"acknowledged by {_plain(warning.acknowledged_by)}{_plain(when)}"


def severity_label(row: AttentionRow) -> str:
    """``open: conflict``, ``resolved``, ``written unreviewed``: the first column's words."""
    if row.open:
        return f"open: {OPEN_KINDS.get(row.kind, (row.severity, row.kind, row.kind))[1]}"
    if row.severity == Severity.UNREVIEWED:
        return "written unreviewed"
    return str(row.severity)


_CONFIRM = "`patchsmith resolve HUNK --confirm`"
"""How a reused resolution is confirmed (named where one waits)."""

_LISTED_PER_KIND = 5
"""Ids named per kind in the summary's open line; the rest are counted (all are in the table)."""


def open_listing(summary: Summary) -> list[tuple[str, list[str], int]]:
    """(``1 conflict``, its first ids, how many more) per kind of open item, in order."""
    from patchsmith.report.model import count_phrase

    out: list[tuple[str, list[str], int]] = []
    for kind, count in summary.open_counts:
        ids = [item.id for item in summary.open if item.kind == kind]
        out.append((count_phrase(count, kind), ids[:_LISTED_PER_KIND], len(ids) - _LISTED_PER_KIND))
    return out


def _summary(report: Report) -> list[str]:
    summary = report.summary
    if summary.safe_to_build:
        lines = [f"> ✅ **Safe to build: yes**: {_plain(summary.verdict)}", ">"]
    else:
        lines = [f"> ❌ **Safe to build: no**: {_plain(summary.verdict)}", ">"]
        kinds = []
        for phrase, ids, more in open_listing(summary):
            named = ", ".join(name_span(i, False) for i in ids)
            if more > 0:
                named += f" and {more} more"
            kinds.append(f"**{phrase}**: {named}")
        if any(kind == "confirm" for kind, _count in summary.open_counts):
            kinds.append(f"confirm each with {_CONFIRM}")
        lines += [f"> 🔴 **Open ({len(summary.open)})**: " + " · ".join(kinds), ">"]
    if summary.silently_fuzzed:
        listed = ", ".join(name_span(i, False) for i in summary.silently_fuzzed)
        lines += [
            f"> ⚠️ **Written with fuzz by `apply --accept-fuzz` and decided by nobody:** {listed}",
            ">",
        ]
    if summary.trusted:
        listed = ", ".join(name_span(i, False) for i in summary.trusted)
        lines += [
            f"> ⚠️ **Reused and trusted by `apply --trust-memory`, confirmed by nobody:** {listed}",
            ">",
        ]
    if report.build is not None and not report.build.ok:
        lines += [f"> ❌ **The last build failed**: {_plain(report.build.message)}", ">"]
    facts = [_plain(summary.fuzz_phrase), _plain(summary.warnings_phrase)]
    if report.kind == ReportKind.PREDICTION:
        facts.append("a prediction (`check`): nothing was written")
    else:
        facts.append(f"resolved by a person: {summary.resolved}")
        facts.append(f"an apply session ({_plain(report.phase)})")
        if report.build is not None and report.build.ok:
            facts.append("the last build passed")
    lines.append("> " + " · ".join(facts))
    lines += ["", "| status | hunks |", "|:--|--:|"]
    for count in summary.counts:
        lines.append(f"| {count.status} | {count.count} |")
    lines.append(f"| **kept** | **{summary.hunks}** in {summary.files} file(s) |")
    return lines


def _row_state(row: AttentionRow) -> str:
    if row.hunk is not None:
        return _resolution(row.hunk)
    if row.warning is not None:
        return _warning_state(row.warning)
    return "**open**" if row.open else "—"


def _attention(report: Report) -> list[str]:
    rows = report.listed_attention
    offsets = report.offsets
    lines = ["## Needs attention", ""]
    if not rows and offsets is None:
        return [*lines, "Nothing: every kept hunk is clean."]
    lines += [
        "Most severe first: what is open (the build gate waits for it), then what a person "
        "decided, then what needed nobody. Line numbers are the vendor tree's, as `check` "
        "gives them.",
        "",
    ]
    if rows:
        lines += [
            "| # | severity | item | status | where | reason | resolution |",
            "|--:|---|---|---|---|---|---|",
        ]
        for row in rows:
            label = severity_label(row)
            label = f"**{label}**" if row.open else label
            status = row.status + (" (review)" if row.needs_review else "")
            lines.append(
                f"| {row.order} | {label} | {name_span(row.id)} | {_plain(status)} | "
                f"{_plain(row.place)} | {_plain(row.reason)} | {_row_state(row)} |"
            )
    if offsets is not None:
        noun = "offset" if offsets.count == 1 else "offsets"
        head = (
            f"**{offsets.count} {noun}, largest {offsets.largest:+d}**: found exactly, that many "
            "lines from where the patch says, and written there."
        )
        ids = " ".join(name_span(i, False) for i in offsets.ids)
        if offsets.count <= 10:
            lines += ["", f"{head} {ids}"]
        else:
            lines += ["", f"<details><summary>{_h(head.replace('**', ''))}</summary>", "", ids]
            lines += ["", "</details>"]
    return lines


def _inputs(report: Report) -> list[str]:
    inputs = report.inputs
    lines = ["## Inputs", "", "| | |", "|---|---|"]
    for patch in inputs.patches:
        packed = f", {patch.compression} {_size(patch.size)}" if patch.compression else ""
        lines.append(
            f"| patch | {name_span(patch.name)} ({_size(patch.data_size)}{packed}), "
            f"sha256 {code_span(patch.sha256)} |"
        )
    lines.append(f"| tree | {name_span(inputs.tree)} |")
    lines.append(f"| base | {name_span(inputs.base) if inputs.base else '—'} |")
    config = "—"
    if inputs.config:
        config = name_span(inputs.config)
        if inputs.config_sha256:
            config += f", sha256 {code_span(inputs.config_sha256)}"
    lines.append(f"| config | {config} |")
    options = " ".join(inputs.options)
    lines.append(f"| selection | {code_span(options) if options else 'everything kept'} |")
    lines.append(
        f"| paths | stripped by {inputs.strip} (`-p{inputs.strip}`), fuzz up to {inputs.fuzz} |"
    )
    if report.kind == ReportKind.SESSION:
        lines.append(f"| session | {_plain(report.phase)} |")
    lines.append(f"| patchsmith | {_plain(inputs.version)} |")
    lines.append(f"| date | {_plain(inputs.generated)} |")
    return lines


def _selection(selection: SelectionReport | None, report: Report) -> list[str]:
    lines = ["## Selection", ""]
    if selection is None:
        if report.kind == ReportKind.SESSION:
            return [*lines, _NOT_RECORDED]
        return [*lines, _NO_SELECTION]
    rules = ", ".join(code_span(r, False) for r in selection.rules) or "none (everything kept)"
    lines.append(f"Rules: {rules}.")
    lines.append("")
    lines.append(
        f"Kept **{selection.files_kept}** of {selection.files_total} files and "
        f"**{selection.hunks_kept}** of {selection.hunks_total} hunks; left out "
        f"{selection.files_left_out} files and {selection.hunks_left_out} hunks."
    )
    if selection.left_out:
        lines += ["", "| left out by | files | hunks |", "|---|--:|--:|"]
        for group in selection.left_out:
            lines.append(f"| {code_span(group.rule)} | {group.files} | {group.hunks} |")
        lines += ["", "<details><summary>Left-out files</summary>", ""]
        lines += ["| file | left out by |", "|---|---|"]
        for group in selection.left_out:
            for path in group.paths:
                lines.append(f"| {name_span(path)} | {code_span(group.rule)} |")
        lines += ["", "</details>"]
    if selection.classes:
        lines += [
            "",
            "| Kbuild class | kept files | kept hunks | left-out files | left-out hunks |",
            "|---|--:|--:|--:|--:|",
        ]
        for row in selection.classes:
            lines.append(
                f"| {row.kbuild_class} | {row.kept_files} | {row.kept_hunks} | "
                f"{row.left_out_files} | {row.left_out_hunks} |"
            )
    lines.append("")
    if selection.warnings:
        lines.append(f"**Warnings ({len(selection.warnings)}):**")
        lines.append("")
        for warning in selection.warnings:
            state = "" if warning.open else f" ({_warning_state(warning)})"
            number = f"[{warning.number}] " if warning.number else ""
            lines.append(
                f"- {number}{code_span(warning.kind, False)}: {_plain(warning.message)}{state}"
            )
    else:
        lines.append("No dependency or header warnings.")
    return lines


_NO_SELECTION = (
    "Not recorded here: the options are under Inputs; "
    "`patchsmith filter --explain` with them lists what was left out and why."
)
_NOT_RECORDED = (
    "Not recorded: this session was made by a patchsmith that kept only the one-line summary "
    "of its options (under Inputs); `patchsmith filter --explain` with them lists what was left "
    "out and why."
)


def _diff_block(diff: Diff | None, heading: str, missing: str) -> list[str]:
    if diff is None:
        return [f"{heading}: {_plain(missing)}.", ""]
    note = f" {_plain(diff.note)}." if diff.note else ""
    raw = raw_note(diff)
    lines = [f"{heading} ({_plain(diff.caption)}):{note}", "", fence(diff.shown_unified(), "diff")]
    return [*lines, f"> ⚠️ {_plain(raw)}", ""] if raw else lines


def _hunk_detail(file: FileReport, hunk: HunkReport) -> list[str]:
    review = ", needs review" if hunk.needs_review else ""
    reason = f": {_plain(hunk.reason)}" if hunk.reason else ""
    lines = [f"#### {name_span(hunk.id, False)} {hunk.status}{review}{reason}", ""]
    if hunk.resolution is not None or hunk.open:
        lines += [f"Resolution: {_resolution(hunk)}", ""]
    lines += _diff_block(hunk.upstream, "Upstream's hunk", "not shown")
    lines += _diff_block(hunk.vendor, "The vendor's region", hunk.vendor_missing or "not shown")
    lines += _diff_block(hunk.result, "Result", hunk.result_missing or "not shown")
    return lines


def _file(file: FileReport, attention_only: bool = False) -> list[str]:
    hunks = file.hunks
    count = f"{len(hunks)} hunk{'s' if len(hunks) != 1 else ''}"
    extra = f", {file.kbuild_class}" if file.kbuild_class else ""
    module = f" ({file.module})" if file.module else ""
    summary = (
        f"<b>{_h(str(file.status))}</b> <code>{_h(quote_name(file.path))}</code> — {count}, "
        f"+{file.added} −{file.removed}{_h(extra)}{_h(module)}"
    )
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    facts = [f"{file.kind} file"]
    if file.old_path:
        facts.append(f"from {name_span(file.old_path, False)}")
    if file.class_reason:
        facts.append(f"Kbuild: {_plain(file.class_reason)}")
    if file.reason:
        facts.append(_plain(file.reason))
    lines += [" · ".join(facts), ""]
    if file.hunks:
        lines += [
            "| # | hunk | status | where (vendor tree) | reason | resolution |",
            "|--:|---|---|---|---|---|",
        ]
        for hunk in file.hunks:
            review = " (review)" if hunk.needs_review else ""
            lines.append(
                f"| {hunk.index} | {code_span(header_text(hunk.header))} | {hunk.status}{review} | "
                f"{_plain(hunk.place)} | {_plain(hunk.reason)} | {_resolution(hunk)} |"
            )
        lines.append("")
    for hunk in file.hunks:
        if hunk.detailed and (hunk.for_a_person or not attention_only):
            lines += _hunk_detail(file, hunk)
    lines += ["</details>", ""]
    return lines


def render_markdown(report: Report, attention_only: bool = False) -> str:
    """The whole report as GitHub/GitLab-flavoured Markdown. ``attention_only`` lists only the
    files with something to look at and the diffstat's totals: a stable patch's full report is
    far over a merge request comment's size limit."""
    lines = [f"# patchsmith report: {_plain(report.title)}", ""]
    lines += _summary(report)
    lines.append("")
    lines += _attention(report)
    lines.append("")
    lines += _inputs(report)
    lines.append("")
    lines += _selection(report.selection, report)
    lines += ["", "## Files", ""]
    kept = report.attention_files if attention_only else report.kept_files
    if not report.kept_files:
        lines += ["No file diff was kept.", ""]
    elif attention_only:
        lines += [_omitted_note(report), ""]
    for file in kept:
        lines += _file(file, attention_only)
    if report.build is not None:
        build = report.build
        state = "passed" if build.ok else "**failed**"
        lines += [
            "## Build",
            "",
            f"{code_span(build.command, False)} {state}: {_plain(build.message)}",
        ]
        if build.modules:
            lines += ["", "Modules: " + ", ".join(code_span(m, False) for m in build.modules)]
        if build.log_tail:
            lines += ["", fence(build.log_tail)]
        lines.append("")
    lines += ["## Diffstat", ""]
    what = "what applying writes" if report.kind == ReportKind.PREDICTION else "the final result"
    stat = diffstat_text(report.diffstat)
    if attention_only:
        stat = stat.splitlines()[-1] + "\n"  # the totals line
    lines += [f"The combined change ({what}):", "", fence(stat)]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"

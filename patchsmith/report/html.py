"""The HTML report: one self-contained file a reviewer opens offline in any browser.

Everything is inline: the CSS (the page's own and Pygments' token classes, written once), and a
four-line script that opens the ``<details>`` around a linked hunk; no font, image, stylesheet or
script is fetched from anywhere. Light and dark follow ``prefers-color-scheme``.

The page stays light for a 1,300-file stable patch: every file is a ``<details>`` closed by
default (the browser lays out only the summary lines), only hunks that were not plainly clean
carry diffs, and each of those is highlighted once per side by Pygments and shown side by side.
Left-out files are a compact list per rule, not one block each.

The diffstat text is :mod:`patchsmith.report.markdown`'s; code is highlighted by Pygments.
Names and code lines with bytes that are not UTF-8 follow the Markdown report's rules (names
quoted as git quotes them, such code lines escaped and named in a note under the diff): the
same page never shows a raw byte and the same characters typed alike.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from importlib import resources

from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import (  # type: ignore[import-untyped]
    TextLexer,
    get_lexer_for_filename,
)
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

from patchsmith.quoting import escape_line, quote_name
from patchsmith.report.markdown import (
    diffstat_text,
    header_text,
    omitted_count,
    open_listing,
    raw_note,
    severity_label,
)
from patchsmith.report.model import (
    AttentionRow,
    Diff,
    FileReport,
    HunkReport,
    Report,
    ReportKind,
    SelectionReport,
    SelectionWarning,
)

__all__ = ["render_html"]

_LIGHT_STYLE = "default"
_DARK_STYLE = "github-dark"

_PAGE_CSS = resources.files("patchsmith.report").joinpath("templates/report.css").read_text("utf-8")
"""The page's own stylesheet (``templates/report.css``), inlined into every report."""

# Opens the <details> around the element a link points to (#h-3-2): browsers only open it for
# find-in-page, not for a fragment link from the "Needs attention" table.
_SCRIPT = """
function openTarget(){var e=document.getElementById(location.hash.slice(1));
for(var d=e;d;d=d.parentElement){if(d.tagName==="DETAILS"){d.open=true;}}
if(e){e.scrollIntoView();}}
addEventListener("hashchange",openTarget);addEventListener("DOMContentLoaded",openTarget);
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _name(name: str) -> str:
    """A name (a path, a hunk id, an input file), quoted as git quotes it, HTML-escaped."""
    return _e(quote_name(name))


@functools.lru_cache(maxsize=1)
def _token_css() -> str:
    """Pygments' token classes for both schemes, scoped under ``.hl``, without backgrounds."""

    def rules(style: str) -> str:
        defs = HtmlFormatter(style=style, cssclass="hl").get_style_defs(".hl")
        kept = [
            line
            for line in defs.splitlines()
            if line.startswith(".hl .") and not line.startswith(".hl .hll")
        ]
        return "\n".join(kept)

    return (
        f"@media not all and (prefers-color-scheme: dark) {{\n{rules(_LIGHT_STYLE)}\n}}\n"
        f"@media (prefers-color-scheme: dark) {{\n{rules(_DARK_STYLE)}\n}}\n"
    )


@functools.lru_cache(maxsize=256)
def _lexer_for(name: str) -> Lexer:
    options = {"stripnl": False, "stripall": False, "ensurenl": False, "tabsize": 0}
    try:
        return get_lexer_for_filename(name, **options)
    except ClassNotFound:
        return TextLexer(**options)


def _lexer_key(path: str) -> str:
    base = path.rsplit("/", 1)[-1]
    return "x" + base[base.rfind(".") :] if "." in base else base


_FORMATTER = HtmlFormatter(nowrap=True, noclasses=False, cssclass="hl")


def _highlight_lines(lines: Sequence[str], path: str) -> list[str]:
    """Each line as highlighted HTML; the block is lexed at once so comments span lines."""
    if not lines:
        return []
    text = "\n".join(lines) + "\n"
    out = highlight(text, _lexer_for(_lexer_key(path)), _FORMATTER).split("\n")
    if len(out) < len(lines):  # a lexer that ate a line: fall back to plain, never misalign
        return [_e(line) for line in lines]
    return [str(line) for line in out[: len(lines)]]


def _side_by_side(diff: Diff, path: str) -> str:
    old_text = [escape_line(line.text) for line in diff.lines if line.op != "+"]
    new_text = [escape_line(line.text) for line in diff.lines if line.op != "-"]
    old_html = _highlight_lines(old_text, path)
    new_html = _highlight_lines(new_text, path)
    rows: list[str] = []
    old_at = new_at = 0
    pending_old: list[int] = []
    pending_new: list[int] = []

    def cell(number: int | None, code: str | None, kind: str) -> str:
        if code is None:
            return '<td class="n empty"></td><td class="code empty"></td>'
        return f'<td class="n {kind}">{number}</td><td class="code {kind}">{code}</td>'

    def flush() -> None:
        for position in range(max(len(pending_old), len(pending_new))):
            left = pending_old[position] if position < len(pending_old) else None
            right = pending_new[position] if position < len(pending_new) else None
            rows.append(
                "<tr>"
                + cell(
                    None if left is None else diff.old_start + left,
                    None if left is None else old_html[left],
                    "del",
                )
                + cell(
                    None if right is None else diff.new_start + right,
                    None if right is None else new_html[right],
                    "add",
                )
                + "</tr>"
            )
        pending_old.clear()
        pending_new.clear()

    for line in diff.lines:
        if line.op == "-":
            if pending_new:
                flush()
            pending_old.append(old_at)
            old_at += 1
        elif line.op == "+":
            pending_new.append(new_at)
            new_at += 1
        else:
            flush()
            rows.append(
                "<tr>"
                + cell(diff.old_start + old_at, old_html[old_at], "ctx")
                + cell(diff.new_start + new_at, new_html[new_at], "ctx")
                + "</tr>"
            )
            old_at += 1
            new_at += 1
    flush()
    head = (
        f'<tr class="hdr"><td class="n"></td><td>{_e(diff.old_label)}</td>'
        f'<td class="n"></td><td>{_e(diff.new_label)}</td></tr>'
    )
    return (
        '<table class="sbs hl"><colgroup><col class="n"><col><col class="n"><col></colgroup>'
        f"{head}{''.join(rows)}</table>"
    )


def _diff_block(diff: Diff | None, heading: str, missing: str, path: str) -> str:
    if diff is None:
        return (
            f'<div class="diff"><div class="caption"><b>{_e(heading)}</b></div>'
            f'<div class="none">{_e(missing)}</div></div>'
        )
    where = diff.caption
    note = f" — {_e(diff.note)}" if diff.note else ""
    section = f' <code class="muted">{_e(escape_line(diff.section))}</code>' if diff.section else ""
    raw = raw_note(diff)
    if raw:
        note += f'<div class="notice">{_e(raw)}</div>'

    return (
        f'<div class="diff"><div class="caption"><b>{_e(heading)}</b>'
        f'<span class="muted">{_e(where)}</span>{section}{note}</div>'
        f"{_side_by_side(diff, path)}</div>"
    )


def _status(status: object) -> str:
    return f'<span class="st st-{_e(status)}">{_e(status)}</span>'


def _resolution(hunk: HunkReport) -> str:
    resolution = hunk.resolution
    if resolution is None and hunk.written_by_accept_fuzz:
        if hunk.open:
            return (
                '<span class="open">open</span>: written by <code>apply --accept-fuzz</code>, '
                "reviewed by nobody"
            )
        if hunk.reviewed_by:
            who = ", ".join(p for p in (hunk.reviewed_by, hunk.reviewed_at) if p)
            return f"written by <code>apply --accept-fuzz</code>, reviewed by {_e(who)}"
    if resolution is None:
        return '<span class="open">open</span>' if hunk.open else '<span class="muted">—</span>'
    text = _e(resolution.resolution)
    if resolution.reused:
        text += f' <span class="muted">({_e(resolution.reuse_state)})</span>'
    who = ", ".join(p for p in (resolution.by, resolution.at) if p)
    if who:
        text += f' <span class="muted">by {_e(who)}</span>'
    if resolution.reason:
        text += f": {_e(resolution.reason)}"
    if hunk.open:
        text = f'<span class="open">open</span> ({text})'
    return text


def _warning_state(warning: SelectionWarning) -> str:
    if warning.open:
        return '<span class="open">open</span>'
    when = f", {warning.acknowledged_at}" if warning.acknowledged_at else ""
    return f'acknowledged <span class="muted">by {_e(warning.acknowledged_by + when)}</span>'


def _hunk_anchor(file: FileReport, hunk: HunkReport) -> str:
    return f"h-{file.entry}-{hunk.index}"


def _review(flag: bool) -> str:
    return ' <span class="review">review</span>' if flag else ""


def _summary(report: Report) -> str:
    summary = report.summary
    answer = "yes" if summary.safe_to_build else "no"
    parts = [
        f'<section class="verdict {answer}"><div class="answer">Safe to build: {answer}</div>'
        f"<div>{_e(summary.verdict)}</div></section>",
    ]
    if not summary.safe_to_build:
        kinds = []
        for phrase, ids, more in open_listing(summary):
            named = ", ".join(f"<code>{_name(i)}</code>" for i in ids)
            if more > 0:
                named += f" and {more} more"
            kinds.append(f"<li><b>{_e(phrase)}</b>: {named}</li>")
        if any(kind == "confirm" for kind, _count in summary.open_counts):
            kinds.append(
                "<li>confirm each with <code>patchsmith resolve HUNK --confirm</code></li>"
            )
        parts.append(
            f'<div class="openitems"><b>Open ({len(summary.open)})</b><ul>'
            + "".join(kinds)
            + "</ul></div>"
        )
    if summary.silently_fuzzed:
        listed = ", ".join(f"<code>{_name(i)}</code>" for i in summary.silently_fuzzed)
        parts.append(
            '<div class="notice">Written with fuzz by <code>apply --accept-fuzz</code> and '
            f"decided by nobody: {listed}</div>"
        )
    if summary.trusted:
        listed = ", ".join(f"<code>{_name(i)}</code>" for i in summary.trusted)
        parts.append(
            '<div class="notice">Reused and trusted by <code>apply --trust-memory</code>, '
            f"confirmed by nobody: {listed}</div>"
        )
    if report.build is not None and not report.build.ok:
        parts.append(
            f'<div class="openitems"><b>The last build failed</b>: {_e(report.build.message)}</div>'
        )
    parts.append('<ul class="facts">')
    parts.append(f"<li>{_e(summary.fuzz_phrase)}</li>")
    parts.append(f"<li>{_e(summary.warnings_phrase)}</li>")
    if report.kind == ReportKind.PREDICTION:
        parts.append("<li>a prediction (<code>check</code>): nothing was written</li>")
    else:
        parts.append(f"<li>resolved by a person: {summary.resolved}</li>")
        parts.append(f"<li>an apply session ({_e(report.phase)})</li>")
        if report.build is not None and report.build.ok:
            parts.append("<li>the last build passed</li>")
    parts.append("</ul>")
    parts.append('<div class="counts">')
    parts.append(
        f'<div class="count"><b>{summary.hunks}</b>hunks kept in {summary.files} files</div>'
    )
    for count in summary.counts:
        parts.append(f'<div class="count"><b>{count.count}</b>{_status(count.status)}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def _row_link(row: AttentionRow) -> str:
    if row.hunk is not None and row.file is not None:
        return f'<a href="#{_hunk_anchor(row.file, row.hunk)}"><code>{_name(row.id)}</code></a>'
    if row.file is not None:
        return f'<a href="#f-{row.file.entry}"><code>{_name(row.id)}</code></a>'
    return f"<code>{_name(row.id)}</code>"


def _row_state(row: AttentionRow) -> str:
    if row.hunk is not None:
        return _resolution(row.hunk)
    if row.warning is not None:
        return _warning_state(row.warning)
    return '<span class="open">open</span>' if row.open else '<span class="muted">—</span>'


def _attention(report: Report) -> str:
    rows = report.listed_attention
    offsets = report.offsets
    out = ['<section id="attention"><h2>Needs attention</h2>']
    if not rows and offsets is None:
        out.append("<p>Nothing: every kept hunk is clean.</p></section>")
        return "\n".join(out)
    out.append(
        '<p class="muted">Most severe first: what is open (the build gate waits for it), then '
        "what a person decided, then what needed nobody. Line numbers are the vendor tree's, as "
        "<code>check</code> gives them.</p>"
    )
    if rows:
        out.append(
            '<table class="list"><tr><th class="num">#</th><th>severity</th><th>item</th>'
            "<th>status</th><th>where</th><th>reason</th><th>resolution</th></tr>"
        )
        for row in rows:
            label = _e(severity_label(row))
            if row.open:
                label = f'<span class="open">{label}</span>'
            status = _status(row.status) if row.hunk or row.file else _e(row.status)
            out.append(
                f'<tr data-severity="{_e(row.severity)}"><td class="num">{row.order}</td>'
                f'<td class="sev">{label}</td><td>{_row_link(row)}</td>'
                f"<td>{status}{_review(row.needs_review)}</td><td>{_e(row.place)}</td>"
                f"<td>{_e(row.reason)}</td><td>{_row_state(row)}</td></tr>"
            )
        out.append("</table>")
    if offsets is not None:
        noun = "offset" if offsets.count == 1 else "offsets"
        links = " ".join(f"<code>{_name(i)}</code>" for i in offsets.ids)
        out.append(
            f'<details class="plain offsets"><summary><b>{offsets.count} {noun}, largest '
            f"{offsets.largest:+d}</b>: found exactly, that many lines from where the patch "
            f"says, and written there</summary><p>{links}</p></details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _inputs(report: Report) -> str:
    inputs = report.inputs
    rows: list[tuple[str, str]] = []
    for patch in inputs.patches:
        packed = f", {_e(patch.compression)} {patch.size:,} bytes" if patch.compression else ""
        rows.append(
            (
                "patch",
                f"<code>{_name(patch.name)}</code> ({patch.data_size:,} bytes{packed})<br>"
                f'<span class="muted">sha256</span> <code>{_e(patch.sha256)}</code>',
            )
        )
    rows.append(("tree", f"<code>{_name(inputs.tree)}</code>"))
    rows.append(("base", f"<code>{_name(inputs.base)}</code>" if inputs.base else "—"))
    config = "—"
    if inputs.config:
        config = f"<code>{_name(inputs.config)}</code>"
        if inputs.config_sha256:
            config += (
                f'<br><span class="muted">sha256</span> <code>{_e(inputs.config_sha256)}</code>'
            )
    rows.append(("config", config))
    options = " ".join(inputs.options)
    rows.append(("selection", f"<code>{_e(options)}</code>" if options else "everything kept"))
    rows.append(
        (
            "paths",
            f"stripped by {inputs.strip} (<code>-p{inputs.strip}</code>), fuzz up to {inputs.fuzz}",
        )
    )
    if report.kind == ReportKind.SESSION:
        rows.append(("session", _e(report.phase)))
    rows.append(("patchsmith", _e(inputs.version)))
    rows.append(("date", _e(inputs.generated)))
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f'<section><h2>Inputs</h2><table class="kv">{body}</table></section>'


def _selection(selection: SelectionReport | None, report: Report) -> str:
    out = ["<section><h2>Selection</h2>"]
    if selection is None:
        if report.kind == ReportKind.SESSION:
            out.append(
                "<p>Not recorded: this session was made by a patchsmith that kept only the "
                "one-line summary of its options (under Inputs); <code>patchsmith filter "
                "--explain</code> with them lists what was left out and why.</p></section>"
            )
        else:
            out.append(
                "<p>Not recorded here: the options are under Inputs; <code>patchsmith filter "
                "--explain</code> with them lists what was left out and why.</p></section>"
            )
        return "\n".join(out)
    rules = ", ".join(f"<code>{_e(r)}</code>" for r in selection.rules) or "none (everything kept)"
    out.append(f"<p>Rules: {rules}.</p>")
    out.append(
        f"<p>Kept <b>{selection.files_kept}</b> of {selection.files_total} files and "
        f"<b>{selection.hunks_kept}</b> of {selection.hunks_total} hunks; left out "
        f"{selection.files_left_out} files and {selection.hunks_left_out} hunks.</p>"
    )
    if selection.left_out:
        left = {f.path: f for f in report.left_out_files}
        out.append(
            '<table class="list"><tr><th>left out by</th><th class="num">files</th>'
            '<th class="num">hunks</th></tr>'
        )
        for group in selection.left_out:
            sizes = dict(zip(group.paths, group.sizes, strict=False))

            def size(path: str, sizes: dict[str, int] = sizes) -> str:
                if path in sizes:
                    count = sizes[path]
                elif path in left:
                    count = len(left[path].hunks)
                else:
                    return ' <span class="muted">some hunks</span>'
                return f' <span class="muted">{count} hunk{"s" if count != 1 else ""}</span>'

            items = "".join(f"<li><code>{_name(p)}</code>{size(p)}</li>" for p in group.paths)
            out.append(
                f'<tr><td><details class="plain"><summary><code>{_e(group.rule)}</code>'
                f"</summary><ul>{items}</ul></details></td>"
                f'<td class="num">{group.files}</td><td class="num">{group.hunks}</td></tr>'
            )
        out.append("</table>")
    if selection.classes:
        out.append(
            '<table class="list"><tr><th>Kbuild class</th><th class="num">kept files</th>'
            '<th class="num">kept hunks</th><th class="num">left-out files</th>'
            '<th class="num">left-out hunks</th></tr>'
        )
        for row in selection.classes:
            out.append(
                f"<tr><td>{_e(row.kbuild_class)}</td><td class=num>{row.kept_files}</td>"
                f"<td class=num>{row.kept_hunks}</td><td class=num>{row.left_out_files}</td>"
                f"<td class=num>{row.left_out_hunks}</td></tr>"
            )
        out.append("</table>")
    if selection.warnings:
        out.append(f"<p><b>Warnings ({len(selection.warnings)}):</b></p><ul>")
        out.extend(
            f"<li>{f'[{w.number}] ' if w.number else ''}<code>{_e(w.kind)}</code>: "
            f"{_e(w.message)}{'' if w.open else ' (' + _warning_state(w) + ')'}</li>"
            for w in selection.warnings
        )
        out.append("</ul>")
    else:
        out.append('<p class="muted">No dependency or header warnings.</p>')
    out.append("</section>")
    return "\n".join(out)


def _hunk_detail(file: FileReport, hunk: HunkReport) -> str:
    reason = f": {_e(hunk.reason)}" if hunk.reason else ""
    parts = [
        f'<div class="hunk"><h4><code>{_name(hunk.id)}</code> {_status(hunk.status)}'
        f"{_review(hunk.needs_review)}{reason}</h4>"
    ]
    if hunk.resolution is not None or hunk.open:
        parts.append(f"<p>Resolution: {_resolution(hunk)}</p>")
    parts.append(_diff_block(hunk.upstream, "Upstream's hunk", "not shown", file.path))
    vendor_missing = hunk.vendor_missing or "not shown"
    parts.append(_diff_block(hunk.vendor, "The vendor's region", vendor_missing, file.path))
    result_missing = hunk.result_missing or "not shown"
    parts.append(_diff_block(hunk.result, "Result", result_missing, file.path))
    parts.append("</div>")
    return "\n".join(parts)


def _file(file: FileReport, attention_only: bool = False) -> str:
    count = len(file.hunks)
    extra = ""
    if file.kbuild_class:
        extra = f" · {_e(file.kbuild_class)}"
        if file.module:
            extra += f" <code>{_e(file.module)}</code>"
    head = (
        f'<details class="file" id="f-{file.entry}"><summary>{_status(file.status)}'
        f"{_review(file.needs_review)} <code>{_name(file.path)}</code> "
        f'<span class="muted">{count} hunk{"s" if count != 1 else ""}, '
        f'+{file.added} −{file.removed}{extra}</span></summary><div class="body">'
    )
    facts = [f"{_e(file.kind)} file"]
    if file.old_path:
        facts.append(f"from <code>{_name(file.old_path)}</code>")
    if file.class_reason:
        facts.append(f"Kbuild: {_e(file.class_reason)}")
    if file.reason:
        facts.append(_e(file.reason))
    parts = [head, f"<p>{' · '.join(facts)}</p>"]
    if file.hunks:
        parts.append(
            '<table class="list"><tr><th class="num">#</th><th>hunk</th><th>status</th>'
            "<th>where (vendor tree)</th><th>reason</th><th>resolution</th></tr>"
        )
        for hunk in file.hunks:
            link = (
                f'<a href="#{_hunk_anchor(file, hunk)}">{hunk.index}</a>'
                if _shown(hunk, attention_only)
                else str(hunk.index)
            )
            parts.append(
                f'<tr data-hunk="{_name(hunk.id)}"><td class="num">{link}</td>'
                f"<td><code>{_e(header_text(hunk.header))}</code></td>"
                f"<td>{_status(hunk.status)}{_review(hunk.needs_review)}</td>"
                f"<td>{_e(hunk.place)}</td><td>{_e(hunk.reason)}</td>"
                f"<td>{_resolution(hunk)}</td></tr>"
            )
        parts.append("</table>")
    for hunk in file.hunks:
        if _shown(hunk, attention_only):
            parts.append(f'<div id="{_hunk_anchor(file, hunk)}">{_hunk_detail(file, hunk)}</div>')
    parts.append("</div></details>")
    return "".join(parts)


def _shown(hunk: HunkReport, attention_only: bool) -> bool:
    """Whether the hunk's evidence is in the page (see render_markdown's attention_only)."""
    return hunk.detailed and (hunk.for_a_person or not attention_only)


def _left_out(report: Report) -> str:
    files = report.left_out_files
    if not files:
        return ""
    rows = "".join(
        f'<tr data-file="{_name(f.path)}"><td><code>{_name(f.path)}</code></td>'
        f'<td class="num">{len(f.hunks)}</td><td>{_e(f.reason)}</td></tr>'
        for f in files
    )
    return (
        f'<details class="plain"><summary>{len(files)} file diffs left out by the selection'
        '</summary><table class="list"><tr><th>file</th><th class="num">hunks</th>'
        f"<th>left out by</th></tr>{rows}</table></details>"
    )


def render_html(report: Report, attention_only: bool = False) -> str:
    """The whole report as one self-contained HTML document (``attention_only``: as for
    :func:`~patchsmith.report.markdown.render_markdown`)."""
    listed = report.attention_files if attention_only else report.kept_files
    files = "\n".join(_file(f, attention_only) for f in listed)
    if attention_only and report.kept_files:
        omitted, hunks = omitted_count(report)
        files = (
            '<p class="muted">Only the files with something to look at are listed, with the'
            f" evidence of the hunks a person has to look at: {omitted} more kept file(s),"
            f" {hunks} hunk(s), went in clean (the full report lists them, and shows every"
            " offset hunk: run without <code>--attention-only</code>).</p>\n" + files
        )
    stat = diffstat_text(report.diffstat)
    if attention_only:
        stat = stat.splitlines()[-1] + "\n"  # the totals line
    build = ""
    if report.build is not None:
        result = report.build
        state = (
            '<span class="good">passed</span>' if result.ok else '<span class="bad">failed</span>'
        )
        modules = (
            "<p>Modules: " + ", ".join(f"<code>{_e(m)}</code>" for m in result.modules) + "</p>"
            if result.modules
            else ""
        )
        log = (
            f'<details class="plain"><summary>build log (last lines)</summary>'
            f'<pre class="stat">{_e(result.log_tail)}</pre></details>'
            if result.log_tail
            else ""
        )
        build = (
            f"<section><h2>Build</h2><p><code>{_e(result.command)}</code> {state}: "
            f"{_e(result.message)}</p>{modules}{log}</section>"
        )
    what = "what applying writes" if report.kind == ReportKind.PREDICTION else "the final result"
    title = f"patchsmith report: {report.title}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="patchsmith {_e(report.inputs.version)}">
<title>{_e(title)}</title>
<style>{_PAGE_CSS}{_token_css()}</style>
<script>{_SCRIPT}</script>
</head>
<body>
<main>
<h1>patchsmith report <span class="sub">{_e(report.title)}</span></h1>
{_summary(report)}
{_attention(report)}
{_inputs(report)}
{_selection(report.selection, report)}
<section><h2>Files</h2>
{files or "<p>No file diff was kept.</p>"}
{_left_out(report)}
</section>
{build}
<section><h2>Diffstat</h2><p class="muted">The combined change ({what}):</p>
<pre class="stat">{_e(stat)}</pre></section>
<footer>Generated by patchsmith {_e(report.inputs.version)} on {_e(report.inputs.generated)}.
Schema {_e(report.schema)}.</footer>
</main>
</body>
</html>
"""

"""``patchsmith check``: every selected hunk's predicted fate on the vendor tree, nothing written.

A thin front end over :func:`patchsmith.engine.predict.predict`: parse options, select, predict,
render (a plain-text table, see :mod:`patchsmith.cli.table`, or JSON with the
``patchsmith.check/1`` schema). Exit 0 when every hunk is clean, offset or already applied
without a review flag; 1 otherwise; 2 for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
from pathlib import Path

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import (
    add_patch_argument,
    add_selection_options,
    add_strip_lookup_option,
    classifier_from_args,
    json_text,
    print_json,
    read_index,
    refuse_a_wrong_lookup,
    selection_from_args,
)
from patchsmith.engine.predict import (
    SCHEMA,
    Encode,
    FilePrediction,
    HunkPrediction,
    Prediction,
    Progress,
    predict,
    workers_for,
)
from patchsmith.errors import UsageError
from patchsmith.model import ExitCode, HunkStatus
from patchsmith.patchfile.select import select
from patchsmith.quoting import quote_name

# Imports for the type checker only (mypy reads TYPE_CHECKING as true), as in cli/common.py:
# nothing else on check's path imports typing, which costs ~2 ms of every run's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from patchsmith.cli.table import Cell
    from patchsmith.kernel.deps import DependencyWarning
    from patchsmith.patchfile.select import SelectionResult

REPORT_FORMATS = ("md", "html", "json")
"""``--report``'s choices: :data:`patchsmith.report.render.FORMATS`, without importing it."""

# Colours per status, shared by the table and the summary line.
_STYLE = {
    HunkStatus.CLEAN: "green",
    HunkStatus.OFFSET: "green",
    HunkStatus.ALREADY_APPLIED: "cyan",
    HunkStatus.WHITESPACE: "yellow",
    HunkStatus.FUZZ: "yellow",
    HunkStatus.PARTIALLY_APPLIED: "magenta",
    HunkStatus.CONFLICT: "bold red",
    HunkStatus.MISSING_FILE: "red",
    HunkStatus.FILE_EXISTS: "red",
    HunkStatus.EXCLUDED: "dim",
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help=COMMANDS["check"],
        description="Predict, for every selected hunk, where it goes in the vendor tree and "
        "whether it applies cleanly, at an offset, only with whitespace ignored or with fuzz, "
        "is already applied, partially applied, or conflicts. Unlike 'patch --dry-run', a "
        "fuzzy or far match is flagged for review when patchsmith cannot show it is safe (another "
        "place matches too, the added lines already exist nearby, the match is in another "
        "function), and a fix the vendor already carries is reported, never reversed. "
        "Several diffs of one file are predicted in sequence (patch --dry-run reports them as "
        "FAILED). The tree is only read.",
        epilog="Exit codes: 0 every hunk clean, offset or already applied, none flagged; "
        "1 something needs a person; 2 bad usage or input.",
    )
    add_patch_argument(parser, stdin_default=True)
    add_selection_options(parser, tree_option=False, strip_match=False)
    parser.add_argument(
        "--tree", required=True, metavar="DIR", help="the vendor tree to check against (read only)"
    )
    parser.add_argument(
        "--base",
        metavar="VANILLA",
        help="the vanilla tree the patch was made against, as a directory (apply also takes a "
        "tarball or a git ref; check does not). A clean or offset hunk flagged because the "
        "lines it adds already exist nearby, or because its lines match elsewhere too, is "
        "cleared when the vendor's code around it equals vanilla's (read only)",
    )
    add_strip_lookup_option(parser)
    parser.add_argument(
        "-F",
        "--fuzz",
        type=int,
        default=2,
        metavar="N",
        help="ignore up to N outer context lines, as patch -F (default 2; any fuzz is shown)",
    )
    parser.add_argument("--json", action="store_true", help=f"machine-readable ({SCHEMA})")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the alignment of each conflict"
    )
    parser.add_argument(
        "--issues",
        action="store_true",
        help="list only the hunks that need a person",
    )
    parser.add_argument(
        "--all",
        dest="every",
        action="store_true",
        help="a row for every hunk (by default a file whose hunks are all clean gets one row)",
    )
    # --report FORMAT [-o FILE]: the review report of this prediction (patchsmith.report).
    # Declared here rather than with patchsmith.cli.report's add_output_options: importing that
    # loads the report's sources, the workspace and the Kbuild modules, which cost check more
    # start-up time than predicting a small patch (a test keeps the two in step).
    parser.add_argument(
        "--report",
        dest="report_format",
        choices=REPORT_FORMATS,
        metavar="FORMAT",
        help="md (GitHub/GitLab Markdown), html (one self-contained file) or json "
        "(patchsmith.report/1)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the table, the JSON or the report here instead of stdout (stdout then "
        "gets the summary and where the rest is)",
    )
    parser.add_argument(
        "--attention-only",
        action="store_true",
        help="with --report md or html: list only the files with something to look at, and "
        "the diffstat's totals (a stable patch's full report is over a merge request comment's "
        "size limit); json always has everything",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.fuzz < 0:
        raise UsageError("--fuzz needs a number of context lines, 0 or more")
    # The cyclic garbage collector is paused while the index, the prediction and the output are
    # built: a kernel patch makes a few hundred thousand objects, none in a cycle, and the full
    # collections their number triggers cost a tenth of the command's time (one during the JSON
    # alone takes longer than the JSON). Reference counting still frees everything; the
    # collector is back on before returning. Mercurial's util.nogc does the same.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    to_file = args.output is not None and args.output != "-"
    if to_file:
        from patchsmith.output import check_output

        check_output(args.output)  # a mistyped -o is refused before the work, not after
    index = read_index(args.patch, max_size=args.max_size)
    selection = dataclasses.replace(selection_from_args(args, index, args.strip), strip=args.strip)
    result = select(index, selection)
    refuse_a_wrong_lookup(result, args.tree)
    kept = {d.entry.number: frozenset(d.kept) for d in result.kept}
    classifier = classifier_from_args(args)
    classes = None
    if classifier is not None:
        classes = {d.tree_path: classifier(d.tree_path).kind.value for d in result.kept}
    prediction = predict(
        index,
        [d.entry for d in result.kept],
        Path(args.tree),
        result.strip,
        fuzz=args.fuzz,
        kept=kept,
        classes=classes,
        # Only the report shows the vendor's lines; the table and JSON need statuses only.
        keep_contents=args.report_format is not None,
        base=_base_directory(args.base),
        progress=_terminal_progress(),
        # The report keeps every file's contents: bringing them back from other processes
        # would cost what sharing the work saves.
        workers=_workers(len(result.kept)) if args.report_format is None else 1,
        # The JSON of the files is made where they were predicted: in the worker processes too.
        encode=_files_json(args.verbose) if args.json and args.report_format is None else None,
    )
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")  # the progress line, gone before the results
    # With Kbuild classes, what the kept hunks depend on that the selection leaves out: each
    # warning is an item a person must read (exit 1), as in an apply session.
    warnings: list[DependencyWarning] = []
    if classifier is not None:
        from patchsmith.kernel.selection import selection_warnings

        warnings = selection_warnings(result, classifier=classifier)
    settled = prediction.settled and not warnings
    if args.report_format is not None:
        from patchsmith.cli.report import write_text
        from patchsmith.report.parts import ReportContext
        from patchsmith.report.render import render_prediction_report

        report_classes = None
        if classifier is not None:
            report_classes = classifier.classify_all([d.tree_path for d in result.decisions])
        context = ReportContext(
            tree=args.tree,
            base=args.base,
            config=getattr(args, "config", None),
            classes=report_classes,
            warnings=warnings,
        )
        text = render_prediction_report(
            prediction, index, args.report_format, context, result, args.attention_only
        )
        write_text(text, args.output)
        if args.output is None or args.output == "-":
            return int(ExitCode.OK if settled else ExitCode.ATTENTION)
        # The report went to a file: here only the summary, and where the rest is.
        _summary_and_where(
            prediction, warnings, result, f"{args.report_format} report", args.output
        )
        return int(ExitCode.OK if settled else ExitCode.ATTENTION)
    if to_file:
        # -o FILE means the same with or without --report, as in every command: the
        # table or the JSON goes to the file, whole or not at all, and stdout says where.
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            _write_results(args, prediction, result, warnings)
        from patchsmith.output import write_output

        write_output(args.output, buffer.getvalue().encode("utf-8", "surrogateescape"))
        _summary_and_where(
            prediction, warnings, result, "JSON" if args.json else "table", args.output
        )
    else:
        _write_results(args, prediction, result, warnings)
    return int(ExitCode.OK if settled else ExitCode.ATTENTION)


def _write_results(
    args: argparse.Namespace,
    prediction: Prediction,
    result: SelectionResult,
    warnings: list[DependencyWarning],
) -> None:
    """The table or the JSON, to stdout."""
    if args.json:
        # Compact on purpose: the indenting encoder is pure Python and takes longer than the
        # whole prediction on a kernel patch; pipe through 'jq .' to read it.
        tail = {
            "tree": args.tree,
            "left_out": len(result.left_out),
            "warnings": [_warning_json(w) for w in warnings],
        }
        if prediction.encoded is None:
            print_json({**prediction.to_json(verbose=args.verbose), **tail}, indent=None)
            return
        # The files' JSON was made where they were predicted (_files_json): the document is
        # written around it, as the text json.dumps makes of the whole (its keys in the same
        # order: the head's, "files", the tail's).
        head = json_text(prediction.to_json(files=False), indent=None)
        sys.stdout.write(
            f'{head[:-1]}, "files": [{", ".join(prediction.encoded)}], '
            f"{json_text(tail, indent=None)[1:]}\n"
        )
    else:
        render(
            prediction,
            verbose=args.verbose,
            issues=args.issues,
            left_out=len(result.left_out),
            every=args.every,
            warnings=warnings,
        )


def _summary_and_where(
    prediction: Prediction,
    warnings: list[DependencyWarning],
    result: SelectionResult,
    what: str,
    path: str,
) -> None:
    """The summary alone, and where the rest went (``-o FILE``, with or without ``--report``)."""
    render(
        prediction,
        verbose=False,
        issues=False,
        warnings=warnings,
        table=False,
        left_out=len(result.left_out),
    )
    sys.stdout.write(f"the {what}: {path}\n")


def _files_json(verbose: bool) -> Encode:
    """What :func:`predict` calls on each run of files: their JSON as the items of a list (the
    text between its brackets), as :func:`json_text` writes the whole document."""

    def encode(files: Sequence[FilePrediction]) -> str:
        return json_text([file.to_json(verbose) for file in files], indent=None)[1:-1]

    return encode


def _warning_json(warning: DependencyWarning) -> dict[str, Any]:
    return {
        "number": warning.number,
        "key": warning.key,
        "kind": str(warning.kind),
        "path": warning.path,
        "hunk": warning.hunk,
        "identifiers": list(warning.identifiers),
        "other_path": warning.other_path,
        "other_hunk": warning.other_hunk,
        "message": warning.message,
        "kept_line": warning.kept_line,
        "other_line": warning.other_line,
        "users": [
            {"path": path, "hunks": list(hunks), "line": line}
            for path, hunks, line in warning.users
        ],
    }


def _workers(files: int) -> int:
    """How many processes predict ``files`` file diffs: ``PATCHSMITH_WORKERS`` when set (1 keeps
    everything in this process), else one per CPU for a patch big enough to gain from it."""
    import os

    wanted = os.environ.get("PATCHSMITH_WORKERS", "")
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise UsageError(
                f"PATCHSMITH_WORKERS={wanted}: not a number of processes",
                hint="set it to 1 (no worker processes) or more, or unset it",
            )
        return int(wanted)
    return workers_for(files)


def _terminal_progress() -> Progress | None:
    """On a terminal, ``check: 640/1080 files`` on stderr while predicting (a kernel patch
    against a big tree takes seconds); nothing when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, _path: str) -> None:
        if done % 64 == 0 or done == total:  # a write per file would slow a fast check down
            sys.stderr.write(f"\rcheck: {done}/{total} files\033[K")
            sys.stderr.flush()

    return show


def _base_directory(base: str | None) -> Path | None:
    """``--base`` as a directory; a tarball or a git ref is for ``apply`` only."""
    if base is None:
        return None
    path = Path(base)
    if not path.is_dir():
        raise UsageError(
            f"--base {base}: not a directory",
            hint="check takes the unpacked vanilla tree; 'patchsmith apply --base' also reads "
            "a tarball or a git ref",
        )
    return path


def _location(hunk: HunkPrediction) -> str:
    if hunk.found_line is None:
        return f"{hunk.expected_line} → —"
    if hunk.found_line == hunk.expected_line:
        return str(hunk.expected_line)
    return f"{hunk.expected_line} → {hunk.found_line}"


def _offset(hunk: HunkPrediction) -> str:
    parts = []
    if hunk.offset:
        parts.append(f"{hunk.offset:+d}")
    if hunk.fuzz:
        parts.append(f"F{hunk.fuzz}")
    return " ".join(parts)


def _rows(file: FilePrediction, issues: bool, every: bool) -> list[HunkPrediction]:
    """The hunks of ``file`` that get a row of their own.

    By default a file whose hunks are all clean gets one summary row instead: on a stable patch
    that is thousands of rows nobody reads, and what needs a person would scroll away.
    """
    if issues:
        return [h for h in file.hunks if not h.settled]
    if every or any(h.status != HunkStatus.CLEAN or h.needs_review for h in file.hunks):
        return list(file.hunks)
    return []


def render(
    prediction: Prediction,
    *,
    verbose: bool,
    issues: bool,
    left_out: int = 0,
    every: bool = False,
    warnings: Sequence[DependencyWarning] = (),
    table: bool = True,
) -> None:
    """The human view: one table row per hunk, grouped by file, the selection's warnings, then
    a summary line; without ``table``, the summary line alone."""
    from patchsmith.cli.table import format_table, styled, terminal_width, use_colour

    out = sys.stdout
    colour = use_colour(out)
    rows: list[list[Cell]] = []
    for file in prediction.files:
        hunk_rows = _rows(file, issues, every)
        if issues and not hunk_rows and file.settled:
            continue
        name = quote_name(file.path)
        if file.old_path is not None:
            name = f"{quote_name(file.old_path)} → {name}"
        if file.kbuild_class:
            name += f"  [{file.kbuild_class}]"
        style = _STYLE.get(file.status, "")
        flag = " !" if file.needs_review and not file.hunks else ""
        if file.hunks and not hunk_rows and not issues:
            count = len(file.hunks)
            status = f"clean ×{count}" if count > 1 else "clean"
        elif not file.hunks:
            status = f"{file.status}{flag}"
        else:
            status = ""
        rows.append([(name, "bold"), (status, style), "", "", (file.reason, "dim")])
        for hunk in hunk_rows:
            mark = " !" if hunk.needs_review else ""
            rows.append(
                [
                    f"  #{hunk.hunk_number}",
                    (f"{hunk.status}{mark}", _STYLE.get(hunk.status, "")),
                    _location(hunk),
                    _offset(hunk),
                    hunk.reason,
                ]
            )
    lines = (
        format_table(
            ("file / hunk", "status", "line", "offset", "reason"),
            rows,
            right=(2, 3),
            width=terminal_width(out),
            colour=colour,
        )
        if table
        else []
    )
    if verbose:
        for file in prediction.files:
            for hunk in file.hunks:
                if hunk.alignment:
                    lines.extend(_alignment_lines(file, hunk, colour))
    counts = prediction.counts
    summary: list[Cell] = []
    for status in HunkStatus:
        if counts.get(status):
            if summary:
                summary.append(", ")
            summary.append((f"{counts[status]} {status}", _STYLE.get(status, "")))
    summary.append(f"; {prediction.review_count} need review")
    if warnings:
        from patchsmith.cli.filter import warning_lines

        if table:
            lines.append("")
            lines.extend(line.rstrip("\n") for line in warning_lines(warnings))
        noun = "selection warning" if len(warnings) == 1 else "selection warnings"
        summary.append("; ")
        summary.append((f"{len(warnings)} {noun}", "bold yellow"))
    if left_out:
        summary.append(f"; {left_out} file(s) left out by the selection")
    lines.append(styled(summary, colour))
    out.write("\n".join(lines) + "\n")


def _alignment_lines(file: FilePrediction, hunk: HunkPrediction, colour: bool) -> list[str]:
    """The pre-image next to the vendor's best candidate: why the hunk does not apply."""
    from patchsmith.cli.table import paint

    where = f" (candidate at line {hunk.candidates[0].line})" if hunk.candidates else ""
    lines = ["", paint(f"{quote_name(file.path)} #{hunk.hunk_number}", "bold", colour) + where]
    marks = {"same": " ", "changed": "~", "missing": "-", "extra": "+"}
    styles = {"same": "dim", "changed": "yellow", "missing": "red", "extra": "cyan"}
    for row in hunk.alignment:
        expected = _show(row.expected)
        vendor = _show(row.vendor)
        line = f"{row.vendor_line:>6}" if row.vendor_line is not None else "      "
        text = f"{marks[row.op]} {line}  {expected:<60.60} | {vendor}"
        lines.append(paint(text.rstrip(), styles[row.op], colour))
    return lines


def _show(line: bytes | None) -> str:
    if line is None:
        return ""
    return line.rstrip(b"\r\n").decode("utf-8", "replace").expandtabs(8)

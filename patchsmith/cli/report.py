"""``patchsmith report``: the review report of an apply session, as Markdown, HTML or JSON.

A thin front end over :mod:`patchsmith.report`: find the session (the current directory's
worktree, or ``--session``), ask it what is open (the build gate's list), read the combined diff
and a stored build result, build the report model and render it to stdout or ``-o FILE``. A
prediction's report comes from ``patchsmith check ... --report FORMAT``.

Exit 0 when nothing is open, 1 when something is, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.errors import GitError
from patchsmith.model import ExitCode
from patchsmith.report.build import from_build_json
from patchsmith.report.model import BuildReport
from patchsmith.report.parts import ReportContext
from patchsmith.report.render import FORMATS, render
from patchsmith.report.session import from_session

BUILD_RESULT = "build.json"
"""Where ``patchsmith build`` leaves its result, beside ``session.json``."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help=COMMANDS["report"],
        description="Write a report a reviewer who did not run patchsmith can trust: the inputs, "
        "the selection, every hunk's fate and resolution, the upstream hunk, the vendor's region "
        "and the result of every hunk that was not clean, the build result and the combined "
        "diffstat, under a ten-second summary. Works at any point of a session; for a "
        "prediction use 'patchsmith check ... --report FORMAT'.",
        epilog="examples:\n"
        "  patchsmith report --format md > review.md\n"
        "  patchsmith report --format html -o review.html --session ../worktree",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_options(parser, "--format", required=True)
    parser.add_argument(
        "--session",
        metavar="PATH",
        help="the session (its worktree or session.json); default: the one the current "
        "directory is in, or the one made from the tree it is in",
    )
    parser.set_defaults(run=run)


def add_output_options(parser: argparse.ArgumentParser, flag: str, required: bool) -> None:
    """``--format``/``--report FORMAT`` and ``-o FILE``, shared with ``check``."""
    parser.add_argument(
        flag,
        dest="report_format",
        choices=FORMATS,
        required=required,
        metavar="FORMAT",
        help="md (GitHub/GitLab Markdown), html (one self-contained file) or json "
        "(patchsmith.report/1)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the report here instead of stdout"
    )
    parser.add_argument(
        "--attention-only",
        action="store_true",
        help="md and html: list only the files with something to look at, and the diffstat's "
        "totals (a stable patch's full report is over a merge request comment's size limit); "
        "json always has everything",
    )


def write_text(text: str, path: str | None) -> None:
    """The report to ``-o FILE`` (UTF-8, whole or not at all) or stdout."""
    if path is None or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from patchsmith.output import write_output

    write_output(path, text.encode("utf-8"))


def _stored_build(directory: Path) -> BuildReport | None:
    try:
        data = json.loads((directory / BUILD_RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return from_build_json(data) if isinstance(data, dict) else None


def run(args: argparse.Namespace) -> int:
    from patchsmith.cli.sessionview import store_from_args
    from patchsmith.workspace import git
    from patchsmith.workspace.held import changed_after_apply
    from patchsmith.workspace.lines import line_maps

    store = store_from_args(args)
    session = store.load()
    items = store.open_items()
    combined: bytes | None = None
    worktree = Path(session.worktree)
    applied = result = None
    if worktree.is_dir():
        try:
            combined = git.diff(worktree, session.snapshot_commit, session.branch)
        except GitError:
            combined = None  # the diffstat is left empty rather than failing the report
        # The vendor tree's line numbers for regions the session keeps in the worktree's.
        applied = line_maps(worktree, session.snapshot_commit, session.applied_commit)
        result = line_maps(worktree, session.snapshot_commit, session.branch)
    context = ReportContext(
        tree=session.tree,
        build=_stored_build(store.path.parent),
        applied_lines=applied,
        result_lines=result,
        changed=changed_after_apply(session),
    )
    report = from_session(session, items, context, combined)
    write_text(render(report, args.report_format, args.attention_only), args.output)
    return int(ExitCode.ATTENTION if items else ExitCode.OK)

"""``patchsmith filter``: the selected part of a patch, byte-exact, to stdout or ``-o FILE``."""

from __future__ import annotations

import argparse
import sys

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import (
    add_patch_argument,
    add_selection_options,
    classifier_from_args,
    path_components,
    read_index,
    selection_from_args,
    write_output,
)
from patchsmith.errors import UsageError
from patchsmith.patchfile.select import SelectionResult, render, select

TYPE_CHECKING = False  # mypy reads it as true; importing typing would slow every run's start-up
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from patchsmith.kernel.deps import DependencyWarning


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "filter",
        help=COMMANDS["filter"],
        description="Write the selected file diffs and hunks of a patch, byte for byte as in the "
        "input (headers, index lines, timestamps, CRLF, Latin-1, '\\ No newline' markers). "
        "Selection options mean what they mean in filterdiff.",
        epilog="examples:\n"
        "  patchsmith filter patch-2.6.16.29.bz2 --only drivers/md -o md.patch\n"
        "  patchsmith filter -i '*/drivers/md/*' -x '*/dm-raid*' upstream.patch\n"
        "  patchsmith filter --hunks 2-3 --files 1 fix.patch",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_patch_argument(parser, stdin_default=True)
    add_selection_options(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--strip",
        type=path_components,
        default=0,
        metavar="N",
        help="remove N leading path components from the names in the output (filterdiff --strip)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="keep text that is not part of a diff (mail headers, commit messages), as "
        "filterdiff -v does; as in filterdiff, -x/-X keep it too unless --clean is given",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="never keep text that is not part of a diff, even with -x/-X, and drop the text "
        "after a hunk header's closing @@ (filterdiff --clean)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="say on stderr what was left out and by which rule",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    index = read_index(args.patch, lazy=True, max_size=args.max_size)
    verbose = keeps_text(args)
    # Only the kept files' bytes are written, and no decision is looked at: then the index
    # counts the hunks around the kept files only (select's bytes_only).
    bytes_only = not (args.explain or args.strip or verbose or args.clean)
    result = select(index, selection_from_args(args, index), bytes_only=bytes_only)
    write_output(args.output, render(result, strip=args.strip, verbose=verbose, clean=args.clean))
    if args.explain:
        explain(result, args)
    return 0


def keeps_text(args: argparse.Namespace) -> bool:
    """Whether the text between file diffs is written: filterdiff's rule, where excluding a
    name keeps everything else of the input, mail text included (``-v`` always, ``--clean``
    never)."""
    if args.verbose and args.clean:
        raise UsageError("-v/--verbose and --clean contradict each other", hint="give one")
    excluding = bool(args.exclude or args.exclude_from_file)
    return args.verbose or (excluding and not args.clean)


def explain(result: SelectionResult, args: argparse.Namespace) -> None:
    from patchsmith.cli.table import visible_lines
    from patchsmith.kernel.selection import selection_warnings

    err = sys.stderr
    classifier = classifier_from_args(args)
    kept_hunks = sum(len(d.kept) for d in result.kept)
    err.write(
        f"kept {len(result.kept)} of {len(result.decisions)} files, {kept_hunks} of "
        f"{result.index.hunk_count} hunks{_names_note(result)}\n"
    )
    for decision in result.decisions:
        if decision.reason is not None:
            err.write(visible_lines(f"  left out {decision.tree_path}: {decision.reason}\n"))
        for number, why in decision.hunk_reasons:
            err.write(visible_lines(f"  left out {decision.tree_path} hunk #{number}: {why}\n"))
    warnings = selection_warnings(result, classifier=classifier)
    err.write("".join(warning_lines(warnings)))


def _names_note(result: SelectionResult) -> str:
    """What the names below are, when they are not the patch's own: tree paths, stripped by
    the level ``-p`` gave or the patch's prefixes showed (the one --only and Kbuild see)."""
    if not result.strip:
        return ""
    if result.selection.strip is not None:
        return f"; paths shown stripped by -p{result.strip}"
    return f"; paths shown without the patch's prefix (-p{result.strip}, detected)"


def warning_lines(warnings: Sequence[DependencyWarning], indent: str = "") -> list[str]:
    """Dependency warnings for a terminal, by the first kept file each is about: the number to
    acknowledge it by, what it is, and the evidence (the left-out line, then each kept file that
    depends on it with its hunks and one of its lines)."""
    if not warnings:
        return []
    from patchsmith.cli.table import visible_lines

    lines = [f"{indent}selection warnings, by file ({len(warnings)}):\n"]
    current = None
    for warning in warnings:
        if warning.path != current:
            current = warning.path
            lines.append(f"{indent}{current}\n")
        lines.append(f"{indent}  [{warning.number}] {warning.kind}: {warning.message}\n")
        if warning.other_line:
            lines.append(f"{indent}      left out: {warning.other_line.strip()}\n")
        users = warning.users or (
            ((warning.path, warning.hunks, warning.kept_line),) if warning.kept_line else ()
        )
        for path, hunks, line in users:
            which = ", ".join(f"#{h}" for h in hunks)
            lines.append(f"{indent}      kept {path} {which}: {line.strip()}\n")
    noun = "warning" if len(warnings) == 1 else "warnings"
    lines.append(
        f"{indent}{len(warnings)} selection {noun}: read each before shipping the selected part "
        "(in a session: patchsmith resolve --ack-warning N)\n"
    )
    # The evidence is the patch's own lines: shown, never obeyed by the terminal.
    return [visible_lines(line) for line in lines]

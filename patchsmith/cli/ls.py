"""``patchsmith ls``: the files and hunks of a patch, like ``lsdiff`` but with counts and JSON."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import (
    add_patch_argument,
    add_selection_options,
    classifier_from_args,
    path_components,
    print_json,
    read_index,
    selection_from_args,
)
from patchsmith.patchfile.index import FileEntry, PatchIndex
from patchsmith.patchfile.select import SelectionResult, select, strip_components

if TYPE_CHECKING:
    from collections.abc import Sequence

    from patchsmith.kernel.classify import Classification

SCHEMA = "patchsmith.ls/2"
"""2: paths are tree paths (``strip`` says how many components went), only the selected files
are listed (``left_out`` counts the others); 1 gave the names as written in the patch."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ls",
        help=COMMANDS["ls"],
        description="List the file diffs of a patch with their status (+ new, - deleted, "
        "! modified, R renamed, C copied, B binary, M mode only), hunk count and added/removed "
        "lines. Unlike lsdiff, entries without hunks (mode changes, empty new files, binaries) "
        "are listed too. Names are shown as the other commands show them, as paths in the tree "
        "(without a/ b/ or linux-X.Y/ prefixes; --strip 0 shows them as in the patch). The "
        "selection options keep the files filter would keep.",
        epilog="examples:\n"
        "  patchsmith ls --hunks patch-2.6.16.29.bz2 --only drivers/md\n"
        "  bzcat patch-2.6.16.29.bz2 | patchsmith ls -i '*/dm-*.c'\n"
        "  patchsmith ls --json --tree linux --config .config --modules-only upstream.patch",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_patch_argument(parser, stdin_default=True)
    parser.add_argument(
        "-n", "--line-number", action="store_true", help="show the input line of each entry"
    )
    parser.add_argument("--hunks", action="store_true", help="one row per hunk, with its header")
    parser.add_argument(
        "--strip",
        type=path_components,
        default=None,
        metavar="N",
        help="remove N leading path components from the names shown, as lsdiff --strip "
        "(default: the patch's prefix, as -p gives it or as detected)",
    )
    parser.add_argument("--json", action="store_true", help=f"machine-readable ({SCHEMA})")
    add_selection_options(parser, hunk_ranges=False)
    parser.set_defaults(run=run)


def classes_of(result: SelectionResult, args: argparse.Namespace) -> dict[int, Classification]:
    """Kbuild class of each listed file diff (by number) when ``--tree``/``--config`` are given."""
    classifier = classifier_from_args(args, result.index, result.strip)
    if classifier is None:
        return {}
    return {d.entry.number: classifier(d.tree_path) for d in result.kept}


def run(args: argparse.Namespace) -> int:
    index = read_index(args.patch, max_size=args.max_size)
    result = select(index, selection_from_args(args, index))
    strip = result.strip if args.strip is None else args.strip
    classes = classes_of(result, args)
    listed = [d.entry for d in result.kept]
    if args.json:
        print_json(to_json(index, strip, classes, listed))
        return 0
    out = sys.stdout
    width = max((len(str(f.line)) for f in listed), default=1)
    for entry in listed:
        name = _name(entry, strip)
        where = f"{entry.line:>{width}}  " if args.line_number else ""
        found = classes.get(entry.number)
        kind = f"{found.kind.value:<13}" if found is not None else ""
        module = f"  [{', '.join(found.modules)}]" if found is not None and found.modules else ""
        out.write(
            f"{where}{entry.kind.value} {len(entry.hunks):>4} {'+' + str(entry.added):>7} "
            f"{'-' + str(entry.removed):>7}  {kind}{name}{module}\n"
        )
        if args.hunks:
            data = index.sources[entry.source].data
            for hunk in entry.hunks:
                header = data[hunk.start : data.find(b"\n", hunk.start)].rstrip(b"\r")
                text = header.decode("utf-8", "replace")
                hwhere = f"{hunk.line:>{width}}  " if args.line_number else ""
                out.write(
                    f"{hwhere}  #{hunk.number:<3}{'+' + str(hunk.added):>8} "
                    f"{'-' + str(hunk.removed):>7}  {text}\n"
                )
    added = sum(f.added for f in listed)
    removed = sum(f.removed for f in listed)
    hunks = sum(len(f.hunks) for f in listed)
    blank = " " * (width + 2) if args.line_number else ""
    left_out = len(result.decisions) - len(listed)
    files = f"{len(listed)} file{'' if len(listed) == 1 else 's'}"
    if left_out:
        files += f" ({left_out} of {len(result.decisions)} left out by the selection)"
    out.write(f"{blank}= {hunks:>4} {'+' + str(added):>7} {'-' + str(removed):>7}  {files}\n")
    return 0


def _name(entry: FileEntry, strip: int) -> str:
    new = strip_components(entry.path, strip)
    if entry.old_name is not None and entry.new_name is not None and entry.kind.value in "RC":
        return f"{strip_components(entry.old_name, strip)} -> {new}"
    return new


def to_json(
    index: PatchIndex,
    strip: int = 0,
    classes: dict[int, Classification] | None = None,
    listed: Sequence[FileEntry] | None = None,
) -> dict[str, Any]:
    """``patchsmith.ls/2``: the ``listed`` file diffs (default: all), their paths stripped by
    ``strip`` (the tree's, as the other commands give them) and ``patch_path`` as written."""
    files: list[dict[str, Any]] = []
    entries = index.files if listed is None else listed
    for entry in entries:
        mail = index.mails[entry.mail] if entry.mail is not None else None
        found = (classes or {}).get(entry.number)
        files.append(
            {
                "class": None if found is None else found.kind.value,
                "module": None if found is None else found.module,
                "modules": [] if found is None else list(found.modules),
                "class_rule": None if found is None or not found.rule else found.rule,
                "class_reason": None if found is None else found.reason,
                "number": entry.number,
                "path": strip_components(entry.path, strip),
                "patch_path": entry.path,
                "old_path": None
                if entry.old_name is None
                else strip_components(entry.old_name, strip),
                "new_path": None
                if entry.new_name is None
                else strip_components(entry.new_name, strip),
                "status": entry.kind.value,
                "kind": entry.kind.name.lower(),
                "format": entry.format.value,
                "git": entry.git,
                "headers": [{"name": k, "value": v} for k, v in entry.headers],
                "source": index.sources[entry.source].name,
                "line": entry.line,
                "byte_range": [entry.start, entry.end],
                "mail": None
                if mail is None
                else {"subject": mail.subject, "author": mail.author, "date": mail.date},
                "added": entry.added,
                "removed": entry.removed,
                "hunks": [
                    {
                        "number": h.number,
                        "line": h.line,
                        "old_start": h.old_start,
                        "old_count": h.old_count,
                        "new_start": h.new_start,
                        "new_count": h.new_count,
                        "section": h.section,
                        "added": h.added,
                        "removed": h.removed,
                    }
                    for h in entry.hunks
                ],
            }
        )
    return {
        "schema": SCHEMA,
        "strip": strip,
        "sources": [
            {"name": s.name, "compression": s.compression, "bytes": len(s.data)}
            for s in index.sources
        ],
        "files": files,
        "totals": {
            "files": len(entries),
            "hunks": sum(len(f.hunks) for f in entries),
            "added": sum(f.added for f in entries),
            "removed": sum(f.removed for f in entries),
        },
        "left_out": len(index.files) - len(entries),
    }

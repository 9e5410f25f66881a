"""``patchsmith ls``: the files and hunks of a patch, like ``lsdiff`` but with counts and JSON."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from patchsmith.cli.common import (
    add_kbuild_options,
    add_patch_argument,
    classifier_from_args,
    print_json,
    read_index,
)
from patchsmith.patchfile.index import FileEntry, PatchIndex
from patchsmith.patchfile.select import detect_strip, strip_components

if TYPE_CHECKING:
    from patchsmith.kernel.classify import Classification

SCHEMA = "patchsmith.ls/1"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ls",
        help="list the files and hunks of a patch",
        description="List the file diffs of a patch with their status (+ new, - deleted, "
        "! modified, R renamed, C copied, B binary, M mode only), hunk count and added/removed "
        "lines. Unlike lsdiff, entries without hunks (mode changes, empty new files, binaries) "
        "are listed too.",
    )
    add_patch_argument(parser, stdin_default=True)
    parser.add_argument(
        "-n", "--line-number", action="store_true", help="show the input line of each entry"
    )
    parser.add_argument("--hunks", action="store_true", help="one row per hunk, with its header")
    parser.add_argument(
        "-p",
        "--strip",
        type=int,
        default=0,
        metavar="N",
        help="strip N leading path components from the names shown",
    )
    parser.add_argument("--json", action="store_true", help=f"machine-readable ({SCHEMA})")
    add_kbuild_options(parser)
    parser.set_defaults(run=run)


def classes_of(index: PatchIndex, args: argparse.Namespace) -> dict[int, Classification]:
    """Kbuild class of each file diff (by number) when ``--tree``/``--config`` are given."""
    classifier = classifier_from_args(args, index)
    if classifier is None:
        return {}
    strip = detect_strip(index)
    return {f.number: classifier(strip_components(f.path, strip)) for f in index.files}


def run(args: argparse.Namespace) -> int:
    index = read_index(args.patch, max_size=args.max_size)
    classes = classes_of(index, args)
    if args.json:
        print_json(to_json(index, args.strip, classes))
        return 0
    out = sys.stdout
    width = max((len(str(f.line)) for f in index.files), default=1)
    for entry in index.files:
        name = _name(entry, args.strip)
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
    added = sum(f.added for f in index.files)
    removed = sum(f.removed for f in index.files)
    blank = " " * (width + 2) if args.line_number else ""
    out.write(
        f"{blank}= {index.hunk_count:>4} {'+' + str(added):>7} {'-' + str(removed):>7}  "
        f"{len(index.files)} files\n"
    )
    return 0


def _name(entry: FileEntry, strip: int) -> str:
    new = strip_components(entry.path, strip)
    if entry.old_name is not None and entry.new_name is not None and entry.kind.value in "RC":
        return f"{strip_components(entry.old_name, strip)} -> {new}"
    return new


def to_json(
    index: PatchIndex, strip: int = 0, classes: dict[int, Classification] | None = None
) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    for entry in index.files:
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
        "sources": [
            {"name": s.name, "compression": s.compression, "bytes": len(s.data)}
            for s in index.sources
        ],
        "files": files,
        "totals": {
            "files": len(index.files),
            "hunks": index.hunk_count,
            "added": sum(f.added for f in index.files),
            "removed": sum(f.removed for f in index.files),
        },
    }

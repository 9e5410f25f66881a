"""``patchsmith finish``: refuse while anything is open; commit; write the carried patch (and,
with ``--series DIR``, a quilt series of it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.sessionview import add_session_argument, store_from_args
from patchsmith.workspace.finish import finish_session


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "finish",
        help=COMMANDS["finish"],
        description="Refuse while a hunk is unresolved, a reused resolution is unconfirmed, a "
        ".rej file remains, a conflict marker is in a touched file or a selection warning is "
        "unread; otherwise commit what is left and write 'git diff base..branch', which applies "
        "to the original tree with 'patch -p1', under a description in the form stable and "
        "distribution kernels carry backports in: which patch, selection and config, and a "
        "'[ conflicts resolved: ... ]' line for every hunk a person decided (how, who, when, "
        "why).",
        epilog="examples:\n"
        "  patchsmith finish -o dm-fix.patch\n"
        "  patchsmith finish --series debian-patches/   # then: cp debian-patches/*.patch "
        "debian/patches/ &&\n"
        "                                               #       cat debian-patches/series >> "
        "debian/patches/series",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_session_argument(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the combined patch (default: beside the session)",
    )
    parser.add_argument(
        "--series",
        metavar="DIR",
        help="also write one patch per input mail (an mbox or git format-patch series), per "
        "input file (a folder or quilt series), or else per file, with a quilt 'series' file, "
        "into DIR (a new folder): 'quilt push -a' on the original tree gives the result; mails "
        "that change the same file are carried as one patch",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    result = finish_session(store, args.output, args.series)
    sys.stdout.write(f"{result.patch}\n")
    sys.stderr.write(
        f"wrote the combined patch to {result.patch} (apply with: patch -p1 < {result.patch})\n"
    )
    if result.series is not None:
        count = len(result.patches)
        noun = "patch" if count == 1 else "patches"
        sys.stdout.write(f"{result.series}\n")
        sys.stderr.write(
            f"wrote {count} {noun} and a quilt series to {result.series} (on the original tree: "
            f"QUILT_PATCHES={result.series} quilt push -a)\n"
        )
        for name in result.empty:
            sys.stderr.write(
                f"  not written: {name}: it changes nothing (dropped or already there)\n"
            )
    return 0

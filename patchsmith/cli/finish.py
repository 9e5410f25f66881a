"""``patchsmith finish``: refuse while anything is open; commit; write the combined patch."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from patchsmith.cli.sessionview import add_session_argument, store_from_args
from patchsmith.workspace.finish import finish_session


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "finish",
        help="write the combined patch once nothing is open",
        description="Refuse while a hunk is unresolved, a .rej file remains or a conflict marker "
        "is in a touched file; otherwise commit what is left and write 'git diff base..branch', "
        "which applies to the original tree with 'patch -p1'.",
    )
    add_session_argument(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the patch (default: beside the session)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    result = finish_session(store, args.output)
    sys.stdout.write(f"{result}\n")
    sys.stderr.write(f"wrote the combined patch to {result} (apply with: patch -p1 < {result})\n")
    return 0

"""``patchsmith tui``: open the resolution TUI on a session (``patchsmith resolve`` with no hunk).

A name of its own because that is what people type to get the interactive view; it runs exactly
what ``resolve`` without arguments runs, including printing the summary instead when stdin or
stdout is not a terminal.
"""

from __future__ import annotations

import argparse
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.resolve import open_tui
from patchsmith.cli.sessionview import add_session_argument, store_from_args


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tui",
        help=COMMANDS["tui"],
        description="Open the side-by-side resolution TUI on a session. When stdin or stdout is "
        "not a terminal, print the session summary instead and exit 1.",
    )
    add_session_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return open_tui(store_from_args(args))

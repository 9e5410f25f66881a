"""``patchsmith status``: the session's hunks, their fates, and what is still open."""

from __future__ import annotations

import argparse
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import print_json
from patchsmith.cli.sessionview import (
    add_all_argument,
    add_session_argument,
    store_from_args,
    write_status,
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help=COMMANDS["status"],
        description="Show the apply session of the worktree you are in (or --session): every "
        "hunk's status and resolution, and the open items that keep 'finish' and the build "
        "gate closed. Exit 1 while anything is open.",
    )
    add_session_argument(parser)
    add_all_argument(parser)
    parser.add_argument("--json", action="store_true", help="the session as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from patchsmith.workspace.held import changed_after_apply

    store = store_from_args(args)
    session = store.load()
    items = store.open_items()
    changed = changed_after_apply(session)
    if args.json:
        document = session.to_json()
        document["open_items"] = [
            {"kind": i.kind, "path": i.path, "hunk": i.hunk_id, "detail": i.detail} for i in items
        ]
        document["changed_after_apply"] = changed
        print_json(document)
    else:
        write_status(session, items, every=args.every, changed=changed)
    return 1 if items else 0

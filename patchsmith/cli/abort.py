"""``patchsmith abort``: remove the session's worktree, its branch and its state."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.sessionview import add_session_argument, store_from_args
from patchsmith.errors import SessionError
from patchsmith.workspace import git
from patchsmith.workspace.setup import abort_interrupted_setup, apply_lock, folder_for_repository


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "abort",
        help=COMMANDS["abort"],
        description="Remove the session's worktree, its branch and its state. The source tree "
        "is not touched (it never is). Resolutions stay in resolution memory.",
    )
    add_session_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        store = store_from_args(args)
    except SessionError:
        # No session: perhaps an apply was killed while it set one up.
        removed = abort_interrupted_setup(Path(args.session) if args.session else Path.cwd())
        if not removed:
            raise
        for intent, what in removed:
            sys.stderr.write(f"{intent.describe()}; removed {', '.join(what) or 'its record'}\n")
        return 0
    session = store.read()
    git_dir = Path(session.git_dir)
    # An apply of the same tree still running (it holds the lock until it returns) must not
    # lose its worktree under it.
    with apply_lock(folder_for_repository(git_dir), wait=0), store.locked():
        git.remove_worktree(git_dir, Path(session.worktree))
        git.delete_branch(git_dir, session.branch)
    sys.stderr.write(f"removed {session.worktree} and branch {session.branch}\n")
    return 0

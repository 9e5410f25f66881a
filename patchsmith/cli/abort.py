"""``patchsmith abort``: remove the session's worktree, its branch and its state."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli.sessionview import add_session_argument, store_from_args
from patchsmith.workspace import git


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "abort",
        help="throw the session away: worktree, branch and state",
        description="Remove the session's worktree, its branch and its state. The source tree "
        "is not touched (it never is). Resolutions stay in resolution memory.",
    )
    add_session_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    session = store.read()
    git_dir = Path(session.git_dir)
    with store.locked():
        git.remove_worktree(git_dir, Path(session.worktree))
        git.delete_branch(git_dir, session.branch)
    sys.stderr.write(f"removed {session.worktree} and branch {session.branch}\n")
    return 0

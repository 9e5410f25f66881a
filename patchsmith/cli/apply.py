"""``patchsmith apply``: the selected hunks applied in a git worktree, conflicts recorded."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import (
    add_patch_argument,
    add_selection_options,
    add_strip_lookup_option,
    classifier_from_args,
    print_json,
    read_index,
    refuse_a_wrong_lookup,
    selection_from_args,
)
from patchsmith.cli.sessionview import add_all_argument, write_status
from patchsmith.errors import UsageError
from patchsmith.patchfile.select import describe, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch_known
from patchsmith.workspace.inputs import selection_inputs
from patchsmith.workspace.session import SessionStore, SessionWarning, session_path
from patchsmith.workspace.setup import APPLY_WAIT

if TYPE_CHECKING:
    from patchsmith.kernel.deps import DependencyWarning


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        help=COMMANDS["apply"],
        description="Apply the selected hunks to a worktree of the tree on a branch of its own "
        "(the tree itself is never written). Clean and offset hunks are applied; already-applied "
        "ones are recorded and skipped; the rest get GNU-patch-format .rej files (or conflict "
        "blocks with --merge) and a proposal each. Unlike 'patch', nothing is applied with fuzz "
        "unless you say --accept-fuzz. Running the same command again after a crash continues.",
        epilog="examples:\n"
        "  patchsmith apply patch-6.1.187.xz --tree /usr/src/linux --only drivers/md\n"
        "  patchsmith apply upstream.patch --tree vendor --base vanilla-6.1.180.tar.xz --merge",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_patch_argument(parser)
    parser.add_argument("--tree", required=True, metavar="DIR", help="the vendor tree (read only)")
    add_selection_options(parser, tree_option=False, strip_match=False)
    add_strip_lookup_option(parser)
    parser.add_argument(
        "--base",
        metavar="VANILLA",
        help="the vanilla tree the patch was made against (directory, tarball, or git ref of "
        "the tree): proposals become true 3-way merges",
    )
    parser.add_argument("--branch", metavar="NAME", help="branch name (default patchsmith/PATCH)")
    parser.add_argument("--worktree", metavar="PATH", help="where the worktree goes")
    parser.add_argument(
        "--accept-fuzz",
        action="store_true",
        help="also write hunks found with fuzz, whitespace differences or a review flag",
    )
    parser.add_argument(
        "--merge", action="store_true", help="conflict blocks in the files instead of .rej files"
    )
    parser.add_argument(
        "-F", "--fuzz", type=int, default=2, metavar="N", help="patch's fuzz factor (default 2)"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="for a git tree with uncommitted changes: apply on a snapshot of them",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=APPLY_WAIT,
        metavar="SECONDS",
        help="how long to wait for another apply of the same tree to finish before refusing "
        f"(default {APPLY_WAIT:g})",
    )
    memory = parser.add_argument_group(
        "resolution memory (decisions made with 'resolve' on this tree, replayed in the same "
        "place and shown as 'reused: confirm' until a person confirms them)"
    )
    memory.add_argument(
        "--trust-memory",
        action="store_true",
        help="count replayed decisions as confirmed (recorded as such in the session and reports)",
    )
    memory.add_argument(
        "--lineage",
        metavar="NAME",
        help="name the vendor tree's line: decisions are replayed only in sessions with the same "
        "name (default: the git HEAD and its descendants, or this very directory)",
    )
    memory.add_argument(
        "--no-memory", action="store_true", help="replay nothing from resolution memory"
    )
    add_all_argument(parser)
    parser.add_argument("--json", action="store_true", help="the session as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.fuzz < 0:
        raise UsageError("-F needs a number of context lines, 0 or more")
    if not args.wait >= 0:  # also refuses nan
        raise UsageError("--wait needs a number of seconds, 0 or more")
    if args.trust_memory and args.no_memory:
        raise UsageError("--trust-memory and --no-memory contradict each other")
    index = read_index(args.patch, max_size=args.max_size)
    selection = dataclasses.replace(selection_from_args(args, index, args.strip), strip=args.strip)
    result = select(index, selection)
    refuse_a_wrong_lookup(result, args.tree)
    summary = " ".join(describe(selection))
    # The .config decides the selection warnings even when no Kbuild class rule reads it
    # (--only DIR --config F): recorded with the inputs, so the report can name it.
    classifier = classifier_from_args(args)
    options = ApplyOptions(
        fuzz=args.fuzz,
        accept_fuzz=args.accept_fuzz,
        merge=args.merge,
        base=args.base,
        branch=args.branch,
        worktree=Path(args.worktree) if args.worktree else None,
        allow_dirty=args.allow_dirty,
        selection_summary=summary,
        wait=args.wait,
        use_memory=not args.no_memory,
        trust_memory=args.trust_memory,
        lineage=args.lineage,
        max_size=args.max_size,
        inputs=selection_inputs(result, classifier.config_path if classifier else None),
    )

    def progress(stage: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r{stage}: {done}/{total}\033[K")
            if done == total:
                sys.stderr.write("\n")

    session, known = apply_patch_known(index, result, Path(args.tree), options, progress)
    store = SessionStore(session_path(git.git_dir_of(Path(session.worktree))))
    if classifier is not None:
        # What the kept hunks depend on that the selection left out: open items until read.
        from patchsmith.kernel.selection import selection_warnings

        warnings = selection_warnings(result, classifier=classifier)
        session = store.set_warnings(tuple(session_warning(w) for w in warnings))
    items = store.open_items(session, known)
    if args.json:
        print_json(session.to_json())
    else:
        write_status(session, items, every=args.every)
        sys.stdout.write(
            f"\ncd {session.worktree}\n"
            f"(status, resolve, finish and abort also find this session from {session.tree})\n"
        )
    return 1 if items else 0


def session_warning(warning: DependencyWarning) -> SessionWarning:
    """A dependency warning as the session keeps it (the kernel package knows no sessions)."""
    return SessionWarning(
        number=warning.number,
        key=warning.key,
        kind=str(warning.kind),
        path=warning.path,
        message=warning.message,
        hunk=warning.hunk,
        other_path=warning.other_path,
        kept_line=warning.kept_line,
        other_line=warning.other_line,
    )

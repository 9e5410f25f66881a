"""``patchsmith resolve``: settle a hunk from the command line, or open the TUI.

With a hunk (or ``--next``) and an action it is non-interactive and scriptable. Without one it
starts the TUI (``patchsmith_tui.app.run(session_path)``); when the TUI is not installed, or
stdin/stdout is not a terminal, it prints the status instead and exits 1, so a script never hangs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import subprocess
import sys
import tempfile
from typing import Any

from patchsmith.cli.sessionview import add_session_argument, fate, store_from_args, write_status
from patchsmith.errors import SessionError, UsageError
from patchsmith.model import Resolution
from patchsmith.workspace.session import SessionHunk, SessionStore, to_bytes, to_text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resolve",
        help="settle a hunk (--accept, --upstream, --drop, --edit), or open the TUI",
        description="Settle one open hunk: --accept takes patchsmith's proposal, --upstream "
        "upstream's post-image as is, --drop keeps the vendor's code (with --reason), --edit "
        "opens $EDITOR on the region. Each resolution is one commit and is remembered for the "
        "next run. Without HUNK and --next, opens the TUI.",
    )
    parser.add_argument("hunk", nargs="?", metavar="HUNK", help="a hunk id, e.g. drivers/md/dm.c#2")
    parser.add_argument("--next", action="store_true", help="the first open hunk")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--accept", action="store_true", help="take the proposal")
    action.add_argument("--upstream", action="store_true", help="take upstream's post-image")
    action.add_argument("--drop", action="store_true", help="keep the vendor's code")
    action.add_argument("--edit", action="store_true", help="edit the region in $EDITOR")
    action.add_argument("--undo", action="store_true", help="take back the hunk's resolution")
    action.add_argument(
        "--ack-warning",
        type=int,
        metavar="N",
        help="acknowledge selection warning N (as 'patchsmith status' numbers them) after "
        "reading it: it stops closing the build gate",
    )
    parser.add_argument("--reason", metavar="TEXT", help="why (required with --drop)")
    add_session_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    if args.ack_warning is not None:
        if args.hunk is not None or args.next:
            raise UsageError(
                "--ack-warning N takes no hunk", hint="patchsmith resolve --ack-warning 3"
            )
        return _acknowledge(store, args.ack_warning)
    if args.hunk is None and not args.next:
        return open_tui(store)
    session = store.load()
    if args.next:
        hunk = next(iter(session.open_hunks), None)
        if hunk is None:
            sys.stdout.write("nothing open\n")
            return 0
    else:
        hunk = session.hunk(args.hunk)
    if args.undo:
        store.undo(hunk.id)
    elif args.accept:
        store.resolve(hunk.id, Resolution.ACCEPTED, reason=args.reason)
    elif args.upstream:
        store.resolve(hunk.id, Resolution.UPSTREAM, reason=args.reason)
    elif args.drop:
        if not args.reason:
            raise UsageError("--drop needs --reason TEXT (e.g. 'backported by the vendor')")
        store.resolve(hunk.id, Resolution.DROPPED, reason=args.reason)
    elif args.edit:
        store.resolve(hunk.id, Resolution.EDITED, reason=args.reason, text=_edit(hunk))
    else:
        _show(hunk)
        return 1 if hunk.open else 0
    after = store.load().hunk(hunk.id)
    sys.stdout.write(f"{after.id}: {fate(after)}\n")
    remaining = len(store.load().open_hunks)
    sys.stdout.write(f"{remaining} hunk(s) open\n")
    return 1 if remaining else 0


def _acknowledge(store: SessionStore, number: int) -> int:
    session = store.acknowledge_warning(number)
    warning = next(w for w in session.warnings if w.number == number)
    sys.stdout.write(
        f"selection warning [{number}] acknowledged by {warning.acknowledged_by}: "
        f"{warning.message}\n"
    )
    remaining = len(store.open_items())
    sys.stdout.write(f"{remaining} item(s) open\n")
    return 1 if remaining else 0


def _show(hunk: SessionHunk) -> None:
    out = sys.stdout
    out.write(f"{hunk.id}  {hunk.status}  {fate(hunk)}\n{hunk.reason}\n\nupstream:\n")
    out.write(hunk.upstream)
    if hunk.vendor is not None:
        out.write(f"\nvendor's code at line {hunk.vendor.start}:\n{hunk.vendor.text}")
    if hunk.proposal is not None:
        out.write(f"\nproposal ({hunk.proposal_source}):\n{hunk.proposal}")


def _edit(hunk: SessionHunk) -> str:
    if hunk.current is None:
        raise SessionError(f"{hunk.id} has no region to edit", hint="use --drop --reason TEXT")
    start = hunk.proposal if hunk.proposal is not None else hunk.current.text
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile(
        "wb", suffix="-" + os.path.basename(hunk.path), delete=False
    ) as handle:
        handle.write(to_bytes(start))
        name = handle.name
    try:
        result = subprocess.run([*shlex.split(editor), name], check=False)
        if result.returncode != 0:
            raise SessionError(f"the editor ({editor}) exited with {result.returncode}")
        with open(name, "rb") as edited:
            return to_text(edited.read())
    finally:
        os.unlink(name)


def open_tui(store: SessionStore) -> int:
    """The TUI on ``store``; the status summary (exit 1) without a terminal or without the TUI."""
    if _terminal():
        try:
            module = importlib.import_module("patchsmith_tui.app")
        except ImportError:
            module = None
        runner = getattr(module, "run", None) if module is not None else None
        if runner is not None:
            code = runner(store.path)
            return int(code) if isinstance(code, int) else 0
        hint = "the TUI is not installed; resolve hunks with 'patchsmith resolve HUNK --accept'"
    else:
        hint = "not a terminal: resolve with 'patchsmith resolve HUNK --accept|--upstream|--drop'"
    write_status(store.load(), store.open_items())
    sys.stderr.write(f"patchsmith: {hint}\n")
    return 1


def _terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False  # a closed or replaced stream is not a terminal

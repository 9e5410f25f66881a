"""``patchsmith resolve``: settle a hunk from the command line, or open the TUI.

With a hunk (or ``--next``) and an action it is non-interactive and scriptable. Without one it
starts the TUI (``patchsmith_tui.app.run(session_path)``); when the TUI is not installed, or
stdin/stdout is not a terminal, it prints the status instead and exits 1, so a script never hangs.

``--edit`` opens ``$VISUAL``/``$EDITOR`` on a file kept in the session's folder (beside
``session.json``, never in the tree); it is removed only once the edit is recorded, so a refused
edit (conflict markers left, say) loses nothing and the next ``--edit`` starts from it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.sessionview import (
    add_all_argument,
    add_session_argument,
    fate,
    store_from_args,
    write_status,
)
from patchsmith.errors import PatchsmithError, SessionError, UsageError
from patchsmith.model import Resolution
from patchsmith.workspace import memory
from patchsmith.workspace.reuse import (
    replayed_entry,
    reuse_diff,
    reuse_summary,
    review_summary,
)
from patchsmith.workspace.session import (
    SessionHunk,
    SessionStore,
    to_bytes,
    to_text,
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resolve",
        help=COMMANDS["resolve"],
        description="Settle one open hunk: --accept takes patchsmith's proposal, --upstream "
        "upstream's post-image as is, --drop keeps the vendor's code (with --reason), --edit "
        "opens $EDITOR on the region. Each resolution is one commit and is remembered for the "
        "next apply onto the same tree (--undo takes it back, memory included). A decision "
        "'apply' replayed from memory shows as 'reused: confirm': 'resolve HUNK' shows what was "
        "decided, by whom, when and the diff it makes here; --confirm (or --confirm-all) "
        "settles it. A hunk 'apply --accept-fuzz' wrote (fuzz, whitespace, a review flag) "
        "stays open as 'written unreviewed' until a person reads it in the worktree and "
        "confirms it with --confirm. Without HUNK and --next, opens the TUI.",
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
    action.add_argument(
        "--confirm",
        action="store_true",
        help="confirm the hunk's reused (remembered) resolution, or what apply --accept-fuzz "
        "wrote for it, after reading it",
    )
    action.add_argument(
        "--confirm-all",
        action="store_true",
        help="confirm every reused resolution and every hunk apply --accept-fuzz wrote that is "
        "waiting (each is listed as it is confirmed)",
    )
    parser.add_argument("--reason", metavar="TEXT", help="why (required with --drop)")
    parser.add_argument(
        "--no-remember",
        action="store_true",
        help="do not store this decision in resolution memory",
    )
    add_session_argument(parser)
    add_all_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    if args.ack_warning is not None:
        if args.hunk is not None or args.next:
            raise UsageError(
                "--ack-warning N takes no hunk", hint="patchsmith resolve --ack-warning 3"
            )
        return _acknowledge(store, args.ack_warning)
    if args.confirm_all:
        if args.hunk is not None or args.next:
            raise UsageError("--confirm-all takes no HUNK", hint="use HUNK --confirm for one")
        return _confirm(store, None)
    if args.hunk is None and not args.next:
        return open_tui(store, every=args.every)
    session = store.load()
    if args.next:
        hunk = next(iter(session.open_hunks), None)
        if hunk is None:
            sys.stdout.write("nothing open\n")
            return 0
    else:
        hunk = session.hunk(args.hunk)
    remember = not args.no_remember
    if args.confirm:
        return _confirm(store, [hunk.id])
    if args.undo:
        replayed = replayed_entry(memory.Memory(), hunk)
        store.undo(hunk.id)
        if replayed is not None:
            _Visible().write(
                f"forgot the remembered decision it replayed ({replayed.decision.resolution} by "
                f"{replayed.decision.by or 'someone'}, memory id {replayed.id[:12]}): the next "
                "apply leaves this hunk open\n"
            )
    elif args.accept:
        store.resolve(hunk.id, Resolution.ACCEPTED, reason=args.reason, remember=remember)
    elif args.upstream:
        store.resolve(hunk.id, Resolution.UPSTREAM, reason=args.reason, remember=remember)
    elif args.drop:
        if not args.reason:
            raise UsageError(
                "--drop needs a reason: why the vendor's code stays",
                hint=f"patchsmith resolve {hunk.id} --drop --reason 'backported by the vendor'",
            )
        store.resolve(hunk.id, Resolution.DROPPED, reason=args.reason, remember=remember)
    elif args.edit:
        _edit(store, hunk, args.reason, remember)
    else:
        _show(hunk)
        return 1 if hunk.open else 0
    return _after(store, hunk.id)


def _after(store: SessionStore, hunk_id: str) -> int:
    session = store.load()
    after = session.hunk(hunk_id)
    _Visible().write(f"{after.id}: {fate(after)}\n")
    remaining = len(session.open_hunks)
    sys.stdout.write(f"{remaining} hunk(s) open\n")
    return 1 if remaining else 0


def _confirm(store: SessionStore, hunk_ids: list[str] | None) -> int:
    session, confirmed = store.confirm(hunk_ids)
    for hunk_id in confirmed:
        hunk = session.hunk(hunk_id)
        said = reuse_summary(hunk) if hunk.reused else review_summary(hunk)
        _Visible().write(f"{hunk_id}: confirmed: {said}\n")
    if not confirmed:
        sys.stdout.write(
            "no reused resolution is waiting to be confirmed, nor a hunk apply --accept-fuzz "
            "wrote\n"
        )
    remaining = len(session.open_hunks)
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


class _Visible:
    """Standard output for text from the patch: control characters shown, never obeyed."""

    def write(self, text: str) -> None:
        from patchsmith.cli.table import visible_lines

        sys.stdout.write(visible_lines(text))


def _show(hunk: SessionHunk) -> None:
    out = _Visible()
    out.write(f"{hunk.id}  {hunk.status}  {fate(hunk)}\n{hunk.reason}\n")
    if hunk.reused:
        out.write(f"\n{reuse_summary(hunk)}\n")
        diff = reuse_diff(hunk)
        out.write(
            f"the diff it makes here:\n{diff}" if diff else "it changes nothing in the file here\n"
        )
        if hunk.to_confirm:
            out.write(
                f"confirm it: patchsmith resolve {hunk.id} --confirm (or --undo, or decide anew)\n"
            )
    if hunk.written_unproven:
        out.write(f"\n{review_summary(hunk)}\n")
    if hunk.memory_note and not hunk.reused:
        out.write(f"\nresolution memory: {hunk.memory_note}\n")
    out.write("\nupstream:\n")
    out.write(hunk.upstream)
    if hunk.vendor is not None:
        out.write(f"\nvendor's code at line {hunk.vendor.start}:\n{hunk.vendor.text}")
    if hunk.proposal is not None:
        out.write(f"\nproposal ({hunk.proposal_source}):\n{hunk.proposal}")


def kept_edit(store: SessionStore, hunk: SessionHunk) -> Path:
    """Where ``--edit`` keeps the person's text for ``hunk`` until it is recorded: in the
    session's folder (never the tree), named so an editor still sees the file type."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", hunk.id)
    return store.path.parent / "edits" / f"{safe}--{os.path.basename(hunk.path)}"


def editor_command() -> list[str]:
    """``$VISUAL`` or ``$EDITOR`` as words (``vi`` when neither is set); a value that cannot be
    parsed is bad input (exit 2), never a crash."""
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "")
        if not value.strip():
            continue
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise UsageError(
                f"${name} cannot be parsed as a command ({error}): {value!r}",
                hint=f"set {name} to an editor command, e.g. export {name}=vim or "
                f"{name}='code --wait'",
            ) from error
        if words:
            return words
    return ["vi"]


def _edit(store: SessionStore, hunk: SessionHunk, reason: str | None, remember: bool) -> None:
    if hunk.written_unproven:
        raise SessionError(
            f"{hunk.id} is written already (apply --accept-fuzz, {hunk.status})",
            hint=f"read it in the worktree, then confirm it: 'patchsmith resolve {hunk.id} "
            "--confirm'; to change it, edit the file and commit",
        )
    if hunk.current is None:
        raise SessionError(f"{hunk.id} has no region to edit", hint="use --drop --reason TEXT")
    command = editor_command()
    kept = kept_edit(store, hunk)
    again = f"'patchsmith resolve {hunk.id} --edit' starts from it"
    if kept.exists():
        sys.stderr.write(
            f"patchsmith: starting from your earlier edit, kept in {kept} (delete it to start "
            "from the proposal)\n"
        )
    else:
        start = hunk.proposal if hunk.proposal is not None else hunk.current.text
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(to_bytes(start))
        except OSError as error:
            raise SessionError(
                f"cannot keep the text to edit in {kept}: {error.strerror or error}",
                hint="the session's folder must be writable (a plain tree's is in "
                "$XDG_DATA_HOME/patchsmith)",
            ) from error
    try:
        result = subprocess.run([*command, str(kept)], check=False)
    except OSError as error:
        raise UsageError(
            f"cannot run the editor {command[0]!r}: {error.strerror or error}",
            hint="set $VISUAL or $EDITOR to an editor that is installed (e.g. export "
            f"EDITOR=nano); the text to edit is in {kept}",
        ) from error
    if result.returncode != 0:
        raise SessionError(
            f"the editor ({shlex.join(command)}) exited with {result.returncode}; nothing was "
            f"recorded, and your text is kept in {kept}",
            hint=again,
        )
    text = to_text(kept.read_bytes())
    try:
        store.resolve(hunk.id, Resolution.EDITED, reason=reason, text=text, remember=remember)
    except PatchsmithError as error:
        error.hint = (
            error.hint + "; " if error.hint else ""
        ) + f"your text is kept in {kept}: {again}"
        raise
    kept.unlink()


def open_tui(store: SessionStore, every: bool = False) -> int:
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
    write_status(store.load(), store.open_items(), every=every)
    sys.stderr.write(f"patchsmith: {hint}\n")
    return 1


def _terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False  # a closed or replaced stream is not a terminal

"""Helpers the session commands share (apply, status, resolve, abort, finish).

Finding the session from ``--session`` or the current directory, and rendering a session as the
status table users see. It holds no domain logic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from patchsmith.errors import SessionError
from patchsmith.quoting import quote_name
from patchsmith.workspace.session import OpenItem, Session, SessionHunk, SessionStore
from patchsmith.workspace.setup import interrupted_near


def add_session_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session",
        metavar="PATH",
        help="the session: its worktree or its session.json (default: the worktree the "
        "current directory is in, or the session made from the tree it is in)",
    )


def store_from_args(args: argparse.Namespace) -> SessionStore:
    """The session ``--session`` names; else the one of the worktree the current directory is
    in; else the one made from the tree it is in (said on stderr, so the user knows)."""
    try:
        return _store_from_args(args)
    except SessionError as error:
        start = Path(args.session) if args.session else Path.cwd()
        interrupted = interrupted_near(start)
        if not interrupted:
            raise
        raise SessionError(
            f"no patchsmith session, but {interrupted[0].describe()}",
            hint="run the same 'patchsmith apply' again to start over, or 'patchsmith abort' "
            "to remove what it left",
        ) from error


def _store_from_args(args: argparse.Namespace) -> SessionStore:
    if args.session:
        return SessionStore.open(Path(args.session))
    store = SessionStore.find(Path.cwd())
    if store.from_tree is not None:
        sys.stderr.write(f"patchsmith: the session of this tree, in {store.from_tree}\n")
    return store


def fate(hunk: SessionHunk, changed: bool = False) -> str:
    """One word or phrase for what happened to a hunk; ``changed``: the worktree no longer
    holds what apply or its resolution wrote for it
    (:func:`patchsmith.workspace.held.changed_after_apply`)."""
    if hunk.applied and changed:
        return "applied, then CHANGED in the worktree: not as upstream wrote it"
    if hunk.applied:
        moved = f" (offset {hunk.offset:+d})" if hunk.offset else ""
        if hunk.to_review:
            return f"applied{moved} by --accept-fuzz: REVIEW, then resolve --confirm"
        if hunk.written_unproven:
            return f"applied{moved} by --accept-fuzz, reviewed by {hunk.confirmed_by}"
        return "applied" + moved
    if hunk.resolution is not None:
        word = f"{hunk.resolution}"
        if hunk.to_confirm:
            word += " (reused: confirm)"
        elif hunk.reused:
            word += " (reused, trusted)" if hunk.trusted else " (reused, confirmed)"
        if changed:
            word += ", then CHANGED in the worktree: not as resolved"
        return word + (f": {hunk.resolution_reason}" if hunk.resolution_reason else "")
    if not hunk.needs_resolution:
        return "skipped" if hunk.status == "already-applied" else str(hunk.status)
    # Memory that was not reused is a suggestion: 'resolve HUNK' shows it.
    hint = "; memory has a suggestion" if hunk.memory_note else ""
    if hunk.proposal is None:
        return f"OPEN (no proposal{hint})"
    return (
        "OPEN (proposal "
        + ("has conflicts" if hunk.proposal_conflicts else "is clean")
        + f"{hint})"
    )


def add_all_argument(parser: argparse.ArgumentParser) -> None:
    """``--all``, as ``check`` has it: a row for every hunk."""
    parser.add_argument(
        "--all",
        dest="every",
        action="store_true",
        help="a row for every hunk (by default a file whose hunks all applied clean gets one "
        "row, as in check)",
    )


def _plainly_applied(hunk: SessionHunk) -> bool:
    """Applied exactly where the patch says, with nothing to read: one of many in a stable
    patch, and what a summary row may stand for."""
    return (
        hunk.applied
        and hunk.status == "clean"
        and not hunk.offset
        and not hunk.needs_review
        and hunk.resolution is None
    )


def hunk_lines(
    hunks: Sequence[SessionHunk], every: bool = False, changed: Collection[str] = ()
) -> tuple[list[str], int]:
    """The status table's rows: one per hunk, but one per file for a file whose hunks all
    applied clean (``clean ×12``) unless ``every``. Everything else keeps a row of its own, as
    does a hunk in ``changed``. Also how many hunks the files' rows stand for."""
    groups: dict[str, list[SessionHunk]] = {}
    for hunk in hunks:
        groups.setdefault(hunk.path, []).append(hunk)
    compact = {
        path: not every and all(_plainly_applied(h) and h.id not in changed for h in group)
        for path, group in groups.items()
    }
    # Names as git status shows them: a raw byte and the same characters typed never alike.
    shown = {h.id: quote_name(h.id) for h in hunks} | {p: quote_name(p) for p in groups}
    width = max(
        (len(shown[h.path]) if compact[h.path] else len(shown[h.id]) for h in hunks),
        default=10,
    )
    lines: list[str] = []
    folded = 0
    for path, group in groups.items():
        if compact[path]:
            label = f"clean ×{len(group)}" if len(group) > 1 else "clean"
            lines.append(f"  {shown[path]:<{width}}  {label:<17} applied\n")
            folded += len(group)
            continue
        lines += [
            f"  {shown[h.id]:<{width}}  {h.status!s:<17} {fate(h, h.id in changed)}\n"
            for h in group
        ]
    return lines, folded


def write_status(
    session: Session,
    items: list[OpenItem],
    out: TextIO | None = None,
    every: bool = False,
    changed: Mapping[str, str] | None = None,
) -> None:
    """The session as ``status`` shows it; ``every`` gives each hunk its row (``--all``);
    ``changed``: hunks apply wrote that the worktree no longer holds, with why."""
    from patchsmith.cli.table import visible_lines

    stream = out or sys.stdout

    def write(text: str) -> None:
        # Names, reasons and code lines come from the patch: shown, never obeyed by the terminal.
        stream.write(visible_lines(text))

    counts = ", ".join(f"{key} {value}" for key, value in session.counts.items() if value)
    write(
        f"session  {session.worktree}\n"
        f"branch   {session.branch} (base {session.snapshot_commit[:12]}, phase {session.phase})\n"
        f"patch    {session.patch.name}   tree {session.tree}\n"
        f"hunks    {len(session.hunks)}: {counts}\n\n"
    )
    rows, folded = hunk_lines(session.hunks, every, changed or ())
    for row in rows:
        write(row)
    if folded:
        write(f"  ({folded} hunks applied clean, one row per file; --all lists each)\n")
    if changed:
        write(
            f"\n{len(changed)} hunk(s) applied or resolved, then changed in the worktree "
            f"('git diff {session.applied_commit[:12] if session.applied_commit else 'HEAD'}' "
            "there shows how): the combined patch carries them as changed, not as upstream "
            "wrote them or as they were resolved\n"
        )
        for hunk_id, detail in changed.items():
            write(f"  {quote_name(hunk_id)}: {detail}\n")
    if session.warnings:
        opened = sum(1 for w in session.warnings if w.open)
        write(f"\nselection warnings: {len(session.warnings)}, {opened} open\n")
        for warning in session.warnings:
            state = "open" if warning.open else f"acknowledged by {warning.acknowledged_by}"
            write(f"  [{warning.number}] {state}: {warning.message}\n")
            if warning.other_line:
                write(f"        left out: {warning.other_line.strip()}\n")
            if warning.kept_line:
                write(f"        kept:     {warning.kept_line.strip()}\n")
    if items:
        write(f"\n{len(items)} open item(s):\n")
        for item in items:
            write(f"  {item}\n")
        confirm = sum(1 for item in items if item.kind == "confirm")
        if confirm:
            write(
                f"\n{confirm} reused resolution{'s' if confirm != 1 else ''} to confirm: "
                "'patchsmith resolve HUNK' shows what was decided, by whom, when and the diff it "
                "makes here; then 'patchsmith resolve HUNK --confirm' (or --confirm-all)\n"
            )
        review = sum(1 for hunk in session.hunks if hunk.to_review)
        if review:
            write(
                f"\n{review} hunk{'s' if review != 1 else ''} written by apply --accept-fuzz "
                "and reviewed by nobody: read each in the worktree ('patchsmith resolve HUNK' "
                "says where), then 'patchsmith resolve HUNK --confirm'\n"
            )
        write(
            "\nnext: patchsmith resolve HUNK --accept | --upstream | --edit | --drop --reason TEXT"
            " (or 'patchsmith resolve' for the TUI)\n"
        )
        if any(item.kind == "warning" for item in items):
            write("      patchsmith resolve --ack-warning N, once warning N is read\n")
    else:
        write("\nnothing open: 'patchsmith finish' writes the combined patch\n")

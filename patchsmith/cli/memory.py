"""``patchsmith memory``: see, forget, export and import remembered resolutions.

``list`` and ``show`` read the memory; ``forget ID|HUNK`` or ``forget --all`` remove decisions;
``export FILE`` writes them as reviewable text (the same memory gives the same bytes) so a team
can keep them in a repository next to the vendor tree, and ``import FILE`` adds such a file to
this user's memory. A HUNK (``path#N``) names what is remembered for that hunk of the session
(``--session``, or the worktree you are in): every decision about the same change meeting the
same vendor lines in that file, whatever tree or place it was made on.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import print_json
from patchsmith.cli.sessionview import add_session_argument, store_from_args
from patchsmith.cli.table import format_table, terminal_width, use_colour
from patchsmith.errors import InputError, UsageError
from patchsmith.workspace import memory


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "memory",
        help=COMMANDS["memory"],
        description="Resolution memory: each decision made with 'patchsmith resolve' is kept "
        "(in $XDG_DATA_HOME/patchsmith/memory) and replayed by the next 'apply' only on the "
        "same tree lineage, in the same file and place, and then only for a person to "
        "confirm. These commands show and manage it.",
    )
    commands = parser.add_subparsers(dest="memory_command", metavar="ACTION")
    listing = commands.add_parser("list", help="every remembered decision, one a line")
    listing.add_argument("--json", action="store_true", help="the decisions as JSON")
    show = commands.add_parser("show", help="one decision in full, with the diff it writes")
    show.add_argument("what", metavar="ID|HUNK", help="a memory id (prefix) or a session hunk")
    add_session_argument(show)
    forget = commands.add_parser("forget", help="remove decisions from memory")
    forget.add_argument(
        "what", nargs="?", metavar="ID|HUNK", help="a memory id (prefix) or a session hunk"
    )
    forget.add_argument("--all", action="store_true", help="forget every decision")
    add_session_argument(forget)
    export = commands.add_parser("export", help="write every decision to FILE as text")
    export.add_argument("file", metavar="FILE", help="where to write ('-' for stdout)")
    imported = commands.add_parser("import", help="add the decisions of an exported FILE")
    imported.add_argument("file", metavar="FILE", help="a file 'memory export' wrote")
    parser.set_defaults(run=run, memory_parser=parser)


def run(args: argparse.Namespace) -> int:
    store = memory.Memory()
    command = args.memory_command
    if command is None:
        args.memory_parser.print_help(sys.stderr)
        return 2
    if command == "list":
        return _list(store, args.json)
    if command == "show":
        for entry in _chosen(store, args):
            _show(entry)
        return 0
    if command == "forget":
        return _forget(store, args)
    if command == "export":
        return _export(store, args.file)
    return _import(store, args.file)


def _chosen(store: memory.Memory, args: argparse.Namespace) -> list[memory.Entry]:
    """The entries ``ID|HUNK`` names (none is an error, so a typo never passes silently)."""
    what: str = args.what
    if "#" not in what:
        return [store.find(what)]
    from patchsmith.workspace.reuse import situation_of

    session = store_from_args(args).load()
    hunk = session.hunk(what)
    situation = situation_of(hunk)
    key = memory.situation_key(
        situation.pre_image, situation.post_image, situation.vendor, situation.status
    )
    found = [e for e in store.candidates([key]).get(key, []) if e.path == hunk.path]
    if hunk.memory_id is not None and not any(e.id == hunk.memory_id for e in found):
        found += [e for e in store.entries() if e.id == hunk.memory_id]
    if not found:
        raise UsageError(
            f"resolution memory has nothing for {hunk.id}",
            hint="'patchsmith memory list' shows what it has",
        )
    return found


def _list(store: memory.Memory, as_json: bool) -> int:
    entries = store.entries()
    if as_json:
        print_json(
            {
                "schema": "patchsmith.memory-list/1",
                "folder": str(store.folder),
                "decisions": [_summary(entry) for entry in entries],
            }
        )
        return 0
    out = sys.stdout
    out.write(f"resolution memory: {store.folder} ({len(entries)} decision(s))\n")
    if entries:
        rows = [
            (
                entry.id[:12],
                str(entry.decision.resolution),
                entry.path,
                _function(entry),
                entry.decision.by,
                entry.decision.at,
                entry.tree or entry.lineage,
            )
            for entry in entries
        ]
        header = ("ID", "DECISION", "PATH", "IN", "BY", "AT", "TREE")
        for line in format_table(header, rows, width=terminal_width(out), colour=use_colour(out)):
            out.write(line + "\n")
    legacy = store.legacy()
    if legacy is not None:
        out.write(
            f"\n{legacy} holds decisions an older patchsmith kept without a place or a tree; "
            "they are never replayed ('patchsmith memory forget --all' removes them)\n"
        )
    return 0


def _function(entry: memory.Entry) -> str:
    text = entry.place.function.strip()
    return text if len(text) <= 40 else text[:37] + "..."


def _summary(entry: memory.Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "path": entry.path,
        "status": entry.status,
        "function": entry.place.function.rstrip("\r\n"),
        "resolution": str(entry.decision.resolution),
        "reason": entry.decision.reason,
        "by": entry.decision.by,
        "at": entry.decision.at,
        "lineage": entry.lineage,
        "tree": entry.tree,
        "patch": entry.patch,
        "hunk": entry.hunk_id,
        "base": entry.place.base,
    }


def _show(entry: memory.Entry) -> None:
    out = sys.stdout
    decision = entry.decision
    function = entry.place.function.strip() or "(no function)"
    out.write(
        f"decision {entry.id}\n"
        f"  {decision.resolution}"
        + (f": {decision.reason}" if decision.reason else "")
        + f"\n  by {decision.by or '?'} at {decision.at or '?'}\n"
        f"  on {entry.patch or '?'} ({entry.hunk_id or '?'}), tree {entry.tree or '?'}\n"
        f"  replayed only on lineage {entry.lineage}"
        + (", with the same vanilla base file" if entry.place.base is not None else "")
        + "\n"
        f"  in {entry.path}, {entry.status}, under {function}\n"
    )
    vendor = entry.vendor or ""
    written = decision.written if decision.written is not None else vendor
    diff = "".join(
        difflib.unified_diff(
            vendor.splitlines(keepends=True),
            written.splitlines(keepends=True),
            "vendor",
            "decided",
        )
    )
    out.write("\nwhat it writes in place of the vendor's code:\n")
    out.write(diff if diff else "nothing: the vendor's code stays as it is\n")
    out.write("\n")


def _forget(store: memory.Memory, args: argparse.Namespace) -> int:
    if args.all:
        if args.what is not None:
            raise UsageError("forget takes ID|HUNK or --all, not both")
        count = store.clear()
        sys.stdout.write(f"forgot {count} decision(s)\n")
        return 0
    if args.what is None:
        raise UsageError("forget what?", hint="pass a memory id, a hunk (path#N), or --all")
    for entry in _chosen(store, args):
        store.remove(entry.id, entry.situation)
        sys.stdout.write(
            f"forgot {entry.id[:12]}: {entry.decision.resolution} in {entry.path} "
            f"(by {entry.decision.by or '?'} at {entry.decision.at or '?'})\n"
        )
    return 0


def _export(store: memory.Memory, file: str) -> int:
    entries = store.entries()
    data = memory.export_text(entries)
    if file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    target = Path(file)
    if target.is_dir():
        raise UsageError(f"{file} is a directory", hint="name the file to write")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"{file}: cannot write: {error.strerror or error}") from error
    sys.stderr.write(f"patchsmith: wrote {len(entries)} decision(s) to {file}\n")
    return 0


def _import(store: memory.Memory, file: str) -> int:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as error:
        raise InputError(f"{file}: cannot read: {error.strerror or error}") from error
    entries = memory.import_text(data, file)
    store.require_writable()
    known = {entry.id: entry for entry in store.entries()}
    added = replaced = same = 0
    for entry in entries:
        old = known.get(entry.id)
        if old == entry:
            same += 1
            continue
        store.put(entry)
        if old is None:
            added += 1
        else:
            replaced += 1
    sys.stdout.write(
        f"imported {len(entries)} decision(s) from {file}: {added} new, {replaced} replaced, "
        f"{same} already known\n"
    )
    return 0

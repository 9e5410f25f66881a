"""Finish a session: the gate, the last commit, and the carried patch (or a quilt series).

:func:`finish_session` refuses (:class:`~patchsmith.errors.GateError`, listing the items) while a
hunk is unresolved, a ``.rej`` file remains, a touched file has conflict markers, a selection
warning is not acknowledged, or apply did not finish. Otherwise it commits any hand edits of
touched files, writes ``git diff base..branch`` (which applies to the original tree with
``patch -p1``) and marks the session finished.

The patch starts with a description in the form stable and distribution kernels carry
backports in (a ``git format-patch`` header: ``From:``, ``Date:``, ``Subject:``, then the
body): which patch, which selection and config, what was applied as upstream wrote it and what
was already there, and one line per hunk a person decided, inside ``[ conflicts resolved: ...
]``, with the resolution, who, when and why (the ``[ bwh: Backported to ...: ... ]`` habit of
Debian's kernel team). GNU patch, ``git apply``, ``git am`` and quilt all read past it; a
line of it that would look like a diff header to ``patch`` is quoted with ``> ``.

With ``series``, it also writes one patch per input mail (an mbox or ``git format-patch``
series: each diff's mail is recorded with the session), per input file (a folder or quilt
series of patches), or else per file, with a quilt ``series`` file listing them in order: the
folder is ready to be a vendor's ``debian/patches``, and ``quilt push -a`` on the original tree
gives the worktree's files. Mails that touch the same file cannot be told apart in the result
and are carried as one patch (its description names them all). The folder is written whole
(beside it, then renamed) or not at all, and must not exist yet.

A named output (``-o``) is checked before anything is committed and written whole or not at all
(:mod:`patchsmith.output`): a folder, a missing folder or a read-only place is refused up front,
a full disk leaves no temporary file, and the session is marked finished only once the patch
is written.
"""

from __future__ import annotations

import email.utils
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from patchsmith import __version__
from patchsmith.errors import GateError, OutputError
from patchsmith.model import HunkStatus
from patchsmith.output import check_output, write_output
from patchsmith.patchfile.index import index_bytes
from patchsmith.patchfile.select import strip_components
from patchsmith.record import record
from patchsmith.workspace import git
from patchsmith.workspace.held import changed_after_apply
from patchsmith.workspace.lines import LineMap, line_maps
from patchsmith.workspace.session import Phase, Session, SessionHunk, SessionStore

__all__ = ["Finished", "default_output", "describe", "finish_session", "series_groups"]


@record
class Finished:
    """What :func:`finish_session` wrote."""

    patch: Path
    """The combined patch."""
    series: Path | None = None
    """The folder of the quilt series, with ``--series``."""
    patches: tuple[Path, ...] = ()
    """The series' patches, in ``series`` order."""
    empty: tuple[str, ...] = ()
    """Groups (mails, files) that ended up changing nothing (all dropped or already there):
    named in the combined patch's description, not written as patches."""


def default_output(store: SessionStore, name: str) -> Path:
    """Beside the session (in the worktree's git directory, never in the tree)."""
    return store.path.parent / f"{name}.carried.patch"


def finish_session(
    store: SessionStore, output: str | None = None, series: str | None = None
) -> Finished:
    """Check the gate, commit, write the combined patch (and the series); say what was written."""
    if output is not None:
        check_output(output)
    if series is not None:
        _check_series_folder(Path(series))
    items = [i for i in store.open_items() if i.kind != "uncommitted"]
    if items:
        raise GateError(
            f"{len(items)} item(s) still open: " + "; ".join(str(i) for i in items[:5]),
            [str(i) for i in items],
            hint="'patchsmith status' lists them; resolve each, or 'patchsmith abort'",
        )
    with store.locked():
        session = store.read()
        worktree = Path(session.worktree)
        dirty = set(git.changed_paths(worktree)) & set(session.touched)
        if dirty:
            git.commit_paths(worktree, sorted(dirty), "patchsmith: hand edits before finish")
        changed = changed_after_apply(session)
        tip = git.head(worktree)
        diff = git.diff(worktree, session.snapshot_commit, tip)
        regions = line_maps(worktree, session.snapshot_commit, session.applied_commit)
        when = email.utils.format_datetime(datetime.now(UTC).replace(microsecond=0))
        author = "{} <{}>".format(*git.identity())
        text = describe(session, session.hunks, regions, author=author, date=when, changed=changed)
        stat = _diffstat(worktree, session.snapshot_commit, tip, None)
        patch = _patch(text, stat, diff)
        target = Path(output) if output else default_output(store, session.patch.name)
        written: tuple[Path, ...] = ()
        empty: tuple[str, ...] = ()
        folder = Path(series) if series is not None else None
        if folder is not None:
            written, empty = _write_series(
                folder,
                session,
                diff,
                regions,
                worktree,
                session.snapshot_commit,
                tip,
                author,
                when,
                changed,
            )
        write_output(target, patch)
        store.write(replace(session, phase=Phase.FINISHED))
    return Finished(target, folder, written, empty)


# --- the description ------------------------------------------------------------------------------

# Lines GNU patch, git apply or git am would take for part of a diff or a new mail, at the start
# of a line once leading blanks are skipped (patch reads indented diffs): "--- a/x", "+++ b/x",
# "*** x", "diff --git", "Index: x", "@@ -1 +1 @@", "From x" (an mbox separator), "Only in".
_DIFFISH = re.compile(
    r"^\s*(---|\+\+\+|\*\*\*|diff |Index:|@@|Only in |Binary files |Prereq:|From |=====)"
)


def _safe(line: str) -> str:
    """One description line that no patch reader takes for a diff (newlines folded)."""
    line = " ".join(line.split("\n")).replace("\r", " ")
    return f"> {line}" if _DIFFISH.match(line) else line


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _region_line(hunk: SessionHunk, regions: dict[str, LineMap] | None) -> int | None:
    """The vendor tree's line of a hunk's region (``check``'s numbering), when known."""
    if hunk.vendor is None or regions is None:
        return None
    return regions.get(hunk.path, LineMap(())).to_old(hunk.vendor.start)


def _where(hunk: SessionHunk, regions: dict[str, LineMap] | None) -> str:
    line = _region_line(hunk, regions)
    if line is None and hunk.found_line is not None:
        line = hunk.found_line
    return f"{hunk.status}, line {line}" if line is not None else str(hunk.status)


def _decided(hunk: SessionHunk, regions: dict[str, LineMap] | None) -> str:
    """``drivers/md/dm.c#3 (conflict, line 53): edited by A <a@b>, 2025-01-02: why``."""
    verb = str(hunk.resolution)
    if verb == "upstream":
        verb = "taken from upstream"
    elif verb == "accepted":
        verb = f"proposal accepted ({hunk.proposal_source or 'merge'})"
    who = hunk.resolved_by or "someone"
    when = (hunk.resolved_at or "")[:10]
    text = f"{hunk.id} ({_where(hunk, regions)}): {verb} by {who}"
    if when:
        text += f", {when}"
    if hunk.reused and hunk.trusted:
        text += " (reused from an earlier run, trusted by apply --trust-memory)"
    elif hunk.reused:
        text += f" (reused from an earlier run, confirmed by {hunk.confirmed_by or 'someone'})"
    if hunk.resolution_reason:
        text += f": {hunk.resolution_reason}"
    return text


def _bracket(title: str, entries: Sequence[str]) -> list[str]:
    """``[ title: a ]`` for one entry, or ``[ title:`` / ``  a`` / ``  b ]`` for several."""
    if not entries:
        return []
    if len(entries) == 1:
        return [_safe(f"[ {title}: {entries[0]} ]")]
    lines = [f"[ {title}:"]
    lines += [_safe(f"  {entry}") for entry in entries[:-1]]
    lines.append(_safe(f"  {entries[-1]} ]"))
    return lines


def describe(
    session: Session,
    hunks: Sequence[SessionHunk],
    regions: dict[str, LineMap] | None,
    *,
    author: str,
    date: str,
    subject: str | None = None,
    origin: Sequence[str] = (),
    changed: Mapping[str, str] | None = None,
) -> str:
    """The header and description of a carried patch for ``hunks`` (all of the session's for
    the combined patch, one mail's or file's for a patch of the series). ``changed``: hunks
    apply wrote that the worktree no longer holds as written (never called applied as
    upstream wrote them)."""
    changed = changed or {}
    kept = [h for h in hunks if h.status != HunkStatus.EXCLUDED]
    paths = list(dict.fromkeys(h.path for h in kept))
    tree_name = Path(session.tree).name or session.tree
    if subject is None:
        subject = (
            f"{session.patch.name}: {_plural(len(kept), 'hunk')} in "
            f"{_plural(len(paths), 'file')}, carried onto {tree_name}"
        )
    lines = [
        _safe(f"From: {author}"),
        _safe(f"Date: {date}"),
        _safe(f"Subject: [PATCH] {subject}"),
        "",
    ]
    body: list[str] = list(origin)
    inputs = session.inputs
    if inputs is not None and inputs.sources:
        sources = [f"{s.name} (sha256 {s.sha256})" for s in inputs.sources]
    else:
        names = ", ".join(session.patch.paths) or session.patch.name
        sources = [f"{names} (sha256 {session.patch.sha256})"]
    body.append(f"Carried from upstream's {', '.join(sources)}")
    body.append(f"onto {session.tree} with patchsmith {__version__}.")
    if session.base:
        body.append(f"Vanilla base for the 3-way merges: {session.base}.")
    if inputs is not None:
        rules = " ".join(inputs.rules) or "everything"
        body.append(f"Selection: {rules}; -p{inputs.strip}.")
        if inputs.config is not None:
            digest = inputs.config_sha256 or "unreadable when apply ran"
            body.append(f"Kernel config: {inputs.config} (sha256 {digest}).")
        left = [f for f in inputs.files if not f.selected]
        left_hunks = sum(f.hunks for f in left) + sum(
            len(f.hunk_reasons) for f in inputs.files if f.selected
        )
        if left or left_hunks:
            body.append(
                f"Left out by the selection: {_plural(len(left), 'file')}, "
                f"{_plural(left_hunks, 'hunk')}."
            )
    elif session.selection:
        body.append(f"Selection: {session.selection}; -p{session.strip}.")
    exact = [
        h
        for h in kept
        if h.applied
        and h.status in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        and not h.written_unproven
        and h.id not in changed
    ]
    offsets = [h for h in exact if h.status == HunkStatus.OFFSET]
    if exact:
        moved = f", {len(offsets)} of them at an offset" if offsets else ""
        body.append(f"Applied as upstream wrote them: {_plural(len(exact), 'hunk')}{moved}.")
    body = [_safe(line) for line in body]
    notes: list[str] = []
    decided = [h for h in kept if h.resolution is not None]
    notes += _bracket(
        "conflicts resolved",
        [
            _decided(h, regions) + (f"; then {changed[h.id]}" if h.id in changed else "")
            for h in decided
        ],
    )
    notes += _bracket(
        "changed in the worktree after apply wrote them, so not as upstream wrote them",
        [
            f"{h.id} (line {h.found_line}): {changed[h.id]}"
            for h in kept
            if h.id in changed and h.resolution is None
        ],
    )
    # finish refuses while one is open, so each was confirmed by a person (a session of an
    # older patchsmith may still hold one nobody confirmed: said so).
    fuzzy = [
        f"{h.id} (line {h.found_line}): reviewed by {h.confirmed_by or 'nobody'}"
        + (f", {h.confirmed_at[:10]}" if h.confirmed_at else "")
        for h in kept
        if h.written_unproven and h.resolution is None
    ]
    notes += _bracket("written with fuzz by apply --accept-fuzz", fuzzy)
    there = [
        f"{h.id} (line {h.found_line})" if h.found_line else h.id
        for h in kept
        if h.status == HunkStatus.ALREADY_APPLIED and h.resolution is None
    ]
    notes += _bracket("already in the tree, skipped", there)
    warnings = [
        f"[{w.number}] {w.path}: {w.message} (acknowledged by {w.acknowledged_by})"
        for w in session.warnings
        if not w.open and w.path in paths
    ]
    notes += _bracket("selection warnings read", warnings)
    lines += body
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _patch(description: str, stat: str, diff: bytes) -> bytes:
    """Description, ``---``, the diffstat, then the diff (as ``git format-patch`` lays it out)."""
    head = description + "---\n" + stat + ("\n" if stat else "")
    return head.encode("utf-8", "surrogateescape") + diff


def _diffstat(worktree: Path, base: str, tip: str, paths: Sequence[str] | None) -> str:
    """``git diff --stat`` of the result (of ``paths`` only, when given)."""
    args = ["diff", "--stat=72", "--summary", "--no-renames", "--no-color", base, tip]
    if paths is not None:
        args += ["--", *[f":(literal){path}" for path in paths]]
    output = git.run_git(args, cwd=worktree).stdout
    return output.decode("utf-8", "surrogateescape")


# --- the series -----------------------------------------------------------------------------------


@record
class _Group:
    """One patch of the series: the mails (or file) it carries and their tree paths."""

    titles: tuple[str, ...]
    authors: tuple[str, ...]
    dates: tuple[str, ...]
    paths: tuple[str, ...]
    origin: tuple[str, ...]


def series_groups(session: Session, changed: Sequence[str]) -> list[_Group]:
    """The patches of the series, in order: per mail, per input file, or per file; groups that
    share a path merged into one (their changes cannot be told apart in the result)."""
    inputs = session.inputs
    groups: list[_Group] = []
    key_of: dict[str, int] = {}
    if inputs is not None:
        by_key: dict[tuple[str, int], list[str]] = {}
        order: list[tuple[str, int]] = []
        several = len(inputs.sources) > 1
        for choice in inputs.kept:
            if choice.mail is not None:
                key = ("mail", choice.mail)
            elif several:
                key = ("source", choice.source)
            else:
                key = ("file", choice.entry)
            if key not in by_key:
                by_key[key] = []
                order.append(key)
            for path in (choice.path, choice.old_path):
                if path is not None and path not in by_key[key]:
                    by_key[key].append(path)
        for key in order:
            kind, number = key
            paths = tuple(by_key[key])
            if kind == "mail":
                mail = inputs.mails[number]
                source = inputs.sources[mail.source].name
                groups.append(
                    _Group(
                        (_subject(mail.subject),),
                        (mail.author,),
                        (mail.date,),
                        paths,
                        (f"Mail: {mail.subject} ({source}).",),
                    )
                )
            elif kind == "source":
                name = inputs.sources[number].name
                title = os.path.basename(name)
                groups.append(_Group((title,), (), (), paths, (f"Input file: {name}.",)))
            else:
                groups.append(_Group((paths[0],), (), (), paths, ()))
    known = {path for group in groups for path in group.paths}
    for path in changed:
        if path not in known:
            # Not recorded with the session (an older patchsmith): one patch for the file.
            groups.append(_Group((path,), (), (), (path,), ()))
    merged: list[_Group] = []
    for group in groups:
        touching = sorted({key_of[p] for p in group.paths if p in key_of})
        if not touching:
            key_of.update(dict.fromkeys(group.paths, len(merged)))
            merged.append(group)
            continue
        first = touching[0]
        into = merged[first]
        for other in touching[1:]:
            into = _join(into, merged[other])
            merged[other] = _Group((), (), (), (), ())
        merged[first] = _join(into, group)
        key_of.update(dict.fromkeys(merged[first].paths, first))
    return [g for g in merged if g.paths]


def _join(first: _Group, second: _Group) -> _Group:
    return _Group(
        first.titles + second.titles,
        first.authors + tuple(a for a in second.authors if a not in first.authors),
        first.dates + second.dates,
        tuple(dict.fromkeys(first.paths + second.paths)),
        first.origin + second.origin,
    )


# "[PATCH 2/7] dm snapshot: fix a race" -> "dm snapshot: fix a race"
_PATCH_TAG = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


def _subject(subject: str) -> str:
    return _PATCH_TAG.sub("", subject).strip() or subject.strip() or "(no subject)"


def _slug(title: str) -> str:
    """``dm-snapshot-fix-a-race``: ``git format-patch``'s file name of a subject."""
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", title).strip("-.")
    return (slug[:52].rstrip("-.") or "patch").lower()


def _sections(diff: bytes) -> list[tuple[str, bytes]]:
    """The combined diff split into its file diffs, each with its tree path."""
    if not diff:
        return []
    index = index_bytes(diff, "git diff")
    entries = list(index.files)
    out: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries):
        end = entries[position + 1].start if position + 1 < len(entries) else len(diff)
        out.append((strip_components(entry.path, 1), diff[entry.start : end]))
    return out


def _check_series_folder(folder: Path) -> None:
    if folder.exists() or folder.is_symlink():
        raise OutputError(
            f"{folder}: already exists",
            hint="name a new folder; then copy its patches into the patch stack (debian/patches)"
            " and append its 'series' to the stack's",
        )
    parent = folder.parent
    if not parent.is_dir():
        raise OutputError(
            f"{folder}: cannot write: the folder {parent} does not exist",
            hint="create the folder first, or name one in an existing folder",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: cannot write: the folder {parent} is not writable")


def _write_series(
    folder: Path,
    session: Session,
    diff: bytes,
    regions: dict[str, LineMap] | None,
    worktree: Path,
    base: str,
    tip: str,
    author: str,
    date: str,
    changed_hunks: Mapping[str, str],
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    sections = _sections(diff)
    changed = [path for path, _data in sections]
    groups = series_groups(session, changed)
    by_path: dict[str, list[bytes]] = {}
    for path, data in sections:
        by_path.setdefault(path, []).append(data)
    hunks_of: dict[str, list[SessionHunk]] = {}
    for hunk in session.hunks:
        hunks_of.setdefault(hunk.path, []).append(hunk)
    patches: list[tuple[str, bytes]] = []
    empty: list[str] = []
    for group in groups:
        data = b"".join(b"".join(by_path.get(path, [])) for path in group.paths)
        title = " + ".join(group.titles)
        if not data:
            empty.append(title)
            continue
        hunks = [h for path in group.paths for h in hunks_of.get(path, [])]
        origin = list(group.origin)
        if len(group.titles) > 1:
            origin.append(
                f"Carries {len(group.titles)} patches of the input together: they change the "
                "same files, and the result cannot be split between them."
            )
        text = describe(
            session,
            hunks,
            regions,
            author=", ".join(group.authors) or author,
            date=group.dates[0] if group.dates and group.dates[0] else date,
            subject=title,
            origin=origin,
            changed=changed_hunks,
        )
        if group.authors:
            text += f"[ carried by {author} with patchsmith {__version__} ]\n"
        stat = _diffstat(worktree, base, tip, [p for p in group.paths if p in by_path])
        name = f"{len(patches) + 1:04d}-{_slug(group.titles[0])}.patch"
        patches.append((name, _patch(text, stat, data)))
    # Written beside the folder and renamed into place: a failure leaves no half series.
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, data in patches:
            (temporary / name).write_bytes(data)
        (temporary / "series").write_text(
            "".join(f"{name}\n" for name, _data in patches), encoding="utf-8"
        )
        os.chmod(temporary, 0o755)
        os.rename(temporary, folder)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise OutputError(f"{folder}: cannot write: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return tuple(folder / name for name, _data in patches), tuple(empty)

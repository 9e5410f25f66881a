"""Eighth audit: what a resolve verb commits, and which marker lines it refuses.

Two holes. ``resolve --undo`` (and every resolve verb: they share one writer) committed the
whole file, so a person's uncommitted edit elsewhere in it went into the "patchsmith: undo"
commit and looked like the tool's in the history and in ``finish``'s description. Now a verb
commits the last commit's file with only its region changed (:mod:`.owncommit`); the person's
other edits stay in the worktree, uncommitted, byte for byte. Evidence for "the region": the
diff from the committed file to the worktree file keeps every region line, one after the
other; against: a region line it calls new, and then the verb refuses, changing nothing.

And ``--edit``, ``--accept`` and the TUI's whole-file edit refused any marker line, so a region
holding the vendor's own marker text (a selftest's here-document) could only be taken from
upstream or dropped. Now they refuse exactly the marker lines the gate would count as open
(:mod:`patchsmith.workspace.markers`): the vendor's line at its own place, with its neighbours,
goes through; a pasted copy of the vendor's block, a doubled line, a vendor line whose
neighbour the edit changed, or a new block is refused, and each refused file, written by hand
instead, is one the gate keeps closed (checked below, so the two rules cannot drift apart).
"""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace import fileedit
from patchsmith.workspace.session import SessionStore
from tests.support.paths import DEMO, DEMO_PATCH
from tests.support.sessions import apply_text, demo_conflict_worktree, run_in_session, store_of
from tests.support.trees import git
from tests.workspace.test_audit7_markers import SCRIPT, VENDOR

HUNK = "drivers/md/dm-snap.c#3"
FILE = "drivers/md/dm-snap.c"


@pytest.fixture
def worktree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo's drivers/md applied: one conflict (#3) open, with its .rej."""
    return demo_conflict_worktree(tmp_path, capsys)


_run = run_in_session


def _show(worktree: Path, rev: str) -> bytes:
    return git(worktree, "show", f"{rev}:{FILE}").encode()


def _changed_in(worktree: Path, rev: str) -> list[str]:
    return git(worktree, "show", "--format=", "--name-only", rev).split()


# A person's edits, as functions of the file (so the same edit can be made to what the file was
# before the resolution and after it). ``start`` is the region's first line (1-based).
Edit = Callable[[bytes, int, bytes], bytes]


def _above_and_below(data: bytes, start: int, region: bytes) -> bytes:
    return b"/* mine: above */\n" + data + b"/* mine: below */\n"


def _right_beside(data: bytes, start: int, region: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    lines[start - 2] = b"/* mine: beside */" + lines[start - 2]
    return b"".join(lines)


def _copy_of_the_region_above(data: bytes, start: int, region: bytes) -> bytes:
    """Repetitive code: the region's own lines, pasted again near the top of the file."""
    lines = data.splitlines(keepends=True)
    return b"".join([*lines[:3], region, *lines[3:]])


EDITS = [_above_and_below, _right_beside, _copy_of_the_region_above]


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__)
def test_undo_commits_its_region_only_and_leaves_a_hand_edit_as_it_was(
    worktree: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    hunk = store_of(worktree).load().hunk(HUNK)
    assert hunk.current is not None
    start, vendor = hunk.current.start, hunk.current.text.encode()
    applied = (worktree / FILE).read_bytes()
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    resolved = (worktree / FILE).read_bytes()
    (worktree / FILE).write_bytes(edit(resolved, start, vendor))
    assert _run(worktree, capsys, "resolve", HUNK, "--undo")[0] == 1  # the hunk is open again
    # The undo is exact, and the person's edit is still there, byte for byte.
    assert (worktree / FILE).read_bytes() == edit(applied, start, vendor)
    # The undo commit takes back the resolution and nothing else: none of the person's lines.
    assert _show(worktree, "HEAD") == applied == _show(worktree, "HEAD~2")
    assert _changed_in(worktree, "HEAD") == [FILE]
    assert b"mine" not in git(worktree, "show", "HEAD").encode()
    # Still the person's, uncommitted: an open item, as any hand edit.
    assert git(worktree, "status", "--porcelain", "--", FILE) == f" M {FILE}\n"
    code, status = _run(worktree, capsys, "status")
    assert "uncommitted" in status and code == 1


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__)
@pytest.mark.parametrize("verb", ["--upstream", "--accept-edit", "--drop"])
def test_every_verb_commits_its_region_only(
    worktree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    edit: Edit,
    verb: str,
) -> None:
    hunk = store_of(worktree).load().hunk(HUNK)
    assert hunk.current is not None
    start, vendor = hunk.current.start, hunk.current.text.encode()
    applied = (worktree / FILE).read_bytes()
    (worktree / FILE).write_bytes(edit(applied, start, vendor))
    if verb == "--accept-edit":
        # --edit with the vendor's lines and one line of the person's own in the region.
        text = tmp_path / "text"
        text.write_bytes(vendor.replace(b"DM_MAPIO_REMAPPED;", b"DM_MAPIO_REMAPPED; /* ok */", 1))
        editor = tmp_path / "editor.sh"
        editor.write_text(f"#!/bin/sh\ncat '{text}' > \"$1\"\n")
        editor.chmod(0o755)
        monkeypatch.setenv("EDITOR", str(editor))
        args: tuple[str, ...] = ("--edit",)
    elif verb == "--drop":
        args = ("--drop", "--reason", "vendor's")
    else:
        args = (verb,)
    assert _run(worktree, capsys, "resolve", HUNK, *args)[0] == 0
    committed = _show(worktree, "HEAD")
    assert b"mine" not in committed
    assert (worktree / FILE).read_bytes() == edit(committed, start, vendor)
    assert _changed_in(worktree, "HEAD") in ([FILE], [])  # a drop changes no line
    if verb == "--drop":
        assert committed == applied
    # Committed by the person afterwards, the edit is theirs in the history, not patchsmith's.
    git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "commit", "-qam", "mine")
    assert _run(worktree, capsys, "status")[0] == 0


def test_a_merge_block_is_committed_as_its_resolution_and_the_hand_edit_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """apply --merge writes its conflict block after the last commit: the region the resolution
    replaces is not committed; the commit holds the vendor's lines between its neighbours."""
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree)
    argv = ["apply", str(DEMO_PATCH), "--tree", str(tree), "--only", "drivers/md", "--merge"]
    assert main([*argv, "--json"]) == 1
    worktree = Path(json.loads(capsys.readouterr().out)["worktree"])
    applied = _show(worktree, "HEAD")
    blocked = (worktree / FILE).read_bytes()
    assert b"<<<<<<< vendor" in blocked and b"<<<<<<<" not in applied
    (worktree / FILE).write_bytes(b"/* mine */\n" + blocked)
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    committed = _show(worktree, "HEAD")
    assert b"mine" not in committed and b"<<<<<<<" not in committed
    assert (worktree / FILE).read_bytes() == b"/* mine */\n" + committed
    diff = git(worktree, "diff", "HEAD~1", "HEAD", "--", FILE)
    assert "s->merge_failed" in diff and "mine" not in diff


def test_a_hand_edit_in_the_lines_the_commit_holds_is_refused(
    worktree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against: the worktree holds the resolution's lines, the last commit does not (the person
    committed a change of them, then put them back without committing). There is no place in
    the commit that is the region: refused, nothing changed."""
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    target = worktree / FILE
    resolved = target.read_bytes()
    target.write_bytes(resolved.replace(b"s->merge_failed)", b"s->merge_failed || 1)"))
    git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "commit", "-qam", "mine")
    target.write_bytes(resolved)
    head = git(worktree, "rev-parse", "HEAD")
    code, out = _run(worktree, capsys, "resolve", HUNK, "--undo")
    assert code == 2 and "uncommitted edits in the lines of" in out and "hint: " in out
    assert git(worktree, "rev-parse", "HEAD") == head and target.read_bytes() == resolved


# --- marker lines the vendor's file holds as text ----------------------------------------------

# Upstream changes a line below the selftest's here-document; the vendor changed the "}" that
# closes it (next to the vendor's ">>>>>>>" line), so the hunk does not apply, and its clean
# proposal holds the vendor's marker line as text.
UPSTREAM_AFTER = [
    line.replace('find-markers "$tmp', 'find-markers --strict "$tmp') for line in VENDOR
]
VENDOR_TREE = ["} /* end of setup */" if line == "}" else line for line in VENDOR]
BLOCK = VENDOR[8:13]  # the vendor's "<<<<<<< vendor" .. ">>>>>>> upstream-after"


@pytest.fixture
def marked(tmp_path: Path) -> SessionStore:
    patch = "".join(
        difflib.unified_diff(
            [line + "\n" for line in VENDOR],
            [line + "\n" for line in UPSTREAM_AFTER],
            f"a/{SCRIPT}",
            f"b/{SCRIPT}",
            n=7,
        )
    )
    tree = tmp_path / "tree"
    (tree / SCRIPT).parent.mkdir(parents=True)
    (tree / SCRIPT).write_text("\n".join(VENDOR_TREE) + "\n")
    store = apply_text(tmp_path, tree, patch)
    (hunk,) = store.load().open_hunks
    assert hunk.proposal is not None and ">>>>>>> upstream-after\n" in hunk.proposal
    assert "--strict" in hunk.proposal and "=======\n" in hunk.proposal
    return store


def _proposal(store: SessionStore) -> list[str]:
    (hunk,) = store.load().open_hunks
    assert hunk.proposal is not None
    return hunk.proposal.splitlines()


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def test_accepting_a_clean_proposal_with_the_vendors_marker_text(marked: SessionStore) -> None:
    (hunk,) = marked.load().open_hunks
    marked.resolve(hunk.id, Resolution.ACCEPTED, remember=False)
    worktree = Path(marked.load().worktree)
    assert "--strict" in (worktree / SCRIPT).read_text()
    assert marked.open_items() == []  # the gate agrees: the vendor's line is text


def test_editing_around_the_vendors_marker_text(marked: SessionStore) -> None:
    lines = _proposal(marked)
    edited = [line.replace("FAIL: markers not found", "FAIL: no markers") for line in lines]
    (hunk,) = marked.load().open_hunks
    marked.resolve(hunk.id, Resolution.EDITED, text=_text(edited), remember=False)
    assert marked.open_items() == []


def test_the_whole_file_edit_keeps_the_vendors_marker_text(marked: SessionStore) -> None:
    (hunk,) = marked.load().open_hunks
    edit = fileedit.prepare(marked.load(), hunk.id, _text(_proposal(marked)))
    assert fileedit.extract(edit, edit.data) == _text(_proposal(marked))


def _pasted(lines: list[str]) -> list[str]:
    at = lines.index("fi") + 1
    return [*lines[:at], *BLOCK, *lines[at:]]


REFUSED: dict[str, Callable[[list[str]], list[str]]] = {
    # The vendor's block pasted below, byte for byte the vendor's own lines.
    "pasted": _pasted,
    # The vendor's closing line twice.
    "doubled": lambda lines: [
        line for text in lines for line in ([text, text] if text.startswith(">>>>>>>") else [text])
    ],
    # The line above the vendor's closing line changed: its neighbour is no longer the vendor's.
    "neighbour": lambda lines: [
        "\treturn upstream_setup(1);" if text == "\treturn upstream_setup();" else text
        for text in lines
    ],
    # A conflict block of the person's own, half resolved.
    "new block": lambda lines: [
        *lines[:-2],
        "<<<<<<< vendor",
        'echo "ok 1 markers found"',
        *lines[-2:],
    ],
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_marker_lines_the_gate_would_count_are_refused(
    marked: SessionStore, tmp_path: Path, name: str
) -> None:
    session = marked.load()
    worktree = Path(session.worktree)
    (hunk,) = session.open_hunks
    text = _text(REFUSED[name](_proposal(marked)))
    before = (worktree / SCRIPT).read_bytes()
    head = git(worktree, "rev-parse", "HEAD")
    with pytest.raises(SessionError, match="still has conflict markers"):
        marked.resolve(hunk.id, Resolution.EDITED, text=text, remember=False)
    assert (worktree / SCRIPT).read_bytes() == before and git(worktree, "rev-parse", "HEAD") == head
    edit = fileedit.prepare(session, hunk.id, text)
    with pytest.raises(SessionError, match="conflict markers are left at line"):
        fileedit.extract(edit, edit.data)
    # The same file written by hand: the gate keeps it open too.
    (worktree / SCRIPT).write_bytes(edit.data)
    assert [item.kind for item in marked.open_items() if item.kind == "marker"] == ["marker"]


def test_a_proposal_with_a_real_conflict_is_still_refused(tmp_path: Path) -> None:
    """Against: the vendor changed the line upstream changes; the proposal's block is new."""
    vendor = [line.replace('find-markers "$tmp', 'find-markers -q "$tmp') for line in VENDOR_TREE]
    patch = "".join(
        difflib.unified_diff(
            [line + "\n" for line in VENDOR],
            [line + "\n" for line in UPSTREAM_AFTER],
            f"a/{SCRIPT}",
            f"b/{SCRIPT}",
        )
    )
    tree = tmp_path / "tree"
    (tree / SCRIPT).parent.mkdir(parents=True)
    (tree / SCRIPT).write_text("\n".join(vendor) + "\n")
    store = apply_text(tmp_path, tree, patch)
    (hunk,) = store.load().open_hunks
    assert hunk.proposal_conflicts
    with pytest.raises(SessionError, match="still has conflict markers"):
        store.resolve(hunk.id, Resolution.ACCEPTED, remember=False)

"""Seventh audit: the resolve verbs and the gate against a worktree people change by hand.

Two holes. A hunk a person resolved, whose text was then changed by hand and committed in the
worktree: ``status`` still said "upstream", the report showed upstream's lines as the result
and ``finish`` wrote "taken from upstream" above a diff that carried something else. And a
touched file (or a folder on its way) replaced by a symlink out of the worktree: ``finish``
committed it as a hand edit and carried the link in the combined patch (a file deleted, a link
to ``/tmp/...`` created), and ``build`` compiled what the link pointed at. Now the first is
named wherever the resolution is shown, and the second is a gate item (``link``).

What held, kept here as tests: an unknown hunk id, a proposal or an edit that still has
conflict markers, an undo of nothing, a region changed underneath: each exit 2 with a message
and a hint, the worktree and the session as they were. A hunk resolved twice, undone and
resolved again, or edited to bytes that are not UTF-8: the file holds exactly the last
resolution, and status and the report say that one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.errors import GateError
from patchsmith.ship.build import check_gate
from patchsmith.workspace.session import SessionStore
from tests.support.sessions import demo_conflict_worktree, run_in_session, store_of
from tests.support.trees import git

HUNK = "drivers/md/dm-snap.c#3"
FILE = "drivers/md/dm-snap.c"


@pytest.fixture
def worktree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo's drivers/md applied: one conflict (#3) open, with its .rej."""
    return demo_conflict_worktree(tmp_path, capsys)


_run = run_in_session


def _commits(worktree: Path) -> int:
    return len(git(worktree, "log", "--oneline").splitlines())


def _editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """$EDITOR writes ``data`` over the text it is given."""
    (tmp_path / "text").write_bytes(data)
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\ncat '{tmp_path / 'text'}' > \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))


def _report(worktree: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    code, out = _run(worktree, capsys, "report", "--format", "json")
    assert code in (0, 1)
    report = json.loads(out)
    return {h["id"]: h for f in report["files"] for h in f["hunks"]}


# --- the hole: a resolution changed by hand afterwards -----------------------------------------


@pytest.mark.parametrize("commit", [True, False])
def test_a_resolution_changed_by_hand_afterwards_is_named_everywhere(
    worktree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], commit: bool
) -> None:
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    target = worktree / FILE
    text = target.read_text()
    assert "s->merge_failed)" in text  # upstream's line, as the resolution wrote it
    target.write_text(text.replace("s->merge_failed)", "s->merge_failed || dm_suspended(ti))"))
    if commit:
        git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "commit", "-qam", "mine")
    code, status = _run(worktree, capsys, "status")
    assert f"{HUNK}   conflict          upstream, then CHANGED in the worktree" in status
    assert code == (0 if commit else 1)  # uncommitted: an open item of its own
    hunk = _report(worktree, capsys)[HUNK]
    assert hunk["needs_review"]
    assert "no longer holds what its resolution (upstream) wrote" in str(hunk["reason"])
    out = tmp_path / "carried.patch"
    assert _run(worktree, capsys, "finish", "-o", str(out))[0] == 0
    carried = out.read_text()
    assert "dm_suspended(ti))" in carried
    assert "taken from upstream by" in carried
    assert "; then the worktree no longer holds what its resolution (upstream) wrote" in carried


def test_a_resolution_the_worktree_still_holds_names_nothing(
    worktree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against: an edit elsewhere in the file, above the region (its lines move)."""
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    target = worktree / FILE
    target.write_text("/* a line above everything */\n" + target.read_text())
    git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "commit", "-qam", "mine")
    code, status = _run(worktree, capsys, "status")
    assert code == 0 and "CHANGED" not in status
    assert "no longer holds" not in str(_report(worktree, capsys)[HUNK]["reason"])


# --- the hole: a symlink out of the worktree ---------------------------------------------------


@pytest.mark.parametrize("where", [FILE, "drivers/md"])
@pytest.mark.parametrize("commit", [False, True])
def test_a_touched_path_replaced_by_a_link_out_of_the_worktree_closes_the_gate(
    worktree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, commit: bool
) -> None:
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    (worktree / (FILE + ".rej")).unlink(missing_ok=True)
    assert _run(worktree, capsys, "status")[0] == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(worktree / where, outside / "moved")
    before = subprocess.run(
        ["ls", "-lR", "--time-style=full-iso", str(outside)], capture_output=True, check=True
    ).stdout
    os.symlink(outside / "moved", worktree / where)
    if commit:
        git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "add", "-A")
        git(worktree, "-c", "user.name=P", "-c", "user.email=p@p", "commit", "-qm", "a link")
    code, status = _run(worktree, capsys, "status")
    assert code == 1
    assert f"link: {where}: a symlink to '{outside / 'moved'}', out of the worktree" in status
    out = tmp_path / "carried.patch"
    code, said = _run(worktree, capsys, "finish", "-o", str(out))
    assert code == 1 and "link: " in said and not out.exists()
    with pytest.raises(GateError):
        check_gate(store_of(worktree))
    code, report = _run(worktree, capsys, "report", "--format", "md")
    assert "Safe to build: no" in report and "symlink out of the worktree" in report
    after = subprocess.run(
        ["ls", "-lR", "--time-style=full-iso", str(outside)], capture_output=True, check=True
    ).stdout
    assert after == before  # nothing written through it


def test_a_link_inside_the_worktree_is_an_edit_not_a_link_item(
    worktree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against: a link whose target stays in the worktree is a person's edit like any other
    (uncommitted until committed), not a way out of it."""
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    (worktree / (FILE + ".rej")).unlink(missing_ok=True)
    (worktree / FILE).unlink()
    os.symlink("dm-table.c", worktree / FILE)
    store = store_of(worktree)
    assert [item.kind for item in store.open_items()] == ["uncommitted"]


# --- what held ----------------------------------------------------------------------------------


def _unchanged(worktree: Path, store: SessionStore, commits: int, data: bytes) -> None:
    assert _commits(worktree) == commits
    assert (worktree / FILE).read_bytes() == data
    assert [h.id for h in store.load().open_hunks] == [HUNK]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("resolve", "drivers/md/dm-snap.c#9", "--upstream"), "no hunk 'drivers/md/dm-snap.c#9'"),
        (("resolve", "drivers/md/none.c#1", "--drop", "--reason", "x"), "no hunk"),
        (("resolve", HUNK, "--accept"), "still has conflict markers"),
        (("resolve", HUNK, "--undo"), "has no resolution to undo"),
        (("resolve", HUNK, "--drop"), "--drop needs a reason"),
        (("resolve", HUNK, "--confirm"), ""),
    ],
)
def test_a_refused_verb_is_exit_2_with_a_hint_and_changes_nothing(
    worktree: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], said: str
) -> None:
    store = store_of(worktree)
    commits, data = _commits(worktree), (worktree / FILE).read_bytes()
    code, out = _run(worktree, capsys, *args)
    assert code == 2 and said in out and "hint: " in out and "Traceback" not in out
    _unchanged(worktree, store, commits, data)


def test_an_edit_with_markers_left_is_refused_and_kept(
    worktree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = store_of(worktree)
    commits, data = _commits(worktree), (worktree / FILE).read_bytes()
    _editor(tmp_path, monkeypatch, b"<<<<<<< vendor\n\tint a;\n=======\n\tint b;\n>>>>>>> x\n")
    code, out = _run(worktree, capsys, "resolve", HUNK, "--edit")
    assert code == 2 and "still has conflict markers" in out and "your text is kept in" in out
    _unchanged(worktree, store, commits, data)


def test_a_region_changed_underneath_is_refused_and_the_hand_edit_kept(
    worktree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(worktree)
    target = worktree / FILE
    edited = target.read_bytes().replace(b"DM_MAPIO_REMAPPED;", b"DM_MAPIO_SUBMITTED; /* mine */")
    target.write_bytes(edited)
    commits = _commits(worktree)
    code, out = _run(worktree, capsys, "resolve", HUNK, "--upstream")
    assert code == 2 and "no longer in the file" in out and "hint: " in out
    _unchanged(worktree, store, commits, edited)


def test_resolving_twice_undo_and_redo_leave_the_last_resolution(
    worktree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(worktree)
    applied = (worktree / FILE).read_bytes()
    upstream = _run(worktree, capsys, "resolve", HUNK, "--upstream")
    assert upstream[0] == 0
    with_upstream = (worktree / FILE).read_bytes()
    assert _run(worktree, capsys, "resolve", HUNK, "--drop", "--reason", "vendor's")[0] == 0
    assert (worktree / FILE).read_bytes() == applied  # the drop keeps the vendor's lines
    assert store.load().hunk(HUNK).resolution == "dropped"
    assert _run(worktree, capsys, "resolve", HUNK, "--undo")[0] == 1
    assert (worktree / FILE).read_bytes() == applied and store.load().hunk(HUNK).open
    assert _run(worktree, capsys, "resolve", HUNK, "--upstream")[0] == 0
    assert (worktree / FILE).read_bytes() == with_upstream
    code, status = _run(worktree, capsys, "status")
    assert code == 0  # nothing open: the .rej went with the resolution
    assert f"{HUNK}   conflict          upstream\n" in status
    assert git(worktree, "status", "--porcelain", "--", FILE) == ""


def test_an_edit_that_is_not_utf8_is_written_byte_for_byte(
    worktree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line = b"\tif (!s->valid || s->merge_failed) /* \xff Latin-1: \xe9 */\n"
    region = store_of(worktree).load().hunk(HUNK).current
    assert region is not None
    _editor(
        tmp_path,
        monkeypatch,
        b"".join(
            line if raw.startswith(b"\tif (!s->valid") else raw
            for raw in region.text.encode().splitlines(keepends=True)
        ),
    )
    assert _run(worktree, capsys, "resolve", HUNK, "--edit")[0] == 0
    data = (worktree / FILE).read_bytes()
    assert line in data
    assert git(worktree, "status", "--porcelain", "--", FILE) == ""
    hunk = _report(worktree, capsys)[HUNK]
    assert "no longer holds" not in str(hunk["reason"])  # the worktree holds what was written
    _code, status = _run(worktree, capsys, "status")
    assert f"{HUNK}   conflict          edited\n" in status

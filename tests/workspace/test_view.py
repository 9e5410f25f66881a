"""The evidence around a hunk, in the vendor tree's numbering, and editing a hunk in its file.

What would fool them: a clean hunk above the region (the worktree's numbers are shifted by it),
a region whose lines also appear elsewhere in the file (the nearest copy must be taken), an
already-applied hunk (its place is where the post-image is, not the pre-image), and an edit
that touches a line outside the region (it must be refused, not folded into the resolution).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.errors import SessionError
from patchsmith.workspace.fileedit import extract, prepare
from patchsmith.workspace.session import SessionStore
from patchsmith.workspace.view import Found, LineMap, evidence, line_map
from tests.tui.demo_session import demo_session

SNAP = "drivers/md/dm-snap.c#3"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return demo_session(tmp_path)


def test_an_open_region_is_numbered_as_in_the_vendor_tree(store: SessionStore) -> None:
    session = store.load()
    hunk = session.hunk(SNAP)
    assert hunk.vendor is not None and hunk.vendor.start == 54  # the worktree's numbering
    found = evidence(session, SNAP)
    assert found.found == Found.REGION
    assert found.region_start == 53  # what check reports: "closest region at line 53"
    vendor_lines = (Path(session.tree) / hunk.path).read_text().split("\n")
    assert vendor_lines[52:55] == found.region_text.split("\n")[:3]
    assert found.worktree_line == 54
    assert found.function_line == 51
    assert found.function_text.startswith("static int snapshot_map(")
    assert found.reject.startswith("--- drivers/md/dm-snap.c\n+++ drivers/md/dm-snap.c\n@@ ")
    assert found.reject_present


def test_settled_hunks_say_where_they_were_found(store: SessionStore) -> None:
    session = store.load()
    applied = evidence(session, "drivers/md/dm-snap.c#2")  # offset +5, applied
    assert applied.found == Found.PRE_IMAGE
    assert applied.region_start == 44
    assert applied.region_text == session.hunk("drivers/md/dm-snap.c#2").pre_image
    assert applied.worktree_text == session.hunk("drivers/md/dm-snap.c#2").post_image
    carried = evidence(session, "drivers/md/dm-table.c#1")  # already applied
    assert carried.found == Found.POST_IMAGE
    assert carried.region_text == session.hunk("drivers/md/dm-table.c#1").post_image
    assert carried.reject == ""


def test_excluded_and_file_level_items_have_no_region(tmp_path: Path) -> None:
    store = demo_session(tmp_path, only=("drivers/md",))
    session = store.load()
    for hunk in session.hunks:
        found = evidence(session, hunk.id)
        if hunk.number == 0:
            assert found.found == Found.NOTHING and found.note


def _commit(repo: Path, text: str) -> str:
    (repo / "f.c").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "f.c"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "x", "--allow-empty"], check=True)
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


@settings(max_examples=25, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["a", "b", "x++;", "}", ""]), min_size=1, max_size=30),
    edits=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 3), st.integers(0, 3)), max_size=4),
)
def test_line_map_agrees_with_the_lines_git_kept(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], edits: list[tuple[int, int, int]]
) -> None:
    # Repetitive lines on purpose: the map must follow git's diff, not a search by content.
    repo = tmp_path_factory.mktemp("map")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    old = [f"{line} /* {n} */" for n, line in enumerate(lines)]
    new = list(old)
    for at, removed, added in sorted(edits, reverse=True):
        at = min(at, len(new))
        new[at : at + removed] = [f"new {at}.{k}" for k in range(added)]
    first = _commit(repo, "".join(line + "\n" for line in old))
    second = _commit(repo, "".join(line + "\n" for line in new))
    mapping = line_map(repo, first, second, "f.c")
    for number, line in enumerate(old, start=1):
        if line in new:  # each old line is unique (numbered), so this is where git kept it
            assert mapping.to_new(number) == new.index(line) + 1
            assert mapping.to_old(new.index(line) + 1) == number


def test_line_map_without_changes_is_the_identity() -> None:
    assert LineMap(()).to_old(17) == 17
    assert LineMap(((5, 0, 6, 2),)).to_old(9) == 7  # two lines inserted after line 5


def test_file_edit_round_trip_and_refusals(store: SessionStore) -> None:
    session = store.load()
    hunk = session.hunk(SNAP)
    edit = prepare(session, SNAP, hunk.proposal or "")
    assert edit.line == 54
    data = edit.data
    assert b"<<<<<<< vendor" in data
    text = hunk.post_image
    edited = edit.before + text.encode() + edit.after
    assert extract(edit, edited) == text
    with pytest.raises(SessionError, match="conflict markers are left at line 57"):
        extract(edit, data)
    with pytest.raises(SessionError, match="line 1 of the file changed"):
        extract(edit, b"/* mine */\n" + edited)
    with pytest.raises(SessionError, match="changed below the region"):
        extract(edit, edited + b"/* mine */\n")

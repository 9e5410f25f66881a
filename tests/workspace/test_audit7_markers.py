"""Seventh audit: a conflict marker line the vendor's file (or upstream's hunk) holds as text is
not a conflict left open; one apply or a person wrote still is.

Before, any ``<<<<<<<`` or ``>>>>>>>`` line in a touched file was a gate item: a selftest whose
here-document holds a merge conflict (the script checks that a tool finds it) closed the gate
for good; ``finish`` and ``build`` refused, and nothing a person could do settled it. Now a
marker line is text when the snapshot or the applied commit holds it at that place, with the
lines on either side (:mod:`patchsmith.workspace.markers`). Evidence for "open": a marker line
neither holds so (new, copied elsewhere, a second copy, a block's opening written where the
vendor's line stood). The fooling inputs below must all stay open.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.cli import main
from patchsmith.model import Resolution
from patchsmith.workspace.markers import first_open_marker
from patchsmith.workspace.session import SessionStore
from tests.support.sessions import apply_text
from tests.support.trees import git

SCRIPT = "tools/testing/selftests/merge/detect.sh"

# A selftest that feeds a tool a file holding a merge conflict: the marker lines are the
# vendor's text, at the start of their lines (a here-document), where the gate looks.
VENDOR = [
    "#!/bin/sh",
    "# SPDX-License-Identifier: GPL-2.0",
    "tmp=$(mktemp -d) || exit 1",
    'trap "rm -rf $tmp" EXIT',
    "",
    'cat > "$tmp/conflicted.c" <<EOF',
    "int setup(void)",
    "{",
    "<<<<<<< vendor",
    "\treturn vendor_setup();",
    "=======",
    "\treturn upstream_setup();",
    ">>>>>>> upstream-after",
    "}",
    "EOF",
    "",
    'if ! ./find-markers "$tmp/conflicted.c"; then',
    '\techo "FAIL: markers not found"',
    "\texit 1",
    "fi",
    "",
    'echo "ok 1 markers found"',
    "exit 0",
]


def _patch(old: list[str], new: list[str], path: str = SCRIPT) -> str:
    return "".join(
        difflib.unified_diff(
            [line + "\n" for line in old],
            [line + "\n" for line in new],
            f"a/{path}",
            f"b/{path}",
        )
    )


def _session(
    tmp_path: Path, patch: str, vendor: list[str] = VENDOR, **options: object
) -> tuple[SessionStore, Path]:
    tree = tmp_path / "tree"
    (tree / SCRIPT).parent.mkdir(parents=True)
    (tree / SCRIPT).write_text("\n".join(vendor) + "\n")
    store = apply_text(tmp_path, tree, patch, **options)
    return store, Path(store.load().worktree)


def _markers(store: SessionStore) -> list[str]:
    return [item.detail for item in store.open_items() if item.kind == "marker"]


# Upstream changes the message at the end: nowhere near the here-document.
MESSAGE = [line.replace("markers found", "conflict markers found") for line in VENDOR]


def test_a_vendor_file_holding_marker_lines_as_text_does_not_close_the_gate(
    tmp_path: Path,
) -> None:
    store, worktree = _session(tmp_path, _patch(VENDOR, MESSAGE))
    assert store.open_items() == []
    out = tmp_path / "carried.patch"
    assert main(["finish", "--session", str(worktree), "-o", str(out)]) == 0
    assert "conflict markers found" in out.read_text()


def test_an_upstream_hunk_beside_the_vendor_marker_lines_does_not_close_the_gate(
    tmp_path: Path,
) -> None:
    """The snapshot does not hold the marker line with its new neighbour; the applied commit
    (upstream's hunk as the patch wrote it) does."""
    beside = [
        "\treturn vendor_setup(0);" if line == "\treturn vendor_setup();" else line
        for line in VENDOR
    ]
    store, _ = _session(tmp_path, _patch(VENDOR, beside))
    assert store.open_items() == []


def test_marker_lines_an_upstream_hunk_adds_are_upstream_text(tmp_path: Path) -> None:
    added = [*VENDOR[:-2], 'printf "<<<<<<< a\\n" | ./find-markers -', *VENDOR[-2:]]
    added[added.index('printf "<<<<<<< a\\n" | ./find-markers -') :] = [
        'cat > "$tmp/half.c" <<EOF',
        "<<<<<<< only-the-start",
        "EOF",
        '! ./find-markers "$tmp/half.c" || exit 1',
        *VENDOR[-2:],
    ]
    store, _ = _session(tmp_path, _patch(VENDOR, added))
    assert store.open_items() == []


# --- what must stay open ------------------------------------------------------------------------


def test_a_conflict_block_apply_writes_beside_the_vendor_lines_is_open(tmp_path: Path) -> None:
    """--merge puts a block in the file; the vendor's own marker lines above it do not hide
    it, and the item names the block's line, not the vendor's."""
    vendor = [line.replace("markers not found", "no markers found") for line in VENDOR]
    conflicting = [line.replace("markers not found", "missed them") for line in VENDOR]
    store, worktree = _session(tmp_path, _patch(VENDOR, conflicting), vendor, merge=True)
    text = (worktree / SCRIPT).read_text().splitlines()
    block = text.index("<<<<<<< vendor", text.index("}")) + 1  # the second: the block
    assert _markers(store) == [f"conflict marker at line {block}"]
    out = tmp_path / "carried.patch"
    assert main(["finish", "--session", str(worktree), "-o", str(out)]) == 1
    (hunk,) = store.load().open_hunks
    store.resolve(hunk.id, Resolution.UPSTREAM, remember=False)
    assert store.open_items() == []  # the vendor's lines stay, and are text


@pytest.mark.parametrize(
    ("name", "edit", "line"),
    [
        # The vendor's block pasted again below the here-document.
        ("copied", lambda lines: [*lines[:16], *lines[8:13], *lines[16:]], 17),
        # A second copy of the vendor's opening line next to it.
        ("doubled", lambda lines: [*lines[:9], lines[8], *lines[9:]], 9),
        # A half-resolved block whose opening stands where the vendor's line stood: the
        # vendor's "<<<<<<< vendor" is gone, the block's took its place, its end was deleted.
        (
            "over",
            lambda lines: [
                *lines[:8],
                "<<<<<<< vendor",
                "\treturn setup_all(1);",
                "||||||| upstream-before",
                "\treturn setup_all(0);",
                *lines[9:],
            ],
            9,
        ),
        # Only the closing line of a block, at the end of the file.
        ("closing", lambda lines: [*lines, ">>>>>>> upstream-after"], 24),
    ],
)
def test_marker_lines_a_person_leaves_are_open_beside_the_vendor_ones(
    tmp_path: Path, name: str, edit: object, line: int
) -> None:
    store, worktree = _session(tmp_path, _patch(VENDOR, MESSAGE))
    target = worktree / SCRIPT
    lines = target.read_text().splitlines()
    assert callable(edit)
    target.write_text("\n".join(edit(lines)) + "\n")
    assert _markers(store) == [f"conflict marker at line {line}"], name
    git(worktree, "commit", "-q", "-a", "-m", f"by hand: {name}")  # committed: still open
    assert _markers(store) == [f"conflict marker at line {line}"], name
    assert main(["finish", "--session", str(worktree), "-o", str(tmp_path / "p")]) == 1


def test_a_session_without_a_readable_snapshot_keeps_every_marker_open(tmp_path: Path) -> None:
    store, _ = _session(tmp_path, _patch(VENDOR, MESSAGE))
    session = store.load()
    store.write(replace(session, snapshot_commit="0" * 40, applied_commit="1" * 40))
    assert _markers(store) == ["conflict marker at line 9"]


# --- the rule on its own, on generated files ---------------------------------------------------

LINES = ("int a;", "}", "", "<<<<<<< vendor", ">>>>>>> upstream-after", "=======", "\treturn 0;")


@settings(max_examples=400, deadline=None)
@given(
    snapshot=st.lists(st.sampled_from(LINES), max_size=14),
    at=st.integers(0, 14),
    body=st.lists(st.sampled_from(LINES), min_size=1, max_size=5),
    fresh=st.lists(st.sampled_from(("int x;", "int y;", "\tgoto out;")), min_size=1, max_size=3),
)
def test_generated_files(snapshot: list[str], at: int, body: list[str], fresh: list[str]) -> None:
    """Evidence for "text": the file is the snapshot. Against: more copies of a marker line
    than the snapshot has, or a marker line followed by lines the snapshot never had."""
    old = "".join(line + "\n" for line in snapshot).encode()
    assert first_open_marker(old, [old]) is None
    at = min(at, len(snapshot))
    inserted = [*snapshot[:at], *body, *snapshot[at:]]
    new = "".join(line + "\n" for line in inserted).encode()
    for marker in LINES[3:5]:
        if inserted.count(marker) > snapshot.count(marker):
            assert first_open_marker(new, [old]) is not None, (snapshot, inserted)
    # A marker line with new lines right after it: a block's opening, wherever it stands.
    opened = [*snapshot[:at], "<<<<<<< vendor", *fresh, *snapshot[at:]]
    new = "".join(line + "\n" for line in opened).encode()
    assert first_open_marker(new, [old]) is not None, (snapshot, opened)
    # Nor does a second baseline that lacks it help.
    assert first_open_marker(new, [old, old, None]) is not None

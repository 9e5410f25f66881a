"""Sixth audit: a hunk apply wrote and a person then undid is no longer called applied.

After apply, a person reverted one applied hunk by hand and committed it in the worktree
(``git commit -a``): ``status`` still said "applied", nothing was open, the report said "Safe
to build: yes" with the hunk's upstream lines shown as the result, and ``finish`` wrote
"Applied as upstream wrote them: 2 hunks" above a diff that carried one. The claim is now
checked against the worktree (:func:`patchsmith.workspace.held.changed_after_apply`): a change
since apply that touches a line the hunk added, or puts back lines it removed, names it in
status, report and the carried patch's description. A change beside the hunk's lines (its
context, another function, the resolution of a neighbouring conflict) names nothing.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.model import Resolution
from patchsmith.workspace.held import changed_after_apply
from patchsmith.workspace.session import SessionStore
from tests.support.sessions import apply_text
from tests.support.trees import git

# Every line differs from every other, so "the line apply wrote" has one place.
VENDOR = [
    "// SPDX-License-Identifier: GPL-2.0",
    "#include <linux/module.h>",
    "#include <linux/blkdev.h>",
    "",
    "static int dm_open(struct block_device *bdev)",
    "{",
    "\tint r = dm_get(bdev);",
    "\tif (r)",
    "\t\treturn r;",
    "\treturn 0;",
    "}",
    "",
    "/* between the functions */",
    "",
    "static void dm_close(struct gendisk *disk)",
    "{",
    "\tstruct mapped_device *md = disk->private_data;",
    "\tdm_put(md);",
    "\tmd->open_count--;",
    "\tmd->closed = true;",
    "}",
    "",
    "/* a vendor comment */",
    "",
    "static int dm_flush(struct mapped_device *md)",
    "{",
    "\tmd->flushes++;",
    "\tmd->pending = 0;",
    "\treturn md->error;",
    "}",
    "",
    "/* the end of the file */",
    'MODULE_LICENSE("GPL");',
]

# #1 replaces dm_open's return, #2 adds a line in dm_close, #3 removes two lines of dm_flush.
UPSTREAM = [
    "\t\tgoto out_put;" if line == "\t\treturn r;" else line
    for line in VENDOR
    if line not in ("\tmd->flushes++;", "\tmd->pending = 0;")
]
UPSTREAM.insert(UPSTREAM.index("\tmd->open_count--;"), "\tsynchronize_rcu();")
PATCH = "".join(
    difflib.unified_diff(
        [line + "\n" for line in VENDOR],
        [line + "\n" for line in UPSTREAM],
        "a/drivers/md/dm.c",
        "b/drivers/md/dm.c",
    )
)
assert PATCH.count("@@ -") == 3  # three hunks

WRITTEN = {"goto out_put;": "#1", "synchronize_rcu();": "#2"}
"""The lines apply writes, with the hunk that wrote each."""


def _session(tmp_path: Path, patch: str = PATCH) -> tuple[SessionStore, Path]:
    tree = tmp_path / "tree"
    (tree / "drivers/md").mkdir(parents=True)
    (tree / "drivers/md/dm.c").write_text("\n".join(VENDOR) + "\n")
    store = apply_text(tmp_path, tree, patch)
    return store, Path(store.load().worktree)


def _edit(worktree: Path, old: str, new: str, *, commit: bool) -> None:
    target = worktree / "drivers/md/dm.c"
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    if commit:
        git(worktree, "commit", "-q", "-a", "-m", "my own edit")


def _named(store: SessionStore) -> set[str]:
    return {hunk_id.split("#")[1] for hunk_id in changed_after_apply(store.load())}


def test_a_reverted_hunk_committed_by_hand_is_named_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, worktree = _session(tmp_path)
    assert store.open_items() == [] and _named(store) == set()
    _edit(worktree, "\tsynchronize_rcu();\n", "", commit=True)
    assert store.open_items() == []  # not a gate item: the person's edit stands
    assert _named(store) == {"2"}

    capsys.readouterr()
    assert main(["status", "--session", str(worktree)]) == 0
    status = capsys.readouterr().out
    assert "drivers/md/dm.c#2  clean             applied, then CHANGED" in status
    assert "drivers/md/dm.c#1  clean             applied\n" in status

    assert main(["report", "--session", str(worktree), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    hunks = {h["id"]: h for f in report["files"] for h in f["hunks"]}
    assert hunks["drivers/md/dm.c#2"]["needs_review"]
    assert "no longer holds what apply wrote" in hunks["drivers/md/dm.c#2"]["reason"]
    assert "no longer holds" in hunks["drivers/md/dm.c#2"]["result"]["note"]
    assert not hunks["drivers/md/dm.c#1"]["needs_review"]

    out = tmp_path / "carried.patch"
    assert main(["finish", "--session", str(worktree), "-o", str(out)]) == 0
    carried = out.read_text()
    assert "synchronize_rcu" not in carried
    assert "Applied as upstream wrote them: 2 hunks." in carried  # #1 and #3
    assert "Applied as upstream wrote them: 3 hunks." not in carried
    assert "[ changed in the worktree after apply wrote them" in carried
    assert "drivers/md/dm.c#2 (line 16)" in carried


def test_an_uncommitted_revert_is_named_and_finish_says_so(tmp_path: Path) -> None:
    store, worktree = _session(tmp_path)
    _edit(worktree, "\t\tgoto out_put;", "\t\treturn r;", commit=False)
    assert _named(store) == {"1"}
    out = tmp_path / "carried.patch"
    assert main(["finish", "--session", str(worktree), "-o", str(out)]) == 0
    assert "drivers/md/dm.c#1 (line 6)" in out.read_text()


def test_removed_lines_put_back_name_the_hunk_that_removed_them(tmp_path: Path) -> None:
    store, worktree = _session(tmp_path)
    _edit(
        worktree, "{\n\treturn md->error;", "{\n\tmd->flushes++;\n\treturn md->error;", commit=True
    )
    assert _named(store) == {"3"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/* a vendor comment */", "/* the vendor's comment */"),  # another place
        ("\tdm_put(md);", "\tdm_put(md); /* last */"),  # a context line of #2
        ("\tint r = dm_get(bdev);\n", "\tint r = dm_get(bdev);\n\tmight_sleep();\n"),  # above #1
        ("\treturn md->error;", "\treturn READ_ONCE(md->error);"),  # beside #3's removal
    ],
)
def test_an_edit_beside_the_written_lines_names_nothing(tmp_path: Path, old: str, new: str) -> None:
    store, worktree = _session(tmp_path)
    _edit(worktree, old, new, commit=True)
    assert _named(store) == set()


def test_a_resolution_of_a_neighbouring_conflict_names_nothing(tmp_path: Path) -> None:
    # dm_flush as upstream knows it differs from the vendor's: #3 is a conflict.
    conflicting = PATCH.replace("-\tmd->pending = 0;", "-\tmd->pending = 1;")
    store, worktree = _session(tmp_path, conflicting)
    (open_hunk,) = store.load().open_hunks
    store.resolve(open_hunk.id, Resolution.UPSTREAM, remember=False)
    assert "md->flushes" not in (worktree / "drivers/md/dm.c").read_text()
    assert _named(store) == set()


def test_replacing_any_one_line_names_exactly_the_hunk_that_wrote_it(tmp_path: Path) -> None:
    """Every line of the file in turn (exhaustive: 34 lines). Evidence for naming a hunk: the
    replaced line is one it added. Against: any other line (context, another function, a line
    the patch never touched)."""
    store, worktree = _session(tmp_path)
    target = worktree / "drivers/md/dm.c"
    applied = target.read_text()
    lines = applied.splitlines(keepends=True)
    named_for: dict[str, set[str]] = {}
    for number, line in enumerate(lines):
        edited = [*lines[:number], f"/* replaced by hand: {number} */\n", *lines[number + 1 :]]
        target.write_text("".join(edited))
        named_for[f"{number + 1}: {line.strip()}"] = _named(store)
    target.write_text(applied)
    expected = {
        key: {WRITTEN[text][1:]} if (text := key.split(": ", 1)[1]) in WRITTEN else set()
        for key in named_for
    }
    assert named_for == expected

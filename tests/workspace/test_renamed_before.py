"""A rename the vendor already made is reported as done, not as applied.

A git rename without hunks carries no content, only two names. Where the tree has the
destination and not the source, it already has the names the patch leaves: applying it changes
nothing, and calling it ``clean`` ("renamed without changes") told a reviewer that patchsmith
renamed the file. It is ``already-applied``, with the names as the evidence. Where the source
is still there it is renamed (``clean``), where both are there it is ``file-exists``, and a
rename with hunks is judged by its hunks on the file where it now lives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.model import HunkStatus
from tests.workspace.test_audit4_deletions import _tree
from tests.workspace.test_hostile import _run

CODE = "static int snap_init(void)\n{\n\treturn 0;\n}\n"
PURE = (
    "diff --git a/drivers/md/dm-snap-old.c b/drivers/md/dm-snap.c\n"
    "similarity index 100%\n"
    "rename from drivers/md/dm-snap-old.c\n"
    "rename to drivers/md/dm-snap.c\n"
)
WITH_HUNK = (
    "diff --git a/drivers/md/dm-snap-old.c b/drivers/md/dm-snap.c\n"
    "similarity index 80%\n"
    "rename from drivers/md/dm-snap-old.c\n"
    "rename to drivers/md/dm-snap.c\n"
    "--- a/drivers/md/dm-snap-old.c\n+++ b/drivers/md/dm-snap.c\n"
    "@@ -1,4 +1,4 @@\n static int snap_init(void)\n {\n-\treturn 0;\n+\treturn 1;\n }\n"
)


def test_a_rename_the_vendor_made_is_already_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path, {"dm-snap.c": CODE})
    outputs = _run(tmp_path, PURE, tree, capsys)
    (checked,) = outputs.checked["files"]
    assert checked["status"] == str(HunkStatus.ALREADY_APPLIED)
    assert "no drivers/md/dm-snap-old.c" in checked["reason"]
    assert "renamed before" in checked["reason"]
    assert outputs.check_code == outputs.apply_code == 0
    worktree = Path(outputs.applied["worktree"])
    assert (worktree / "drivers/md/dm-snap.c").read_text() == CODE
    assert not (worktree / "drivers/md/dm-snap-old.c").exists()


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ({"dm-snap-old.c": CODE}, HunkStatus.CLEAN),  # not renamed yet: patchsmith renames it
        ({"dm-snap-old.c": CODE, "dm-snap.c": CODE}, HunkStatus.FILE_EXISTS),
    ],
    ids=["to-rename", "both-there"],
)
def test_a_rename_still_to_make_is_not_called_done(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    status: HunkStatus,
) -> None:
    outputs = _run(tmp_path, PURE, _tree(tmp_path, files), capsys)
    (checked,) = outputs.checked["files"]
    assert checked["status"] == str(status)
    assert "renamed before" not in checked["reason"]
    if status == HunkStatus.CLEAN:
        worktree = Path(outputs.applied["worktree"])
        assert (worktree / "drivers/md/dm-snap.c").read_text() == CODE
        assert not (worktree / "drivers/md/dm-snap-old.c").exists()


def test_a_rename_with_a_hunk_is_judged_by_the_hunk_where_the_file_lives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Renamed before, but the change not made yet: the hunk is clean on the new name, and
    # the file is not called done.
    tree = _tree(tmp_path, {"dm-snap.c": CODE})
    outputs = _run(tmp_path, WITH_HUNK, tree, capsys)
    (checked,) = outputs.checked["files"]
    assert checked["hunks"][0]["status"] == str(HunkStatus.CLEAN)
    assert checked["status"] == str(HunkStatus.CLEAN)
    worktree = Path(outputs.applied["worktree"])
    assert "return 1;" in (worktree / "drivers/md/dm-snap.c").read_text()

"""Audit: a file deletion settled as already applied while the file lives on under another name.

Upstream deletes ``drivers/md/dm-old.c``; the vendor tree has no file there, which is what the
patch leaves, so the deletion read as done ("the file is already gone"). But the vendor had
renamed it (``dm-old-vendor.c``, every byte the same) and still builds it: the code upstream
removes stays. A file beside the deleted path holding exactly its bytes now flags the verdict,
in check and in apply alike; a tree that never had the file, or holds other code beside it,
still settles it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.model import HunkStatus
from tests.workspace.test_hostile import _run

OLD = "static int old_init(void)\n{\n\treturn 0;\n}\n"
DELETE = (
    "diff --git a/drivers/md/dm-old.c b/drivers/md/dm-old.c\ndeleted file mode 100644\n"
    "--- a/drivers/md/dm-old.c\n+++ /dev/null\n@@ -1,4 +0,0 @@\n"
    + "".join(f"-{line}\n" for line in OLD.splitlines())
)


def _tree(tmp_path: Path, beside: dict[str, str]) -> Path:
    tree = tmp_path / "tree"
    (tree / "drivers/md").mkdir(parents=True)
    (tree / "drivers/md/dm.c").write_text("int dm;\n")
    for name, text in beside.items():
        (tree / "drivers/md" / name).write_text(text)
    return tree


def test_a_deleted_file_the_vendor_renamed_is_not_settled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path, {"dm-old-vendor.c": OLD})
    outputs = _run(tmp_path, DELETE, tree, capsys)
    (hunk,) = outputs.checked["files"][0]["hunks"]
    assert hunk["status"] == str(HunkStatus.ALREADY_APPLIED) and hunk["needs_review"]
    assert "drivers/md/dm-old-vendor.c beside it holds exactly" in hunk["reason"]
    assert outputs.check_code == outputs.apply_code == 1
    (recorded,) = outputs.applied["hunks"]
    assert (recorded["status"], recorded["needs_review"]) == (hunk["status"], True)
    assert (tree / "drivers/md/dm-old-vendor.c").read_text() == OLD


@pytest.mark.parametrize("beside", [{}, {"dm-other.c": OLD.replace("old", "new")}])
def test_a_deleted_file_the_tree_never_had_is_settled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], beside: dict[str, str]
) -> None:
    outputs = _run(tmp_path, DELETE, _tree(tmp_path, beside), capsys)
    (hunk,) = outputs.checked["files"][0]["hunks"]
    assert (hunk["status"], hunk["needs_review"]) == (str(HunkStatus.ALREADY_APPLIED), False)
    assert outputs.check_code == outputs.apply_code == 0


def test_a_link_beside_it_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A link to a copy outside the tree is not the vendor's renamed file (and is never read).
    outside = tmp_path / "outside.c"
    outside.write_text(OLD)
    tree = _tree(tmp_path, {})
    (tree / "drivers/md/dm-old-link.c").symlink_to(outside)
    outputs = _run(tmp_path, DELETE, tree, capsys)
    (hunk,) = outputs.checked["files"][0]["hunks"]
    assert (hunk["status"], hunk["needs_review"]) == (str(HunkStatus.ALREADY_APPLIED), False)

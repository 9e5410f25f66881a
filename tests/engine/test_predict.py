"""predict() and predict_file() on trees built in tmp_path: statuses per file kind, the
sequence of diffs of one file, refusals (paths out of the tree, symlinks out), and read-only."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from patchsmith.engine.filelines import enclosing_function
from patchsmith.engine.predict import (
    SCHEMA,
    SETTLED,
    FilePrediction,
    predict,
    predict_file,
    strip_path,
)
from patchsmith.errors import TreeError
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import ChangeKind, PatchIndex, index_bytes

OLD = "".join(f"line {i}\n" for i in range(1, 21))
PATCH = """\
diff --git a/dir/f.txt b/dir/f.txt
--- a/dir/f.txt
+++ b/dir/f.txt
@@ -4,7 +4,8 @@
 line 4
 line 5
 line 6
+added after 6
 line 7
 line 8
 line 9
 line 10
@@ -14,7 +15,7 @@
 line 14
 line 15
 line 16
-line 17
+line seventeen
 line 18
 line 19
 line 20
"""


def tree_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def run(
    tmp_path: Path, patch: str, files: dict[str, str], strip: int = 1
) -> tuple[PatchIndex, Path]:
    index = index_bytes(patch.encode())
    return index, tree_with(tmp_path, files)


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_modified_file_two_hunks_and_result(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"dir/f.txt": OLD})
    before = snapshot(root)
    prediction = predict(index, index.files, root, strip=1)
    assert snapshot(root) == before  # never writes
    (file,) = prediction.files
    assert [h.status for h in file.hunks] == [HunkStatus.CLEAN, HunkStatus.CLEAN]
    assert file.result_lines is not None
    result = b"".join(file.result_lines).decode()
    assert "line 6\nadded after 6\nline 7\n" in result
    assert "line seventeen\n" in result and "line 17\n" not in result
    assert prediction.settled
    assert prediction.counts == {HunkStatus.CLEAN: 2}


def test_second_hunk_follows_the_shift_of_the_first(tmp_path: Path) -> None:
    vendor = OLD.replace("line 1\n", "line 1\nvendor a\nvendor b\n")
    index, root = run(tmp_path, PATCH, {"dir/f.txt": vendor})
    (file,) = predict(index, index.files, root, strip=1).files
    first, second = file.hunks
    assert (first.status, first.offset) == (HunkStatus.OFFSET, 2)
    # Already accounted for by the first hunk: clean, though GNU would say "offset 2".
    assert (second.status, second.offset) == (HunkStatus.CLEAN, 2)


def test_the_running_shift_adds_up_over_the_hunks_of_a_file(tmp_path: Path) -> None:
    # GNU patch's in_offset: once the first hunk was found 2 lines down, every later hunk is
    # expected 2 lines down too, so only the first reports an offset (it used to alternate:
    # the third hunk was searched from the stated line again, and read the file again).
    old = "".join(f"line {i}\n" for i in range(1, 31))
    patch = (
        PATCH
        + "@@ -24,7 +25,7 @@\n"
        + "".join(
            f"{'-' if i == 27 else ' '}line {i}\n" + (f"+line {i}b\n" if i == 27 else "")
            for i in range(24, 31)
        )
    )
    index, root = run(tmp_path, patch, {"dir/f.txt": "vendor a\nvendor b\n" + old})
    (file,) = predict(index, index.files, root, strip=1).files
    assert [(h.status, h.offset) for h in file.hunks] == [
        (HunkStatus.OFFSET, 2),
        (HunkStatus.CLEAN, 2),
        (HunkStatus.CLEAN, 2),
    ]


def test_missing_file(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"other.txt": "x\n"})
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == HunkStatus.MISSING_FILE
    assert all(h.status == HunkStatus.MISSING_FILE and h.needs_review for h in file.hunks)
    assert file.result_lines is None


def test_binary_target_is_a_conflict_with_a_reason(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {})
    (root / "dir").mkdir()
    (root / "dir/f.txt").write_bytes(b"\x00\x01binary")
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == HunkStatus.CONFLICT
    assert "binary" in file.reason


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt"])
def test_path_escaping_the_tree_is_refused(tmp_path: Path, name: str) -> None:
    patch = PATCH.replace("a/dir/f.txt", name).replace("b/dir/f.txt", name)
    index, root = run(tmp_path, patch, {"dir/f.txt": OLD})
    (tmp_path / "escape.txt").write_text(OLD)
    with pytest.raises(TreeError, match="outside the tree"):
        predict(index, index.files, root, strip=0)


def test_absolute_path_is_refused(tmp_path: Path) -> None:
    patch = PATCH.replace("a/dir/f.txt", "/etc/passwd").replace("b/dir/f.txt", "/etc/passwd")
    index, root = run(tmp_path, patch, {})
    with pytest.raises(TreeError, match="absolute"):
        predict(index, index.files, root, strip=0)


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_a_symlinked_file_is_a_conflict_and_never_read(tmp_path: Path, where: str) -> None:
    # GNU patch: "not a regular file -- refusing to patch". Read through the link, the diff
    # would be judged on another file than the one it names, and apply would either turn the
    # link into a file or change the file it points to.
    outside = tmp_path / "secret.txt"
    outside.write_text(OLD)
    index, root = run(tmp_path, PATCH, {"real.txt": OLD})
    (root / "dir").mkdir()
    os.symlink(outside if where == "outside" else Path("../real.txt"), root / "dir/f.txt")
    prediction = predict(index, index.files, root, strip=1)
    (file,) = prediction.files
    assert file.status == HunkStatus.CONFLICT and file.needs_review and not prediction.settled
    assert all(h.status == HunkStatus.CONFLICT and h.needs_review for h in file.hunks)
    assert "dir/f.txt is a symlink in the tree" in file.reason
    assert file.vendor_bytes is None and file.result_lines is None


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_a_path_beyond_a_symlinked_folder_is_a_conflict(tmp_path: Path, where: str) -> None:
    # git apply: "affected file is beyond a symbolic link". Folders are checked from the top,
    # one component at a time, so a link anywhere on the way is the reason.
    outside = tmp_path / "elsewhere"
    (outside / "deeper").mkdir(parents=True)
    (outside / "deeper/f.txt").write_text(OLD)
    patch = PATCH.replace("dir/f.txt", "dir/deeper/f.txt")
    index, root = run(tmp_path, patch, {"real/deeper/f.txt": OLD})
    os.symlink(outside if where == "outside" else Path("real"), root / "dir")
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == HunkStatus.CONFLICT and file.needs_review
    assert file.reason.startswith("dir is a symlink in the tree")
    assert ("(outside the tree)" in file.reason) is (where == "outside")


def test_statuses_only_keeps_no_contents(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"dir/f.txt": OLD})
    (kept,) = predict(index, index.files, root, strip=1).files
    (bare,) = predict(index, index.files, root, strip=1, keep_contents=False).files
    assert kept.vendor_bytes is not None and bare.vendor_bytes is None
    assert kept.hunks == bare.hunks


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_bad_tree_is_refused(tmp_path: Path, kind: str) -> None:
    index = index_bytes(PATCH.encode())
    tree = tmp_path / "nope"
    if kind == "file":
        tree.write_text("")
    with pytest.raises(TreeError):
        predict(index, index.files, tree, strip=1)


def test_excluded_hunks_are_reported_and_not_applied(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"dir/f.txt": OLD})
    (file,) = predict(index, index.files, root, strip=1, kept={1: frozenset({2})}).files
    assert [h.status for h in file.hunks] == [HunkStatus.EXCLUDED, HunkStatus.CLEAN]
    assert file.result_lines is not None
    assert b"added after 6\n" not in file.result_lines


def test_json_schema_fields(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"dir/f.txt": OLD})
    document = predict(index, index.files, root, strip=1).to_json()
    assert document["schema"] == SCHEMA
    json.dumps(document)  # serialisable
    files = document["files"]
    assert isinstance(files, list)
    hunk = files[0]["hunks"][0]
    assert files[0]["path"] == "dir/f.txt"
    for key in ("index", "status", "expected_line", "found_line", "offset", "fuzz"):
        assert key in hunk
    for key in ("needs_review", "reason", "candidates"):
        assert key in hunk


def test_predict_file_new_file_kinds() -> None:
    index = index_bytes(
        b"diff --git a/n.c b/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/n.c\n"
        b"@@ -0,0 +1,2 @@\n+int a;\n+int b;\n"
    )
    hunks = parse_file(index, index.files[0])
    absent = predict_file("n.c", None, hunks, ChangeKind.NEW)
    assert absent.status == HunkStatus.CLEAN
    assert absent.result_lines == (b"int a;\n", b"int b;\n")
    same = predict_file("n.c", b"int a;\nint b;\n", hunks, ChangeKind.NEW)
    assert same.status == HunkStatus.ALREADY_APPLIED
    other = predict_file("n.c", [b"int c;\n"], hunks, ChangeKind.NEW)
    assert other.status == HunkStatus.FILE_EXISTS
    assert other.result_lines == (b"int c;\n",)


def test_predict_file_deleted_file_kinds() -> None:
    index = index_bytes(
        b"diff --git a/d.c b/d.c\ndeleted file mode 100644\n--- a/d.c\n+++ /dev/null\n"
        b"@@ -1,2 +0,0 @@\n-int a;\n-int b;\n"
    )
    hunks = parse_file(index, index.files[0])
    assert (
        predict_file("d.c", b"int a;\nint b;\n", hunks, ChangeKind.DELETED).status
        == HunkStatus.CLEAN
    )
    assert predict_file("d.c", None, hunks, ChangeKind.DELETED).status == HunkStatus.ALREADY_APPLIED
    changed = predict_file("d.c", b"int a;\nint vendor;\nint b;\n", hunks, ChangeKind.DELETED)
    assert changed.status == HunkStatus.CONFLICT
    assert changed.hunks[0].alignment


def test_two_diffs_of_one_file_apply_in_sequence(tmp_path: Path) -> None:
    second = """\
diff --git a/dir/f.txt b/dir/f.txt
--- a/dir/f.txt
+++ b/dir/f.txt
@@ -6,3 +6,3 @@
 line 6
-added after 6
+ADDED AFTER 6
 line 7
"""
    index, root = run(tmp_path, PATCH + second, {"dir/f.txt": OLD})
    prediction = predict(index, index.files, root, strip=1)
    assert [f.status for f in prediction.files] == [HunkStatus.CLEAN, HunkStatus.CLEAN]
    final = prediction.files[1].result_lines
    assert final is not None and b"ADDED AFTER 6\n" in final


# --- a vanilla base -------------------------------------------------------------------------------

# Upstream adds a second wait; the same lines are three lines above, so without a base the
# duplicate-code rule flags the hunk. The vendor's file is vanilla's here.
WAIT = (
    "static int up(struct d *dev)\n{\n\tint ret;\n\n"
    "\tret = wait_ready(dev, TIMEOUT_MS);\n\tif (ret)\n\t\treturn ret;\n"
    "\twritel(CLK_ON, dev->base + CLK);\n\twritel(RST_OFF, dev->base + RST);\n"
    "\twritel(IRQ_ON, dev->base + IRQ);\n\n\treturn 0;\n}\n"
)
WAIT_PATCH = """\
diff --git a/drv/up.c b/drv/up.c
--- a/drv/up.c
+++ b/drv/up.c
@@ -8,6 +8,9 @@ static int up(struct d *dev)
 \twritel(CLK_ON, dev->base + CLK);
 \twritel(RST_OFF, dev->base + RST);
 \twritel(IRQ_ON, dev->base + IRQ);
+\tret = wait_ready(dev, TIMEOUT_MS);
+\tif (ret)
+\t\treturn ret;
\x20
 \treturn 0;
 }
"""


def vanilla_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "vanilla"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_base_directory_clears_a_duplicate_flag(tmp_path: Path) -> None:
    index, root = run(tmp_path, WAIT_PATCH, {"drv/up.c": WAIT})
    flagged = predict(index, index.files, root, strip=1).files[0].hunks[0]
    assert flagged.status == HunkStatus.CLEAN
    assert flagged.needs_review
    base = vanilla_with(tmp_path, {"drv/up.c": WAIT})
    cleared = predict(index, index.files, root, strip=1, base=base).files[0].hunks[0]
    assert cleared.status == HunkStatus.CLEAN
    assert not cleared.needs_review
    assert cleared.reason.startswith(flagged.reason + "; ")
    assert "equals vanilla's" in cleared.reason


def test_base_reader_callable_and_predict_file(tmp_path: Path) -> None:
    index, root = run(tmp_path, WAIT_PATCH, {"drv/up.c": WAIT})
    asked: list[str] = []

    def read(path: str) -> bytes | None:
        asked.append(path)
        return WAIT.encode()

    prediction = predict(index, index.files, root, strip=1, base=read)
    assert asked == ["drv/up.c"]
    assert prediction.settled
    hunks = parse_file(index, index.files[0])
    file = predict_file(
        "drv/up.c", WAIT.encode(), hunks, ChangeKind.MODIFIED, base_lines=WAIT.encode()
    )
    assert not file.needs_review


def test_base_is_read_only_for_flagged_exact_matches(tmp_path: Path) -> None:
    index, root = run(tmp_path, PATCH, {"dir/f.txt": OLD})

    def read(path: str) -> bytes | None:
        raise AssertionError(f"read {path} although nothing is flagged")

    assert predict(index, index.files, root, strip=1, base=read).settled


def test_base_keeps_the_flag_when_the_vendor_changed_the_neighbourhood(tmp_path: Path) -> None:
    index, root = run(tmp_path, WAIT_PATCH, {"drv/up.c": WAIT})
    # Vanilla lacked the first wait: the vendor added it (a backport next to upstream's place).
    vanilla = WAIT.replace(
        "\tret = wait_ready(dev, TIMEOUT_MS);\n\tif (ret)\n\t\treturn ret;\n", ""
    )
    base = vanilla_with(tmp_path, {"drv/up.c": vanilla})
    hunk = predict(index, index.files, root, strip=1, base=base).files[0].hunks[0]
    assert hunk.needs_review
    assert "vanilla" not in hunk.reason


def test_a_symlink_in_the_vanilla_tree_is_not_followed(tmp_path: Path) -> None:
    # The link's target would clear the flag if it were read; it is not: no vanilla file, no
    # clearing, and nothing from outside the vanilla tree reaches a report.
    index, root = run(tmp_path, WAIT_PATCH, {"drv/up.c": WAIT})
    outside = tmp_path / "secret.c"
    outside.write_text(WAIT)
    base = tmp_path / "vanilla"
    (base / "drv").mkdir(parents=True)
    os.symlink(outside, base / "drv/up.c")
    flagged = predict(index, index.files, root, strip=1).files[0].hunks[0]
    assert flagged.needs_review
    hunk = predict(index, index.files, root, strip=1, base=base).files[0].hunks[0]
    assert hunk == flagged


def test_missing_base_directory_names_the_option(tmp_path: Path) -> None:
    index, root = run(tmp_path, WAIT_PATCH, {"drv/up.c": WAIT})
    with pytest.raises(TreeError, match="vanilla tree") as raised:
        predict(index, index.files, root, strip=1, base=tmp_path / "nowhere")
    assert raised.value.hint is not None and "--base" in raised.value.hint


def test_base_is_not_used_for_a_later_diff_of_the_same_file(tmp_path: Path) -> None:
    # A second diff of a file was made against vanilla plus the first one: the vanilla file on
    # disk is not what it was made against, so it must not vouch for it.
    down = "\nstatic void down(struct d *dev)\n{\n\twritel(0, dev->base + IRQ);\n}\n"
    first = """\
diff --git a/drv/up.c b/drv/up.c
--- a/drv/up.c
+++ b/drv/up.c
@@ -15,4 +15,4 @@
 static void down(struct d *dev)
 {
-\twritel(0, dev->base + IRQ);
+\twritel(0, dev->base + CLK);
 }
"""
    index, root = run(tmp_path, first + WAIT_PATCH, {"drv/up.c": WAIT + down})
    asked: list[str] = []

    def read(path: str) -> bytes | None:
        asked.append(path)
        return (WAIT + down).encode()

    prediction = predict(index, index.files, root, strip=1, base=read)
    assert [f.hunks[0].status for f in prediction.files] == [HunkStatus.CLEAN] * 2
    assert prediction.files[1].hunks[0].needs_review
    assert asked == []


@given(
    name=st.lists(st.sampled_from(["a", "b", "", "..", "."]), max_size=5).map("/".join),
    strip=st.integers(min_value=0, max_value=4),
)
def test_strip_path_keeps_patch_s_meaning(name: str, strip: int) -> None:
    # -p N drops N components; empty components (a leading, doubled or trailing "/") count for
    # nothing, as in GNU patch; too few components is an error, never an empty path. A "."
    # counts for -p and is then dropped ("./x.c" is "x.c": one name for check and apply); a
    # name that is only "." components after the strip is an error too.
    parts = [part for part in name.split("/") if part]
    kept = [part for part in parts[strip:] if part != "."]
    if (name.startswith("/") and strip == 0) or len(parts) <= strip or not kept:
        with pytest.raises(TreeError):
            strip_path(name, strip)
    else:
        assert strip_path(name, strip) == "/".join(kept)


MODE_PATCH = (Path(__file__).resolve().parents[2] / "fixtures/patches/git_modes.diff").read_text()
"""A mode change with a hunk (run.sh 755 -> 644), one alone (only.sh 644 -> 755), a new script."""


@pytest.mark.parametrize(
    ("modes", "expected", "settled"),
    [
        ((0o755, 0o644), (HunkStatus.CLEAN, HunkStatus.CLEAN), True),
        ((0o644, 0o755), (HunkStatus.ALREADY_APPLIED, HunkStatus.ALREADY_APPLIED), True),
        ((0o744, 0o711), (HunkStatus.CLEAN, HunkStatus.ALREADY_APPLIED), True),  # owner's bit
    ],
)
def test_a_mode_change_is_judged_on_the_trees_mode(
    tmp_path: Path,
    modes: tuple[int, int],
    expected: tuple[HunkStatus, HunkStatus],
    settled: bool,
) -> None:
    index, root = run(
        tmp_path, MODE_PATCH, {"scripts/run.sh": "echo a\necho b\necho c\n", "scripts/only.sh": ""}
    )
    for name, mode in zip(("run.sh", "only.sh"), modes, strict=True):
        (root / "scripts" / name).chmod(mode)
    prediction = predict(index, index.files, root, strip=1)
    with_hunks, mode_only, new_script = prediction.files
    assert new_script.mode is None and new_script.status == HunkStatus.CLEAN
    assert with_hunks.mode is not None and mode_only.mode is not None
    assert (with_hunks.mode.status, mode_only.mode.status) == expected
    # The hunks keep their own verdict; a diff without hunks takes the mode's.
    assert [h.status for h in with_hunks.hunks] == [HunkStatus.CLEAN]
    assert mode_only.status == expected[1]
    assert "mode 100755 → 100644" in with_hunks.reason
    assert prediction.settled is settled
    document = prediction.to_json()["files"]
    assert isinstance(document, list)
    assert document[1]["mode"] == {
        "old": "100644",
        "new": "100755",
        "found": mode_only.mode.found,
        "status": str(expected[1]),
    }


def test_a_mode_change_on_a_symlink_is_a_conflict(tmp_path: Path) -> None:
    index, root = run(tmp_path, MODE_PATCH, {"scripts/run.sh": "echo a\necho b\necho c\n"})
    (root / "scripts" / "only.sh").symlink_to("run.sh")
    prediction = predict(index, index.files, root, strip=1)
    mode = prediction.files[1].mode
    assert mode is not None and (mode.found, mode.status) == ("120000", HunkStatus.CONFLICT)
    assert prediction.files[1].needs_review and not prediction.settled
    assert prediction.review_count == 1


LINK_PATCH = """\
diff --git a/include/dt-bindings b/include/dt-bindings
new file mode 120000
index 0000000..1234567
--- /dev/null
+++ b/include/dt-bindings
@@ -0,0 +1 @@
+../scripts/dtc/include-prefixes/dt-bindings
\\ No newline at end of file
"""


@pytest.mark.parametrize(
    ("existing", "status"),
    [
        (None, HunkStatus.CLEAN),
        ("../scripts/dtc/include-prefixes/dt-bindings", HunkStatus.ALREADY_APPLIED),
        ("/etc", HunkStatus.FILE_EXISTS),  # a link out of the tree: read as text, not followed
    ],
)
def test_a_new_symlink_is_judged_on_the_link_not_through_it(
    tmp_path: Path, existing: str | None, status: HunkStatus
) -> None:
    index, root = run(tmp_path, LINK_PATCH, {"include/linux/x.h": ""})
    if existing is not None:
        (root / "include/dt-bindings").symlink_to(existing)
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.status == status
    assert [h.status for h in file.hunks] == [status]
    if status == HunkStatus.CLEAN:
        assert file.reason == "new symlink → ../scripts/dtc/include-prefixes/dt-bindings"
        assert file.result_lines == (b"../scripts/dtc/include-prefixes/dt-bindings",)
    assert file.needs_review is (status == HunkStatus.FILE_EXISTS)


# Files made of few distinct lines, so hunks repeat and the ladder's ambiguity and duplicate
# rules fire; edits that replace, insert and delete runs of them.
_LINES = st.sampled_from(["a\n", "b\n", "c\n", "{\n", "}\n", "\n", "return 0;\n", "x++;\n"])
_FILES = st.lists(_LINES, min_size=1, max_size=40)


@st.composite
def _edits(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    old = draw(_FILES)
    new = list(old)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        start = draw(st.integers(min_value=0, max_value=len(new)))
        end = draw(st.integers(min_value=start, max_value=min(len(new), start + 3)))
        new[start:end] = draw(st.lists(_LINES, max_size=3))
    return old, new


@given(_edits())
@settings(max_examples=150, deadline=None)
def test_on_the_vanilla_file_every_hunk_is_clean_and_the_result_is_upstreams(
    edit: tuple[list[str], list[str]],
) -> None:
    # On the file the patch was made against, every hunk matches where it says (a review
    # flag is allowed: the lines repeat), and applying them gives exactly the patch's result.
    old, new = edit
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    if not diff:
        return
    index = index_bytes(diff.encode())
    (file,) = predict_file_of(index, "".join(old).encode())
    assert [(h.status, h.offset) for h in file.hunks] == [(HunkStatus.CLEAN, 0)] * len(file.hunks)
    assert file.result_lines is not None
    assert b"".join(file.result_lines) == "".join(new).encode()


def predict_file_of(index: PatchIndex, data: bytes) -> tuple[FilePrediction]:
    (entry,) = index.files
    return (predict_file("f.c", data, parse_file(index, entry), entry.kind),)


@st.composite
def _vendor_edits(draw: st.DrawFn) -> tuple[list[str], list[str], list[str], list[str]]:
    """(vanilla, upstream's result, the vendor's file, what applying upstream to it must give).

    The vendor's file is vanilla with lines inserted outside every hunk ("moved"), with a copy
    of one hunk's old lines inserted there (a duplicated helper: "copied"), or with one hunk's
    first context line changed ("fuzzed"). In each case the right result is upstream's change
    where upstream made it, with the vendor's own lines kept.
    """
    old, new = draw(_edits())
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    index = index_bytes(diff.encode()) if diff else None
    hunks = parse_file(index, index.files[0]) if index is not None else ()
    spans = [(h.old_start - 1 if h.old_count else h.old_start, h) for h in hunks]
    free = [i for i in range(len(old) + 1) if all(i <= s or i >= s + h.old_count for s, h in spans)]
    vendor, expected = list(old), list(new)

    def insert(point: int, added: list[str]) -> None:
        # Where ``point`` lands in upstream's result: shifted by every hunk above it.
        shift = sum(h.new_count - h.old_count for s, h in spans if s + h.old_count <= point)
        vendor[point:point] = added
        expected[point + shift : point + shift] = added

    kind = draw(st.sampled_from(["moved", "copied", "fuzzed"]))
    if kind == "moved" and free:
        for point in sorted(draw(st.lists(st.sampled_from(free), max_size=4)), reverse=True):
            insert(point, draw(st.lists(_LINES, min_size=1, max_size=3)))
    elif kind == "copied" and free and spans:
        _start, hunk = draw(st.sampled_from(spans))
        copy = [line.decode() for line in hunk.old_lines] or ["x++;\n"]
        insert(draw(st.sampled_from(free)), copy)
    elif kind == "fuzzed" and spans:
        _start, hunk = draw(st.sampled_from(spans))
        if hunk.ops.startswith(" ") and hunk.old_count and hunk.new_count:
            other = draw(_LINES.filter(lambda line: line != old[hunk.old_start - 1]))
            vendor[hunk.old_start - 1] = expected[hunk.new_start - 1] = other
    return old, new, vendor, expected


def _letters(text: str) -> list[str]:
    return [f"{letter}\n" for letter in text.split()]


@given(_vendor_edits())
@settings(max_examples=1000, deadline=None)
# Found by hypothesis ("fuzzed": the hunk's first context line edited): the hunk removes the
# file's last "b a" after three "a"; its post-image "a a a" stands at lines 1-3 of the vendor's
# file, and it was called already applied there, unflagged, with "b a" left in the file.
@example(
    (
        _letters("a a a a a a b a"),
        _letters("a a a a a a"),
        _letters("a a a c a a b a"),
        _letters("a a a c a a"),
    )
)
def test_an_unflagged_verdict_on_a_vendor_file_is_never_wrong(
    case: tuple[list[str], list[str], list[str], list[str]],
) -> None:
    # The tool's promise: when every hunk is clean, offset or already applied and none is
    # flagged, applying them gives exactly upstream's change on the vendor's file. A flag may
    # be raised (the lines repeat, so a hunk can match in several places); being wrong without
    # one may not. benchmarks/generated_traps.py counts the same against GNU patch and git.
    old, new, vendor, expected = case
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    if not diff:
        return
    index = index_bytes(diff.encode())
    (file,) = predict_file_of(index, "".join(vendor).encode())
    if all(h.status in SETTLED and not h.needs_review for h in file.hunks):
        assert file.result_lines is not None
        assert b"".join(file.result_lines) == "".join(expected).encode()


_BODY_LINES = st.sampled_from(
    ["\ta\n", "\tb\n", "\tc\n", "\t{\n", "\t}\n", "\n", "\treturn 0;\n", "\tx++;\n"]
)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_a_fix_the_vendor_already_carries_is_never_applied_silently(data: st.DataObject) -> None:
    # The vendor's file is upstream's result (inside one function, as a backport is): each
    # hunk must be reported already applied, or flagged; a clean or offset verdict without a
    # flag would apply the fix a second time, which is what GNU patch -f does.
    old = data.draw(st.lists(_BODY_LINES, min_size=1, max_size=40))
    new = list(old)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        start = data.draw(st.integers(min_value=0, max_value=len(new)))
        end = data.draw(st.integers(min_value=start, max_value=min(len(new), start + 3)))
        new[start:end] = data.draw(st.lists(_BODY_LINES, max_size=3))
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    if not diff:
        return
    index = index_bytes(diff.encode())
    (file,) = predict_file_of(index, ("int f(void)\n" + "".join(new)).encode())
    for hunk in file.hunks:
        assert hunk.status == HunkStatus.ALREADY_APPLIED or hunk.needs_review, hunk


def _free_points(old: list[str], hunks: tuple[Hunk, ...]) -> list[int]:
    """Indexes of ``old`` outside every hunk: where a vendor's lines leave upstream's alone."""
    spans = [(h.old_start - 1 if h.old_count else h.old_start, h) for h in hunks]
    return [i for i in range(len(old) + 1) if all(i <= s or i >= s + h.old_count for s, h in spans)]


def _insert(
    hunks: tuple[Hunk, ...], vendor: list[str], right: list[str], point: int, lines: list[str]
) -> None:
    """Add ``lines`` at index ``point`` of the vendor's file, and where that point lands in
    upstream's result (shifted by every hunk above it)."""
    spans = [(h.old_start - 1 if h.old_count else h.old_start, h) for h in hunks]
    shift = sum(h.new_count - h.old_count for s, h in spans if s + h.old_count <= point)
    vendor[point:point] = lines
    right[point + shift : point + shift] = lines


@st.composite
def _deleted_blocks(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(the diff, the vendor's file, what applying it must give): upstream deletes a block,
    the vendor edited one of its lines, and a copy of a hunk's result (the lines around the
    block, joined) stands elsewhere, so the file reads as already applied there.

    The body is indented inside one function, as code is: a line at the margin reads as a
    definition, and a file of nothing but definitions has no "same function" to speak of."""
    body = draw(st.lists(_BODY_LINES, min_size=8, max_size=40))
    old = ["int f(void)\n", "{\n", *body, "}\n"]
    size = draw(st.integers(min_value=1, max_value=6))
    start = draw(st.integers(min_value=2, max_value=len(old) - 2))
    new = old[:start] + old[start + size : len(old) - 1] + old[-1:]
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    index = index_bytes(diff.encode())
    hunks = parse_file(index, index.files[0])
    removed = [
        (h.old_start - 1) + i
        for h in hunks
        for i, op in enumerate(op for op in h.ops if op != "+")
        if op == "-"
    ]
    vendor, right = list(old), list(new)
    edited = draw(st.sampled_from(removed))
    vendor[edited] = draw(_BODY_LINES.filter(lambda line: line != old[edited]))
    free = _free_points(old, hunks)
    hunk = draw(st.sampled_from(hunks))
    frame = (old[0], old[1], old[-1])
    copy = [line.decode() for line in hunk.new_lines if line.decode() not in frame]
    if free and copy:
        _insert(hunks, vendor, right, draw(st.sampled_from(free)), copy)
    return diff, vendor, right


@given(_deleted_blocks())
@settings(max_examples=500, deadline=None)
def test_a_deleted_block_the_vendor_edited_is_never_settled_wrong(
    case: tuple[str, list[str], list[str]],
) -> None:
    # The file reads as "already applied" where the copy of the result stands, and as "not
    # applied" where the edited block still stands: a verdict that settles it must be right.
    diff, vendor, right = case
    index = index_bytes(diff.encode())
    text = "".join(vendor).encode()
    # The shape is a block the pre-image no longer matches. An edit that happens to rebuild
    # the pre-image a line or two away is another shape (a place that matches exactly, as in
    # "moved"), where any tool takes the exact match.
    assume(all(b"".join(h.old_lines) not in text for h in parse_file(index, index.files[0])))
    (file,) = predict_file_of(index, text)
    if all(h.status in SETTLED and not h.needs_review for h in file.hunks):
        assert file.result_lines is not None
        assert b"".join(file.result_lines) == "".join(right).encode()


@st.composite
def _ties(draw: st.DrawFn) -> tuple[str, str, str]:
    """(the diff, the vendor's file, what applying it must give): two functions end with the
    same lines, upstream changes the second one's (its hunk header names it, as git writes
    it), and the vendor's lines at the top bring the first's nearer to the stated line."""
    tail = draw(st.lists(_BODY_LINES, min_size=8, max_size=12))
    point = draw(st.integers(min_value=3, max_value=len(tail) - 4))
    changed = list(tail)
    changed[point : point + draw(st.integers(0, 1))] = draw(
        st.lists(_BODY_LINES, min_size=1, max_size=2)
    )
    first = ["int first(void)\n", "{\n", *draw(st.lists(_BODY_LINES, max_size=5)), *tail]
    first += ["}\n", "\n"]
    body = draw(st.lists(_BODY_LINES, max_size=5))
    old = [*first, "int second(void)\n", "{\n", *body, *tail, "}\n"]
    new = [*first, "int second(void)\n", "{\n", *body, *changed, "}\n"]
    diff = "".join(difflib.unified_diff(old, new, "a/f.c", "b/f.c"))
    # The section git writes: the nearest definition line above each hunk.
    sections = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("@@ "):
            stated = int(line.split()[1].split(",")[0][1:])
            above = [text for text in old[: stated - 1] if text[:1].isalpha()]
            line = line.rstrip("\n") + (f" {above[-1].rstrip()}" if above else "") + "\n"
        sections.append(line)
    gap = len(tail) + 4 + len(body)
    top = [f"/* vendor {n} */\n" for n in range(draw(st.integers(gap // 2 + 1, 2 * gap)))]
    return "".join(sections), "".join(top + old), "".join(top + new)


@given(_ties())
@settings(max_examples=300, deadline=None)
def test_a_tie_is_never_settled_wrong_and_goes_to_the_named_function(
    case: tuple[str, str, str],
) -> None:
    diff, vendor, right = case
    if diff.count("@@ ") == 0:
        return
    index = index_bytes(diff.encode())
    (file,) = predict_file_of(index, vendor.encode())
    if all(h.status in SETTLED and not h.needs_review for h in file.hunks):
        assert file.result_lines is not None
        assert b"".join(file.result_lines) == right.encode()
    lines = vendor.encode().splitlines(keepends=True)
    for hunk in file.hunks:
        # Where a proposal or --accept would put the change: in the function the header names.
        if hunk.placement is not None and hunk.placement.hunk.section.startswith("int second"):
            found = enclosing_function(lines, hunk.placement.start)
            assert found is not None and found[1] == b"int second(void)\n", hunk.reason


_LINK_SHAPES = ("file link", "folder link", "folder link out of the tree", "new file over a link")


@given(_edits(), st.sampled_from(_LINK_SHAPES))
@settings(max_examples=100, deadline=None)
def test_a_diff_through_a_link_is_never_settled(
    edit: tuple[list[str], list[str]], shape: str
) -> None:
    # The file the patch changes is a symlink, or lies beyond one, or the patch creates a file
    # where the tree has a link: writing the link's target would change every path sharing it,
    # so check never settles it (apply gives the same verdicts: tests/workspace).
    old, new = edit
    name = "d/f.c" if "folder" in shape else "f.c"
    if shape == "new file over a link":
        body = "".join(f"+{line}" for line in new)
        diff = f"--- /dev/null\n+++ b/f.c\n@@ -0,0 +1,{len(new)} @@\n{body}" if new else ""
    else:
        diff = "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))
    if not diff:
        return
    index = index_bytes(diff.encode())
    with tempfile.TemporaryDirectory() as scratch:
        tree, outside = Path(scratch) / "tree", Path(scratch) / "outside"
        (tree / "real").mkdir(parents=True)
        outside.mkdir()
        for folder in (tree / "real", outside):
            (folder / "f.c").write_text("".join(old))
        if shape == "folder link":
            os.symlink("real", tree / "d")
        elif shape == "folder link out of the tree":
            os.symlink("../outside", tree / "d")
        else:
            os.symlink("real/f.c", tree / "f.c")
        before = snapshot(Path(scratch))
        try:
            prediction = predict(index, index.files, tree, strip=1)
        except TreeError:
            return  # refused: a person is told
        finally:
            assert snapshot(Path(scratch)) == before
        assert not prediction.settled
        assert all(h.needs_review for f in prediction.files for h in f.hunks)


def test_a_copy_the_next_hunk_rules_out_is_not_asked_about_in_the_named_function(
    tmp_path: Path,
) -> None:
    # The first hunk's lines also stand in g(), below the second hunk, which matches where the
    # patch says and nowhere else. With the header naming f(), defined once, and the match in
    # it, the name and the hunks' order agree that g() is not the first hunk's place: predict
    # lifts its ambiguity flag, and says why. With no function named, the order alone would
    # speak (the vendor may have moved f() below and kept a copy): still flagged. With the copy
    # above the second hunk instead (in f(), between them), either place could be it: flagged.
    patch = (
        "--- a/f.c\n+++ b/f.c\n"
        "@@ -4,2 +4,3 @@{name}\n \tsetup();\n+\tprobe();\n \tb = 2;\n"
        "@@ -8,3 +9,3 @@{name}\n \tc = 3;\n-\tteardown();\n+\tteardown(dev);\n \td = 4;\n"
    )
    copy = "\ta = 1;\n\tsetup();\n\tb = 2;\n"
    below = (
        "/* vendor */\nint f(void)\n{\n" + copy + "\n\n\tc = 3;\n\tteardown();\n\td = 4;\n}\n\n"
        "int g(void)\n{\n" + copy + "}\n"
    )
    index, root = run(tmp_path, patch.format(name=" int f(void)"), {"f.c": below})
    (file,) = predict(index, index.files, root, strip=1).files
    first, second = file.hunks
    # The second is clean: the first hunk's shift was already seen.
    assert second.status == HunkStatus.CLEAN and not second.needs_review
    assert first.status == HunkStatus.OFFSET and not first.needs_review
    assert "the order and the name agree" in first.reason and "ambiguous" in first.reason
    unnamed = index_bytes(patch.format(name="").encode())
    (file,) = predict(unnamed, unnamed.files, root, strip=1).files
    assert file.hunks[0].needs_review and "the order and the name agree" not in file.hunks[0].reason
    between = (
        "/* vendor */\nint f(void)\n{\n" + copy + copy + "\tc = 3;\n\tteardown();\n\td = 4;\n}\n"
    )
    (root / "f.c").write_text(between)
    (file,) = predict(index, index.files, root, strip=1).files
    assert file.hunks[0].needs_review and "the order and the name agree" not in file.hunks[0].reason

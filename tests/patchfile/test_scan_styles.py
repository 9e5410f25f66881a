"""The lazy scan of every patch style equals the eager one, and filterdiff, byte for byte.

``filter`` reads a patch with the lazy index: a run of plain file diffs of one style (git,
``diff -urN``, ``-p0``/quilt names, context format) is found by one regular expression that
checks every line and jumps from one file diff's header to the next; hunks are counted only
for the files it keeps. Everything here compares it with the eager index (which reads and
counts every hunk of every file) and, where patchutils is installed, with ``filterdiff``.

The trap every test here circles: inside a hunk, a removed line ``-- x`` is written
``--- x`` and an added ``++ y`` is ``+++ y``. With a hunk after them, they look exactly like
the header of a file diff without a ``diff`` line; only the counts of the hunk before them
tell which they are.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchsmith.errors import PatchParseError
from patchsmith.patchfile import scan
from patchsmith.patchfile.index import (
    ChangeKind,
    DiffFormat,
    HunkEntry,
    LazyFiles,
    PatchIndex,
    index_sources,
)
from patchsmith.patchfile.select import RangeSet, Selection, render, select
from patchsmith.patchfile.source import PatchSource
from tests.support.paths import PATCHES

FILTERDIFF = shutil.which("filterdiff")
needs_filterdiff = pytest.mark.skipif(FILTERDIFF is None, reason="patchutils is not installed")

STAMP = b"\t2023-01-07 10:12:04.000000000 +0000"


def lazy(data: bytes) -> PatchIndex:
    return index_sources([PatchSource("<patch>", data)], lazy=True)


def taken(index: PatchIndex) -> LazyFiles:
    """The lazy index's file list, with its pairs as taken."""
    assert isinstance(index.files, LazyFiles)
    return index.files


def eager(data: bytes) -> PatchIndex:
    return index_sources([PatchSource("<patch>", data)])


def written(
    index: PatchIndex, selection: Selection, verbose: bool = False, bytes_only: bool = False
) -> bytes:
    return b"".join(render(select(index, selection, bytes_only=bytes_only), verbose=verbose))


def filterdiff(data: bytes, tmp: Path, *options: str) -> bytes:
    assert FILTERDIFF is not None
    path = tmp / "input.diff"
    path.write_bytes(data)
    return subprocess.run([FILTERDIFF, *options, str(path)], check=True, capture_output=True).stdout


def assert_same_index(data: bytes) -> None:
    """The lazy index is the eager one: entries, line numbers, hunks, every byte in its piece."""
    fast, slow = lazy(data), eager(data)
    assert [(f.start, f.end, f.lead_start) for f in fast.files] == [
        (f.start, f.end, f.lead_start) for f in slow.files
    ]
    assert fast.files == slow.files
    assert [f.line for f in fast.files] == [f.line for f in slow.files]
    assert [tuple(f.hunks) for f in fast.files] == [tuple(f.hunks) for f in slow.files]
    assert b"".join(fast.pieces()) == data


# --- the trap, by hand --------------------------------------------------------------------------

# "-p0" names, no "diff" lines: the hunk of drivers/md/dm.c removes "-- kernel/fork.c" and adds
# "++ kernel/fork.c" as its last two lines, and its second hunk follows. One file diff.
PAIR_INSIDE_A_HUNK = (
    b"--- drivers/md/dm.c" + STAMP + b"\n"
    b"+++ drivers/md/dm.c" + STAMP + b"\n"
    b"@@ -1,2 +1,2 @@\n"
    b" int a;\n"
    b"--- kernel/fork.c" + STAMP + b"\n"
    b"+++ kernel/fork.c" + STAMP + b"\n"
    b"@@ -10 +10 @@\n"
    b"-int b;\n"
    b"+int c;\n"
)

# The same lines after a hunk that is complete without them: a second file diff.
PAIR_AFTER_A_COMPLETE_HUNK = PAIR_INSIDE_A_HUNK.replace(b"@@ -1,2 +1,2 @@", b"@@ -1 +1 @@")


def test_a_pair_inside_a_hunk_is_two_lines_of_it() -> None:
    assert_same_index(PAIR_INSIDE_A_HUNK)
    (entry,) = lazy(PAIR_INSIDE_A_HUNK).files
    assert entry.path == "drivers/md/dm.c"
    assert [(h.old_count, h.removed, h.added) for h in entry.hunks] == [(2, 1, 1), (1, 1, 1)]
    assert written(lazy(PAIR_INSIDE_A_HUNK), Selection(only=("kernel",))) == b""


def test_a_pair_after_a_complete_hunk_starts_a_file_diff() -> None:
    assert_same_index(PAIR_AFTER_A_COMPLETE_HUNK)
    assert [f.path for f in lazy(PAIR_AFTER_A_COMPLETE_HUNK).files] == [
        "drivers/md/dm.c",
        "kernel/fork.c",
    ]
    kernel = written(lazy(PAIR_AFTER_A_COMPLETE_HUNK), Selection(only=("kernel",)))
    assert kernel.startswith(b"--- kernel/fork.c")


@needs_filterdiff
@pytest.mark.parametrize("data", [PAIR_INSIDE_A_HUNK, PAIR_AFTER_A_COMPLETE_HUNK])
@pytest.mark.parametrize("glob", ["kernel/*", "drivers/*"])
def test_the_pair_reads_as_filterdiff_reads_it(data: bytes, glob: str, tmp_path: Path) -> None:
    ours = written(lazy(data), Selection(includes=(glob,)))
    assert ours == filterdiff(data, tmp_path, "-i", glob)


def test_a_new_files_hunk_cannot_hold_the_pair() -> None:
    # A hunk that removes nothing cannot end in a removed "-- x" line: no count is needed.
    data = (
        b"--- /dev/null" + STAMP + b"\n+++ drivers/md/new.c" + STAMP + b"\n@@ -0,0 +1,2 @@\n"
        b"+int a;\n+int b;\n"
        b"--- kernel/fork.c" + STAMP + b"\n+++ kernel/fork.c" + STAMP + b"\n@@ -1 +1 @@\n-x\n+y\n"
    )
    assert_same_index(data)
    assert [f.old_name for f in lazy(data).files] == [None, "kernel/fork.c"]


# --- pairs settled only around the kept files (filter: select(..., bytes_only=True)) ------------
#
# The lazy index takes every pair after a hunk as a header and counts the hunk before it only
# where that can change what filter writes. Each input below holds pairs that are hunk lines,
# placed where taking them as headers would write something else: a file diff that is not
# one kept, a kept one cut short, the files after it numbered one too many, the strip level
# voted the other way.


def p0_file(name: bytes, *hunks: bytes) -> bytes:
    return b"--- " + name + STAMP + b"\n+++ " + name + STAMP + b"\n" + b"".join(hunks)


def hunk_ending_in_a_pair(old: bytes, new: bytes) -> bytes:
    """A hunk whose last two lines are a removed "-- OLD" and an added "++ NEW": with the next
    hunk after it, they read as the header of a file diff OLD -> NEW."""
    return b"@@ -1,2 +1,2 @@\n int a;\n--- " + old + b"\n+++ " + new + b"\n"


LAST_HUNK = b"@@ -20 +20 @@\n-p\n+q\n"

# kernel/fork.c (left out) ends a hunk in a pair naming drivers/md/evil.c, then the real
# drivers/md/dm.c (kept) and fs/super.c.
PAIR_IN_A_LEFT_OUT_FILE = (
    p0_file(b"kernel/fork.c", hunk_ending_in_a_pair(b"drivers/md/evil.c", b"drivers/md/evil.c"))
    + LAST_HUNK
    + p0_file(b"drivers/md/dm.c", b"@@ -3 +3 @@\n-x\n+y\n")
    + p0_file(b"fs/super.c", b"@@ -7 +7 @@\n-s\n+t\n")
)


def lazy_and_eager_write(data: bytes, selection: Selection) -> bytes:
    """What filter writes, read lazily, after checking it is what the eager index writes."""
    ours = written(lazy(data), selection, bytes_only=True)
    assert ours == written(eager(data), selection)
    return ours


def test_a_pair_in_a_left_out_file_is_not_a_kept_file() -> None:
    assert [f.path for f in eager(PAIR_IN_A_LEFT_OUT_FILE).files] == [
        "kernel/fork.c",
        "drivers/md/dm.c",
        "fs/super.c",
    ]
    index = lazy(PAIR_IN_A_LEFT_OUT_FILE)
    assert taken(index).taken() == 4  # taken: drivers/md/evil.c is a file diff
    ours = lazy_and_eager_write(PAIR_IN_A_LEFT_OUT_FILE, Selection(only=("drivers/md",)))
    assert ours == p0_file(b"drivers/md/dm.c", b"@@ -3 +3 @@\n-x\n+y\n")


def test_a_pair_far_from_the_kept_files_is_left_unsettled() -> None:
    index = lazy(PAIR_IN_A_LEFT_OUT_FILE)
    result = select(index, Selection(only=("fs",)), bytes_only=True)
    assert b"".join(render(result)) == p0_file(b"fs/super.c", b"@@ -7 +7 @@\n-s\n+t\n")
    # drivers/md/evil.c (1) is still taken as a file diff, and drivers/md/dm.c (2) as starting
    # after it: nothing around fs/super.c (3) needed them.
    assert taken(index).unsettled == {1, 2}
    # A decision looked at now would need every pair settled, and the list read again would
    # number fs/super.c 3, not 4: refused, never answered with the wrong file.
    with pytest.raises(RuntimeError):
        result.decisions[0]


@pytest.mark.parametrize("files", ["2", "3", "x1", "2-"])
def test_files_numbers_count_only_real_file_diffs(files: str) -> None:
    selection = Selection(files=RangeSet.parse(files))
    lazy_and_eager_write(PAIR_IN_A_LEFT_OUT_FILE, selection)
    lazy_and_eager_write(
        PAIR_IN_A_LEFT_OUT_FILE, Selection(files=RangeSet.parse(files), only=("fs",))
    )


def test_a_kept_file_runs_on_over_a_pair_in_its_hunk() -> None:
    data = (
        p0_file(b"drivers/md/dm.c", hunk_ending_in_a_pair(b"kernel/fork.c", b"kernel/fork.c"))
        + LAST_HUNK
        + p0_file(b"fs/super.c", b"@@ -7 +7 @@\n-s\n+t\n")
    )
    ours = lazy_and_eager_write(data, Selection(only=("drivers/md",)))
    assert ours == data[: data.index(b"--- fs/super.c")]
    assert lazy_and_eager_write(data, Selection(only=("kernel",))) == b""


def test_pairs_that_would_outvote_the_strip_level_are_counted() -> None:
    # linux-old/ -> linux-new/ names vote -p1; the two pairs in its hunks would vote -p0 twice.
    # Taken as headers they would make the level 0, and "--only kernel" would keep nothing.
    data = (
        b"--- linux-old/kernel/fork.c"
        + STAMP
        + b"\n+++ linux-new/kernel/fork.c"
        + STAMP
        + b"\n"
        + hunk_ending_in_a_pair(b"fs/inode.c", b"fs/inode.c")
        + hunk_ending_in_a_pair(b"fs/super.c", b"fs/super.c").replace(b"-1,2 +1,2", b"-9,2 +9,2")
        + LAST_HUNK
    )
    assert lazy_and_eager_write(data, Selection(only=("kernel",))) == data


def test_a_p0_kernel_patch_settles_no_pair_for_the_strip_level() -> None:
    # Every file diff votes -p0 (kernel top-level folders, no prefix): no pair can change it.
    data = PAIR_AFTER_A_COMPLETE_HUNK + p0_file(b"fs/super.c", b"@@ -7 +7 @@\n-s\n+t\n")
    index = lazy(data)
    assert taken(index).unsettled == {1, 2}
    select(index, Selection(only=("fs",)), bytes_only=True)
    assert taken(index).unsettled == {1}  # fs/super.c's start; kernel/fork.c's is not needed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patch=st.lists(
        st.tuples(
            st.sampled_from([b"drivers/md/dm.c", b"kernel/fork.c", b"fs/super.c", b"a/x", b"b/x"]),
            st.lists(
                st.sampled_from([b"drivers/md/dm.c", b"kernel/fork.c", b"fs/super.c", b"b/x"]),
                max_size=2,
            ),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
    only=st.sampled_from(["drivers/md", "kernel", "fs", "x"]),
    files=st.sampled_from([None, "1", "2", "x2", "3-"]),
)
def test_settling_only_around_kept_files_writes_what_the_eager_index_writes(
    patch: list[tuple[bytes, list[bytes], bool]], only: str, files: str | None
) -> None:
    """-p0 file diffs whose hunks end in pairs (a removed "-- X" and an added "++ X", the
    next hunk after them), or are complete before a pair that is the next file's header."""
    data = b""
    for name, pairs, complete in patch:
        hunks = [hunk_ending_in_a_pair(pair, pair) for pair in pairs]
        if complete:
            hunks.append(b"@@ -30 +30 @@\n-c\n+d\n")
        data += p0_file(name, *hunks, LAST_HUNK)
    if not _valid(data):
        return
    selection = Selection(only=(only,), files=RangeSet.parse(files) if files else None)
    lazy_and_eager_write(data, selection)


# --- what lies between file diffs ---------------------------------------------------------------

DIFF_UR = (
    b"Only in linux-6.1.4/drivers/md: dm-old.c\n"
    b"diff -ur linux-6.1.4/drivers/md/dm.c linux-6.1.180/drivers/md/dm.c\n"
    b"--- linux-6.1.4/drivers/md/dm.c" + STAMP + b"\n"
    b"+++ linux-6.1.180/drivers/md/dm.c" + STAMP + b"\n"
    b"@@ -1,2 +1,2 @@\n"
    b" int a;\n"
    b"-int b;\n"
    b"+int c;\n"
    b"Only in linux-6.1.180/drivers/md: dm-new.c\n"
    b"diff -ur linux-6.1.4/drivers/md/dm.ko linux-6.1.180/drivers/md/dm.ko\n"
    b"Binary files linux-6.1.4/drivers/md/dm.ko and linux-6.1.180/drivers/md/dm.ko differ\n"
    b"diff -ur linux-6.1.4/kernel/fork.c linux-6.1.180/kernel/fork.c\n"
    b"--- linux-6.1.4/kernel/fork.c" + STAMP + b"\n"
    b"+++ linux-6.1.180/kernel/fork.c" + STAMP + b"\n"
    b"@@ -7 +7 @@\n"
    b"-x\n"
    b"+y\n"
    b"diff -ur linux-6.1.4/mm/slab.c linux-6.1.180/mm/slab.c\n"
    b"--- linux-6.1.4/mm/slab.c" + STAMP + b"\n"
    b"+++ linux-6.1.180/mm/slab.c" + STAMP + b"\n"
    b"@@ -1,3 +1,3 @@\n"
    b" p\n"
    b"\n"  # an empty context line: only the counts say so
    b"-q\n"
    b"+r\n"
    b"@never a hunk header\n"
)


def test_diff_ur_with_only_in_lines_binaries_and_an_empty_context_line() -> None:
    assert_same_index(DIFF_UR)
    index = lazy(DIFF_UR)
    assert [(f.path, f.format) for f in index.files] == [
        ("linux-6.1.180/drivers/md/dm.c", DiffFormat.UNIFIED),
        ("linux-6.1.180/drivers/md/dm.ko", DiffFormat.NONE),
        ("linux-6.1.180/kernel/fork.c", DiffFormat.UNIFIED),
        ("linux-6.1.180/mm/slab.c", DiffFormat.UNIFIED),
    ]
    assert index.lead(index.files[1]).startswith(b"Only in linux-6.1.180/drivers/md: dm-new.c")
    assert index.trailer(0) == b"@never a hunk header\n"
    verbose = Selection(only=("drivers/md",))
    assert written(index, verbose, verbose=True) == written(eager(DIFF_UR), verbose, verbose=True)


@needs_filterdiff
@pytest.mark.parametrize("glob", ["*/drivers/md/*", "*/kernel/*", "*/mm/*"])
def test_diff_ur_is_filtered_as_filterdiff_does(glob: str, tmp_path: Path) -> None:
    # Without the binary entry: filterdiff drops hunk-less entries whatever the pattern, where
    # patchsmith selects them by name (the documented difference).
    binary = DIFF_UR.index(b"diff -ur linux-6.1.4/drivers/md/dm.ko")
    data = DIFF_UR[:binary] + DIFF_UR[DIFF_UR.index(b"diff -ur linux-6.1.4/kernel") :]
    assert written(lazy(data), Selection(includes=(glob,))) == filterdiff(
        data, tmp_path, "-i", glob
    )


def test_quilt_index_lines_and_a_mail_signature() -> None:
    data = (
        b"Index: linux/drivers/md/dm.c\n" + b"=" * 67 + b"\n"
        b"--- linux.orig/drivers/md/dm.c\n+++ linux/drivers/md/dm.c\n@@ -1 +1 @@\n-a\n+b\n"
        b"Index: linux/kernel/fork.c\n" + b"=" * 67 + b"\n"
        b"--- linux.orig/kernel/fork.c\n+++ linux/kernel/fork.c\n@@ -1,2 +0,0 @@\n-a\n--\n"
        b"-- \n2.39.5\n"
    )
    assert_same_index(data)
    index = lazy(data)
    assert index.files[1].hunks[0].removed == 2  # "--" is a removed "-" line, by the counts
    assert index.trailer(0) == b"-- \n2.39.5\n"


def test_crlf_and_names_with_spaces_take_the_general_path_and_agree() -> None:
    crlf = b"--- a/x.c\r\n+++ b/x.c\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n"
    spaces = b"--- a/my file.c" + STAMP + b"\n+++ b/my file.c" + STAMP + b"\n@@ -1 +1 @@\n-a\n+b\n"
    for data in (crlf, spaces, crlf + spaces, spaces + PAIR_INSIDE_A_HUNK):
        assert_same_index(data)


# --- counts that lie --------------------------------------------------------------------------


def test_a_lying_count_in_a_kept_file_is_reported_at_its_line() -> None:
    data = DIFF_UR.replace(b"@@ -7 +7 @@\n-x\n+y\n", b"@@ -7,2 +7 @@\n-x\n+y\n")
    with pytest.raises(PatchParseError) as slow:
        eager(data)
    with pytest.raises(PatchParseError) as fast:
        select(lazy(data), Selection(only=("kernel",)))
    assert "shorter than its header says" in fast.value.message
    assert (fast.value.line, fast.value.message) == (slow.value.line, slow.value.message)
    assert fast.value.line == 18  # where the next file diff starts, one line short
    assert "hunk at line 15" in fast.value.message
    # The lazy index counts the hunks of the files it writes: another selection reads on.
    assert written(lazy(data), Selection(only=("mm",))) == written(
        eager(DIFF_UR), Selection(only=("mm",))
    )


def test_a_lying_count_before_a_pair_hands_the_file_to_the_general_path() -> None:
    # The hunk says 3 lines but has 1 before the pair: eager and lazy both read the pair as
    # its lines, and both find the next hunk header where its last line should be.
    data = PAIR_AFTER_A_COMPLETE_HUNK.replace(b"@@ -1 +1 @@", b"@@ -1,3 +1,3 @@")
    with pytest.raises(PatchParseError) as slow:
        eager(data)
    # The lazy index takes the pair as a header until something needs it settled: the whole
    # list, or a selection that keeps the file before it or after it.
    with pytest.raises(PatchParseError) as fast:
        list(lazy(data).files)
    assert (fast.value.line, fast.value.message) == (slow.value.line, slow.value.message)
    for kept in ("drivers", "kernel"):
        with pytest.raises(PatchParseError) as fast:
            select(lazy(data), Selection(only=(kept,)), bytes_only=True)
        assert (fast.value.line, fast.value.message) == (slow.value.line, slow.value.message)


# --- context format -----------------------------------------------------------------------------

CONTEXT_TWO_FILES = (
    b"diff -crN linux-6.1.4/drivers/md/dm.c linux-6.1.180/drivers/md/dm.c\n"
    b"*** linux-6.1.4/drivers/md/dm.c" + STAMP + b"\n"
    b"--- linux-6.1.180/drivers/md/dm.c" + STAMP + b"\n"
    b"***************\n"
    b"*** 1,2 ****\n"
    b"  int a;\n"
    b"! int b;\n"
    b"--- 1,2 ----\n"
    b"  int a;\n"
    b"! int c;\n"
    b"***************\n"
    b"*** 9 ****\n"
    b"--- 9,10 ----\n"
    b"  int x;\n"
    b"+ int y;\n"
    b"Only in linux-6.1.180/drivers/md: dm-new.c\n"
    b"*** linux-6.1.4/kernel/fork.c" + STAMP + b"\n"
    b"--- linux-6.1.180/kernel/fork.c" + STAMP + b"\n"
    b"***************\n"
    b"*** 3 ****\n"
    b"- int z;\n"
    b"--- 2 ----\n"
)


def test_context_format_file_diffs_with_text_between_them() -> None:
    assert_same_index(CONTEXT_TWO_FILES)
    index = lazy(CONTEXT_TWO_FILES)
    assert [(f.path, f.format, len(f.hunks)) for f in index.files] == [
        ("linux-6.1.180/drivers/md/dm.c", DiffFormat.CONTEXT, 2),
        ("linux-6.1.180/kernel/fork.c", DiffFormat.CONTEXT, 1),
    ]


@needs_filterdiff
@pytest.mark.parametrize("glob", ["*/drivers/md/*", "*/kernel/*"])
def test_context_format_is_filtered_as_filterdiff_does(glob: str, tmp_path: Path) -> None:
    assert written(lazy(CONTEXT_TWO_FILES), Selection(includes=(glob,))) == filterdiff(
        CONTEXT_TWO_FILES, tmp_path, "-i", glob
    )


def test_a_malformed_context_hunk_in_a_kept_file_is_reported() -> None:
    data = CONTEXT_TWO_FILES.replace(b"*** 3 ****\n", b"*** three ****\n")
    with pytest.raises(PatchParseError) as slow:
        eager(data)
    with pytest.raises(PatchParseError) as fast:
        select(lazy(data), Selection(only=("kernel",)))
    assert (fast.value.line, fast.value.message) == (slow.value.line, slow.value.message)
    assert written(lazy(data), Selection(only=("drivers",))).startswith(b"diff -crN")


@pytest.mark.parametrize(
    "name", [*sorted(p.name for p in PATCHES.glob("*.diff")), "format_patch.mbox"]
)
def test_every_fixture_reads_the_same_lazily(name: str) -> None:
    assert_same_index((PATCHES / name).read_bytes())


# --- generated patches of every style -----------------------------------------------------------

PATHS = st.lists(
    st.sampled_from(["drivers", "md", "kernel", "fs", "dm.c", "fork.c"]), min_size=1, max_size=3
).map("/".join)
# Line contents that make hunk lines look like something else once the op is in front.
TRICKY = st.sampled_from(
    [
        *(b"-- drivers/md/dm.c", b"++ drivers/md/dm.c", b"-- kernel/fork.c" + STAMP, b"-- "),
        *(b"++ kernel/fork.c" + STAMP, b"", b"- ", b"-", b"diff", b"@@ -1 +1 @@", b"** 1 ****"),
        b"\\ x",
    ]
)
CONTENT = st.one_of(
    st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), TRICKY
)
STYLES = ("git", "urN", "p0", "quilt", "context")


@st.composite
def hunk_ops(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """The lines of one hunk as (op, content); sometimes ending in the removed/added pair that
    reads as a file header."""
    ops = draw(st.lists(st.tuples(st.sampled_from(" +-"), CONTENT), min_size=1, max_size=6))
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from([b"kernel/fork.c", b"drivers/md/dm.c"]))
        stamp = draw(st.sampled_from([b"", STAMP]))
        ops += [("-", b"-- " + name + stamp), ("+", b"++ " + name + stamp)]
    if all(op == " " for op, _ in ops):
        ops.append(("+", b"x"))
    return ops


def unified_hunk(ops: list[tuple[str, bytes]], start: int) -> bytes:
    """A hunk as diff writes it: a count of 1 left out ("-5" for "-5,1"), as filterdiff does
    when it writes one back."""

    def span(count: int) -> bytes:
        return b"%d" % start if count == 1 else b"%d,%d" % (start, count)

    old = span(sum(op != "+" for op, _ in ops))
    new = span(sum(op != "-" for op, _ in ops))
    body = b"".join(op.encode() + content + b"\n" for op, content in ops)
    return b"@@ -" + old + b" +" + new + b" @@\n" + body


def context_hunk(ops: list[tuple[str, bytes]], start: int) -> bytes:
    """A hunk as ``diff -c`` writes it: a part that would only repeat context is left out."""
    olds = [(b"  " if op == " " else b"- ") + c + b"\n" for op, c in ops if op != "+"]
    news = [(b"  " if op == " " else b"+ ") + c + b"\n" for op, c in ops if op != "-"]
    old_lines = olds if any(op == "-" for op, _ in ops) else []
    new_lines = news if any(op == "+" for op, _ in ops) else []

    def span(first: int, count: int) -> bytes:
        if count == 0:
            return b"%d" % (first - 1)
        return b"%d" % first if count == 1 else b"%d,%d" % (first, first + count - 1)

    old_range = b"*** " + span(start, len(olds)) + b" ****\n"
    new_range = b"--- " + span(start, len(news)) + b" ----\n"
    return b"***************\n" + old_range + b"".join(old_lines) + new_range + b"".join(new_lines)


@st.composite
def styled_patches(draw: st.DrawFn) -> tuple[str, bytes]:
    style = draw(st.sampled_from(STYLES))
    out = b""
    for path in draw(st.lists(PATHS, min_size=1, max_size=4)):
        name = path.encode()
        junk = draw(st.sampled_from([b"", b"", b"Only in old/fs: x\n", b"\n", b"@note\n"]))
        out += junk if out else b""
        if style == "git":
            out += b"diff --git a/%s b/%s\nindex 1111111..2222222 100644\n" % (name, name)
            out += b"--- a/%s\n+++ b/%s\n" % (name, name)
        elif style == "urN":
            out += b"diff -urN old/%s new/%s\n" % (name, name)
            out += b"--- old/" + name + STAMP + b"\n+++ new/" + name + STAMP + b"\n"
        elif style == "p0":
            out += b"--- " + name + STAMP + b"\n+++ " + name + STAMP + b"\n"
        elif style == "quilt":
            out += b"Index: new/" + name + b"\n" + b"=" * 67 + b"\n"
            out += b"--- old/%s\n+++ new/%s\n" % (name, name)
        else:
            out += b"diff -crN old/%s new/%s\n" % (name, name)
            out += b"*** old/" + name + STAMP + b"\n--- new/" + name + STAMP + b"\n"
        line = 1
        for _ in range(draw(st.integers(1, 3))):
            ops = draw(hunk_ops())
            make = context_hunk if style == "context" else unified_hunk
            out += make(ops, line)
            line += sum(op != "+" for op, _ in ops) + draw(st.integers(1, 9))
    if draw(st.booleans()) and style != "context":
        out += b"-- \n2.39.5\n"
    return style, out


# Where filterdiff (patchutils 0.4.2) and the input part ways, in context format only, on
# shapes ``diff -c`` with its default context does not write: an empty line after a hunk
# (patchsmith reads it as a line of the hunk, filterdiff as text between files), and a hunk
# whose new part is empty under a one-number range ("--- 2 ----"), a pure deletion without
# context: filterdiff writes the next hunk's row of stars twice, or drops the next file's
# "diff" line. patchsmith writes the input's bytes.
FILTERDIFF_MISREADS = re.compile(rb"\n\n|\n--- \d+ ----\n(?![ !+\-] )")


def _read_every_hunk(data: bytes) -> None:
    for entry in lazy(data).files:
        list(entry.hunks)


def _valid(data: bytes) -> bool:
    try:
        eager(data)
    except PatchParseError:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(styled_patches())
def test_lazy_index_of_any_style_equals_the_eager_one(patch: tuple[str, bytes]) -> None:
    _style, data = patch
    if not _valid(data):
        with pytest.raises(PatchParseError):
            _read_every_hunk(data)
        return
    assert_same_index(data)
    for selection in (Selection(only=("drivers/md",)), Selection(only=("kernel",))):
        assert written(lazy(data), selection) == written(eager(data), selection)
        assert written(lazy(data), selection, verbose=True) == written(
            eager(data), selection, verbose=True
        )


@needs_filterdiff
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patch=styled_patches(), glob=st.sampled_from(["drivers/*", "kernel/*", "*md*"]))
def test_filter_of_any_style_equals_filterdiff(
    patch: tuple[str, bytes], glob: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    style, data = patch
    if not _valid(data) or (style == "context" and FILTERDIFF_MISREADS.search(data)):
        return
    glob = glob if style == "p0" or glob.startswith("*") else "*/" + glob
    expected = filterdiff(data, tmp_path_factory.mktemp("filterdiff"), "-i", glob)
    assert written(lazy(data), Selection(includes=(glob,))) == expected


# What ``diff -C0`` writes for a deleted and an inserted line: an empty range is the one number
# of the line before it.
DIFF_C0 = (
    b"*** a/drivers/md/dm.c" + STAMP + b"\n--- b/drivers/md/dm.c" + STAMP + b"\n"
    b"***************\n*** 3 ****\n- int c;\n--- 2 ----\n"
    b"***************\n*** 7 ****\n--- 7 ----\n+ int d;\n"
)


def test_empty_ranges_of_diff_C0_read_as_empty() -> None:
    assert_same_index(DIFF_C0)
    (entry,) = lazy(DIFF_C0).files
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in entry.hunks] == [
        (3, 1, 2, 0),
        (7, 0, 7, 1),
    ]
    assert [(h.removed, h.added) for h in entry.hunks] == [(1, 0), (0, 1)]


def _general_path_index(data: bytes) -> PatchIndex:
    """The eager index with no header read in one match: every file diff by the general path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "_PLAIN_AT", re.compile(rb"(?!)"))
        return eager(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(styled_patches())
def test_a_header_read_in_one_match_gives_what_the_general_path_gives(
    patch: tuple[str, bytes],
) -> None:
    _style, data = patch
    if not _valid(data):
        return
    fast, slow = eager(data), _general_path_index(data)
    assert fast.files == slow.files
    assert [f.line for f in fast.files] == [f.line for f in slow.files]


@pytest.mark.parametrize("name", ["git_basic.diff", "git_quoted_names.diff", "git_modes.diff"])
def test_git_fixtures_read_the_same_by_either_path(name: str) -> None:
    data = (PATCHES / name).read_bytes()
    assert eager(data).files == _general_path_index(data).files


def test_new_and_deleted_git_files_read_the_same_by_either_path() -> None:
    from tests.patchfile.test_index import MIXED_GIT

    assert eager(MIXED_GIT).files == _general_path_index(MIXED_GIT).files
    assert [f.kind for f in eager(MIXED_GIT).files][:3] == [
        ChangeKind.MODIFIED,
        ChangeKind.NEW,
        ChangeKind.DELETED,
    ]


@settings(max_examples=500, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from([b"", b"- ", b"! ", b"+ ", b"  ", b"-", b" ", b"!x", b"\r- "]),
            st.binary(max_size=4).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
            st.sampled_from([b"\n", b"\r\n", b"\r", b"\r\r", b""]),
        ),
        max_size=8,
    )
)
def test_context_lines_are_counted_as_splitlines_splits_them(
    lines: list[tuple[bytes, bytes, bytes]],
) -> None:
    # Context hunks are counted in C; a lone "\r" ends a line for bytes.splitlines too.
    text = b"".join(start + middle + end for start, middle, end in lines)
    for prefixes in ((b"- ", b"! "), (b"+ ", b"! "), (b"  ",)):
        expected = sum(1 for line in text.splitlines() if line.startswith(prefixes))
        assert scan._count_prefixed(text, prefixes) == expected


NAME_PARTS = st.sampled_from(["drivers", "md", "linux-6.1", "a", "b", "", "fs", "x.c", "driversx"])


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(
        st.one_of(st.none(), st.lists(NAME_PARTS, min_size=1, max_size=3).map("/".join)),
        max_size=8,
    ),
    same=st.booleans(),
)
def test_the_vote_counted_in_one_search_is_the_vote_of_every_file(
    names: list[str | None], same: bool
) -> None:
    # _ones counts -p1 votes with one regex when no file is git and each names one file on
    # both sides; otherwise vote by vote. Either way it is the count of _votes.
    from patchsmith.patchfile.select import _ones, _votes

    news = [None if name is None else name.encode() for name in names]
    olds = news if same else news[::-1]
    gits = [False] * len(news)
    assert _ones(olds, news, gits) == sum(_votes(olds, news, gits))


# --- generated patches with what a jump from header to header could miss -----------------------

# Text between file diffs that no hunk can hold, each a line the jumping scan must stop at
# exactly where the eager reader ends the file diff before it.
BETWEEN = st.sampled_from(
    [
        b"From 1a2b3c Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
        b"Subject: [PATCH] md: fix\n\nThe fix.\n\n",
        b"Subject: [PATCH 2/3] md: the next fix\nSigned-off-by: A <a@example.org>\n",
        b"Index: linux/drivers/md/dm.c\n" + b"=" * 67 + b"\n",
        b"Only in linux-6.1.180/fs: new.c\n",
        b"diff between the two trees, as promised:\n",
        b"---\n drivers/md/dm.c | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n\n",
        b"***************\n",  # a row of stars with no range after it
        b"\n",
        b"",
    ]
)


@st.composite
def hostile_patches(draw: st.DrawFn) -> tuple[str, bytes, bool]:
    """A patch of one style with text between its file diffs, "\\ No newline" markers, binary
    entries, old counts that lie, CRLF line ends or no newline at the very end; and
    whether it holds a hunk-less entry (filterdiff drops those whatever the pattern)."""
    style = draw(st.sampled_from(STYLES))
    out = b""
    hunkless = False
    for path in draw(st.lists(PATHS, min_size=1, max_size=4)):
        name = path.encode()
        out += draw(BETWEEN)
        if draw(st.integers(0, 5)) == 0 and style in ("git", "urN", "context"):
            hunkless = True
            if style == "git":
                out += b"diff --git a/%s.ko b/%s.ko\nindex 1111111..2222222 100644\n" % (name, name)
                out += b"GIT binary patch\nliteral 3\nKcmZ?d0000001\n\nliteral 3\nKcmZ?d0000001\n\n"
            else:
                out += b"diff -urN old/%s.ko new/%s.ko\n" % (name, name)
                out += b"Binary files old/%s.ko and new/%s.ko differ\n" % (name, name)
        if style == "git":
            out += b"diff --git a/%s b/%s\nindex 1111111..2222222 100644\n" % (name, name)
            out += b"--- a/%s\n+++ b/%s\n" % (name, name)
        elif style == "urN":
            out += b"diff -urN old/%s new/%s\n" % (name, name)
            out += b"--- old/" + name + STAMP + b"\n+++ new/" + name + STAMP + b"\n"
        elif style == "p0":
            out += b"--- " + name + STAMP + b"\n+++ " + name + STAMP + b"\n"
        elif style == "quilt":
            out += b"Index: new/" + name + b"\n" + b"=" * 67 + b"\n"
            out += b"--- old/%s\n+++ new/%s\n" % (name, name)
        else:
            out += b"diff -crN old/%s new/%s\n" % (name, name)
            out += b"*** old/" + name + STAMP + b"\n--- new/" + name + STAMP + b"\n"
        line = 1
        for _ in range(draw(st.integers(1, 3))):
            ops = draw(hunk_ops())
            make = context_hunk if style == "context" else unified_hunk
            hunk = make(ops, line)
            if draw(st.integers(0, 4)) == 0:
                hunk += b"\\ No newline at end of file\n"
            if style != "context" and draw(st.integers(0, 9)) == 0:
                # an old count that may lie (too short or too long for its lines), written as
                # diff writes one (a count of 1 left out, which filterdiff also writes so)
                count = draw(st.integers(0, 9))
                start = int(hunk[4 : hunk.index(b" ", 4)].split(b",")[0])
                old_range = b"%d" % start if count == 1 else b"%d,%d" % (start, count)
                hunk = re.sub(rb"^@@ -\d+(?:,\d+)?", b"@@ -" + old_range, hunk, count=1)
            out += hunk
            line += sum(op != "+" for op, _ in ops) + draw(st.integers(1, 9))
    if draw(st.booleans()) and style != "context":
        out += b"-- \n2.39.5\n"
    if draw(st.integers(0, 5)) == 0:
        out = out.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 5)) == 0:
        out = out.rstrip(b"\n")
    return style, out, hunkless


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_patches())
def test_a_jumping_scan_ends_each_file_diff_where_the_eager_reader_does(
    patch: tuple[str, bytes, bool],
) -> None:
    """Lazy and eager agree on every file diff's start, end and lead, on what ``filter``
    writes (with ``bytes_only``, as it runs, and with the text between file diffs), or both
    refuse the input; whatever the text between file diffs, the markers and the counts."""
    _style, data, _hunkless = patch
    if not _valid(data):
        with pytest.raises(PatchParseError):
            _read_every_hunk(data)
        return
    assert_same_index(data)
    for selection in (Selection(only=("drivers/md",)), Selection(only=("kernel",))):
        expected = written(eager(data), selection)
        assert written(lazy(data), selection, bytes_only=True) == expected
        assert written(lazy(data), selection, verbose=True) == written(
            eager(data), selection, verbose=True
        )


MARKER_AFTER_A_LEFT_OUT_PART = re.compile(rb"\n--- \d+(?:,\d+)? ----\r?\n\\")


@needs_filterdiff
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patch=hostile_patches(), glob=st.sampled_from(["drivers/*", "kernel/*", "*md*"]))
def test_filter_of_hostile_patches_equals_filterdiff(
    patch: tuple[str, bytes, bool], glob: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    style, data, hunkless = patch
    if not _valid(data) or (style == "context" and FILTERDIFF_MISREADS.search(data)):
        return
    if style == "context" and b"\r\n" in data:
        # filterdiff writes a context hunk's row of stars and its "--- N ----" line anew, with
        # LF line ends in a CRLF patch; patchsmith writes the input's bytes.
        return
    if style == "context" and MARKER_AFTER_A_LEFT_OUT_PART.search(data):
        # A "\ No newline" marker right after a new range whose part is left out (diff -c
        # writes the marker after the last line it is about, never there): filterdiff drops
        # the marker, patchsmith keeps the hunk's bytes as it read them.
        return
    glob = glob if style == "p0" or glob.startswith("*") else "*/" + glob
    expected = filterdiff(data, tmp_path_factory.mktemp("filterdiff"), "-i", glob)
    ours = written(lazy(data), Selection(includes=(glob,)), bytes_only=True)
    if hunkless:
        # filterdiff drops an entry without hunks (a binary) whatever the pattern; patchsmith
        # selects it by name (the documented difference). The rest must be the same bytes.
        index = eager(data)
        for entry in index.files:
            if not entry.hunks:
                ours = ours.replace(index.data(entry), b"", 1)
    assert ours == expected


# --- context hunks counted in place ----------------------------------------------------------


def _context_hunks_before(
    scanner: scan._Scanner, cursor: int, hunks: list[HunkEntry] | None
) -> int:
    """``_Scanner.context_hunks`` as written before it counted each part in place and found
    line ends inline: the reference the faster loop must agree with, hunk for hunk and error
    for error."""
    from patchsmith.patchfile.names import decode_path

    data = scanner.data
    separated = data.startswith(b"***************", cursor)
    count = 0
    while separated or (count and scan._CONTEXT_OLD_RANGE.match(data, cursor)):
        count += 1
        start = cursor
        if separated:
            cursor = scanner.line_end(cursor)
        old_header = scanner.line(cursor)
        match = scan._CONTEXT_OLD_RANGE.match(old_header)
        if match is None:
            raise scanner.error(cursor, f"malformed context hunk range {old_header.rstrip()!r}")
        old_start, old_count = scan._context_range(match)
        cursor += len(old_header)
        stop = scan._CONTEXT_STOP.search(data, cursor - 1)
        end = scanner.size if stop is None else stop.start() + 1
        body = data[cursor:end]
        new_match = scan._at_a_line_start(scan._CONTEXT_NEW_RANGE, body, b"--- ")
        if new_match is None:
            raise scanner.error(cursor, "context hunk has no '--- N,M ----' line")
        new_start, new_count = scan._context_range(new_match)
        following = scan._at_a_line_start(scan._CONTEXT_OLD_RANGE, body, b"*** ", new_match.end())
        if following is not None:
            end = cursor + following.start()
            body = body[: following.start()]
        old_part, new_part = body[: new_match.start()], body[new_match.end() :]
        removed = scan._count_prefixed(old_part, (b"- ", b"! "))
        added = scan._count_prefixed(new_part, (b"+ ", b"! "))
        old_context = scan._count_prefixed(old_part, (b"  ",))
        new_context = scan._count_prefixed(new_part, (b"  ",))
        old_lines = (old_context + removed) or new_context
        new_lines = (new_context + added) or old_context
        if old_lines == 0 and match.group(2) is None:
            old_count = 0
        if new_lines == 0 and new_match.group(2) is None:
            new_count = 0
        if (old_lines, new_lines) != (old_count, new_count):
            raise scanner.error(
                start,
                f"context hunk has {old_lines} old and {new_lines} new lines, but its ranges "
                f"say {old_count} and {new_count}",
                hint="the patch is truncated, or the hunk was edited by hand",
            )
        section_line = scanner.line(start) if separated else b""
        cursor = end
        separated = data.startswith(b"***************", cursor)
        if hunks is None:
            continue
        hunks.append(
            HunkEntry(
                number=len(hunks) + 1,
                start=start,
                end=end,
                line=scanner.lines.at(start),
                old_start=old_start,
                old_count=old_count,
                new_start=new_start,
                new_count=new_count,
                section=decode_path(section_line[15:].strip()),
                added=added,
                removed=removed,
            )
        )
    return cursor


@st.composite
def context_hunk_runs(draw: st.DrawFn) -> bytes:
    """Runs of context hunks as ``diff -c`` writes them, then roughed up: a hunk without its
    row of stars, a function name after the stars, text after a range, a range one off, a lone
    or paired carriage return in a line, a stray line, "!" lines, the run cut short."""
    out = b""
    line = 1
    for _ in range(draw(st.integers(1, 4))):
        ops = draw(hunk_ops())
        hunk = context_hunk(ops, line)
        line += sum(op != "+" for op, _ in ops) + draw(st.integers(1, 5))
        change = draw(st.integers(0, 9))
        if change == 0 and out:
            hunk = hunk.removeprefix(b"***************\n")
        elif change == 1:
            hunk = hunk.replace(b"***************\n", b"*************** int f(void)\n", 1)
        elif change == 2:
            hunk = re.sub(rb" ----\n", b" ----  x\n", hunk, count=1)
        elif change == 3:
            hunk = re.sub(rb"(\d+) \*\*\*\*\n", lambda m: b"%d ****\n" % (int(m[1]) + 1), hunk)
        elif change == 4:
            lines = hunk.split(b"\n")
            at = draw(st.integers(0, len(lines) - 1))
            lines[at] += draw(st.sampled_from([b"\r", b"\r x", b"\r- y", b"\r  z"]))
            hunk = b"\n".join(lines)
        elif change == 5:
            hunk += draw(st.sampled_from([b"+x\n", b"\n", b"\\ No newline at end of file\n"]))
        elif change in (6, 7):  # a changed line on both sides, as diff -c marks it
            hunk = hunk.replace(b"\n- ", b"\n! ").replace(b"\n+ ", b"\n! ")
        out += hunk
    if draw(st.integers(0, 5)) == 0:
        out = out.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 5)) == 0:
        out = out[: draw(st.integers(0, len(out)))]
    return out


@settings(max_examples=600, deadline=None)
@given(context_hunk_runs(), st.booleans())
def test_context_hunks_counted_in_place_read_as_they_read_before(
    data: bytes, checking: bool
) -> None:
    """From every line that starts with a star, the context hunk reader gives the hunks, the
    end and the error it gave before its parts were counted in place: lone and paired
    carriage returns, text after a range, ranges that lie, hunks without their row of stars."""
    source = PatchSource("<patch>", data)
    for cursor in [0] + [m.end() for m in re.finditer(rb"\n(?=\*)", data)]:
        assert _context_outcome(scan._Scanner.context_hunks, source, cursor, checking) == (
            _context_outcome(_context_hunks_before, source, cursor, checking)
        )


def _context_outcome(
    read: Callable[[scan._Scanner, int, list[HunkEntry] | None], int],
    source: PatchSource,
    cursor: int,
    checking: bool,
) -> tuple[object, ...]:
    """What a context hunk reader makes of ``source`` from ``cursor``: where it ends and the
    hunks, or the error's line and message."""
    hunks: list[HunkEntry] | None = None if checking else []
    try:
        end = read(scan._Scanner(source, 0, 1), cursor, hunks)
    except PatchParseError as error:
        return ("error", error.line, error.message)
    return (end, hunks)

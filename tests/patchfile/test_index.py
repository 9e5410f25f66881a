"""The scanner: one test per header case and per malformed case, named for the case."""

from __future__ import annotations

import pytest

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import ChangeKind, DiffFormat, PatchIndex, index_sources
from patchsmith.patchfile.source import PatchSource, read_source
from tests.support.paths import PATCHES


def load(name: str) -> PatchIndex:
    return index_sources(read_source(str(PATCHES / name)))


def round_trips(index: PatchIndex) -> bool:
    return b"".join(index.pieces()) == b"".join(s.data for s in index.sources)


def test_git_basic_files_hunks_and_counts() -> None:
    index = load("git_basic.diff")
    assert [f.path for f in index.files] == ["b/drivers/md/dm-snap.c", "b/kernel/sched/core.c"]
    snap = index.files[0]
    assert snap.git and snap.header("index") == "3d2f1a0..7be41c9 100644"
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in snap.hunks] == [
        (10, 8, 10, 9),
        (40, 6, 41, 7),
    ]
    assert snap.hunks[0].section.startswith("static int snapshot_map")
    assert (snap.added, snap.removed) == (3, 1)
    assert index.files[1].line == 24
    assert round_trips(index)


def test_diff_urN_with_timestamps_names_stop_at_the_tab() -> None:
    index = load("diff_urN_timestamps.diff")
    first = index.files[0]
    assert first.old_name == "linux-2.6.16.28/drivers/md/dm.c"
    assert first.new_name == "linux-2.6.16.29/drivers/md/dm.c"
    assert not first.git
    assert index.data(first).startswith(b"diff -urN linux-2.6.16.28/")
    assert round_trips(index)


def test_quilt_style_index_line_is_lead_text_not_part_of_the_diff() -> None:
    index = load("quilt_style.diff")
    (entry,) = index.files
    assert entry.old_name == "linux-2.6.16.orig/drivers/md/dm.c"
    assert index.lead(entry).startswith(b"Subject: dm:")
    assert b"Index: linux-2.6.16/drivers/md/dm.c" in index.lead(entry)
    assert round_trips(index)


def test_git_no_prefix() -> None:
    (entry,) = load("git_no_prefix.diff").files
    assert (entry.old_name, entry.new_name) == ("drivers/md/dm-table.c", "drivers/md/dm-table.c")


def test_git_quoted_names_with_octal_escapes() -> None:
    (entry,) = load("git_quoted_names.diff").files
    assert entry.new_name == 'b/drivers/md/café "x".c'


def test_names_with_spaces_and_tabs() -> None:
    spaces, tabs = load("names_with_spaces.diff").files
    assert spaces.new_name == "b/docs/read me.txt"
    assert tabs.new_name == "b/tabs\there.c"


def test_no_newline_at_end_of_file_markers_stay_with_the_hunk() -> None:
    index = load("no_newline_at_eof.diff")
    (entry,) = index.files
    assert index.data(entry).endswith(b"\\ No newline at end of file\n")
    (hunk,) = parse_file(index, entry)
    assert hunk.old_lines == (b"config DM_SNAPSHOT\n", b'\ttristate "Snapshot target"')
    assert hunk.new_lines[-1] == b'\ttristate "Snapshot target (also for LVM)"'


def test_crlf_content_lines_keep_their_carriage_returns() -> None:
    index = load("crlf_content.diff")
    (hunk,) = parse_file(index, index.files[0])
    assert hunk.old_lines == (b"int a;\r\n", b"int b;\r\n", b"int d;\r\n")


def test_whole_crlf_patch() -> None:
    index = load("whole_crlf.diff")
    (entry,) = index.files
    assert entry.new_name == "b/drivers/md/dm-win.c"
    assert entry.header("index") == "1111111..2222222 100644"
    (hunk,) = parse_file(index, entry)
    assert hunk.new_lines == (b"int a;\r\n", b"int c;\r\n", b"int d;\r\n")
    assert round_trips(index)


def test_latin1_bytes_survive() -> None:
    index = load("latin1.diff")
    (hunk,) = parse_file(index, index.files[0])
    assert hunk.old_lines[0] == b"/* Copyright J\xf6rg M\xfcller */\n"
    assert round_trips(index)


def test_zero_length_ranges_and_new_file() -> None:
    index = load("zero_length_ranges.diff")
    crc, new = index.files
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in crc.hunks] == [
        (3, 0, 4, 2),
        (10, 1, 11, 0),
    ]
    assert new.kind == ChangeKind.NEW and new.old_name is None
    assert new.hunks[0].old_count == 0


def test_hunkless_entries_are_listed() -> None:
    index = load("hunkless_entries.diff")
    kinds = [(f.path, f.kind, f.format) for f in index.files]
    assert kinds == [
        ("b/scripts/checkpatch.pl", ChangeKind.MODE, DiffFormat.NONE),
        ("b/drivers/md/empty.h", ChangeKind.NEW, DiffFormat.NONE),
        ("b/firmware/blob.bin", ChangeKind.BINARY, DiffFormat.NONE),
        ("b/drivers/md/new.c", ChangeKind.RENAMED, DiffFormat.NONE),
        ("b/logo.gif", ChangeKind.BINARY, DiffFormat.NONE),
    ]
    assert index.files[3].old_name == "a/drivers/md/old.c"
    assert index.data(index.files[2]).endswith(b"JcmZQz0ssI600RI3\n\n")
    assert round_trips(index)


def test_form_feed_is_a_context_line() -> None:
    index = load("form_feed.diff")
    (hunk,) = parse_file(index, index.files[0])
    assert b"\x0c\n" in hunk.old_lines


def test_context_format_diff() -> None:
    index = load("context_format.diff")
    (entry,) = index.files
    assert entry.format == DiffFormat.CONTEXT
    assert entry.new_name == "drivers/md/dm-io.c"
    (hunk,) = parse_file(index, entry)
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (1, 5, 1, 6)
    assert b"\treturn -ENOMEM;\n" in hunk.new_lines
    assert b"\treturn 0;\n" in hunk.old_lines and b"/* end */\n" in hunk.new_lines


def test_context_hunks_without_separators_susv2() -> None:
    # One "***************" for the file; each later hunk starts at its "*** N ****" line.
    index = load("context_susv2_separators.diff")
    log, io = index.files
    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in log.hunks] == [
        (3, 5, 3, 7),
        (40, 5, 42, 4),
        (80, 4, 81, 6),
    ]
    assert [(h.added, h.removed) for h in log.hunks] == [(3, 1), (0, 1), (2, 0)]
    first, second, third = parse_file(index, log)
    assert second.old_lines[2] == b"\tkfree(log->bits);\n"
    assert b"kfree(log->bits)" not in b"".join(second.new_lines)
    assert third.new_lines[2:4] == (b"\tlog->touched = 0;\n", b"\tlog->sync_search = 0;\n")
    assert len(first.new_lines) == 7
    assert len(io.hunks) == 1 and round_trips(index)


def test_a_stray_old_range_before_the_new_part_is_still_an_error() -> None:
    # "*** N ****" starts a hunk only after the previous hunk's "--- N ----" part; before it,
    # the old part simply has lines its range does not count.
    data = (
        b"*** a.c.orig\n--- a.c\n***************\n*** 1,2 ****\n  x\n- y\n*** 9 ****\n--- 1 ----\n"
    )
    index = index_sources([PatchSource("<patch>", data)])
    with pytest.raises(PatchParseError):
        parse_file(index, index.files[0])


def test_mbox_keeps_which_mail_each_diff_came_from() -> None:
    index = load("format_patch.mbox")
    assert [m.subject for m in index.mails] == [
        "[PATCH 1/2] dm snapshot: fix the exception leak on invalidation",
        "[PATCH 2/2] sched: pass the user tick flag",
    ]
    assert [f.mail for f in index.files] == [0, 1]
    assert index.mails[1].author == "John Maintainer <john@example.org>"
    # the "-- " signature after the last hunk is not a removed line
    assert index.files[0].removed == 0
    assert index.data(index.files[0]).endswith(b" }\n")
    assert round_trips(index)


def test_quilt_series_reads_patches_in_series_order() -> None:
    index = index_sources(read_source(str(PATCHES / "quilt-series" / "patches" / "series")))
    assert [s.name.rsplit("/", 1)[-1] for s in index.sources] == [
        "dm-first.patch",
        "sched-second.patch",
    ]
    assert [(f.source, f.path) for f in index.files] == [
        (0, "b/drivers/md/dm.c"),
        (1, "b/kernel/sched/core.c"),
    ]
    assert [f.number for f in index.files] == [1, 2]


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("hunk_too_short.diff", 7, "shorter than its header says"),
        ("hunk_too_long.diff", 7, "longer than its header says"),
        ("garbage_between_hunks.diff", 8, "outside any file diff"),
        ("truncated.diff", 8, "input ends inside the hunk"),
        ("binary_junk.diff", 1, "binary data, not a patch"),
        ("empty.diff", 1, "the input is empty"),
        ("bad_hunk_header.diff", 3, "malformed hunk header"),
    ],
)
def test_malformed_input_names_the_line(name: str, line: int, words: str) -> None:
    with pytest.raises(PatchParseError) as caught:
        load(f"malformed/{name}")
    assert caught.value.line == line
    assert words in caught.value.message
    assert caught.value.hint


def test_prose_without_any_diff_is_an_error() -> None:
    from patchsmith.patchfile.index import index_bytes

    with pytest.raises(PatchParseError, match="no file diff found"):
        index_bytes(b"Dear maintainer,\nplease apply.\n")


def _read_every_hunk(index: PatchIndex) -> None:
    for entry in index.files:
        list(entry.hunks)


@pytest.mark.parametrize(
    "name",
    [
        "hunk_too_short.diff",
        "hunk_too_long.diff",
        "garbage_between_hunks.diff",
        "truncated.diff",
        "bad_hunk_header.diff",
    ],
)
def test_lazy_index_reports_the_same_malformed_line(name: str) -> None:
    with pytest.raises(PatchParseError) as eager:
        load(f"malformed/{name}")
    with pytest.raises(PatchParseError) as lazy:
        _read_every_hunk(index_sources(read_source(str(PATCHES / f"malformed/{name}")), lazy=True))
    assert (lazy.value.line, lazy.value.message) == (eager.value.line, eager.value.message)


GIT_TWO_HUNKS = (
    b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n"
    b"index 1111111..2222222 100644\n"
    b"--- a/drivers/md/dm.c\n"
    b"+++ b/drivers/md/dm.c\n"
    b"@@ -1,3 +1,3 @@\n"
    b" int a;\n"
    b"-int b;\n"
    b"+int c;\n"
    b"%s"
    b"@@ -10 +10 @@\n"
    b"-int k;\n"
    b"+int l;\n"
    b"diff --git a/kernel/sched/core.c b/kernel/sched/core.c\n"
    b"--- a/kernel/sched/core.c\n"
    b"+++ b/kernel/sched/core.c\n"
    b"@@ -1 +1 @@\n"
    b"-x\n"
    b"+y\n"
)


def test_lazy_index_reads_git_hunks_on_first_use() -> None:
    data = GIT_TWO_HUNKS % b" int d;\n"
    lazy = index_sources([PatchSource("<patch>", data)], lazy=True)
    assert lazy.files == index_sources([PatchSource("<patch>", data)]).files
    assert [(h.number, h.line, h.added, h.removed) for h in lazy.files[0].hunks] == [
        (1, 5, 1, 1),
        (2, 10, 1, 1),
    ]


@pytest.mark.parametrize(
    ("middle", "words"),
    [
        (b"", "shorter than its header says"),  # the first hunk lacks its last context line
        (b" int d;\n int e;\n", "longer than its header says"),
    ],
)
def test_lazy_index_checks_a_bad_earlier_hunk_when_it_is_read(middle: bytes, words: str) -> None:
    data = GIT_TWO_HUNKS % middle
    with pytest.raises(PatchParseError) as eager:
        index_sources([PatchSource("<patch>", data)])
    lazy = index_sources([PatchSource("<patch>", data)], lazy=True)
    assert lazy.files[1].path == "b/kernel/sched/core.c"  # the file boundaries are sound
    with pytest.raises(PatchParseError) as late:
        list(lazy.files[0].hunks)
    assert words in late.value.message
    assert (late.value.line, late.value.message) == (eager.value.line, eager.value.message)


# Every kind of git file diff the lazy scan reads in one match (a plain one, a new and a deleted
# file) next to ones it hands to the general path (a mode change, a rename without edits, a
# hunk followed by a mail signature, an empty line in a hunk).
MIXED_GIT = (
    b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n"
    b"index 1111111..2222222 100644\n"
    b"--- a/drivers/md/dm.c\n"
    b"+++ b/drivers/md/dm.c\n"
    b"@@ -1,2 +1,2 @@\n"
    b" int a;\n"
    b"-int b;\n"
    b"+int c;\n"
    b"diff --git a/drivers/md/new.c b/drivers/md/new.c\n"
    b"new file mode 100644\n"
    b"index 0000000..3333333\n"
    b"--- /dev/null\n"
    b"+++ b/drivers/md/new.c\n"
    b"@@ -0,0 +1 @@\n"
    b"+int n;\n"
    b"diff --git a/drivers/md/old.c b/drivers/md/old.c\n"
    b"deleted file mode 100644\n"
    b"index 4444444..0000000\n"
    b"--- a/drivers/md/old.c\n"
    b"+++ /dev/null\n"
    b"@@ -1 +0,0 @@\n"
    b"-int o;\n"
    b"diff --git a/scripts/run.sh b/scripts/run.sh\n"
    b"old mode 100644\n"
    b"new mode 100755\n"
    b"diff --git a/kernel/a.c b/kernel/b.c\n"
    b"similarity index 100%\n"
    b"rename from kernel/a.c\n"
    b"rename to kernel/b.c\n"
    b"diff --git a/kernel/sched/core.c b/kernel/sched/core.c\n"
    b"index 5555555..6666666 100644\n"
    b"--- a/kernel/sched/core.c\n"
    b"+++ b/kernel/sched/core.c\n"
    b"@@ -1,3 +1,3 @@\n"
    b" x\n"
    b"\n"
    b"-y\n"
    b"+z\n"
    b"diff --git a/mm/slab.c b/mm/slab.c\n"
    b"index 7777777..8888888 100644\n"
    b"--- a/mm/slab.c\n"
    b"+++ b/mm/slab.c\n"
    b"@@ -1 +1 @@\n"
    b"-p\n"
    b"+q\n"
    b"-- \n"
    b"2.39.0\n"
)


def test_lazy_index_of_mixed_git_diffs_equals_the_eager_one() -> None:
    lazy = index_sources([PatchSource("<patch>", MIXED_GIT)], lazy=True)
    eager = index_sources([PatchSource("<patch>", MIXED_GIT)])
    assert [(f.path, f.kind) for f in eager.files][1:3] == [
        ("b/drivers/md/new.c", ChangeKind.NEW),
        ("a/drivers/md/old.c", ChangeKind.DELETED),
    ]
    assert lazy.files == eager.files
    assert [f.line for f in lazy.files] == [f.line for f in eager.files]
    assert lazy.trailer(0) == eager.trailer(0) == b"-- \n2.39.0\n"


def test_lazy_index_makes_entries_in_any_order_with_their_line_numbers() -> None:
    lazy = index_sources([PatchSource("<patch>", MIXED_GIT)], lazy=True)
    eager = index_sources([PatchSource("<patch>", MIXED_GIT)])
    for number in (6, 2, 0, 4):
        assert lazy.files[number] == eager.files[number]
    assert lazy.files[-1] == eager.files[-1]

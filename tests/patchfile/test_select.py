"""Selection: filterdiff's meanings, --only across prefixes, byte-exact output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from patchsmith.errors import PatchParseError, UsageError
from patchsmith.patchfile.index import PatchIndex, index_sources
from patchsmith.patchfile.select import (
    RangeSet,
    Selection,
    _bare_context_hunk_in,
    _bare_context_hunks,
    detect_strip,
    render,
    select,
    strip_components,
)
from patchsmith.patchfile.source import PatchSource, read_source
from tests.support.paths import PATCHES


def load(name: str) -> PatchIndex:
    return index_sources(read_source(str(PATCHES / name)))


def output(index: PatchIndex, selection: Selection, strip: int = 0, verbose: bool = False) -> bytes:
    return b"".join(render(select(index, selection), strip=strip, verbose=verbose))


def test_range_parsing() -> None:
    ranges = RangeSet.parse("1,3-5,7-")
    assert [n for n in range(1, 10) if n in ranges] == [1, 3, 4, 5, 7, 8, 9]
    inverted = RangeSet.parse("x2-3")
    assert [n for n in range(1, 6) if n in inverted] == [1, 4, 5]
    with pytest.raises(UsageError, match="bad range"):
        RangeSet.parse("3-1")
    with pytest.raises(UsageError, match="bad range"):
        RangeSet.parse("a")


def test_glob_star_crosses_slashes_like_filterdiff() -> None:
    index = load("git_basic.diff")
    kept = select(index, Selection(includes=("*/md/*",))).kept
    assert [d.tree_path for d in kept] == ["drivers/md/dm-snap.c"]


def test_exclude_wins_whatever_the_order() -> None:
    index = load("git_basic.diff")
    selection = Selection(includes=("*",), excludes=("*/md/*",))
    assert [d.tree_path for d in select(index, selection).kept] == ["kernel/sched/core.c"]


@pytest.mark.parametrize(
    "name", ["git_basic.diff", "diff_urN_timestamps.diff", "quilt_style.diff", "git_no_prefix.diff"]
)
def test_only_matches_whatever_the_prefix(name: str) -> None:
    index = load(name)
    kept = select(index, Selection(only=("drivers/md",))).kept
    assert kept and all(d.tree_path.startswith("drivers/md/") for d in kept)
    left = select(index, Selection(only=("drivers/md",))).left_out
    assert all(not d.tree_path.startswith("drivers/md/") for d in left)


def test_detect_strip() -> None:
    assert detect_strip(load("git_basic.diff")) == 1
    assert detect_strip(load("git_no_prefix.diff")) == 0
    assert detect_strip(load("diff_urN_timestamps.diff")) == 1
    assert detect_strip(load("quilt_style.diff")) == 1


def test_only_does_not_match_a_deeper_directory_of_the_same_name() -> None:
    index = load("git_no_prefix.diff")  # drivers/md/dm-table.c with no prefix
    assert select(index, Selection(only=("md",))).kept == ()


def test_whole_files_are_the_original_bytes() -> None:
    index = load("diff_urN_timestamps.diff")
    data = index.sources[0].data
    assert output(index, Selection()) == data
    first = index.files[0]
    assert output(index, Selection(only=("drivers/md",))) == data[first.start : first.end]


def test_dropped_hunks_renumber_later_ones_as_filterdiff_does() -> None:
    index = load("git_basic.diff")
    out = output(index, Selection(hunks=RangeSet.parse("2"), only=("drivers/md",)))
    assert b"@@ -40,6 +40,7 @@ static void snapshot_dtr" in out
    assert b"snapshot_map" not in out


def test_lines_selects_hunks_touching_the_range() -> None:
    index = load("git_basic.diff")
    kept = select(index, Selection(lines=RangeSet.parse("41-42"))).kept
    assert [(d.tree_path, d.kept) for d in kept] == [("drivers/md/dm-snap.c", (2,))]


def test_files_range_and_invert() -> None:
    index = load("git_basic.diff")
    assert [d.entry.number for d in select(index, Selection(files=RangeSet.parse("2"))).kept] == [2]
    inverted = select(index, Selection(only=("drivers/md",), invert=True)).kept
    assert [d.tree_path for d in inverted] == ["kernel/sched/core.c"]


def test_hunkless_entries_are_selectable_by_name() -> None:
    index = load("hunkless_entries.diff")
    kept = select(index, Selection(includes=("*checkpatch*",))).kept
    assert [d.tree_path for d in kept] == ["scripts/checkpatch.pl"]
    assert output(index, Selection(includes=("*checkpatch*",))).endswith(b"new mode 100755\n")


def test_verbose_keeps_non_diff_text_and_round_trips() -> None:
    index = load("format_patch.mbox")
    assert output(index, Selection(), verbose=True) == index.sources[0].data
    without = output(index, Selection())
    assert b"Subject:" not in without and b"2.39.5" not in without


def test_strip_rewrites_output_names() -> None:
    out = output(load("diff_urN_timestamps.diff"), Selection(), strip=1)
    assert out.startswith(b"diff -urN drivers/md/dm.c drivers/md/dm.c\n--- drivers/md/dm.c\t2006")


def test_file_rules_give_a_reason() -> None:
    index = load("git_basic.diff")
    rule = lambda path: "builtin" if path.startswith("kernel/") else None  # noqa: E731
    result = select(index, Selection(file_rules=(rule,)))
    assert [(d.tree_path, d.reason) for d in result.decisions] == [
        ("drivers/md/dm-snap.c", None),
        ("kernel/sched/core.c", "builtin"),
    ]


FILTERDIFF_CASES = [
    ("git_basic.diff", ["-i", "*/drivers/md/*"], Selection(includes=("*/drivers/md/*",))),
    ("git_basic.diff", ["-x", "*/drivers/md/*"], Selection(excludes=("*/drivers/md/*",))),
    ("git_basic.diff", ["--hunks=2"], Selection(hunks=RangeSet.parse("2"))),
    ("git_basic.diff", ["--hunks=x1"], Selection(hunks=RangeSet.parse("x1"))),
    ("git_basic.diff", ["--lines=40-50"], Selection(lines=RangeSet.parse("40-50"))),
    ("git_basic.diff", ["--files=2"], Selection(files=RangeSet.parse("2"))),
    ("git_basic.diff", ["-p1", "-i", "kernel/*"], Selection(includes=("kernel/*",), match_strip=1)),
    ("diff_urN_timestamps.diff", ["-i", "*/mm/*"], Selection(includes=("*/mm/*",))),
    ("format_patch.mbox", ["-i", "*/kernel/*"], Selection(includes=("*/kernel/*",))),
    ("crlf_content.diff", [], Selection()),
    ("latin1.diff", [], Selection()),
    ("no_newline_at_eof.diff", [], Selection()),
    ("zero_length_ranges.diff", ["--hunks=2"], Selection(hunks=RangeSet.parse("2"))),
    # Context hunks: renumbered when one is left out, a missing separator written back.
    ("context_susv2_separators.diff", [], Selection()),
    ("context_susv2_separators.diff", ["--hunks=x2"], Selection(hunks=RangeSet.parse("x2"))),
    ("context_susv2_separators.diff", ["--hunks=3"], Selection(hunks=RangeSet.parse("3"))),
    ("context_susv2_separators.diff", ["-x", "*io.c"], Selection(excludes=("*io.c",))),
    ("context_susv2_separators.diff", ["--lines=40-99"], Selection(lines=RangeSet.parse("40-99"))),
]


@pytest.mark.skipif(shutil.which("filterdiff") is None, reason="patchutils is not installed")
@pytest.mark.parametrize(("name", "options", "selection"), FILTERDIFF_CASES)
def test_byte_identical_to_filterdiff(name: str, options: list[str], selection: Selection) -> None:
    path = PATCHES / name
    expected = subprocess.run(
        ["filterdiff", *options, str(path)], check=True, capture_output=True
    ).stdout
    assert output(load(name), selection) == expected


@pytest.mark.parametrize(
    "selection",
    [
        Selection(only=("drivers/md",)),
        Selection(only=("kernel",), invert=True),
        Selection(includes=("*/kernel/*",), excludes=("*/core.c",)),
        Selection(files=RangeSet.parse("2-4")),
        Selection(only=("drivers/md",), hunks=RangeSet.parse("1")),
    ],
)
def test_lazy_index_selects_and_writes_what_the_eager_one_does(selection: Selection) -> None:
    from tests.patchfile.test_index import MIXED_GIT

    data = MIXED_GIT
    lazy = index_sources([PatchSource("<patch>", data)], lazy=True)
    eager = index_sources([PatchSource("<patch>", data)])
    lazy_result, eager_result = select(lazy, selection), select(eager, selection)
    assert b"".join(render(lazy_result)) == b"".join(render(eager_result))
    assert lazy_result.kept == eager_result.kept
    assert tuple(lazy_result.decisions) == tuple(eager_result.decisions)
    assert b"".join(render(lazy_result, verbose=True)) == b"".join(
        render(eager_result, verbose=True)
    )


def test_lazy_selection_checks_the_hunks_of_the_files_it_keeps() -> None:
    bad = b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n--- a/drivers/md/dm.c\n"
    bad += b"+++ b/drivers/md/dm.c\n@@ -1,3 +1,3 @@\n-a\n+b\n"
    with pytest.raises(PatchParseError) as eager:
        index_sources([PatchSource("<patch>", bad)])
    lazy = index_sources([PatchSource("<patch>", bad)], lazy=True)
    with pytest.raises(PatchParseError, match="input ends inside the hunk") as caught:
        select(lazy, Selection(only=("drivers/md",)))
    assert (caught.value.line, caught.value.message) == (eager.value.line, eager.value.message)
    assert select(lazy, Selection(only=("kernel",))).kept == ()


def _git_diff(old: bytes, new: bytes) -> bytes:
    return b"diff --git %s %s\n--- %s\n+++ %s\n@@ -1 +1 @@\n-a\n+b\n" % (old, new, old, new)


# Names that test --only's matching on raw bytes: no "/", regex characters, Latin-1 bytes, a
# directory name that is only a prefix of another, a rename out of the directory.
_ONLY_NAMES = [
    (b"a/drivers/md/dm.c", b"b/drivers/md/dm.c"),
    (b"a/drivers/md", b"b/drivers/md"),
    (b"a/drivers/mdx/x.c", b"b/drivers/mdx/x.c"),
    (b"drivers", b"drivers"),
    (b"a/drivers/c++/f\xe9.c", b"b/drivers/c++/f\xe9.c"),
    (b"a/drivers/md/old.c", b"b/fs/new.c"),
    (b"a/x/drivers/md/deep.c", b"b/x/drivers/md/deep.c"),
]


@pytest.mark.parametrize("strip", [0, 1, 2])
@pytest.mark.parametrize(
    "only",
    [("drivers/md",), ("drivers/md/",), ("drivers/c++", "drivers"), ("drivers/c++/f\udce9.c",)],
)
def test_only_keeps_the_tree_paths_in_or_under_its_directories(
    strip: int, only: tuple[str, ...]
) -> None:
    data = b"".join(_git_diff(old, new) for old, new in _ONLY_NAMES)
    dirs = [d.strip("/") for d in only]

    def wanted(name: str) -> bool:
        path = strip_components(name, strip)
        return any(path == d or path.startswith(d + "/") for d in dirs)

    expected = [
        number
        for number, (old, new) in enumerate(_ONLY_NAMES, start=1)
        if wanted(old.decode("utf-8", "surrogateescape"))
        or wanted(new.decode("utf-8", "surrogateescape"))
    ]
    for lazy in (False, True):
        index = index_sources([PatchSource("<patch>", data)], lazy=lazy)
        kept = select(index, Selection(only=only, strip=strip)).kept
        assert [d.entry.number for d in kept] == expected, (lazy, strip, only)


def test_describe_gives_the_rules_as_typed() -> None:
    from patchsmith.patchfile.select import describe

    selection = Selection(
        includes=("*/md/*",),
        excludes=("*raid*",),
        only=("drivers/md",),
        hunks=RangeSet.parse("x1", "--hunks range"),
        invert=True,
    )
    assert describe(selection) == (
        "-i */md/*",
        "-x *raid*",
        "--only drivers/md",
        "--hunks x1",
        "--invert",
    )


@pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
def test_susv2_context_hunks_all_reach_gnu_patch(tmp_path: Path) -> None:
    """GNU patch stops reading a file diff at a context hunk without its "***************"
    line and applies the ones before it without a word; the filtered patch has them all."""
    lines = [b"line %d\n" % n for n in range(1, 100)]
    lines[2:7] = [
        b"static int log_ctr(struct dm_dirty_log *log)\n",
        b"{\n",
        b"\tint r;\n",
        b"\tr = 0;\n",
        b"\treturn r;\n",
    ]
    lines[39:44] = [
        b"static void log_dtr(struct dm_dirty_log *log)\n",
        b"{\n",
        b"\tkfree(log->bits);\n",
        b"\tkfree(log);\n",
        b"}\n",
    ]
    lines[79:83] = [b"static int log_resume(struct dm_dirty_log *log)\n", b"{\n"]
    lines[81:83] = [b"\treturn 0;\n", b"}\n"]
    target = tmp_path / "drivers" / "md" / "dm-log.c"
    target.parent.mkdir(parents=True)
    original = b"".join(lines)
    patch = PATCHES / "context_susv2_separators.diff"
    filtered = output(load(patch.name), Selection(includes=("*dm-log.c",)))

    def applied(data: bytes) -> bytes:
        target.write_bytes(original)
        subprocess.run(
            ["patch", "-s", "-p0", "-F2"], input=data, cwd=tmp_path, check=True, capture_output=True
        )
        return target.read_bytes()

    as_given = applied(patch.read_bytes().split(b"*** drivers/md/dm-io.c")[0])
    assert b"log->touched" not in as_given  # what GNU patch does with the input as it is
    result = applied(filtered)
    assert b"r = -EINVAL" in result and b"log->touched = 0" in result
    assert b"kfree(log->bits)" not in result


# Lines a context hunk may carry that look like a hunk's own lines from their third byte on.
_LOOKALIKES = [b"*** 1 ****", b"***************", b"--- 2 ----", b"*** 3,4 ****", b"x"]


@st.composite
def context_diffs(draw: st.DrawFn) -> bytes:
    """Context diffs of one to three files whose hunks each may lack the ``***************``
    line, with names and hunk lines that look like range or separator lines."""
    out: list[bytes] = []
    for number in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([b"drivers/md/dm.c", b"1 ****", b"***************"]))
        name += b"%d" % number if name == b"drivers/md/dm.c" else b""
        if draw(st.booleans()):
            out.append(b"diff -c a/%s b/%s\n" % (name, name))
        out.append(b"*** %s\t2006-09-12 20:02:10\n--- %s\t2006-09-13 19:11:34\n" % (name, name))
        line = 1
        for hunk in range(draw(st.integers(1, 4))):
            # The first hunk's separator says the file diff is a context one; later ones may
            # lack theirs (SUSv2).
            if hunk == 0 or draw(st.booleans()):
                out.append(b"*" * 15 + b"\n")
            body = draw(st.lists(st.sampled_from(_LOOKALIKES), min_size=1, max_size=3))
            last = line + len(body) - 1
            out.append(b"*** %d,%d ****\n" % (line, last))
            out += [b"! " + text + b"\n" for text in body]
            out.append(b"--- %d,%d ----\n" % (line, last))
            out += [b"! " + text + b"-new\n" for text in body]
            line = last + 3
    return b"".join(out)


@settings(max_examples=300, deadline=None)
@given(context_diffs())
def test_the_fast_look_for_a_bare_context_hunk_misses_none(data: bytes) -> None:
    """``filter`` decides from a kept file's bytes alone whether a hunk lacks its separator; a
    miss would write a hunk GNU patch never reads. Names and lines that look like ranges or
    separators try to fool the count; the entries' own hunk offsets are the truth."""
    try:
        index = index_sources([PatchSource("<patch>", data)])
    except PatchParseError:
        # A file named "1 ****" right before a bare hunk reads as a range line, as GNU patch
        # reads it: not a patch either tool takes.
        assume(False)
    for entry in index.files:
        chunk = data[entry.start : entry.end]
        if _bare_context_hunks(entry, data):
            assert _bare_context_hunk_in(chunk), chunk
    lazy = index_sources([PatchSource("<patch>", data)], lazy=True)
    assert b"".join(render(select(lazy, Selection()))) == b"".join(
        render(select(index, Selection()))
    )


def _full_vote(olds: list[bytes | None], news: list[bytes | None], gits: list[bool]) -> int:
    """The strip vote counted over every file, as written before it stopped at a majority."""
    votes = [0, 0]
    for old, new, git in zip(olds, news, gits, strict=True):
        if old is not None and new is not None:
            old_top, new_top = old.partition(b"/")[0], new.partition(b"/")[0]
            if git:
                votes[1 if old_top == b"a" and new_top == b"b" else 0] += 1
                continue
            if old_top != new_top and b"/" in old and b"/" in new:
                votes[1] += 1
                continue
        name = new if new is not None else old
        if name is None or b"/" not in name:
            votes[0] += 1
            continue
        votes[0 if name.partition(b"/")[0] in {b"drivers", b"kernel", b"fs"} else 1] += 1
    return 1 if votes[1] > votes[0] else 0


_VOTERS = [None, b"a/drivers/md/dm.c", b"b/drivers/md/dm.c", b"drivers/md/dm.c", b"dm.c"]
_VOTERS += [b"linux-6.1.4/fs/x.c", b"linux-6.1.180/fs/x.c", b"kernel/fork.c"]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_VOTERS), st.sampled_from(_VOTERS), st.booleans()), max_size=9
    )
)
def test_the_strip_vote_stopped_at_a_majority_is_the_whole_vote(
    files: list[tuple[bytes | None, bytes | None, bool]],
) -> None:
    """Ties (0 wins), one vote short of a majority, every kind of name on either side."""
    from patchsmith.patchfile.select import _detect_strip

    olds, news, gits = [f[0] for f in files], [f[1] for f in files], [f[2] for f in files]
    assert _detect_strip(olds, news, gits) == _full_vote(olds, news, gits)


_TOPS = [b"a", b"b", b"linux-6.1.4", b"linux-6.1.180", b"drivers", b"kernel", b"x\0a", b""]
_RESTS = [b"drivers/md/dm.c", b"fs/x.c", b"dm.c", b""]


@st.composite
def _prefixed_names(draw: st.DrawFn) -> list[tuple[bytes | None, bytes | None, bool]]:
    """File diffs whose names mostly share one folder per side, as whole patches do, with what
    could make a count over all of them lie: a name with no folder, a NUL in a name, a kernel
    folder as the prefix, a file diff with neither name, git and non-git file diffs mixed."""
    old_top, new_top = draw(st.sampled_from(_TOPS)), draw(st.sampled_from(_TOPS))
    git = draw(st.booleans())
    files = []
    for _ in range(draw(st.integers(1, 7))):
        rest = draw(st.sampled_from(_RESTS))
        old: bytes | None = old_top + b"/" + rest
        new: bytes | None = new_top + b"/" + rest
        shape = draw(st.integers(0, 9))
        if shape == 0:
            old = None
        elif shape == 1:
            new = None
        elif shape == 2:
            old, new = None, None
        elif shape == 3:
            old = draw(st.sampled_from([b"dm.c", b"a", b"b/dm.c", b"a\0a/x"]))
        elif shape == 4:
            git = not git
        files.append((old, new, git))
    return files


@settings(max_examples=800, deadline=None)
@given(_prefixed_names())
def test_the_strip_vote_read_from_shared_folders_is_the_whole_vote(
    files: list[tuple[bytes | None, bytes | None, bool]],
) -> None:
    """The shortcut that finds every file voting 1 from the names' shared first folders (two
    counts over the joined names) never answers for a patch where one file votes 0."""
    from patchsmith.patchfile.select import _all_vote_one, _detect_strip, _votes

    olds, news, gits = [f[0] for f in files], [f[1] for f in files], [f[2] for f in files]
    if _all_vote_one(olds, news, gits):
        assert all(_votes(olds, news, gits))
    assert _detect_strip(olds, news, gits) == _full_vote(olds, news, gits)


def test_the_shared_folders_of_whole_patches_vote_1_without_a_vote_per_file() -> None:
    from patchsmith.patchfile.select import _all_vote_one

    urn = [b"linux-6.1.4/drivers/md/dm.c", b"linux-6.1.4/fs/x.c"]
    new = [b"linux-6.1.180/drivers/md/dm.c", b"linux-6.1.180/fs/x.c"]
    assert _all_vote_one(urn, new, [False, False])
    assert _all_vote_one([b"a/x.c", None], [b"b/x.c", b"b/y.c"], [True, True])
    # a kernel folder on both sides (git --no-prefix), a git patch not named a/ b/, a NUL
    assert not _all_vote_one([b"drivers/x.c"], [b"drivers/x.c"], [False])
    assert not _all_vote_one([b"old/x.c"], [b"new/x.c"], [True])
    assert not _all_vote_one([b"linux/x.c", b"y\0linux/z.c"], [b"b/x.c", b"b/z.c"], [False, False])
    # one file diff without either name votes 0
    assert not _all_vote_one([b"a/x.c", None, None], [None, b"b/y.c", None], [True] * 3)


_ONLY_PARTS = st.sampled_from(["drivers", "md", "drivers/md", "a", "linux-6.1", "", "dm.c", "mdx"])


@settings(max_examples=500, deadline=None)
@given(
    names=st.lists(
        st.one_of(st.none(), st.lists(_ONLY_PARTS, min_size=1, max_size=4).map("/".join)),
        max_size=9,
    ),
    only=st.lists(st.sampled_from(["drivers/md", "md", "dm.c", "drivers"]), min_size=1),
    strip=st.sampled_from([0, 1]),
)
def test_only_over_the_joined_names_keeps_what_a_match_per_name_keeps(
    names: list[str | None], only: list[str], strip: int
) -> None:
    """``--only`` finds its names with one search over all of them joined, and numbers each
    hit by the NULs before it: names that are empty, that are the directory itself, that hold
    it in a later folder, or that repeat must number as a match per name does."""
    from patchsmith.patchfile.select import _PathRules

    rules = _PathRules(Selection(only=tuple(only)), strip)
    raw = [None if name is None else name.encode() for name in names]
    assert rules.only is not None
    expected = {
        number
        for number, name in enumerate(names)
        if name is not None and rules.only.match(strip_components(name, strip).encode())
    }
    assert rules.under_only(raw) == expected


@pytest.mark.parametrize("only", ["/", "", "//"])
def test_an_empty_only_directory_is_refused_not_matched_to_missing_names(only: str) -> None:
    """It named no directory, yet matched the empty name a new file's missing old side joins
    as: the new file was kept and the modified one beside it left out, without a word."""
    data = (
        b"diff --git a/x.c b/x.c\nnew file mode 100644\nindex 0000000..1111111\n"
        b"--- /dev/null\n+++ b/x.c\n@@ -0,0 +1 @@\n+a\n"
        b"diff --git a/y.c b/y.c\nindex 1111111..2222222 100644\n"
        b"--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-a\n+b\n"
    )
    for lazy in (False, True):
        index = index_sources([PatchSource("<patch>", data)], lazy=lazy)
        with pytest.raises(UsageError) as refused:
            select(index, Selection(only=(only,)), bytes_only=lazy)
        assert "--only" in refused.value.message

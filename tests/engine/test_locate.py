"""The locate ladder on small in-memory files: one test per rung, status and safety rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchsmith.engine.conflict import find_candidates
from patchsmith.engine.filelines import (
    FileLines,
    enclosing_function,
    nearest,
    normalize,
    same_function,
)
from patchsmith.engine.locate import (
    LARGE_OFFSET,
    NEIGHBOURS_CLEARED,
    VANILLA_CLEARED,
    _pure_additions,
    apply_located,
    bound_by_neighbours,
    clear_with_vanilla,
    locate_hunk,
    unchanged_since_vanilla,
)
from patchsmith.engine.records import Location, Placement, Rule
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import index_bytes
from tests.support.paths import CHECK


def hunk_of(body: str, start: int = 3, section: str = "static int f(void)") -> Hunk:
    """A parsed hunk from its body lines (prefix included); the header's counts are computed."""
    rows = body.splitlines()
    old = sum(1 for row in rows if row[:1] in (" ", "-"))
    new = sum(1 for row in rows if row[:1] in (" ", "+"))
    old_start = start if old else start - 1
    header = f"@@ -{old_start},{old} +{start},{new} @@ {section}".rstrip()
    text = f"--- a/f.c\n+++ b/f.c\n{header}\n{body}"
    index = index_bytes(text.encode())
    return parse_file(index, index.files[0])[0]


def lines(text: str) -> list[bytes]:
    return [line.encode() + b"\n" for line in text.split("\n")]


# f(): the hunk adds a NULL check after the allocation.
HUNK = hunk_of(
    " \tstruct foo *p;\n"
    " \n"
    " \tp = kzalloc(sizeof(*p), GFP_KERNEL);\n"
    "+\tif (!p)\n"
    "+\t\treturn -ENOMEM;\n"
    " \tp->a = 1;\n"
    " \tp->b = 2;\n"
    " \treturn 0;\n"
)
FILE = lines(
    "#include <linux/slab.h>\n"
    "static int f(void)\n"
    "{\n"
    "\tstruct foo *p;\n"
    "\n"
    "\tp = kzalloc(sizeof(*p), GFP_KERNEL);\n"
    "\tp->a = 1;\n"
    "\tp->b = 2;\n"
    "\treturn 0;\n"
    "}"
)
# HUNK says line 3, the file has it at index 3 (line 4): shift the stated line to match.
CLEAN_HUNK = hunk_of(
    "".join(f"{line.op}{line.text.decode()}" for line in HUNK.lines),
    4,
    "static int f(void)",
)


def test_clean_at_the_stated_line() -> None:
    location = locate_hunk(FILE, CLEAN_HUNK)
    assert location.status == HunkStatus.CLEAN
    assert location.found == 3
    assert not location.needs_review
    assert location.placement == Placement(CLEAN_HUNK, 3)


def test_clean_after_the_running_delta_of_earlier_hunks() -> None:
    # Stated line 3, but an earlier hunk of the file was found one line lower.
    location = locate_hunk(FILE, HUNK, delta=1)
    assert location.status == HunkStatus.CLEAN
    assert location.shift == 0


def test_offset_when_the_vendor_added_lines_above() -> None:
    vendor = FILE[:1] + lines("/* vendor */\n#include <linux/vendor.h>") + FILE[1:]
    location = locate_hunk(vendor, CLEAN_HUNK)
    assert location.status == HunkStatus.OFFSET
    assert location.shift == 2
    assert not location.needs_review
    assert location.next_delta == 2


def test_nearest_prefers_after_on_a_tie_like_gnu_patch() -> None:
    assert nearest([8, 12], 10) == 12
    assert nearest([9, 12], 10) == 9
    assert nearest([9, 12], 10, floor=10) == 12
    assert nearest([], 10) is None


def test_whitespace_rung() -> None:
    vendor = [line.replace(b"sizeof(*p), GFP", b"sizeof(*p),  GFP") for line in FILE]
    location = locate_hunk(vendor, CLEAN_HUNK)
    assert location.status == HunkStatus.WHITESPACE
    assert location.found == 3
    result = apply_located(vendor, [location.placement] if location.placement else [])
    # The vendor's context line is kept as the vendor wrote it.
    assert b"\tp = kzalloc(sizeof(*p),  GFP_KERNEL);\n" in result
    assert b"\t\treturn -ENOMEM;\n" in result


def test_whitespace_match_flagged_when_removed_lines_differ() -> None:
    hunk = hunk_of(
        " \tstruct foo *p;\n \n-\tp = kzalloc(sizeof(*p), GFP_KERNEL);\n"
        "+\tp = kvzalloc(sizeof(*p), GFP_KERNEL);\n \tp->a = 1;\n \tp->b = 2;\n \treturn 0;\n",
        4,
        "static int f(void)",
    )
    vendor = [line.replace(b"sizeof(*p), GFP", b"sizeof(*p),   GFP") for line in FILE]
    location = locate_hunk(vendor, hunk)
    assert location.status == HunkStatus.WHITESPACE
    assert location.needs_review
    assert "differ in whitespace" in location.reason


def test_fuzz_drops_outer_context_and_is_safe_in_the_right_function() -> None:
    vendor = [line.replace(b"\tp->b = 2;", b"\tp->b = 3;") for line in FILE]
    location = locate_hunk(vendor, CLEAN_HUNK)
    assert location.status == HunkStatus.FUZZ
    assert location.fuzz == 2  # the changed line is the second trailing one
    assert location.placement is not None
    assert (location.placement.top, location.placement.bottom) == (2, 2)
    result = apply_located(vendor, [location.placement])
    assert b"\tp->b = 3;\n" in result  # the vendor's context survives
    assert result.count(b"\t\treturn -ENOMEM;\n") == 1


def test_fuzz_zero_means_no_fuzz() -> None:
    vendor = [line.replace(b"\tp->b = 2;", b"\tp->b = 3;") for line in FILE]
    location = locate_hunk(vendor, CLEAN_HUNK, fuzz=0)
    assert location.status == HunkStatus.CONFLICT


def test_fuzz_cut_follows_gnu_for_a_hunk_at_the_top_of_a_file() -> None:
    # No leading context: GNU patch only drops trailing lines, and the match must be at line 1.
    hunk = hunk_of("+/* SPDX */\n #include <a.h>\n #include <b.h>\n #include <c.h>\n", 1, "")
    location = locate_hunk(lines("#include <a.h>\n#include <b.h>\n#include <x.h>"), hunk)
    assert location.status == HunkStatus.FUZZ
    assert location.placement is not None
    assert (location.placement.top, location.placement.bottom) == (0, 1)


def test_already_applied_exact() -> None:
    applied = apply_located(FILE, [Placement(CLEAN_HUNK, 3)])
    location = locate_hunk(applied, CLEAN_HUNK)
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.placement is None
    assert location.growth == 2


def test_already_applied_beats_a_fuzzy_pre_image_match() -> None:
    # The post-image is there exactly; the pre-image matches elsewhere only with fuzz.
    applied = apply_located(FILE, [Placement(CLEAN_HUNK, 3)])
    decoy = lines(
        "static int g(void)\n{\n\tstruct bar *q;\n\n\tp = kzalloc(sizeof(*p), GFP_KERNEL);\n"
        "\tp->a = 1;\n\tp->b = 2;\n\treturn 1;\n}"
    )
    location = locate_hunk(decoy + applied, CLEAN_HUNK)
    assert location.status == HunkStatus.ALREADY_APPLIED


def test_partially_applied_one_of_two_change_groups() -> None:
    hunk = hunk_of(
        " \tp = kzalloc(sizeof(*p), GFP_KERNEL);\n+\tif (!p)\n+\t\treturn -ENOMEM;\n"
        " \tp->a = 1;\n-\tp->b = 2;\n+\tp->b = 4;\n \treturn 0;\n }\n",
        6,
        "static int f(void)",
    )
    vendor = apply_located(FILE, [Placement(CLEAN_HUNK, 3)])  # the NULL check is there
    location = locate_hunk(vendor, hunk)
    assert location.status == HunkStatus.PARTIALLY_APPLIED
    assert location.needs_review
    assert "1 of 2" in location.reason


def test_conflict_gives_candidates_and_alignment() -> None:
    vendor = lines(
        "#include <linux/slab.h>\nstatic int f(void)\n{\n\tstruct foo *p;\n\n"
        "\tp = vendor_alloc_foo();\n\tif (IS_ERR(p))\n\t\treturn PTR_ERR(p);\n"
        "\tp->a = 1;\n\tvendor_init(p);\n\treturn 0;\n}"
    )
    location = locate_hunk(vendor, CLEAN_HUNK)
    assert location.status == HunkStatus.CONFLICT
    assert location.needs_review
    assert location.placement is None
    assert location.candidates
    assert location.candidates[0].line == 4
    ops = {row.op for row in location.alignment}
    assert "same" in ops
    assert {"changed", "missing"} & ops
    expected = [row.expected for row in location.alignment if row.op in ("changed", "missing")]
    assert b"\tp = kzalloc(sizeof(*p), GFP_KERNEL);\n" in expected


def test_no_candidates_when_nothing_resembles_the_hunk() -> None:
    assert find_candidates(lines("int x;\nint y;"), HUNK.old_lines) == []


def test_ambiguous_offset_match_is_flagged() -> None:
    body = FILE[1:]
    vendor = FILE[:1] + lines("/* v */") + body + lines("/* copy */") + body
    location = locate_hunk(vendor, CLEAN_HUNK)
    assert location.status == HunkStatus.OFFSET
    assert location.needs_review
    assert "ambiguous" in location.reason


def test_clean_match_in_a_copy_of_the_function_is_flagged() -> None:
    # The vendor's copy of f() sits at the stated line: the match there is not taken, the one
    # in f() (the header's function) is, and both the ambiguity and the choice are reported.
    copy = [line.replace(b"static int f(void)", b"static int f_copy(void)") for line in FILE]
    location = locate_hunk(copy + FILE, CLEAN_HUNK)
    assert location.status == HunkStatus.OFFSET
    assert location.found == len(copy) + 3
    assert location.needs_review
    assert "ambiguous" in location.reason
    assert "line 14 is in 'static int f(void)', the function the hunk header names" in (
        location.reason
    )
    assert "line 4 (where GNU patch would put it), is in 'static int f_copy(void)'" in (
        location.reason
    )


def test_duplicate_code_trap_block_already_backported_nearby() -> None:
    hunk = hunk_of(
        " \trt = lookup(net, fl4);\n \tif (IS_ERR(rt))\n \t\treturn rt;\n"
        "+\tif (rt->rt_type != RTN_UNICAST)\n+\t\treturn ERR_PTR(-EINVAL);\n"
        " \n \t/* No need to clone. */\n \trt2 = rt;\n",
        3,
        "static struct rtable *route(struct net *net)",
    )
    vendor = lines(
        "#include <net/route.h>\nstatic struct rtable *route(struct net *net)\n{\n"
        "\trt = lookup(net, fl4);\n\tif (IS_ERR(rt))\n\t\treturn rt;\n\n\t/* No need to clone. */\n"
        "\tif (rt->rt_type != RTN_UNICAST)\n\t\treturn ERR_PTR(-EINVAL);\n\trt2 = rt;\n}"
    )
    location = locate_hunk(vendor, hunk)
    assert location.placement is not None  # GNU patch would apply it
    assert location.needs_review
    assert "already exist" in location.reason


def test_similar_block_in_another_function_is_not_a_duplicate() -> None:
    hunk = hunk_of(
        " \tdo(data);\n \tfoo_exit_acpi(data);\n+\tkfree(data->powernow_table);\n \n err_out:\n",
        3,
        "static int foo_init(struct policy *pol)",
    )
    vendor = lines(
        "static int foo_init(struct policy *pol)\n{\n\tdo(data);\n\tfoo_exit_acpi(data);\n\n"
        "err_out:\n\tkfree(data);\n\treturn -ENODEV;\n}\n\n"
        "static void foo_exit(struct policy *pol)\n"
        "{\n\tfoo_exit_acpi(data);\n\tkfree(data->powernow_table);\n\tkfree(data);\n}"
    )
    location = locate_hunk(vendor, hunk)
    assert location.status == HunkStatus.CLEAN
    assert not location.needs_review


def test_wrong_function_fuzz_match_is_flagged() -> None:
    hunk = hunk_of(
        " \tpktlen = oob->len;\n \tWARN_ON(rxbuf->size != 1);\n \n+\tif (pktlen > rxq->datasize)\n"
        "+\t\treturn;\n+\n \t/* Reuse XDP dropped page */\n \tif (rxq->xdp_save_va) {\n"
        " \t\tva = rxq->xdp_save_va;\n",
        9,
        "static void process_rx(struct rxq *rxq)",
    )
    vendor = lines(
        "static void *get_rxfrag(struct rxq *rxq)\n{\n\tvoid *va;\n\n"
        "\t/* Reuse XDP dropped page */\n"
        "\tif (rxq->xdp_save_va) {\n\t\tva = NULL;\n\t}\n\treturn va;\n}\n"
        "static void process_rx(struct rxq *rxq)\n{\n\tpktlen = oob->len;\n"
        "\tva = vendor_buf(rxq);\n}"
    )
    location = locate_hunk(vendor, hunk)
    assert location.status == HunkStatus.FUZZ
    assert location.needs_review
    assert "wrong function" in location.reason


def test_far_fuzz_match_is_flagged() -> None:
    padding = lines("\n".join(f"\tpad{i}();" for i in range(LARGE_OFFSET + 10)))
    vendor = [line.replace(b"\tp->b = 2;", b"\tp->b = 3;") for line in FILE]
    far = vendor[:3] + padding + vendor[3:]
    location = locate_hunk(far, CLEAN_HUNK)
    assert location.status == HunkStatus.FUZZ
    assert location.needs_review
    assert "lines from where it was expected" in location.reason


def test_floor_keeps_hunks_in_order() -> None:
    location = locate_hunk(FILE, CLEAN_HUNK, floor=4)
    assert location.status != HunkStatus.CLEAN
    assert location.placement is None or location.placement.start >= 4


def test_insertion_without_context() -> None:
    hunk = hunk_of("+int a;\n+int b;\n", 1, "")
    location = locate_hunk([], hunk)
    assert location.status == HunkStatus.CLEAN
    assert apply_located([], [location.placement] if location.placement else []) == [
        b"int a;\n",
        b"int b;\n",
    ]


def test_apply_located_refuses_overlaps() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        apply_located(FILE, [Placement(CLEAN_HUNK, 3), Placement(CLEAN_HUNK, 4)])


def test_bytes_and_lines_views_agree() -> None:
    data = b"".join(FILE)
    assert FileLines(data=data).find_all(CLEAN_HUNK.old_lines) == [3]
    assert FileLines(FILE).find_all(CLEAN_HUNK.old_lines) == [3]
    assert len(FileLines(data=data)) == len(FILE)


def test_no_newline_at_end_of_file_must_end_the_file() -> None:
    view = FileLines(data=b"a\nb\na\nb")
    assert view.find_all([b"a\n", b"b"]) == [2]


def test_enclosing_function_skips_labels() -> None:
    text = lines("static int f(void)\n{\nout:\n\treturn 0;\n}")
    assert enclosing_function(text, 3) == (0, b"static int f(void)\n")


def test_definition_above_from_bytes_agrees_with_the_lines() -> None:
    # The bytes path (an exact hit in a file never split) must find what enclosing_function
    # finds on the lines, at every line: labels skipped, the first line counted, a long gap.
    data = (
        b"int top(void)\n{\nout:\n\treturn 0;\n}\n"
        + b"\tfiller;\n" * 400
        + b"static int f(void)\n{\nerr:\n\tx;\n}\n\n$weird\nlast\n"
    )
    split = lines(data.decode())
    for index in range(len(split)):
        view = FileLines(data=data)
        assert view.holds_at([split[index]], index) == (index in view.find_all([split[index]]))
        view = FileLines(data=data)
        view.find_all([split[index]])  # records the hit's byte offset
        found = enclosing_function(split, index)
        assert view.definition_above(index) == (found[1] if found else None)


def test_holds_at_only_at_that_line() -> None:
    view = FileLines(data=b"a\nb\na\nb\nc\n")
    assert view.holds_at([b"a\n", b"b\n"], 2)
    assert not view.holds_at([b"a\n", b"b\n"], 1)
    assert view.holds_at([b"a\n", b"b\n"], 0)  # searched from the start when below the mark
    assert not FileLines(data=b"a\nb").holds_at([b"a\n", b"b\n"], 0)


def test_normalize() -> None:
    assert normalize(b"\t if  (x)\t{ \r\n") == b"if (x) {"


# --- clearing a flag with the vanilla file ------------------------------------------------------

# up(): upstream adds a second wait after enabling the interrupt; the same three lines are
# already above, so the duplicate-code rule flags the (correct) hunk.
WAIT_FILE = lines(
    "static int up(struct d *dev)\n{\n\tint ret;\n\n"
    "\tret = wait_ready(dev, TIMEOUT_MS);\n\tif (ret)\n\t\treturn ret;\n"
    "\twritel(CLK_ON, dev->base + CLK);\n\twritel(RST_OFF, dev->base + RST);\n"
    "\twritel(IRQ_ON, dev->base + IRQ);\n\n\treturn 0;\n}"
)
WAIT_HUNK = hunk_of(
    " \twritel(CLK_ON, dev->base + CLK);\n \twritel(RST_OFF, dev->base + RST);\n"
    " \twritel(IRQ_ON, dev->base + IRQ);\n"
    "+\tret = wait_ready(dev, TIMEOUT_MS);\n+\tif (ret)\n+\t\treturn ret;\n"
    " \n \treturn 0;\n }\n",
    8,
    "static int up(struct d *dev)",
)


def test_duplicate_flag_cleared_when_the_neighbourhood_is_vanillas() -> None:
    location = locate_hunk(WAIT_FILE, WAIT_HUNK)
    assert location.status == HunkStatus.CLEAN
    assert location.needs_review
    assert location.rules == (Rule.DUPLICATE,)
    cleared = clear_with_vanilla(
        FileLines(WAIT_FILE), WAIT_HUNK, location, FileLines(data=b"".join(WAIT_FILE))
    )
    assert cleared.status == HunkStatus.CLEAN
    assert not cleared.needs_review
    assert cleared.placement == location.placement
    # The evidence stays, with why it no longer needs a person.
    assert cleared.reasons == (*location.reasons, VANILLA_CLEARED)


def test_duplicate_flag_kept_when_the_vendor_changed_the_neighbourhood() -> None:
    # Vanilla had no wait before the clock: the vendor added it, so the block nearby is the
    # vendor's (a backport), not upstream's own repetition.
    vanilla = WAIT_FILE[:4] + WAIT_FILE[7:]
    hunk = hunk_of(
        "".join(f"{line.op}{line.text.decode()}" for line in WAIT_HUNK.lines),
        5,
        WAIT_HUNK.section,
    )
    location = locate_hunk(WAIT_FILE, hunk)
    assert location.needs_review
    assert location.status == HunkStatus.OFFSET
    kept = clear_with_vanilla(FileLines(WAIT_FILE), hunk, location, FileLines(vanilla))
    assert kept is location


def test_no_clearing_when_another_rule_flagged_too() -> None:
    location = locate_hunk(WAIT_FILE, WAIT_HUNK)
    vanilla = FileLines(WAIT_FILE)
    for rule in (Rule.EDGE, Rule.POST_IMAGE, Rule.WRONG_FUNCTION, Rule.FAR):
        flagged = replace(location, rules=(Rule.DUPLICATE, rule))
        assert clear_with_vanilla(FileLines(WAIT_FILE), WAIT_HUNK, flagged, vanilla) is flagged
    fuzzy = replace(location, status=HunkStatus.FUZZ, fuzz=1)
    assert clear_with_vanilla(FileLines(WAIT_FILE), WAIT_HUNK, fuzzy, vanilla) is fuzzy


def test_ambiguity_cleared_only_when_vanilla_has_the_same_copies() -> None:
    # The header names no function, so a clean match with a copy elsewhere is flagged.
    hunk = hunk_of("".join(f"{line.op}{line.text.decode()}" for line in HUNK.lines), 4, section="")
    filler = lines("\n".join(f"int filler_{i};" for i in range(40)))
    vanilla = FILE + filler
    vendor = vanilla + FILE[1:]  # the vendor added a copy, far below the window
    location = locate_hunk(vendor, hunk)
    assert location.status == HunkStatus.CLEAN
    assert Rule.AMBIGUOUS in location.rules
    assert unchanged_since_vanilla(FileLines(vendor), 3, len(hunk.old_lines), FileLines(vanilla), 3)
    # The copy is the vendor's: it may need the fix too.
    kept = clear_with_vanilla(FileLines(vendor), hunk, location, FileLines(vanilla))
    assert kept.needs_review
    # Upstream's own repetition: the copy was in vanilla too.
    cleared = clear_with_vanilla(FileLines(vendor), hunk, location, FileLines(vendor))
    assert not cleared.needs_review


def test_unchanged_since_vanilla_compares_aligned_windows() -> None:
    text = lines("\n".join(f"line {i}" for i in range(60)))
    view = FileLines(text)
    assert unchanged_since_vanilla(view, 30, 3, FileLines(text), 30)
    # A vendor line added just inside the window, above or below, is a change.
    assert not unchanged_since_vanilla(
        FileLines(text[:6] + lines("vendor") + text[6:]), 31, 3, view, 30
    )
    assert not unchanged_since_vanilla(
        FileLines(text[:57] + lines("vendor") + text[57:]), 30, 3, view, 30
    )
    # ...but one outside it is not.
    assert unchanged_since_vanilla(
        FileLines(text[:3] + lines("vendor") + text[3:]), 31, 3, view, 30
    )
    # Near the top of the file both windows are clipped, and must be clipped alike.
    assert unchanged_since_vanilla(view, 2, 3, FileLines(text), 2)
    assert not unchanged_since_vanilla(FileLines(text[1:]), 1, 3, view, 2)
    # The stated place must exist in vanilla.
    assert not unchanged_since_vanilla(view, 30, 3, FileLines(text[:20]), 30)


# Lines and hunk sections made of a few words and whitespace runs: where prefix and
# whitespace-collapsing rules could disagree.
_words = st.sampled_from([b"int", b"foo(", b"void", b"x)", b"{", b""])
_spaces = st.sampled_from([b"", b" ", b"  ", b"\t", b" \t "])
_texts = st.lists(st.tuples(_spaces, _words), max_size=5).map(
    lambda parts: b"".join(space + word for space, word in parts)
)


@given(section=_texts, line=_texts, tail=_texts)
def test_same_function_agrees_with_its_definition(section: bytes, line: bytes, tail: bytes) -> None:
    # same_function answers a raw prefix without normalizing; the answer must be the one the
    # whitespace-collapsed comparison gives, for lines that start with the section and others.
    for candidate in (line, section + tail, line + b"\n"):
        left, right = normalize(section), normalize(candidate)
        expected = bool(left and right) and (right.startswith(left) or left.startswith(right))
        assert same_function(section, candidate) == expected


@given(ops=st.text(alphabet=" +-", max_size=30))
def test_pure_additions_are_the_all_added_change_groups(ops: str) -> None:
    # A change group is a run of ops between context lines; a pure addition has no "-".
    texts = tuple(f"{i}\n".encode() for i in range(len(ops)))
    hunk = Hunk(1, 1, 1, 1, 1, "", ops, texts)
    expected: list[list[bytes]] = []
    start = 0
    for run in ops.split(" "):
        if run and "-" not in run:
            expected.append(list(texts[start : start + len(run)]))
        start += len(run) + 1
    assert _pure_additions(hunk) == expected


# --- files that read two ways: repeated lines make "applied" and "not applied" look alike ------


def test_a_hunk_whose_result_is_already_its_context_is_flagged() -> None:
    # Adding a "}" before three "}" to a file that has four: the pre-image (its context) and
    # its result both match at line 3, so applying may be applying twice (GNU patch does).
    hunk = hunk_of(" \tif (a) {\n \tif (b) {\n \tif (c) {\n+\t}\n \t}\n \t}\n \t}\n", start=3)
    file = lines(
        "static int f(void)\n{\n\tif (a) {\n\tif (b) {\n\tif (c) {\n\t}\n\t}\n\t}\n\t}\n"
        "\treturn 0;\n}"
    )
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.CLEAN and location.needs_review
    assert Rule.READS_AS_BOTH in location.rules


def test_removing_one_of_a_run_of_equal_lines_is_flagged() -> None:
    # The hunk removes one "{" of five; the vendor's file has four: both readings fit.
    hunk = hunk_of(" {\n-\t{\n \t{\n \t{\n \t{\n", start=2)
    file = lines("int f(void)\n{\n\t{\n\t{\n\t{\n\t{\n\n\ta\n}")
    location = locate_hunk(file, hunk)
    assert location.needs_review and Rule.READS_AS_BOTH in location.rules


def test_a_removal_at_the_end_of_the_file_is_not_read_as_applied() -> None:
    # No trailing context: the hunk ends at the end of the file, and the lines it removes are
    # still there, so its result (the leading context alone) is not what the file reads as.
    hunk = hunk_of(" /gen_crc32table\n /oid_registry_data.c\n-/test_fortify.log\n", start=5)
    file = lines("/a\n/b\n/c\n/d\n/gen_crc32table\n/oid_registry_data.c\n/test_fortify.log")
    location = locate_hunk(file, hunk)
    assert (location.status, location.needs_review) == (HunkStatus.CLEAN, False)


def test_already_applied_is_flagged_when_the_lines_also_read_as_the_original_with_fuzz() -> None:
    # The hunk removes "c }" from "} c } c } b }"; the vendor changed the first "}" to "c".
    # "} c } b }" (its result) is in the file, and so is its original with one line ignored.
    hunk = hunk_of(" \t}\n \tc\n \t}\n-\tc\n-\t}\n \tb\n }\n", start=6, section="")
    file = lines("int f(void)\n{\n\t}\n\t{\n\treturn 0;\n\tc\n\tc\n\t}\n\tc\n\t}\n\tb\n}")
    location = locate_hunk(file, hunk)
    # The removed "c }" still stand between the context ("c c } c } b }" is the original with
    # its first line changed): not applied, with that region as the candidate.
    assert location.status == HunkStatus.CONFLICT and location.needs_review
    assert "lines the hunk removes still stand" in location.reason
    first = location.candidates[0]
    assert first.line <= 9 and first.line + first.length > 10  # the "c }" at lines 9 and 10


def test_an_exact_copy_at_an_offset_is_flagged_when_the_stated_place_matches_with_fuzz() -> None:
    # The vendor changed the first context line at the stated place (line 3): the only exact
    # match is a copy of the lines further down, which GNU patch and git apply would take.
    hunk = hunk_of(" \ta\n \tx++;\n \tx++;\n+\treturn 0;\n \tx++;\n \t}\n", start=3, section="")
    file = lines(
        "int f(void)\n{\n\tc\n\tx++;\n\tx++;\n\tx++;\n\t}\n\tb\n\tb\n"
        "\ta\n\tx++;\n\tx++;\n\tx++;\n\t}\n}"
    )
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.OFFSET and location.found == 9
    assert location.needs_review and Rule.NEARER_FUZZY in location.rules


# --- numbers that cannot be right ---------------------------------------------------------------


@pytest.mark.parametrize("start", [99999999999, 40])
def test_a_match_farther_than_the_file_is_long_is_flagged(start: int) -> None:
    # A 3-line file and a hunk that says it is at line 99999999999: GNU patch applies it "at
    # offset -99999999998". The lines match, but the numbers that should confirm it are wrong.
    file = lines("\tif (!p)\n\t\treturn -ENOMEM;\n\treturn 0;")
    hunk = hunk_of(" \tif (!p)\n-\t\treturn -ENOMEM;\n+\t\treturn -EINVAL;\n \treturn 0;\n", start)
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.OFFSET
    assert location.needs_review and Rule.ABSURD in location.rules
    assert "line numbers are wrong" in location.reason
    # Already applied, just as far: flagged the same way.
    fixed = lines("\tif (!p)\n\t\treturn -EINVAL;\n\treturn 0;")
    applied = locate_hunk(fixed, hunk)
    assert applied.status == HunkStatus.ALREADY_APPLIED
    assert applied.needs_review and Rule.ABSURD in applied.rules


def test_a_far_match_in_a_long_file_is_not_absurd() -> None:
    # 60 lines away in a file of 200: far, but a vendor can add that much.
    body = [f"\tcall_{i}();" for i in range(200)]
    file = lines("\n".join(body))
    hunk = hunk_of(" \tcall_150();\n-\tcall_151();\n \tcall_152();\n", start=92, section="")
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.OFFSET and location.shift == 59
    assert Rule.ABSURD not in location.rules


# --- ties between identical-looking places: the hunk header's function decides -----------------

TIE = CHECK / "trap-tie"


def _tie() -> tuple[list[bytes], Hunk]:
    """The tie fixture: two functions ending alike, the hunk for the second (pause_resume),
    the first one's copy nearer to the stated line in the vendor's file."""
    index = index_bytes((TIE / "patch.diff").read_bytes())
    (hunk,) = parse_file(index, index.files[0])
    return (TIE / "tree/drivers/md/dm-pause.c").read_bytes().splitlines(keepends=True), hunk


def _function_of(file: list[bytes], index: int) -> bytes:
    found = enclosing_function(file, index)
    assert found is not None
    return found[1]


def test_a_tie_goes_to_the_function_the_header_names() -> None:
    file, hunk = _tie()
    location = locate_hunk(file, hunk)
    assert location.needs_review and Rule.AMBIGUOUS in location.rules
    assert location.placement is not None and location.found is not None
    # The proposal and --accept use the placement: in pause_resume, not pause_presuspend.
    assert _function_of(file, location.found).startswith(b"static void pause_resume(")
    result = b"".join(apply_located(file, [location.placement]))
    assert b"\tmutex_unlock(&pc->lock);\n\twake_up(&pc->wait);\n\treturn;\n}\n\nstatic struct" in (
        result
    )
    assert "the function the hunk header names" in location.reason
    assert "where GNU patch would put it" in location.reason


def test_a_tie_without_a_function_in_the_header_stays_with_the_nearest() -> None:
    # Nothing to prefer the second place: GNU patch's choice, flagged as before.
    file, hunk = _tie()
    location = locate_hunk(file, replace(hunk, section=""))
    assert location.needs_review and location.found is not None
    assert _function_of(file, location.found).startswith(b"static void pause_presuspend(")
    assert "the function the hunk header names" not in location.reason


def test_tied_conflict_candidates_put_the_named_function_first() -> None:
    # The vendor changed the unlock in both copies: no match, two equally similar regions. The
    # first candidate (the region a proposal is built on) is the one in pause_resume, though
    # the other is nearer, and the evidence says why.
    file, hunk = _tie()
    file = [
        line.replace(b"mutex_unlock(&pc->lock)", b"mutex_unlock_vendor(&pc->lock)") for line in file
    ]
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.CONFLICT
    first, second = location.candidates[:2]
    assert first.similarity == second.similarity
    assert _function_of(file, first.line - 1).startswith(b"static void pause_resume(")
    assert _function_of(file, second.line - 1).startswith(b"static void pause_presuspend(")
    assert "the function the hunk header names" in location.reason
    # Without a section the nearer one comes first, as before.
    plain = find_candidates(file, hunk.old_lines, hunk.new_lines, hunk.old_start - 1)
    assert plain[0] == second


# --- already applied needs positive evidence -----------------------------------------------------

DELETED = CHECK / "trap-deleted-block"


def test_a_deleted_block_the_vendor_edited_is_not_already_applied() -> None:
    # The post-image (only context) reads at the end of the very case upstream deletes: the
    # lines the hunk removes still stand between its context, so it is not applied.
    index = index_bytes((DELETED / "patch.diff").read_bytes())
    (hunk,) = parse_file(index, index.files[0])
    file = (DELETED / "tree/drivers/md/dm-pause-msg.c").read_bytes().splitlines(keepends=True)
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.CONFLICT and location.needs_review
    first = location.candidates[0]
    region = file[first.line - 1 : first.line - 1 + first.length]
    assert b"\tcase PAUSE_CMD_LEGACY_HOLD:\n" in region  # the block that still stands
    assert "the post-image matches at line 31, but 7 of the 7 lines" in location.reason
    assert "(1 of them edited) at line 24" in location.reason
    # With the block gone, as upstream has it, the same hunk is already applied, settled.
    done = file[:26] + file[33:]
    assert b"\tcase PAUSE_CMD_LEGACY_HOLD:\n" not in done
    applied = locate_hunk(done, hunk)
    assert applied.status == HunkStatus.ALREADY_APPLIED and not applied.needs_review


REPLACE_HUNK = hunk_of(
    " \tlen = skb_headlen(skb);\n"
    " \tif (len > max)\n"
    "-\t\treturn -EMSGSIZE;\n"
    "+\t\tgoto drop;\n"
    " \tcopy(skb, len);\n"
    " \tstats->rx++;\n",
    section="static int rx(struct sk_buff *skb)",
)


def test_the_fix_at_one_copy_and_not_at_the_other_in_the_same_function() -> None:
    # Both copies are in rx(), the function the header names: one reads as applied, the other
    # (its last line changed by the vendor) still has the line the hunk replaces between its
    # context. Some of the change is there, some is not.
    body = [
        "\tlen = skb_headlen(skb);",
        "\tif (len > max)",
        "\t\tgoto drop;",
        "\tcopy(skb, len);",
        "\tstats->rx++;",
        "\tlen = skb_headlen(skb);",
        "\tif (len > max)",
        "\t\treturn -EMSGSIZE;",
        "\tcopy(skb, len);",
        "\tstats->rx_dropped++;",
    ]
    file = lines("static int rx(struct sk_buff *skb)\n{\n" + "\n".join(body) + "\n\treturn 0;\n}")
    location = locate_hunk(file, replace(REPLACE_HUNK, old_start=8, new_start=8))
    assert location.status == HunkStatus.PARTIALLY_APPLIED and location.needs_review
    assert location.candidates[0].line == 8


def test_the_removed_lines_in_another_function_are_another_places_code() -> None:
    # The wireless shape: the fix is in rx() as the header says; another function still has
    # the old lines between the same context. That is not evidence against rx()'s fix.
    file = lines(
        "static int rx(struct sk_buff *skb)\n{\n\tlen = skb_headlen(skb);\n\tif (len > max)\n"
        "\t\tgoto drop;\n\tcopy(skb, len);\n\tstats->rx++;\n\treturn 0;\n}\n\n"
        "static int rx_legacy(struct sk_buff *skb)\n{\n\tlen = skb_headlen(skb);\n"
        "\tif (len > max)\n\t\treturn -EMSGSIZE;\n\tcopy(skb, len);\n\tstats->legacy_rx++;\n"
        "\treturn 0;\n}"
    )
    location = locate_hunk(file, REPLACE_HUNK)
    assert location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review


def test_removed_lines_with_context_on_one_side_only_do_not_count() -> None:
    # The rxe_srq.c shape: the line the hunk removes stands further down, after a "}" and a
    # blank line like its leading context, but not before its trailing context.
    hunk = hunk_of(
        " \t\treturn -ENOMEM;\n \t}\n \n-\tsrq->rq.queue = q;\n-\n"
        " \terr = do_mmap_info(rxe, q->buf);\n \tif (err) {\n \t\tvfree(q->buf);\n",
        section="int rxe_srq_from_init(struct rxe_dev *rxe)",
    )
    file = lines(
        "int rxe_srq_from_init(struct rxe_dev *rxe)\n{\n\tif (!q) {\n\t\treturn -ENOMEM;\n\t}\n\n"
        "\terr = do_mmap_info(rxe, q->buf);\n\tif (err) {\n\t\tvfree(q->buf);\n\t\treturn err;\n"
        "\t}\n\n\tsrq->rq.queue = q;\n\n\treturn 0;\n}"
    )
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review


def test_lines_the_hunk_moves_elsewhere_are_not_evidence() -> None:
    # The hunk moves two kfree() lines into a new helper above: they are in the file (added),
    # which says nothing about whether the old place still has them.
    hunk = hunk_of(
        " }\n \n+static void free_data(struct d *d)\n+{\n+\tkfree(d->hash);\n+\tkfree(d->name);\n"
        "+}\n+\n static void put_data(struct d *d)\n {\n-\tkfree(d->hash);\n-\tkfree(d->name);\n"
        "+\tfree_data(d);\n \tput_ns(d->ns);\n }\n",
        section="",
    )
    file = lines(
        "int x;\n}\n\nstatic void free_data(struct d *d)\n{\n\tkfree(d->hash);\n\tkfree(d->name);\n"
        "}\n\nstatic void put_data(struct d *d)\n{\n\tfree_data(d);\n\tput_ns(d->ns);\n}"
    )
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review


def test_a_generic_post_image_away_from_the_stated_line_is_weak_evidence() -> None:
    # The hunk removes a line between "}" / blank / "return 0;" lines: its result is generic,
    # and found 4 lines away it could be any function's tail.
    hunk = hunk_of(" \t}\n \n-\tx++;\n \treturn 0;\n }\n", start=3, section="")
    file = lines("int f(void)\n{\n\ta = 1;\n\tb = 2;\n\tif (a) {\n\t}\n\n\treturn 0;\n}")
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.needs_review and Rule.WEAK_EVIDENCE in location.rules
    # Exactly at the stated line and nowhere else: the number and the lines agree.
    exact = locate_hunk(file, replace(hunk, old_start=6, new_start=6))
    assert exact.status == HunkStatus.ALREADY_APPLIED and not exact.needs_review
    # A distinctive line in the post-image is evidence wherever it is found.
    named = hunk_of(" \tkref_put(&d->ref, d_free);\n-\tx++;\n \treturn 0;\n }\n", section="")
    moved = lines(
        "int f(void)\n{\n\ta = 1;\n\tb = 2;\n\tkref_put(&d->ref, d_free);\n\treturn 0;\n}"
    )
    assert not locate_hunk(moved, named).needs_review


# --- the hunks around a hunk bound where it can be -----------------------------------------------


def _two_hunks(vendor: str) -> tuple[list[Location], Sequence[bytes]]:
    """Two hunks of one file (no function named): the first adds a call after "\tsetup();",
    the second changes "\tteardown();"; a vendor's copy of the first's lines sits where given."""
    first = hunk_of(" \tsetup();\n+\tprobe();\n \tb = 2;\n", start=4, section="")
    second = hunk_of(" \tc = 3;\n-\tteardown();\n+\tteardown(dev);\n \td = 4;\n", 8, section="")
    view = FileLines(lines(vendor))
    hunks = [first, second]
    locations = []
    delta = floor = 0
    for hunk in hunks:
        location = locate_hunk(view, hunk, delta=delta, floor=floor)
        locations.append(location)
        delta += location.next_delta
        floor = location.end or floor
    return bound_by_neighbours(view, hunks, locations), view.lines


def test_a_copy_below_the_next_settled_hunk_is_no_proof_without_a_named_function() -> None:
    # The vendor's copy of the first hunk's lines is below the second hunk, which matched
    # where it says and alone: if the file's functions kept their order, only one place is
    # left. But nothing else says so (the headers name no function; the vendor may have moved
    # the function and kept a copy where it was), so the order alone lifts nothing.
    # tests/engine/test_neighbours.py has the lift with a named function.
    (first, second), _ = _two_hunks(
        "int f(void)\n{\n\ta = 1;\n\tsetup();\n\tb = 2;\n\n\n\tc = 3;\n\tteardown();\n\td = 4;\n"
        "}\n\nint g(void)\n{\n\ta = 1;\n\tsetup();\n\tb = 2;\n}"
    )
    assert second.status == HunkStatus.CLEAN and not second.needs_review
    assert first.status == HunkStatus.CLEAN and Rule.AMBIGUOUS in first.rules
    assert first.needs_review and NEIGHBOURS_CLEARED not in first.reason


def test_a_copy_between_the_hunks_keeps_the_flag() -> None:
    # The copy sits between the two hunks: the first hunk could be either place.
    (first, _second), _ = _two_hunks(
        "int f(void)\n{\n\ta = 1;\n\tsetup();\n\tb = 2;\n\ta = 1;\n\tsetup();\n\tb = 2;\n"
        "\tc = 3;\n\tteardown();\n\td = 4;\n}"
    )
    assert first.needs_review and Rule.AMBIGUOUS in first.rules
    assert NEIGHBOURS_CLEARED not in first.reason


def test_two_flagged_hunks_do_not_vouch_for_each_other() -> None:
    # Each hunk's lines are copied on the other side of the other hunk: if either were
    # settled it would bound the other, but both are flagged, so neither is lifted.
    hunks = [
        hunk_of(" \ta = 1;\n+\tprobe();\n \tb = 2;\n", start=5, section=""),
        hunk_of(" \tc = 3;\n+\tprobe();\n \td = 4;\n", start=8, section=""),
    ]
    view = FileLines(
        lines(
            "int f(void)\n{\n\tc = 3;\n\td = 4;\n\ta = 1;\n\tb = 2;\n\tx;\n\tc = 3;\n\td = 4;\n"
            "\ta = 1;\n\tb = 2;\n}"
        )
    )
    first = locate_hunk(view, hunks[0])
    second = locate_hunk(view, hunks[1], floor=first.end or 0)
    assert (first.found, second.found) == (4, 7)
    assert first.needs_review and second.needs_review
    lifted = bound_by_neighbours(view, hunks, [first, second])
    assert lifted[0].needs_review and lifted[1].needs_review


def test_a_nearer_fuzzy_place_needs_enough_lines_to_be_a_place() -> None:
    # Exact 3 lines down (the vendor added 3 lines above); nearer, only 2 of the 7 lines match
    # with 2 context lines ignored: as much as any two lines anywhere in repetitive code.
    hunk = hunk_of(" \tb\n \t{\n \tb\n+\tc\n \t{\n \ta\n \t{\n", start=4, section="")
    file = lines("int f(void)\n{\n\t}\n\tb\n\t{\n\t}\n\t}\n\tb\n\t{\n\tb\n\t{\n\ta\n\t{\n}")
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.OFFSET and location.shift == 4
    assert Rule.NEARER_FUZZY not in location.rules and not location.needs_review


def test_removing_the_last_line_of_a_file_whose_end_already_reads_as_the_result() -> None:
    # Upstream removes the last of five "a" lines; the vendor's file (its own line on top)
    # ends in four. The pre-image matches at the end, and so does the result: both readings.
    hunk = hunk_of(" \ta\n \ta\n \ta\n-\ta\n", start=2, section="")
    file = lines("int f(void)\n\ta\n\ta\n\ta\n\ta")
    location = locate_hunk(file, hunk)
    assert location.status == HunkStatus.CLEAN
    assert location.needs_review and Rule.READS_AS_BOTH in location.rules

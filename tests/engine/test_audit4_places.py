"""Audit: the vendor carries the fix where the patch says, and an unfixed copy matches elsewhere.

The vendor backported upstream's fix into ``foo()``, at the very line the hunk states; a copy
of the function (``bar()``, an ``#ifdef`` twin) still reads as the hunk's original. A diff
without function names in its hunk headers (``diff -u``, a hand-made patch) gives nothing to
tell the two apart but the line number, and the line number agrees with the fix. The exact
rung took the copy's pre-image at an offset and settled it: GNU patch does the same ("succeeded
at 15 (offset 12 lines)"), and both apply upstream's change to the copy, a second time and in
the wrong place. The post-image rule only looked near the match and in its function.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.locate import locate_hunk
from patchsmith.engine.records import Rule
from patchsmith.model import HunkStatus
from tests.engine.test_audit3_places import hunk_of, lines

FIX = '\tif (ret)\n\t\tpr_err("work failed");\n'
ADD = (
    ' \n \tlock(d);\n \tret = do_work(d);\n+\tif (ret)\n+\t\tpr_err("work failed");\n'
    " \tunlock(d);\n \treturn ret;\n }\n"
)
# upstream removes a stale reset; the vendor removed it from foo() already
RESET = "\td->state = 0;\n"
REMOVE = " \tlock(d);\n \tret = do_work(d);\n-\td->state = 0;\n \tunlock(d);\n \treturn ret;\n"


def function(name: str, extra: str = "") -> str:
    return (
        f"static int {name}(struct dev *d)\n{{\n\tint ret;\n\n\tlock(d);\n\tret = do_work(d);\n"
        + extra
        + "\tunlock(d);\n\treturn ret;\n}\n"
    )


def filler(count: int) -> str:
    return "".join(f"static int table_{n} = {n};\n" for n in range(count))


def test_the_fix_at_the_stated_line_and_a_copy_below_is_not_settled() -> None:
    vendor = function("foo", FIX) + "\n" + function("bar")
    location = locate_hunk(lines(vendor), hunk_of(ADD, 4, ""))
    assert location.found == 15  # the copy, where GNU patch puts it
    assert location.needs_review and Rule.POST_IMAGE in location.rules
    assert "line 4, where the patch says" in " ".join(location.reasons)


def test_the_copy_far_away_or_above_is_not_settled_either() -> None:
    below = function("foo", FIX) + filler(80) + function("bar")
    above = function("bar") + "\n" + function("foo", FIX)
    for vendor, stated in ((below, 4), (above, 14)):
        location = locate_hunk(lines(vendor), hunk_of(ADD, stated, ""))
        assert location.status == HunkStatus.OFFSET
        assert location.needs_review and Rule.POST_IMAGE in location.rules


def test_a_removal_done_at_the_stated_line_with_a_copy_below_is_not_settled() -> None:
    vendor = function("foo") + "\n" + function("bar", RESET)
    location = locate_hunk(lines(vendor), hunk_of(REMOVE, 5, ""))
    assert location.status == HunkStatus.OFFSET and location.needs_review


def test_the_copy_is_settled_when_the_stated_line_does_not_hold_the_fix() -> None:
    # The control: foo() is other code; only the copy matches, unflagged as before.
    vendor = filler(10) + "\n" + function("bar")
    location = locate_hunk(lines(vendor), hunk_of(ADD, 4, ""))
    assert (location.status, location.needs_review) == (HunkStatus.OFFSET, False)


@settings(max_examples=50, deadline=None)
@given(gap=st.integers(min_value=0, max_value=120), copy_first=st.booleans())
def test_wherever_the_copy_is_the_fixed_stated_place_flags_it(gap: int, copy_first: bool) -> None:
    fixed, copy = function("foo", FIX), function("bar")
    vendor = copy + filler(gap) + fixed if copy_first else fixed + filler(gap) + copy
    stated = (len(lines(copy)) + gap if copy_first else 0) + 4
    location = locate_hunk(lines(vendor), hunk_of(ADD, stated, ""))
    assert location.status != HunkStatus.OFFSET or location.needs_review


# --- the mirror: the result found in a copy, the stated place still unfixed ----------------------


def edited(name: str, lock: str = "\tlock(d);\n", extra: str = "") -> str:
    """``function`` with the vendor's own edits: another lock call, a line where the fix goes."""
    return (
        f"static int {name}(struct dev *d)\n{{\n\tint ret;\n\n{lock}\tret = do_work(d);\n"
        + extra
        + "\tunlock(d);\n\treturn ret;\n}\n"
    )


def test_a_result_in_a_copy_while_the_stated_place_reads_as_the_original_is_not_settled() -> None:
    # foo() at the stated line is upstream's original but for the vendor's lock_irq(); bar()
    # below already has the fix. GNU patch: "Reversed (or previously applied) patch
    # detected!" at bar(); patchsmith settled it as already applied, and foo() never got it.
    for vendor in (
        edited("foo", lock="\tlock_irq(d);\n") + "\n" + function("bar", FIX),
        edited("foo", extra="\tWARN_ON(ret);\n") + "\n" + function("bar", FIX),
        edited("foo", lock="\tlock_irq(d);\n") + filler(70) + function("bar", FIX),
        function("bar", FIX) + "\n" + edited("foo", lock="\tlock_irq(d);\n"),
    ):
        stated = 4 if vendor.startswith("static int foo") else 15
        location = locate_hunk(lines(vendor), hunk_of(ADD, stated, ""))
        assert location.status == HunkStatus.ALREADY_APPLIED
        assert location.needs_review and Rule.NEARER_FUZZY in location.rules
        assert f"at line {stated}, nearer to where the patch says" in " ".join(location.reasons)


def test_a_result_at_an_offset_with_other_code_at_the_stated_line_is_settled() -> None:
    # The control: the vendor's code moved (a block added above); the stated line holds other
    # code, the fix is where the code went.
    vendor = filler(12) + function("foo", FIX)
    location = locate_hunk(lines(vendor), hunk_of(ADD, 4, ""))
    assert (location.status, location.found, location.needs_review) == (
        HunkStatus.ALREADY_APPLIED,
        15,
        False,
    )


def test_a_result_found_a_few_lines_off_is_not_its_own_copy() -> None:
    # A small offset: the stated window overlaps the found result, which reads as the
    # original's context by itself; that is no second place.
    vendor = filler(2) + function("foo", FIX)
    location = locate_hunk(lines(vendor), hunk_of(ADD, 4, ""))
    assert (location.status, location.needs_review) == (HunkStatus.ALREADY_APPLIED, False)


# --- the stated place re-indented by the vendor -------------------------------------------------

UPDATE = (
    ' \n \tlock(d);\n \tret = do_work(d);\n+\tif (ret)\n+\t\tpr_err("work failed");\n'
    " \tunlock(d);\n \tupdate(d);\n \treturn ret;\n"
)


def indented(name: str, indent: str = "\t", extra: str = "") -> str:
    return (
        f"static int {name}(struct dev *d)\n{{\n\tint ret;\n\n{indent}lock(d);\n"
        f"{indent}ret = do_work(d);\n{extra}{indent}unlock(d);\n{indent}update(d);\n"
        "\treturn ret;\n}\n"
    )


def test_an_exact_copy_while_the_stated_place_was_reindented_is_not_settled() -> None:
    # foo() at the stated line, re-indented by the vendor; bar() below unchanged. GNU patch
    # puts the fix into bar() ("offset 11 lines"); so did patchsmith, settled.
    for vendor in (
        indented("foo", "\t\t") + "\n" + indented("bar"),
        indented("foo", "    ") + "\n" + indented("bar"),
        indented("foo", "\t\t") + filler(70) + indented("bar"),
    ):
        location = locate_hunk(lines(vendor), hunk_of(UPDATE, 4, ""))
        assert location.status == HunkStatus.OFFSET and location.found not in (None, 3)
        assert location.needs_review and Rule.NEARER_FUZZY in location.rules
        assert "with whitespace ignored it also matches at line 4" in " ".join(location.reasons)


def test_a_result_in_a_copy_while_the_stated_place_was_reindented_is_not_settled() -> None:
    vendor = indented("foo", "\t\t") + "\n" + indented("bar", extra=FIX)
    location = locate_hunk(lines(vendor), hunk_of(UPDATE, 4, ""))
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.needs_review and Rule.NEARER_FUZZY in location.rules


def test_an_exact_offset_without_a_nearer_whitespace_twin_is_settled() -> None:
    # The control: the copy that differs in whitespace is farther away than the exact match,
    # and beyond LARGE_OFFSET lines of the stated one (nearer, with no function named in the
    # header, it is a twin as near as the match: see the unnamed twins below).
    vendor = filler(5) + indented("bar") + filler(60) + indented("foo", "\t\t")
    location = locate_hunk(lines(vendor), hunk_of(UPDATE, 4, ""))
    assert (location.status, location.found, location.needs_review) == (
        HunkStatus.OFFSET,
        8,
        False,
    )

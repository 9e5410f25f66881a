"""Audit: a hunk that only removes lines, called already applied while the lines still stand.

A removal's result is its context alone, so finding the result proves only that the context is
there. These vendor files keep some or all of what upstream removes (edited, moved, at the end
of the file, as blank lines) or carry a look-alike of the result elsewhere; none may settle as
``already-applied``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.locate import locate_hunk
from patchsmith.engine.records import Rule
from patchsmith.model import HunkStatus
from tests.engine.test_audit3_places import hunk_of, lines


def settled_as_applied(file: str, body: str, start: int, section: str = "") -> bool:
    location = locate_hunk(lines(file), hunk_of(body, start, section))
    return location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review


TAIL = '}\n\nMODULE_LICENSE("GPL");\nMODULE_AUTHOR("x");\nMODULE_DESCRIPTION("y");\n'
# upstream removes the last two lines of the file (no trailing context: it ends the file)
TAIL_HUNK = ' }\n \n MODULE_LICENSE("GPL");\n-MODULE_AUTHOR("x");\n-MODULE_DESCRIPTION("y");\n'
TOP = "int a;\nint b;\n\nstatic int f(void)\n{\n\treturn 0;\n"


def test_a_removal_at_the_end_of_the_file_done_in_part_is_not_applied() -> None:
    # The vendor dropped MODULE_AUTHOR but kept MODULE_DESCRIPTION: the result (the context)
    # stands, followed by a line upstream removes. GNU patch: "Hunk #1 FAILED at 7".
    vendor = TOP + TAIL.replace('MODULE_AUTHOR("x");\n', "")
    location = locate_hunk(lines(vendor), hunk_of(TAIL_HUNK, 7, ""))
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.needs_review and Rule.EDGE in location.rules
    assert "followed by 1 more line" in location.reason


def test_a_removal_at_the_end_of_the_file_done_is_settled() -> None:
    vendor = TOP + TAIL.replace('MODULE_AUTHOR("x");\nMODULE_DESCRIPTION("y");\n', "")
    location = locate_hunk(lines(vendor), hunk_of(TAIL_HUNK, 7, ""))
    assert (location.status, location.needs_review) == (HunkStatus.ALREADY_APPLIED, False)


def test_a_removal_at_the_end_of_the_file_whose_lines_were_edited_is_a_conflict() -> None:
    vendor = TOP + TAIL.replace('"x"', '"z"').replace('"y"', '"w"')
    location = locate_hunk(lines(vendor), hunk_of(TAIL_HUNK, 7, ""))
    assert location.status == HunkStatus.CONFLICT


def test_a_blank_block_removed_in_part_is_not_applied() -> None:
    # Upstream removes two of four blank lines; the vendor has three.
    body = " \tint a;\n \n-\n-\n \n \ta = 1;\n \treturn a;\n"
    vendor = "static int f(void)\n{\n\tint a;\n\n\n\n\ta = 1;\n\treturn a;\n}\n"
    assert not settled_as_applied(vendor, body, 3)


def test_a_removed_block_the_vendor_moved_below_its_context_is_not_applied() -> None:
    body = " \tlock(d);\n \tdo_work(d);\n-\tkfree(d->buf);\n-\td->buf = NULL;\n \tunlock(d);\n"
    vendor = (
        "static int foo(struct dev *d)\n{\n\tlock(d);\n\tdo_work(d);\n\tunlock(d);\n"
        "\tkfree(d->buf);\n\td->buf = NULL;\n\treturn 0;\n}\n"
    )
    assert not settled_as_applied(vendor, body, 3, "static int foo(struct dev *d)")


def test_removing_the_first_of_two_copies_when_the_vendor_removed_the_second() -> None:
    # The lines repeat in the function; the vendor removed the later copy. The first is
    # still at the stated line: clean there, not "already applied" from the second place.
    copy = "\tlock(p);\n\tkfree(p->a);\n\tp->a = NULL;\n\tunlock(p);\n"
    vendor = (
        "static void g(struct s *p)\n{\n" + copy + "\tdo_more(p);\n\tlock(p);\n\tunlock(p);\n}\n"
    )
    body = " {\n \tlock(p);\n-\tkfree(p->a);\n-\tp->a = NULL;\n \tunlock(p);\n \tdo_more(p);\n"
    location = locate_hunk(lines(vendor), hunk_of(body, 2, ""))
    assert (location.status, location.found) == (HunkStatus.CLEAN, 1)


CONTEXT = ["\tstart(d);", "\tprepare(d);", "\tcommit(d);", "\tfinish(d);"]
REMOVED = ["\trelease(d->a);", "\td->a = NULL;", "\tcount--;", "\ttrace(d);"]


@settings(max_examples=150, deadline=None)
@given(
    removed=st.integers(min_value=1, max_value=4),
    kept=st.data(),
    at_end=st.booleans(),
    twin=st.booleans(),
    above=st.integers(min_value=0, max_value=6),
)
def test_a_removal_with_any_removed_line_left_is_never_settled_as_applied(
    removed: int, kept: st.DataObject, at_end: bool, twin: bool, above: int
) -> None:
    """Upstream removes ``removed`` lines between two context lines each side (or at the end of
    the file); the vendor keeps a nonempty subset of them in place, may have lines above, and
    may carry the result (the context joined) in another function: never settled as applied."""
    gone = REMOVED[:removed]
    leading, trailing = CONTEXT[:2], [] if at_end else CONTEXT[2:]
    keep = kept.draw(
        st.lists(st.sampled_from(range(removed)), min_size=1, max_size=removed, unique=True)
    )
    still = [line for index, line in enumerate(gone) if index in keep]
    body = "".join(
        [f" {line}\n" for line in leading]
        + [f"-{line}\n" for line in gone]
        + [f" {line}\n" for line in trailing]
    )
    head = "static void h(struct dev *d)\n{\n" + "\tx++;\n" * above
    vendor = head + "".join(f"{line}\n" for line in leading + still + trailing)
    if not at_end:
        vendor += "}\n"
    if twin and not at_end:
        vendor += "\nstatic void t(struct dev *d)\n{\n"
        vendor += "".join(f"{line}\n" for line in leading + trailing) + "}\n"
    start = 3
    location = locate_hunk(lines(vendor.rstrip("\n")), hunk_of(body, start, ""))
    assert not (location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review), (
        vendor,
        location,
    )


RELEASE_FOO = (
    "static int foo(struct dev *d)\n{\n\tlock(d);\n\tdo_work(d);\n\tkfree(d->buf);\n"
    "\td->buf = NULL;\n\tunlock(d);\n\treturn 0;\n}\n"
)
RELEASE_BAR = (
    "static int bar(struct dev *d)\n{\n\tlock(d);\n\tdo_work(d);\n\tunlock(d);\n\treturn 0;\n}\n"
)
# diff -u: no function in the header, so the name cannot say bar() is not the place
REMOVE_NO_NAME = (
    " {\n \tlock(d);\n \tdo_work(d);\n-\tkfree(d->buf);\n-\td->buf = NULL;\n \tunlock(d);\n"
    " \treturn 0;\n }\n"
)


def test_removed_lines_the_vendor_edited_in_place_are_not_a_done_removal() -> None:
    # Both lines edited (kvfree, = 0), or one edited and the other gone: the removal is not
    # what foo() shows; bar() reads as its result 10 lines down. GNU patch: "Reversed".
    for edited in ("\tkvfree(d->buf);\n\td->buf = 0;\n", "\tkvfree(d->buf);\n"):
        vendor = (
            RELEASE_FOO.replace("\tkfree(d->buf);\n\td->buf = NULL;\n", edited) + "\n" + RELEASE_BAR
        )
        location = locate_hunk(lines(vendor), hunk_of(REMOVE_NO_NAME, 2, ""))
        assert location.status == HunkStatus.ALREADY_APPLIED
        assert location.needs_review and Rule.WEAK_EVIDENCE in location.rules, edited


def test_a_removal_done_in_place_without_a_header_is_settled() -> None:
    # The control: foo() without the two lines, bar() as before; the result stands where the
    # patch says.
    vendor = RELEASE_FOO.replace("\tkfree(d->buf);\n\td->buf = NULL;\n", "")
    location = locate_hunk(lines(vendor + "\n" + RELEASE_BAR), hunk_of(REMOVE_NO_NAME, 2, ""))
    assert (location.status, location.needs_review) == (HunkStatus.ALREADY_APPLIED, False)

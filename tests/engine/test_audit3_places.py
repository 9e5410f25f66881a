"""Audit: a hunk settled in the wrong one of two look-alike places.

Each file here has two functions that read alike (a vendor's copy, ``#ifdef`` twins, a pair
that differ in one line), the hunk header names one of them, and the vendor edited the named
one so its own lines no longer match. The only exact match (pre-image or post-image) is then in
the other one, a few lines away: GNU patch applies there ("succeeded at 14 (offset 10
lines)") or says "Reversed (or previously applied) patch detected!". patchsmith may find the
same place, but must not settle it: the name in the header says it is not the hunk's.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.locate import locate_hunk
from patchsmith.engine.records import Rule
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import index_bytes


def hunk_of(body: str, start: int, section: str) -> Hunk:
    rows = body.splitlines()
    old = sum(1 for row in rows if row[:1] in (" ", "-"))
    new = sum(1 for row in rows if row[:1] in (" ", "+"))
    header = f"@@ -{start},{old} +{start},{new} @@ {section}".rstrip()
    index = index_bytes(f"--- a/f.c\n+++ b/f.c\n{header}\n{body}".encode())
    return parse_file(index, index.files[0])[0]


def lines(text: str) -> list[bytes]:
    return text.encode().splitlines(keepends=True)


BODY = "{\n\tint ret;\n\n\tlock(d);\n\tret = do_work(d);\n\tunlock(d);\n\treturn ret;\n}\n"
FOO = "static int foo(struct dev *d)\n" + BODY
BAR = "static int bar(struct dev *d)\n" + BODY

# upstream adds an error report to foo(); the hunk's lines read the same in bar()
ADD = hunk_of(
    ' \n \tlock(d);\n \tret = do_work(d);\n+\tif (ret)\n+\t\tpr_err("work failed");\n'
    " \tunlock(d);\n \treturn ret;\n }\n",
    4,
    "static int foo(struct dev *d)",
)
# upstream removes the buffer's release from foo(); bar() never had it
REMOVE = hunk_of(
    " {\n \tlock(d);\n \tdo_work(d);\n-\tkfree(d->buf);\n-\td->buf = NULL;\n \tunlock(d);\n"
    " \treturn 0;\n }\n",
    2,
    "static int foo(struct dev *d)",
)
RELEASE_FOO = (
    "static int foo(struct dev *d)\n{\n\tlock(d);\n\tdo_work(d);\n\tkfree(d->buf);\n"
    "\td->buf = NULL;\n\tunlock(d);\n\treturn 0;\n}\n"
)
RELEASE_BAR = (
    "static int bar(struct dev *d)\n{\n\tlock(d);\n\tdo_work(d);\n\tunlock(d);\n\treturn 0;\n}\n"
)


def test_the_unchanged_twins_settle_the_named_one() -> None:
    # The control: with foo() as upstream saw it, the hunk is clean where the patch says.
    location = locate_hunk(lines(FOO + "\n" + BAR), ADD)
    assert (location.status, location.found, location.needs_review) == (
        HunkStatus.CLEAN,
        3,
        False,
    )


def test_an_offset_match_in_the_twin_is_flagged_when_the_named_function_was_edited() -> None:
    # The vendor renamed the call in foo(): the only exact match is bar()'s, 10 lines down.
    vendor = FOO.replace("do_work(d)", "do_work_locked(d)") + "\n" + BAR
    location = locate_hunk(lines(vendor), ADD)
    assert location.status == HunkStatus.OFFSET and location.found == 13
    assert location.needs_review and Rule.WRONG_FUNCTION in location.rules
    assert "static int bar" in location.reason


def test_a_post_image_in_the_twin_is_not_the_fix_in_the_named_function() -> None:
    # bar() already reports the error (the vendor fixed the twin); foo() was edited, so its
    # pre-image is gone too. "Already applied" here would leave foo() without the fix.
    fixed_bar = BAR.replace("\tunlock(d);", '\tif (ret)\n\t\tpr_err("work failed");\n\tunlock(d);')
    vendor = FOO.replace("\tlock(d);", "\tlock_irq(d);") + "\n" + fixed_bar
    location = locate_hunk(lines(vendor), ADD)
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.needs_review and Rule.WRONG_FUNCTION in location.rules


def test_a_removal_done_in_part_does_not_read_as_done_in_the_twin() -> None:
    # The vendor dropped one of the two lines upstream removes; the other still stands in
    # foo(). bar(), which never had them, reads as the hunk's result.
    for dropped in ("\tkfree(d->buf);\n", "\td->buf = NULL;\n"):
        vendor = RELEASE_FOO.replace(dropped, "") + "\n" + RELEASE_BAR
        location = locate_hunk(lines(vendor), REMOVE)
        assert location.status != HunkStatus.CLEAN
        assert location.needs_review, (dropped, location)


def test_a_removal_whose_lines_the_vendor_edited_does_not_read_as_done_in_the_twin() -> None:
    vendor = (
        RELEASE_FOO.replace("kfree(d->buf)", "kvfree(d->buf)").replace("NULL", "0")
        + "\n"
        + RELEASE_BAR
    )
    location = locate_hunk(lines(vendor), REMOVE)
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.needs_review and Rule.WRONG_FUNCTION in location.rules


def test_a_removal_done_in_the_named_function_is_settled() -> None:
    # The control: foo() without the two lines is the fix, where the header says.
    vendor = RELEASE_FOO.replace("\tkfree(d->buf);\n\td->buf = NULL;\n", "") + "\n" + RELEASE_BAR
    location = locate_hunk(lines(vendor), REMOVE)
    assert (location.status, location.needs_review) == (HunkStatus.ALREADY_APPLIED, False)


IFDEF = (
    "#ifdef CONFIG_FOO\n"
    "static inline int foo_get(struct dev *d)\n" + BODY + "#else\n"
    "static inline int foo_get(struct dev *d)\n" + BODY + "#endif\n"
)
# upstream changes the #else twin (lines 12-20); the header names both twins alike
ELSE_HUNK = hunk_of(
    " \tlock(d);\n \tret = do_work(d);\n+\tret = fixup(ret);\n \tunlock(d);\n \treturn ret;\n }\n",
    16,
    "static inline int foo_get(struct dev *d)",
)


def test_ifdef_twins_unchanged_settle_the_stated_one() -> None:
    location = locate_hunk(lines(IFDEF), ELSE_HUNK)
    assert (location.status, location.found, location.needs_review) == (
        HunkStatus.CLEAN,
        15,
        False,
    )


def test_ifdef_twin_match_away_from_the_stated_one_is_flagged() -> None:
    # The vendor edited the #else twin; the #ifdef one matches exactly, 10 lines up. The
    # name fits both; the line says the #else one.
    head, tail = IFDEF.split("#else\n")
    vendor = head + "#else\n" + tail.replace("do_work(d)", "do_work_v(d)")
    location = locate_hunk(lines(vendor), ELSE_HUNK)
    assert location.status == HunkStatus.OFFSET and location.found == 5
    assert location.needs_review and Rule.WRONG_FUNCTION in location.rules
    assert "wrong twin" in location.reason


def test_a_prototype_of_the_name_is_no_twin() -> None:
    # A declaration and the definition share the name; the stated line after the declaration
    # is in the definition, and the match a few lines off is there too: nothing to flag.
    vendor = "static int foo(struct dev *d);\n\n/* a comment */\n/* another */\n" + FOO
    location = locate_hunk(lines(vendor), ADD)
    assert location.status == HunkStatus.OFFSET and not location.needs_review


def test_a_wrapped_argument_at_the_margin_is_no_twin() -> None:
    # Kernel code wraps arguments to the left margin ("status);"): the definition logic sees
    # two "functions" named so. A hunk whose header names such a line, matched at an offset
    # between them, is not in a wrong twin (s3's pvrusb2-hdw.c, where the hunk is right).
    body = '\t\tpr_err("x=%d",\nstatus);\n\t\tflag = 0;\n\t\tgoto done;\n\t}\n'
    vendor = (
        "int f(void)\n{\n\tif (a) {\n" + body + "\tif (b) {\n" + body.replace("x=", "y=") + "}\n"
    )
    hunk = hunk_of(
        ' \t\tpr_err("y=%d",\n status);\n \t\tflag = 0;\n+\t\tflag2 = 0;\n \t\tgoto done;\n \t}\n',
        14,
        "status);",
    )
    location = locate_hunk(lines(vendor), hunk)
    assert location.status == HunkStatus.OFFSET
    assert Rule.WRONG_FUNCTION not in location.rules


def test_a_renamed_function_is_no_evidence_either_way() -> None:
    # The vendor renamed foo() and kept no definition of the name: the match in the renamed
    # function cannot be called wrong by the name (nor confirmed).
    vendor = "/* moved */\n" + FOO.replace("foo(", "foo_v2(")
    location = locate_hunk(lines(vendor), ADD)
    assert location.status == HunkStatus.OFFSET
    assert Rule.WRONG_FUNCTION not in location.rules


@settings(max_examples=60, deadline=None)
@given(
    gap=st.integers(min_value=0, max_value=12),
    edit=st.sampled_from(["\tlock(d);", "\tret = do_work(d);", "\tunlock(d);", "\treturn ret;"]),
    order=st.booleans(),
)
def test_the_twin_never_settles_for_the_edited_named_function(
    gap: int, edit: str, order: bool
) -> None:
    """Whatever line of foo() the vendor edits, wherever bar() sits (above or below, with
    blank lines between), a hunk for foo() is never settled inside bar()."""
    edited = FOO.replace(edit, edit.replace("d)", "d, 1)").replace("ret;", "ret + 0;"))
    parts = [edited, BAR] if order else [BAR, edited]
    vendor = ("\n" * (gap + 1)).join(parts)
    view = lines(vendor)
    location = locate_hunk(view, ADD)
    bar_start = vendor.split("\n").index("static int bar(struct dev *d)")
    in_bar = location.found is not None and bar_start <= location.found < bar_start + 9
    if in_bar:
        assert location.needs_review, location


def test_a_header_naming_a_label_is_no_evidence_either_way() -> None:
    # git's default driver names the label above a hunk ("out:"); the definition logic skips
    # labels, so the match's function is never "out:": no flag from the name alone.
    vendor = "/* one */\n" + FOO.replace("{\n", "{\nout:\n", 1)
    location = locate_hunk(lines(vendor), replace_section(ADD, "out:"))
    assert location.status == HunkStatus.OFFSET
    assert Rule.WRONG_FUNCTION not in location.rules


def test_a_header_naming_a_struct_flags_a_match_in_its_twin() -> None:
    # The hunk is for struct foo_ops (git names the struct's line); the vendor changed a
    # member there, and struct bar_ops, a twin, holds the lines exactly.
    twins = "".join(
        f"struct {name}_ops {{\n\tint (*a)(void);\n\tint (*b)(void);\n\tint (*c)(void);\n"
        "\tint (*d)(void);\n};\n\n"
        for name in ("foo", "bar")
    )
    hunk = hunk_of(
        " \tint (*a)(void);\n \tint (*b)(void);\n+\tint (*b2)(void);\n \tint (*c)(void);\n"
        " \tint (*d)(void);\n",
        2,
        "struct foo_ops {",
    )
    vendor = twins.replace("\tint (*c)(void);", "\tint (*c)(int);", 1)
    location = locate_hunk(lines(vendor), hunk)
    assert location.status == HunkStatus.OFFSET and location.found == 8
    assert location.needs_review and Rule.WRONG_FUNCTION in location.rules


def replace_section(hunk: Hunk, section: str) -> Hunk:
    body = "".join(f"{line.op}{line.text.decode()}" for line in hunk.lines)
    return hunk_of(body, hunk.old_start, section)


def test_ifdef_twin_match_without_a_header_is_flagged_by_the_stated_place() -> None:
    # diff -u names no function: the stated place holding the pre-image with one distinctive
    # line changed is the only evidence that the exact match 10 lines up is the other twin.
    head, tail = IFDEF.split("#else\n")
    vendor = head + "#else\n" + tail.replace("do_work(d)", "do_work_v(d)")
    hunk = replace_section(ELSE_HUNK, "")
    location = locate_hunk(lines(vendor), hunk)
    assert location.status == HunkStatus.OFFSET and location.found == 5
    assert location.needs_review and Rule.NEARER_FUZZY in location.rules
    assert "where the patch says, the same lines stand but for one" in location.reason


def test_a_stated_place_differing_in_a_generic_line_is_no_evidence() -> None:
    # Repetitive bodies differ by chance in lines like "x++;": the exact match at an offset
    # stands (the generated "moved" traps are full of these).
    body = " \tx++;\n \tx++;\n \ty++;\n+\tz++;\n \tx++;\n \tx++;\n"
    vendor = "int f(void)\n{\n\tx++;\n\tx++;\n\ty--;\n\tx++;\n\tx++;\n" + "\t;\n" * 5
    vendor += "\tx++;\n\tx++;\n\ty++;\n\tx++;\n\tx++;\n}\n"
    location = locate_hunk(lines(vendor), hunk_of(body, 3, ""))
    assert location.status == HunkStatus.OFFSET and location.found == 12
    assert Rule.NEARER_FUZZY not in location.rules

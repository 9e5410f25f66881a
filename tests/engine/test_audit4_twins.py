"""Audit: twin functions and a diff whose hunk headers name no function.

A vendor file holds ``foo()``, the function upstream fixed, and one or two copies of it
(``bar0()``, ``bar1()``: twins, ``#ifdef`` branches), in any order, with the vendor's lines
above everything and between them. Each may carry the fix already; the vendor may have edited
``foo()`` (a re-indent, a changed line, a line added where the fix goes). The hunk header names
no function (``diff -u``, a hand-made patch; with ``git diff``'s function name the function
rules decide, and are held to the same property), so only the line number and the lines say which
place is the hunk's. The right outcome is ``foo()`` fixed once (with the vendor's edit kept)
and the twins as they were.

Property: whenever the ladder settles the hunk (clean, offset or already applied, unflagged),
applying its verdict gives that outcome. Before this audit it did not on about a quarter of the
layouts (GNU patch is wrong on more): the twin's original at an offset took the fix while
``foo()`` had it already or was only edited, and a twin's result settled as already applied
while ``foo()`` still read as the original.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.locate import apply_located, locate_hunk
from patchsmith.model import HunkStatus
from tests.engine.test_audit3_places import hunk_of

FIX = ["\tif (ret)\n", '\t\tpr_err("work failed");\n']
CORE = ["\tlock(d);\n", "\tret = do_work(d);\n", "\tunlock(d);\n", "\tupdate(d);\n"]
ADD = (
    ' \n \tlock(d);\n \tret = do_work(d);\n+\tif (ret)\n+\t\tpr_err("work failed");\n'
    " \tunlock(d);\n \tupdate(d);\n \treturn ret;\n"
)
SECTION = "static int foo(struct dev *d)"
EDITS = ("none", "reindent", "change", "changelast", "insert", "insert_top")


def function(name: str, fixed: bool, edit: str = "none") -> list[str]:
    body = list(CORE)
    if fixed:
        body[2:2] = FIX
    if edit == "reindent":
        body = ["\t" + line for line in body]
    elif edit == "change":
        body[0] = "\tlock_irq(d);\n"
    elif edit == "changelast":
        body[-1] = "\tupdate_stats(d);\n"
    elif edit == "insert":
        body.insert(4 if fixed else 2, "\tWARN_ON(ret);\n")
    elif edit == "insert_top":
        body.insert(0, "\tmight_sleep();\n")
    head = [f"static int {name}(struct dev *d)\n", "{\n", "\tint ret;\n", "\n"]
    return head + body + ["\treturn ret;\n", "}\n"]


def filler(count: int, tag: str) -> list[str]:
    return [f"static int {tag}_{n} = {n};\n" for n in range(count)]


@settings(max_examples=400, deadline=None)
@given(
    foo_fixed=st.booleans(),
    edit=st.sampled_from(EDITS),
    twins=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=2),
    gap=st.sampled_from([0, 1, 3, 10, 60]),
    above=st.sampled_from([0, 2, 7]),
    named=st.booleans(),
)
def test_a_settled_verdict_fixes_foo_once_and_leaves_the_twins(
    foo_fixed: bool,
    edit: str,
    twins: list[tuple[bool, bool]],
    gap: int,
    above: int,
    named: bool,
) -> None:
    before: list[str] = []
    after: list[str] = []
    for number, (fixed, first) in enumerate(twins):
        twin = function(f"bar{number}", fixed) + filler(gap, f"gap{number}")
        (before if first else after).extend(twin)
    vendor = filler(above, "vendor") + before
    foo_at = len(vendor)
    foo = function("foo", foo_fixed, edit)
    vendor += foo + filler(gap, "gap") + after
    right = vendor[:foo_at] + function("foo", True, edit) + vendor[foo_at + len(foo) :]
    # Upstream's line: foo()'s blank line in vanilla, which lacks the vendor's lines above.
    location = locate_hunk(
        [line.encode() for line in vendor],
        hunk_of(ADD, foo_at - above + 4, SECTION if named else ""),
    )
    settled = location.status in (
        HunkStatus.CLEAN,
        HunkStatus.OFFSET,
        HunkStatus.ALREADY_APPLIED,
    )
    if not settled or location.needs_review:
        return
    if location.status == HunkStatus.ALREADY_APPLIED:
        result = vendor
    else:
        assert location.placement is not None
        placed = apply_located([line.encode() for line in vendor], [location.placement])
        result = [line.decode() for line in placed]
    assert result == right, (location.status, location.found, location.reasons)

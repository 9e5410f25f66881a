"""Audit: a hunk without context (``diff -U0``) called already applied from lines that are the
file's own.

A hunk with no context lines carries nothing but its added lines and a line number. Finding
those lines in the file proves the change is there only where the line number agrees and
nowhere else holds them: anywhere else they may be what the file had all along (the
``mutex_unlock()`` of another path, of another function). GNU patch inserts the line at the
stated place; patchsmith called the hunk already applied and settled it, so the fix was never
written.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.locate import locate_hunk
from patchsmith.engine.records import Rule
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import index_bytes
from tests.engine.test_audit3_places import lines


def insertion(after: int, added: list[str]) -> Hunk:
    """A zero-context hunk adding ``added`` after line ``after`` (``@@ -after,0 +…`` )."""
    header = f"@@ -{after},0 +{after + 1},{len(added)} @@"
    body = "".join(f"+{line}\n" for line in added)
    index = index_bytes(f"--- a/f.c\n+++ b/f.c\n{header}\n{body}".encode())
    return parse_file(index, index.files[0])[0]


UNLOCK = "\tmutex_unlock(&dev->lock);"


def two_paths(fixed: bool) -> str:
    """f() unlocks on its one path; g() forgets to on its error path (unless ``fixed``)."""
    fix = UNLOCK + "\n" if fixed else ""
    return (
        "static void f(struct dev *dev)\n{\n\tmutex_lock(&dev->lock);\n\twork(dev);\n"
        + UNLOCK
        + "\n}\n\n"
        "static int g(struct dev *dev)\n{\n\tmutex_lock(&dev->lock);\n\tif (bad(dev)) {\n"
        + fix
        + "\t\treturn -EIO;\n\t}\n"
        + UNLOCK
        + "\n\treturn 0;\n}\n"
    )


# upstream's fix: unlock before g()'s early return (after line 11, "if (bad(dev)) {")
FIX = insertion(11, [UNLOCK])


def test_added_lines_found_only_in_another_function_are_not_settled() -> None:
    location = locate_hunk(lines(two_paths(fixed=False)), FIX)
    # Not applied: the only copy of the line is f()'s own (and g()'s normal path's).
    assert not (location.status == HunkStatus.ALREADY_APPLIED and not location.needs_review)
    if location.status == HunkStatus.ALREADY_APPLIED:
        assert Rule.WEAK_EVIDENCE in location.rules
        assert "no context" in " ".join(location.reasons)


def test_added_lines_exactly_where_the_patch_says_are_still_flagged_when_repeated() -> None:
    # The fix is there, but the line also stands twice elsewhere: the line number agrees,
    # the lines cannot say which copy is the hunk's.
    location = locate_hunk(lines(two_paths(fixed=True)), FIX)
    assert location.status == HunkStatus.ALREADY_APPLIED
    assert location.found == 11 and location.needs_review


def test_added_lines_exactly_where_the_patch_says_and_nowhere_else_are_settled() -> None:
    vendor = "int a;\nint b;\nstatic int limit = 4;\nint c;\n"
    location = locate_hunk(lines(vendor), insertion(2, ["static int limit = 4;"]))
    assert (location.status, location.found, location.needs_review) == (
        HunkStatus.ALREADY_APPLIED,
        2,
        False,
    )


@settings(max_examples=60, deadline=None)
@given(
    shift=st.integers(min_value=-6, max_value=6).filter(bool),
    size=st.integers(min_value=8, max_value=20),
    copies=st.integers(min_value=1, max_value=3),
)
def test_a_distinctive_line_anywhere_but_the_stated_place_is_never_settled(
    shift: int, size: int, copies: int
) -> None:
    # A file of distinct lines holding the added line (copies times) away from the stated
    # place: the verdict may be "already applied", never unflagged.
    body = [f"\tregister_{n}(dev);" for n in range(size)]
    stated = size // 2
    where = max(0, min(size, stated + shift))
    if where == stated:
        return
    for _ in range(copies):
        body.insert(where, UNLOCK)
    location = locate_hunk(
        lines("".join(f"{line}\n" for line in body)), insertion(stated, [UNLOCK])
    )
    assert location.status != HunkStatus.ALREADY_APPLIED or location.needs_review

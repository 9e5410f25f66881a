"""Repetitive code (the same block a thousand times, a hunk on each): the shortcuts that keep
``check`` linear there give every verdict the plain searches give.

Three things changed for it, each judged here against the code it replaced, on generated files
made of a few blocks repeated, patched by ``diff -u`` and edited by a vendor (lines added,
blocks copied, lines deleted): a file's whole-file searches are kept per image
(:class:`~patchsmith.engine.filelines.Hits`, in file order), the nearest place and the
ambiguity rule's first few other places are read from them by bisection, and the neighbours'
bound is asked only about the hunks it could lift. The reference is the old search (read again
on each call, returned as a plain list, so none of the shortcuts applies) and the neighbours'
bound asked about every hunk; the whole prediction (every reason, candidate and alignment) must
be equal, with and without the file's line index (:data:`INDEX_AFTER`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from patchsmith.engine import filelines, predict
from patchsmith.engine.filelines import FileLines, Hits, _find_indexed, nearest
from patchsmith.engine.locate import NEIGHBOURS_CLEARED, bound_by_neighbours
from patchsmith.engine.records import Location
from patchsmith.patchfile.hunk import Hunk, parse_file
from patchsmith.patchfile.index import ChangeKind, index_bytes

_BLOCKS = (
    ("\t{\n", "\t\tlock();\n", "\t\tfoo();\n", "\t\tunlock();\n", "\t}\n", "\n"),
    ("\t{\n", "\t\tlock();\n", "\t\tbar();\n", "\t\tunlock();\n", "\t}\n", "\n"),
    ("\tx++;\n", "\n"),
)


class _PlainSearch(FileLines):
    """The search as it was before the per-image cache: read again on every call, a plain
    list (so ``nearest`` loops, the ambiguity rule sorts every copy, the bisections do not
    apply)."""

    __slots__ = ()

    def find_all(
        self, image: Sequence[bytes], low: int | None = None, high: int | None = None
    ) -> list[int]:
        if not image:
            return []
        index = self._whole_file_search()
        if index is not None:
            return _find_indexed(image, index, self._line_list(), low, high)
        hits = self._scan(image)
        if low is not None or high is not None:
            bottom = low if low is not None else 0
            top = high if high is not None else len(self)
            hits = [hit for hit in hits if bottom <= hit <= top]
        return hits


def _every_hunk(
    view: FileLines, hunks: Sequence[Hunk], locations: Sequence[Location], fuzz: int
) -> list[Location]:
    return bound_by_neighbours(view, hunks, locations, fuzz)


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(vanilla, vendor, the patch's bytes)."""
    common = draw(st.sampled_from(_BLOCKS))
    vanilla_lines: list[str] = []
    # Functions of a few blocks each, mostly the same block (repetitive code), each named once
    # (the neighbours' bound lifts a flag only in a function the file defines once).
    for function in range(draw(st.integers(1, 12))):
        vanilla_lines += [f"static int f{function}(void)\n", "{\n"]
        for _ in range(draw(st.integers(1, 5))):
            vanilla_lines.extend(common if draw(st.booleans()) else draw(st.sampled_from(_BLOCKS)))
        vanilla_lines += ["\treturn 0;\n", "}\n", "\n"]
    upstream_lines = list(vanilla_lines)
    for _ in range(draw(st.integers(1, 30))):
        at = draw(st.integers(0, len(upstream_lines) - 1))
        edit = draw(st.sampled_from(["change", "insert", "delete"]))
        if edit == "change":
            upstream_lines[at] = (
                upstream_lines[at].replace("foo", "foo_locked").replace("x++", "x += 2")
            )
        elif edit == "insert":
            upstream_lines.insert(at, "\t\tbarrier();\n")
        elif len(upstream_lines) > 3:
            del upstream_lines[at]
    vendor_lines = list(vanilla_lines)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(vendor_lines)))
        edit = draw(st.sampled_from(["line", "copy", "delete", "applied"]))
        if edit == "line":
            vendor_lines.insert(at, "\tvendor_quirk();\n")
        elif edit == "copy":
            vendor_lines[at:at] = list(draw(st.sampled_from(_BLOCKS)))
        elif edit == "delete" and at < len(vendor_lines):
            del vendor_lines[at]
        elif at < len(vendor_lines):
            vendor_lines[at] = vendor_lines[at].replace("foo", "foo_locked")
    diff = "".join(
        difflib.unified_diff(
            vanilla_lines, upstream_lines, "a/drivers/rep.c", "b/drivers/rep.c", n=3
        )
    )
    # Each header names the function above the hunk, as git writes it (the neighbours' bound
    # needs it), another one, or none, as diff -u writes it.
    rows = diff.splitlines(keepends=True)
    for number, row in enumerate(rows):
        if row.startswith("@@"):
            start = int(row.split()[1].lstrip("-").split(",")[0])
            above = [line for line in vanilla_lines[: max(start - 1, 0)] if line[0] == "s"]
            own = f" {above[-1].rstrip()}" if above else ""
            name = draw(st.sampled_from([own, own, "", " static int f99(void)"]))
            rows[number] = row.rstrip("\n") + name + "\n"
    return "".join(vanilla_lines), "".join(vendor_lines), "".join(rows).encode()


def _lifted() -> tuple[str, str, bytes]:
    """Three functions with the same block, upstream changing it in each (headers naming
    them), and a vendor line above the second: its hunk is found one line down, an offset
    match with copies in the other two, which the settled hunks around it rule out."""
    block = "".join(_BLOCKS[0])
    functions = [f"static int f{n}(void)\n{{\n{block}\treturn 0;\n}}\n\n" for n in range(3)]
    vanilla = "".join(functions)
    upstream = vanilla.replace("foo();", "foo_locked();")
    vendor = functions[0] + "/* vendor */\n" + functions[1] + functions[2]
    rows = list(
        difflib.unified_diff(
            vanilla.splitlines(keepends=True),
            upstream.splitlines(keepends=True),
            "a/drivers/rep.c",
            "b/drivers/rep.c",
            n=3,
        )
    )
    headers = [number for number, row in enumerate(rows) if row.startswith("@@")]
    for function, number in enumerate(headers):
        rows[number] = rows[number].rstrip("\n") + f" static int f{function}(void)\n"
    return vanilla, vendor, "".join(rows).encode()


def test_the_generated_case_with_a_lifted_flag_lifts_it() -> None:
    # The example the property test starts from must reach the neighbours' bound, or the
    # comparison of its shortcut would prove nothing.
    _vanilla, vendor, patch = _lifted()
    index = index_bytes(patch)
    hunks = parse_file(index, index.files[0])
    assert len(hunks) == 3
    second = _predict(vendor.encode(), hunks, 2)["hunks"][1]  # type: ignore[index]
    assert second["status"] == "offset"
    assert NEIGHBOURS_CLEARED in second["reason"]
    assert not second["needs_review"]


def _predict(vendor: bytes, hunks: Sequence[Hunk], fuzz: int) -> dict[str, object]:
    return predict.predict_file("drivers/rep.c", vendor, hunks, ChangeKind.MODIFIED, fuzz).to_json(
        verbose=True
    )


@settings(max_examples=150, deadline=None)
@example(case=_lifted(), fuzz=2, index_after=32)
@example(case=_lifted(), fuzz=0, index_after=0)
@given(case=_case(), fuzz=st.sampled_from([0, 2]), index_after=st.sampled_from([0, 32, 10**9]))
def test_repetitive_files_get_the_verdicts_the_plain_search_gives(
    case: tuple[str, str, bytes], fuzz: int, index_after: int
) -> None:
    _vanilla, vendor, patch = case
    if not patch:
        return
    index = index_bytes(patch)
    hunks = parse_file(index, index.files[0])
    with mock.patch.object(filelines, "INDEX_AFTER", index_after):
        fast = _predict(vendor.encode(), hunks, fuzz)
        with (
            mock.patch.object(predict, "FileLines", _PlainSearch),
            mock.patch.object(predict, "_bound_by_neighbours", _every_hunk),
        ):
            plain = _predict(vendor.encode(), hunks, fuzz)
    assert fast == plain


@example(hits=[3, 7], expected=5, floor=0)  # a tie: the place after, as patch tries +n first
@example(hits=[3, 7], expected=5, floor=4)
@example(hits=[3, 7], expected=9, floor=0)
@example(hits=[3, 7], expected=1, floor=8)
@given(
    hits=st.lists(st.integers(0, 60), unique=True).map(sorted),
    expected=st.integers(-5, 70),
    floor=st.integers(-5, 70),
)
def test_nearest_bisected_is_nearest_looked_for(hits: list[int], expected: int, floor: int) -> None:
    # GNU patch's choice, ties going to the place after, from a bisection of hits in order.
    assert nearest(Hits(hits), expected, floor) == nearest(iter(hits), expected, floor)


def test_a_search_is_made_once_per_image_and_bounded_by_bisection() -> None:
    text = b"".join([b"{\n", b"lock();\n", b"unlock();\n", b"}\n"] * 50)
    view = FileLines(data=text)
    image = [b"lock();\n", b"unlock();\n"]
    every = view.find_all(image)
    assert isinstance(every, Hits)
    assert every == list(range(1, 200, 4))
    assert view.find_all(image) is every  # no second read of the file
    assert view.find_all(image, 10, 30) == [13, 17, 21, 25, 29]
    assert view.find_all(image, None, 5) == [1, 5]

"""The quick no of :func:`~patchsmith.engine.conflict.removal_standing`: when nothing next to
the found result reads as the whole pre-image and none of the removed lines stands anywhere
in the file, it answers "no region" without collapsing the file's whitespace or ranking its
regions. That must be the answer the full look gives.

The files are the repetitive code the rule is for (``x++;``, ``}``, ``return 0;``, the same
call in many places), with the removed lines standing elsewhere re-indented, with a ``\\r``,
or inside longer lines that only look like them.
"""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine import conflict
from patchsmith.engine.conflict import _may_stand
from patchsmith.engine.filelines import FileLines, normalize
from patchsmith.engine.locate import locate_hunk
from patchsmith.model import HunkStatus
from tests.engine.test_audit3_places import hunk_of

# What a removed line reads once whitespace is collapsed, and file lines that are, or only
# look like, one of them.
_WORDS = [b"kfree(buf);", b"x++;", b"}", b"return 0;", b"goto out;", b"if (err)"]
_BLANKS = [b"", b" ", b"\t", b"\t\t", b" \t", b"\x0b", b"\x0c"]


@st.composite
def _file_line(draw: st.DrawFn) -> bytes:
    words = draw(st.sampled_from(_WORDS)).split()
    gaps = [draw(st.sampled_from(_BLANKS[1:])) for _ in words[1:]]
    body = words[0] + b"".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))
    shape = draw(st.integers(0, 5))
    if shape == 1:
        body = b"y" + body  # the words inside a longer word: not the line
    elif shape == 2:
        body = body + b" y++;"  # the words and more: not the line
    elif shape == 3:
        body = b""  # a blank line
    ending = draw(st.sampled_from([b"\n", b"\r\n", b" \n"]))
    return draw(st.sampled_from(_BLANKS)) + body + ending


@settings(max_examples=300)
@given(
    st.lists(_file_line(), max_size=40),
    st.booleans(),
    st.sets(st.sampled_from([*_WORDS, b"kfree(buf); kfree(buf);", b"y"]), min_size=1),
)
def test_a_removed_line_may_stand_exactly_when_a_collapsed_file_line_is_it(
    file_lines: list[bytes], cut_last_newline: bool, removed: set[bytes]
) -> None:
    blob = b"".join(file_lines)
    if cut_last_newline and blob.endswith(b"\n"):
        blob = blob[:-1]  # a last line without a newline
    view = FileLines(data=blob)
    exact = any(line in view.normalized_positions() for line in removed)
    # Fewer lines than the tries it allows: never cut short, so never more than exact.
    assert _may_stand(FileLines(data=blob), removed) == exact


def test_a_line_holding_the_words_in_many_places_is_left_to_the_full_look() -> None:
    # Sixty-five lines that hold "kfree(buf);" inside longer ones, and none that is it: past
    # the tries it allows, the quick test says "may stand" and the full look answers.
    blob = b"\tkfree(buf); x++;\n" * 65
    assert not any(normalize(line) == b"kfree(buf);" for line in blob.splitlines())
    assert _may_stand(FileLines(data=blob), {b"kfree(buf);"})
    assert not _may_stand(FileLines(data=blob[: 18 * 60]), {b"kfree(buf);"})


# Upstream removes the kfree() and the goto between the context. The vendor's file has the
# context with, between, the removed lines as they were, edited, re-indented or gone; around
# the function, lines that are or look like them, and maybe a copy of the result elsewhere
# (another function with the context alone), where the result is then found.
_CONTEXT_ABOVE = "\tlock(d);\n\tx++;\n"
_CONTEXT_BELOW = "\tunlock(d);\n\treturn 0;\n"
_REMOVAL = " \tlock(d);\n \tx++;\n-\tkfree(buf);\n-\tgoto out;\n \tunlock(d);\n \treturn 0;\n }\n"
_RESULT_COPY = "static int g(struct dev *d)\n{\n" + _CONTEXT_ABOVE + _CONTEXT_BELOW + "}\n"
_BETWEEN = st.sampled_from(
    [
        "",
        "\tkfree(buf);\n\tgoto done;\n",
        "  kfree(buf);\r\n\tgoto done;\n",
        "\tkfree(other);\n\tgoto done;\n",
        "\tkfree(buf); x++;\n\tgoto done;\n",
        "\tgoto done;\n",
        "\tkfree(other);\n",
    ]
)
_ELSEWHERE = st.sampled_from(
    [
        "\tx++;\n",
        "}\n",
        "\n",
        "\treturn 0;\n",
        "\tkfree(buf);\n",
        "  kfree(buf);\r\n",
        "\t\tgoto out;\n",
        "\tkfree(buf); x++;\n",
        "\tykfree(buf);\n",
        "\tgoto done;\n",
        "\tlock(d);\n",
        _RESULT_COPY,
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_ELSEWHERE, max_size=10),
    _BETWEEN,
    st.lists(_ELSEWHERE, max_size=10),
    st.integers(1, 8),
    st.booleans(),
    st.booleans(),
)
def test_the_quick_no_gives_the_full_look_s_verdict(
    above: list[str], between: str, below: list[str], stated: int, named: bool, as_bytes: bool
) -> None:
    function = "static int f(struct dev *d)\n{\n" + _CONTEXT_ABOVE + between + _CONTEXT_BELOW
    vendor = "".join(above) + function + "}\n" + "".join(below)
    section = "static int f(struct dev *d)" if named else ""
    hunk = hunk_of(_REMOVAL, stated, section)
    data = vendor.encode()

    def view() -> FileLines:
        return FileLines(data=data) if as_bytes else FileLines(data.splitlines(keepends=True))

    quick = locate_hunk(view(), hunk)
    with mock.patch.object(conflict, "_may_stand", return_value=True):
        full = locate_hunk(view(), hunk)
    assert quick == full
    assert quick.reasons == full.reasons and quick.candidates == full.candidates


def test_a_removal_standing_edited_beside_a_copy_of_the_result_is_not_applied() -> None:
    # The result is found in g(); in f() the kfree() still stands, the goto edited: the full
    # look finds that region, so the quick no must not answer (a removed line stands).
    vendor = (
        "static int f(struct dev *d)\n{\n"
        + _CONTEXT_ABOVE
        + "\tkfree(buf);\n\tgoto done;\n"
        + _CONTEXT_BELOW
        + "}\n"
        + _RESULT_COPY
    )
    hunk = hunk_of(_REMOVAL, 3, "static int f(struct dev *d)")
    location = locate_hunk(FileLines(data=vendor.encode()), hunk)
    assert location.status == HunkStatus.CONFLICT
    assert "still stand" in location.reason
    assert _may_stand(FileLines(data=vendor.encode()), {b"kfree(buf);", b"goto out;"})


def test_the_quick_no_answers_when_the_removed_lines_are_gone() -> None:
    # The vendor carries the fix: the removed lines stand nowhere, and the quick no says so.
    vendor = "static int f(struct dev *d)\n{\n" + _CONTEXT_ABOVE + _CONTEXT_BELOW + "}\n"
    hunk = hunk_of(_REMOVAL, 3, "static int f(struct dev *d)")
    calls: list[bool] = []
    real = conflict._may_stand

    def counted(view: FileLines, lines: set[bytes]) -> bool:
        calls.append(real(view, lines))
        return calls[-1]

    with mock.patch.object(conflict, "_may_stand", counted):
        location = locate_hunk(FileLines(data=vendor.encode()), hunk)
    assert (location.status, location.needs_review) == (HunkStatus.ALREADY_APPLIED, False)
    assert calls == [False]
    # And with one of them standing re-indented below the function, the full look runs
    # and finds no region there either (another function's line is not this one's).
    vendor += "static int g(void)\n{\n  kfree(buf);\n\treturn 0;\n}\n"
    calls.clear()
    with mock.patch.object(conflict, "_may_stand", counted):
        location = locate_hunk(FileLines(data=vendor.encode()), hunk)
    assert calls == [True]
    assert location.status == HunkStatus.ALREADY_APPLIED

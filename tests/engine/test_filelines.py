"""FileLines: the searches the ladder runs give the same answers from the bytes and from the
line index a busy file switches to, and a file's many hunks do not read it once each."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine import filelines
from patchsmith.engine.filelines import FileLines, enclosing_function, normalize, split_lines
from patchsmith.engine.predict import predict_file
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import ChangeKind, index_bytes

# Few distinct lines, so images repeat; a definition-looking line, a label, CRLF, a line that
# differs from another only in whitespace.
_LINE = st.sampled_from(
    [
        b"a\n",
        b"b\n",
        b"\tx++;\n",
        b"\tx++; \n",
        b"}\n",
        b"\n",
        b"int f(void)\n",
        b"out:\n",
        b"c\r\n",
    ]
)


@st.composite
def _file_and_image(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    lines = draw(st.lists(_LINE, max_size=30))
    if draw(st.booleans()) and lines and lines[-1] != b"\n":
        lines[-1] = lines[-1].rstrip(b"\n")  # no newline at the end of the file
    data = b"".join(lines)
    if len(lines) > 0 and draw(st.booleans()):
        start = draw(st.integers(0, len(lines) - 1))
        image = lines[start : start + draw(st.integers(1, 4))]
    else:
        image = draw(st.lists(_LINE, min_size=1, max_size=4))
        if draw(st.booleans()) and image[-1] != b"\n":
            image[-1] = image[-1].rstrip(b"\n")
    return data, image


def _indexed(data: bytes) -> FileLines:
    """A view that uses its index from the first search."""
    view = FileLines(data=data)
    with mock.patch.object(filelines, "INDEX_AFTER", 0):
        view.find_all([b"never in a file\n"])
    assert view.indexed
    return view


@given(_file_and_image(), st.integers(-3, 33), st.integers(-3, 33))
@settings(max_examples=400)
def test_the_index_finds_what_the_bytes_find(
    case: tuple[bytes, list[bytes]], low: int, high: int
) -> None:
    data, image = case
    plain = FileLines(data=data).find_all(image)
    # Exactly where the bytes find it: whole lines, a last line without newline only at the end.
    lines = split_lines(data)
    assert plain == [i for i in range(len(lines)) if lines[i : i + len(image)] == image]
    assert _indexed(data).find_all(image) == plain
    bounded = [hit for hit in plain if low <= hit <= high]
    assert FileLines(data=data).find_all(image, low, high) == bounded
    assert _indexed(data).find_all(image, low, high) == bounded
    for index in (*plain, low):
        assert FileLines(data=data).holds_at(image, index) == (index in plain)
        assert _indexed(data).holds_at(image, index) == (index in plain)
    normalized = [normalize(line) for line in image]
    assert FileLines(data=data).find_all_normalized(normalized) == (
        _indexed(data).find_all_normalized(normalized)
    )


@given(st.lists(_LINE, max_size=40))
def test_the_definition_index_agrees_with_enclosing_function(lines: list[bytes]) -> None:
    view = FileLines(data=b"".join(lines))
    for index in range(-1, len(lines) + 2):
        found = enclosing_function(lines, index)
        assert view.enclosing(index) == (found[0] if found else None)


def test_a_file_is_indexed_only_after_many_whole_file_searches() -> None:
    view = FileLines(data=b"a\nb\nc\n" * 10)
    for _ in range(filelines.INDEX_AFTER):
        view.find_all([b"b\n", b"c\n"])
    assert not view.indexed  # a kernel file's few hunks never pay for splitting it
    view.find_all([b"b\n", b"c\n"])
    assert view.indexed


def _many_hunks(count: int, named: bool) -> tuple[bytes, bytes]:
    """A vendor file of ``count`` functions ending alike (three lines of its own on top) and a
    patch changing each: hunks that repeat their neighbours' context."""
    old: list[str] = []
    diff = ["--- a/m.c\n", "+++ b/m.c\n"]
    for number in range(count):
        body = [
            f"static int f{number}(void)\n",
            "{\n",
            f"\tint ret = g({number});\n",
            "\tif (ret)\n",
            "\t\treturn ret;\n",
            "\treturn 0;\n",
            "}\n",
        ]
        old.extend(body)
        section = f" {body[0].rstrip()}" if named else ""
        diff.append(f"@@ -{number * 7 + 3},4 +{number * 7 + 3},4 @@{section}\n")
        diff += [" " + body[2], " " + body[3], "-" + body[4], "+\t\tgoto out;\n", " " + body[5]]
    return ("/* vendor */\n\n\n" + "".join(old)).encode(), "".join(diff).encode()


def test_many_hunks_give_the_same_verdicts_indexed_or_not() -> None:
    for named in (True, False):
        data, diff = _many_hunks(120, named)
        index = index_bytes(diff)
        hunks = parse_file(index, index.files[0])
        results = []
        for after in (0, filelines.INDEX_AFTER, 10**9):
            with mock.patch.object(filelines, "INDEX_AFTER", after):
                results.append(predict_file("m.c", data, hunks, ChangeKind.MODIFIED))
        assert results[0].hunks == results[1].hunks == results[2].hunks
        assert results[0].result_lines == results[2].result_lines
        # The running shift carries the vendor's three lines to every hunk below the first.
        statuses = [str(h.status) for h in results[0].hunks]
        assert statuses == ["offset"] + ["clean"] * 119
        assert all(h.offset == 3 for h in results[0].hunks)

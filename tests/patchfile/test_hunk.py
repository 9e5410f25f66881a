"""The hunk reader's fast path agrees with its line-by-line path on what it may not lose."""

from __future__ import annotations

from patchsmith.patchfile.hunk import ADD, CONTEXT, REMOVE, Hunk, HunkLine, parse_file
from patchsmith.patchfile.index import index_bytes

HEADER = b"--- a/f.c\n+++ b/f.c\n"


def lines_of(body: bytes) -> list[tuple[str, bytes]]:
    index = index_bytes(HEADER + body)
    (hunk,) = parse_file(index, index.files[0])
    return [(line.op, line.text) for line in hunk.lines]


def test_a_lone_carriage_return_stays_inside_its_line() -> None:
    # Only "\n" ends a line in a patch, as in the file being patched (bytes.splitlines would
    # cut this line in two and make "b" an op).
    assert lines_of(b"@@ -1,2 +1,2 @@\n a\rb\n-old\n+new\n") == [
        (CONTEXT, b"a\rb\n"),
        (REMOVE, b"old\n"),
        (ADD, b"new\n"),
    ]


def test_an_eaten_context_space_and_a_missing_newline_on_the_slow_path() -> None:
    body = b"@@ -1,3 +1,3 @@\n a\n\n-b\n\\ No newline at end of file\n+c\n"
    assert lines_of(body) == [
        (CONTEXT, b"a\n"),
        (CONTEXT, b"\n"),
        (REMOVE, b"b"),
        (ADD, b"c\n"),
    ]


def test_crlf_lines_keep_their_endings_on_the_fast_path() -> None:
    assert lines_of(b"@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+c\r\n") == [
        (CONTEXT, b"a\r\n"),
        (REMOVE, b"b\r\n"),
        (ADD, b"c\r\n"),
    ]


def test_a_parsed_hunk_makes_its_lines_on_demand_and_equals_one_made_from_them() -> None:
    index = index_bytes(HEADER + b"@@ -1,3 +1,4 @@ f\n a\n-b\n+c\n+d\n e\n")
    (parsed,) = parse_file(index, index.files[0])
    assert parsed.ops == " -++ "
    assert parsed.old_lines == (b"a\n", b"b\n", b"e\n")
    assert parsed.new_lines == (b"a\n", b"c\n", b"d\n", b"e\n")
    assert (parsed.leading_context, parsed.trailing_context) == (1, 1)
    made = Hunk.from_lines(1, 1, 3, 1, 4, "f", parsed.lines)
    assert made == parsed
    assert hash(made) == hash(parsed)
    assert made.lines == parsed.lines
    assert parsed.lines[1] == HunkLine(REMOVE, b"b\n")

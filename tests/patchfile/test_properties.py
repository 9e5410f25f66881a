"""Property tests: any generated patch round-trips byte for byte, and -i P / -x P partition it."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from unidiff.patch import PatchSet

from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes, index_sources
from patchsmith.patchfile.select import Selection, render, select
from patchsmith.patchfile.source import PatchSource

# Content bytes: printable ASCII, Latin-1, tabs, form feeds; never a newline (that ends a line).
CONTENT = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
ENDING = st.sampled_from([b"\n", b"\r\n"])
PATH = st.lists(
    st.sampled_from(["drivers", "md", "net", "kernel", "fs", "dm.c", "x y.c", "core.c"]),
    min_size=1,
    max_size=4,
).map("/".join)


@st.composite
def hunks(draw: st.DrawFn, start: int) -> tuple[bytes, int]:
    """One unified hunk starting at old line ``start``; returns (bytes, old lines used)."""
    ops = draw(st.lists(st.sampled_from(" +-"), min_size=1, max_size=8))
    if all(op == " " for op in ops):
        ops.append("+")
    body = b""
    old = new = 0
    for op in ops:
        body += op.encode() + draw(CONTENT) + draw(ENDING)
        old += op != "+"
        new += op != "-"
    header = b"@@ -%d,%d +%d,%d @@%s\n" % (
        start,
        old,
        start,
        new,
        draw(st.sampled_from([b"", b" f(void)"])),
    )
    return header + body, old


@st.composite
def patches(draw: st.DrawFn) -> bytes:
    out = b""
    if draw(st.booleans()):
        out += b"From: someone\nSubject: a fix\n\nprose\n---\n"
    for path in draw(st.lists(PATH, min_size=1, max_size=5)):
        if draw(st.booleans()):
            out += b"diff --git a/%s b/%s\nindex 1111111..2222222 100644\n" % (
                path.encode(),
                path.encode(),
            )
        out += b"--- a/%s\n+++ b/%s\n" % (path.encode(), path.encode())
        line = 1
        for _ in range(draw(st.integers(1, 3))):
            hunk, used = draw(hunks(line))
            out += hunk
            line += used + draw(st.integers(1, 20))
        if draw(st.booleans()):
            out += b"\n"
    if draw(st.booleans()):
        out += b"-- \n2.39.5\n"
    return out


@settings(max_examples=150, deadline=None)
@given(patches())
def test_pieces_concatenate_to_the_input(data: bytes) -> None:
    index = index_bytes(data)
    assert b"".join(index.pieces()) == data
    assert b"".join(render(select(index, Selection()), verbose=True)) == data


@settings(max_examples=150, deadline=None)
@given(patches(), st.sampled_from(["*md*", "*/kernel/*", "a/drivers/*", "*.c", "*x y*", "nothing"]))
def test_include_and_exclude_partition_the_file_sections(data: bytes, pattern: str) -> None:
    index = index_bytes(data)
    included = select(index, Selection(includes=(pattern,)))
    excluded = select(index, Selection(excludes=(pattern,)))
    inc = {d.entry.number for d in included.kept}
    exc = {d.entry.number for d in excluded.kept}
    assert inc.isdisjoint(exc)
    assert inc | exc == {f.number for f in index.files}
    sections = {f.number: index.data(f) for f in index.files}
    merged = b"".join(sections[n] for n in sorted(inc | exc))
    assert merged == b"".join(sections.values())


@settings(max_examples=100, deadline=None)
@given(patches())
def test_line_parse_agrees_with_unidiff(data: bytes) -> None:
    if b"\r" in data:
        return  # unidiff cannot read CRLF lines back losslessly (see PEERS.md)
    index = index_bytes(data)
    text = data.decode("utf-8", "surrogateescape")
    # str.splitlines() would also split at \x0b, \x0c, \x1c..\x1e: content bytes, not line ends
    parsed = PatchSet(io.StringIO(text, newline="\n").readlines())
    ours = [
        [(line.op, line.text) for hunk in parse_file(index, entry) for line in hunk.lines]
        for entry in index.files
    ]
    theirs = [
        [
            (line.line_type, line.value.encode("utf-8", "surrogateescape"))
            for hunk in patched
            for line in hunk
            # unidiff appends a blank line after a complete hunk as an extra "empty" line; the
            # hunk's counts say it is not part of the hunk
            if line.line_type != ""
        ]
        for patched in parsed
    ]
    assert ours == theirs


@settings(max_examples=150, deadline=None)
@given(patches())
def test_lazy_index_equals_the_eager_one(data: bytes) -> None:
    lazy = index_sources([PatchSource("<patch>", data)], lazy=True)
    assert lazy.files == index_bytes(data).files
    assert b"".join(render(select(lazy, Selection()), verbose=True)) == data

"""Fuzzing the reader: mutated real-shaped patches end in a result or a typed error, nothing else.

Every fixture under ``fixtures/patches`` (the malformed ones too) is mutated the way damaged
patches arrive: cut short (a truncated download), bits flipped (a bad disk, a mangled mail),
bytes dropped or repeated, line endings mixed (a CRLF editor on part of the file), and
compressed with each supported format before being damaged (a truncated ``.bz2``). Each result
is then read the way the commands read it: indexed eagerly and lazily, every hunk parsed (as
``check`` and ``apply`` do), the whole selection rendered (as ``filter`` does).

The promise under test: the outcome is an index whose every hunk parses, or a
:class:`PatchParseError` with a line number inside the input (or, for a damaged compressed
file, an :class:`InputError` naming it): never another exception, which the command line would
report as an internal error (exit 3).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchsmith.errors import InputError, PatchParseError
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import DiffFormat, PatchIndex, index_sources
from patchsmith.patchfile.select import Selection, render, select
from patchsmith.patchfile.source import PatchSource, decompress
from tests.support.paths import PATCHES

PATCH_FILES = sorted(
    path
    for path in PATCHES.rglob("*")
    if path.is_file() and path.suffix in {".diff", ".patch", ".mbox"}
)
SAMPLES = {path.relative_to(PATCHES).as_posix(): path.read_bytes() for path in PATCH_FILES}

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


# Lines that mean something to a reader, to splice in where they do not belong.
HEADER_LINES = [
    b"diff --git a/x b/x\n",
    b"diff -urN a/x b/x\n",
    b"--- a/x\n",
    b"+++ b/x\n",
    b"--- /dev/null\n",
    b"@@ -1 +1 @@\n",
    b"@@ -0,0 +1,3 @@\n",
    b"@@ -99999999999999999999,1 +1 @@\n",
    b"\\ No newline at end of file\n",
    b"GIT binary patch\n",
    b"literal 5\n",
    b"Binary files a/x and b/x differ\n",
    b"rename from x\n",
    b'rename to "y\\000z"\n',
    b"new file mode 100644\n",
    b"old mode 100644\n",
    b"***************\n",
    b"*** 1,3 ****\n",
    b"--- 1,3 ----\n",
    b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n",
    b"-- \n",
    b"\n",
    b"\r\n",
]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` after one to four of the damages listed in the module docstring."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["cut", "flip", "drop", "repeat", "crlf", "lf", "byte", "line"])
        )
        if not data:
            break
        if kind == "line":  # a whole line dropped, doubled, or a header-like line spliced in
            lines = data.splitlines(keepends=True)
            at = draw(st.integers(0, len(lines)))
            how = draw(st.sampled_from(["drop", "double", "splice"]))
            if how == "splice":
                lines.insert(at, draw(st.sampled_from(HEADER_LINES)))
            elif at < len(lines):
                lines[at : at + 1] = [] if how == "drop" else [lines[at], lines[at]]
            data = b"".join(lines)
            continue
        at = draw(st.integers(0, len(data) - 1))
        if kind == "cut":
            data = data[:at]
        elif kind == "flip":
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
        elif kind == "drop":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif kind == "repeat":
            data = data[:at] + data[at : at + draw(st.integers(1, 80))] + data[at:]
        elif kind == "crlf":  # one line (the one at ``at``) and what follows it in CRLF
            end = data.find(b"\n", at)
            cut = len(data) if end < 0 else end
            data = data[:cut].replace(b"\r\n", b"\n") + data[cut:].replace(b"\n", b"\r\n")
        elif kind == "lf":
            data = data[:at] + data[at:].replace(b"\r\n", b"\n", draw(st.integers(1, 5)))
        else:
            data = (
                data[:at] + bytes([draw(st.sampled_from(b'\0\r\n\\ +-@"\t\x85\xff'))]) + data[at:]
            )
    return data


@st.composite
def damaged_inputs(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SAMPLES)))
    data = SAMPLES[name]
    if draw(st.booleans()):
        data = draw(mutated(data))
    if draw(st.integers(0, 3)) == 0:  # compressed, then possibly damaged again
        kind = draw(st.sampled_from(sorted(COMPRESSORS)))
        data = COMPRESSORS[kind](data)
        if draw(st.booleans()):
            data = draw(mutated(data))
    return name, data


def read_everything(data: bytes, lazy: bool) -> None:
    """Read ``data`` the way ``ls``, ``filter``, ``check`` and ``apply`` do, or raise.

    What is read must also be what the input says: every byte in exactly one piece (nothing
    lost or doubled), and every hunk with as many old and new lines as its header counts (the
    engine places a hunk by them; a hunk read short would be applied short)."""
    plain, _kind = decompress(data, "<fuzz>")
    index = index_sources([PatchSource("<fuzz>", plain)], lazy=lazy)
    for entry in index.files:
        for number, hunk in enumerate(parse_file(index, entry), start=1):
            assert hunk.number == number
            assert (len(hunk.old_lines), len(hunk.new_lines)) == (
                hunk.old_count,
                hunk.new_count,
            ), (entry.path, hunk.header)
        _ = (entry.path, entry.kind, entry.added, entry.removed, entry.names)
    assert b"".join(index.pieces()) == plain
    assert b"".join(render(select(index, Selection()), verbose=True)) == with_separators(index)
    for _chunk in render(select(index, Selection(only=("drivers",))), strip=1):
        pass


def with_separators(index: PatchIndex) -> bytes:
    """The input as ``filter`` writes it whole: each context hunk that follows another without
    its ``***************`` line gets one (GNU patch would stop reading there); all else as is."""
    (source,) = index.sources
    plain = source.data
    pieces, last = [], 0
    for entry in index.files:
        if entry.format != DiffFormat.CONTEXT:
            continue
        for hunk in entry.hunks:
            if not plain.startswith(b"*" * 15, hunk.start):
                crlf = plain[: plain.find(b"\n", hunk.start)].endswith(b"\r")
                pieces += [plain[last : hunk.start], b"*" * 15 + (b"\r\n" if crlf else b"\n")]
                last = hunk.start
    return b"".join([*pieces, plain[last:]])


def check_outcome(data: bytes, lazy: bool) -> None:
    error: InputError | None = None
    try:
        read_everything(data, lazy)
    except InputError as raised:
        error = raised
    if isinstance(error, PatchParseError):
        plain, _kind = decompress(data, "<fuzz>")
        assert 1 <= error.line <= plain.count(b"\n") + 1, (error.line, error.message)
        assert error.message.startswith("<fuzz>:")
    elif error is not None:  # only a damaged compressed input may fail without a line number
        assert "does not decompress" in error.message, error.message


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged_inputs(), st.booleans())
def test_damaged_patches_end_in_a_result_or_a_typed_error(
    sample: tuple[str, bytes], lazy: bool
) -> None:
    _name, data = sample
    check_outcome(data, lazy)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_cut_of_every_fixture(name: str) -> None:
    """Every prefix of each fixture, cut at each line end and one byte either side: the
    truncated download, exhaustively rather than by sampling."""
    data = SAMPLES[name]
    cuts = {0, len(data)}
    for position, byte in enumerate(data):
        if byte == 0x0A:
            cuts.update({position, position + 1, position + 2})
    for cut in sorted(c for c in cuts if c <= len(data)):
        for lazy in (False, True):
            check_outcome(data[:cut], lazy)


def test_the_fixtures_are_all_here() -> None:
    """The fuzzer is only as good as what it mutates: the real-shaped fixtures are read."""
    assert {"git_basic.diff", "format_patch.mbox", "context_format.diff", "latin1.diff"} <= set(
        SAMPLES
    )
    assert any(name.startswith("quilt-series/") for name in SAMPLES)
    assert Path(PATCHES / "malformed" / "truncated.diff").is_file()

"""Inputs: compression detected by magic bytes with real compressors, stdin, folders, series."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from patchsmith.errors import InputError
from patchsmith.patchfile import source as source_module
from patchsmith.patchfile.source import PatchSource, decompress, read_source, size_limit
from tests.support.paths import PATCHES

PLAIN = (PATCHES / "git_basic.diff").read_bytes()


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("bzip2", bz2.compress),
        ("xz", lzma.compress),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    ],
)
def test_compression_is_detected_by_content_not_name(
    tmp_path: Path, kind: str, compress: object
) -> None:
    target = tmp_path / "patch-2.6.16.29.diff"  # a misleading name on purpose
    assert callable(compress)
    target.write_bytes(compress(PLAIN))
    (source,) = read_source(str(target))
    assert source.data == PLAIN
    assert source.compression == kind


@pytest.mark.parametrize(("tool", "suffix"), [("gzip", ".gz"), ("bzip2", ".bz2"), ("xz", ".xz")])
def test_files_made_by_the_real_command_line_tools(tmp_path: Path, tool: str, suffix: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    plain = tmp_path / "patch-2.6.16.29"
    plain.write_bytes(PLAIN)
    subprocess.run([tool, "-k", str(plain)], check=True)
    (source,) = read_source(str(plain) + suffix)
    assert source.data == PLAIN


def test_stdin() -> None:
    (source,) = read_source("-", stdin=io.BytesIO(gzip.compress(PLAIN)))
    assert source.name == "<stdin>" and source.data == PLAIN


def test_truncated_compressed_input_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "cut.bz2"
    target.write_bytes(bz2.compress(PLAIN)[:40])
    with pytest.raises(InputError, match="looks like bzip2 data but does not decompress"):
        read_source(str(target))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_source(str(tmp_path / "nope.patch"))


def test_folder_of_format_patch_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "0002-second.patch").write_bytes(b"2")
    (tmp_path / "0001-first.patch").write_bytes(b"1")
    (tmp_path / "notes.txt").write_bytes(b"ignored")
    assert [s.data for s in read_source(str(tmp_path))] == [b"1", b"2"]


def test_folder_with_series_file_uses_series_order() -> None:
    sources = read_source(str(PATCHES / "quilt-series" / "patches"))
    assert [Path(s.name).name for s in sources] == ["dm-first.patch", "sched-second.patch"]


def test_series_naming_a_missing_patch(tmp_path: Path) -> None:
    (tmp_path / "series").write_text("gone.patch\n")
    with pytest.raises(InputError, match=r"lists gone\.patch, which does not exist"):
        read_source(str(tmp_path / "series"))


# --- damaged input and decompression bombs ------------------------------------------------------

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
KINDS = sorted(COMPRESSORS)
MiB = 1 << 20


def _bomb(kind: str, size: int) -> bytes:
    """``size`` zero bytes compressed: the shape of a real bomb (1.5 KB of bzip2 is 2 GiB)."""
    return COMPRESSORS[kind](bytes(size))


def test_a_corrupt_gzip_is_an_input_error_not_a_zlib_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(PLAIN))
    data[len(data) // 2] ^= 0xFF  # inside the deflate stream: zlib.error before
    target = tmp_path / "bad.gz"
    target.write_bytes(bytes(data))
    with pytest.raises(InputError, match="looks like gzip data but does not decompress") as raised:
        read_source(str(target))
    assert "gzip -t" in (raised.value.hint or "")


@pytest.mark.parametrize("kind", KINDS)
def test_several_members_or_frames_are_all_read(kind: str) -> None:
    """``cat a.gz b.gz``, ``pbzip2``, ``xz`` multi-stream and ``pzstd`` output hold several
    streams; stopping after the first would silently drop the rest of the patch."""
    compress = COMPRESSORS[kind]
    (source,) = read_source("-", stdin=io.BytesIO(compress(PLAIN[:100]) + compress(PLAIN[100:])))
    assert source.data == PLAIN


def _many_files(count: int) -> bytes:
    """A patch of ``count`` small file diffs, with data that hardly compresses, so that a
    compressed copy cut anywhere still decompresses to whole diffs for the reader to take."""
    noise = random.Random(7)
    return b"".join(
        b"diff --git a/drivers/f%d.c b/drivers/f%d.c\n--- a/drivers/f%d.c\n+++ b/drivers/f%d.c\n"
        b"@@ -1,3 +1,3 @@\n int a;\n-int b%d;\n+int b%d;\n int c;\n"
        % (i, i, i, i, noise.getrandbits(64), noise.getrandbits(64))
        for i in range(count)
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cut", [0.25, 0.5, 0.9, 0.999])
def test_a_truncated_stream_is_damage_not_a_shorter_patch(
    tmp_path: Path, kind: str, cut: float
) -> None:
    """A download cut short must not read as a patch with the last files missing. zstandard's
    stream reader ends quietly where its input ends, inside a frame or not."""
    whole = COMPRESSORS[kind](_many_files(4000))
    target = tmp_path / "patch.diff"
    target.write_bytes(whole[: int(len(whole) * cut)])
    with pytest.raises(InputError, match=f"looks like {kind} data but does not decompress"):
        read_source(str(target))
    with pytest.raises(InputError, match="does not decompress"):
        decompress(whole[: int(len(whole) * cut)], "patch.diff")
    # The same stream whole, and two whole frames or members one after the other, read.
    target.write_bytes(whole + whole)
    (source,) = read_source(str(target))
    assert source.data == _many_files(4000) * 2


@pytest.mark.skipif(shutil.which("pzstd") is None, reason="needs pzstd (zstd's parallel tool)")
def test_pzstd_output_is_zstd(tmp_path: Path) -> None:
    """pzstd opens each frame with a skippable frame giving its length: zstd data all the
    same (it was 'binary data, not a patch'), and cut short it is damage too."""
    plain = tmp_path / "patch.diff"
    plain.write_bytes(_many_files(4000))
    packed = tmp_path / "patch.diff.zst"
    subprocess.run(["pzstd", "-q", "-p", "2", str(plain), "-o", str(packed)], check=True)
    assert packed.read_bytes()[:4] != zstandard.FRAME_HEADER  # a skippable frame first
    (source,) = read_source(str(packed))
    assert source.data == plain.read_bytes() and source.compression == "zstd"
    packed.write_bytes(packed.read_bytes()[:-10])
    with pytest.raises(InputError, match="looks like zstd data but does not decompress"):
        read_source(str(packed))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("from_stdin", [False, True])
def test_a_bomb_is_refused_at_the_limit(tmp_path: Path, kind: str, from_stdin: bool) -> None:
    bomb = _bomb(kind, 8 * MiB)
    call: Callable[[int], list[PatchSource]]
    if from_stdin:
        call = lambda limit: read_source("-", stdin=io.BytesIO(bomb), max_size=limit)  # noqa: E731
    else:
        target = tmp_path / "patch-2.6.16.29.diff"
        target.write_bytes(bomb)
        call = lambda limit: read_source(str(target), max_size=limit)  # noqa: E731
    with pytest.raises(InputError, match="refused as a likely decompression bomb") as raised:
        call(MiB)
    assert f"{kind} data that decompresses to more than 1.0 MiB" in raised.value.message
    assert "--max-size" in (raised.value.hint or "")
    (source,) = call(8 * MiB)  # exactly at the limit: read, every byte
    assert source.data == bytes(8 * MiB) and source.compression == kind


def test_the_default_limit_is_1_gib_or_64_times_the_compressed_size() -> None:
    assert source_module.SIZE_FLOOR == 1 << 30 and source_module.SIZE_RATIO == 64
    assert size_limit(1500) == 1 << 30  # the 1.5 KB bzip2 that expands to 2 GiB: refused
    assert size_limit(16 * MiB) == 1 << 30
    assert size_limit(32 * MiB) == 2048 * MiB  # a big real .xz stable patch may expand 64x
    assert size_limit(1500, max_size=5 * (1 << 30)) == 5 * (1 << 30)  # --max-size replaces it


@pytest.mark.parametrize("kind", KINDS)
def test_the_default_rule_needs_both_a_high_ratio_and_a_large_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The real rule (no --max-size) with its floor scaled down from 1 GiB to 1 MiB."""
    monkeypatch.setattr(source_module, "SIZE_FLOOR", MiB)

    def read(data: bytes) -> bytes:
        target = tmp_path / "patch"
        target.write_bytes(COMPRESSORS[kind](data))
        (source,) = read_source(str(target))
        return source.data

    # Over the floor and thousands of times the compressed size: refused.
    with pytest.raises(InputError, match=r"the larger of 1\.0 MiB and 64x the compressed size"):
        read(bytes(2 * MiB))
    # Under the floor, whatever the ratio: read.
    assert read(bytes(MiB - 1)) == bytes(MiB - 1)
    # Over the floor but under 64x (data that hardly compresses): read.
    noisy = random.Random(1).randbytes(2 * MiB)
    assert read(noisy) == noisy


@pytest.mark.parametrize("kind", KINDS)
def test_memory_stays_bounded_while_a_bomb_is_refused(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Past DECIDE_IN_MEMORY at over 64x, the output is only counted: refusing a bomb costs
    that much memory, not the bomb's size (4.2 GB for the 2 GiB bzip2 bomb before)."""
    monkeypatch.setattr(source_module, "DECIDE_IN_MEMORY", 2 * MiB)
    bomb = _bomb(kind, 48 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="decompression bomb"):
            decompress(bomb, "bomb", max_size=40 * MiB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Keeping what it read would hold 40 MiB; the decoders' own state (xz's 8 MiB dictionary)
    # and a chunk in flight come on top of the 2 MiB kept.
    assert peak < 20 * MiB, f"peak {peak / MiB:.1f} MiB while refusing a 48 MiB bomb"


def test_a_stream_counted_past_the_buffer_but_under_the_limit_is_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second pass: a high-ratio input over DECIDE_IN_MEMORY but under the limit."""
    monkeypatch.setattr(source_module, "DECIDE_IN_MEMORY", MiB)
    data = b"+\tpad();\n" * (MiB // 2)  # 4.5 MiB of one repeated line: compresses >64x
    raw = gzip.compress(data)
    assert len(data) > 64 * len(raw)
    assert decompress(raw, "x", max_size=8 * MiB) == (data, "gzip")


def test_an_endless_plain_stream_is_cut_at_the_limit() -> None:
    """``patchsmith ls /dev/zero`` or an endless pipe: refused at the limit, not out of memory."""
    with pytest.raises(InputError, match=r"<stdin>: more than 1\.0 MiB of input: refused"):
        read_source("-", stdin=io.BytesIO(bytes(2 * MiB)), max_size=MiB)
    with pytest.raises(InputError, match=r"/dev/zero: more than 1\.0 MiB of input"):
        read_source("/dev/zero", max_size=MiB)


def test_closed_stdin_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="standard input is closed"):
        read_source("-")


# --- large regular files: read into huge pages ----------------------------------------------------


def large_patch(size: int) -> bytes:
    """A patch-like text of exactly ``size`` bytes, no two lines alike (a byte out of place or
    a page left as zeros shows)."""
    lines = b"".join(b"+line %08d of a large patch\n" % number for number in range(size // 20 + 1))
    return lines[:size]


@pytest.mark.parametrize("size", [1, 4095, 4096, 4097, 3 * 4096 + 7, (5 << 20) + 3])
def test_a_file_over_the_huge_page_floor_reads_as_the_plain_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    patch = tmp_path / "big.patch"
    patch.write_bytes(large_patch(size))
    monkeypatch.setattr(source_module, "HUGE_PAGE_READ", 1)
    read = source_module.read_file(str(patch))
    assert read.data == patch.read_bytes()
    assert type(read.data) is bytes
    assert hash(read.data) == hash(bytes(bytearray(read.data)))  # no stale hash cached


def test_the_huge_page_read_is_used_and_its_memory_advised(tmp_path: Path) -> None:
    # The read is only worth its ctypes if the kernel is really asked: the memory of the bytes
    # returned must carry the advice (VmFlags "hg" in /proc/self/smaps) on a kernel with THP.
    if not Path("/sys/kernel/mm/transparent_hugepage/enabled").exists():
        pytest.skip("no transparent huge pages in this kernel")
    size = source_module.HUGE_PAGE_READ + 12345
    patch = tmp_path / "big.patch"
    patch.write_bytes(large_patch(size))
    with open(patch, "rb") as stream:
        data = source_module._read_into_huge_pages(stream, size)
    assert data is not None
    assert data == patch.read_bytes()
    address = id(data) + bytes.__basicsize__ - 1 + size // 2  # inside the object's bytes
    flags = None
    smaps = Path("/proc/self/smaps").read_text().splitlines()
    for number, line in enumerate(smaps):
        low, _, high = line.partition(" ")[0].partition("-")
        if high and int(low, 16) <= address < int(high, 16):
            flags = next(f for f in smaps[number:] if f.startswith("VmFlags:")).split()[1:]
            break
    assert flags is not None
    assert "hg" in flags


@pytest.mark.parametrize("told", [-1, +1, -4096])
def test_a_file_that_changed_size_since_it_was_opened_is_read_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, told: int
) -> None:
    # Cut or grown between fstat and read: the huge-page read gives up (it holds a buffer of the
    # old size, with zeros or without the end) and the ordinary read takes the file as it is.
    content = large_patch(3 * 4096 + 100)
    patch = tmp_path / "moving.patch"
    patch.write_bytes(content)
    with open(patch, "rb") as stream:
        assert source_module._read_into_huge_pages(stream, len(content) + told) is None
    monkeypatch.setattr(source_module, "HUGE_PAGE_READ", 1)
    with open(patch, "rb") as stream:
        assert source_module._read_regular(stream, len(content) + told) == content

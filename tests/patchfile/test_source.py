"""Inputs: compression detected by magic bytes with real compressors, stdin, folders, series."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
import zstandard

from patchsmith.errors import InputError
from patchsmith.patchfile.source import read_source
from tests.conftest import PATCHES

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

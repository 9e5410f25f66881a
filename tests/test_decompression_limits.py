"""Every compressed input, not only the patch, is read as a stream with a limit.

A kernel config (``--config``, a copy of ``/proc/config.gz``), a target's module (``.ko.xz``,
``.ko.zst``, ``.ko.gz``) and apply's vanilla tarball (``--base linux-6.1.180.tar.xz``) each
decompress through :mod:`patchsmith.patchfile.source`: a small file that expands past the limit
(the larger of 1 GiB and 64 times its size; lowered here to 1 MiB, so the bombs are small) is
refused as bad input, exit 2, before it takes the machine's memory. The bombs are real
compressed files, made at test time.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
import zstandard

from patchsmith.cli import main
from patchsmith.errors import ConfigError, InputError
from patchsmith.kernel.config import load_config
from patchsmith.patchfile import source as source_module
from patchsmith.ship.elfinfo import read_module
from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module
from tests.ship.test_preflight import _headers_dir
from tests.support.paths import DEMO, DEMO_PATCH

TarWrite = Literal["w:xz", "w:gz", "w:bz2"]
"""The tarfile modes the tests write a vanilla tarball with."""

MiB = 1 << 20
CONFIG = DEMO / "config"

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule as shipped, with its 1 GiB floor scaled down to 1 MiB."""
    monkeypatch.setattr(source_module, "SIZE_FLOOR", MiB)


# --- kernel configs ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_compressed_config_is_read_and_a_config_bomb_refused(tmp_path: Path, kind: str) -> None:
    packed = tmp_path / "config.packed"
    packed.write_bytes(COMPRESSORS[kind](CONFIG.read_bytes()))
    assert load_config(packed).state("CONFIG_BLK_DEV_DM") == load_config(CONFIG).state(
        "CONFIG_BLK_DEV_DM"
    )
    # A real config, padded with comment lines to 4 MiB: it compresses far past 64x.
    bomb = tmp_path / "config.gz"
    bomb.write_bytes(COMPRESSORS[kind](CONFIG.read_bytes() + b"#\n" * (2 * MiB)))
    with pytest.raises(ConfigError) as raised:
        load_config(bomb)
    assert "decompression bomb" in raised.value.message
    # No option raises it: no config is that large.
    assert "--max-size" not in (raised.value.hint or "")


def test_an_endless_config_is_cut_at_the_limit() -> None:
    with pytest.raises(ConfigError, match=r"/dev/zero: more than 1\.0 MiB of input"):
        load_config("/dev/zero")


def test_a_config_bomb_is_bad_input_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = tmp_path / "config.gz"
    bomb.write_bytes(gzip.compress(CONFIG.read_bytes() + b"#\n" * (2 * MiB)))
    tree = DEMO / "vendor"
    code = main(
        ["check", str(DEMO_PATCH), "--tree", str(tree), "--modules-only", "--config", str(bomb)]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{bomb}: " in err and "decompression bomb" in err and "hint:" in err


# --- modules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xz", "zstd", "gzip"])
def test_a_module_bomb_is_refused(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    suffix = {"xz": ".xz", "zstd": ".zst", "gzip": ".gz"}[kind]
    packed = tmp_path / f"dm-mod.ko{suffix}"
    packed.write_bytes(COMPRESSORS[kind](plain.read_bytes()))
    info = read_module(packed)
    assert info.compressed and info.name == "dm_mod"
    # The same module with 4 MiB of zeros after it (a section nobody reads): a bomb.
    bomb = tmp_path / f"dm-bomb.ko{suffix}"
    bomb.write_bytes(COMPRESSORS[kind](plain.read_bytes() + bytes(4 * MiB)))
    with pytest.raises(InputError, match="decompression bomb"):
        read_module(bomb)
    headers = _headers_dir(tmp_path / "headers")
    assert main(["preflight", "--ko", str(bomb), "--kernel-dir", str(headers)]) == 2
    err = capsys.readouterr().err
    assert "decompression bomb" in err and "hint:" in err


def test_a_bzip2_file_is_not_a_module(tmp_path: Path) -> None:
    plain = craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    packed = tmp_path / "dm-mod.ko.bz2"
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    with pytest.raises(InputError, match="bzip2-compressed file, not a kernel module"):
        read_module(packed)


# --- apply --base TARBALL ------------------------------------------------------------------------


def _vanilla_tarball(target: Path, mode: TarWrite, extra: dict[str, bytes]) -> Path:
    """The demo's vanilla tree as linux-6.1.998/..., plus ``extra`` members."""
    with tarfile.open(target, mode) as archive:
        archive.add(DEMO / "vanilla", arcname="linux-6.1.998")
        for name, data in extra.items():
            member = tarfile.TarInfo(f"linux-6.1.998/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return target


def _apply(tmp_path: Path, base: Path, *more: str) -> tuple[int, Path]:
    tree = tmp_path / "vendor"
    if not tree.exists():
        shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    worktree = tmp_path / f"worktree-{len(list(tmp_path.glob('worktree-*')))}"
    code = main(
        [
            "apply",
            str(DEMO_PATCH),
            "--tree",
            str(tree),
            "--worktree",
            str(worktree),
            "--base",
            str(base),
            *more,
        ]
    )
    return code, worktree


@pytest.mark.parametrize(("kind", "mode"), [("xz", "w:xz"), ("gzip", "w:gz"), ("bzip2", "w:bz2")])
def test_a_base_tarball_bomb_is_refused_before_anything_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, mode: TarWrite
) -> None:
    bomb = _vanilla_tarball(tmp_path / "linux.tar.bomb", mode, {"zeros.bin": bytes(8 * MiB)})
    assert bomb.stat().st_size * 64 < 8 * MiB
    code, worktree = _apply(tmp_path, bomb)
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{bomb}: " in err and f"{kind} data" in err and "decompression bomb" in err
    assert "hint: if it really is that large, raise the limit: --max-size" in err
    assert not worktree.exists()
    # Raised with --max-size, the same tarball is a base like any other: the 3-way proposals
    # read the vanilla file out of it.
    code, worktree = _apply(tmp_path, bomb, "--max-size", "64M")
    err = capsys.readouterr().err
    assert code == 1, err
    assert {source for _hunk, source, _text in _proposals(worktree, capsys)} == {"3way"}


def test_a_base_tarball_is_read_as_a_stream_member_by_member(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under the limit, a tarball base gives what the unpacked directory gives."""
    tarball = _vanilla_tarball(tmp_path / "linux.tar.xz", "w:xz", {})
    assert _apply(tmp_path, tarball)[0] == 1
    capsys.readouterr()
    from_tarball = _proposals(tmp_path / "worktree-0", capsys)
    assert _apply(tmp_path / "again", DEMO / "vanilla")[0] == 1
    capsys.readouterr()
    assert _proposals(tmp_path / "again" / "worktree-0", capsys) == from_tarball
    assert {source for _hunk, source, _text in from_tarball} == {"3way"}


def _proposals(worktree: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, str]]:
    """Each open hunk's proposal and how it was made (``3way`` needs the vanilla file)."""
    import json

    assert main(["status", "--json", "--session", str(worktree)]) in (0, 1)
    document = json.loads(capsys.readouterr().out)
    return sorted(
        (h["id"], h["proposal_source"], h["proposal"] or "")
        for h in document["hunks"]
        if h["proposal_source"]
    )


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar makes the sparse member")
def test_a_sparse_member_larger_than_the_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sparse member is holes, not stream bytes: 64 MiB of it in a tarball of a few KB. The
    stream's limit never sees it; its size is checked before it is read."""
    top = tmp_path / "src" / "linux-6.1.998"
    shutil.copytree(DEMO / "vanilla", top)
    hollow = top / "drivers" / "md" / "dm-snap.c"
    hollow.unlink()
    with open(hollow, "wb") as handle:
        handle.truncate(64 * MiB)
    tarball = tmp_path / "sparse.tar"
    subprocess.run(
        ["tar", "--sparse", "-cf", str(tarball), "-C", str(tmp_path / "src"), "linux-6.1.998"],
        check=True,
    )
    assert tarball.stat().st_size < MiB
    code, worktree = _apply(tmp_path, tarball)
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(r"dm-snap\.c is 64\.0 MiB, more than 1\.\d MiB: refused", err), err
    assert "hint:" in err and not worktree.exists()


def test_a_damaged_base_tarball_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _vanilla_tarball(tmp_path / "linux.tar.xz", "w:xz", {}).read_bytes()
    cut = tmp_path / "cut.tar.xz"
    cut.write_bytes(whole[: len(whole) // 2])
    code, worktree = _apply(tmp_path, cut)
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"--base {cut}" in err or f"{cut}: " in err
    assert "hint:" in err and "internal error" not in err
    assert not worktree.exists()

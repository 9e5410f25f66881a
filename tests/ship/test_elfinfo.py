"""Reading .modinfo and .comment of modules: 64/32-bit, compiled and hand-made, compressed."""

from __future__ import annotations

import gzip
import lzma
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from patchsmith.errors import InputError
from patchsmith.ship.elfinfo import Vermagic, module_stem, read_module
from tests.ship.elf_factory import (
    CLOUD_VERMAGIC,
    XEN_VERMAGIC,
    compile_module,
    craft_module,
    gcc_supports,
)

MODINFO = (
    "license=GPL",
    "srcversion=429D89BC4912BF1263C2005",
    "depends=dm-bufio,dm-bio-prison",
    "name=dm_snapshot",
    f"vermagic={CLOUD_VERMAGIC}",
)


def _local_gcc_version() -> str:
    return subprocess.run(
        ["gcc", "-dumpfullversion"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(not gcc_supports(64), reason="no gcc that makes 64-bit objects")
def test_compiled_64_bit_module(tmp_path: Path) -> None:
    info = read_module(compile_module(tmp_path / "dm-snapshot.ko", MODINFO))

    assert info.elf_class == 64
    assert info.machine == "EM_X86_64"
    assert info.vermagic is not None
    assert info.vermagic.release == "6.1.0-56-cloud-amd64"
    assert info.vermagic.flags == ("SMP", "preempt", "mod_unload", "modversions")
    assert info.vermagic.gcc is None
    assert info.name == "dm_snapshot"
    assert info.depends == ("dm-bufio", "dm-bio-prison")
    assert info.srcversion == "429D89BC4912BF1263C2005"
    assert info.compiler is not None
    assert info.compiler.startswith("GCC: (")
    assert info.compiler_version == _local_gcc_version()


def test_32_bit_module(tmp_path: Path) -> None:
    """-m32 when this toolchain has it, else the same object crafted by hand."""
    path = tmp_path / "dm-mod.ko"
    modinfo = ("name=dm_mod", f"vermagic={XEN_VERMAGIC}")
    if gcc_supports(32):
        compile_module(path, modinfo, bits=32)
    else:
        craft_module(path, modinfo, bits=32)

    info = read_module(path)

    assert info.elf_class == 32
    assert info.machine == "EM_386"
    assert info.vermagic == Vermagic(
        text="2.6.16-xenU SMP 686 gcc-4.0", release="2.6.16-xenU", flags=("SMP", "686"), gcc="4.0"
    )


def test_made_up_xen_module_from_gcc_4_0(tmp_path: Path) -> None:
    path = craft_module(
        tmp_path / "dm-mod.ko",
        ("license=GPL", "depends=", f"vermagic={XEN_VERMAGIC}"),
        bits=32,
        comment=("GCC: (GNU) 4.0.3 (Debian 4.0.2-2)",) * 3,
    )

    info = read_module(path)

    assert info.vermagic is not None
    assert info.vermagic.release == "2.6.16-xenU"
    assert info.vermagic.gcc == "4.0"
    assert info.comments == ("GCC: (GNU) 4.0.3 (Debian 4.0.2-2)",)
    assert info.compiler_version == "4.0.3"
    assert info.name == "dm_mod"  # no name= in 2.6.16: from the file name
    assert info.depends == ()


def test_compiler_from_vermagic_when_there_is_no_comment(tmp_path: Path) -> None:
    path = craft_module(tmp_path / "x.ko", (f"vermagic={XEN_VERMAGIC}",), bits=32, comment=())

    info = read_module(path)

    assert info.compiler is None
    assert info.compiler_version == "4.0"


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".ko.xz", lambda data: lzma.compress(data, format=lzma.FORMAT_XZ)),
        (".ko.zst", lambda data: zstandard.ZstdCompressor().compress(data)),
        (".ko.gz", gzip.compress),
    ],
)
def test_compressed_modules_read_like_plain_ones(
    tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]
) -> None:
    plain = craft_module(tmp_path / "dm-snapshot.ko", MODINFO)
    packed = tmp_path / f"dm-snapshot{suffix}"
    packed.write_bytes(compress(plain.read_bytes()))

    info = read_module(packed)

    assert info.vermagic == read_module(plain).vermagic
    assert info.modinfo == read_module(plain).modinfo
    assert module_stem(packed) == "dm-snapshot"


def test_object_without_modinfo_has_no_vermagic(tmp_path: Path) -> None:
    info = read_module(craft_module(tmp_path / "plain.o", ()))

    assert info.vermagic is None
    assert info.modinfo == {}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not an elf file at all", "not an ELF file"),
        (lzma.compress(b"x" * 100)[:20], "does not decompress"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 20, "damaged ELF"),
    ],
)
def test_unreadable_modules_raise_input_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.ko"
    path.write_bytes(content)

    with pytest.raises(InputError) as caught:
        read_module(path)

    assert words in caught.value.message
    assert caught.value.hint


def test_missing_module_raises_input_error_with_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_module(tmp_path / "nope.ko")

    assert "no such module" in caught.value.message
    assert "/lib/modules" in (caught.value.hint or "")


def test_vermagic_parse_keeps_unknown_words_and_drops_trailing_space() -> None:
    magic = Vermagic.parse("5.10.0-rt SMP preempt_rt mod_unload ARMv7 p2v8 ")

    assert magic.text == "5.10.0-rt SMP preempt_rt mod_unload ARMv7 p2v8"
    assert magic.flags == ("SMP", "preempt_rt", "mod_unload", "ARMv7", "p2v8")
    assert Vermagic.parse("").release == ""


# --- a real module of Debian's linux-image-*-cloud-amd64 (opt-in) ---------------------------------

IMAGE = os.environ.get("PATCHSMITH_CLOUD_IMAGE")


@pytest.mark.realdata
@pytest.mark.skipif(
    not IMAGE,
    reason="set PATCHSMITH_CLOUD_IMAGE to an extracted linux-image-*-cloud-amd64 "
    "(apt-get download; dpkg-deb -x)",
)
def test_real_cloud_module_vermagic_and_compiler() -> None:
    assert IMAGE is not None
    (modules_dir,) = (Path(IMAGE) / "lib/modules").iterdir()
    release = modules_dir.name
    candidates = list(modules_dir.glob("kernel/drivers/md/dm-mod.ko*"))
    assert candidates, f"no dm-mod in {modules_dir}"

    info = read_module(candidates[0])

    assert info.vermagic is not None
    assert info.vermagic.release == release
    assert info.vermagic.flags == ("SMP", "preempt", "mod_unload", "modversions")
    assert info.name == "dm_mod"
    assert info.compiler is not None
    assert info.compiler.startswith("GCC: (Debian 12.")
    config = (Path(IMAGE) / "boot" / f"config-{release}").read_text()
    cc_text = next(
        line for line in config.splitlines() if line.startswith("CONFIG_CC_VERSION_TEXT")
    )
    assert info.compiler_version is not None
    assert info.compiler_version in cc_text

"""Reading kernel configs: plain, gzip, not-set lines, strings, the arch, and bad inputs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from patchsmith.errors import ConfigError
from patchsmith.kernel.config import load_config, parse_config

FIXTURE_CONFIG = Path(__file__).resolve().parents[2] / "fixtures" / "kernel-tree.config"


def test_fixture_config_values() -> None:
    config = load_config(FIXTURE_CONFIG)
    assert config.value("CONFIG_BLK_DEV_DM") == "m"
    assert config.state("BLK_DEV_DM") == "m"
    assert config.state("CONFIG_MD") == "y"
    assert config.value("CONFIG_DM_DELAY") == "n"  # "# CONFIG_DM_DELAY is not set"
    assert config.state("CONFIG_DM_DELAY") == "n"
    assert config.value("CONFIG_NEVER_MENTIONED") is None
    assert config.state("CONFIG_NEVER_MENTIONED") == "n"
    assert config.value("CONFIG_LOCALVERSION") == '"-demo"'
    assert config.state("CONFIG_LOCALVERSION") == "y"
    assert config.value("CONFIG_HZ") == "250"
    assert config.arch() == "x86"


def test_make_value_is_what_kbuild_sees() -> None:
    config = parse_config('CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D="x"\n')
    assert [config.make_value(n) for n in ("A", "B", "C", "D", "E")] == ["y", "m", "", '"x"', ""]


def test_gzip_config_like_proc_config_gz(tmp_path: Path) -> None:
    path = tmp_path / "config.gz"
    path.write_bytes(gzip.compress(FIXTURE_CONFIG.read_bytes()))
    config = load_config(path)
    assert config.state("CONFIG_DM_SNAPSHOT") == "m"
    assert config.state("CONFIG_WIDGET") == "n"


def test_gzip_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "config-6.1.0-demo"
    path.write_bytes(gzip.compress(b"CONFIG_ARM64=y\n"))
    assert load_config(path).arch() == "arm64"


@pytest.mark.parametrize(
    ("text", "arch"),
    [
        ("CONFIG_X86_64=y\nCONFIG_X86=y\n", "x86"),
        ("CONFIG_X86_32=y\n", "x86"),
        ("CONFIG_ARM64=y\n", "arm64"),
        ("CONFIG_PPC=y\n", "powerpc"),
        ("# Linux/riscv 6.1.0 Kernel Configuration\nCONFIG_FOO=y\n", "riscv"),
        ("CONFIG_FOO=y\n", None),
    ],
)
def test_arch_from_config(text: str, arch: str | None) -> None:
    assert parse_config(text).arch() == arch


def test_missing_file_is_config_error_with_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope")
    assert "no such config file" in caught.value.message
    assert caught.value.hint is not None


def test_text_without_options_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(ConfigError, match="no CONFIG_ option"):
        load_config(path)


def test_broken_gzip_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ConfigError, match="does not decompress"):
        load_config(path)


def test_binary_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.o"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00CONFIG_A=y")
    with pytest.raises(ConfigError, match="binary"):
        load_config(path)

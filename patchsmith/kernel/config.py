"""Reading a kernel configuration: which options are y, m, n or hold a string.

The input is what users have at hand: a tree's ``.config``, a distribution's ``/boot/config-*``,
or the running kernel's ``/proc/config.gz`` copied somewhere (gzip is recognised by its magic
bytes, not by the name). ``# CONFIG_X is not set`` means n, exactly as Kconfig writes it.

Kbuild sees the config through ``include/config/auto.conf``, where options that are n are simply
absent: :meth:`KernelConfig.make_value` gives that view (an empty string for n and unset), which is
what the make evaluator in :mod:`patchsmith.kernel.makefile` substitutes for ``$(CONFIG_X)``.

A compressed config is decompressed by the patch reader (:mod:`patchsmith.patchfile.source`), with
the size limit a patch has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType

from patchsmith.errors import ConfigError, InputError
from patchsmith.patchfile.source import read_file
from patchsmith.paths import path_error
from patchsmith.record import record

# CONFIG_BLK_DEV_DM=m        CONFIG_LOCALVERSION="-cloud"        CONFIG_HZ=250
_ASSIGNMENT = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")

# # CONFIG_DM_DUST is not set
_NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set\s*$")

# # Linux/x86 6.1.192 Kernel Configuration       (the header Kconfig writes; a fallback for arch)
_HEADER_ARCH = re.compile(r"^# Linux/(\S+) \S+ Kernel Configuration")

# Options that name the architecture, most specific first; the value is the arch/ folder name
# (SRCARCH). x86_64 and i386 both build from arch/x86.
_ARCH_OPTIONS: tuple[tuple[str, str], ...] = (
    ("CONFIG_X86_64", "x86"),
    ("CONFIG_X86_32", "x86"),
    ("CONFIG_X86", "x86"),
    ("CONFIG_UML", "um"),
    ("CONFIG_ARM64", "arm64"),
    ("CONFIG_ARM", "arm"),
    ("CONFIG_PPC", "powerpc"),
    ("CONFIG_S390", "s390"),
    ("CONFIG_RISCV", "riscv"),
    ("CONFIG_MIPS", "mips"),
    ("CONFIG_LOONGARCH", "loongarch"),
    ("CONFIG_SPARC", "sparc"),
    ("CONFIG_PARISC", "parisc"),
    ("CONFIG_SUPERH", "sh"),
    ("CONFIG_M68K", "m68k"),
    ("CONFIG_ALPHA", "alpha"),
    ("CONFIG_IA64", "ia64"),
    ("CONFIG_ARC", "arc"),
    ("CONFIG_CSKY", "csky"),
    ("CONFIG_HEXAGON", "hexagon"),
    ("CONFIG_MICROBLAZE", "microblaze"),
    ("CONFIG_NIOS2", "nios2"),
    ("CONFIG_OPENRISC", "openrisc"),
    ("CONFIG_XTENSA", "xtensa"),
)

# The names the header line uses (Linux/x86, Linux/arm64, Linux/powerpc ...) mostly equal the
# folder names already; these are the exceptions seen in the wild.
_HEADER_ALIASES = {"x86_64": "x86", "i386": "x86", "amd64": "x86", "aarch64": "arm64"}


@record
class KernelConfig:
    """The options of one kernel configuration."""

    values: Mapping[str, str] = field(hash=False)
    """Option name (``CONFIG_BLK_DEV_DM``) to its value as written: ``y``, ``m``, ``n`` for
    ``# ... is not set``, a number, or a quoted string with its quotes."""
    source: str = "<config>"
    """Where it was read from, for messages."""
    header_arch: str | None = None
    """The arch named in the ``# Linux/x86 ... Kernel Configuration`` header, if there was one."""

    def value(self, name: str) -> str | None:
        """The value as written, ``None`` if the option is not mentioned at all."""
        return self.values.get(_full_name(name))

    def state(self, name: str) -> str:
        """``"y"``, ``"m"`` or ``"n"`` (unset and not-set both count as n); strings give ``"y"``."""
        value = self.values.get(_full_name(name))
        if value is None or value in ("n", ""):
            return "n"
        if value == "m":
            return "m"
        return "y"

    def make_value(self, name: str) -> str:
        """What ``$(CONFIG_X)`` expands to in a Kbuild file: the value, or empty for n."""
        value = self.values.get(_full_name(name))
        if value is None or value == "n":
            return ""
        return value

    def arch(self) -> str | None:
        """The arch/ folder this config builds (``x86`` for ``CONFIG_X86_64=y``), if it says."""
        for option, arch in _ARCH_OPTIONS:
            if self.state(option) == "y":
                return arch
        if self.header_arch is not None:
            return _HEADER_ALIASES.get(self.header_arch, self.header_arch)
        return None


def _full_name(name: str) -> str:
    return name if name.startswith("CONFIG_") else f"CONFIG_{name}"


def parse_config(text: str, source: str = "<config>") -> KernelConfig:
    """Read the text of a ``.config``. Raises :class:`ConfigError` if no option is found."""
    values: dict[str, str] = {}
    header_arch: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        match = _ASSIGNMENT.match(line)
        if match:
            values[match.group(1)] = match.group(2).strip()
            continue
        match = _NOT_SET.match(line)
        if match:
            values[match.group(1)] = "n"
            continue
        if header_arch is None:
            header = _HEADER_ARCH.match(line)
            if header:
                header_arch = header.group(1)
    if not values:
        raise ConfigError(
            f"{source}: no CONFIG_ option found; this is not a kernel configuration",
            hint="pass a .config, a /boot/config-* file or a copy of /proc/config.gz",
        )
    return KernelConfig(values=MappingProxyType(values), source=source, header_arch=header_arch)


def load_config(path: str | Path) -> KernelConfig:
    """Read a kernel config file, plain or compressed (a copy of ``/proc/config.gz``).

    The file is read and decompressed as a patch is (:func:`patchsmith.patchfile.source.
    read_file`): a stream with a size limit, so a decompression bomb or ``/dev/zero`` given as
    the config is refused instead of taking the machine's memory.

    Raises :class:`ConfigError` when the file is missing, unreadable, a folder, a broken or
    oversized compressed stream, binary, or holds no ``CONFIG_`` option.
    """
    path = Path(path)
    try:
        data = read_file(str(path), option=None).data
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file",
            hint="give the kernel's .config, /boot/config-$(uname -r) or a copy of /proc/config.gz",
        ) from None
    except OSError as error:
        raise path_error(f"{path}: cannot read the config", error, path, kind=ConfigError) from None
    except InputError as error:  # a damaged or oversized compressed stream
        raise ConfigError(error.message, hint=error.hint) from None
    if b"\x00" in data[:4096]:
        raise ConfigError(
            f"{path}: binary data, not a kernel config",
            hint="gzip, bzip2, xz and zstd are recognised; this is none of them",
        )
    return parse_config(data.decode("utf-8", "replace"), str(path))

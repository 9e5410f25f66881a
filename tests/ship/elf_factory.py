"""Small kernel-module-like ELF objects made at test time, for elfinfo, preflight and package.

Two ways, both giving a relocatable ELF with a ``.modinfo`` and a ``.comment`` section:

* :func:`compile_module` compiles a tiny C file with the local ``gcc -c`` (``-m32`` for ELF32),
  the ``.modinfo`` strings placed with ``__attribute__((section(".modinfo")))`` as the kernel's
  ``MODULE_INFO`` does, and ``.comment`` written by gcc itself;
* :func:`craft_module` writes the ELF by hand with :mod:`struct` (no toolchain needed), which is
  how a 2.6.16 module built by gcc 4.0 for a 686 is made up: any ``.comment`` text we like.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

EM_386 = 3
EM_X86_64 = 62

CLOUD_VERMAGIC = "6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions "
XEN_VERMAGIC = "2.6.16-xenU SMP 686 gcc-4.0"


def craft_module(
    path: Path,
    modinfo: Sequence[str],
    *,
    bits: int = 64,
    comment: Sequence[str] = ("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0",),
) -> Path:
    """Write a relocatable ELF (little-endian x86) with ``.modinfo`` and ``.comment``."""
    modinfo_data = b"".join(item.encode() + b"\0" for item in modinfo)
    comment_data = b"\0" + b"".join(item.encode() + b"\0" for item in comment)
    names = b"\0.modinfo\0.comment\0.shstrtab\0"
    sections = [
        (names.index(b".modinfo"), 1, 2, modinfo_data, 1, 0),  # PROGBITS, SHF_ALLOC
        (names.index(b".comment"), 1, 0x30, comment_data, 1, 1),  # PROGBITS, MERGE|STRINGS
        (names.index(b".shstrtab"), 3, 0, names, 1, 0),  # STRTAB
    ]
    is64 = bits == 64
    header_size = 64 if is64 else 52
    entry_size = 64 if is64 else 40
    body = b""
    offsets = []
    for _name, _type, _flags, data, _align, _entsize in sections:
        offsets.append(header_size + len(body))
        body += data
    while (header_size + len(body)) % 8:
        body += b"\0"
    section_offset = header_size + len(body)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1, 0]) + b"\0" * 8
    machine = EM_X86_64 if is64 else EM_386
    count = len(sections) + 1
    if is64:
        header = ident + struct.pack(
            "<HHIQQQIHHHHHH", 1, machine, 1, 0, 0, section_offset, 0, 64, 0, 0, 64, count, 3
        )
        table = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for (name, kind, flags, data, align, entsize), offset in zip(
            sections, offsets, strict=True
        ):
            table += struct.pack(
                "<IIQQQQIIQQ", name, kind, flags, 0, offset, len(data), 0, 0, align, entsize
            )
    else:
        header = ident + struct.pack(
            "<HHIIIIIHHHHHH", 1, machine, 1, 0, 0, section_offset, 0, 52, 0, 0, 40, count, 3
        )
        table = struct.pack("<IIIIIIIIII", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for (name, kind, flags, data, align, entsize), offset in zip(
            sections, offsets, strict=True
        ):
            table += struct.pack(
                "<IIIIIIIIII", name, kind, flags, 0, offset, len(data), 0, 0, align, entsize
            )
    assert len(header) == header_size
    assert len(table) == entry_size * count
    path.write_bytes(header + body + table)
    return path


def gcc_supports(bits: int) -> bool:
    """Whether ``gcc -c`` can make an object of this ELF class here."""
    if shutil.which("gcc") is None:
        return False
    flag = "-m32" if bits == 32 else "-m64"
    probe = subprocess.run(
        ["gcc", flag, "-x", "c", "-c", "-o", "/dev/null", "-"],
        input="int x;\n",
        text=True,
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def compile_module(
    path: Path, modinfo: Sequence[str], *, bits: int = 64, debug: bool = False
) -> Path:
    """Compile a ``.ko``-like object with gcc; ``.modinfo`` as the kernel's MODULE_INFO puts it
    (``debug``: with ``-g``, as a kernel built with CONFIG_DEBUG_INFO makes them)."""
    lines = ["/* made by tests/ship/elf_factory.py */"]
    for number, item in enumerate(modinfo):
        escaped = item.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(
            f"static const char modinfo_{number}[] "
            f'__attribute__((section(".modinfo"), used, aligned(1))) = "{escaped}";'
        )
    lines.append("int init_module(void) { return 0; }")
    source = path.with_suffix(".c")
    source.write_text("\n".join(lines) + "\n")
    subprocess.run(
        [
            "gcc",
            "-m32" if bits == 32 else "-m64",
            *(["-g"] if debug else []),
            "-c",
            "-o",
            str(path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return path


def fake_command(path: Path, text: str) -> Path:
    """An executable shell script (a fake gcc, make, modprobe ...)."""
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path

"""What a kernel module says about the kernel it was built for: ``.modinfo`` and ``.comment``.

A ``.ko`` is an ELF relocatable object. Its ``.modinfo`` section is a run of NUL-terminated
``key=value`` strings (``name=dm_mod``, ``depends=dm-bufio``, ``vermagic=6.1.0-56-cloud-amd64 SMP
preempt mod_unload modversions ``) and its ``.comment`` section holds one ``GCC: (Debian
12.2.0-14+deb12u1) 12.2.0`` string per object file that was linked in. The kernel refuses a module
whose vermagic differs from its own, so this is the ground truth preflight compares against.

Both ELF classes are read (a 2.6.16 Xen ``686`` module is ELF32), and compressed modules are
opened transparently: ``.ko.xz`` (Debian from 6.3 on), ``.ko.zst`` and ``.ko.gz``. Debian 12's
6.1 ``cloud-amd64`` image ships plain ``.ko`` files. Compression is recognised by magic bytes,
not by the name.

A signed module carries its signature after the ELF data, in the layout the kernel's
``module_signing.c`` checks (``include/linux/module_signature.h``)::

    ELF bytes | signature (sig_len bytes) | struct module_signature (12 bytes)
              | "~Module signature appended~\n"

The kernel looks only at the end of the file, so :func:`find_signature` does too: the marker
string elsewhere (in a module's ``.rodata``, say) is not a signature. A compressed module is
signed before it is compressed, so the signature is read from the decompressed bytes.

The ELF is read with pyelftools; a compressed module is decompressed by the patch reader
(:mod:`patchsmith.patchfile.source`), with the size limit a patch has.
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from patchsmith.errors import InputError
from patchsmith.patchfile.source import decompress, read_file
from patchsmith.paths import path_error
from patchsmith.record import record

# Module file names the kernel's module loader (and kmod) accept, longest suffix first.
MODULE_SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")

_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
_ELF_MAGIC = b"\x7fELF"

# GCC: (Debian 12.2.0-14+deb12u1) 12.2.0        GCC: (GNU) 4.0.3 (Debian 4.0.2-2)
# clang version 14.0.6                           Debian clang version 16.0.6 (15~deb12u1)
_COMPILER_VERSION = re.compile(r"(?:GCC: \([^)]*\) |clang version )(\d+(?:\.\d+)*)")

# The tail the module loader looks for (MODULE_SIG_STRING in include/linux/module_signature.h).
SIGNATURE_MARKER = b"~Module signature appended~\n"

# struct module_signature { u8 algo, hash, id_type, signer_len, key_id_len; u8 __pad[3];
# __be32 sig_len; }: the 12 bytes before the marker.
_SIGNATURE_INFO = struct.Struct(">BBBBB3xI")

# id_type values: PKCS#7 since 4.3 (sign-file writes nothing else); PGP and X.509 ids in 3.7-4.2.
SIGNATURE_KINDS = {0: "PGP", 1: "X.509", 2: "PKCS#7"}

# gcc-4.0   (the compiler token old kernels, up to 2.6.3x, put at the end of vermagic)
_VERMAGIC_GCC = re.compile(r"^gcc-(\d+\.\d+)$")


@record
class Vermagic:
    """A module's ``vermagic`` string, split the way the kernel composes it."""

    text: str
    """The string as stored, trailing space removed: ``6.1.0-56-cloud-amd64 SMP preempt
    mod_unload modversions``."""
    release: str
    """The first word: the ``UTS_RELEASE`` of the kernel it was built for (``uname -r``)."""
    flags: tuple[str, ...]
    """The words after the release, in order, without a ``gcc-X.Y`` word."""
    gcc: str | None
    """``4.0`` from a trailing ``gcc-4.0`` (kernels before 2.6.3x put it there); else ``None``."""

    @classmethod
    def parse(cls, text: str) -> Vermagic:
        words = text.split()
        if not words:
            return cls(text="", release="", flags=(), gcc=None)
        gcc: str | None = None
        flags: list[str] = []
        for word in words[1:]:
            match = _VERMAGIC_GCC.match(word)
            if match:
                gcc = match.group(1)
            else:
                flags.append(word)
        return cls(text=" ".join(words), release=words[0], flags=tuple(flags), gcc=gcc)


@record
class ModuleSignature:
    """The signature block appended to a module (see the module docstring for its layout)."""

    kind: str
    """``PKCS#7`` (every kernel since 4.3), ``PGP`` or ``X.509`` (3.7 to 4.2), or
    ``unknown id N``."""
    length: int
    """Bytes of signature data (``sig_len``; about 400 for an RSA-2048 PKCS#7 without certs)."""
    unsigned_size: int
    """The size of the module without the block: where the signature starts."""


def find_signature(data: bytes, source: str = "<module>") -> ModuleSignature | None:
    """The signature appended to a module's (uncompressed) bytes, or ``None`` when it has none.

    Raises :class:`InputError` when the file ends in the marker but the lengths before it do not
    fit in the file: a truncated or damaged signature is not "unsigned".
    """
    if not data.endswith(SIGNATURE_MARKER):
        return None
    info_end = len(data) - len(SIGNATURE_MARKER)
    info_start = info_end - _SIGNATURE_INFO.size
    if info_start < 0:
        raise InputError(
            f"{source}: ends in the signature marker but has no room for the signature header",
            hint="the module is truncated; copy it again",
        )
    _algo, _hash, id_type, signer_length, key_id_length, length = _SIGNATURE_INFO.unpack(
        data[info_start:info_end]
    )
    unsigned_size = info_start - length - signer_length - key_id_length
    if unsigned_size < len(_ELF_MAGIC) or not data.startswith(_ELF_MAGIC):
        raise InputError(
            f"{source}: damaged module signature (it claims {length} bytes of signature data, "
            f"more than the file holds)",
            hint="the module is truncated or damaged; copy it again or sign it again",
        )
    kind = SIGNATURE_KINDS.get(id_type, f"unknown id {id_type}")
    return ModuleSignature(kind=kind, length=length, unsigned_size=unsigned_size)


def strip_signature(data: bytes, source: str = "<module>") -> bytes:
    """The module's bytes without its signature block (the bytes themselves when unsigned)."""
    signature = find_signature(data, source)
    return data if signature is None else data[: signature.unsigned_size]


@record
class ModuleInfo:
    """The facts one ``.ko`` carries about itself and its build."""

    path: Path
    """The file read (compressed or not)."""
    elf_class: int
    """32 or 64: a 32-bit target needs a 32-bit build (and a CPU type in vermagic on x86)."""
    machine: str
    """pyelftools' ``e_machine`` name: ``EM_X86_64``, ``EM_386``, ``EM_AARCH64`` ..."""
    modinfo: Mapping[str, tuple[str, ...]] = field(hash=False)
    """Every ``.modinfo`` key with all its values in order (``alias`` and ``parm`` repeat)."""
    vermagic: Vermagic | None
    """Parsed ``vermagic=``; ``None`` if the section has none (not a kernel module)."""
    comments: tuple[str, ...]
    """The distinct ``.comment`` strings, in order of first appearance."""
    signature: ModuleSignature | None = None
    """The appended signature, if the module is signed."""
    compressed: bool = False
    """The file is xz, zstd or gzip (it must be signed before it is compressed)."""

    def first(self, key: str) -> str | None:
        """The first value of a ``.modinfo`` key, if present."""
        values = self.modinfo.get(key)
        return values[0] if values else None

    @property
    def name(self) -> str:
        """The name the kernel knows (``dm_mod``): ``name=``, else from the file name."""
        name = self.first("name")
        if name:
            return name
        return module_stem(self.path).replace("-", "_")

    @property
    def depends(self) -> tuple[str, ...]:
        """The modules this one needs loaded first (``depends=dm-bufio,dm-mod``)."""
        value = self.first("depends") or ""
        return tuple(item for item in value.split(",") if item)

    @property
    def srcversion(self) -> str | None:
        """modpost's checksum of the sources, when the module has one."""
        return self.first("srcversion")

    @property
    def compiler(self) -> str | None:
        """The first compiler string in ``.comment``: ``GCC: (Debian 12.2.0-14+deb12u1) 12.2.0``."""
        for comment in self.comments:
            if comment.startswith("GCC:") or "clang" in comment:
                return comment
        return self.comments[0] if self.comments else None

    @property
    def compiler_version(self) -> str | None:
        """The version number of :attr:`compiler` (``12.2.0``), else vermagic's ``gcc-X.Y``."""
        if self.compiler is not None:
            match = _COMPILER_VERSION.search(self.compiler)
            if match:
                return match.group(1)
        if self.vermagic is not None:
            return self.vermagic.gcc
        return None


def module_stem(path: Path) -> str:
    """``dm-mod`` for ``dm-mod.ko``, ``dm-mod.ko.xz`` and friends."""
    name = path.name
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def is_module_file(path: Path) -> bool:
    """Whether the name ends in one of :data:`MODULE_SUFFIXES`."""
    return path.name.endswith(MODULE_SUFFIXES)


def decompress_module(data: bytes, source: str = "<module>") -> bytes:
    """The ELF bytes of a module file, decompressing xz, zstd or gzip by magic bytes.

    Decompressed as a patch is (:func:`patchsmith.patchfile.source.decompress`): as a stream
    with a size limit, so a small file that expands without end is refused, not held.
    """
    if not data.startswith((_XZ_MAGIC, _ZSTD_MAGIC, _GZIP_MAGIC)):
        return data
    return decompress(data, source, option=None)[0]


def read_module(path: str | Path) -> ModuleInfo:
    """Read a module's ``.modinfo`` and ``.comment``.

    Raises :class:`InputError` when the file is missing, unreadable, a folder, cannot be
    decompressed (or decompresses past the size limit), or is not ELF. A valid ELF object
    without ``.modinfo`` gives ``vermagic=None`` (the caller decides whether that is an error).
    """
    path = Path(path)
    try:
        raw = read_file(str(path), option=None)
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such module file",
            hint="give a .ko from the target, e.g. /lib/modules/$(uname -r)/kernel/drivers/md/"
            "dm-mod.ko",
        ) from None
    except OSError as error:
        raise path_error(f"{path}: cannot read", error, path) from None
    if raw.compression == "bzip2":
        raise InputError(
            f"{path}: a bzip2-compressed file, not a kernel module",
            hint="the kernel loads .ko, .ko.xz, .ko.zst and .ko.gz modules; pass one of those",
        )
    info = parse_module(raw.data, path)
    if raw.compression is not None:
        info = dataclasses.replace(info, compressed=True)
    return info


def parse_module(data: bytes, path: Path) -> ModuleInfo:
    """:func:`read_module` on bytes already in memory (uncompressed ELF)."""
    if not data.startswith(_ELF_MAGIC):
        raise InputError(
            f"{path}: not an ELF file (a kernel module is an ELF object)",
            hint="pass a .ko, .ko.xz, .ko.zst or .ko.gz file",
        )
    try:
        elf = ELFFile(io.BytesIO(data))
        elf_class = int(elf.elfclass)
        machine = str(elf["e_machine"])
        modinfo_bytes = _section_bytes(elf, ".modinfo")
        comment_bytes = _section_bytes(elf, ".comment")
    except (ELFError, ValueError, KeyError, IndexError, OSError) as error:
        raise InputError(
            f"{path}: damaged ELF file: {error}",
            hint="copy the module from the target again",
        ) from None
    modinfo = _parse_modinfo(modinfo_bytes)
    vermagic_values = modinfo.get("vermagic")
    vermagic = Vermagic.parse(vermagic_values[0]) if vermagic_values else None
    comments: list[str] = []
    for item in _strings(comment_bytes):
        if item not in comments:
            comments.append(item)
    return ModuleInfo(
        path=path,
        elf_class=elf_class,
        machine=machine,
        modinfo=MappingProxyType(modinfo),
        vermagic=vermagic,
        comments=tuple(comments),
        signature=find_signature(data, str(path)),
    )


def _section_bytes(elf: ELFFile, name: str) -> bytes:
    section = elf.get_section_by_name(name)
    if section is None or section["sh_type"] == "SHT_NOBITS":
        return b""
    return bytes(section.data())


def _strings(data: bytes) -> list[str]:
    # Sections are runs of NUL-terminated strings; alignment padding gives empty ones.
    return [item.decode("utf-8", "replace").strip() for item in data.split(b"\x00") if item.strip()]


def _parse_modinfo(data: bytes) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    for raw in data.split(b"\x00"):
        if b"=" not in raw:
            continue
        key, _, value = raw.decode("utf-8", "replace").partition("=")
        # Older kernels prefix keys with the module name in some builds (``dm_mod.parm=``); keep
        # the key as written, preflight only needs the plain ones.
        values.setdefault(key.strip(), []).append(value)
    return {key: tuple(items) for key, items in values.items()}

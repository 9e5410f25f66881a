"""Ship the built modules: the module set every format shares, its manifest, and the ``.tgz``
with an install script.

:func:`collect_modules` reads the built ``.ko`` files once for every format: their release (from
vermagic; they must agree), the path each gets under ``lib/modules/RELEASE/SUBDIR/``, and, when a
:class:`~patchsmith.ship.signing.Signer` is given, a signed copy of each (the build's own files
are left as they are). With ``strip_debug`` the copies lose their debug information first, as
``make modules_install INSTALL_MOD_STRIP=1`` does (``strip --strip-debug``): the drivers/md
modules of a 6.1 cloud build go from 41.8 MB to 4.0 MB. A signature covers the whole file and
strip drops it, so a module the build signed is stripped only when it is signed again here. The
sha256 in the manifest is of the bytes shipped, signature included.

The ``.tgz`` holds one folder, ``NAME/``, so unpacking it never scatters files::

    NAME/install.sh                                   POSIX sh; run as ``sh -e install.sh``
    NAME/MANIFEST                                     path, sha256, vermagic per module (text)
    NAME/MANIFEST.json                                the same and more (see :class:`ModuleSet`)
    NAME/SHA256SUMS                                   for ``sha256sum -c`` (the script checks it)
    NAME/lib/modules/RELEASE/updates/drivers/md/dm-mod.ko

Modules go to ``updates/``, not ``extra/``: they *replace* modules the kernel package ships in
``kernel/``, and depmod's default search order (``search updates built-in``, Debian and others)
makes ``updates/`` win over ``kernel/`` for a module of the same name, whereas ``extra/`` ranks
after the built-in directories and would lose. A file of our own also never collides with the
kernel package's files: removing the fix is deleting it and running depmod.

The install script is :data:`INSTALL_SCRIPT` with the release and module list filled in, and
:data:`RELOAD_FUNCTIONS` (the safe unload and reload, shared with the Debian package's maintainer
scripts in :mod:`patchsmith.ship.debian`) pasted in. What it does is described at its top.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path, PurePosixPath
from typing import Any

from patchsmith import __version__
from patchsmith.errors import InputError, PatchsmithError
from patchsmith.paths import path_error, readable_folder
from patchsmith.record import record
from patchsmith.ship.elfinfo import ModuleInfo, read_module
from patchsmith.ship.signing import Signer, sign_module

DEFAULT_SUBDIR = "updates"
MANIFEST_FORMAT = "patchsmith-modules/1"

# Characters the scripts embed unquoted in a here-document line or in single quotes: a release
# (6.1.0-56-cloud-amd64, 2.6.16-xenU), a path in the package, a module name, a srcversion.
SAFE_RELEASE = re.compile(r"^[A-Za-z0-9._+~-]+$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._+~/,-]+$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_SAFE_SUBDIR = re.compile(r"^[A-Za-z0-9._-]+$")


@record
class ResolutionNote:
    """How one hunk of the session was settled: what a reviewer traces a package back by."""

    hunk: str
    """The hunk's id as the report shows it (``drivers/md/dm.c#3``)."""
    status: str
    """Its predicted status (``conflict``, ``fuzz`` ...)."""
    resolution: str
    """``accepted``, ``edited``, ``upstream``, ``dropped`` (or ``reused`` from memory)."""
    reason: str | None
    by: str | None
    at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "hunk": self.hunk,
            "status": self.status,
            "resolution": self.resolution,
            "reason": self.reason,
            "by": self.by,
            "at": self.at,
        }


@record
class Provenance:
    """Where the modules come from. Given by the caller (the CLI reads the session); the kernel
    package never reads a session itself."""

    patch_name: str | None = None
    patch_sha256: str | None = None
    sub_release: str | None = None
    """The upstream sub-release the patch brings (``6.1.187``), when known."""
    commit: str | None = None
    """The session branch's commit the modules were built from."""
    counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    """Hunks by status and by resolution (the report's summary counts)."""
    resolutions: tuple[ResolutionNote, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "patch": {"name": self.patch_name, "sha256": self.patch_sha256},
            "sub_release": self.sub_release,
            "commit": self.commit,
            "counts": dict(self.counts),
            "resolutions": [note.to_json() for note in self.resolutions],
        }


@record
class PackagedModule:
    """One module in the package."""

    source: Path
    """The file whose bytes are shipped: the build's own, or a signed copy made for packaging
    (which lives only while the package is written)."""
    built: Path
    """The build's file."""
    path: str
    """Its path inside the package: ``lib/modules/RELEASE/updates/drivers/md/dm-mod.ko``."""
    relative: str
    """Its path below the build tree (``drivers/md/dm-mod.ko``): where DKMS finds it too."""
    name: str
    """The name the kernel knows it by (``dm_mod``): what ``/proc/modules`` and rmmod use."""
    sha256: str
    size: int
    vermagic: str
    srcversion: str | None
    depends: tuple[str, ...]
    compiler: str | None
    signed: bool
    """It carries a signature (made now, or already by the build)."""

    @property
    def stem(self) -> str:
        """The file name without ``.ko``: ``dm-mod`` (what DKMS calls BUILT_MODULE_NAME)."""
        return PurePosixPath(self.relative).name.removesuffix(".ko")

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "vermagic": self.vermagic,
            "srcversion": self.srcversion,
            "depends": list(self.depends),
            "compiler": self.compiler,
            "signed": self.signed,
        }


@record
class ModuleSet:
    """The modules of one build, ready for any format."""

    release: str
    subdir: str
    modules: tuple[PackagedModule, ...]
    machine: str
    """pyelftools' ``e_machine`` of the modules (``EM_X86_64``): the package architecture."""
    elf_class: int
    signer: Signer | None = None
    provenance: Provenance | None = None
    debug_stripped: bool = False
    """The modules were shipped without their debug information (``strip --strip-debug``)."""

    @property
    def compilers(self) -> tuple[str, ...]:
        return tuple(sorted({m.compiler for m in self.modules if m.compiler}))

    @property
    def vermagics(self) -> tuple[str, ...]:
        return tuple(sorted({m.vermagic for m in self.modules}))

    def manifest_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "generator": f"patchsmith {__version__}",
            "release": self.release,
            "subdir": self.subdir,
            "vermagic": list(self.vermagics),
            "compiler": list(self.compilers),
            "signing": self.signer.manifest_json() if self.signer else None,
            "debug_stripped": self.debug_stripped,
            "modules": [module.to_json() for module in self.modules],
        }
        provenance = self.provenance or Provenance()
        document.update(provenance.to_json())
        return document


@record
class PackageResult:
    """What a ``package_*`` function wrote."""

    format: str
    """``tgz``, ``deb``, ``dkms`` or ``dkms-deb``."""
    output: Path
    """The ``.tgz`` or ``.deb`` file, or the DKMS source folder."""
    name: str
    """The folder in the ``.tgz``, the Debian package name, or the DKMS module name."""
    version: str | None
    """The Debian or DKMS version; ``None`` for a ``.tgz``."""
    module_set: ModuleSet

    @property
    def modules(self) -> tuple[PackagedModule, ...]:
        return self.module_set.modules

    @property
    def archive(self) -> Path:
        return self.output

    @property
    def folder(self) -> str:
        return self.name

    @property
    def release(self) -> str:
        return self.module_set.release

    @property
    def subdir(self) -> str:
        return self.module_set.subdir

    def manifest_json(self) -> dict[str, Any]:
        return self.module_set.manifest_json()

    def to_json(self) -> dict[str, Any]:
        document = self.manifest_json()
        document["package"] = {
            "format": self.format,
            "output": str(self.output),
            "name": self.name,
            "version": self.version,
        }
        document["archive"] = str(self.output)
        document["folder"] = self.name
        return document


def collect_modules(
    modules: Sequence[str | Path],
    *,
    base: str | Path | None = None,
    release: str | None = None,
    subdir: str = DEFAULT_SUBDIR,
    signer: Signer | None = None,
    staging: Path | None = None,
    provenance: Provenance | None = None,
    strip_debug: bool = False,
) -> ModuleSet:
    """Read, check and (with ``strip_debug``) strip and (with ``signer``) sign copies of the
    built modules.

    ``base`` is the tree the modules were built in: a module keeps its path below it
    (``drivers/md/dm-mod.ko``); without it (or outside it) only the file name is kept. Signed
    copies go to ``staging`` (required with a signer or ``strip_debug``). The release comes from
    the modules' vermagic (they must agree) unless given. Raises :class:`InputError` for a file
    that is not a module, modules for different releases or machines, two modules landing on the
    same path, a compressed module to sign, a signed module to strip without a signer (stripping
    drops the signature), ``strip`` missing or failing, or a name the scripts cannot carry
    safely.
    """
    if not modules:
        raise InputError(
            "nothing to package: no module given",
            hint="run patchsmith build first, or pass the .ko files",
        )
    if not _SAFE_SUBDIR.match(subdir):
        raise InputError(f"--subdir {subdir!r}: use a plain folder name such as updates or extra")
    if base is not None:
        readable_folder(base, f"--base {base}", hint="pass the tree the modules were built in")
    infos = [read_module(path) for path in modules]
    for info in infos:
        if info.vermagic is None:
            raise InputError(
                f"{info.path}: no vermagic in .modinfo; not a kernel module",
                hint="package the .ko files the build made, not .o files",
            )
    releases = sorted({info.vermagic.release for info in infos if info.vermagic is not None})
    if release is None:
        if len(releases) != 1:
            raise InputError(
                f"the modules were built for different kernels: {', '.join(releases)}",
                hint="package the modules of one build at a time",
            )
        release = releases[0]
    elif releases != [release]:
        raise InputError(
            f"the modules were built for {', '.join(releases)}, not {release}",
            hint="package for the release in their vermagic (check with patchsmith preflight)",
        )
    if not SAFE_RELEASE.match(release):
        raise InputError(f"release {release!r} holds characters the install script cannot carry")
    machines = sorted({(info.machine, info.elf_class) for info in infos})
    if len(machines) != 1:
        raise InputError(
            "the modules were built for different machines: "
            + ", ".join(f"{machine} ({bits}-bit)" for machine, bits in machines),
            hint="package the modules of one build at a time",
        )
    if (signer is not None or strip_debug) and staging is None:
        raise InputError("signing and stripping need a staging directory for the copies")
    strip = _strip_program() if strip_debug else None
    if strip_debug and signer is None:
        signed_already = [info.path for info in infos if info.signature is not None]
        if signed_already:
            raise InputError(
                f"{signed_already[0]} is signed, and stripping its debug information would "
                f"drop the signature ({len(signed_already)} signed module(s))",
                hint="pass --sign-key and --sign-cert to sign the stripped copies, or package "
                "without --strip-debug",
            )
    base_path = Path(base).resolve() if base is not None else None
    packaged: list[PackagedModule] = []
    seen: dict[str, Path] = {}
    for info in infos:
        relative = _relative_path(info, base_path)
        path = f"lib/modules/{release}/{subdir}/{relative}"
        if path in seen:
            raise InputError(
                f"{info.path} and {seen[path]} would both be installed as {path}",
                hint="package modules from one tree, with --base set to it",
            )
        seen[path] = info.path
        if not _SAFE_PATH.match(path) or not _SAFE_NAME.match(info.name):
            raise InputError(
                f"{info.path}: its name or path holds characters the install script cannot carry"
            )
        if not relative.endswith(".ko"):
            raise InputError(
                f"{info.path}: a compressed module cannot be packaged as it is",
                hint="package the .ko files the build made (compression is the target's business)",
            )
        source = info.path
        signed = info.signature is not None
        if (signer is not None or strip is not None) and staging is not None:
            source = staging / relative
            source.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(info.path, source)
            if strip is not None:
                _strip_debug(strip, source, info.path)
                signed = False
            if signer is not None:
                sign_module(source, signer)
                signed = True
        data = source.read_bytes()
        srcversion = info.srcversion
        if srcversion is not None and not _SAFE_NAME.match(srcversion):
            srcversion = None
        assert info.vermagic is not None
        packaged.append(
            PackagedModule(
                source=source,
                built=info.path,
                path=path,
                relative=relative,
                name=info.name,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                vermagic=info.vermagic.text,
                srcversion=srcversion,
                depends=info.depends,
                compiler=info.compiler,
                signed=signed,
            )
        )
    packaged.sort(key=lambda module: module.path)
    machine, elf_class = machines[0]
    return ModuleSet(
        release=release,
        subdir=subdir,
        modules=tuple(packaged),
        machine=machine,
        elf_class=elf_class,
        signer=signer,
        provenance=provenance,
        debug_stripped=strip is not None,
    )


def _strip_program() -> str:
    found = shutil.which("strip")
    if found is None:
        raise InputError(
            "--strip-debug needs strip (binutils), which is not installed",
            hint="install binutils (apt install binutils), or package without --strip-debug",
        )
    return found


def _strip_debug(strip: str, copy: Path, built: Path) -> None:
    """``strip --strip-debug`` on the copy, as ``INSTALL_MOD_STRIP=1`` runs it: symbols and
    the sections the kernel loads stay; only debug information goes."""
    done = subprocess.run(
        [strip, "--strip-debug", str(copy)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if done.returncode != 0:
        raise InputError(
            f"{built}: strip --strip-debug failed: {done.stderr.strip() or done.returncode}",
            hint="package without --strip-debug, or check the module with readelf -S",
        )


def package_modules(
    modules: Sequence[str | Path],
    output: str | Path,
    *,
    base: str | Path | None = None,
    release: str | None = None,
    subdir: str = DEFAULT_SUBDIR,
    folder: str | None = None,
    mtime: int | None = None,
    signer: Signer | None = None,
    provenance: Provenance | None = None,
    strip_debug: bool = False,
) -> PackageResult:
    """Write the ``.tgz`` (``output`` is the file, or an existing directory to write
    ``FOLDER.tgz`` into). See :func:`collect_modules` for the other arguments and errors."""
    with tempfile.TemporaryDirectory(prefix="patchsmith-package-") as scratch:
        module_set = collect_modules(
            modules,
            base=base,
            release=release,
            subdir=subdir,
            signer=signer,
            staging=Path(scratch),
            provenance=provenance,
            strip_debug=strip_debug,
        )
        folder = folder or f"patchsmith-modules-{module_set.release}"
        if not SAFE_RELEASE.match(folder):
            raise InputError(f"folder name {folder!r}: use letters, digits and . _ + ~ -")
        archive = Path(output)
        if archive.is_dir():
            archive = archive / f"{folder}.tgz"
        result = PackageResult(
            format="tgz", output=archive, name=folder, version=None, module_set=module_set
        )
        _write_archive(result, int(time.time()) if mtime is None else mtime)
    return result


def render_manifest(module_set: ModuleSet) -> str:
    """The text ``MANIFEST``: one module a line, tab-separated path, sha256 and vermagic."""
    lines = [
        f"# patchsmith {__version__}: modules for Linux {module_set.release}",
        "# path\tsha256\tvermagic",
    ]
    lines.extend(f"{m.path}\t{m.sha256}\t{m.vermagic}" for m in module_set.modules)
    return "\n".join(lines) + "\n"


def render_sha256sums(module_set: ModuleSet) -> str:
    return "".join(f"{m.sha256}  {m.path}\n" for m in module_set.modules)


def module_rows(module_set: ModuleSet) -> str:
    """The scripts' module list: name, path in the package, srcversion (``-`` when none)."""
    return "\n".join(f"{m.name} {m.path} {m.srcversion or '-'}" for m in module_set.modules)


def render_install_script(module_set: ModuleSet) -> str:
    """``install.sh`` with this package's release and modules filled in."""
    return (
        INSTALL_SCRIPT.replace("@FUNCTIONS@", RELOAD_FUNCTIONS.strip("\n"))
        .replace("@VERSION@", __version__)
        .replace("@RELEASE@", module_set.release)
        .replace("@SUBDIR@", module_set.subdir)
        .replace("@MODULES@", module_rows(module_set))
    )


def read_manifest(archive: str | Path) -> dict[str, Any]:
    """The ``MANIFEST.json`` of a ``.tgz`` package (for checks and tests)."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith("/MANIFEST.json") and member.name.count("/") == 1:
                handle = tar.extractfile(member)
                if handle is not None:
                    document: dict[str, Any] = json.loads(handle.read().decode("utf-8"))
                    return document
    raise InputError(f"{archive}: no MANIFEST.json; not a patchsmith module package")


def _relative_path(info: ModuleInfo, base: Path | None) -> str:
    if base is not None:
        try:
            return info.path.resolve().relative_to(base).as_posix()
        except ValueError:
            pass
    return PurePosixPath(info.path.name).as_posix()


def _write_archive(result: PackageResult, mtime: int) -> None:
    module_set = result.module_set
    if result.output.exists() and not result.output.is_file():
        # The archive is written beside and renamed over: run as root with -o /dev/null, that
        # would replace the device with a file.
        raise InputError(
            f"{result.output}: not a regular file",
            hint="name a .tgz file, or a folder to write it in",
        )
    try:
        result.output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cannot_write(result.output, error) from None
    texts = {
        "install.sh": (render_install_script(module_set), 0o755),
        "MANIFEST": (render_manifest(module_set), 0o644),
        "MANIFEST.json": (json.dumps(module_set.manifest_json(), indent=2) + "\n", 0o644),
        "SHA256SUMS": (render_sha256sums(module_set), 0o644),
    }
    folders: set[str] = set()
    for module in module_set.modules:
        parts = PurePosixPath(module.path).parts[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]))
    temporary = result.output.with_name(result.output.name + ".part")
    try:
        with tarfile.open(temporary, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_member(result.name, mtime, 0o755, directory=True))
            for name, (text, mode) in texts.items():
                data = text.encode("utf-8")
                tar.addfile(
                    _member(f"{result.name}/{name}", mtime, mode, size=len(data)),
                    io.BytesIO(data),
                )
            for folder in sorted(folders):
                tar.addfile(_member(f"{result.name}/{folder}", mtime, 0o755, directory=True))
            for module in module_set.modules:
                data = module.source.read_bytes()
                tar.addfile(
                    _member(f"{result.name}/{module.path}", mtime, 0o644, size=len(data)),
                    io.BytesIO(data),
                )
        temporary.replace(result.output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _cannot_write(result.output, error) from None


def _cannot_write(output: Path, error: OSError) -> PatchsmithError:
    return path_error(
        f"{output}: cannot write the package",
        error,
        output,
        hint="pass -o FILE or -o FOLDER somewhere you may write",
    )


def _member(
    name: str, mtime: int, mode: int, *, size: int = 0, directory: bool = False
) -> tarfile.TarInfo:
    # root:root and a fixed time: the same modules give the same archive.
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


# The safe unload and reload, shared by install.sh and the Debian package's postinst/postrm.
# POSIX sh (dash, busybox ash), shellcheck-clean, safe under set -e. The caller sets:
#   PROGRAM (for messages), PROC_MODULES, SYS_MODULE, prefix (an install root, or empty for /),
#   RELEASE, dry_run (0/1) and would ('would ' or empty).
# Functions use variables named _like_this (POSIX sh has no local variables).
RELOAD_FUNCTIONS = r"""
say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROGRAM" "$*" >&2; }

# Fields of a module's line in /proc/modules: "dm_mod 184320 3 dm_snapshot,dm_bufio, Live 0x0".
proc_line() {
	if [ -r "$PROC_MODULES" ]; then awk -v m="$1" '$1 == m { print; exit }' "$PROC_MODULES"; fi
}
refcount_of() { proc_line "$1" | awk '{ print $3 }'; }
holders_of() { proc_line "$1" | awk '{ if ($4 != "-") { gsub(/,/, " ", $4); print $4 } }'; }
running_srcversion() {
	if [ -r "$SYS_MODULE/$1/srcversion" ]; then cat "$SYS_MODULE/$1/srcversion"; fi
}

# Why the modules listed in $1 cannot all be unloaded together (empty when they can): a holder
# outside the list, or references that are not from listed modules (open devices, mounts).
busy_report() {
	_busy=
	for _name in $1; do
		_outside=$(refcount_of "$_name")
		case $_outside in '' | *[!0-9]*) _outside=1 ;; esac
		for _holder in $(holders_of "$_name"); do
			_outside=$((_outside - 1))
			case " $1 " in
			*" $_holder "*) ;;
			*) _busy="$_busy
  $_name is used by $_holder, which this package does not replace" ;;
			esac
		done
		if [ "$_outside" -gt 0 ]; then
			_busy="$_busy
  $_name is in use: refcount $(refcount_of "$_name"), $_outside not from packaged modules"
			_busy="$_busy (open devices, mounts, device-mapper tables)"
		fi
	done
	printf '%s' "$_busy"
}

# The modules listed in $1 in unload order (a module after every listed module that uses it);
# fails when the holders form a cycle.
unload_order() {
	_remaining=$1
	_order=
	while [ -n "$_remaining" ]; do
		_next=
		_moved=0
		for _name in $_remaining; do
			_blocked=0
			for _holder in $(holders_of "$_name"); do
				case " $_remaining " in
				*" $_holder "*) [ "$_holder" = "$_name" ] || _blocked=1 ;;
				esac
			done
			if [ "$_blocked" = 0 ]; then
				_order="$_order $_name"
				_moved=1
			else
				_next="$_next $_name"
			fi
		done
		[ "$_moved" = 1 ] || return 1
		_remaining=$_next
	done
	printf '%s' "$_order"
}

run_modprobe() {
	if [ -n "$prefix" ]; then modprobe -d "$prefix" "$1"; else modprobe "$1"; fi
}
run_depmod() {
	if [ -n "$prefix" ]; then depmod -b "$prefix" -a "$RELEASE"; else depmod -a "$RELEASE"; fi
}

# Unload the modules listed in $1, in that order; every one unloaded is added to $unloaded.
# Stops at the first rmmod that fails (the caller loads back what was unloaded).
unloaded=
unload_modules() {
	for _name in $1; do
		say "${would}unload $_name"
		if [ "$dry_run" = 0 ]; then
			if ! rmmod "$_name"; then
				warn "rmmod $_name failed"
				return 1
			fi
		fi
		unloaded="$unloaded $_name"
	done
}

# Load what unload_modules unloaded, the last unloaded first; say what did not load.
load_unloaded() {
	_reversed=
	for _name in $unloaded; do _reversed="$_name $_reversed"; done
	unloaded=
	_failed=
	for _name in $_reversed; do
		say "${would}load $_name"
		if [ "$dry_run" = 0 ]; then
			run_modprobe "$_name" || _failed="$_failed $_name"
		fi
	done
	if [ -n "$_failed" ]; then
		warn "could not load:$_failed (the running kernel is without them:" \
			"load them with modprobe, or reboot)"
		return 1
	fi
	return 0
}
"""

# The install script. Placeholders: @VERSION@ @RELEASE@ @SUBDIR@ @FUNCTIONS@ @MODULES@ (one
# module a line: name, path in the package, srcversion or -). Kept here, not in a data file, so an
# installed patchsmith always has it. It must stay POSIX sh (dash, busybox ash), safe under sh -e,
# and shellcheck-clean (tests/ship/test_package.py runs shellcheck when it is installed).
INSTALL_SCRIPT = r"""#!/bin/sh
# Install kernel modules built by patchsmith @VERSION@ for Linux @RELEASE@.
#
#   sh -e install.sh [--dry-run] [--root DIR] [--reload | --no-reload]
#
# What it does, in this order, and what a careful admin would do by hand:
#   1. checks the files against SHA256SUMS;
#   2. for each packaged module that is loaded and not already this build: makes sure nothing but
#      other packaged modules uses it (/proc/modules refcount and holders); if something does, it
#      stops before changing anything and says what holds it;
#   3. unloads those modules (users first), installs the files under
#      lib/modules/@RELEASE@/@SUBDIR@/ (updates/ wins over the kernel's own modules in depmod's
#      search order), runs depmod, and loads again what it unloaded;
#   4. says what it did. A second run changes nothing.
# If anything fails after a module was unloaded (an rmmod, a copy, depmod), it loads again what
# it unloaded, says so, and exits 1.
#
# --root DIR installs into DIR (an image, a chroot, a test sandbox) and then does not touch the
# running kernel unless --reload is given. --no-reload installs for the next boot only.
# rmmod, modprobe and depmod are found on PATH. The kernel files it reads can be replaced (tests
# do): PROC_MODULES (default /proc/modules), SYS_MODULE (default /sys/module).
set -e

PROGRAM=install.sh
RELEASE='@RELEASE@'
SUBDIR='@SUBDIR@'

# name  path-in-package  srcversion (- when the module has none)
modules() {
	cat <<'PATCHSMITH_MODULES'
@MODULES@
PATCHSMITH_MODULES
}

@FUNCTIONS@

die() {
	warn "$*"
	exit 1
}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

dry_run=0
root=/
reload=auto
while [ $# -gt 0 ]; do
	case $1 in
	-n | --dry-run) dry_run=1 ;;
	--root)
		[ $# -ge 2 ] || die "--root needs a directory"
		root=$2
		shift
		;;
	--root=*) root=${1#--root=} ;;
	--reload) reload=yes ;;
	--no-reload) reload=no ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
	shift
done

PROC_MODULES=${PROC_MODULES:-/proc/modules}
SYS_MODULE=${SYS_MODULE:-/sys/module}

here=$(cd "$(dirname "$0")" && pwd)
[ -d "$root" ] || die "--root $root: no such directory"
prefix=$(cd "$root" && pwd)
[ "$prefix" = / ] && prefix=
if [ "$reload" = auto ]; then
	if [ -z "$prefix" ]; then reload=yes; else reload=no; fi
fi
if [ "$dry_run" = 1 ]; then would='would '; else would=; fi

# 1. The files are what the package says they are.
if command -v sha256sum >/dev/null 2>&1; then
	sums=$(cd "$here" && sha256sum -c SHA256SUMS 2>&1) || die "checksum mismatch (damaged):
$sums"
else
	say "sha256sum not found: checksums not verified"
fi

same_file() {
	[ -f "$2" ] || return 1
	if command -v cmp >/dev/null 2>&1; then
		cmp -s "$1" "$2"
	else
		[ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]
	fi
}

[ -r "$PROC_MODULES" ] || say "$PROC_MODULES not readable: treating every module as not loaded"

# 2. Which loaded modules must be replaced, and is anything else holding them?
replace=
changed=0
unchanged=0
while read -r name path srcversion; do
	[ -n "$name" ] || continue
	if same_file "$here/$path" "$prefix/$path"; then
		unchanged=$((unchanged + 1))
		fresh=1
	else
		changed=$((changed + 1))
		fresh=0
	fi
	[ -n "$(proc_line "$name")" ] || continue
	running=$(running_srcversion "$name")
	# Unchanged file and the running module is this build (or cannot tell): leave it loaded.
	if [ "$fresh" = 1 ]; then
		if [ "$srcversion" = - ] || [ -z "$running" ] || [ "$running" = "$srcversion" ]; then
			continue
		fi
	fi
	replace="$replace $name"
done <<EOF
$(modules)
EOF

order=
if [ "$reload" = yes ] && [ -n "$replace" ]; then
	busy=$(busy_report "$replace")
	if [ -n "$busy" ]; then
		say "stopped: modules to replace are in use; nothing was changed:$busy"
		say "stop their users and run again, or install for the next boot with --no-reload"
		exit 1
	fi
	order=$(unload_order "$replace") || die "cannot order the unload of:$replace"
fi

# From the first unload on, any failure loads again what was unloaded and says so.
installed=0
finish() {
	status=$1
	if [ "$status" != 0 ] && [ "$dry_run" = 0 ]; then
		if [ "$installed" = 0 ]; then
			warn "failed before any module file was installed"
		else
			warn "failed after installing $installed module files; run install.sh again to finish"
		fi
		if [ -n "$unloaded" ]; then
			warn "loading again what was unloaded:$unloaded"
			if load_unloaded; then warn "loaded again: the running kernel has its modules back"; fi
		fi
	fi
	exit "$status"
}
trap 'finish "$?"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 3. Unload, install, depmod, load.
unload_modules "$order" || exit 1

while read -r name path srcversion; do
	[ -n "$name" ] || continue
	target="$prefix/$path"
	if same_file "$here/$path" "$target"; then
		say "unchanged $target"
		continue
	fi
	say "${would}install $target"
	if [ "$dry_run" = 0 ]; then
		mkdir -p "$(dirname "$target")"
		cp "$here/$path" "$target.patchsmith-new"
		chmod 644 "$target.patchsmith-new"
		mv -f "$target.patchsmith-new" "$target"
		installed=$((installed + 1))
	fi
done <<EOF
$(modules)
EOF

# depmod when files changed, or when its index does not list them yet (a run that stopped early).
need_depmod=$changed
dep_index="$prefix/lib/modules/$RELEASE/modules.dep"
while read -r name path srcversion; do
	[ -n "$name" ] || continue
	entry=${path#lib/modules/"$RELEASE"/}
	grep -q "^$entry:" "$dep_index" 2>/dev/null || need_depmod=1
done <<EOF
$(modules)
EOF
if [ "$need_depmod" != 0 ]; then
	say "${would}run depmod -a $RELEASE${prefix:+ (root $prefix)}"
	if [ "$dry_run" = 0 ]; then
		run_depmod || die "depmod failed"
	fi
else
	say "depmod: index already current"
fi

# The files are in place: from here a module that does not load is reported, not rolled back.
trap - EXIT INT TERM
reloaded=$unloaded
load_unloaded || exit 1

# 4. What happened.
total=$((changed + unchanged))
if [ "$dry_run" = 1 ]; then
	say "dry run: $changed of $total module files would be installed, nothing was changed"
elif [ "$changed" = 0 ] && [ -z "$order" ] && [ "$need_depmod" = 0 ]; then
	say "nothing to do: all $total modules already installed"
else
	say "done: installed $changed of $total module files in $prefix/lib/modules/$RELEASE/$SUBDIR"
	[ -z "$reloaded" ] || say "reloaded:$reloaded"
fi
if [ "$reload" = no ] && [ -n "$replace" ]; then
	say "not reloaded (--no-reload or --root): the running kernel still has the old$replace"
fi
"""

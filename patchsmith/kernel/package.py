"""Ship the built modules: a ``.tgz`` laid out like the target's ``/lib/modules``, a manifest and
an install script.

The archive holds one folder, ``NAME/``, so unpacking it never scatters files::

    NAME/install.sh                                   POSIX sh; run as ``sh -e install.sh``
    NAME/MANIFEST                                     path, sha256, vermagic per module (text)
    NAME/MANIFEST.json                                the same and more (name, srcversion, ...)
    NAME/SHA256SUMS                                   for ``sha256sum -c`` (the script checks it)
    NAME/lib/modules/RELEASE/updates/drivers/md/dm-mod.ko

Modules go to ``updates/``, not ``extra/``: they *replace* modules the kernel package ships in
``kernel/``, and depmod's default search order (``search updates built-in``, Debian and others)
makes ``updates/`` win over ``kernel/`` for a module of the same name, whereas ``extra/`` ranks
after the built-in directories and would lose. A file of our own also never collides with the
kernel package's files: removing the fix is deleting it and running depmod.

The install script is generated from :data:`INSTALL_SCRIPT` with the release and module list
filled in; what it does is described at its top. Depends on :mod:`patchsmith.kernel.elfinfo` and
:mod:`patchsmith.errors`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from patchsmith import __version__
from patchsmith.errors import InputError
from patchsmith.kernel.elfinfo import ModuleInfo, read_module
from patchsmith.record import record

DEFAULT_SUBDIR = "updates"

# Characters the script embeds unquoted in a here-document line or in single quotes: a release
# (6.1.0-56-cloud-amd64, 2.6.16-xenU), a path in the package, a module name, a srcversion.
_SAFE_RELEASE = re.compile(r"^[A-Za-z0-9._+~-]+$")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._+~/,-]+$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_SAFE_SUBDIR = re.compile(r"^[A-Za-z0-9._-]+$")


@record
class PackagedModule:
    """One module in the package."""

    source: Path
    """The built file."""
    path: str
    """Its path inside the package folder: ``lib/modules/RELEASE/updates/drivers/md/dm-mod.ko``."""
    name: str
    """The name the kernel knows it by (``dm_mod``): what ``/proc/modules`` and rmmod use."""
    sha256: str
    vermagic: str
    srcversion: str | None
    depends: tuple[str, ...]
    compiler: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "sha256": self.sha256,
            "vermagic": self.vermagic,
            "srcversion": self.srcversion,
            "depends": list(self.depends),
            "compiler": self.compiler,
        }


@record
class PackageResult:
    """What :func:`package_modules` wrote."""

    archive: Path
    """The ``.tgz``."""
    folder: str
    """The one top-level folder inside it."""
    release: str
    subdir: str
    modules: tuple[PackagedModule, ...]

    def manifest_json(self) -> dict[str, Any]:
        return {
            "format": "patchsmith-modules/1",
            "generator": f"patchsmith {__version__}",
            "release": self.release,
            "subdir": self.subdir,
            "modules": [module.to_json() for module in self.modules],
        }

    def to_json(self) -> dict[str, Any]:
        document = self.manifest_json()
        document["archive"] = str(self.archive)
        document["folder"] = self.folder
        return document


def package_modules(
    modules: Sequence[str | Path],
    output: str | Path,
    *,
    base: str | Path | None = None,
    release: str | None = None,
    subdir: str = DEFAULT_SUBDIR,
    folder: str | None = None,
    mtime: int | None = None,
) -> PackageResult:
    """Write the ``.tgz`` (``output`` is the file, or an existing directory to write
    ``FOLDER.tgz`` into). ``base`` is the tree the modules were built in: a module keeps its path
    below it (``drivers/md/dm-mod.ko``); without it (or outside it) only the file name is kept.

    The release comes from the modules' vermagic (they must agree) unless given. Raises
    :class:`InputError` for a file that is not a module, modules for different releases, two
    modules landing on the same path, or a name the install script cannot carry safely.
    """
    if not modules:
        raise InputError(
            "nothing to package: no module given",
            hint="run patchsmith build first, or pass the .ko files",
        )
    if not _SAFE_SUBDIR.match(subdir):
        raise InputError(f"--subdir {subdir!r}: use a plain folder name such as updates or extra")
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
    if not _SAFE_RELEASE.match(release):
        raise InputError(f"release {release!r} holds characters the install script cannot carry")
    base_path = Path(base).resolve() if base is not None else None
    folder = folder or f"patchsmith-modules-{release}"
    if not _SAFE_RELEASE.match(folder):
        raise InputError(f"folder name {folder!r}: use letters, digits and . _ + ~ -")
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
        data = info.path.read_bytes()
        srcversion = info.srcversion
        if srcversion is not None and not _SAFE_NAME.match(srcversion):
            srcversion = None
        assert info.vermagic is not None
        packaged.append(
            PackagedModule(
                source=info.path,
                path=path,
                name=info.name,
                sha256=hashlib.sha256(data).hexdigest(),
                vermagic=info.vermagic.text,
                srcversion=srcversion,
                depends=info.depends,
                compiler=info.compiler,
            )
        )
    packaged.sort(key=lambda module: module.path)
    archive = Path(output)
    if archive.is_dir():
        archive = archive / f"{folder}.tgz"
    result = PackageResult(
        archive=archive,
        folder=folder,
        release=release,
        subdir=subdir,
        modules=tuple(packaged),
    )
    _write_archive(result, int(time.time()) if mtime is None else mtime)
    return result


def render_manifest(result: PackageResult) -> str:
    """The text ``MANIFEST``: one module a line, tab-separated path, sha256 and vermagic."""
    lines = [
        f"# patchsmith {__version__}: modules for Linux {result.release}",
        "# path\tsha256\tvermagic",
    ]
    lines.extend(f"{m.path}\t{m.sha256}\t{m.vermagic}" for m in result.modules)
    return "\n".join(lines) + "\n"


def render_sha256sums(result: PackageResult) -> str:
    return "".join(f"{m.sha256}  {m.path}\n" for m in result.modules)


def render_install_script(result: PackageResult) -> str:
    """``install.sh`` with this package's release and modules filled in."""
    rows = "\n".join(f"{m.name} {m.path} {m.srcversion or '-'}" for m in result.modules)
    return (
        INSTALL_SCRIPT.replace("@VERSION@", __version__)
        .replace("@RELEASE@", result.release)
        .replace("@SUBDIR@", result.subdir)
        .replace("@MODULES@", rows)
    )


def read_manifest(archive: str | Path) -> dict[str, Any]:
    """The ``MANIFEST.json`` of a package (for checks and tests)."""
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
    if result.archive.exists() and not result.archive.is_file():
        # The archive is written beside and renamed over: run as root with -o /dev/null, that
        # would replace the device with a file.
        raise InputError(
            f"{result.archive}: not a regular file",
            hint="name a .tgz file, or a folder to write it in",
        )
    try:
        result.archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"{result.archive}: cannot write the package: {error.strerror or error}"
        ) from None
    texts = {
        "install.sh": (render_install_script(result), 0o755),
        "MANIFEST": (render_manifest(result), 0o644),
        "MANIFEST.json": (json.dumps(result.manifest_json(), indent=2) + "\n", 0o644),
        "SHA256SUMS": (render_sha256sums(result), 0o644),
    }
    folders: set[str] = set()
    for module in result.modules:
        parts = PurePosixPath(module.path).parts[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]))
    temporary = result.archive.with_name(result.archive.name + ".part")
    try:
        with tarfile.open(temporary, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_member(result.folder, mtime, 0o755, directory=True))
            for name, (text, mode) in texts.items():
                data = text.encode("utf-8")
                tar.addfile(
                    _member(f"{result.folder}/{name}", mtime, mode, size=len(data)),
                    io.BytesIO(data),
                )
            for folder in sorted(folders):
                tar.addfile(_member(f"{result.folder}/{folder}", mtime, 0o755, directory=True))
            for module in result.modules:
                data = module.source.read_bytes()
                tar.addfile(
                    _member(f"{result.folder}/{module.path}", mtime, 0o644, size=len(data)),
                    io.BytesIO(data),
                )
        temporary.replace(result.archive)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(
            f"{result.archive}: cannot write the package: {error.strerror or error}"
        ) from None


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


# The install script. Placeholders: @VERSION@ @RELEASE@ @SUBDIR@ @MODULES@ (one module a line:
# name, path in the package, srcversion or -). Kept here, not in a data file, so an installed
# patchsmith always has it. It must stay POSIX sh (dash, busybox ash) and safe under sh -e.
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
#
# --root DIR installs into DIR (an image, a chroot, a test sandbox) and then does not touch the
# running kernel unless --reload is given. --no-reload installs for the next boot only.
# The commands and kernel files it reads can be replaced (tests inject fakes):
#   MODPROBE, RMMOD, DEPMOD (default: modprobe, rmmod, depmod),
#   PROC_MODULES (default /proc/modules), SYS_MODULE (default /sys/module).
set -e

RELEASE='@RELEASE@'
SUBDIR='@SUBDIR@'

# name  path-in-package  srcversion (- when the module has none)
modules() {
	cat <<'PATCHSMITH_MODULES'
@MODULES@
PATCHSMITH_MODULES
}

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
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
MODPROBE=${MODPROBE:-modprobe}
RMMOD=${RMMOD:-rmmod}
DEPMOD=${DEPMOD:-depmod}

here=$(cd "$(dirname "$0")" && pwd)
[ -d "$root" ] || die "--root $root: no such directory"
prefix=$(cd "$root" && pwd)
[ "$prefix" = / ] && prefix=
if [ "$reload" = auto ]; then
	if [ -z "$prefix" ]; then reload=yes; else reload=no; fi
fi
if [ "$dry_run" = 1 ]; then would='would '; else would=; fi
modprobe_root=
depmod_root=
if [ -n "$prefix" ]; then
	modprobe_root="-d $prefix"
	depmod_root="-b $prefix"
fi

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

# Fields of a module's line in /proc/modules: "dm_mod 184320 3 dm_snapshot,dm_bufio, Live 0x0".
proc_line() {
	if [ -r "$PROC_MODULES" ]; then awk -v m="$1" '$1 == m { print; exit }' "$PROC_MODULES"; fi
}
[ -r "$PROC_MODULES" ] || say "$PROC_MODULES not readable: treating every module as not loaded"
refcount_of() { proc_line "$1" | awk '{ print $3 }'; }
holders_of() { proc_line "$1" | awk '{ if ($4 != "-") { gsub(/,/, " ", $4); print $4 } }'; }

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
	running=
	[ -r "$SYS_MODULE/$name/srcversion" ] && running=$(cat "$SYS_MODULE/$name/srcversion")
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

if [ "$reload" = yes ] && [ -n "$replace" ]; then
	busy=
	for name in $replace; do
		holders=$(holders_of "$name")
		outside=$(refcount_of "$name")
		case $outside in '' | *[!0-9]*) outside=1 ;; esac
		for holder in $holders; do
			case " $replace " in
			*" $holder "*) outside=$((outside - 1)) ;;
			*)
				outside=$((outside - 1))
				busy="$busy
  $name is used by $holder, which this package does not replace"
				;;
			esac
		done
		if [ "${outside:-0}" -gt 0 ]; then
			busy="$busy
  $name is in use: refcount $(refcount_of "$name"), $outside not from packaged modules"
			busy="$busy (open devices, mounts, device-mapper tables)"
		fi
	done
	if [ -n "$busy" ]; then
		say "stopped: modules to replace are in use; nothing was changed:$busy"
		say "stop their users and run again, or install for the next boot with --no-reload"
		exit 1
	fi
fi

# Unload order: a module after every packaged module that uses it.
order=
if [ "$reload" = yes ]; then
	remaining=$replace
	while [ -n "$remaining" ]; do
		next=
		moved=0
		for name in $remaining; do
			blocked=0
			for holder in $(holders_of "$name"); do
				case " $remaining " in *" $holder "*) [ "$holder" = "$name" ] || blocked=1 ;; esac
			done
			if [ "$blocked" = 0 ]; then
				order="$order $name"
				moved=1
			else
				next="$next $name"
			fi
		done
		[ "$moved" = 1 ] || die "cannot order the unload of:$remaining"
		remaining=$next
	done
fi

# 3. Unload, install, depmod, load.
for name in $order; do
	say "${would}unload $name"
	[ "$dry_run" = 1 ] || $RMMOD "$name"
done

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
	# shellcheck disable=SC2086 # depmod_root is two words or none
	[ "$dry_run" = 1 ] || $DEPMOD $depmod_root -a "$RELEASE"
else
	say "depmod: index already current"
fi

reversed=
for name in $order; do reversed="$name $reversed"; done
for name in $reversed; do
	say "${would}load $name"
	if [ "$dry_run" = 0 ]; then
		# shellcheck disable=SC2086 # modprobe_root is two words or none
		$MODPROBE $modprobe_root "$name"
	fi
done

# 4. What happened.
total=$((changed + unchanged))
if [ "$dry_run" = 1 ]; then
	say "dry run: $changed of $total module files would be installed, nothing was changed"
elif [ "$changed" = 0 ] && [ -z "$order" ] && [ "$need_depmod" = 0 ]; then
	say "nothing to do: all $total modules already installed"
else
	say "done: installed $changed of $total module files in $prefix/lib/modules/$RELEASE/$SUBDIR"
	[ -z "$order" ] || say "reloaded:$order"
fi
if [ "$reload" = no ] && [ -n "$replace" ]; then
	say "not reloaded (--no-reload or --root): the running kernel still has the old$replace"
fi
"""

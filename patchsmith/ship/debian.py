"""Debian packages of the built modules (``package --format deb``), built with ``dpkg-deb``.

The package is what the people who replace a distribution kernel's modules install with their
package manager::

    Package: patchsmith-dm-modules-6.1.0-57-cloud-amd64       (label, "modules", the release)
    Version: 6.1.187-1                                        (the sub-release, a build number)
    Depends: linux-image-6.1.0-57-cloud-amd64 | linux-image-6.1.0-57-cloud-amd64-unsigned
    /lib/modules/6.1.0-57-cloud-amd64/updates/drivers/md/dm-mod.ko ...
    /usr/share/doc/PACKAGE/{copyright,changelog.Debian.gz,MANIFEST.json}

The name carries the release because the modules load into that kernel only (vermagic), so two
kernels' packages install side by side, as Debian's own ``linux-image-RELEASE`` packages do. The
``Depends`` names the image package only when the release has Debian's (and Ubuntu's) ABI shape,
``X.Y.Z-ABI-FLAVOUR``: a release like ``6.1.187`` or ``2.6.16-xenU`` names no package we could
know, and a guessed dependency would make the package uninstallable.

``postinst`` and ``postrm`` run depmod for the release (under ``$DPKG_ROOT`` when dpkg installs
into another root with ``--force-script-chrootless``) and, for a package made with ``reload``,
replace the loaded modules of the running kernel with the same checks and the same rollback as
``install.sh`` (:data:`patchsmith.ship.package.RELOAD_FUNCTIONS`). A maintainer script never
fails the installation over a reload: when a module is in use, or does not load, it says so and
the new files wait for the next boot.

The package is built by ``dpkg-deb``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from patchsmith import __version__
from patchsmith.errors import InputError
from patchsmith.paths import path_error
from patchsmith.record import record
from patchsmith.ship.package import (
    DEFAULT_SUBDIR,
    RELOAD_FUNCTIONS,
    ModuleSet,
    PackageResult,
    Provenance,
    collect_modules,
    module_rows,
)
from patchsmith.ship.signing import Signer

# 6.1.0-57-cloud-amd64, 5.15.0-91-generic: the releases Debian and Ubuntu name their image
# packages after (linux-image-RELEASE).
_ABI_RELEASE = re.compile(r"^\d+\.\d+\.\d+-\d+-[a-z0-9][a-z0-9+.-]*$")

# Debian policy 5.6.1: package names are lower case letters, digits, + - . (two or more, starting
# with a letter or digit); 5.6.12: upstream versions start with a digit.
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_UPSTREAM_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~]*$")

# Name <address>, as Debian's Maintainer field wants it.
_MAINTAINER = re.compile(r"^[^<>\n]+ <[^<>\s@]+@[^<>\s@]+>$")

# The ELF machine of the modules, to Debian's architecture name. 32-bit ARM is armhf on every
# Debian release that still builds ARM kernels.
_ARCHITECTURES: dict[tuple[str, int], str] = {
    ("EM_X86_64", 64): "amd64",
    ("EM_386", 32): "i386",
    ("EM_AARCH64", 64): "arm64",
    ("EM_ARM", 32): "armhf",
    ("EM_PPC64", 64): "ppc64el",
    ("EM_S390", 64): "s390x",
    ("EM_RISCV", 64): "riscv64",
    ("EM_LOONGARCH", 64): "loong64",
    ("EM_MIPS", 64): "mips64el",
    ("EM_MIPS", 32): "mipsel",
}

# VERSION = 6 / PATCHLEVEL = 1 / +SUBLEVEL = 187: the post-image of the top-level Makefile's diff.
_MAKEFILE_LINE = re.compile(rb"^[ +](VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)\s*$")

# patch-6.1.187, patch-2.6.16.29.bz2, linux-6.1.187.patch: a version in the patch's name.
_NAME_VERSION = re.compile(r"(?<![\d.])(\d+\.\d+(?:\.\d+){1,2})(?![\d])")


@record
class DebianOptions:
    """What names and describes the package."""

    maintainer: str
    """``Name <address>`` (the CLI takes DEBFULLNAME/DEBEMAIL, as dch does)."""
    sub_release: str
    """The upstream sub-release whose fixes the modules carry (``6.1.187``)."""
    build_number: int = 1
    """Counts rebuilds of the same sub-release: the Debian revision."""
    label: str | None = None
    """What the modules are (``dm``); derived from the modules when ``None``."""
    reload: bool = False
    """postinst/postrm replace the loaded modules of the running kernel (when it is the
    release, nothing uses them, and dpkg is not installing into another root)."""
    architecture: str | None = None
    """Debian's architecture name; from the modules' ELF machine when ``None``."""


def image_packages(release: str) -> tuple[str, ...]:
    """The image packages a release names: ``linux-image-R`` and the ``-unsigned`` one that
    Debian and Ubuntu build it from; none for a release of another shape."""
    if not _ABI_RELEASE.match(release):
        return ()
    return (f"linux-image-{release}", f"linux-image-{release}-unsigned")


def debian_architecture(machine: str, elf_class: int) -> str:
    """``amd64`` for 64-bit x86 modules, and so on; raises :class:`InputError` for a machine
    this table does not know (give the architecture by hand)."""
    try:
        return _ARCHITECTURES[(machine, elf_class)]
    except KeyError:
        raise InputError(
            f"no Debian architecture known for {machine} ({elf_class}-bit) modules",
            hint="give it with --architecture (dpkg --print-architecture on the target)",
        ) from None


def module_label(module_set: ModuleSet) -> str:
    """A short word for what the modules are: the first word all their names share (``dm`` for
    dm-mod, dm-snapshot), else the name of the one folder they are all in (``md``), else
    ``kernel``."""
    words = {re.split(r"[-_]", m.stem)[0] for m in module_set.modules}
    if len(words) == 1 and len(module_set.modules) > 1:
        return _clean_label(words.pop())
    folders = {PurePosixPath(m.relative).parent for m in module_set.modules}
    if len(module_set.modules) == 1:
        return _clean_label(module_set.modules[0].stem)
    common = os.path.commonpath([folder.as_posix() for folder in folders]) if folders else ""
    if common and common != ".":
        return _clean_label(PurePosixPath(common).name)
    return "kernel"


def _clean_label(word: str) -> str:
    cleaned = re.sub(r"[^a-z0-9+.-]+", "-", word.lower()).strip("-.+")
    return cleaned if len(cleaned) >= 2 else "kernel"


def package_name(label: str, release: str) -> str:
    """``patchsmith-LABEL-modules-RELEASE``, checked against Debian's rules."""
    name = f"patchsmith-{label}-modules-{release}".lower()
    if not _PACKAGE_NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid Debian package name",
            hint="give a --label of lower-case letters and digits",
        )
    return name


def debian_version(sub_release: str, build_number: int) -> str:
    """``6.1.187-1``: the sub-release as the upstream version, the build number as revision."""
    if not _UPSTREAM_VERSION.match(sub_release):
        raise InputError(
            f"--sub-release {sub_release!r}: not a version (like 6.1.187)",
            hint="give the upstream sub-release whose fixes these modules carry",
        )
    if build_number < 1:
        raise InputError("--build-number must be 1 or more")
    return f"{sub_release}-{build_number}"


def sub_release_of_patch(name: str, data: bytes | None = None) -> str | None:
    """The sub-release a patch brings: from its name (``patch-6.1.187``), else from the
    post-image of its top-level ``Makefile`` diff (``VERSION``, ``PATCHLEVEL``, ``SUBLEVEL``)."""
    match = _NAME_VERSION.search(Path(name).name)
    if match:
        return match.group(1)
    if data is None:
        return None
    values: dict[bytes, bytes] = {}
    inside = False
    for line in data.splitlines():
        if line.startswith((b"diff ", b"--- ", b"Index: ")):
            inside = False
        if line.startswith(b"+++ "):
            target = line[4:].split(b"\t")[0].strip()
            inside = target in (b"Makefile", b"b/Makefile") or (
                target.count(b"/") == 1 and target.endswith(b"/Makefile")
            )
            continue
        if inside:
            found = _MAKEFILE_LINE.match(line)
            if found:
                values[found.group(1)] = found.group(2)
    if b"VERSION" in values and b"PATCHLEVEL" in values and b"SUBLEVEL" in values:
        return b".".join(values[key] for key in (b"VERSION", b"PATCHLEVEL", b"SUBLEVEL")).decode()
    return None


def check_maintainer(maintainer: str) -> str:
    maintainer = maintainer.strip()
    if not _MAINTAINER.match(maintainer):
        raise InputError(
            f"--maintainer {maintainer!r}: Debian wants 'Full Name <address@example.org>'",
            hint="or set DEBFULLNAME and DEBEMAIL, as for dch",
        )
    return maintainer


def package_deb(
    modules: Sequence[str | Path],
    output: str | Path,
    options: DebianOptions,
    *,
    base: str | Path | None = None,
    release: str | None = None,
    subdir: str = DEFAULT_SUBDIR,
    signer: Signer | None = None,
    provenance: Provenance | None = None,
    mtime: int | None = None,
    strip_debug: bool = False,
) -> PackageResult:
    """Build the ``.deb`` (``output`` is the file, or an existing directory to write
    ``NAME_VERSION_ARCH.deb`` into). See :func:`patchsmith.ship.package.collect_modules` for
    the module arguments and errors; raises :class:`InputError` for names Debian refuses and when
    ``dpkg-deb`` is missing or fails."""
    maintainer = check_maintainer(options.maintainer)
    version = debian_version(options.sub_release, options.build_number)
    stamp = int(time.time()) if mtime is None else mtime
    with tempfile.TemporaryDirectory(prefix="patchsmith-deb-") as scratch_name:
        scratch = Path(scratch_name)
        module_set = collect_modules(
            modules,
            base=base,
            release=release,
            subdir=subdir,
            signer=signer,
            staging=scratch / "signed",
            provenance=provenance,
            strip_debug=strip_debug,
        )
        label = _clean_label(options.label) if options.label else module_label(module_set)
        name = package_name(label, module_set.release)
        architecture = options.architecture or debian_architecture(
            module_set.machine, module_set.elf_class
        )
        root = scratch / "root"
        files: dict[str, bytes | Path] = {m.path: m.source for m in module_set.modules}
        files.update(
            doc_files(name, version, maintainer, module_set, stamp, kind="modules"),
        )
        scripts = {
            "postinst": render_maintainer_script(POSTINST, name, module_set, options.reload),
            "postrm": render_maintainer_script(POSTRM, name, module_set, options.reload),
        }
        depends = " | ".join(image_packages(module_set.release))
        control = render_control(
            {
                "Package": name,
                "Version": version,
                "Architecture": architecture,
                "Maintainer": maintainer,
                "Depends": depends or None,
                "Section": "kernel",
                "Priority": "optional",
                "Description": _modules_description(label, module_set, options.sub_release),
            }
        )
        target = _output_file(Path(output), f"{name}_{version}_{architecture}.deb")
        build_deb(root, target, control, files, scripts, stamp)
    return PackageResult(
        format="deb", output=target, name=name, version=version, module_set=module_set
    )


def _modules_description(label: str, module_set: ModuleSet, sub_release: str) -> str:
    names = ", ".join(m.stem for m in module_set.modules)
    provenance = module_set.provenance or Provenance()
    patch = provenance.patch_name or "the patch"
    body = (
        f"The {label} modules of Linux {module_set.release}, rebuilt by patchsmith "
        f"{__version__} with the fixes of {sub_release} ({patch}"
        + (f", sha256 {provenance.patch_sha256[:16]}..." if provenance.patch_sha256 else "")
        + f"). They are installed under /lib/modules/{module_set.release}/"
        f"{module_set.subdir}/, which depmod ranks above the kernel package's own modules."
    )
    second = f"Modules: {names}."
    signed = ""
    if module_set.signer is not None:
        signed = f"Signed with the key of {module_set.signer.described()}."
    synopsis = f"Linux {module_set.release} {label} modules with the fixes of {sub_release}"
    if len(synopsis) > 78:
        synopsis = f"{label} modules with the fixes of {sub_release}"
    paragraphs = [body, second] + ([signed] if signed else [])
    return synopsis + "\n" + "\n .\n".join(wrap_description(paragraph) for paragraph in paragraphs)


def wrap_description(text: str) -> str:
    """A paragraph of a control file's extended description: lines of at most 79 columns, each
    indented by one space."""
    lines = textwrap.wrap(text, 78, break_on_hyphens=False, break_long_words=False)
    return "\n".join(" " + line for line in lines)


def render_control(fields: Mapping[str, str | None]) -> str:
    """A ``DEBIAN/control`` file; fields whose value is ``None`` are left out."""
    lines = [f"{key}: {value}" for key, value in fields.items() if value is not None]
    return "\n".join(lines) + "\n"


def doc_files(
    name: str,
    version: str,
    maintainer: str,
    module_set: ModuleSet,
    mtime: int,
    *,
    kind: str,
) -> dict[str, bytes | Path]:
    """``usr/share/doc/NAME/``: the copyright, the Debian changelog and the manifest."""
    provenance = module_set.provenance or Provenance()
    date = datetime.fromtimestamp(mtime, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    patch = provenance.patch_name or "a patch"
    digest = f" (sha256 {provenance.patch_sha256})" if provenance.patch_sha256 else ""
    entry = textwrap.fill(
        f"* Linux {module_set.release} {kind} with the fixes of {patch}{digest}, "
        f"built by patchsmith {__version__}.",
        76,
        initial_indent="  ",
        subsequent_indent="    ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    changelog = (
        f"{name} ({version}) unstable; urgency=medium\n\n{entry}\n\n -- {maintainer}  {date}\n"
    )
    manifest = json.dumps(module_set.manifest_json(), indent=2) + "\n"
    doc = f"usr/share/doc/{name}"
    return {
        f"{doc}/copyright": COPYRIGHT.encode("utf-8"),
        f"{doc}/changelog.Debian.gz": gzip.compress(changelog.encode("utf-8"), 9, mtime=0),
        f"{doc}/MANIFEST.json": manifest.encode("utf-8"),
    }


def render_maintainer_script(template: str, name: str, module_set: ModuleSet, reload: bool) -> str:
    return (
        template.replace("@FUNCTIONS@", RELOAD_FUNCTIONS.strip("\n"))
        .replace("@PACKAGE@", name)
        .replace("@VERSION@", __version__)
        .replace("@RELEASE@", module_set.release)
        .replace("@RELOAD@", "yes" if reload else "no")
        .replace("@MODULES@", module_rows(module_set))
    )


def build_deb(
    root: Path,
    target: Path,
    control: str,
    files: Mapping[str, bytes | Path],
    scripts: Mapping[str, str],
    mtime: int,
) -> None:
    """Lay out ``root`` and run ``dpkg-deb --build`` on it (owner root:root, xz, every time
    stamp ``mtime``, so the same input gives the same package)."""
    if target.exists() and not target.is_file():
        # Written beside and renamed over: as root, -o /dev/null would replace the device.
        raise InputError(
            f"{target}: not a regular file",
            hint="name a .deb file, or a folder to write it in",
        )
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        raise InputError(
            "dpkg-deb: command not found",
            hint="install dpkg (Debian and Ubuntu have it; elsewhere: apt-get install dpkg-dev)",
        )
    debian = root / "DEBIAN"
    debian.mkdir(parents=True)
    sums: list[str] = []
    installed = 0
    for relative in sorted(files):
        source = files[relative]
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, path)
        else:
            path.write_bytes(source)
        path.chmod(0o644)
        data = path.read_bytes()
        sums.append(f"{hashlib.md5(data, usedforsecurity=False).hexdigest()}  {relative}\n")
        installed += (len(data) + 1023) // 1024
    installed += sum(1 for _ in root.rglob("*") if _.is_dir()) - 1  # a block per folder
    for name, text in scripts.items():
        script = debian / name
        script.write_text(text, encoding="utf-8")
        script.chmod(0o755)
    (debian / "md5sums").write_text("".join(sums), encoding="utf-8")
    (debian / "control").write_text(
        control.rstrip("\n") + f"\nInstalled-Size: {installed}\n", encoding="utf-8"
    )
    (debian / "md5sums").chmod(0o644)
    (debian / "control").chmod(0o644)
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise path_error(
            f"{target}: cannot write the package",
            error,
            target,
            hint="pass -o FILE or -o FOLDER somewhere you may write",
        ) from None
    temporary = target.with_name(target.name + ".part")
    completed = subprocess.run(
        [dpkg_deb, "--root-owner-group", "-Zxz", "--build", str(root), str(temporary)],
        capture_output=True,
        text=True,
        errors="replace",
        env=dict(os.environ, SOURCE_DATE_EPOCH=str(mtime), LC_ALL="C"),
        check=False,
    )
    if completed.returncode != 0:
        temporary.unlink(missing_ok=True)
        said = (completed.stderr or completed.stdout).strip()
        raise InputError(
            f"dpkg-deb could not build {target.name}: {said}",
            hint="the message above is dpkg-deb's",
        )
    temporary.replace(target)


def _output_file(output: Path, default_name: str) -> Path:
    return output / default_name if output.is_dir() else output


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Linux
Comment: Kernel code from the vendor's Linux tree, with the hunks of an upstream
 stable patch that patchsmith applied and a person reviewed; packaged by
 patchsmith.

Files: *
Copyright: 1991, 1992 Linus Torvalds, and the many authors of the Linux kernel
License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
"""


# Placeholders: @PACKAGE@ @VERSION@ @RELEASE@ @RELOAD@ @FUNCTIONS@ @MODULES@.
_MAINTAINER_HEAD = r"""#!/bin/sh
set -e

PROGRAM='@PACKAGE@'
RELEASE='@RELEASE@'
RELOAD='@RELOAD@'
PROC_MODULES=/proc/modules
SYS_MODULE=/sys/module
dry_run=0
would=
# dpkg --root DIR --force-script-chrootless runs this script outside DIR with DPKG_ROOT=DIR.
prefix=${DPKG_ROOT:-}

# name  path  srcversion (- when the module has none)
modules() {
	cat <<'PATCHSMITH_MODULES'
@MODULES@
PATCHSMITH_MODULES
}

@FUNCTIONS@

# $1 is always (postinst: the package's files are there) or if-present (postrm: the kernel may
# have been removed too, and then there is no index to update).
update_index() {
	if ! command -v depmod >/dev/null 2>&1; then
		say "$PROGRAM: depmod not found: run depmod -a $RELEASE once kmod is installed"
		return 0
	fi
	if [ "$1" = always ] || [ -d "$prefix/lib/modules/$RELEASE" ]; then
		run_depmod
	fi
}

# $1 is install (replace the running modules with the new files) or remove (replace the
# running modules of this package with the kernel's own). Never fails the package operation.
reload_running() {
	[ "$RELOAD" = yes ] || return 0
	if [ -n "$prefix" ]; then
		say "$PROGRAM: working in $prefix: the running kernel is left alone"
		return 0
	fi
	if command -v ischroot >/dev/null 2>&1 && ischroot; then
		say "$PROGRAM: in a chroot: the running kernel is left alone"
		return 0
	fi
	if [ "$(uname -r)" != "$RELEASE" ]; then
		return 0
	fi
	replace=
	while read -r name _ srcversion; do
		[ -n "$name" ] || continue
		[ -n "$(proc_line "$name")" ] || continue
		running=$(running_srcversion "$name")
		if [ "$1" = install ]; then
			# This build is already the one running.
			if [ "$srcversion" != - ] && [ "$running" = "$srcversion" ]; then continue; fi
		else
			# Another build than this package's is running: not ours to replace.
			if [ "$srcversion" != - ] && [ -n "$running" ] && [ "$running" != "$srcversion" ]; then
				continue
			fi
		fi
		replace="$replace $name"
	done <<EOF
$(modules)
EOF
	[ -n "$replace" ] || return 0
	busy=$(busy_report "$replace")
	if [ -n "$busy" ]; then
		say "$PROGRAM: not reloaded, the modules are in use:$busy"
		say "the running kernel keeps its modules until they are reloaded or it reboots"
		return 0
	fi
	if ! order=$(unload_order "$replace"); then
		say "$PROGRAM: cannot order the unload of:$replace; not reloaded"
		return 0
	fi
	if unload_modules "$order"; then
		reloaded=$unloaded
		if load_unloaded; then say "$PROGRAM: reloaded:$reloaded"; fi
	else
		warn "loading again what was unloaded:$unloaded"
		if load_unloaded; then warn "loaded again; the new modules load at the next boot"; fi
	fi
	return 0
}
"""

POSTINST = (
    _MAINTAINER_HEAD.replace(
        "set -e\n",
        "# postinst of @PACKAGE@ (made by patchsmith @VERSION@): updates the module index of\n"
        "# Linux @RELEASE@ and, when made with --reload, replaces the running kernel's loaded\n"
        "# modules when nothing else uses them (the checks and rollback of install.sh).\n"
        "set -e\n",
        1,
    )
    + r"""
case "$1" in
configure)
	update_index always
	reload_running install
	;;
abort-upgrade | abort-remove | abort-deconfigure) ;;
*)
	echo "postinst called with unknown argument '$1'" >&2
	exit 1
	;;
esac

exit 0
"""
)

POSTRM = (
    _MAINTAINER_HEAD.replace(
        "set -e\n",
        "# postrm of @PACKAGE@ (made by patchsmith @VERSION@): updates the module index of\n"
        "# Linux @RELEASE@ once the files are gone and, when made with --reload, loads the\n"
        "# kernel's own modules in place of this package's when nothing else uses them.\n"
        "set -e\n",
        1,
    )
    + r"""
case "$1" in
remove)
	update_index if-present
	reload_running remove
	;;
purge | abort-install | abort-upgrade | disappear)
	update_index if-present
	;;
upgrade | failed-upgrade) ;;
*)
	echo "postrm called with unknown argument '$1'" >&2
	exit 1
	;;
esac

exit 0
"""
)

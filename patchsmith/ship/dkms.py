"""DKMS source trees of the patched module sources (``package --format dkms``), and Debian
packages of them (``--format dkms-deb``).

The tree is what DKMS expects under ``/usr/src/NAME-VERSION/``::

    patchsmith-dm-6.1.187-1/dkms.conf
    patchsmith-dm-6.1.187-1/Kbuild                    obj-y += drivers/md/   (a line per folder)
    patchsmith-dm-6.1.187-1/drivers/md/...            the patched sources and private headers
    patchsmith-dm-6.1.187-1/patchsmith-manifest.json  sha256 of every source file, provenance

DKMS runs ``make -C KERNEL_DIR M=BUILD_DIR``: Kbuild reads the top ``Kbuild``, descends into each
module folder and reads its own Makefile with the target's config (``obj-$(CONFIG_DM_SNAPSHOT) +=
dm-snapshot.o``): the build ``patchsmith build`` ran, at the same relative paths, so each
module's ``BUILT_MODULE_LOCATION`` is its folder. The sources are every file of the kept module
folders that Kbuild did not make (objects, ``.ko``, ``.mod.c``, ``.cmd`` files and the like are
left out), so private headers (``dm-core.h``, ``persistent-data/*.h``) come along.

``BUILD_EXCLUSIVE_KERNEL`` pins the tree to the release its sources were patched for. DKMS builds
for every kernel that is installed later (``AUTOINSTALL``), and this kernel's ``drivers/md``
built against a later kernel's headers would either fail or put an older driver in place of the
newer kernel's own.

DKMS refuses to install a module over an in-tree module of the same version without ``--force``;
replacing the in-tree module is the point here. The Debian package of the tree ships
``/usr/share/dkms/modules_to_force_install/NAME`` with ``NAME_version-override`` in it, the file
DKMS itself reads to skip that comparison for a named module; with a bare tree, pass ``--force``
to ``dkms install``. Signing is DKMS's business on the target (its MOK key, ``mok_signing_key`` in
``/etc/dkms/framework.conf``): a private key never goes into a package.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from patchsmith import __version__
from patchsmith.errors import InputError
from patchsmith.record import record
from patchsmith.ship.debian import (
    DebianOptions,
    build_deb,
    check_maintainer,
    debian_version,
    doc_files,
    module_label,
    render_control,
    wrap_description,
)
from patchsmith.ship.package import (
    ModuleSet,
    PackageResult,
    Provenance,
    collect_modules,
)

# Files Kbuild makes in a module folder: never sources. (.S is assembler source; .s is made.)
_BUILT_SUFFIXES = (
    ".o",
    ".ko",
    ".mod",
    ".mod.c",
    ".a",
    ".order",
    ".symvers",
    ".symtypes",
    ".dwo",
    ".su",
    ".lst",
    ".cmd",
    ".d",
    ".s",
    ".i",
    ".ll",
    ".tmp",
    ".rej",
    ".orig",
)
_BUILT_NAMES = frozenset({"modules.order", "Module.symvers", "built-in.a", "Module.markers"})

MANIFEST_NAME = "patchsmith-manifest.json"
FORCE_INSTALL_DIR = "usr/share/dkms/modules_to_force_install"


@record
class DkmsTree:
    """What went into a DKMS source tree."""

    folder: Path
    name: str
    version: str
    module_dirs: tuple[str, ...]
    """The top-level module folders the ``Kbuild`` file descends into."""
    sources: tuple[str, ...]
    """Every source file, relative to the tree."""


def dkms_name(label: str) -> str:
    return f"patchsmith-{label}"


def top_dirs(dirs: Sequence[str]) -> tuple[str, ...]:
    """The folders without the ones inside another (Kbuild descends by itself)."""
    cleaned = sorted({PurePosixPath(d.strip("/")).as_posix() for d in dirs if d.strip("/.")})
    return tuple(
        d for d in cleaned if not any(d != other and d.startswith(other + "/") for other in cleaned)
    )


def is_built_file(name: str) -> bool:
    """Whether a file name is one Kbuild writes into a module folder."""
    return name in _BUILT_NAMES or name.endswith(_BUILT_SUFFIXES)


def source_files(base: Path, dirs: Sequence[str]) -> tuple[str, ...]:
    """The source files of the module folders, relative to ``base``, in name order.

    Hidden files (``.foo.o.cmd``, ``.gitignore``) and Kbuild's outputs are left out. A symbolic
    link is followed when it stays inside ``base``; one that leads out is refused (its target is
    not part of the reviewed tree).
    """
    base = base.resolve()
    found: list[str] = []
    for directory in top_dirs(dirs):
        root = base / directory
        if not root.is_dir():
            raise InputError(
                f"{root}: module folder not found",
                hint="package the tree the modules were built in (--base, or the session's)",
            )
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or is_built_file(name):
                    continue
                path = Path(folder) / name
                real = path.resolve()
                if not real.is_relative_to(base):
                    raise InputError(
                        f"{path}: a link to {real}, outside the tree",
                        hint="a DKMS tree carries the reviewed tree's files only",
                    )
                if real.is_file():
                    found.append(path.relative_to(base).as_posix())
    return tuple(sorted(set(found)))


def ere_literal(text: str) -> str:
    """``text`` as a POSIX extended regular expression matching only itself."""
    return re.sub(r"([.+*?^$()\[\]{}|\\])", r"\\\1", text)


def render_dkms_conf(
    module_set: ModuleSet, name: str, version: str, module_dirs: Sequence[str]
) -> str:
    """``dkms.conf``: one BUILT_MODULE_NAME/LOCATION and DEST_MODULE_LOCATION per module."""
    provenance = module_set.provenance or Provenance()
    patch = provenance.patch_name or "a patch"
    digest = f" (sha256 {provenance.patch_sha256})" if provenance.patch_sha256 else ""
    lines = [
        f"# dkms.conf of {name} {version}, made by patchsmith {__version__} for Linux "
        f"{module_set.release}.",
        f"# The sources are the vendor tree's {', '.join(module_dirs)} with the reviewed hunks "
        f"of {patch}{digest}.",
        "# BUILD_EXCLUSIVE_KERNEL: these sources are that one kernel's; built against another",
        "# kernel's headers they would replace its newer driver with this older one.",
        f'PACKAGE_NAME="{name}"',
        f'PACKAGE_VERSION="{version}"',
        'MAKE[0]="make -C ${kernel_source_dir} '
        'M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build modules"',
        'CLEAN="make -C ${kernel_source_dir} '
        'M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build clean"',
        f'BUILD_EXCLUSIVE_KERNEL="^{ere_literal(module_set.release)}$"',
        'AUTOINSTALL="yes"',
    ]
    for index, module in enumerate(module_set.modules):
        folder = PurePosixPath(module.relative).parent.as_posix()
        lines += [
            f'BUILT_MODULE_NAME[{index}]="{module.stem}"',
            f'BUILT_MODULE_LOCATION[{index}]="{folder}/"',
            f'DEST_MODULE_LOCATION[{index}]="/{module_set.subdir}/{folder}"',
        ]
    return "\n".join(lines) + "\n"


def write_dkms_tree(
    module_set: ModuleSet,
    base: Path,
    dirs: Sequence[str],
    folder: Path,
    name: str,
    version: str,
) -> DkmsTree:
    """Write the tree into ``folder`` (which must not exist)."""
    module_dirs = top_dirs(dirs)
    if not module_dirs:
        raise InputError(
            "no module folder to take the sources from",
            hint="build first (the session's build names them), or give --dir",
        )
    for module in module_set.modules:
        if not any(module.relative.startswith(d + "/") for d in module_dirs):
            raise InputError(
                f"{module.built}: not below the module folders {', '.join(module_dirs)} of {base}",
                hint="package the modules of the tree given with --base (the session's worktree)",
            )
    sources = source_files(base, module_dirs)
    folder.mkdir(parents=True)
    digests: dict[str, str] = {}
    for relative in sources:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / relative, target)
        target.chmod(0o644)
        digests[relative] = hashlib.sha256(target.read_bytes()).hexdigest()
    kbuild = "".join(f"obj-y += {directory}/\n" for directory in module_dirs)
    (folder / "Kbuild").write_text(
        f"# The module folders of {name} {version}; each one's own Makefile says what it builds.\n"
        + kbuild,
        encoding="utf-8",
    )
    (folder / "dkms.conf").write_text(
        render_dkms_conf(module_set, name, version, module_dirs), encoding="utf-8"
    )
    manifest = module_set.manifest_json()
    manifest["dkms"] = {"name": name, "version": version, "module_dirs": list(module_dirs)}
    manifest["sources"] = [{"path": path, "sha256": digests[path]} for path in sources]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return DkmsTree(folder, name, version, module_dirs, sources)


def package_dkms(
    modules: Sequence[str | Path],
    output: str | Path,
    *,
    base: str | Path,
    dirs: Sequence[str],
    sub_release: str,
    build_number: int = 1,
    label: str | None = None,
    release: str | None = None,
    provenance: Provenance | None = None,
) -> PackageResult:
    """Write the DKMS tree ``NAME-VERSION/`` into the directory ``output``. ``modules`` are the
    built modules (they name what DKMS must build and find); ``base`` the tree they were built
    in, ``dirs`` its module folders."""
    base_path = Path(base)
    module_set = collect_modules(modules, base=base_path, release=release, provenance=provenance)
    name = dkms_name(label or module_label(module_set))
    version = debian_version(sub_release, build_number)
    parent = Path(output)
    if parent.exists() and not parent.is_dir():
        raise InputError(
            f"-o {parent}: not a directory",
            hint="--format dkms writes the folder NAME-VERSION into a directory",
        )
    folder = parent / f"{name}-{version}"
    if folder.exists():
        raise InputError(
            f"{folder} already exists",
            hint="remove it, or pass --build-number for a new version",
        )
    parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    try:
        write_dkms_tree(module_set, base_path, dirs, temporary / "tree", name, version)
        (temporary / "tree").rename(folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return PackageResult(
        format="dkms", output=folder, name=name, version=version, module_set=module_set
    )


def package_dkms_deb(
    modules: Sequence[str | Path],
    output: str | Path,
    options: DebianOptions,
    *,
    base: str | Path,
    dirs: Sequence[str],
    release: str | None = None,
    provenance: Provenance | None = None,
    mtime: int | None = None,
) -> PackageResult:
    """Build ``NAME-dkms_VERSION_all.deb``: the DKMS tree under ``/usr/src/NAME-VERSION/``,
    registered, built and installed for the release by DKMS when the package is configured
    (Debian's ``/usr/lib/dkms/common.postinst``), removed from DKMS before it is removed."""
    maintainer = check_maintainer(options.maintainer)
    base_path = Path(base)
    module_set = collect_modules(modules, base=base_path, release=release, provenance=provenance)
    name = dkms_name(options.label or module_label(module_set))
    version = debian_version(options.sub_release, options.build_number)
    package = f"{name}-dkms"
    stamp = int(time.time()) if mtime is None else mtime
    with tempfile.TemporaryDirectory(prefix="patchsmith-dkms-deb-") as scratch_name:
        scratch = Path(scratch_name)
        tree = write_dkms_tree(module_set, base_path, dirs, scratch / "tree", name, version)
        files: dict[str, bytes | Path] = {
            f"usr/src/{name}-{version}/{path.relative_to(tree.folder).as_posix()}": path
            for path in sorted(tree.folder.rglob("*"))
            if path.is_file()
        }
        files[f"{FORCE_INSTALL_DIR}/{name}"] = f"{name}_version-override\n".encode()
        files.update(doc_files(package, version, maintainer, module_set, stamp, kind="sources"))
        scripts = {
            "postinst": DKMS_POSTINST.replace("@NAME@", name).replace("@VERSION@", version),
            "prerm": DKMS_PRERM.replace("@NAME@", name).replace("@VERSION@", version),
        }
        release_name = module_set.release
        control = render_control(
            {
                "Package": package,
                "Version": version,
                "Architecture": "all",
                "Maintainer": maintainer,
                "Depends": "dkms",
                "Recommends": f"linux-headers-{release_name}",
                "Section": "kernel",
                "Priority": "optional",
                "Description": _dkms_description(name, module_set, options.sub_release),
            }
        )
        output_path = Path(output)
        target = (
            output_path / f"{package}_{version}_all.deb" if output_path.is_dir() else output_path
        )
        build_deb(scratch / "root", target, control, files, scripts, stamp)
    return PackageResult(
        format="dkms-deb", output=target, name=package, version=version, module_set=module_set
    )


def _dkms_description(name: str, module_set: ModuleSet, sub_release: str) -> str:
    synopsis = f"DKMS sources of {name} for Linux {module_set.release}"
    if len(synopsis) > 78:
        synopsis = f"DKMS sources of {name}"
    body = (
        f"The patched sources of the modules {', '.join(m.stem for m in module_set.modules)} "
        f"of Linux {module_set.release}, with the fixes of {sub_release}, made by patchsmith "
        f"{__version__}. DKMS builds and installs them for that kernel when the package is "
        "configured."
    )
    return synopsis + "\n" + wrap_description(body)


# dh_dkms's maintainer scripts, for a package that does not go through debhelper.
DKMS_POSTINST = r"""#!/bin/sh
# postinst of @NAME@-dkms: DKMS adds, builds and installs @NAME@ @VERSION@ for the kernels it is
# made for (dkms.conf's BUILD_EXCLUSIVE_KERNEL), as a debhelper-made DKMS package does.
set -e

case "$1" in
configure)
	if [ -n "${DPKG_ROOT:-}" ]; then
		echo "@NAME@-dkms: installed into $DPKG_ROOT: run dkms there to build the modules"
	else
		/usr/lib/dkms/common.postinst '@NAME@' '@VERSION@' '' '' "$2"
	fi
	;;
abort-upgrade | abort-remove | abort-deconfigure) ;;
*)
	echo "postinst called with unknown argument '$1'" >&2
	exit 1
	;;
esac

exit 0
"""

DKMS_PRERM = r"""#!/bin/sh
# prerm of @NAME@-dkms: DKMS removes @NAME@ @VERSION@ (its modules and build) first.
set -e

case "$1" in
remove | upgrade | deconfigure)
	if [ -z "${DPKG_ROOT:-}" ] && command -v dkms >/dev/null 2>&1; then
		if dkms status -m '@NAME@' -v '@VERSION@' | grep -q .; then
			dkms remove -m '@NAME@' -v '@VERSION@' --all
		fi
	fi
	;;
failed-upgrade) ;;
*)
	echo "prerm called with unknown argument '$1'" >&2
	exit 1
	;;
esac

exit 0
"""

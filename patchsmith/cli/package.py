"""``patchsmith package``: ship the built modules as a ``.tgz`` with an install script, a Debian
package, a DKMS source tree, or a Debian package of that tree; signed on request.

A thin front end over :mod:`patchsmith.ship.package`, :mod:`patchsmith.ship.debian` and
:mod:`patchsmith.ship.dkms`. The modules are the ones named on the command line, or the last
successful ``patchsmith build`` of the session (``build.json`` in the session directory), which
also says where they were built (the worktree, the kernel directory, the module folders). From the
session come the manifest's provenance (the patch's name and sha256, every hunk's status and
resolution, the branch's commit) and the sub-release the Debian and DKMS versions carry.

Exit 0 when the package was written, 1 when the last build failed, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import print_json
from patchsmith.errors import GitError, InputError, SessionError, UsageError
from patchsmith.model import ExitCode
from patchsmith.record import record
from patchsmith.ship.package import (
    DEFAULT_SUBDIR,
    PackageResult,
    Provenance,
    ResolutionNote,
    package_modules,
)

FORMATS = ("tgz", "deb", "dkms", "dkms-deb")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "package",
        help=COMMANDS["package"],
        description="Package the built modules the way their users install them. "
        "tgz: lib/modules/RELEASE/updates/... with a MANIFEST and install.sh, a POSIX sh script "
        "that unloads the affected modules if nothing else uses them (and stops if something "
        "does), installs, runs depmod, loads them again, and loads back what it unloaded if "
        "anything fails. deb: a Debian package (dpkg-deb) named patchsmith-LABEL-modules-RELEASE, "
        "version SUB-RELEASE-BUILD, depending on the release's image package, whose postinst "
        "runs depmod (and with --reload the same safe reload). dkms: a DKMS source tree "
        "NAME-VERSION/ with dkms.conf and the patched sources of the module folders, pinned to "
        "the release; dkms-deb: a Debian package of it. --sign-key/--sign-cert sign every module "
        "with the target headers' own scripts/sign-file. Every format carries MANIFEST.json: "
        "sha256, vermagic and compiler of each file, the patch's sha256 and the session's "
        "resolutions.",
        epilog="examples:\n"
        "  patchsmith package -o dm-fix.tgz\n"
        "  patchsmith package --format deb --sign-key MOK.priv --sign-cert MOK.der -o out/\n"
        "  patchsmith package --format dkms -o out/\n"
        "  patchsmith package build/drivers/md/*.ko --base build -o dm-fix.tgz\n"
        "then on the target:\n"
        "  tar xzf dm-fix.tgz && sh -e patchsmith-modules-RELEASE/install.sh --dry-run\n"
        "  apt install ./patchsmith-dm-modules-RELEASE_6.1.187-1_amd64.deb\n"
        "  dkms add ./patchsmith-dm-6.1.187-1 && dkms install patchsmith-dm/6.1.187-1 --force\n\n"
        "Exit codes: 0 written, 1 the last build failed, 2 bad usage or input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "modules",
        nargs="*",
        metavar="KO",
        help="module files (default: what the session's last build made)",
    )
    parser.add_argument("--session", metavar="PATH", help="the session (worktree or session.json)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="tgz",
        help="tgz (default), deb, dkms (a source tree) or dkms-deb",
    )
    parser.add_argument(
        "--base",
        metavar="DIR",
        help="the tree the modules were built in: they keep their path below it "
        "(default with a session: its worktree)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="the .tgz or .deb file, or a directory for it; for dkms the directory the "
        "NAME-VERSION folder goes into (default: the current directory)",
    )
    parser.add_argument(
        "--release", metavar="RELEASE", help="check the modules are for this release"
    )
    parser.add_argument(
        "--subdir",
        default=DEFAULT_SUBDIR,
        metavar="NAME",
        help="folder under lib/modules/RELEASE (default: updates, which overrides the kernel's "
        "own modules in depmod's search order; extra/ would not)",
    )
    parser.add_argument(
        "--name",
        metavar="FOLDER",
        help="tgz: the top-level folder in the archive (default: patchsmith-modules-RELEASE)",
    )
    parser.add_argument(
        "--strip-debug",
        action="store_true",
        help="tgz and deb: ship the modules without their debug information, as make "
        "modules_install INSTALL_MOD_STRIP=1 does (strip --strip-debug; the drivers/md modules "
        "of a 6.1 cloud build: 41.8 MB -> 4.0 MB); a module the build signed needs "
        "--sign-key/--sign-cert then, since stripping drops its signature",
    )
    sign = parser.add_argument_group("signing (tgz and deb)")
    sign.add_argument(
        "--sign-key",
        metavar="KEY",
        help="sign every module with this private key (PEM, or a pkcs11: URI); the build's own "
        "files are left as they are",
    )
    sign.add_argument("--sign-cert", metavar="CERT", help="its X.509 certificate (PEM or DER)")
    sign.add_argument(
        "--kernel-dir",
        metavar="DIR",
        help="the target's build directory whose scripts/sign-file and .config "
        "(CONFIG_MODULE_SIG_HASH) sign (default: the one the session's build used)",
    )
    sign.add_argument(
        "--config", metavar="FILE", help="the target's config, for its hash (default: DIR/.config)"
    )
    debian = parser.add_argument_group("Debian and DKMS (deb, dkms, dkms-deb)")
    debian.add_argument(
        "--sub-release",
        metavar="VERSION",
        help="the upstream sub-release whose fixes the modules carry, the package's version "
        "(default: from the session's patch: its name, or its top-level Makefile's SUBLEVEL)",
    )
    debian.add_argument(
        "--build-number",
        type=int,
        default=1,
        metavar="N",
        help="counts rebuilds of one sub-release: the Debian revision (default 1)",
    )
    debian.add_argument(
        "--label",
        metavar="WORD",
        help="what the modules are, in the package name (default: from their names, e.g. dm)",
    )
    debian.add_argument(
        "--maintainer",
        metavar="'NAME <EMAIL>'",
        help="the Maintainer field (default: DEBFULLNAME and DEBEMAIL, as for dch, else the git "
        "identity)",
    )
    debian.add_argument(
        "--architecture",
        metavar="ARCH",
        help="deb: Debian's architecture name (default: from the modules' ELF machine)",
    )
    debian.add_argument(
        "--reload",
        action="store_true",
        help="deb: postinst/postrm replace the running kernel's loaded modules when nothing "
        "uses them (as install.sh does); without it the new modules load at the next boot",
    )
    debian.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="dkms: a module folder of the tree to take the sources from (default: the folders "
        "the session's build built); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(run=run)


@record
class _Build:
    """What the session's last build says, and what the session says about the patch."""

    modules: tuple[Path, ...]
    worktree: Path | None
    kernel_dir: Path | None
    dirs: tuple[str, ...]
    provenance: Provenance | None


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    modules = [Path(name) for name in args.modules]
    base = Path(args.base) if args.base else None
    kernel_dir = Path(args.kernel_dir) if args.kernel_dir else None
    dirs = tuple(args.dir)
    provenance: Provenance | None = None
    if not modules or args.session:
        built = _last_build(args.session)
        if built is None:
            return int(ExitCode.ATTENTION)
        if not modules:
            modules = list(built.modules)
            base = base or built.worktree
        # Built in the tree: the worktree is the build directory with sign-file and .config.
        kernel_dir = kernel_dir or built.kernel_dir or built.worktree
        dirs = dirs or built.dirs
        provenance = built.provenance
    output = Path(args.output) if args.output else Path.cwd()
    result = _package(args, modules, output, base, kernel_dir, dirs, provenance)
    if args.json:
        print_json(result.to_json())
    else:
        _render(result)
    return int(ExitCode.OK)


def _check_options(args: argparse.Namespace) -> None:
    if (args.sign_key is None) != (args.sign_cert is None):
        raise UsageError(
            "--sign-key and --sign-cert go together",
            hint="the private key (PEM) and its certificate (PEM or DER)",
        )
    if args.sign_key and args.format in ("dkms", "dkms-deb"):
        raise UsageError(
            f"--format {args.format} does not take --sign-key: DKMS builds and signs on the "
            "target, with its own key",
            hint="DKMS signs with mok_signing_key/mok_certificate of /etc/dkms/framework.conf "
            "(default /var/lib/dkms/mok.key); a private key never goes into a package",
        )
    if args.strip_debug and args.format in ("dkms", "dkms-deb"):
        raise UsageError(
            f"--format {args.format} ships sources, not modules: there is nothing to strip",
            hint="DKMS builds on the target; its modules are stripped as that build decides",
        )
    if args.reload and args.format != "deb":
        raise UsageError("--reload is for --format deb (install.sh reloads by itself)")
    if args.dir and args.format not in ("dkms", "dkms-deb"):
        raise UsageError("--dir is for --format dkms and dkms-deb")
    if args.name and args.format != "tgz":
        raise UsageError("--name is for --format tgz; Debian and DKMS names come from --label")


def _package(
    args: argparse.Namespace,
    modules: list[Path],
    output: Path,
    base: Path | None,
    kernel_dir: Path | None,
    dirs: tuple[str, ...],
    provenance: Provenance | None,
) -> PackageResult:
    signer = None
    if args.sign_key:
        from patchsmith.ship.signing import prepare_signer

        if kernel_dir is None:
            raise UsageError(
                "--sign-key needs the target's build directory: its scripts/sign-file signs",
                hint="--kernel-dir /usr/src/linux-headers-RELEASE (the session's build "
                "remembers it)",
            )
        signer = prepare_signer(
            args.sign_key, args.sign_cert, kernel_dir=kernel_dir, config=args.config
        )
    if args.format == "tgz":
        return package_modules(
            modules,
            output,
            base=base,
            release=args.release,
            subdir=args.subdir,
            folder=args.name,
            signer=signer,
            provenance=provenance,
            strip_debug=args.strip_debug,
        )
    from patchsmith.ship.debian import DebianOptions, package_deb

    sub_release = args.sub_release or (provenance.sub_release if provenance else None)
    if sub_release is None:
        raise UsageError(
            f"--format {args.format} needs the sub-release the modules carry (the version)",
            hint="pass --sub-release 6.1.187 (patchsmith reads it from the session's patch "
            "name or its top-level Makefile when it can)",
        )
    if args.format in ("dkms", "dkms-deb"):
        if base is None:
            raise UsageError(
                f"--format {args.format} needs the tree the modules were built in",
                hint="run in the session, or pass --base DIR and --dir for its module folders",
            )
        if not dirs:
            raise UsageError(
                f"--format {args.format} needs the module folders to take the sources from",
                hint="pass --dir drivers/md (the session's build names them)",
            )
    if args.format == "dkms":
        from patchsmith.ship.dkms import package_dkms

        return package_dkms(
            modules,
            output,
            base=base or Path.cwd(),
            dirs=dirs,
            sub_release=sub_release,
            build_number=args.build_number,
            label=args.label,
            release=args.release,
            provenance=provenance,
        )
    options = DebianOptions(
        maintainer=args.maintainer or _default_maintainer(),
        sub_release=sub_release,
        build_number=args.build_number,
        label=args.label,
        reload=args.reload,
        architecture=args.architecture,
    )
    if args.format == "dkms-deb":
        from patchsmith.ship.dkms import package_dkms_deb

        return package_dkms_deb(
            modules,
            output,
            options,
            base=base or Path.cwd(),
            dirs=dirs,
            release=args.release,
            provenance=provenance,
        )
    return package_deb(
        modules,
        output,
        options,
        base=base,
        release=args.release,
        subdir=args.subdir,
        signer=signer,
        provenance=provenance,
        strip_debug=args.strip_debug,
    )


def _default_maintainer() -> str:
    """DEBFULLNAME and DEBEMAIL (or DEBEMAIL as 'Name <address>'), as dch reads them; else the
    git identity patchsmith commits with."""
    name = os.environ.get("DEBFULLNAME", "").strip()
    email = os.environ.get("DEBEMAIL", "").strip()
    if email and "<" in email:
        return email
    if not (name and email):
        from patchsmith.workspace.git import identity

        git_name, git_email = identity()
        name = name or git_name
        email = email or git_email
    return f"{name} <{email}>"


def _render(result: PackageResult) -> None:
    out = sys.stdout
    version = f" {result.version}" if result.version else ""
    out.write(
        f"wrote {result.output}: {result.format} {result.name}{version}, "
        f"{len(result.modules)} modules for {result.release}\n"
    )
    for module in result.modules:
        signed = "  signed" if module.signed else ""
        out.write(f"  {module.path}  {module.sha256[:16]}  {module.vermagic}{signed}\n")
    if result.module_set.debug_stripped:
        size = sum(module.size for module in result.modules)
        out.write(f"debug information stripped (strip --strip-debug): {size:,} bytes of modules\n")
    signer = result.module_set.signer
    if signer is not None:
        out.write(f"signed with {signer.subject or signer.cert} ({signer.hash})\n")
    folder = result.output.name
    hints = {
        "tgz": f"install on the target: tar xzf {folder} && "
        f"sh -e {result.name}/install.sh --dry-run",
        "deb": f"install on the target: apt install ./{folder}  (or dpkg -i {folder})",
        "dkms": f"on the target: dkms add ./{folder} && dkms install {result.name}/"
        f"{result.version} -k {result.release} --force  (--force: it replaces the kernel's "
        "own modules of the same version)",
        "dkms-deb": f"install on the target: apt install ./{folder}  (DKMS builds it there)",
    }
    out.write(hints[result.format] + "\n")


def _last_build(session: str | None) -> _Build | None:
    from patchsmith.cli.build import BUILD_RESULT
    from patchsmith.workspace.session import SessionStore

    try:
        store = SessionStore.open(Path(session)) if session else SessionStore.find(Path.cwd())
    except (SessionError, GitError) as error:
        raise UsageError(
            f"no module files given and no session found: {error.message}",
            hint="pass the .ko files, or run in a session's worktree after 'patchsmith build'",
        ) from error
    path = store.path.parent / BUILD_RESULT
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise UsageError(
            f"{path}: no build result in this session",
            hint="run 'patchsmith build' first",
        ) from error
    except OSError as error:
        raise UsageError(
            f"{path}: cannot read the session's build result ({error.strerror or error})",
            hint="check that you may read the session's folder, or pass the .ko files",
        ) from error
    except ValueError as error:
        document = error  # said below, with the other damage
    if not _build_document(document):
        raise UsageError(
            f"{path} is not a build result patchsmith wrote (damaged or edited)",
            hint="run 'patchsmith build' again, or pass the .ko files",
        )
    assert isinstance(document, dict)
    if not document.get("ok"):
        sys.stderr.write(
            f"patchsmith: the last build failed ({document.get('message', '?')}); nothing to "
            "package\nhint: fix the errors and run 'patchsmith build' again\n"
        )
        return None
    worktree = document.get("worktree")
    kernel_dir = document.get("kernel_dir")
    dirs = tuple(step["directory"] for step in document.get("steps", []) if step.get("directory"))
    return _Build(
        modules=tuple(Path(p) for p in document.get("modules", [])),
        worktree=Path(worktree) if worktree else None,
        kernel_dir=Path(kernel_dir) if kernel_dir else None,
        dirs=dirs,
        provenance=session_provenance(store, Path(worktree) if worktree else None),
    )


def _build_document(document: object) -> bool:
    """Whether ``build.json`` has the shape ``build`` writes: an object whose module list,
    worktree, kernel directory and steps are what their names say (a list of modules taken
    for a string would package each character)."""
    if not isinstance(document, dict):
        return False
    modules = document.get("modules", [])
    steps = document.get("steps", [])
    return (
        isinstance(modules, list)
        and all(isinstance(m, str) for m in modules)
        and all(isinstance(document.get(k), str | None) for k in ("worktree", "kernel_dir"))
        and isinstance(steps, list)
        and all(isinstance(step, dict) for step in steps)
    )


def session_provenance(store: Any, worktree: Path | None) -> Provenance:
    """The session's facts for the manifest (read through its public API)."""
    from patchsmith.ship.debian import sub_release_of_patch
    from patchsmith.workspace import git

    session = store.load()
    commit: str | None = None
    if worktree is not None:
        try:
            commit = git.head(worktree)
        except GitError:
            commit = None
    sub_release = sub_release_of_patch(session.patch.name, _patch_bytes(session.patch))
    notes = tuple(
        ResolutionNote(
            hunk=hunk.id,
            status=str(hunk.status),
            resolution="reused" if hunk.reused else str(hunk.resolution),
            reason=hunk.resolution_reason,
            by=hunk.resolved_by,
            at=hunk.resolved_at,
        )
        for hunk in session.hunks
        if hunk.resolution is not None
    )
    return Provenance(
        patch_name=session.patch.name,
        patch_sha256=session.patch.sha256,
        sub_release=sub_release,
        commit=commit,
        counts=session.counts,
        resolutions=notes,
    )


def _patch_bytes(patch: Any) -> bytes | None:
    """The session's patch as it was applied, when its file is still there unchanged (its
    sha256 must match: another file at the same path says nothing about this patch)."""
    import hashlib

    from patchsmith.patchfile.source import read_sources

    if not patch.paths or not all(Path(name).exists() for name in patch.paths):
        return None  # read from stdin, or moved since
    try:
        sources = read_sources(list(patch.paths))
    except (InputError, OSError):
        return None
    data = b"".join(source.data for source in sources)
    if hashlib.sha256(data).hexdigest() != patch.sha256:
        return None
    return data

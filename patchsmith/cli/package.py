"""``patchsmith package``: a ``.tgz`` of the built modules with a manifest and an install script.

A thin front end over :func:`patchsmith.kernel.package.package_modules`. The modules are the ones
named on the command line, or the last successful ``patchsmith build`` of the session
(``build.json`` in the session directory). Exit 0 when the package was written, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from patchsmith.cli.common import print_json
from patchsmith.errors import GitError, SessionError, UsageError
from patchsmith.kernel.package import DEFAULT_SUBDIR, package_modules
from patchsmith.model import ExitCode


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "package",
        help="pack the built modules with a manifest and an install script",
        description="Write a .tgz holding the built modules laid out as "
        "lib/modules/RELEASE/updates/..., a MANIFEST (path, sha256, vermagic of each module; "
        "MANIFEST.json too) and install.sh, a POSIX sh script that unloads the affected modules "
        "if nothing else uses them (and stops if something does), installs the files, runs "
        "depmod, loads them again and says what it did; idempotent, with --dry-run and --root.",
        epilog="examples:\n"
        "  patchsmith package -o dm-fix.tgz\n"
        "  patchsmith package build/drivers/md/*.ko --base build -o dm-fix.tgz\n"
        "then on the target:\n"
        "  tar xzf dm-fix.tgz && sh -e patchsmith-modules-RELEASE/install.sh --dry-run\n\n"
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
        "--base",
        metavar="DIR",
        help="the tree the modules were built in: they keep their path below it "
        "(default with a session: its worktree)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the .tgz, or a directory for FOLDER.tgz (default: the current directory)",
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
        help="the top-level folder in the archive (default: patchsmith-modules-RELEASE)",
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    modules = [Path(name) for name in args.modules]
    base = Path(args.base) if args.base else None
    if not modules:
        built, worktree = _last_build(args.session)
        if built is None:
            return int(ExitCode.ATTENTION)
        modules = built
        base = base or worktree
    output = Path(args.output) if args.output else Path.cwd()
    result = package_modules(
        modules,
        output,
        base=base,
        release=args.release,
        subdir=args.subdir,
        folder=args.name,
    )
    if args.json:
        print_json(result.to_json())
    else:
        sys.stdout.write(
            f"wrote {result.archive}: {len(result.modules)} modules for {result.release}\n"
        )
        for module in result.modules:
            sys.stdout.write(f"  {module.path}  {module.sha256[:16]}  {module.vermagic}\n")
        sys.stdout.write(
            f"install on the target: tar xzf {result.archive.name} && "
            f"sh -e {result.folder}/install.sh --dry-run\n"
        )
    return int(ExitCode.OK)


def _last_build(session: str | None) -> tuple[list[Path] | None, Path | None]:
    from patchsmith.cli.build import BUILD_RESULT
    from patchsmith.workspace.session import SessionStore

    try:
        store = SessionStore.open(Path(session)) if session else SessionStore.find(Path.cwd())
    except (SessionError, GitError) as error:
        raise UsageError(
            "no module files given and no session found",
            hint="pass the .ko files, or run in a session's worktree after 'patchsmith build'",
        ) from error
    path = store.path.parent / BUILD_RESULT
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(
            f"{path}: no build result in this session",
            hint="run 'patchsmith build' first",
        ) from error
    if not document.get("ok"):
        sys.stderr.write(
            f"patchsmith: the last build failed ({document.get('message', '?')}); nothing to "
            "package\nhint: fix the errors and run 'patchsmith build' again\n"
        )
        return None, None
    worktree = document.get("worktree")
    return [Path(p) for p in document.get("modules", [])], Path(worktree) if worktree else None

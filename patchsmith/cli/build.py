"""``patchsmith build``: the build gate, then Kbuild on the kept module directories.

A thin front end over :mod:`patchsmith.ship.build`. With a session (found from the current
directory, or ``--session``) the gate asks the session what is open and refuses while anything
is; then the sparse worktree is filled in and each kept module directory is built in the tree or,
with ``--kernel-dir``, out of tree against a prepared build directory. The full log and the result
(``build.json``) go to the session's directory, where ``patchsmith package`` and the report find
them. ``--worktree DIR`` builds a plain directory without a session (no gate: nothing to resolve).

Exit 0 when the build succeeded, 1 when the gate is closed or the build failed, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import print_json
from patchsmith.errors import GateError, GitError, SessionError, UsageError
from patchsmith.model import ExitCode
from patchsmith.paths import readable_folder
from patchsmith.ship.build import (
    BuildProgress,
    BuildRequest,
    BuildResult,
    HunkSpan,
    check_gate,
    module_dirs_for,
    run_build,
)

BUILD_LOG = "build.log"
BUILD_RESULT = "build.json"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build",
        help=COMMANDS["build"],
        description="Refuse while any hunk is unresolved, a .rej file is left or a touched file "
        "holds a conflict marker; otherwise build the module directories the kept hunks touch: "
        "'make -C WORKTREE M=WORKTREE/DIR modules' in the worktree (filled in first if it is "
        "sparse), or with --kernel-dir 'make -C KERNEL_DIR M=WORKTREE/DIR modules' against a "
        "prepared build directory such as Debian's linux-headers package. The full log is kept; "
        "compiler errors are mapped back to the hunks that wrote those lines.",
        epilog="examples:\n"
        "  patchsmith build --kernel-dir /usr/src/linux-headers-$(uname -r)\n"
        "  patchsmith build --cc gcc-4.0 -j4 --config /boot/config-2.6.16-xenU\n"
        "  patchsmith build --worktree ./my-module --kernel-dir /lib/modules/$(uname -r)/build\n"
        "  patchsmith build --kernel-dir /usr/src/linux-headers-RELEASE --sign-key MOK.priv "
        "--sign-cert MOK.der\n\n"
        "Exit codes: 0 built, 1 gate closed or build failed, 2 bad usage or input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("what to build")
    where.add_argument(
        "--session",
        metavar="PATH",
        help="the session (its worktree or session.json); default: the one the current "
        "directory is in",
    )
    where.add_argument(
        "--worktree",
        metavar="DIR",
        help="build this directory without a session (no gate); with --dir, or '.' by default",
    )
    where.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a module directory to build, relative to the worktree (default: the directories "
        "of the kept hunks); repeatable",
    )
    how = parser.add_argument_group("how")
    how.add_argument(
        "--kernel-dir",
        metavar="DIR",
        help="build out of tree against this prepared kernel build directory",
    )
    how.add_argument("--cc", metavar="CC", help="the compiler (make CC=...), e.g. gcc-4.0")
    how.add_argument("-j", "--jobs", type=int, metavar="N", help="parallel jobs (default: CPUs)")
    how.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="GOAL",
        help="make goal instead of 'modules'; repeatable",
    )
    how.add_argument(
        "--config",
        metavar="FILE",
        help="the kernel config for an in-tree build (copied to WORKTREE/.config)",
    )
    how.add_argument(
        "--make-arg",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="another argument for make (ARCH=i386); repeatable",
    )
    sign = parser.add_argument_group("signing")
    sign.add_argument(
        "--sign-key",
        metavar="KEY",
        help="sign every built module with this private key (PEM, or a pkcs11: URI), using the "
        "build directory's scripts/sign-file and the config's CONFIG_MODULE_SIG_HASH",
    )
    sign.add_argument("--sign-cert", metavar="CERT", help="its X.509 certificate (PEM or DER)")
    parser.add_argument("--log", metavar="FILE", help="where the full log goes")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show make's output as it runs"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.session and args.worktree:
        raise UsageError("give --session or --worktree, not both")
    kernel_dir = Path(args.kernel_dir) if args.kernel_dir else None
    targets = tuple(args.target) or ("modules",)
    hunk_map: Mapping[str, Sequence[HunkSpan]] | None = None
    result_path: Path | None = None
    if args.worktree:
        worktree = Path(args.worktree)
        readable_folder(worktree, f"--worktree {worktree}", hint="pass the folder to build")
        dirs = tuple(args.dir) or (".",)
        log = Path(args.log) if args.log else worktree / ".patchsmith-build.log"
    else:
        opened = _open_session(args)
        if opened is None:
            return int(ExitCode.ATTENTION)
        worktree, dirs, session_dir, hunk_map = opened
        log = Path(args.log) if args.log else session_dir / BUILD_LOG
        result_path = session_dir / BUILD_RESULT
    request = BuildRequest(
        worktree=worktree,
        module_dirs=dirs,
        log_path=log,
        kernel_dir=kernel_dir,
        cc=args.cc,
        jobs=args.jobs,
        targets=targets,
        config=Path(args.config) if args.config else None,
        extra_args=tuple(args.make_arg),
        sign_key=args.sign_key,
        sign_cert=Path(args.sign_cert) if args.sign_cert else None,
    )
    result = _run_with_progress(request, hunk_map, verbose=args.verbose, quiet=args.json)
    if result_path is not None:
        result_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    if args.json:
        print_json(result.to_json())
    else:
        render(result)
    return int(ExitCode.OK if result.ok else ExitCode.ATTENTION)


def _open_session(
    args: argparse.Namespace,
) -> tuple[Path, tuple[str, ...], Path, Mapping[str, Sequence[HunkSpan]]] | None:
    """The gate and the session's facts; ``None`` (after saying why) when the gate is closed."""
    from patchsmith.workspace.apply import materialise
    from patchsmith.workspace.session import SessionStore

    try:
        store = (
            SessionStore.open(Path(args.session)) if args.session else SessionStore.find(Path.cwd())
        )
    except (SessionError, GitError) as error:
        raise UsageError(
            f"no session to build: {error.message}",
            hint="run inside the worktree 'patchsmith apply' made, pass --session PATH, or build "
            "a plain directory with --worktree DIR",
        ) from error
    try:
        check_gate(store)
    except GateError as error:
        if args.json:
            print_json({"ok": False, "gate": "closed", "open_items": error.open_items})
        else:
            sys.stderr.write(f"patchsmith: {error.message}\n")
            for item in error.open_items:
                sys.stderr.write(f"  {item}\n")
            if error.hint:
                sys.stderr.write(f"hint: {error.hint}\n")
        return None
    session = store.load()
    worktree = Path(session.worktree)
    tree = Path(session.tree)
    dirs = tuple(args.dir) or module_dirs_for(session.touched, tree)
    if not dirs:
        raise UsageError(
            "the kept hunks touch no module directory (no Kbuild/Makefile above them)",
            hint="name the directories to build with --dir",
        )
    # A sparse worktree holds only the touched files; Kbuild needs the rest of each directory
    # (in tree: the whole tree).
    materialise(session)
    return worktree, dirs, store.path.parent, _hunk_map(session)


def _hunk_map(session: Any) -> dict[str, list[HunkSpan]]:
    """Where each written hunk sits in its worktree file now, as well as the session knows."""
    spans: dict[str, list[HunkSpan]] = {}
    for hunk in session.hunks:
        first: int | None = None
        count = 0
        if hunk.written is not None and hunk.current is not None:
            first = hunk.current.start
            count = len(hunk.written.splitlines())
        elif hunk.applied and hunk.found_line is not None:
            first = hunk.found_line
            count = len(hunk.post_image.splitlines())
        if first is not None:
            spans.setdefault(hunk.path, []).append(
                HunkSpan(hunk.id, first, first + max(count, 1) - 1)
            )
    return spans


def _run_with_progress(
    request: BuildRequest,
    hunk_map: Mapping[str, Sequence[HunkSpan]] | None,
    *,
    verbose: bool,
    quiet: bool,
) -> BuildResult:
    if verbose and not quiet:

        def echo(event: BuildProgress) -> None:
            sys.stderr.write(event.line + "\n")

        return run_build(request, progress=echo, hunk_map=hunk_map)
    if quiet or not sys.stderr.isatty():
        return run_build(request, hunk_map=hunk_map)
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    with console.status("make ...") as status:

        def show(event: BuildProgress) -> None:
            where = event.directory or "preparing the tree"
            status.update(
                f"[{event.step}/{event.steps}] {where}: {event.compiled} objects compiled"
            )

        return run_build(request, progress=show, hunk_map=hunk_map)


def render(result: BuildResult) -> None:
    out = sys.stdout
    state = "built" if result.ok else "FAILED"
    out.write(f"{state}: {result.message}\n")
    for module in result.relative_modules():
        out.write(f"  {module}\n")
    if result.signer is not None:
        who = result.signer.subject or str(result.signer.cert)
        out.write(f"signed with {who} ({result.signer.hash})\n")
    for error in result.errors:
        hunks = f"  (hunk {', '.join(error.hunks)})" if error.hunks else ""
        out.write(f"error: {error.location}: {error.message}{hunks}\n")
    if result.warnings:
        out.write(f"{len(result.warnings)} warnings\n")
    out.write(f"log: {result.log_path}\n")

"""``patchsmith demo``: the whole job on the bundled scenario, narrated.

It copies ``fixtures/demo`` to a scratch folder and runs the same commands a user would type, in
pipeline order, printing each before it runs. When stdin and stdout are a terminal it ends in the
resolution TUI; otherwise it prints the session summary, so it never hangs a script.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from patchsmith.errors import InputError, OutputError

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole job on the bundled example scenario",
        description="Copy the bundled scenario (fixtures/demo: a vendor tree, its vanilla base, "
        "an upstream sub-release patch and a .config) to a scratch folder and run ls, filter, "
        "check, apply and resolve on it, showing each command first.",
    )
    parser.add_argument(
        "--workdir", metavar="DIR", help="where to copy the scenario (default: a new temp folder)"
    )
    parser.add_argument(
        "--no-tui", action="store_true", help="print the session summary instead of opening the TUI"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from patchsmith.cli import main

    if not DEMO.is_dir():
        raise InputError(
            f"the demo scenario is missing: {DEMO}",
            hint="run the demo from a checkout of the patchsmith repository (make demo)",
        )
    try:
        work = (
            Path(args.workdir)
            if args.workdir
            else Path(tempfile.mkdtemp(prefix="patchsmith-demo-"))
        )
        work.mkdir(parents=True, exist_ok=True)
        for name in ("vendor", "vanilla"):
            shutil.copytree(DEMO / name, work / name, dirs_exist_ok=True, symlinks=True)
        for name in ("patch-6.1.999.diff", "config"):
            shutil.copy2(DEMO / name, work / name)
    except OSError as error:  # shutil.Error is one too
        where = args.workdir or tempfile.gettempdir()
        reason = getattr(error, "strerror", None) or error
        raise OutputError(
            f"cannot copy the demo scenario to {where}: {reason}",
            hint="pass --workdir DIR somewhere you may write",
        ) from error
    patch, tree, config = (
        str(work / "patch-6.1.999.diff"),
        str(work / "vendor"),
        str(work / "config"),
    )
    kbuild = ["--tree", tree, "--config", config]
    worktree = str(work / "worktree")
    session = ["--session", worktree]
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.no_tui
    steps: list[list[str]] = [
        ["ls", "--hunks", patch, *kbuild],
        ["filter", patch, "--modules-only", *kbuild, "--explain", "-o", str(work / "md.patch")],
        ["check", patch, "--modules-only", *kbuild],
        [
            "apply",
            patch,
            "--modules-only",
            *kbuild,
            "--base",
            str(work / "vanilla"),
            "--worktree",
            worktree,
        ],
        ["status", *session],
    ]
    if interactive:
        steps.append(["resolve", *session])
    steps.append(["report", "--format", "html", "-o", str(work / "report.html"), *session])
    sys.stdout.write(f"# the demo scenario is in {work}\n")
    for step in steps:
        sys.stdout.write(f"\n$ patchsmith {' '.join(step)}\n")
        sys.stdout.flush()
        code = main(step)
        sys.stdout.write(f"# exit code {code}\n")
        if code >= 2:
            return code
    from patchsmith.workspace.session import SessionStore

    still_open = SessionStore.open(Path(worktree)).open_items()
    if interactive:
        main(["status", *session])
    sys.stdout.write(
        f"\n# the review report: {work / 'report.html'}\n"
        + (
            "# everything is resolved: 'patchsmith finish --session "
            f"{worktree}' writes the combined patch\n"
            if not still_open
            else f"# to resolve what is open: patchsmith resolve --session {worktree}\n"
            "#   (the TUI; or 'patchsmith resolve HUNK --accept|--upstream|--drop|--edit')\n"
        )
    )
    return 0

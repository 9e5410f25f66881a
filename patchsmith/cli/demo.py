"""``patchsmith demo``: the whole job on the bundled scenario, narrated.

It copies ``fixtures/demo`` (or, installed, the package's copy of it) to a scratch folder and
runs the same commands a user would type, in pipeline order, printing each before it runs. When
stdin and stdout are a terminal it ends in the resolution TUI; otherwise it prints the session
summary, so it never hangs a script.

The demo keeps patchsmith's data (resolution memory, the repository of the plain vendor tree)
in the scratch folder, not in the user's ``$XDG_DATA_HOME``: a decision made in one demo is
never replayed in another, so every run shows its conflict, and the demo leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from patchsmith.cli.demo_scenario import copy_scenario
from patchsmith.errors import OutputError, UsageError


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
    try:
        work = (
            Path(args.workdir)
            if args.workdir
            else Path(tempfile.mkdtemp(prefix="patchsmith-demo-"))
        )
        if work.exists() and (not work.is_dir() or any(work.iterdir())):
            raise UsageError(
                f"--workdir {work} is not an empty folder",
                hint="pass a new folder (or none: a temp folder)",
            )
        work.mkdir(parents=True, exist_ok=True)
        copy_scenario(work)
    except OSError as error:  # shutil.Error is one too
        where = args.workdir or tempfile.gettempdir()
        reason = getattr(error, "strerror", None) or error
        raise OutputError(
            f"cannot copy the demo scenario to {where}: {reason}",
            hint="pass --workdir DIR somewhere you may write",
        ) from error
    with _data_home(work / "data"):
        return _steps(
            work, interactive=sys.stdin.isatty() and sys.stdout.isatty() and not args.no_tui
        )


@contextlib.contextmanager
def _data_home(folder: Path) -> Iterator[None]:
    """The demo's own ``XDG_DATA_HOME`` for the commands it runs (put back afterwards)."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            del os.environ["XDG_DATA_HOME"]
        else:
            os.environ["XDG_DATA_HOME"] = before


def _steps(work: Path, interactive: bool) -> int:
    from patchsmith.cli import main

    patch, tree, config = (
        str(work / "patch-6.1.999.diff"),
        str(work / "vendor"),
        str(work / "config"),
    )
    kbuild = ["--tree", tree, "--config", config]
    worktree = str(work / "worktree")
    session = ["--session", worktree]
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
    data = work / "data"
    sys.stdout.write(
        f"# the demo scenario is in {work}\n"
        f"# patchsmith's data for it (resolution memory, the plain tree's repository) is in "
        f"{data}:\n# your own resolution memory is neither read nor written\n"
    )
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
            else "# to resolve what is open (with the demo's own memory):\n"
            f"#   XDG_DATA_HOME={data} patchsmith resolve --session {worktree}\n"
            "#   (the TUI; or 'patchsmith resolve HUNK --accept|--upstream|--drop|--edit')\n"
        )
    )
    return 0

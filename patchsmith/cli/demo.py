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

from patchsmith.cli import COMMANDS
from patchsmith.cli.demo_scenario import copy_scenario
from patchsmith.errors import OutputError, UsageError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=COMMANDS["demo"],
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
    parser.add_argument(
        "--ship",
        action="store_true",
        help="go on to the end: settle the conflict as fixtures/demo/README.md says (keep the "
        "vendor's check and upstream's, in one 'if'), finish, and preflight, build and package "
        "against Debian's cloud kernel headers (/usr/src/linux-headers-*-cloud-amd64) where "
        "they are installed; where they are not, or where /lib/modules has no module of the "
        "target kernel, it says so and skips that step",
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
        code = _steps(
            work, interactive=sys.stdin.isatty() and sys.stdout.isatty() and not args.no_tui
        )
        if code != 0:
            return code
        if not args.ship:
            headers = cloud_headers()
            where = f"found {headers}" if headers else "not installed here"
            sys.stdout.write(
                "# to go on to finish, build and package: patchsmith demo --ship (the build "
                f"needs Debian's cloud kernel headers: {where})\n"
            )
            return 0
        return _ship(work)


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


CONFLICT = "drivers/md/dm-snap.c#3"
"""The demo's one conflict: the vendor added ``dm_suspended(ti)`` to the check upstream
extends with ``s->merge_failed``."""
SETTLED = "\tif (!s->valid || s->merge_failed || dm_suspended(ti))\n"
"""What a person makes of it: both conditions (fixtures/demo/README.md)."""
_EDITOR_PROGRAM = (
    "import re, sys\n"
    "path = sys.argv[2]\n"
    "text = open(path, encoding='utf-8').read()\n"
    "text = re.sub(r'<<<<<<< .*?>>>>>>> [^\\n]*\\n', lambda _m: sys.argv[1], text, flags=re.S)\n"
    "open(path, 'w', encoding='utf-8').write(text)\n"
)
"""The demo's stand-in for a person at an editor: the conflict block becomes :data:`SETTLED`
(``resolve --edit`` appends the file to edit to the command, after the replacement)."""


def cloud_headers() -> Path | None:
    """The newest of Debian's cloud kernel headers in /usr/src that a module can be built
    against (versions compared as numbers: -100 is newer than -57)."""
    import re

    found = sorted(
        Path("/usr/src").glob("linux-headers-*-cloud-amd64"),
        key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"[.-]", p.name)],
    )
    usable = [p for p in found if (p / "Makefile").is_file() and (p / "Module.symvers").is_file()]
    return usable[-1] if usable else None


def _target_has_modules(release: str) -> bool:
    folder = Path("/lib/modules") / release
    return folder.is_dir() and any(
        name.endswith((".ko", ".ko.xz", ".ko.zst", ".ko.gz"))
        for _top, _dirs, names in os.walk(folder / "kernel")
        for name in names
    )


def _ship(work: Path) -> int:
    """After the report: settle the conflict, finish, then preflight, build and package where
    this machine can, saying what it skips and why."""
    import shlex

    from patchsmith.cli import main
    from patchsmith.workspace.session import SessionStore

    worktree = str(work / "worktree")
    session = ["--session", worktree]

    def step(*words: str) -> int:
        sys.stdout.write(f"\n$ patchsmith {' '.join(words)}\n")
        sys.stdout.flush()
        code = main(list(words))
        sys.stdout.write(f"# exit code {code}\n")
        return code

    store = SessionStore.open(Path(worktree))
    if any(hunk.id == CONFLICT for hunk in store.load().open_hunks):
        sys.stdout.write(
            f"\n# a person settles {CONFLICT} (the TUI, or resolve --edit in an editor); here the\n"
            f"# demo's editor does what fixtures/demo/README.md says: {SETTLED.strip()}\n"
        )
        editor = shlex.join([sys.executable, "-c", _EDITOR_PROGRAM, SETTLED])
        with _environment(VISUAL=editor, EDITOR=editor):
            code = step("resolve", CONFLICT, "--edit", *session)
        if code >= 2:
            return code
    if store.open_items():
        sys.stdout.write(
            "# something else is open (see 'patchsmith status'): finish, build and package "
            "wait for it\n"
        )
        return 1
    code = step("finish", *session, "-o", str(work / "carried.patch"))
    if code != 0:
        return code
    headers = cloud_headers()
    if headers is None:
        sys.stdout.write(
            "\n# preflight, build and package skipped: Debian's cloud kernel headers are not "
            "installed\n# (/usr/src/linux-headers-*-cloud-amd64; as root, "
            "sh .ci/install-kernel-headers installs them)\n"
        )
        return 0
    release = headers.name.removeprefix("linux-headers-")
    if _target_has_modules(release):
        code = step(
            "preflight", "--modules-dir", f"/lib/modules/{release}", "--kernel-dir", str(headers)
        )
        if code >= 2:
            return code
    else:
        sys.stdout.write(
            f"\n# preflight skipped: it reads a module of the target kernel, and "
            f"/lib/modules/{release} has none here\n# (on the target: patchsmith preflight "
            f"--modules-dir /lib/modules/{release} --kernel-dir {headers})\n"
        )
    code = step("build", *session, "--kernel-dir", str(headers))
    if code != 0:
        return code
    code = step("package", *session, "-o", str(work / "dm-modules.tgz"))
    if code == 0:
        sys.stdout.write(
            f"\n# built and packaged for {release}: {work / 'dm-modules.tgz'} (demo modules: "
            "for building and packaging, not for loading)\n"
        )
    return code


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """``values`` in the environment for the block (put back afterwards)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

"""Every path argument of every subcommand, given a path that cannot be what it names.

The table (:data:`ARGUMENTS`) lists each path argument once, with the rest of a command line
that works, and what the argument is: a file to read, a folder to read, a file to write whole,
a file whose folders are made, a folder to create, a session. Each is given each kind of bad
path (:data:`KINDS`): missing, a file where a folder is wanted, a folder where a file is
wanted, a path under a file, an unreadable file or folder (mode 000), a path behind a folder
that cannot be searched, a path in a read-only folder, and ``/proc/x`` (where nothing can be
made). Where the kind cannot be what the argument names, the command must end with exit 2, a
message naming the path and a hint; whatever the kind, never exit 3 or a traceback.

The table runs in a real process of its own: as root, with ``CAP_DAC_OVERRIDE`` and
``CAP_DAC_READ_SEARCH`` dropped (``setpriv``), so a mode-000 file is as unreadable to it as it
is to anyone else (root reads it regardless). One process runs every case through
``patchsmith.cli.main`` (a process per case would take minutes), each with its own standard
streams.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest

from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module
from tests.ship.test_preflight import _headers_dir
from tests.support.paths import DEMO, DEMO_PATCH, REPO
from tests.support.trees import git

# --- what each kind of bad path is ---------------------------------------------------------------

KINDS = (
    "missing",
    "file",
    "folder",
    "under-file",
    "unreadable-file",
    "unreadable-folder",
    "behind-unreadable",
    "unwritable",
    "proc",
)

EVERY = frozenset(KINDS)

# What each role of argument cannot take (exit 2 wanted); the other kinds may work or fail on
# their content, but never with exit 3.
IN_FILE = EVERY - {"file"}
"""A file to read (a patch, a config, a module, a key)."""
IN_DIR = EVERY - {"folder"}
"""A folder to read (a tree, a kernel build directory, a modules directory)."""
OUT_FILE = EVERY - {"file", "unreadable-file"}
"""A file written whole in an existing folder (``-o``): a file there is replaced."""
OUT_MADE = EVERY - {"missing", "file", "unreadable-file"}
"""A file whose folders are made when missing (``build --log``)."""
OUT_FILE_OR_DIR = EVERY - {"missing", "file", "unreadable-file", "folder"}
"""``package -o``: a file, or a folder to put it in; missing folders are made."""
OUT_DIR = EVERY - {"missing"}
"""A folder to create, or an empty one (``apply --worktree``)."""
OUT_DIR_FILLED = EVERY - {"missing", "folder"}
"""A folder to copy into, made when missing (``demo --workdir``)."""
SESSION = EVERY
"""A session: its worktree or its session.json."""


def make_kinds(root: Path, case: str) -> dict[str, Path]:
    """One path of each kind for one case. Each case has its own: a case may replace a file
    (``-o``), make a folder, or apply to a folder as a tree (whose session another case would
    then find)."""
    own = root / "cases" / case
    if not own.exists():
        own.mkdir(parents=True)
        (own / "a-file").write_text("not what was asked for\n")
        (own / "a-folder").mkdir()
        (own / "a-folder" / "inside.txt").write_text("something\n")
        (own / "unreadable-file").write_text("CONFIG_X=y\n")
        (own / "unreadable-file").chmod(0)
        (own / "unreadable-folder").mkdir()
        (own / "unreadable-folder" / "inside.txt").write_text("something\n")
        (own / "unreadable-folder").chmod(0)
    return {
        "missing": own / "missing" / "x",
        "file": own / "a-file",
        "folder": own / "a-folder",
        "under-file": own / "a-file" / "x",
        "unreadable-file": own / "unreadable-file",
        "unreadable-folder": own / "unreadable-folder",
        # Nothing can be made in these two: they are shared.
        "behind-unreadable": root / "locked" / "x",
        "unwritable": root / "read-only" / "x",
        "proc": Path("/proc/x"),
    }


def prepare_kinds(root: Path) -> None:
    (root / "locked" / "x").mkdir(parents=True)
    (root / "locked").chmod(0)
    (root / "read-only").mkdir()
    (root / "read-only").chmod(0o555)


def restore_modes(root: Path) -> None:
    """Give back the modes pytest needs to remove the folder."""
    for path in [root / "locked", root / "read-only", *root.glob("cases/*/unreadable-*")]:
        path.chmod(0o755)


# --- the table ---------------------------------------------------------------------------------

# Each argument: (name, command line with P for the path, what P cannot be). The rest of the
# command line is valid, so a refusal names P. Placeholders: PATCH, TREE (a plain tree), GIT (a
# git tree), CONFIG, VANILLA, OPEN (a session with open hunks), SETTLED (one with none), MODULE,
# HEADERS (a prepared kernel directory), KEY (any file), BUILD (a plain folder to build), NEW (a
# fresh path for the case), BRANCH (a fresh branch name). Not here: preflight --prefer and
# build/package --dir, which name folders inside another argument (drivers/md), not paths.
ARGUMENTS: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = (
    ("ls PATCH", ("ls", "P"), IN_FILE),
    ("ls --tree", ("ls", "PATCH", "--tree", "P", "--config", "CONFIG"), IN_DIR),
    ("ls --config", ("ls", "PATCH", "--tree", "TREE", "--config", "P"), IN_FILE),
    ("filter PATCH", ("filter", "P"), IN_FILE),
    ("filter -o", ("filter", "PATCH", "-o", "P"), OUT_FILE),
    ("filter -I", ("filter", "PATCH", "-I", "P"), IN_FILE),
    ("filter -X", ("filter", "PATCH", "-X", "P"), IN_FILE),
    (
        "filter --tree",
        ("filter", "PATCH", "--modules-only", "--tree", "P", "--config", "CONFIG"),
        IN_DIR,
    ),
    (
        "filter --config",
        ("filter", "PATCH", "--modules-only", "--tree", "TREE", "--config", "P"),
        IN_FILE,
    ),
    ("check PATCH", ("check", "P", "--tree", "TREE"), IN_FILE),
    ("check --tree", ("check", "PATCH", "--tree", "P"), IN_DIR),
    ("check --base", ("check", "PATCH", "--tree", "TREE", "--base", "P"), IN_DIR),
    (
        "check --config",
        ("check", "PATCH", "--tree", "TREE", "--modules-only", "--config", "P"),
        IN_FILE,
    ),
    ("check -o", ("check", "PATCH", "--tree", "TREE", "--report", "md", "-o", "P"), OUT_FILE),
    (
        "apply PATCH",
        ("apply", "P", "--tree", "TREE", "--worktree", "NEW", "--branch", "BRANCH"),
        IN_FILE,
    ),
    (
        "apply --tree",
        ("apply", "PATCH", "--tree", "P", "--worktree", "NEW", "--branch", "BRANCH"),
        IN_DIR,
    ),
    (
        "apply --worktree (plain tree)",
        ("apply", "PATCH", "--tree", "TREE", "--worktree", "P", "--branch", "BRANCH"),
        OUT_DIR,
    ),
    (
        "apply --worktree (git tree)",
        ("apply", "PATCH", "--tree", "GIT", "--worktree", "P", "--branch", "BRANCH"),
        OUT_DIR,
    ),
    (
        "apply --base",
        (
            "apply",
            "PATCH",
            "--tree",
            "TREE",
            "--worktree",
            "NEW",
            "--branch",
            "BRANCH",
            "--base",
            "P",
        ),
        # a file is taken for a tarball; this one is not one
        EVERY - {"folder"},
    ),
    (
        "apply --config",
        (
            "apply",
            "PATCH",
            "--tree",
            "TREE",
            "--worktree",
            "NEW",
            "--branch",
            "BRANCH",
            "--modules-only",
            "--config",
            "P",
        ),
        IN_FILE,
    ),
    ("status --session", ("status", "--session", "P"), SESSION),
    (
        "resolve --session",
        ("resolve", "drivers/md/dm-snap.c#3", "--accept", "--session", "P"),
        SESSION,
    ),
    ("tui --session", ("tui", "--session", "P"), SESSION),
    ("abort --session", ("abort", "--session", "P"), SESSION),
    ("finish --session", ("finish", "--session", "P"), SESSION),
    ("finish -o", ("finish", "--session", "SETTLED", "-o", "P"), OUT_FILE),
    ("report --session", ("report", "--format", "md", "--session", "P"), SESSION),
    ("report -o", ("report", "--format", "md", "--session", "OPEN", "-o", "P"), OUT_FILE),
    ("preflight --ko", ("preflight", "--ko", "P", "--kernel-dir", "HEADERS"), IN_FILE),
    (
        "preflight --modules-dir",
        ("preflight", "--modules-dir", "P", "--kernel-dir", "HEADERS"),
        IN_DIR,
    ),
    ("preflight --kernel-dir", ("preflight", "--ko", "MODULE", "--kernel-dir", "P"), IN_DIR),
    ("preflight --tree", ("preflight", "--ko", "MODULE", "--tree", "P"), IN_DIR),
    (
        "preflight --config",
        ("preflight", "--ko", "MODULE", "--kernel-dir", "HEADERS", "--config", "P"),
        IN_FILE,
    ),
    (
        "preflight --cmdline",
        ("preflight", "--ko", "MODULE", "--kernel-dir", "HEADERS", "--cmdline", "P"),
        IN_FILE,
    ),
    (
        "preflight --sign-key",
        (
            "preflight",
            "--ko",
            "MODULE",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "P",
            "--sign-cert",
            "KEY",
        ),
        IN_FILE,
    ),
    (
        "preflight --sign-cert",
        (
            "preflight",
            "--ko",
            "MODULE",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "KEY",
            "--sign-cert",
            "P",
        ),
        IN_FILE,
    ),
    ("build --session", ("build", "--session", "P"), SESSION),
    ("build --worktree", ("build", "--worktree", "P"), IN_DIR),
    ("build --log", ("build", "--worktree", "BUILD", "--log", "P"), OUT_MADE),
    ("build --kernel-dir", ("build", "--worktree", "BUILD", "--kernel-dir", "P"), IN_DIR),
    ("build --config", ("build", "--worktree", "BUILD", "--config", "P"), IN_FILE),
    (
        "build --sign-key",
        (
            "build",
            "--worktree",
            "BUILD",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "P",
            "--sign-cert",
            "KEY",
        ),
        IN_FILE,
    ),
    (
        "build --sign-cert",
        (
            "build",
            "--worktree",
            "BUILD",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "KEY",
            "--sign-cert",
            "P",
        ),
        IN_FILE,
    ),
    ("package KO", ("package", "P", "-o", "NEW"), IN_FILE),
    ("package -o", ("package", "MODULE", "-o", "P"), OUT_FILE_OR_DIR),
    ("package --base", ("package", "MODULE", "-o", "NEW", "--base", "P"), IN_DIR),
    ("package --session", ("package", "--session", "P", "-o", "NEW"), SESSION),
    (
        "package --sign-key",
        (
            "package",
            "MODULE",
            "-o",
            "NEW",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "P",
            "--sign-cert",
            "KEY",
        ),
        IN_FILE,
    ),
    (
        "package --sign-cert",
        (
            "package",
            "MODULE",
            "-o",
            "NEW",
            "--kernel-dir",
            "HEADERS",
            "--sign-key",
            "KEY",
            "--sign-cert",
            "P",
        ),
        IN_FILE,
    ),
    (
        "package --kernel-dir",
        (
            "package",
            "MODULE",
            "-o",
            "NEW",
            "--kernel-dir",
            "P",
            "--sign-key",
            "KEY",
            "--sign-cert",
            "KEY",
        ),
        IN_DIR,
    ),
    (
        "package --config",
        (
            "package",
            "MODULE",
            "-o",
            "NEW",
            "--kernel-dir",
            "HEADERS",
            "--config",
            "P",
            "--sign-key",
            "KEY",
            "--sign-cert",
            "KEY",
        ),
        IN_FILE,
    ),
    ("demo --workdir", ("demo", "--no-tui", "--workdir", "P"), OUT_DIR_FILLED),
)


# --- the scene ---------------------------------------------------------------------------------


def _cli(*args: str) -> None:
    from patchsmith.cli import main

    code = main(list(args))
    assert code in (0, 1), args


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Sessions, trees and files every case uses, made once (with a home of their own: the
    per-test one of conftest.py does not exist yet at module scope)."""
    root = tmp_path_factory.mktemp("paths")
    home = root / "home"
    environment = {
        "HOME": str(home),
        **{name: str(home / name.lower()) for name in XDG},
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Patchsmith Test",
        "GIT_AUTHOR_EMAIL": "test@patchsmith.invalid",
        "GIT_COMMITTER_NAME": "Patchsmith Test",
        "GIT_COMMITTER_EMAIL": "test@patchsmith.invalid",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        yield _build_scene(root, environment)
    restore_modes(root)


XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def _build_scene(root: Path, environment: dict[str, str]) -> dict[str, str]:
    shutil.copytree(DEMO / "vendor", root / "tree", symlinks=True)
    shutil.copytree(DEMO / "vanilla", root / "vanilla", symlinks=True)
    shutil.copytree(DEMO / "vendor", root / "git", symlinks=True)
    git(root / "git", "init", "-q")
    git(root / "git", "add", "-A")
    git(root / "git", "commit", "-q", "-m", "vendor")
    shutil.copytree(DEMO / "vendor", root / "tree-open", symlinks=True)
    _cli(
        "apply",
        str(DEMO_PATCH),
        "--tree",
        str(root / "tree-open"),
        "--worktree",
        str(root / "open"),
    )
    shutil.copytree(DEMO / "vendor", root / "tree-settled", symlinks=True)
    _cli(
        "apply",
        str(DEMO_PATCH),
        "--tree",
        str(root / "tree-settled"),
        "--worktree",
        str(root / "settled"),
    )
    for hunk in _open_hunks(root / "settled"):
        _cli("resolve", hunk, "--upstream", "--session", str(root / "settled"))
    assert _open_hunks(root / "settled") == []
    modules = root / "modules" / "kernel" / "drivers" / "md"
    modules.mkdir(parents=True)
    module = craft_module(modules / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    (root / "build").mkdir()
    (root / "build" / "Makefile").write_text("obj-m += x.o\n")
    (root / "key").write_text("not a key\n")
    prepare_kinds(root)
    return {
        "ENV": json.dumps(environment),
        "ROOT": str(root),
        "PATCH": str(DEMO_PATCH),
        "TREE": str(root / "tree"),
        "GIT": str(root / "git"),
        "CONFIG": str(DEMO / "config"),
        "VANILLA": str(root / "vanilla"),
        "OPEN": str(root / "open"),
        "SETTLED": str(root / "settled"),
        "MODULE": str(module),
        "MODULES": str(root / "modules"),
        "HEADERS": str(_signing_headers(root / "headers")),
        "KEY": str(root / "key"),
        "BUILD": str(root / "build"),
    }


def _signing_headers(root: Path) -> Path:
    """A prepared kernel directory with a scripts/sign-file (one that signs nothing), so that
    signing gets as far as the key, the certificate and the config."""
    _headers_dir(root)
    (root / "scripts").mkdir()
    (root / "scripts" / "sign-file").write_text("#!/bin/sh\nexit 1\n")
    (root / "scripts" / "sign-file").chmod(0o755)
    return root


def _open_hunks(worktree: Path) -> list[str]:
    from patchsmith.workspace.session import SessionStore

    session = SessionStore.open(worktree).load()
    return sorted({hunk.id for hunk in session.hunks if hunk.open})


class PathCase(TypedDict):
    """One command line with one bad path: which argument, what kind of bad, whether exit 2 is
    owed (``bad``), and the argument list."""

    name: str
    kind: str
    path: str
    args: list[str]
    bad: bool


def _cases(scene: dict[str, str]) -> list[PathCase]:
    root = Path(scene["ROOT"])
    cases: list[PathCase] = []
    for number, (name, template, bad) in enumerate(ARGUMENTS):
        for kind in KINDS:
            case = f"{number}-{kind}"
            path = make_kinds(root, case)[kind]
            args = []
            for word in template:
                if word == "P":
                    args.append(str(path))
                elif word == "NEW":
                    args.append(str(root / "new" / case))
                elif word == "BRANCH":
                    args.append(f"case-{case}")
                else:
                    args.append(scene.get(word, word))
            cases.append(
                {"name": name, "kind": kind, "path": str(path), "args": args, "bad": kind in bad}
            )
    return cases


def _drop_privilege() -> list[str]:
    """The command prefix that makes root as bound by file modes as anyone else."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: mode-000 files are readable to root")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def _run_cases(
    scene: dict[str, str], cases: list[list[str]], **environment: str
) -> list[tuple[int, str]]:
    """Each argument list through ``patchsmith.cli.main`` in one process of its own (with
    root's power over file modes dropped): (exit code, standard error) each."""
    command = [*_drop_privilege(), sys.executable, "-m", "tests.test_error_paths"]
    env = {**os.environ, **json.loads(scene["ENV"]), "PYTHONPATH": str(REPO), **environment}
    env.pop("PATCHSMITH_DEBUG", None)
    result = subprocess.run(
        command,
        input=json.dumps(cases).encode(),
        capture_output=True,
        env=env,
        cwd=scene["ROOT"],
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [(code, err) for code, err in json.loads(result.stdout)]


def test_every_path_argument_refuses_a_bad_path_with_exit_2_and_a_hint(
    scene: dict[str, str],
) -> None:
    cases = _cases(scene)
    outcomes = _run_cases(scene, [case["args"] for case in cases])
    assert len(cases) == len(ARGUMENTS) * len(KINDS) > 400
    failures = []
    for case, (code, err) in zip(cases, outcomes, strict=True):
        problem = _problem(case, code, err)
        if problem is not None:
            failures.append(
                f"{case['name']} [{case['kind']}]: {problem}\n"
                f"  $ patchsmith {' '.join(map(str, case['args']))}\n"
                + "".join(f"  | {line}\n" for line in err.splitlines()[-4:])
            )
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)


@pytest.mark.parametrize("kind", ["file", "under-file", "unwritable", "behind-unreadable", "proc"])
def test_a_data_home_that_cannot_hold_anything_is_a_bad_environment(
    scene: dict[str, str], kind: str
) -> None:
    """XDG_DATA_HOME (where the repositories of plain trees, the apply locks and the resolution
    memory live) a file, under a file, read-only, unreachable or in /proc: what needs it ends
    with exit 2 and says which variable to fix; what does not need it works."""
    root = Path(scene["ROOT"])
    data_home = make_kinds(root, f"data-{kind}")[kind]
    new = root / "new" / f"data-{kind}"
    apply = ["apply", scene["PATCH"], "--branch", f"data-{kind}"]
    needs = [
        [*apply, "--tree", scene["TREE"], "--worktree", str(new / "plain")],
        [*apply, "--tree", scene["TREE"]],  # the default worktree is in the data home too
    ]
    works = [
        ["status", "--session", scene["OPEN"]],
        ["report", "--format", "json", "--session", scene["OPEN"]],
        ["check", scene["PATCH"], "--tree", scene["TREE"]],
    ]
    outcomes = _run_cases(scene, needs + works, XDG_DATA_HOME=str(data_home))
    for args, (code, err) in zip(needs, outcomes[: len(needs)], strict=True):
        assert code == 2, (args, err)
        assert "XDG_DATA_HOME" in err and "internal error" not in err, err
    for args, (code, err) in zip(works, outcomes[len(needs) :], strict=True):
        assert code in (0, 1), (args, err)


def _problem(case: PathCase, code: int, err: str) -> str | None:
    if code == 3 or "Traceback" in err or "internal error" in err:
        return f"a crash (exit {code})"
    if not case["bad"]:
        return None
    if code != 2:
        return f"exit {code}, wanted 2"
    if "hint:" not in err:
        return "no hint"
    path = str(case["path"])
    if os.path.dirname(path) not in err:
        return "the message does not name the path"
    return None


# --- the driver: runs in the process test_every_path_argument... starts --------------------------


def _drive() -> None:
    """Run ``patchsmith.cli.main`` on each argument list read from stdin; print each exit code
    and what it wrote to stderr, as JSON."""
    from patchsmith.cli import main

    cases = json.loads(sys.stdin.read())
    real_stdout, real_stderr = sys.stdout, sys.stderr
    outcomes = []
    for args in cases:
        sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        sys.stderr = io.StringIO()
        try:
            code = main(args)
        except BaseException as error:  # noqa: BLE001 - reported as a crash, not raised
            code = 3
            sys.stderr.write(f"Traceback: escaped the boundary: {error!r}\n")
        outcomes.append((code, sys.stderr.getvalue()))
        sys.stdout, sys.stderr = real_stdout, real_stderr
    real_stdout.write(json.dumps(outcomes))


if __name__ == "__main__":
    _drive()


# --- what a refused --worktree leaves ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "git"])
def test_a_refused_worktree_leaves_no_branch_worktree_or_intent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    from patchsmith.cli import main
    from patchsmith.workspace import git as git_module
    from tests.support.trees import fingerprint

    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    if kind == "git":
        git(tree, "init", "-q")
        git(tree, "add", "-A")
        git(tree, "commit", "-q", "-m", "vendor")

    def files() -> dict[str, tuple[int, str]]:
        # (The apply lock of a git tree lives in its .git folder, made by the first apply.)
        return {k: v for k, v in fingerprint(tree).items() if not k.startswith(".git")}

    before = files()
    (tmp_path / "a-file").write_text("x\n")
    for bad in (tmp_path / "a-file" / "x", tmp_path / "a-file", Path("/proc/x"), tree / "new"):
        code = main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--worktree", str(bad)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"--worktree {bad}" in err and "hint:" in err
    # Nothing was made: not in the tree (not even the folder of a worktree inside it), no
    # branch, no intent for the next apply to undo.
    assert files() == before
    data = git_module.data_home()
    assert list(data.rglob("setup.json")) == []
    repository = git_module.tree_repository(tree) if kind == "plain" else tree / ".git"
    assert "patchsmith/" not in git(repository, "branch", "--list")
    # The same apply with a path that can be a worktree goes ahead, on the default branch.
    code = main(
        [
            "apply",
            str(DEMO_PATCH),
            "--tree",
            str(tree),
            "--worktree",
            str(tmp_path / "a-folder" / "worktree"),
        ]
    )
    assert code == 1, capsys.readouterr().err
    assert (tmp_path / "a-folder" / "worktree" / "drivers" / "md" / "dm-snap.c").is_file()

"""What a command's start-up imports: ``filter`` is measured against C ``filterdiff``, and a
fixed cost is paid on every run (``benchmarks/bench_filter.py`` prints it).

The console entry point leaves :mod:`inspect` and :mod:`copy` (which :mod:`dataclasses` imports
for what no start-up uses) to be imported on first use. These tests hold that to three things:
``filter`` really runs without them, whatever does use them still gets the real modules, and
the parser built for one command still parses and helps as the whole one does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from patchsmith.cli import COMMANDS, build_parser, main

ONE_FILE = (
    b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n--- a/drivers/md/dm.c\n"
    b"+++ b/drivers/md/dm.c\n@@ -1 +1 @@\n-a\n+b\n"
)


def buffered_environment() -> dict[str, str]:
    """This environment with standard output buffered as it is for a user (a test runner may
    set ``PYTHONUNBUFFERED``, and unbuffered output cannot be lost by an early end)."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def imported_by(arguments: list[str]) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run ``python -m patchsmith ARGUMENTS`` and return it with the modules it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "patchsmith", *arguments],
        capture_output=True,
        check=False,
    )
    modules = {
        line.rsplit(b"|", 1)[1].strip().decode()
        for line in result.stderr.splitlines()
        if line.startswith(b"import time:") and b"imported package" not in line
    }
    return result, modules


def test_filter_starts_without_inspect_and_copy(tmp_path: Path) -> None:
    patch = tmp_path / "one.patch"
    patch.write_bytes(ONE_FILE)
    result, modules = imported_by(["filter", "--only", "drivers/md", str(patch)])
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == ONE_FILE
    assert "dataclasses" in modules  # the records are dataclasses: the test can fail
    assert not modules & {"inspect", "ast", "dis", "tokenize", "copy"}
    # The email package reads only a mail with an encoded part (patchfile.mbox): 20 ms.
    assert "patchsmith.patchfile.mbox" in modules
    assert not modules & {"email", "email.parser", "socket", "datetime"}


def test_a_deferred_module_is_the_real_one_on_first_use() -> None:
    code = (
        "import sys\n"
        "from patchsmith.cli import _defer_imports\n"
        "_defer_imports('inspect', 'copy')\n"
        "import dataclasses, inspect, copy\n"
        "assert 'ast' not in sys.modules\n"
        "@dataclasses.dataclass\n"
        "class Undocumented:\n"
        "    names: list[str]\n"
        "value = Undocumented(['a'])\n"
        "print(Undocumented.__doc__)\n"  # dataclasses wrote it with inspect.signature
        "print(dataclasses.asdict(value) == {'names': ['a']})\n"  # copy.deepcopy
        "print(copy.copy(value) == value, inspect.isclass(Undocumented))\n"
        "from inspect import signature\n"
        "print(signature(Undocumented), sys.modules['inspect'].signature is signature)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Undocumented(names: list[str])",
        "True",
        "True True",
        "(names: list[str]) -> None True",
    ]


@pytest.mark.parametrize("command", ["filter", "ls", "check"])
def test_a_command_first_parses_as_with_every_command_listed(command: str) -> None:
    # main() leaves the other commands out when the command is the first word.
    arguments = [command, "--only", "drivers/md", "x.patch"]
    if command == "check":
        arguments += ["--tree", "."]
    alone = build_parser(command, listing=False).parse_args(arguments)
    listed = build_parser(command).parse_args(arguments)
    assert {k: v for k, v in vars(alone).items() if k != "run"} == {
        k: v for k, v in vars(listed).items() if k != "run"
    }


def test_help_before_the_command_still_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "patchsmith", "--help", "filter"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    out = " ".join(result.stdout.split())
    for summary in COMMANDS.values():
        assert " ".join(summary.split()) in out


@pytest.mark.parametrize(
    ("patch", "code", "said"),
    [
        (ONE_FILE * 3000, 0, b""),  # more than any stream buffer holds
        (ONE_FILE.replace(b"@@ -1 +1 @@", b"@@ -1,2 +1 @@"), 2, b"one.patch:"),
    ],
    ids=["large", "damaged"],
)
def test_filter_ends_with_everything_written(
    patch: bytes, code: int, said: bytes, tmp_path: Path
) -> None:
    # filter ends without the interpreter's teardown: what it wrote must all be out first.
    path = tmp_path / "one.patch"
    path.write_bytes(patch)
    for extra in ([], ["-o", str(tmp_path / "out.patch")]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "patchsmith",
                "filter",
                "--only",
                "drivers/md",
                str(path),
                *extra,
            ],
            capture_output=True,
            check=False,
            env=buffered_environment(),
        )
        assert (result.returncode, said in result.stderr) == (code, True), result.stderr
        out = tmp_path / "out.patch"
        written = (out.read_bytes() if out.exists() else b"") if extra else result.stdout
        assert written == (patch if code == 0 else b"")


def test_every_record_has_its_own_docstring() -> None:
    # dataclasses writes a missing docstring with inspect.signature, and so loads inspect (with
    # ast, dis, tokenize: 4 ms) the moment a module defining such a record is imported; check
    # with --config imported it through kernel/makefile.py's Variable.
    import dataclasses
    import importlib
    import pkgutil

    import patchsmith

    missing = []
    for module_info in pkgutil.walk_packages(patchsmith.__path__, "patchsmith."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
                continue
            own = value.__dict__.get("__doc__") or ""
            written = own.startswith(f"{name}(")  # what dataclasses makes with inspect
            if value.__module__ == module.__name__ and (not own.strip() or written):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []


def test_check_with_a_config_starts_without_inspect() -> None:
    demo = Path(__file__).parents[2] / "fixtures" / "demo"
    result, modules = imported_by(
        [
            "check",
            str(demo / "patch-6.1.999.diff"),
            "--tree",
            str(demo / "vendor"),
            "--config",
            str(demo / "config"),
            "--modules-only",
            "--json",
        ]
    )
    assert result.returncode in (0, 1), result.stderr.decode()
    assert "patchsmith.kernel.makefile" in modules  # the Kbuild reader ran: the test can fail
    assert not modules & {"inspect", "ast", "dis", "tokenize"}


def test_check_ends_with_everything_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # check ends without the interpreter's teardown too: its JSON (more than a pipe holds),
    # its table and a report it writes with -o must all be out first, and the exit code kept.
    tree = tmp_path / "vendor"
    patch = b""
    for number in range(400):
        name = f"drivers/md/dm-part{number}.c"
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("int a;\nint b;\nint c;\n")
        patch += (
            f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
            "@@ -1,3 +1,3 @@\n int a;\n-int b;\n+int B;\n int c;\n"
        ).encode()
    # One conflict, so the exit code is 1 and not the 0 a lost code would also give.
    patch += (
        b"diff --git a/drivers/md/dm-part0.c b/drivers/md/dm-part0.c\n"
        b"--- a/drivers/md/dm-part0.c\n+++ b/drivers/md/dm-part0.c\n"
        b"@@ -1,3 +1,3 @@\n int x;\n-int y;\n+int Y;\n int z;\n"
    )
    (tmp_path / "fix.patch").write_bytes(patch)
    base = ["check", str(tmp_path / "fix.patch"), "--tree", str(tree)]
    report = tmp_path / "report.json"
    for extra in (["--json"], [], ["--report", "json", "-o", str(report)]):
        assert main([*base, *extra]) == 1
        expected = capsys.readouterr().out
        in_process = report.read_bytes() if extra[-1:] == [str(report)] else None
        result = subprocess.run(
            [sys.executable, "-m", "patchsmith", *base, *extra],
            capture_output=True,
            check=False,
            env={**buffered_environment(), "PATCHSMITH_WORKERS": "2"},
        )
        assert result.returncode == 1, result.stderr.decode()
        if in_process is None:
            assert len(result.stdout) > 65536 or not extra
            assert result.stdout.decode() == expected
        else:
            written = json.loads(report.read_bytes())
            assert written["summary"] == json.loads(in_process)["summary"]

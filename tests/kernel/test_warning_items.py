"""Selection warnings are items: check exits 1, a session lists them, the gate stays closed until
a person acknowledges each, and the reports say so. And the proof that the header rule matters:
a module whose private header the patch changes compiles with the header kept, and does not
without it.

``fixtures/kernel-tree-build`` is a kernel-shaped tree with one module, ``ringbuf`` (two ``.c``
files and a private ``ringbuf.h``); its patch turns a member into an ``atomic_t`` in the header
and uses it so in both ``.c`` files, and changes a built-in file besides.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.workspace import git
from patchsmith.workspace.session import SessionStore, session_path
from tests.support.paths import FIXTURES

BUILD_TREE = FIXTURES / "kernel-tree-build"
BUILD_CONFIG = str(FIXTURES / "kernel-tree-build.config")
BUILD_PATCH = str(FIXTURES / "kernel-tree-build.patch")
DEMO_PATCH = str(FIXTURES / "kernel-tree.patch")
DEMO_CONFIG = str(FIXTURES / "kernel-tree.config")


def _copy(tree: Path, tmp_path: Path) -> Path:
    """A plain copy of a fixture tree (inside the repository it would be a git tree)."""
    target = tmp_path / "vendor"
    shutil.copytree(tree, target)
    return target


def _store(worktree: Path) -> SessionStore:
    return SessionStore(session_path(git.git_dir_of(worktree)))


def test_check_exits_1_while_a_warning_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _copy(FIXTURES / "kernel-tree", tmp_path)
    # drivers/odd/odd.c, whose Makefile is broken (class unknown), is an item of its own
    # (tests/kernel/test_unknown_left_out.py): left out by hand here, it is not one.
    args = [
        "check",
        DEMO_PATCH,
        "--tree",
        str(tree),
        "--config",
        DEMO_CONFIG,
        "--modules-only",
        "-x",
        "*/odd.c",
    ]

    code = main(args)

    out = capsys.readouterr().out
    assert code == 1  # every hunk is clean: only the warning keeps it from 0
    assert "3 clean; 0 need review; 1 selection warning;" in out
    assert "[1] uses-left-out: left-out include/linux/demo_core.h hunk #1" in out
    assert main([*args, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    (warning,) = document["warnings"]
    assert warning["identifiers"] == ["DEMO_CORE_FLAG_SYNC"]
    assert warning["users"] == [
        {
            "path": "drivers/md/dm-table.c",
            "hunks": [1],
            "line": "\tmd->flags = mode | DEMO_CORE_FLAG_SYNC;",
        }
    ]
    # The same selection without the dependency: nothing to read, exit 0.
    assert main([*args, "-x", "*/dm-table.c"]) == 0


def test_check_report_is_not_safe_while_a_warning_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _copy(FIXTURES / "kernel-tree", tmp_path)
    # drivers/odd/odd.c, whose Makefile is broken (class unknown), is an item of its own
    # (tests/kernel/test_unknown_left_out.py): left out by hand here, it is not one.
    args = [
        "check",
        DEMO_PATCH,
        "--tree",
        str(tree),
        "--config",
        DEMO_CONFIG,
        "--modules-only",
        "-x",
        "*/odd.c",
    ]

    assert main([*args, "--report", "md"]) == 1

    out = capsys.readouterr().out
    assert (
        "**Safe to build: no**: 1 item would be open once applied: 1 selection warning "
        "(check exits 1)"
    ) in out
    assert "🔴 **Open (1)**: **1 selection warning**: `[1] drivers/md/dm-table.c`" in out


def test_a_session_keeps_the_gate_closed_until_the_warning_is_acknowledged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _copy(FIXTURES / "kernel-tree", tmp_path)
    worktree = tmp_path / "wt"
    apply = [
        "apply",
        DEMO_PATCH,
        "--tree",
        str(tree),
        "--config",
        DEMO_CONFIG,
        "--modules-only",
        "-x",
        "*/odd.c",
        "--worktree",
        str(worktree),
    ]

    assert main(apply) == 1  # clean hunks, one warning

    out = capsys.readouterr().out
    assert "selection warnings: 1, 1 open" in out
    assert "[1] open: left-out include/linux/demo_core.h hunk #1 changes" in out
    assert "kept:     md->flags = mode | DEMO_CORE_FLAG_SYNC;" in out
    session = ["--session", str(worktree)]
    assert main(["status", *session]) == 1
    status = capsys.readouterr().out
    assert "warning: drivers/md/dm-table.c: selection warning [1]:" in status
    assert "patchsmith resolve --ack-warning N" in status

    # The build gate lists it (before any make runs), and so does finish.
    assert main(["build", *session, "--kernel-dir", str(tmp_path), "--json"]) == 1
    gate = json.loads(capsys.readouterr().out)
    assert gate["gate"] == "closed"
    assert [item.split(": ")[0] for item in gate["open_items"]] == ["warning"]
    assert main(["report", *session, "--format", "md"]) == 1
    assert "**Safe to build: no**" in capsys.readouterr().out

    assert main(["resolve", "--ack-warning", "2", *session]) == 2
    assert "no selection warning 2" in capsys.readouterr().err
    assert main(["resolve", "--ack-warning", "1", *session]) == 0
    acknowledged = capsys.readouterr().out
    assert "selection warning [1] acknowledged by" in acknowledged
    assert "0 item(s) open" in acknowledged
    assert main(["status", *session]) == 0
    assert "[1] acknowledged by" in capsys.readouterr().out

    # Recording the same warnings again (apply continuing after a crash does) keeps the
    # acknowledgement: it is kept by the warning's key, not its number.
    store = _store(worktree)
    fresh = tuple(
        dataclasses.replace(w, number=w.number + 5, acknowledged_by=None, acknowledged_at=None)
        for w in store.load().warnings
    )
    (warning,) = store.set_warnings(fresh).warnings
    assert (warning.number, warning.open) == (6, False)


@pytest.fixture(scope="module")
def cloud_headers() -> Path:
    found = sorted(
        path
        for path in Path("/usr/src").glob("linux-headers-*-cloud-amd64")
        if (path / "Makefile").is_file()
    )
    if not found or shutil.which("make") is None:
        pytest.skip("no /usr/src/linux-headers-*-cloud-amd64 with make")
    return found[-1]


def _apply_and_build(
    tmp_path: Path, headers: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[Path, int, str]:
    tree = _copy(BUILD_TREE, tmp_path)
    worktree = tmp_path / "wt"
    main(
        [
            "apply",
            BUILD_PATCH,
            "--tree",
            str(tree),
            "--config",
            BUILD_CONFIG,
            "--modules-only",
            "--worktree",
            str(worktree),
            *extra,
        ]
    )
    capsys.readouterr()
    for warning in _store(worktree).load().warnings:
        acknowledge = ["resolve", "--ack-warning", str(warning.number), "--session", str(worktree)]
        assert main(acknowledge) in (0, 1)
    capsys.readouterr()
    code = main(["build", "--session", str(worktree), "--kernel-dir", str(headers), "--json"])
    return worktree, code, capsys.readouterr().out


def test_the_module_builds_with_its_private_header_kept(
    tmp_path: Path, cloud_headers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree, code, out = _apply_and_build(tmp_path, cloud_headers, capsys)

    session = _store(worktree).load()
    assert "drivers/ringbuf/ringbuf.h" in session.touched  # kept with [ringbuf]
    assert "kernel/panic.c" not in session.touched  # built-in: left out
    assert session.warnings == ()
    assert code == 0, out
    assert json.loads(out)["modules_relative"] == ["drivers/ringbuf/ringbuf.ko"]


def test_without_its_header_the_module_does_not_compile(
    tmp_path: Path, cloud_headers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warning is true: left out by hand, the header's change is what the build misses."""
    worktree, code, out = _apply_and_build(tmp_path, cloud_headers, capsys, "-x", "*/ringbuf.h")

    (warning,) = _store(worktree).load().warnings
    assert warning.message.startswith(
        "left-out drivers/ringbuf/ringbuf.h hunk #1 changes corrupted (member), which kept code "
        "uses: drivers/ringbuf/ringbuf_main.c hunk #1; drivers/ringbuf/ringbuf_stats.c hunk #1"
    )
    assert code != 0
    errors = json.loads(out)["errors"]
    assert {error["path"] for error in errors} & {
        "drivers/ringbuf/ringbuf_main.c",
        "drivers/ringbuf/ringbuf_stats.c",
    }

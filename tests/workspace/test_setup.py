"""Two applies at once, and an apply killed during setup: real processes, real signals.

Each test runs ``python -m patchsmith apply`` as a child process and uses apply's pause hook
(:data:`patchsmith.workspace.apply.Checkpoint`, through ``tests/support/pause.py``) to stop it
at the exact point under test: with
its branch and worktree made and no session yet, holding the apply lock. From there a second
apply runs against it, or the first is killed with SIGKILL, and what ``status``, ``abort`` and
a new ``apply`` do next is checked through git itself.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchsmith.workspace import git
from patchsmith.workspace.session import Phase, SessionStore, session_path
from tests.support.paths import DEMO, DEMO_PATCH, REPO
from tests.support.pause import patchsmith_command
from tests.support.trees import git as run_git


def _patchsmith(
    *args: str, cwd: Path = REPO, pause: tuple[str, Path] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*patchsmith_command(pause), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(signal_file: Path, child: subprocess.Popen[bytes]) -> int:
    """Wait until ``child`` reached the pause; return its pid as it wrote it."""
    deadline = time.monotonic() + 60
    while not signal_file.exists() or not signal_file.read_text():
        if child.poll() is not None:
            _out, err = child.communicate()
            raise AssertionError(f"apply ended before the pause: {err.decode()}")
        assert time.monotonic() < deadline, "apply never reached the pause"
        time.sleep(0.05)
    return int(signal_file.read_text())


@pytest.fixture
def repo_tree(tmp_path: Path) -> Path:
    """The demo vendor tree as a git repository (the issue's case: a git tree and a
    --worktree outside the data directory)."""
    tree = tmp_path / "repo"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "vendor")
    return tree


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Children a test started; killed at the end if still running."""
    children: list[subprocess.Popen[bytes]] = []
    yield children
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def _branches(tree: Path) -> list[str]:
    return run_git(tree, "branch", "--list", "--format=%(refname:short)").split()


def _worktrees(tree: Path) -> list[str]:
    listing = run_git(tree, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("worktree ")]


def test_a_second_apply_of_the_same_tree_refuses_naming_the_first(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    signal_file = tmp_path / "paused"
    worktree = tmp_path / "elsewhere" / "wt"
    args = ("apply", str(DEMO_PATCH), "--tree", str(repo_tree), "--worktree", str(worktree))
    first = _patchsmith(*args, pause=("worktree", signal_file))
    reaper.append(first)
    pid = _wait_for(signal_file, first)
    second = _patchsmith(*args, "--wait", "0.3")
    reaper.append(second)
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 2, err.decode()
    assert f"another apply is running on this tree (pid {pid})" in err.decode()
    # The first one's half-made branch and worktree are untouched by the second.
    assert "patchsmith/patch-6.1.999" in _branches(repo_tree)
    assert str(worktree) in _worktrees(repo_tree)
    signal_file.unlink()  # let the first go on
    first.communicate(timeout=120)
    assert first.returncode == 1  # the demo leaves conflicts open
    session = SessionStore(session_path(git.git_dir_of(worktree))).load()
    assert session.phase == Phase.READY


def test_a_second_apply_waits_for_the_first_and_then_runs(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    signal_file = tmp_path / "paused"
    first_worktree, second_worktree = tmp_path / "wt1", tmp_path / "wt2"
    base = ("apply", str(DEMO_PATCH), "--tree", str(repo_tree))
    first = _patchsmith(*base, "--worktree", str(first_worktree), pause=("worktree", signal_file))
    reaper.append(first)
    _wait_for(signal_file, first)
    second = _patchsmith(
        *base, "--worktree", str(second_worktree), "--branch", "patchsmith/second", "--wait", "60"
    )
    reaper.append(second)
    time.sleep(1.0)
    assert second.poll() is None, "the second apply did not wait"
    assert not second_worktree.exists()
    signal_file.unlink()
    first.communicate(timeout=120)
    second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (1, 1)
    for worktree in (first_worktree, second_worktree):
        store = SessionStore(session_path(git.git_dir_of(worktree)))
        assert store.load().phase == Phase.READY
        assert len(store.load().open_hunks) == 2


def _killed_during_setup(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> Path:
    """An apply killed with SIGKILL right after ``git worktree add``, before its session."""
    signal_file = tmp_path / "paused"
    worktree = tmp_path / "elsewhere" / "wt"
    child = _patchsmith(
        "apply",
        str(DEMO_PATCH),
        "--tree",
        str(repo_tree),
        "--worktree",
        str(worktree),
        pause=("worktree", signal_file),
    )
    reaper.append(child)
    _wait_for(signal_file, child)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert "patchsmith/patch-6.1.999" in _branches(repo_tree)
    assert worktree.is_dir() and str(worktree) in _worktrees(repo_tree)
    assert not session_path(git.git_dir_of(worktree)).exists()
    return worktree


def test_kill_after_worktree_add_then_status_and_abort(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    worktree = _killed_during_setup(repo_tree, tmp_path, reaper)
    status = _patchsmith("status", cwd=repo_tree)
    _out, err = status.communicate(timeout=60)
    assert status.returncode == 2
    assert "was interrupted while it set up branch patchsmith/patch-6.1.999" in err.decode()
    abort = _patchsmith("abort", cwd=repo_tree)
    _out, err = abort.communicate(timeout=60)
    assert abort.returncode == 0, err.decode()
    assert "removed worktree" in err.decode()
    assert _branches(repo_tree) == [run_git(repo_tree, "branch", "--show-current").strip()]
    assert _worktrees(repo_tree) == [str(repo_tree)]
    assert not worktree.exists()
    # Nothing left for a second abort.
    again = _patchsmith("abort", cwd=repo_tree)
    again.communicate(timeout=60)
    assert again.returncode == 2


def test_kill_after_worktree_add_then_abort_from_the_worktree(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    worktree = _killed_during_setup(repo_tree, tmp_path, reaper)
    abort = _patchsmith("abort", "--session", str(worktree))
    _out, err = abort.communicate(timeout=60)
    assert abort.returncode == 0, err.decode()
    assert not worktree.exists()
    assert "patchsmith/patch-6.1.999" not in _branches(repo_tree)


def test_kill_after_worktree_add_then_apply_again(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    worktree = _killed_during_setup(repo_tree, tmp_path, reaper)
    again = _patchsmith(
        "apply", str(DEMO_PATCH), "--tree", str(repo_tree), "--worktree", str(worktree)
    )
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 1, err.decode()  # done, with the demo's open conflicts
    session = SessionStore(session_path(git.git_dir_of(worktree))).load()
    assert session.phase == Phase.READY and len(session.open_hunks) == 2
    assert _worktrees(repo_tree) == [str(repo_tree), str(worktree)]
    log = run_git(worktree, "log", "--format=%s").splitlines()
    assert log[0] == "patchsmith: apply clean hunks of patch-6.1.999"


def test_kill_after_worktree_add_on_a_plain_tree_then_apply_again(
    demo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    signal_file = tmp_path / "paused"
    args = ("apply", str(DEMO_PATCH), "--tree", str(demo_tree))
    child = _patchsmith(*args, pause=("worktree", signal_file))
    reaper.append(child)
    _wait_for(signal_file, child)
    child.send_signal(signal.SIGKILL)
    child.wait()
    again = _patchsmith(*args)
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 1, err.decode()
    worktree = git.data_home() / "worktrees" / "vendor-patch-6.1.999"
    assert SessionStore(session_path(git.git_dir_of(worktree))).load().phase == Phase.READY
    # The same worktree path, not a "-2" beside a leftover.
    assert not (git.data_home() / "worktrees" / "vendor-patch-6.1.999-2").exists()


def test_abort_refuses_while_an_apply_of_the_tree_runs(
    repo_tree: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    signal_file = tmp_path / "paused"
    worktree = tmp_path / "wt"
    child = _patchsmith(
        "apply",
        str(DEMO_PATCH),
        "--tree",
        str(repo_tree),
        "--worktree",
        str(worktree),
        pause=("written", signal_file),
    )
    reaper.append(child)
    pid = _wait_for(signal_file, child)
    abort = _patchsmith("abort", "--session", str(worktree))
    _out, err = abort.communicate(timeout=60)
    assert abort.returncode == 2
    assert f"another apply is running on this tree (pid {pid})" in err.decode()
    assert worktree.is_dir()
    signal_file.unlink()
    child.communicate(timeout=120)
    assert child.returncode == 1
    assert SessionStore(session_path(git.git_dir_of(worktree))).load().phase == Phase.READY

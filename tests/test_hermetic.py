"""The test suite never reads or writes the real home: each test has a home of its own, and
beneath that the whole run has a sentinel home that must stay empty (tests/conftest.py)."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.workspace import git, memory
from tests.support.home import SENTINEL_KEY, XDG, written_under
from tests.support.paths import DEMO


def test_each_test_has_a_home_of_its_own(hermetic: Path, request: pytest.FixtureRequest) -> None:
    real = Path(pwd.getpwuid(os.getuid()).pw_dir)
    sentinel = request.config.stash[SENTINEL_KEY]
    assert Path.home() == hermetic != real
    assert hermetic != sentinel
    for name in XDG:
        assert Path(os.environ[name]).parent == hermetic
    assert git.data_home().is_relative_to(hermetic)
    assert memory.directory().is_relative_to(hermetic)


def test_nothing_was_written_to_the_sentinel_home(request: pytest.FixtureRequest) -> None:
    """Whatever ran before this test (imports, collection, earlier tests) left the home the
    run started with untouched; the end of the run checks again for what runs after."""
    sentinel = request.config.stash[SENTINEL_KEY]
    assert sentinel.is_dir()
    assert written_under(sentinel) == []


def test_the_sentinel_check_sees_a_write(tmp_path: Path) -> None:
    assert written_under(tmp_path) == []
    (tmp_path / ".local" / "share" / "patchsmith").mkdir(parents=True)
    assert written_under(tmp_path) == [".local/share/patchsmith/"]
    (tmp_path / ".gitconfig").write_text("[user]\n")
    assert written_under(tmp_path) == [".gitconfig", ".local/share/patchsmith/"]


def test_a_whole_job_keeps_to_the_test_home(
    hermetic: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Apply, resolve (which remembers) and the demo write only under the test's own home and
    the folders they were given."""
    before = written_under(hermetic)
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree)
    assert main(["apply", str(DEMO / "patch-6.1.999.diff"), "--tree", str(tree)]) == 1
    assert main(["resolve", "Makefile#1", "--accept", "--session", str(_worktree())]) == 1
    after = set(written_under(hermetic)) - set(before)
    assert after and all(path.startswith("xdg_data_home/patchsmith/") for path in after)


def _worktree() -> Path:
    worktrees = git.data_home() / "worktrees"
    (found,) = list(worktrees.iterdir())
    return found

"""Shared test setup: every test is hermetic (HOME, XDG dirs and git identity in tmp_path), and
the run fails if anything at all is written where the real home would be.

Two layers. The autouse ``hermetic`` fixture gives each test a home of its own. Beneath it, for
the whole run (collection, module imports, session fixtures, anything a fixture misses),
``HOME`` and the XDG directories point at a *sentinel* folder that nothing may write: at the end
of the run every file found in it is listed and the run fails (``tests/test_hermetic.py`` checks
both layers).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.home import SENTINEL_KEY, XDG, point_home_at, written_under


def pytest_configure(config: pytest.Config) -> None:
    sentinel = Path(tempfile.mkdtemp(prefix="patchsmith-sentinel-home-"))
    config.stash[SENTINEL_KEY] = sentinel
    point_home_at(sentinel)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sentinel = session.config.stash.get(SENTINEL_KEY, None)
    if sentinel is None:
        return
    leaked = written_under(sentinel)
    shutil.rmtree(sentinel, ignore_errors=True)
    if leaked:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            "tests wrote to the home directory (a test, fixture or import bypassed the hermetic "
            "fixture): " + ", ".join(leaked[:20])
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in XDG:
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Patchsmith Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@patchsmith.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Patchsmith Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@patchsmith.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("NO_COLOR", "1")
    return home

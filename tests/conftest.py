"""Shared test setup: every test is hermetic (HOME, XDG dirs and git identity in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
PATCHES = FIXTURES / "patches"


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Patchsmith Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@patchsmith.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Patchsmith Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@patchsmith.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("NO_COLOR", "1")
    return home

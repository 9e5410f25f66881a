"""The hermetic home: every test's ``HOME`` and XDG folders, and the sentinel the run checks."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

import pytest

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
SENTINEL_KEY = pytest.StashKey[Path]()
"""Where the run's sentinel home is (``config.stash``): a folder nothing may write."""


def point_home_at(folder: Path, environ: MutableMapping[str, str] = os.environ) -> None:
    """``HOME`` and every XDG directory under ``folder``."""
    environ["HOME"] = str(folder)
    for name in XDG:
        environ[name] = str(folder / name.lower())


def written_under(folder: Path) -> list[str]:
    """Every file, link or non-empty folder below ``folder`` (relative paths, sorted)."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(folder):
        for name in files + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
            found.append(os.path.relpath(os.path.join(directory, name), folder))
        if directory != str(folder) and not subdirs and not files:
            found.append(os.path.relpath(directory, folder) + "/")
    return sorted(found)

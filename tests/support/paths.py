"""Where the repository and its test data are."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The checkout: the folder with ``pyproject.toml``."""
FIXTURES = REPO / "fixtures"
"""The hand-made scenarios, one folder per case."""
PATCHES = FIXTURES / "patches"
"""Patch files named for the case they exercise (git quoted names, context format...)."""
CHECK = FIXTURES / "check"
"""The check cases, one folder each named for the case: ``patch.diff``, ``tree/``,
``expected.json`` and, for some, the vanilla ``base/``."""
DEMO = FIXTURES / "demo"
"""The bundled demo scenario: vendor and vanilla trees, upstream's patch, a config."""
DEMO_PATCH = DEMO / "patch-6.1.999.diff"


def check_cases() -> list[Path]:
    """Every folder under ``CHECK``, sorted. Tests parametrize over this, so an empty list (the
    cases moved, or the path is wrong) would pass by running nothing: that refuses instead."""
    cases = sorted(path for path in CHECK.iterdir() if path.is_dir())
    if not cases:
        raise AssertionError(f"no check cases under {CHECK}")
    return cases

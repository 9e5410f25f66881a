"""Where the repository and its test data are."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The checkout: the folder with ``pyproject.toml``."""
FIXTURES = REPO / "fixtures"
"""The hand-made scenarios, one folder per case."""
PATCHES = FIXTURES / "patches"
"""Patch files named for the case they exercise (git quoted names, context format...)."""
DEMO = FIXTURES / "demo"
"""The bundled demo scenario: vendor and vanilla trees, upstream's patch, a config."""
DEMO_PATCH = DEMO / "patch-6.1.999.diff"

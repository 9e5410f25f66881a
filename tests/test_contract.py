"""The library never imports Textual or the TUI: import every module in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import patchsmith


def test_no_library_module_pulls_in_textual() -> None:
    modules = [m.name for m in pkgutil.walk_packages(patchsmith.__path__, "patchsmith.")]
    assert "patchsmith.cli" in modules and "patchsmith.patchfile.index" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if name.endswith('__main__'): continue\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'patchsmith_tui'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""A real session on disk for the TUI tests: the bundled demo scenario applied with the library.

The tests check every action's effect by reading this session back through
:class:`~patchsmith.workspace.session.SessionStore`, as ``patchsmith status`` would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from patchsmith.patchfile.select import Selection
from patchsmith.workspace.session import SessionStore
from tests.support.sessions import apply_file

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def demo_session(tmp_path: Path, *, only: tuple[str, ...] = (), base: bool = False) -> SessionStore:
    """Copy the demo scenario to ``tmp_path``, apply its patch (with the vanilla tree as
    ``--base`` when ``base``), and return the session's store."""
    vendor = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", vendor, symlinks=True)
    vanilla: str | None = None
    if base:
        shutil.copytree(DEMO / "vanilla", tmp_path / "vanilla", symlinks=True)
        vanilla = str(tmp_path / "vanilla")
    patch = tmp_path / "patch-6.1.999.diff"
    shutil.copy2(DEMO / "patch-6.1.999.diff", patch)
    return apply_file(
        patch,
        vendor,
        Selection(only=only),
        worktree=tmp_path / "worktree",
        use_memory=False,
        base=vanilla,
    )

"""A home of its own for every benchmark run: nothing it runs reads or writes the user's home.

Each script calls :func:`isolate` before its ``main``: ``HOME`` and the XDG directories point
into a fresh temporary folder (removed at exit), for the script and every process it starts.
The user's resolution memory can then neither change a benchmark's counts (a remembered
decision would settle a conflict the benchmark counts as open) nor be changed by a benchmark,
and neither can their git or patchsmith configuration.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def isolate() -> Path:
    """Point ``HOME`` and the XDG directories into a new temporary folder; return it."""
    folder = Path(tempfile.mkdtemp(prefix="patchsmith-bench-home-"))
    atexit.register(shutil.rmtree, folder, True)
    os.environ["HOME"] = str(folder)
    for name in XDG:
        os.environ[name] = str(folder / name.lower())
    return folder

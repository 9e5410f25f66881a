"""A real patchsmith process stopped at one of apply's checkpoints, for a test to kill it there.

apply takes a :data:`~patchsmith.workspace.apply.Checkpoint` and calls it where a crash is
hardest to recover from. :func:`patchsmith_command` gives the command line of a process that runs
patchsmith exactly as ``python -m patchsmith`` does, except that at the checkpoint named it
writes its pid to a file and waits until the test removes the file (or kills it).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.paths import REPO

_CHILD = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from patchsmith.workspace import apply
from tests.support.pause import pausing

stage, signal_file = sys.argv[1:3]
original = apply.apply_patch_known

def paused(*args, **kwargs):
    return original(*args, checkpoint=pausing(stage, Path(signal_file)), **kwargs)

apply.apply_patch_known = paused  # before the command line imports it
sys.argv = ["patchsmith", *sys.argv[3:]]
from patchsmith.cli import console_main
console_main()
"""


def pausing(stage: str, signal_file: Path) -> Callable[[str], None]:
    """A checkpoint that, at ``stage``, writes this process's pid to ``signal_file`` and waits
    there until the file is removed (an hour at most)."""

    def checkpoint(reached: str) -> None:
        if reached != stage:
            return
        signal_file.write_text(str(os.getpid()), encoding="ascii")
        deadline = time.monotonic() + 3600
        while signal_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    return checkpoint


def patchsmith_command(pause: tuple[str, Path] | None = None) -> list[str]:
    """``python -m patchsmith``, or with ``pause=(stage, signal_file)`` a process that stops at
    apply's checkpoint ``stage`` (see :func:`pausing`); append the arguments."""
    if pause is None:
        return [sys.executable, "-m", "patchsmith"]
    stage, signal_file = pause
    return [sys.executable, "-c", _CHILD.format(repo=str(REPO)), stage, str(signal_file)]

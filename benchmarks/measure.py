"""Running a peer or patchsmith as a child process and measuring it alone: wall, CPU, peak memory.

The benchmarks' numbers come from here. Two things make a naive measurement wrong:

* ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the largest child *so far*: every tool
  run after a big one inherits its peak.
* ``os.wait4`` gives one child's own ``ru_maxrss``, but Linux starts a forked child's high-water
  mark at its parent's resident size and keeps it across ``exec``: a child of a 200 MB Python
  process reports at least 200 MB (GNU patch shows 21 MB against a real 1-3 MB).

So the command runs under GNU ``time``, a small C program that forks it and reports the peak
of that grandchild (``%M``, from its own ``wait4``); the wall and CPU times are this process's
``os.wait4`` of ``time`` (CPU includes the command's, as ``wait4`` counts waited-for
descendants). Without GNU time (``apt-get install time``) the peak is ``wait4``'s, marked as an
upper bound.

Every child gets its own ``HOME`` and XDG folders (:func:`private_env`): patchsmith remembers
resolutions under ``XDG_DATA_HOME``, and one run's memory must not change the next run's numbers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


def _gnu_time() -> str | None:
    found = shutil.which("time")
    if found is None:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    return found if "GNU" in version.stdout + version.stderr else None


GNU_TIME = _gnu_time()


@dataclass(frozen=True)
class Child:
    """One finished child process."""

    code: int
    """Its exit status (negative: killed by that signal)."""
    output: bytes
    """What it wrote to stdout and stderr, when captured (empty when sent to a file)."""
    wall: float
    """Seconds from start to exit."""
    cpu: float
    """User + system seconds of the command and what it waited for."""
    peak: int
    """Peak resident set size in bytes of the command (or its largest waited-for child)."""
    peak_exact: bool
    """``False`` when GNU time is missing and ``peak`` includes this process's size."""

    @property
    def peak_mb(self) -> float:
        return self.peak / MB


def private_env(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this environment) with ``HOME`` and every XDG folder in ``folder``."""
    env = dict(os.environ if base is None else base)
    home = folder / "home"
    env["HOME"] = str(home)
    for name in ("DATA", "CONFIG", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(home / name.lower())
    return env


def run(
    command: list[str],
    *,
    cwd: Path | None = None,
    stdin: bytes | Path | None = None,
    stdout: Path | None = None,
    env: dict[str, str] | None = None,
) -> Child:
    """Run ``command`` to its end and measure it. Output is captured (stdout and stderr
    together) unless ``stdout`` names a file, which then gets stdout alone."""
    with tempfile.TemporaryDirectory(prefix="measure-") as scratch:
        report = Path(scratch) / "time"
        if isinstance(stdin, bytes):
            (Path(scratch) / "stdin").write_bytes(stdin)
            stdin = Path(scratch) / "stdin"
        wrapped = command
        if GNU_TIME is not None:
            wrapped = [GNU_TIME, "-f", "%M", "-o", str(report), "--", *command]
        with (
            open(stdin if stdin is not None else os.devnull, "rb") as source,
            open(stdout if stdout is not None else os.devnull, "wb") as sink,
        ):
            start = time.perf_counter()
            child = subprocess.Popen(
                wrapped,
                cwd=cwd,
                env=env,
                stdin=source,
                stdout=sink if stdout is not None else subprocess.PIPE,
                stderr=subprocess.DEVNULL if stdout is not None else subprocess.STDOUT,
            )
            output = child.stdout.read() if child.stdout is not None else b""
            # Reaped here, not by Popen: wait4 is what gives the child's own usage.
            _pid, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.stdout is not None:
                child.stdout.close()
        peak, exact = usage.ru_maxrss * 1024, False
        words = report.read_text().split() if report.is_file() else []
        if words and words[-1].isdigit():  # after "Command exited with non-zero status N"
            peak, exact = int(words[-1]) * 1024, True
    return Child(child.returncode, output, wall, usage.ru_utime + usage.ru_stime, peak, exact)

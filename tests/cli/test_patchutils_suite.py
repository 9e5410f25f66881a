"""patchutils' own filterdiff tests, run with ``patchsmith filter`` in place of ``filterdiff``.

``filter`` promises filterdiff's selection options with filterdiff's meanings; the surest check
is the suite filterdiff itself is held to. Each upstream ``tests/NAME/run-test`` that calls
``${FILTERDIFF}`` runs unchanged in a scratch build directory whose ``src/filterdiff`` is a
wrapper around ``patchsmith filter`` (``lsdiff``, ``grepdiff`` and ``interdiff`` are the
system's, for the few tests that call them too). Upstream's sources are never copied into this
repository: they are looked up in ``$PATCHUTILS_SOURCE`` or ``.cache/patchutils/`` (where
``.ci/run`` unpacks ``apt-get source patchutils``), and the tests skip, saying so, without them.

Every test upstream has is expected to pass, except those listed in :data:`NOT_CLAIMED` (options
``filter`` does not offer) and :data:`DIFFERS` (a deliberate difference, with the reason). Both
lists are strict: a listed test that starts passing fails here, so the lists stay true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

CACHE = REPO / ".cache" / "patchutils"
OTHER_TOOLS = ("lsdiff", "grepdiff", "interdiff")
"""patchutils' other programs some filterdiff tests call; the system's are used."""

NOT_CLAIMED: dict[str, str] = {
    "convert1": "--format=context|unified (filterdiff converts between formats)",
    "convert2": "--format=context|unified",
    "nul3": "--format=unified",
    "number1": "--as-numbered-lines",
    "number2": "--as-numbered-lines",
    "number3": "--as-numbered-lines",
    "select8": "--as-numbered-lines",
    "select9": "--as-numbered-lines",
    "lsdiff6": "--addprefix",
}
"""Upstream tests of filterdiff options ``patchsmith filter`` does not offer."""

DIFFERS: dict[str, str] = {
    "filterb": "its printf format starts with '---', which sh's printf takes for an option, so "
    "the test feeds an empty file; filterdiff writes nothing and exits 0, patchsmith refuses an "
    "empty input (exit 2): `bzcat missing.bz2 | patchsmith filter ... > md.patch` must not "
    "leave an empty patch that looks like a selection",
}
"""Upstream tests where ``patchsmith filter`` differs from filterdiff on purpose."""


def patchutils_source() -> Path | None:
    """patchutils' unpacked sources (the folder holding ``tests/common.sh``), if present."""
    given = os.environ.get("PATCHUTILS_SOURCE")
    candidates = [Path(given)] if given else sorted(CACHE.glob("patchutils-*"), reverse=True)
    return next((c for c in candidates if (c / "tests" / "common.sh").is_file()), None)


def filterdiff_tests(source: Path) -> list[str]:
    """Names of the upstream tests that call filterdiff, in upstream's order."""
    return sorted(
        script.parent.name
        for script in (source / "tests").glob("*/run-test")
        if "FILTERDIFF" in script.read_text(errors="replace")
    )


SOURCE = patchutils_source()
NAMES = filterdiff_tests(SOURCE) if SOURCE is not None else []
needs_source = pytest.mark.skipif(
    SOURCE is None,
    reason="patchutils' sources not found: set PATCHUTILS_SOURCE to an unpacked "
    "'apt-get source patchutils', or run .ci/run, which fetches them into .cache/patchutils",
)


def build_dir(tmp_path: Path, filter_command: str) -> Path:
    """A stand-in for patchutils' build directory: ``src/filterdiff`` runs ``filter_command``."""
    top = tmp_path / "build"
    (top / "src").mkdir(parents=True)
    wrapper = top / "src" / "filterdiff"
    wrapper.write_text(f'#!/bin/sh\nexec {filter_command} "$@"\n')
    wrapper.chmod(0o755)
    for tool in OTHER_TOOLS:
        found = shutil.which(tool)
        if found is not None:
            (top / "src" / tool).symlink_to(found)
    return top


def patchsmith_filter() -> str:
    return f"'{sys.executable}' -m patchsmith filter"


def run_upstream_test(name: str, top: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert SOURCE is not None
    env = dict(os.environ, top_srcdir=str(SOURCE), top_builddir=str(top))
    env["ARENA"] = str(tmp_path / "arena")
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        ["sh", str(SOURCE / "tests" / name / "run-test")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_source
@pytest.mark.parametrize("name", NAMES)
def test_upstream_filterdiff_test(name: str, tmp_path: Path) -> None:
    result = run_upstream_test(name, build_dir(tmp_path, patchsmith_filter()), tmp_path)
    listed = NOT_CLAIMED.get(name) or DIFFERS.get(name)
    if listed is not None:
        # Strict: a listed test that passes now is taken off its list.
        assert result.returncode != 0, f"{name} passes now: take it off its list ({listed})"
        return
    assert result.returncode == 0, f"{name} failed\n{result.stderr[-3000:]}"


@needs_source
def test_the_harness_can_fail(tmp_path: Path) -> None:
    """With ``cat`` in place of filterdiff, a selection test fails: the wrapper is what runs."""
    result = run_upstream_test("select1", build_dir(tmp_path, "cat"), tmp_path)
    assert result.returncode != 0


@needs_source
def test_enough_of_the_suite_is_claimed() -> None:
    """At most the listed tests are left out: most of filterdiff's suite holds patchsmith."""
    claimed = [name for name in NAMES if name not in NOT_CLAIMED and name not in DIFFERS]
    assert len(NAMES) >= 34 and len(claimed) >= 22, (len(NAMES), claimed)

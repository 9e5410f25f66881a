"""Wall time of ``patchsmith apply --base`` against ``git apply --3way``, on real scenarios.

Usage: ``bench_apply.py [SCENARIO_DIR...] [--runs N] [--baseline REF]`` (by default ``s1``,
``s2``, ``s3`` in the ``scen`` folder next to the repository or above it).

For each scenario, in the same run and alternating:

* ``patchsmith apply upstream.patch --tree vendor-old --base vanilla-old`` as a user runs it on
  a plain directory (a worktree of its own, the tree only read), and without ``--base``; one
  ``cp -a`` of the tree is timed too, the yardstick of "a kernel tree's worth of work";
* ``git apply --3way`` of the same patch in a repository holding the vendor's versions of the
  files the patch touches, with the vanilla blobs the patch's ``index`` lines name already in
  it (what ``--3way`` needs to merge instead of failing), as ``benchmarks/realworld.py`` runs
  it. Making that repository is not timed: it is what a git user has already.

With ``--baseline REF`` (a commit of this repository, e.g. ``main``), that version of
patchsmith is measured too, in the same rounds, so a change is judged against the code before it
under the same load. The best wall time of ``--runs`` runs of each is kept (other load only ever
adds time). Target
(issue 19): ``apply --base`` at most ``git apply --3way``'s time. patchsmith runs as ``pip
install`` leaves it (:func:`bench_filter.installed_patchsmith`), each run with its own HOME and
XDG folders, so no run reuses an earlier one's remembered resolutions. This script prints; it
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_filter import SCENARIOS, baseline_patchsmith, installed_patchsmith
from hermetic import isolate
from measure import private_env, run
from realworld import copy_touched, git_env, git_init, patch_paths

DEFAULT_SCENARIOS = [SCENARIOS / name for name in ("s1", "s2", "s3")]


def three_way_repository(scenario: Path, paths: list[str], folder: Path) -> Path:
    """A repository of the vendor's touched files, with the vanilla blobs in it."""
    repo = folder / "git-3way"
    env = git_env(folder / "env-git")
    copy_touched(scenario / "vendor-old", repo, paths)
    git_init(repo, env)
    vanilla = scenario / "vanilla-old"
    blobs = [str(vanilla / p) for p in paths if (vanilla / p).is_file()]
    subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-w", "--stdin-paths"],
        input="\n".join(blobs).encode(),
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return repo


def git_3way_once(repo: Path, patch: Path, env: dict[str, str]) -> float:
    """One ``git apply --3way`` from the committed state; the wall time."""
    subprocess.run(["git", "-C", str(repo), "reset", "-q", "--hard"], check=True, env=env)
    child = run(["git", "-C", str(repo), "apply", "--3way"], stdin=patch, env=env)
    if child.code not in (0, 1):  # 1: conflicts left in the files
        raise SystemExit(f"git apply --3way failed (exit {child.code}): {child.output[-300:]!r}")
    return child.wall


def patchsmith_once(
    patchsmith: str, env: dict[str, str], scenario: Path, folder: Path, base: bool, number: int
) -> float:
    """One ``patchsmith apply`` to a fresh worktree (removed afterwards); the wall time."""
    work = folder / f"run-{number}"
    env = private_env(work, env)
    worktree = work / "worktree"
    command = [patchsmith, "apply", str(scenario / "upstream.patch")]
    command += ["--tree", str(scenario / "vendor-old"), "--worktree", str(worktree)]
    command += ["--branch", f"bench/{number}"]
    if base:
        command += ["--base", str(scenario / "vanilla-old")]
    child = run(command, env=env)
    if child.code not in (0, 1):
        raise SystemExit(f"patchsmith apply failed (exit {child.code}): {child.output[-300:]!r}")
    abort = run([patchsmith, "abort", "--session", str(worktree)], env=env)
    if abort.code != 0:
        raise SystemExit(f"patchsmith abort failed (exit {abort.code}): {abort.output[-300:]!r}")
    shutil.rmtree(work, ignore_errors=True)
    return child.wall


def measure_scenario(
    scenario: Path,
    versions: dict[str, tuple[str, dict[str, str]]],
    folder: Path,
    runs: int,
) -> dict[str, float]:
    """Best wall times of git apply --3way and of each version's apply with and without
    ``--base`` (``versions``: name -> command and environment), alternating."""
    patch = scenario / "upstream.patch"
    paths = patch_paths(patch.read_bytes())
    repo = three_way_repository(scenario, paths, folder)
    git = git_env(folder / "env-git")
    copy = run(["cp", "-a", str(scenario / "vendor-old"), str(folder / "copy")])
    shutil.rmtree(folder / "copy")
    times: dict[str, float] = {}
    number = 0
    for attempt in range(runs + 1):  # the first round warms the page cache and the bytecode
        rounds = {"git apply --3way": git_3way_once(repo, patch, git)}
        for version, (command, env) in versions.items():
            for base in (True, False):
                number += 1
                name = f"{version} apply --base" if base else f"{version} apply"
                rounds[name] = patchsmith_once(command, env, scenario, folder, base, number)
        if attempt:
            for name, seconds in rounds.items():
                times[name] = min(times.get(name, float("inf")), seconds)
    shutil.rmtree(repo, ignore_errors=True)
    times["cp -a of the tree (once)"] = copy.wall
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=DEFAULT_SCENARIOS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--baseline", metavar="REF", help="also measure patchsmith as this commit has it"
    )
    args = parser.parse_args(argv)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"environment: {os.cpu_count()} CPUs, load {load}; Python {platform.python_version()}; "
        f"best of {args.runs} runs each"
    )
    worst: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as scratch:
        folder = Path(scratch)
        versions = {"patchsmith": installed_patchsmith(folder)}
        if args.baseline:
            versions[args.baseline] = baseline_patchsmith(folder / "baseline", args.baseline)
        for scenario in args.scenarios:
            times = measure_scenario(scenario.resolve(), versions, folder, args.runs)
            peer = times["git apply --3way"]
            print(f"\n== {scenario.name}")
            for name, seconds in times.items():
                print(f"   {name:<32} {seconds:6.2f} s")
            for version in versions:
                ratio = times[f"{version} apply --base"] / peer
                copy_ratio = times[f"{version} apply"] / times["cp -a of the tree (once)"]
                print(
                    f"   {version} apply --base / git apply --3way: {ratio:.2f}x "
                    f"({'ok' if ratio <= 1 else 'OVER'}, target 1.0x); "
                    f"apply / cp -a: {copy_ratio:.2f}"
                )
            ratio = times["patchsmith apply --base"] / peer
            worst.append((ratio, f"{scenario.name} at {ratio:.2f}x"))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nworst: {max(worst)[1]} git apply --3way's time; load now {load}")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

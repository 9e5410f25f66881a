"""Wall time of ``patchsmith check`` against ``patch -p1 --dry-run -f``, on real scenarios.

Usage: ``bench_check.py SCENARIO_DIR... [--runs N] [--baseline REF]`` (by default ``s1``,
``s2``, ``s3`` in the ``scen`` folder next to the repository or above it).

For each scenario ``check`` reads ``upstream.patch`` against the full ``vendor-old/`` tree (it
opens only the files the patch names), as ``--json``, as the table a person reads (piped), and
both again with ``--base vanilla-old/``; GNU patch runs on a scratch copy of exactly those files,
so both read the same bytes. Every command runs ``--runs`` times, alternating, after one warm-up
each (so all see a warm page cache); the best wall time of each is compared (the machine's other
load only ever adds time). Targets (issue 19): at most 1.3x with ``--json`` and with the table,
at most 1.5x with ``--base``; the worst ratio over the scenarios is what counts, and is printed
last. This script prints; it asserts nothing about time.

``check`` shares a big patch's files among one process per CPU (see
:func:`patchsmith.engine.predict.predict`): the wall time is the target, so the CPU time (user +
system, the worker processes' included) is printed beside it, and ``check --json`` once more
in one process (``PATCHSMITH_WORKERS=1``), so what the workers buy, and cost, is seen. On a
machine whose other load leaves no CPU idle, the workers buy little.

patchsmith runs as ``pip install`` leaves it, with its bytecode cached (``bench_filter``'s
:func:`~bench_filter.installed_patchsmith`). With ``--baseline REF`` (a commit of this
repository, e.g. ``main``) that version's ``check --json``, with and without ``--base``, runs in
the same rounds, alternating, so a change is judged against the code before it under the same
load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from bench_filter import SCENARIOS, baseline_patchsmith, installed_patchsmith
from hermetic import isolate
from measure import run

from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.source import read_sources

DEFAULT_SCENARIOS = [SCENARIOS / name for name in ("s1", "s2", "s3")]
TARGET, BASE_TARGET = 1.3, 1.5


def best(
    command: list[str], runs: int, env: dict[str, str], stdin: Path | None = None
) -> tuple[float, float]:
    """The best wall time and the least CPU time (user + system, with the worker processes
    it waited for) of ``runs`` runs; the exit status must be 0 or 1 (hunks to review)."""
    walls, cpus = [], []
    for _ in range(runs):
        child = run(command, stdin=stdin, stdout=Path(os.devnull), env=env)
        if child.code not in (0, 1):
            raise SystemExit(f"{' '.join(command)} exited with {child.code}")
        walls.append(child.wall)
        cpus.append(child.cpu)
    return min(walls), min(cpus)


def measure_scenario(
    scenario: Path,
    patchsmith: str,
    env: dict[str, str],
    folder: Path,
    runs: int,
    baseline: tuple[str, dict[str, str]] | None = None,
) -> dict[str, float]:
    """Best seconds of each command on one scenario."""
    patch_file = scenario / "upstream.patch"
    index = index_sources(read_sources([str(patch_file)]))
    paths = sorted({name.split("/", 1)[1] for f in index.files for name in f.names})
    copy = folder / f"tree-{scenario.name}"
    for path in paths:
        source = scenario / "vendor-old" / path
        if source.is_file():
            (copy / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / path)
    check = [patchsmith, "check", str(patch_file), "--tree", str(scenario / "vendor-old")]
    base = ["--base", str(scenario / "vanilla-old")]
    commands = {
        "patch --dry-run": (
            [shutil.which("patch") or "patch", "-p1", "--dry-run", "-f", "-s", "-d", str(copy)],
            patch_file,
        ),
        "check --json": ([*check, "--json"], None),
        "check (table)": (check, None),
        "check --base --json": ([*check, *base, "--json"], None),
        "check --base (table)": ([*check, *base], None),
        "check --json, 1 process": ([*check, "--json"], None),
    }
    # Whatever the shell says, check picks its worker processes itself, except where told.
    env = {name: value for name, value in env.items() if name != "PATCHSMITH_WORKERS"}
    environments = dict.fromkeys(commands, env)
    environments["check --json, 1 process"] = {**env, "PATCHSMITH_WORKERS": "1"}
    if baseline is not None:
        old = [baseline[0], *check[1:]]
        commands["baseline check --json"] = ([*old, "--json"], None)
        commands["baseline check --base --json"] = ([*old, *base, "--json"], None)
        environments["baseline check --json"] = baseline[1]
        environments["baseline check --base --json"] = baseline[1]
    for name, (command, stdin) in commands.items():  # warm-up: page cache, bytecode cache
        best(command, 1, environments[name], stdin)
    times: dict[str, float] = {}
    for _ in range(runs):  # alternating, so a burst of load hits every command alike
        for name, (command, stdin) in commands.items():
            seconds, cpu = best(command, 1, environments[name], stdin)
            times[name] = min(times.get(name, float("inf")), seconds)
            times[f"{name} cpu"] = min(times.get(f"{name} cpu", float("inf")), cpu)
    shutil.rmtree(copy)
    times["files"], times["hunks"] = len(index.files), index.hunk_count
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=DEFAULT_SCENARIOS)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--baseline", metavar="REF", help="also measure check --json as this commit has it"
    )
    args = parser.parse_args(argv)
    if shutil.which("patch") is None:
        print("GNU patch is not installed", file=sys.stderr)
        return 2
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"environment: {os.cpu_count()} CPUs, load {load}; Python {platform.python_version()}; "
        f"best of {args.runs} runs each"
    )
    worst: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        folder = Path(scratch)
        patchsmith, env = installed_patchsmith(folder)
        baseline = None
        if args.baseline:
            baseline = baseline_patchsmith(folder / "baseline", args.baseline)
        for scenario in args.scenarios:
            times = measure_scenario(
                scenario.resolve(), patchsmith, env, folder, args.runs, baseline
            )
            peer = times["patch --dry-run"]
            peer_cpu = times["patch --dry-run cpu"]
            print(f"\n== {scenario.name}: {int(times['files'])} files, {int(times['hunks'])} hunks")
            print(f"   {'':<24} {'wall':>8}   {'ratio':>5}   {'CPU':>7}  {'ratio':>5}")
            print(f"   patch -p1 --dry-run -f   {peer:6.3f} s          {peer_cpu:5.3f} s")
            for name in (
                "check --json",
                "check (table)",
                "check --base --json",
                "check --base (table)",
                "check --json, 1 process",
            ):
                ratio = times[name] / peer
                cpu = times[f"{name} cpu"]
                line = (
                    f"   {name:<24} {times[name]:6.3f} s   {ratio:4.2f}x   {cpu:5.3f} s  "
                    f"{cpu / peer_cpu:4.2f}x"
                )
                if name.endswith("1 process"):
                    print(f"{line}  (no worker processes: PATCHSMITH_WORKERS=1)")
                    continue
                target = BASE_TARGET if "--base" in name else TARGET
                verdict = "ok" if ratio <= target else "OVER"
                print(f"{line}  ({verdict}, target {target}x)")
                worst.append((ratio / target, f"{scenario.name} {name} at {ratio:.2f}x"))
            for name in ("check --json", "check --base --json"):
                before = times.get(f"baseline {name}")
                if before is not None:
                    before_cpu = times[f"baseline {name} cpu"]
                    print(
                        f"   {args.baseline} {name:<17} {before:6.3f} s   {before / peer:4.2f}x"
                        f"   {before_cpu:5.3f} s  {before_cpu / peer_cpu:4.2f}x"
                        f"  (this checkout: {times[name] / before:4.2f} of its wall time, "
                        f"{times[f'{name} cpu'] / before_cpu:4.2f} of its CPU)"
                    )
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    ratio, where = max(worst)
    print(f"\nworst against its target: {where} ({ratio:.2f} of the target); load now {load}")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

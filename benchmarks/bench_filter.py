"""Benchmark: ``patchsmith filter --only drivers/md`` against ``filterdiff -i '*/drivers/md/*'``.

Usage::

    .venv/bin/python benchmarks/bench_filter.py [PATCH] [--runs N] [--cache DIR]

Without PATCH it uses (and on first use builds) a cumulative stable patch of at least 40 MB:
vanilla 6.1.4 against vanilla 6.1.180, from Debian's orig tarballs (``apt-get source
--download-only``, so it needs deb-src entries and network once), diffed the way
``../shared/realdata/make-scenario`` does (``git diff --no-index --no-prefix``, ``a/`` ``b/``).
The patch and the tarballs live in ``--cache`` (default ``../scen/big`` next to the repository),
never inside it.

Both tools run as subprocesses on the same input in the same run, alternating, ``--runs`` times;
the best wall time of each is compared (the machine's other load only ever adds time). Peak RSS
is each child's own ``ru_maxrss`` (``os.wait4``). The outputs must be byte-identical. The same is
done on the patch concatenated four times, to show how time and memory grow with input size.
patchsmith's number includes Python's start-up and imports; the in-process numbers (read, index,
select, render, without start-up) are printed too, and so is patchsmith's wall time on a one-file
patch (its fixed cost). patchsmith runs with its bytecode cached (``PYTHONPYCACHEPREFIX`` in the
scratch folder, after a warm-up run), as an installed package's is: with
``PYTHONDONTWRITEBYTECODE`` set, as in some sandboxes, every run would recompile every module.

Targets (issue 2): wall time at most 3x filterdiff's, peak memory at most 3x the patch size,
linear in input size. This script prints; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO.parent / "scen" / "big"
OLD, NEW = "6.1.4-1", "6.1.180-1"
ONLY = "drivers/md"
GLOB = "*/drivers/md/*"
MB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    wall: float
    """Seconds, start to exit, of the best run."""
    cpu: float
    """User + system seconds of that run."""
    rss: int
    """Peak resident set size in bytes, the highest over the runs."""


# --- the input ------------------------------------------------------------------------------------


def _orig_tarball(version: str, cache: Path, downloads: list[Path]) -> Path:
    """``linux_6.1.4.orig.tar.xz`` from a download folder, or fetched with apt-get source."""
    upstream = version.rsplit("-", 1)[0]
    name = f"linux_{upstream}.orig.tar.xz"
    for folder in [cache, *downloads]:
        if (folder / name).is_file():
            return folder / name
    print(f"downloading linux={version} source (apt-get source --download-only) ...", flush=True)
    subprocess.run(
        ["apt-get", "source", "--download-only", "-qq", f"linux={version}"], cwd=cache, check=True
    )
    return cache / name


def _unpack(tarball: Path, version: str, dest: Path) -> None:
    if dest.is_dir():
        return
    upstream = version.rsplit("-", 1)[0]
    scratch = Path(tempfile.mkdtemp(dir=dest.parent))
    print(f"unpacking {tarball.name} ...", flush=True)
    subprocess.run(["tar", "-xJf", str(tarball), "-C", str(scratch)], check=True)
    (scratch / f"linux-{upstream}").rename(dest)
    scratch.rmdir()


def build_patch(cache: Path, downloads: list[Path]) -> Path:
    """The cumulative vanilla patch OLD -> NEW, cached as ``cumulative.patch``."""
    patch = cache / "cumulative.patch"
    if patch.is_file():
        return patch
    cache.mkdir(parents=True, exist_ok=True)
    for version, side in ((OLD, "a"), (NEW, "b")):
        _unpack(_orig_tarball(version, cache, downloads), version, cache / side)
    print(f"diffing vanilla {OLD} against {NEW} ...", flush=True)
    with open(patch.with_suffix(".tmp"), "wb") as out:
        # exit code 1 means "there are differences"
        code = subprocess.run(
            ["git", "diff", "--no-index", "--no-prefix", "--no-renames", "--binary", "a", "b"],
            cwd=cache,
            stdout=out,
        ).returncode
    if code not in (0, 1):
        raise SystemExit(f"git diff failed with exit code {code}")
    patch.with_suffix(".tmp").rename(patch)
    return patch


def times_four(patch: Path, folder: Path) -> Path:
    """The patch concatenated four times (file names repeat; neither tool cares)."""
    bigger = folder / (patch.stem + ".x4.patch")
    if not bigger.is_file() or bigger.stat().st_size != 4 * patch.stat().st_size:
        data = patch.read_bytes()
        with open(bigger, "wb") as out:
            out.writelines([data] * 4)
    return bigger


# --- measuring ------------------------------------------------------------------------------------


def run_once(
    command: list[str], output: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS bytes of one child process."""
    with open(output, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, env=env)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def cached_bytecode_env(folder: Path) -> dict[str, str]:
    """The environment with Python writing and reading bytecode in ``folder/pycache``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def measure(
    commands: dict[str, list[str]], folder: Path, runs: int, env: dict[str, str] | None = None
) -> dict[str, Run]:
    """Run each command ``runs`` times, alternating; keep the best wall time of each."""
    best: dict[str, tuple[float, float]] = {}
    peak: dict[str, int] = {}
    for command in commands.values():  # warm-up: page cache, bytecode cache
        run_once(command, folder / "warm-up.out", env)
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu, rss = run_once(command, folder / f"{name}.out", env)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
            peak[name] = max(peak.get(name, 0), rss)
    return {name: Run(best[name][0], best[name][1], peak[name]) for name in commands}


def in_process(patch: Path, runs: int) -> dict[str, float]:
    """Best seconds of each library stage, without interpreter start-up."""
    from patchsmith.patchfile.index import index_sources
    from patchsmith.patchfile.select import Selection, render, select
    from patchsmith.patchfile.source import read_sources

    stages: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        stages[name] = min(stages.get(name, seconds), seconds)

    for _ in range(runs):
        start = time.perf_counter()
        sources = read_sources([str(patch)])
        read = time.perf_counter()
        index = index_sources(sources, lazy=True)
        indexed = time.perf_counter()
        result = select(index, Selection(only=(ONLY,)))
        selected = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            sink.writelines(render(result))
        done = time.perf_counter()
        keep("read", read - start)
        keep("index", indexed - read)
        keep("select", selected - indexed)
        keep("render", done - selected)
        keep("total", done - start)
        del sources, index, result
    return stages


# --- the report -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patch", nargs="?", type=Path, help="a large patch (default: build one)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool (best is kept)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where to build/keep")
    parser.add_argument(
        "--downloads",
        type=Path,
        action="append",
        default=[],
        help="a folder that may already hold Debian's linux_*.orig.tar.xz (repeatable)",
    )
    args = parser.parse_args(argv)

    filterdiff = shutil.which("filterdiff")
    if filterdiff is None:
        raise SystemExit("filterdiff not found: apt-get install patchutils")
    patchsmith = Path(sys.executable).parent / "patchsmith"
    if not patchsmith.is_file():
        raise SystemExit(f"{patchsmith} not found: install patchsmith into this interpreter's venv")

    patch = args.patch if args.patch is not None else build_patch(args.cache, args.downloads)
    with tempfile.TemporaryDirectory(prefix="bench-filter-") as scratch:
        folder = Path(scratch)
        env = cached_bytecode_env(folder)
        tiny = folder / "one-file.patch"
        tiny.write_bytes(
            b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n--- a/drivers/md/dm.c\n"
            b"+++ b/drivers/md/dm.c\n@@ -1 +1 @@\n-a\n+b\n"
        )
        fixed = measure(
            {"start-up": [str(patchsmith), "filter", "--only", ONLY, str(tiny)]},
            folder,
            args.runs,
            env,
        )["start-up"]
        print(f"patchsmith on a one-file patch (start-up, imports): {fixed.wall * 1000:.0f} ms")
        inputs = {
            "1x": patch,
            "4x": times_four(patch, args.cache if args.patch is None else folder),
        }
        results: dict[str, dict[str, Run]] = {}
        for label, path in inputs.items():
            size = path.stat().st_size
            commands = {
                "filterdiff": [filterdiff, "-i", GLOB, str(path)],
                "patchsmith": [str(patchsmith), "filter", "--only", ONLY, str(path)],
            }
            results[label] = runs = measure(commands, folder, args.runs, env)
            same = (folder / "filterdiff.out").read_bytes() == (
                folder / "patchsmith.out"
            ).read_bytes()
            kept = (folder / "patchsmith.out").stat().st_size
            ours, theirs = runs["patchsmith"], runs["filterdiff"]
            print(f"\n== {label}: {path} ({size / MB:.1f} MB; {kept / 1024:.0f} KB selected)")
            print(f"   output byte-identical to filterdiff: {'yes' if same else 'NO'}")
            for name, run in runs.items():
                print(
                    f"   {name:<11} wall {run.wall * 1000:7.0f} ms   cpu {run.cpu * 1000:7.0f} ms"
                    f"   peak RSS {run.rss / MB:6.0f} MB = {run.rss / size:4.2f}x the patch"
                )
            print(
                f"   ratio patchsmith/filterdiff: wall {ours.wall / theirs.wall:.1f}x, "
                f"cpu {ours.cpu / theirs.cpu:.1f}x   (targets: <= 3x time, RSS <= 3x patch)"
            )
            if not same:
                print("   outputs differ: the ratio means nothing until they agree")
            stages = in_process(path, max(1, args.runs // 2))
            print(
                "   in-process (no start-up): "
                + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in stages.items())
                + f"; total / filterdiff wall = {stages['total'] / theirs.wall:.1f}x"
            )
        print("\n== linearity (4x input / 1x input; 4.0 is linear)")
        for name in ("filterdiff", "patchsmith"):
            one, four = results["1x"][name], results["4x"][name]
            print(
                f"   {name:<11} wall {four.wall / one.wall:.2f}   cpu {four.cpu / one.cpu:.2f}"
                f"   peak RSS {four.rss / one.rss:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``patchsmith filter --only drivers/md`` against ``filterdiff -i``, every patch style.

Usage::

    .venv/bin/python benchmarks/bench_filter.py [--old-tree DIR --new-tree DIR] [--cache DIR]
                                                [--runs N] [--styles git,urN,p0,context]
                                                [--baseline REF]

The input is one cumulative change between two kernel trees, written in each style users meet:

``git``
    ``git diff --no-index --no-prefix`` of folders named ``a`` and ``b``: ``diff --git a/x b/x``,
    ``index`` lines, ``--- a/x`` / ``+++ b/x``.
``urN``
    ``diff -urN linux-6.1.4 linux-6.1.180``: a ``diff -urN`` line, ``--- linux-6.1.4/x`` and
    ``+++ linux-6.1.180/x`` names with timestamps, no ``diff --git``.
``p0``
    the same with the tree folder taken off the names and no ``diff`` lines (``--- x<TAB>date``,
    ``+++ x<TAB>date``), as quilt and ``-p0`` patches are: only the ``---``/``+++`` pair says
    where a file diff starts.
``context``
    ``diff -crN``: context format (``*** x``, ``--- x``, ``***************``).

The trees are ``--old-tree`` and ``--new-tree`` (hard-linked into the cache, never written), or by
default vanilla 6.1.4 and 6.1.180 from Debian's orig tarballs (``apt-get source --download-only``,
which needs deb-src entries and network once; ``--downloads`` names folders that may hold them).
Patches and trees live in ``--cache`` (default ``big`` in the ``scen`` folder next to the
repository or above it), never in it.

Both tools run as subprocesses on the same input in the same run, alternating, ``--runs`` times
after a warm-up; the best wall time of each is compared (the machine's other load only ever adds
time), with the CPU time of that run. Peak RSS is each child's own, measured by GNU time
(:mod:`measure`: ``os.wait4`` here would report this process's size for a small child).
The outputs must be byte-identical to filterdiff's, and to patchsmith's own slow path (the eager
index, which reads and counts every hunk), which is checked in process on the 1x input. Each
style is measured on the patch and on the patch four times over, to show how time and memory grow.

patchsmith runs as a user's ``pip install`` leaves it: the package copied into a scratch venv
(its dependencies reached through a ``.pth`` line), bytecode cached (``PYTHONPYCACHEPREFIX``,
written by the warm-up): the development venv's editable install adds an import hook to every
start-up,
and with ``PYTHONDONTWRITEBYTECODE`` set, as in some sandboxes, every run would recompile every
module. Its start-up on a one-file patch is printed too (the fixed cost in every number).

Targets (issue 19): wall time at most 3x filterdiff's on every style, peak memory at most 2x the
patch size, linear in input size (1x, 4x). This script prints; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hermetic import isolate
from measure import GNU_TIME, private_env, run

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = next(
    (folder / "scen" for folder in REPO.parents if (folder / "scen").is_dir()), REPO.parent / "scen"
)
"""The ``scen`` folder next to the repository (or next to a folder above it, for a worktree)."""
DEFAULT_CACHE = SCENARIOS / "big"
OLD, NEW = "6.1.4-1", "6.1.180-1"
ONLY = "drivers/md"
STYLES = ("git", "urN", "p0", "context")
TIME_TARGET, MEMORY_TARGET = 3.0, 2.0
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
    upstream = version.rsplit("-", 1)[0]
    scratch = Path(tempfile.mkdtemp(dir=dest.parent))
    print(f"unpacking {tarball.name} ...", flush=True)
    subprocess.run(["tar", "-xJf", str(tarball), "-C", str(scratch)], check=True)
    (scratch / f"linux-{upstream}").rename(dest)
    scratch.rmdir()


def _link_tree(source: Path, dest: Path) -> None:
    """A copy of ``source`` at ``dest`` made of hard links (a plain copy across file systems)."""
    print(f"linking {source} into {dest} ...", flush=True)
    scratch = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    linked = subprocess.run(["cp", "-al", str(source), str(scratch)], check=False)
    if linked.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["cp", "-a", str(source), str(scratch)], check=True)
    scratch.rename(dest)


def kernel_version(tree: Path) -> str:
    """``6.1.180`` from a kernel tree's top Makefile."""
    text = (tree / "Makefile").read_text(errors="replace")
    fields = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)", text, re.M))
    return ".".join(fields[key] for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL"))


def prepare_trees(args: argparse.Namespace) -> tuple[str, str]:
    """``cache/a`` and ``cache/b``, and ``cache/linux-OLD`` / ``cache/linux-NEW`` links to them."""
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    for side, given, version in (("a", args.old_tree, OLD), ("b", args.new_tree, NEW)):
        if (cache / side).is_dir():
            continue
        if given is not None:
            _link_tree(given.resolve(), cache / side)
        else:
            _unpack(_orig_tarball(version, cache, args.downloads), version, cache / side)
    names = []
    for side in ("a", "b"):
        name = f"linux-{kernel_version(cache / side)}"
        link = cache / name
        if not link.is_symlink():
            link.symlink_to(side)
        names.append(name)
    return names[0], names[1]


def _diff_into(command: list[str], cache: Path, patch: Path) -> None:
    print(f"writing {patch.name}: {' '.join(command)} ...", flush=True)
    scratch = patch.with_suffix(".tmp")
    with open(scratch, "wb") as out:
        code = subprocess.run(command, cwd=cache, stdout=out, check=False).returncode
    if code not in (0, 1):  # 1 means "there are differences"
        raise SystemExit(f"{command[0]} failed with exit code {code}")
    scratch.rename(patch)


def _strip_tree_folders(urn: Path, patch: Path) -> None:
    """``p0``: the ``diff -urN`` patch with ``linux-X/`` taken off the names and no ``diff`` lines.

    ``diff -urN`` writes every file diff as a ``diff`` line, ``---`` and ``+++``: only those three
    lines are rewritten (a ``diff`` line cannot be inside a hunk). A ``diff`` line followed by
    anything else ("Binary files ... differ") is kept as it is.
    """
    print(f"writing {patch.name} from {urn.name} ...", flush=True)
    scratch = patch.with_suffix(".tmp")
    with open(urn, "rb") as lines, open(scratch, "wb") as out:
        window: list[bytes] = []  # up to three lines: a "diff" line and what follows it
        for line in lines:
            window.append(line)
            if not window[0].startswith(b"diff "):
                out.write(window.pop(0))
            elif len(window) == 3:
                if window[1].startswith(b"--- ") and window[2].startswith(b"+++ "):
                    out.writelines(
                        header[:4] + header[4:].split(b"/", 1)[1] for header in window[1:]
                    )
                    window.clear()
                else:
                    out.write(window.pop(0))
                    while window and not window[0].startswith(b"diff "):
                        out.write(window.pop(0))
        out.writelines(window)
    scratch.rename(patch)


def build_patches(args: argparse.Namespace, styles: list[str]) -> dict[str, Path]:
    """One patch per style, between the same two trees, cached in ``--cache``."""
    cache: Path = args.cache
    old, new = prepare_trees(args)
    commands = {
        "git": ["git", "diff", "--no-index", "--no-prefix", "--no-renames", "--binary", "a", "b"],
        "urN": ["diff", "-urN", old, new],
        "context": ["diff", "-crN", old, new],
    }
    patches: dict[str, Path] = {}
    for style in styles:
        patch = cache / f"{old}-{new}.{style}.patch"
        if not patch.is_file():
            if style == "p0":
                _strip_tree_folders(build_patches(args, ["urN"])["urN"], patch)
            else:
                _diff_into(commands[style], cache, patch)
        patches[style] = patch
    return patches


def times_four(patch: Path) -> Path:
    """The patch concatenated four times (file names repeat; neither tool cares)."""
    bigger = patch.with_name(patch.name.replace(".patch", ".x4.patch"))
    if not bigger.is_file() or bigger.stat().st_size != 4 * patch.stat().st_size:
        with open(bigger.with_suffix(".tmp"), "wb") as out:
            for _ in range(4):
                with open(patch, "rb") as part:
                    shutil.copyfileobj(part, out)
        bigger.with_suffix(".tmp").rename(bigger)
    return bigger


# --- the installed patchsmith ---------------------------------------------------------------------


def installed_patchsmith(folder: Path, source: Path = REPO) -> tuple[str, dict[str, str]]:
    """A ``patchsmith`` command as ``pip install`` leaves it, and the environment to run it in.

    The package (``source/patchsmith``: this checkout, or a baseline's) is copied into a
    scratch venv's site-packages (what installing a pure-Python wheel does); its dependencies
    are reached through a ``.pth`` line naming this interpreter's site-packages, whose own
    ``.pth`` files (the editable install's import hook) are not read.
    """
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    shutil.copytree(
        source / "patchsmith", site / "patchsmith", ignore=shutil.ignore_patterns("__pycache__")
    )
    dependencies = [p for p in sys.path if p.endswith("site-packages")]
    (site / "dependencies.pth").write_text("\n".join(dependencies) + "\n")
    command = venv / "bin" / "patchsmith"
    command.write_text(
        f"#!{python}\nimport sys\nfrom patchsmith.cli import console_main\n"
        "sys.exit(console_main())\n"
    )
    command.chmod(0o755)
    return str(command), cached_bytecode_env(folder)


def baseline_patchsmith(folder: Path, ref: str) -> tuple[str, dict[str, str]]:
    """:func:`installed_patchsmith` of the package as commit ``ref`` of this repository has it
    (``--baseline main``): measured in the same run as this checkout, alternating, so the
    machine's load falls on both alike."""
    source = folder / "source"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "patchsmith"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    return installed_patchsmith(folder, source)


def cached_bytecode_env(folder: Path) -> dict[str, str]:
    """The environment with Python writing and reading bytecode in ``folder/pycache``, and
    HOME and every XDG folder in ``folder`` (never the real home)."""
    env = private_env(folder)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


# --- measuring ------------------------------------------------------------------------------------


def run_once(
    command: list[str], output: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS bytes of one child process (:mod:`measure`)."""
    child = run(command, stdout=output, env=env)
    if child.code != 0:
        raise SystemExit(f"{' '.join(command)} exited with {child.code}")
    return child.wall, child.cpu, child.peak


def measure(
    commands: dict[str, list[str]],
    folder: Path,
    runs: int,
    env: dict[str, str] | None = None,
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, Run]:
    """Run each command ``runs`` times, alternating; keep the best wall time of each.
    ``envs`` gives a command an environment of its own (the baseline's bytecode cache)."""
    envs = envs or {}
    best: dict[str, tuple[float, float]] = {}
    peak: dict[str, int] = {}
    for name, command in commands.items():  # warm-up: page cache, bytecode cache
        run_once(command, folder / "warm-up.out", envs.get(name, env))
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu, rss = run_once(command, folder / f"{name}.out", envs.get(name, env))
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
            peak[name] = max(peak.get(name, 0), rss)
    return {name: Run(best[name][0], best[name][1], peak[name]) for name in commands}


def in_a_child(task: str, patch: Path, *arguments: str) -> str:
    """Run ``task`` of this script in a child process and return what it prints.

    The in-process measurements build large indexes; in this process they would stay in its
    memory, and every tool forked afterwards would start with (and report as its peak) this
    process's resident set.
    """
    return subprocess.run(
        [sys.executable, __file__, task, str(patch), *arguments],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def slow_path_output(patch: Path, output: Path) -> None:
    """``filter --only`` through the eager index: every hunk of every file read and counted."""
    from patchsmith.patchfile.index import index_sources
    from patchsmith.patchfile.select import Selection, render, select
    from patchsmith.patchfile.source import read_sources

    index = index_sources(read_sources([str(patch)]))
    output.write_bytes(b"".join(render(select(index, Selection(only=(ONLY,))))))


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
        result = select(index, Selection(only=(ONLY,)), bytes_only=True)  # as filter does
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


def environment(filterdiff: str) -> str:
    version = subprocess.run(
        [filterdiff, "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    peaks = "GNU time" if GNU_TIME else "wait4 (an upper bound: install GNU time)"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs ({cpus} usable), load average {load}; "
        f"Python {platform.python_version()}; {version[0] if version else 'filterdiff'}; "
        f"peak RSS by {peaks}"
    )


def child_task(argv: list[str]) -> int:
    """``--stages PATCH RUNS`` and ``--slow-path PATCH OUTPUT``: the work of :func:`in_a_child`."""
    task, patch = argv[0], Path(argv[1])
    if task == "--stages":
        stages = in_process(patch, int(argv[2]))
        print(", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in stages.items()))
    else:
        slow_path_output(patch, Path(argv[2]))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--stages"], ["--slow-path"]):
        return child_task(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool (best is kept)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where to build/keep")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure patchsmith as commit REF has it, in the same rounds (before/after)",
    )
    parser.add_argument("--old-tree", type=Path, help="the older kernel tree (read only)")
    parser.add_argument("--new-tree", type=Path, help="the newer kernel tree (read only)")
    parser.add_argument(
        "--styles",
        default=",".join(STYLES),
        help=f"comma-separated patch styles to measure (default: {','.join(STYLES)})",
    )
    parser.add_argument(
        "--downloads",
        type=Path,
        action="append",
        default=[],
        help="a folder that may already hold Debian's linux_*.orig.tar.xz (repeatable)",
    )
    args = parser.parse_args(argv)
    styles = [s for s in args.styles.split(",") if s]
    unknown = sorted(set(styles) - set(STYLES))
    if unknown or (args.old_tree is None) != (args.new_tree is None):
        parser.error(
            f"unknown style {unknown[0]}" if unknown else "give --old-tree and --new-tree together"
        )

    filterdiff = shutil.which("filterdiff")
    if filterdiff is None:
        raise SystemExit("filterdiff not found: apt-get install patchutils")
    print(f"environment: {environment(filterdiff)}")
    patches = build_patches(args, styles)

    rows: list[tuple[str, str, int, Run, Run, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench-filter-") as scratch:
        folder = Path(scratch)
        patchsmith, env = installed_patchsmith(folder)
        baseline: tuple[str, dict[str, str]] | None = None
        if args.baseline is not None:
            baseline = baseline_patchsmith(folder / "baseline", args.baseline)
        tiny = folder / "one-file.patch"
        tiny.write_bytes(
            b"diff --git a/drivers/md/dm.c b/drivers/md/dm.c\n--- a/drivers/md/dm.c\n"
            b"+++ b/drivers/md/dm.c\n@@ -1 +1 @@\n-a\n+b\n"
        )
        starts = {"start-up": [patchsmith, "filter", "--only", ONLY, str(tiny)]}
        if baseline is not None:
            starts["baseline"] = [baseline[0], "filter", "--only", ONLY, str(tiny)]
        fixed = measure(
            starts, folder, args.runs, env, {"baseline": baseline[1]} if baseline else {}
        )
        print(
            "patchsmith on a one-file patch (start-up, imports): "
            f"{fixed['start-up'].wall * 1000:.0f} ms wall, "
            f"{fixed['start-up'].cpu * 1000:.0f} ms cpu"
            + (
                f"; baseline {args.baseline}: {fixed['baseline'].wall * 1000:.0f} ms wall, "
                f"{fixed['baseline'].cpu * 1000:.0f} ms cpu"
                if baseline is not None
                else ""
            )
        )
        for style, patch in patches.items():
            glob = f"{ONLY}/*" if style == "p0" else f"*/{ONLY}/*"
            for label, path in (("1x", patch), ("4x", times_four(patch))):
                size = path.stat().st_size
                commands = {
                    "filterdiff": [filterdiff, "-i", glob, str(path)],
                    "patchsmith": [patchsmith, "filter", "--only", ONLY, str(path)],
                }
                envs = {}
                if baseline is not None:
                    commands["baseline"] = [baseline[0], "filter", "--only", ONLY, str(path)]
                    envs["baseline"] = baseline[1]
                runs = measure(commands, folder, args.runs, env, envs)
                if baseline is not None:
                    same_before = (folder / "baseline.out").read_bytes() == (
                        folder / "patchsmith.out"
                    ).read_bytes()
                ours_out = (folder / "patchsmith.out").read_bytes()
                same = (folder / "filterdiff.out").read_bytes() == ours_out
                print(f"\n== {style} {label}: {path.name} ({size / MB:.1f} MB)")
                print(
                    f"   {len(ours_out) / 1024:.0f} KB selected; byte-identical to filterdiff: "
                    f"{'yes' if same else 'NO'}"
                )
                if label == "1x":
                    in_a_child("--slow-path", path, str(folder / "slow.out"))
                    slow = (folder / "slow.out").read_bytes() == ours_out
                    same = same and slow
                    print(f"   byte-identical to the eager index: {'yes' if slow else 'NO'}")
                for name, run in runs.items():
                    print(
                        f"   {name:<11} wall {run.wall * 1000:7.0f} ms   "
                        f"cpu {run.cpu * 1000:7.0f} ms   "
                        f"peak RSS {run.rss / MB:6.0f} MB = {run.rss / size:4.2f}x the patch"
                    )
                ours, theirs = runs["patchsmith"], runs["filterdiff"]
                print(
                    f"   ratio patchsmith/filterdiff: wall {ours.wall / theirs.wall:.2f}x, "
                    f"cpu {ours.cpu / theirs.cpu:.2f}x"
                )
                if baseline is not None:
                    before = runs["baseline"]
                    print(
                        f"   baseline {args.baseline}/filterdiff: wall "
                        f"{before.wall / theirs.wall:.2f}x, cpu {before.cpu / theirs.cpu:.2f}x; "
                        f"same output: {'yes' if same_before else 'NO'}"
                    )
                if label == "1x":
                    stages = in_a_child("--stages", path, str(max(1, args.runs // 2)))
                    print(f"   in-process (no start-up): {stages.strip()}")
                rows.append((style, label, size, ours, theirs, same))

    print(f"\n== summary (best of {args.runs}; targets: <= {TIME_TARGET:.0f}x filterdiff's wall")
    print(f"   time, peak RSS <= {MEMORY_TARGET:.0f}x the patch, 4x input ~ 4x time)")
    print("   style    size     MB  filterdiff  patchsmith   ratio  RSS/patch  identical")
    for style, label, size, ours, theirs, same in rows:
        print(
            f"   {style:<8} {label:<4} {size / MB:6.1f}  {theirs.wall * 1000:7.0f} ms"
            f"  {ours.wall * 1000:7.0f} ms  {ours.wall / theirs.wall:5.2f}x"
            f"  {ours.rss / size:8.2f}x  {'yes' if same else 'NO'}"
        )
    print("   linearity (4x input / 1x input, wall; 4.0 is linear):")
    for style in patches:
        pair = {label: (ours, theirs) for s, label, _, ours, theirs, _ in rows if s == style}
        print(
            f"   {style:<8} patchsmith {pair['4x'][0].wall / pair['1x'][0].wall:.2f}, "
            f"filterdiff {pair['4x'][1].wall / pair['1x'][1].wall:.2f}"
        )
    worst = max(rows, key=lambda row: row[3].wall / row[4].wall)
    print(
        f"   worst: {worst[0]} {worst[1]} at {worst[3].wall / worst[4].wall:.2f}x filterdiff; "
        f"largest RSS/patch {max(row[3].rss / row[2] for row in rows):.2f}x; "
        f"outputs identical: {'all' if all(row[5] for row in rows) else 'NOT ALL'}"
    )
    print(f"environment at the end: {environment(filterdiff)}")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

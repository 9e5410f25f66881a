"""Wall time of ``patchsmith check`` against ``patch -p1 --dry-run -f``, measured in the same run.

Usage: ``bench_check.py SCENARIO_DIR [--runs N]``. ``check``, both as ``--json`` and as the
table a person reads (piped), reads ``upstream.patch`` against the full ``vendor-old/`` tree (it
only opens the files the patch names); GNU patch runs on a scratch copy of exactly those files,
so both read the same bytes. Each command runs ``--runs``
times, alternating, after one warm-up each (so both see a warm page cache); the best time of
each is compared. The target is a ratio of at most 1.5.

patchsmith is measured twice, the way ``bench_filter.py`` measures it (its
:func:`~bench_filter.cached_bytecode_env` is reused): with its bytecode cached
(``PYTHONPYCACHEPREFIX`` in the scratch folder, written by the warm-up run), as an installed
package's is, and with the caller's environment as it is. With ``PYTHONDONTWRITEBYTECODE`` set,
as in some sandboxes, the second recompiles every patchsmith module on every run; both numbers
are printed, the cached one is the one the target is about.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_filter import cached_bytecode_env

from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.source import read_sources

TARGET = 1.5


def timed(
    command: list[str], stdin_path: Path | None = None, env: dict[str, str] | None = None
) -> float:
    with open(stdin_path if stdin_path is not None else "/dev/null", "rb") as stdin:
        started = time.perf_counter()
        subprocess.run(
            command,
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            env=env,
        )
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scenario: Path = args.scenario
    patch_file = scenario / "upstream.patch"
    patch = shutil.which("patch")
    if patch is None:
        print("GNU patch is not installed", file=sys.stderr)
        return 2
    index = index_sources(read_sources([str(patch_file)]))
    paths = sorted({name.split("/", 1)[1] for f in index.files for name in f.names})
    check = [
        str(Path(sys.executable).with_name("patchsmith")),
        "check",
        str(patch_file),
        "--tree",
        str(scenario / "vendor-old"),
        "-p",
        "1",
        "--json",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        folder = Path(scratch)
        copy = folder / "tree"
        for path in paths:
            source = scenario / "vendor-old" / path
            if source.is_file():
                (copy / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy / path)
        cached = cached_bytecode_env(folder)
        as_is = dict(os.environ)
        gnu = [patch, "-p1", "--dry-run", "-f", "-s", "-d", str(copy)]
        table = [word for word in check if word != "--json"]
        timed(check, env=cached)  # warm-up: page cache, and writes the bytecode cache
        timed(table, env=cached)
        timed(check, env=as_is)
        timed(gnu, patch_file)
        ours: list[float] = []
        tables: list[float] = []
        uncached: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            ours.append(timed(check, env=cached))
            tables.append(timed(table, env=cached))
            uncached.append(timed(check, env=as_is))
            theirs.append(timed(gnu, patch_file))
    best_ours, best_table = min(ours), min(tables)
    best_uncached, best_theirs = min(uncached), min(theirs)
    ratio = best_ours / best_theirs
    table_ratio = best_table / best_theirs
    no_cache = "PYTHONDONTWRITEBYTECODE set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    print(f"files {len(index.files)}, hunks {index.hunk_count}, runs {args.runs} (best of)")
    print(
        f"patchsmith check --json : {best_ours:.3f}s (bytecode cached, as bench_filter.py runs it)"
    )
    print(f"patchsmith check (table): {best_table:.3f}s (piped), ratio {table_ratio:.2f}x")
    print(
        f"  --json without cache   : {best_uncached:.3f}s "
        f"(this environment as is{': ' + no_cache if no_cache else ''}), "
        f"ratio {best_uncached / best_theirs:.2f}x"
    )
    print(f"patch -p1 --dry-run -f  : {best_theirs:.3f}s")
    verdict = "within" if max(ratio, table_ratio) <= TARGET else "OVER"
    print(f"ratio {ratio:.2f}x --json, {table_ratio:.2f}x table ({verdict} the {TARGET}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of ``patchsmith check`` on one file with many hunks, against ``patch --dry-run``.

Usage: ``bench_many_hunks.py [--hunks 10000,40000,100000] [--runs N] [--shapes named,...]``.

The file is N small kernel-shaped functions (ten lines each, every one ending the same way),
and the patch changes one line in each: N hunks in one file. The vendor's file has three lines
of its own at the top, so every hunk is found three lines below where the patch says, the
way GNU patch reports "offset 3" hunk after hunk. Two patches are measured:

* **named**: each hunk header names its function, as ``git diff`` writes it;
* **unnamed**: no function in the headers (``diff -u`` without ``-p``), so no hunk can be
  confirmed by its function and the ambiguity rule must know of every other place in the file
  that holds the same lines: the search that used to read the whole file once per hunk.
* **repeated**: one function body that is the same block (``{ lock(); foo(); unlock(); }``)
  N times, a hunk on each, headers without a function (issue 14.9). Every hunk's lines match
  at every block, so every hunk is ``ambiguous`` and its search finds N places: it took 24 s
  for 5,000 hunks and over 300 s for 20,000 (quadratic) before each image's places were kept
  once per file, read by bisection, and the neighbours' bound asked only where it can lift.

``check`` must take time linear in the number of hunks: the ratio to GNU patch printed for
each size should stay flat as N grows (it grew with N before: 1.0 / 3.6 / 16.6 / 117 s for
10k / 20k / 40k / 100k hunks). Each command runs ``--runs`` times after a warm-up; the best
time is printed. Both read the same file from a scratch folder.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hermetic import isolate

VENDOR_LINES = "/* vendor: board quirks */\n#include <vendor/quirks.h>\n\n"


def function(number: int, fixed: bool) -> list[str]:
    """One function of the file; ``fixed`` is upstream's version of it."""
    return [
        f"static int setup_{number}(struct device *dev)\n",
        "{\n",
        "\tint ret;\n",
        "\n",
        f"\tret = device_setup(dev, {number});\n",
        "\tif (ret)\n",
        "\t\tgoto out;\n" if fixed else "\t\treturn ret;\n",
        "\treturn 0;\n",
        "}\n",
        "\n",
    ]


def make(folder: Path, hunks: int, named: bool) -> Path:
    """The vendor's file under ``folder/tree`` and the patch; returns the patch's path."""
    lines: list[str] = []
    diff = ["--- a/drivers/demo/many.c\n", "+++ b/drivers/demo/many.c\n"]
    for number in range(hunks):
        old = function(number, fixed=False)
        new = function(number, fixed=True)
        lines.extend(old)
        first = number * 10 + 4  # 1-based line of the hunk's first context line
        section = f" {old[0].rstrip()}" if named else ""
        diff.append(f"@@ -{first},7 +{first},7 @@{section}\n")
        diff.extend(" " + line for line in old[3:6])
        diff.append("-" + old[6])
        diff.append("+" + new[6])
        diff.extend(" " + line for line in old[7:10])
    tree = folder / "tree" / "drivers" / "demo"
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "many.c").write_text(VENDOR_LINES + "".join(lines))
    patch = folder / f"many-{hunks}-{'named' if named else 'unnamed'}.diff"
    patch.write_text("".join(diff))
    return patch


BLOCK = ["\t{\n", "\t\tlock();\n", "\t\tfoo();\n", "\t\tunlock();\n", "\t}\n", "\n", "\n"]


def make_repeated(folder: Path, hunks: int) -> Path:
    """The same block ``hunks`` times in one function and a patch changing each one (one
    hunk a block, no function in the headers); returns the patch's path."""
    lines = ["void run(void)\n", "{\n", "\n"]
    diff = ["--- a/drivers/demo/many.c\n", "+++ b/drivers/demo/many.c\n"]
    for number in range(hunks):
        lines.extend(BLOCK)
        first = 3 + len(BLOCK) * number  # the blank line above the block
        diff.append(f"@@ -{first},7 +{first},7 @@\n")
        diff.extend(" " + line for line in ["\n", *BLOCK[:2]])
        diff.append("-" + BLOCK[2])
        diff.append("+\t\tfoo_locked();\n")
        diff.extend(" " + line for line in BLOCK[3:6])
    lines.append("}\n")
    tree = folder / "tree" / "drivers" / "demo"
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "many.c").write_text(VENDOR_LINES + "".join(lines))
    patch = folder / f"many-{hunks}-repeated.diff"
    patch.write_text("".join(diff))
    return patch


def best_of(command: list[str], runs: int, stdin: Path | None = None) -> tuple[float, float]:
    """The best wall time and the best CPU time (user + system) of ``runs`` runs."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs + 1):  # the first is a warm-up
        with open(stdin if stdin is not None else "/dev/null", "rb") as handle:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                command, stdin=handle, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls[1:]), min(cpus[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hunks", default="10000,40000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default="named,unnamed,repeated")
    args = parser.parse_args()
    patch = shutil.which("patch")
    if patch is None:
        print("GNU patch is not installed", file=sys.stderr)
        return 2
    patchsmith = str(Path(sys.executable).with_name("patchsmith"))
    sizes = [int(size) for size in args.hunks.split(",")]
    print(f"best of {args.runs} runs; the vendor's file has 3 lines of its own at the top")
    print("seconds as wall / CPU (user + system: steadier on a shared machine)")
    print(
        f"{'hunks':>7} {'headers':>8} {'patchsmith check':>18} {'patch --dry-run':>16}"
        f" {'ratio (CPU)':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-many-") as scratch:
        folder = Path(scratch)
        for size in sizes:
            for headers in args.shapes.split(","):
                if headers == "repeated":
                    diff = make_repeated(folder, size)
                else:
                    diff = make(folder, size, headers == "named")
                tree = folder / "tree"
                ours, ours_cpu = best_of(
                    [patchsmith, "check", str(diff), "--tree", str(tree), "-p", "1", "--json"],
                    args.runs,
                )
                gnu, gnu_cpu = best_of(
                    [patch, "-p1", "--dry-run", "-f", "-s", "-d", str(tree)], args.runs, diff
                )
                print(
                    f"{size:>7} {headers:>8} {ours:>8.2f} / {ours_cpu:>5.2f}s"
                    f" {gnu:>7.2f} / {gnu_cpu:>5.2f}s {ours_cpu / max(gnu_cpu, 0.001):>11.1f}x"
                )
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

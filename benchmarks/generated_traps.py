"""Generated traps: how often each tool is silently wrong on small files built to fool it.

Usage: ``generated_traps.py [--cases N] [--seed S] [--json]``.

Each case is a small function body made of a few repeating lines (``x++;``, ``}``, ``return
0;``: the repetition real kernel code has, concentrated), an upstream edit of it as a unified
diff, and a vendor's file of one of two kinds:

* **moved**: vanilla with lines the vendor added outside every hunk. Applying upstream's change
  must give upstream's result with the vendor's lines where they were;
* **copied**: vanilla with a copy of one hunk's old lines added outside every hunk (a helper
  the vendor duplicated). Upstream's change goes where upstream made it; the copy stays;
* **fuzzed**: vanilla with the first context line of one hunk changed, as fuzz 1 ignores.
  Upstream's change goes in with the vendor's line kept;
* **carried**: the vendor already has upstream's change (a backport). Nothing may change.

A tool is **silently wrong** on a case when it reports success (GNU patch and ``git apply``: exit
0; patchsmith: every hunk ``clean``, ``offset`` or ``already-applied`` and none flagged) and the
file it leaves differs from the right one. A tool that refuses, rejects or flags the case is
**flagged**: a person looks, nothing is lost. GNU patch runs as ``patch -p1 -f`` (``-f``, as
scripts run it, so it never stops to ask), ``git apply`` with its defaults, and patchsmith through
its library (:func:`~patchsmith.engine.predict.predict_file`, what ``check`` and ``apply`` use).
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hermetic import isolate

from patchsmith.engine.predict import SETTLED, predict_file
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes

LINES = ["\ta\n", "\tb\n", "\tc\n", "\t{\n", "\t}\n", "\n", "\treturn 0;\n", "\tx++;\n"]
HEAD = "int f(void)\n{\n"
TAIL = "}\n"


def edit(rng: random.Random) -> tuple[list[str], list[str]]:
    old = [rng.choice(LINES) for _ in range(rng.randint(4, 40))]
    new = list(old)
    for _ in range(rng.randint(1, 4)):
        start = rng.randint(0, len(new))
        end = rng.randint(start, min(len(new), start + 3))
        new[start:end] = [rng.choice(LINES) for _ in range(rng.randint(0, 3))]
    return old, new


class Layout:
    """Where upstream's hunks sit in the function body, and what a vendor can add around them."""

    def __init__(self, old: list[str], diff: str) -> None:
        index = index_bytes(diff.encode())
        offset = len(HEAD.splitlines())  # the diff is of the whole function; bodies are indexed
        self.spans = [
            (h.old_start - 1 - offset if h.old_count else h.old_start - offset, h)
            for h in parse_file(index, index.files[0])
        ]
        self.free = [
            i
            for i in range(len(old) + 1)
            if all(i <= start or i >= start + h.old_count for start, h in self.spans)
        ]
        """Body indexes outside every hunk: where a vendor's lines leave upstream's alone."""

    def insert(self, vendor: list[str], right: list[str], point: int, lines: list[str]) -> None:
        """Add ``lines`` at body index ``point`` of the vendor's file, and where that point
        lands in upstream's result (shifted by every hunk above it)."""
        vendor[point:point] = lines
        shift = sum(h.new_count - h.old_count for s, h in self.spans if s + h.old_count <= point)
        right[point + shift : point + shift] = lines


def moved(rng: random.Random, old: list[str], new: list[str], diff: str) -> tuple[str, str]:
    """The vendor's file (vanilla plus lines outside the hunks) and the right result."""
    layout = Layout(old, diff)
    vendor, right = list(old), list(new)
    count = min(len(layout.free), rng.randint(1, 3))
    for point in sorted(rng.sample(layout.free, count), reverse=True):
        layout.insert(vendor, right, point, [rng.choice(LINES) for _ in range(rng.randint(1, 3))])
    return wrap(vendor), wrap(right)


def copied(rng: random.Random, old: list[str], new: list[str], diff: str) -> tuple[str, str] | None:
    """The vendor's file with a copy of one hunk's old lines added outside every hunk (a
    vendor's duplicated helper), and the right result: upstream's change where upstream made
    it, the copy left alone."""
    layout = Layout(old, diff)
    if not layout.free:
        return None  # the hunks cover the whole body: no place outside them
    _start, hunk = rng.choice(layout.spans)
    # The body's lines of the hunk (not the function's own first lines or closing brace).
    frame = (HEAD + TAIL).splitlines(keepends=True)
    copy = [line.decode() for line in hunk.old_lines if line.decode() not in frame]
    copy = copy or [rng.choice(LINES)]
    vendor, right = list(old), list(new)
    layout.insert(vendor, right, rng.choice(layout.free), copy)
    return wrap(vendor), wrap(right)


def fuzzed(rng: random.Random, old: list[str], new: list[str], diff: str) -> tuple[str, str] | None:
    """The vendor's file with the first context line of one hunk changed (what fuzz 1 lets
    GNU patch ignore), and the right result: upstream's change with the vendor's line kept."""
    index = index_bytes(diff.encode())
    offset = len(HEAD.splitlines())
    choices = []
    for hunk in parse_file(index, index.files[0]):
        old_at = hunk.old_start - 1 - offset
        new_at = hunk.new_start - 1 - offset
        if hunk.ops.startswith(" ") and 0 <= old_at < len(old) and 0 <= new_at < len(new):
            choices.append((old_at, new_at))
    if not choices:
        return None
    old_at, new_at = rng.choice(choices)
    other = rng.choice([line for line in LINES if line != old[old_at]])
    vendor, right = list(old), list(new)
    vendor[old_at] = right[new_at] = other
    return wrap(vendor), wrap(right)


def wrap(body: list[str]) -> str:
    return HEAD + "".join(body) + TAIL


def patchsmith(diff: str, vendor: str) -> tuple[bool, str]:
    index = index_bytes(diff.encode())
    (entry,) = index.files
    file = predict_file("f.c", vendor.encode(), parse_file(index, entry), entry.kind)
    settled = all(h.status in SETTLED and not h.needs_review for h in file.hunks)
    result = b"".join(file.result_lines or ()).decode()
    return settled, result


def external(command: list[str], diff: str, vendor: str, folder: Path) -> tuple[bool, str]:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    (folder / "f.c").write_text(vendor)
    done = subprocess.run(
        command, cwd=folder, input=diff.encode(), capture_output=True, check=False
    )
    return done.returncode == 0, (folder / "f.c").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500, help="cases of each kind (500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tools = {
        "patchsmith": None,
        "GNU patch -f": ["patch", "-p1", "-f", "-s", "--no-backup-if-mismatch"],
        "git apply": ["git", "apply", "-p1", "-"],
    }
    tally: dict[str, Counter[str]] = {
        f"{t} / {k}": Counter() for k in ("moved", "copied", "fuzzed", "carried") for t in tools
    }
    with tempfile.TemporaryDirectory(prefix="traps-") as scratch:
        folder = Path(scratch) / "t"
        made = 0
        while made < args.cases:
            old, new = edit(rng)
            diff = "".join(
                difflib.unified_diff(
                    wrap(old).splitlines(True), wrap(new).splitlines(True), "a/f.c", "b/f.c"
                )
            )
            duplicate = copied(rng, old, new, diff) if diff else None
            changed = fuzzed(rng, old, new, diff) if diff else None
            if duplicate is None or changed is None:
                continue
            made += 1
            cases = {
                "moved": moved(rng, old, new, diff),
                "copied": duplicate,
                "fuzzed": changed,
                "carried": (wrap(new), wrap(new)),
            }
            for kind, (vendor, right) in cases.items():
                for tool, command in tools.items():
                    if command is None:
                        ok, result = patchsmith(diff, vendor)
                    else:
                        ok, result = external(command, diff, vendor, folder)
                    verdict = (
                        "flagged" if not ok else ("right" if result == right else "silently wrong")
                    )
                    tally[f"{tool} / {kind}"][verdict] += 1
    if args.json:
        print(json.dumps({key: dict(count) for key, count in tally.items()}, indent=2))
        return 0
    print(f"{args.cases} cases of each kind, seed {args.seed}")
    print(f"{'tool / vendor file':<28} {'right':>7} {'flagged':>8} {'silently wrong':>15}")
    for key, count in tally.items():
        print(f"{key:<28} {count['right']:>7} {count['flagged']:>8} {count['silently wrong']:>15}")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

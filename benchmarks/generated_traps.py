"""Generated traps: how often each tool is silently wrong on small files built to fool it.

Usage: ``generated_traps.py [--cases N] [--seed S] [--kinds K,K] [--json]``.

Each case is a small function body made of a few repeating lines (``x++;``, ``}``, ``return
0;``: the repetition real kernel code has, concentrated), an upstream edit of it as a unified
diff, and a vendor's file of one of these kinds:

* **moved**: vanilla with lines the vendor added outside every hunk. Applying upstream's change
  must give upstream's result with the vendor's lines where they were;
* **copied**: vanilla with a copy of one hunk's old lines added outside every hunk (a helper
  the vendor duplicated). Upstream's change goes where upstream made it; the copy stays;
* **fuzzed**: vanilla with the first context line of one hunk changed, as fuzz 1 ignores.
  Upstream's change goes in with the vendor's line kept;
* **carried**: the vendor already has upstream's change (a backport). Nothing may change;
* **deleted**: upstream deletes a block; the vendor edited a line inside it, and a copy of the
  hunk's result (the lines around the block, joined) stands elsewhere in the file. The block
  must go (the vendor's edit with it); the file reads as "already applied" at the copy;
* **tie**: two functions end with the same lines; upstream changes the second one's tail, and
  the hunk header names it (as ``git diff`` writes it). The vendor added lines at the top, so
  the first function's tail is now nearer to the stated line. The change goes in the second;
* **linked**: the file the patch changes is a symlink in the tree, or lies beyond one (a
  linked folder, inside the tree or out of it), or the patch creates a file where the tree has
  a link. No silent outcome is right: writing the link's target changes every path that
  shares it, replacing the link changes the tree's shape, so a person must be told. For
  patchsmith, ``apply`` (a real worktree) is run too, and its verdicts are compared with
  ``check``'s: they must be the same, and nothing may be written outside the worktree.

A tool is **silently wrong** on a case when it reports success (GNU patch and ``git apply``: exit
0; patchsmith: every hunk ``clean``, ``offset`` or ``already-applied`` and none flagged) and the
file it leaves differs from the right one. A tool that refuses, rejects or flags the case is
**flagged**: a person looks, nothing is lost. GNU patch runs as ``patch -p1 -f`` (``-f``, as
scripts run it, so it never stops to ask), ``git apply`` with its defaults, and patchsmith through
its library (:func:`~patchsmith.engine.predict.predict_file`, what ``check`` and ``apply`` use;
for **linked**, :func:`~patchsmith.engine.predict.predict` on the tree, as ``check`` runs, and
:func:`~patchsmith.workspace.apply.apply_patch`).

The first four kinds come from one random stream, as they always did, so their numbers stay
comparable from run to run of the same seed; each newer kind has a stream of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hermetic import isolate

from patchsmith.engine.filelines import enclosing_function
from patchsmith.engine.predict import SETTLED, predict, predict_file
from patchsmith.errors import PatchsmithError
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes
from patchsmith.patchfile.select import Selection, select

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


def unified(old: list[str], new: list[str], name: str = "f.c") -> str:
    """The diff of two whole files, each hunk header naming its function as ``git diff``
    does (the nearest line above the hunk that starts like a definition)."""
    diff = "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))
    encoded = [line.encode() for line in old]

    def named(match: re.Match[str]) -> str:
        first = int(match.group(1))
        found = enclosing_function(encoded, first - 1)
        section = f" {found[1].decode().rstrip()}" if found else ""
        return f"{match.group(0)}{section}"

    return re.sub(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", named, diff, flags=re.M)


Case = tuple[str, str, str]
"""(the diff, the vendor's file, the file applying it must give)."""


def deleted(rng: random.Random) -> Case | None:
    """Upstream deletes a block; the vendor edited one of its lines; a copy of the hunk's
    result stands elsewhere. The right file is upstream's, with that copy kept."""
    old = [rng.choice(LINES) for _ in range(rng.randint(12, 40))]
    size = rng.randint(2, 6)
    start = rng.randint(3, len(old) - size - 3)
    new = old[:start] + old[start + size :]
    diff = "".join(
        difflib.unified_diff(
            wrap(old).splitlines(True), wrap(new).splitlines(True), "a/f.c", "b/f.c"
        )
    )
    layout = Layout(old, diff)
    removed = [
        first + index
        for first, hunk in layout.spans
        for index, op in enumerate(op for op in hunk.ops if op != "+")
        if op == "-"
    ]
    removed = [index for index in removed if 0 <= index < len(old)]
    if not removed or not layout.free:
        return None
    vendor, right = list(old), list(new)
    edited = rng.choice(removed)
    vendor[edited] = rng.choice([line for line in LINES if line != old[edited]])
    _start, hunk = rng.choice(layout.spans)
    frame = (HEAD + TAIL).splitlines(keepends=True)
    copy = [line.decode() for line in hunk.new_lines if line.decode() not in frame]
    if not copy:
        return None
    layout.insert(vendor, right, rng.choice(layout.free), copy)
    return diff, wrap(vendor), wrap(right)


def tie(rng: random.Random) -> Case | None:
    """Two functions with the same tail; upstream changes the second's, and its hunk header
    names it; the vendor's lines at the top bring the first's tail nearer the stated line."""
    tail = [rng.choice(LINES) for _ in range(rng.randint(8, 12))]
    body_a = [rng.choice(LINES) for _ in range(rng.randint(0, 6))]
    body_b = [rng.choice(LINES) for _ in range(rng.randint(0, 6))]
    point = rng.randint(3, len(tail) - 4)
    new_tail = list(tail)
    new_tail[point : point + rng.randint(0, 1)] = [
        rng.choice(LINES) for _ in range(rng.randint(1, 2))
    ]
    if new_tail == tail:
        return None
    first = ["int first(void)\n", "{\n", *body_a, *tail, "}\n", "\n"]
    old = [*first, "int second(void)\n", "{\n", *body_b, *tail, "}\n"]
    new = [*first, "int second(void)\n", "{\n", *body_b, *new_tail, "}\n"]
    diff = unified(old, new)
    index = index_bytes(diff.encode())
    hunks = parse_file(index, index.files[0])
    # A tie needs the hunk's lines in both functions (the diff may reach past the tail).
    text = "".join(old).encode()
    if len(hunks) != 1 or text.count(b"".join(hunks[0].old_lines)) < 2:
        return None
    gap = len(tail) + 4 + len(body_b)  # from the first tail to the second
    vendor_lines = [f"/* vendor {n} */\n" for n in range(rng.randint(gap // 2 + 1, gap + gap // 2))]
    return diff, "".join(vendor_lines + old), "".join(vendor_lines + new)


LINK_SHAPES = ("file link", "folder link", "folder link out of the tree", "new file over a link")
"""How the linked cases put a symlink on the way, in turn."""


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


# --- linked: a symlink on the way -----------------------------------------------------------------


def linked(rng: random.Random, number: int) -> tuple[str, str, str]:
    """(the shape, the diff, the file's contents) of the ``number``-th linked case."""
    old, new = edit(rng)
    while old == new:
        old, new = edit(rng)
    shape = LINK_SHAPES[number % len(LINK_SHAPES)]
    name = "d/f.c" if "folder" in shape else "f.c"
    if shape == "new file over a link":
        added = "".join(f"+{line}" for line in wrap(new).splitlines(True))
        count = len(wrap(new).splitlines())
        diff = f"--- /dev/null\n+++ b/f.c\n@@ -0,0 +1,{count} @@\n{added}"
    else:
        diff = "".join(
            difflib.unified_diff(
                wrap(old).splitlines(True), wrap(new).splitlines(True), f"a/{name}", f"b/{name}"
            )
        )
    return shape, diff, wrap(old)


def linked_tree(folder: Path, shape: str, contents: str) -> tuple[Path, Path]:
    """A fresh tree with the shape's link, and a folder outside it that must stay as it is:
    (the tree, the outside folder). The link's target holds ``contents``."""
    if folder.exists():
        shutil.rmtree(folder)
    tree, outside = folder / "tree", folder / "outside"
    (tree / "real").mkdir(parents=True)
    outside.mkdir()
    (tree / "real" / "f.c").write_text(contents)
    (outside / "f.c").write_text(contents)
    if shape == "folder link":
        os.symlink("real", tree / "d")
    elif shape == "folder link out of the tree":
        os.symlink("../outside", tree / "d")
    else:
        os.symlink("real/f.c", tree / "f.c")
    return tree, outside


def fingerprint(root: Path) -> dict[str, str]:
    """Every path under ``root``: a link's target, a file's hash (links are not followed)."""
    found: dict[str, str] = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(directory) / name
            if path.is_symlink():
                found[str(path.relative_to(root))] = "-> " + os.readlink(path)
            elif path.is_file():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path.relative_to(root))] = "folder"
    return found


def external_linked(command: list[str], diff: str, tree: Path, outside: Path) -> tuple[bool, str]:
    """Run a peer in a linked tree: (whether it reported success, what it changed)."""
    before = fingerprint(tree), fingerprint(outside)
    done = subprocess.run(command, cwd=tree, input=diff.encode(), capture_output=True, check=False)
    return done.returncode == 0, _changes(before, (fingerprint(tree), fingerprint(outside)))


def _changes(
    before: tuple[dict[str, str], dict[str, str]], after: tuple[dict[str, str], dict[str, str]]
) -> str:
    tree_before, outside_before = before
    tree_after, outside_after = after
    if outside_after != outside_before:
        return "wrote outside the tree"
    links = {path for path, what in tree_before.items() if what.startswith("-> ")}
    if any(tree_after.get(path) != tree_before[path] for path in links):
        return "replaced a link"
    if tree_after.get("real/f.c") != tree_before.get("real/f.c"):
        return "wrote through a link"
    changed = {
        p for p in tree_after.keys() | tree_before.keys() if tree_after.get(p) != tree_before.get(p)
    }
    return "changed " + ", ".join(sorted(changed)) if changed else ""


def patchsmith_linked(diff: str, tree: Path) -> tuple[bool, tuple[tuple[str, bool], ...] | str]:
    """``check`` on a linked tree: (whether it settled everything, each hunk's (status, flag),
    or why it refused)."""
    index = index_bytes(diff.encode())
    try:
        prediction = predict(index, index.files, tree, strip=1)
    except PatchsmithError as error:
        return False, f"refused: {error.message}"
    verdicts = tuple((str(h.status), h.needs_review) for f in prediction.files for h in f.hunks)
    return prediction.settled, verdicts


def apply_linked(
    diff: str, tree: Path, outside: Path, worktree: Path
) -> tuple[bool, tuple[tuple[str, bool], ...] | str, str]:
    """``apply`` on a linked tree, in a worktree of its own: (whether nothing was left open,
    each hunk's (status, flag) or why it refused, what it changed in the tree or outside)."""
    from patchsmith.cli import main as cli_main  # git, worktrees: only for this kind
    from patchsmith.workspace.apply import ApplyOptions, apply_patch

    index = index_bytes(diff.encode())
    before = fingerprint(tree), fingerprint(outside)
    try:
        session = apply_patch(
            index, select(index, Selection()), tree, ApplyOptions(worktree=worktree)
        )
    except PatchsmithError as error:
        verdicts: tuple[tuple[str, bool], ...] | str = f"refused: {error.message}"
        settled = False
    else:
        verdicts = tuple((str(h.status), h.needs_review) for h in session.hunks)
        settled = not any(h.open for h in session.hunks)
    changes = _changes(before, (fingerprint(tree), fingerprint(outside)))
    # The next case's tree has the same path: its session, worktree and branch must go first.
    with contextlib.redirect_stderr(io.StringIO()):
        cli_main(["abort", "--session", str(worktree)])
    return settled, verdicts, changes


# --- the run --------------------------------------------------------------------------------------

KINDS = ("moved", "copied", "fuzzed", "carried", "deleted", "tie", "linked")
TOOLS = {
    "patchsmith": None,
    "GNU patch -f": ["patch", "-p1", "-f", "-s", "--no-backup-if-mismatch"],
    "git apply": ["git", "apply", "-p1", "-"],
}


def _verdict(ok: bool, result: str, right: str) -> str:
    return "flagged" if not ok else ("right" if result == right else "silently wrong")


def run_first_four(
    rng: random.Random, cases: int, kinds: set[str], folder: Path, tally: dict[str, Counter[str]]
) -> None:
    """moved, copied, fuzzed and carried, from one random stream (as they always were)."""
    made = 0
    while made < cases:
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
        generated = {
            "moved": moved(rng, old, new, diff),
            "copied": duplicate,
            "fuzzed": changed,
            "carried": (wrap(new), wrap(new)),
        }
        for kind, (vendor, right) in generated.items():
            if kind in kinds:
                score(kind, diff, vendor, right, folder, tally)


def score(
    kind: str, diff: str, vendor: str, right: str, folder: Path, tally: dict[str, Counter[str]]
) -> None:
    for tool, command in TOOLS.items():
        if command is None:
            ok, result = patchsmith(diff, vendor)
        else:
            ok, result = external(command, diff, vendor, folder)
        tally[f"{tool} / {kind}"][_verdict(ok, result, right)] += 1


def run_made(
    kind: str,
    make: Callable[[random.Random], Case | None],
    rng: random.Random,
    cases: int,
    folder: Path,
    tally: dict[str, Counter[str]],
) -> None:
    made = 0
    while made < cases:
        case = make(rng)
        if case is None:
            continue
        made += 1
        score(kind, *case, folder, tally)


def run_linked(
    rng: random.Random,
    cases: int,
    folder: Path,
    tally: dict[str, Counter[str]],
    notes: Counter[str],
) -> None:
    """Every tool on linked trees; for patchsmith, check and apply, compared."""
    for number in range(cases):
        shape, diff, contents = linked(rng, number)
        for tool, command in TOOLS.items():
            tree, outside = linked_tree(folder, shape, contents)
            if command is not None:
                ok, changes = external_linked(command, diff, tree, outside)
                if ok or changes:
                    outcome = "success" if ok else "failed"
                    notes[f"{tool}: {shape}: {outcome}, {changes or 'nothing written'}"] += 1
                tally[f"{tool} / linked"]["silently wrong" if ok else "flagged"] += 1
                continue
            checked, check_verdicts = patchsmith_linked(diff, tree)
            applied, apply_verdicts, changes = apply_linked(
                diff, tree, outside, folder / "worktree"
            )
            both_refused = str(check_verdicts).startswith("refused") and str(
                apply_verdicts
            ).startswith("refused")
            if check_verdicts != apply_verdicts and not both_refused:
                notes[
                    f"patchsmith: {shape}: check {check_verdicts} but apply {apply_verdicts}"
                ] += 1
            else:
                notes[f"patchsmith: {shape}: check and apply gave the same verdicts"] += 1
            if changes:
                notes[f"patchsmith: {shape}: apply {changes}"] += 1
            wrong = checked or applied or bool(changes)
            tally["patchsmith / linked"]["silently wrong" if wrong else "flagged"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500, help="cases of each kind (500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS), help="which kinds (all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = [kind for kind in KINDS if kind in args.kinds.split(",")]
    tally: dict[str, Counter[str]] = {f"{t} / {k}": Counter() for k in kinds for t in TOOLS}
    notes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="traps-") as scratch:
        folder = Path(scratch) / "t"
        first_four = {"moved", "copied", "fuzzed", "carried"} & set(kinds)
        if first_four:
            run_first_four(random.Random(args.seed), args.cases, first_four, folder, tally)
        for kind, make in (("deleted", deleted), ("tie", tie)):
            if kind in kinds:
                run_made(
                    kind, make, random.Random(f"{args.seed}-{kind}"), args.cases, folder, tally
                )
        if "linked" in kinds:
            run_linked(
                random.Random(f"{args.seed}-linked"), args.cases, Path(scratch) / "l", tally, notes
            )
    if args.json:
        print(
            json.dumps(
                {
                    "tally": {key: dict(count) for key, count in tally.items()},
                    "linked": dict(notes),
                },
                indent=2,
            )
        )
        return 0
    print(f"{args.cases} cases of each kind, seed {args.seed}")
    print(f"{'tool / vendor file':<28} {'right':>7} {'flagged':>8} {'silently wrong':>15}")
    for key, count in tally.items():
        print(f"{key:<28} {count['right']:>7} {count['flagged']:>8} {count['silently wrong']:>15}")
    if notes:
        print("\nlinked, what each tool did (cases):")
        for note, times in sorted(notes.items()):
            print(f"  {times:>5}  {note}")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

"""Score ``patchsmith check`` on a real scenario: would applying its verdicts give what the
vendor shipped next?

Usage: ``score_check.py SCENARIO_DIR [--base [VANILLA]] [--gnu]``. The scenario
(``make-scenario``) has ``upstream.patch``, ``vendor-old/`` (the tree the patch goes onto),
``vanilla-old/`` (the tree the patch was made against), ``truth/`` (what the vendor shipped next)
and ``scenario.json`` (which files are ``scored``). With ``--base`` the prediction is given the
vanilla tree (``check --base``; ``vanilla-old/`` unless a directory is named), and the run
without it is scored too, for comparison. Each hunk is applied where
``check`` says, in memory (:func:`patchsmith.engine.locate.apply_located`, the apply stage's own
code), and each scored file is compared with ``truth/``:

- equal: the file is what the vendor shipped;
- flagged: it differs, but ``check`` said so (a fuzz, whitespace, conflict, partially-applied
  or already-applied hunk, a ``needs_review`` flag, or a file-level verdict that needs a person);
- silently wrong: it differs and nothing said so. This must be 0.

With ``--gnu`` the same comparison is made for GNU patch (``patch -p1 -f`` on a scratch copy
of the touched files): a file is flagged for it when it left a ``.rej`` or said "FAILED" or
"Reversed"; a fuzzy success counts as silent, since patch reports it as success.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hermetic import isolate

from patchsmith.engine.predict import FilePrediction, predict
from patchsmith.model import HunkStatus
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.source import read_sources

# Every status a person must act on. ``fuzz`` and ``whitespace`` are here because they are not
# settled: ``check`` exits 1 on them and ``apply`` writes them only with --accept-fuzz.
FLAG_STATUSES = {
    HunkStatus.FUZZ,
    HunkStatus.WHITESPACE,
    HunkStatus.CONFLICT,
    HunkStatus.PARTIALLY_APPLIED,
    HunkStatus.ALREADY_APPLIED,
    HunkStatus.MISSING_FILE,
    HunkStatus.FILE_EXISTS,
}


def flagged(file: FilePrediction) -> bool:
    if file.needs_review or file.status in FLAG_STATUSES:
        return True
    return any(h.needs_review or h.status in FLAG_STATUSES for h in file.hunks)


def read_truth(root: Path, path: str) -> bytes | None:
    try:
        return (root / path).read_bytes()
    except FileNotFoundError:
        return None


def scored_paths(scenario: Path) -> set[str]:
    meta = json.loads((scenario / "scenario.json").read_text())
    return {d["path"] for d in meta.get("detail", []) if d.get("scored", True)}


def score_patchsmith(
    scenario: Path, base: Path | None = None
) -> tuple[dict[str, list[str]], float, int]:
    """The outcome per scored file, the prediction's seconds and its count of hunks (or
    hunk-less files) a person must look at: not settled, the same as ``check --issues``."""
    index = index_sources(read_sources([str(scenario / "upstream.patch")]))
    started = time.perf_counter()
    prediction = predict(index, index.files, scenario / "vendor-old", strip=1, base=base)
    elapsed = time.perf_counter() - started
    open_items = sum(
        sum(1 for h in f.hunks if not h.settled) if f.hunks else int(not f.settled)
        for f in prediction.files
    )
    scored = scored_paths(scenario)
    # The last diff of a path holds its final contents (diffs of one file run in sequence).
    final: dict[str, FilePrediction] = {}
    for file in prediction.files:
        final[file.path] = file
        if file.old_path is not None and file.kind.name == "RENAMED":
            final.setdefault(file.old_path, file)
    outcome: dict[str, list[str]] = {"equal": [], "flagged": [], "silently wrong": []}
    for path, file in sorted(final.items()):
        if path not in scored:
            continue
        lines = file.result_lines if path == file.path else None
        ours = b"".join(lines) if lines is not None else None
        if ours == read_truth(scenario / "truth", path):
            outcome["equal"].append(path)
        elif any(flagged(f) for f in prediction.files if path in (f.path, f.old_path)):
            outcome["flagged"].append(path)
        else:
            outcome["silently wrong"].append(path)
    return outcome, elapsed, open_items


def score_gnu(scenario: Path) -> dict[str, list[str]]:
    patch = shutil.which("patch")
    if patch is None:
        raise SystemExit("GNU patch is not installed")
    index = index_sources(read_sources([str(scenario / "upstream.patch")]))
    scored = scored_paths(scenario)
    paths = sorted({name.split("/", 1)[1] for f in index.files for name in f.names})
    with tempfile.TemporaryDirectory(prefix="score-gnu-") as scratch:
        work = Path(scratch)
        for path in paths:
            source = scenario / "vendor-old" / path
            if source.is_file():
                (work / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, work / path)
        with open(scenario / "upstream.patch", "rb") as stdin:
            run = subprocess.run(
                [patch, "-p1", "-f", "--no-backup-if-mismatch", "-d", str(work)],
                stdin=stdin,
                capture_output=True,
                check=False,
            )
        said = run.stdout.decode("utf-8", "replace")
        complained: set[str] = set()
        current = ""
        for line in said.splitlines():
            if line.startswith("patching file "):
                current = line[len("patching file ") :].strip("'")
            elif "FAILED" in line or "Reversed" in line or "ignored" in line:
                complained.add(current)
        outcome: dict[str, list[str]] = {"equal": [], "flagged": [], "silently wrong": []}
        for path in paths:
            if path not in scored:
                continue
            ours = read_truth(work, path)
            if ours == read_truth(scenario / "truth", path):
                outcome["equal"].append(path)
            elif path in complained or os.path.exists(work / (path + ".rej")):
                outcome["flagged"].append(path)
            else:
                outcome["silently wrong"].append(path)
    return outcome


def report(name: str, outcome: dict[str, list[str]]) -> None:
    counts = ", ".join(f"{len(v)} {k}" for k, v in outcome.items())
    print(f"{name}: {counts}")
    for kind in ("flagged", "silently wrong"):
        for path in outcome[kind]:
            print(f"  {kind}: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--gnu", action="store_true", help="score GNU patch the same way")
    parser.add_argument(
        "--base",
        nargs="?",
        const="",
        metavar="VANILLA",
        help="also score check --base with the vanilla tree (default: SCENARIO/vanilla-old)",
    )
    args = parser.parse_args()
    outcome, elapsed, open_items = score_patchsmith(args.scenario)
    report(f"patchsmith check ({elapsed:.2f}s, {open_items} hunks open)", outcome)
    wrong = bool(outcome["silently wrong"])
    if args.base is not None:
        base = Path(args.base) if args.base else args.scenario / "vanilla-old"
        outcome, elapsed, open_items = score_patchsmith(args.scenario, base)
        report(f"patchsmith check --base ({elapsed:.2f}s, {open_items} hunks open)", outcome)
        wrong = wrong or bool(outcome["silently wrong"])
    if args.gnu:
        report("GNU patch -p1 -f", score_gnu(args.scenario))
    return 1 if wrong else 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

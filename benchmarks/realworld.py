"""Side by side on a real kernel scenario: patchsmith against GNU patch, git apply and wiggle.

Usage::

    ../shared/realdata/make-scenario 6.1.180-1 6.1.187-1 /tmp/s1
    .venv/bin/python benchmarks/realworld.py /tmp/s1 [--json] [--filter drivers|modules]

Each tool gets a fresh copy of the files ``upstream.patch`` touches in ``vendor-old/`` (a tool
only reads and writes the files a patch names, so this is the same as a copy of the whole tree,
and much cheaper); patchsmith reads ``vendor-old/`` itself, read-only, and works in its own git
worktree. Every scored file (``scenario.json``) is then compared with ``truth/`` (what the vendor
shipped next) and counted as

* **equal**: byte-identical to truth;
* **flagged**: different, but the tool said so (a ``.rej`` file, conflict markers, or the tool's
  own list of unresolved files);
* **silently wrong**: different and not flagged. This is the number that matters.

The script prints a table (or ``--json``) with wall time and peak memory of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PATCHSMITH = [str(Path(sys.executable).parent / "patchsmith")]
MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@dataclass
class Outcome:
    tool: str
    equal: int = 0
    flagged: int = 0
    silently_wrong: int = 0
    hunks_for_a_human: int = 0
    seconds: float = 0.0
    peak_mb: float = 0.0
    wrong_files: list[str] = field(default_factory=list)
    note: str = ""


def run(
    command: list[str], cwd: Path | None = None, stdin: bytes | None = None
) -> tuple[int, bytes, float, float]:
    """Run a command; return (exit code, combined output, seconds, peak RSS of children in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return result.returncode, result.stdout, seconds, max(after, before) / 1024


def patch_paths(patch: bytes) -> list[str]:
    """Tree paths named on the ``+++``/``---`` lines of a git-style patch (a/ b/ stripped)."""
    paths: set[str] = set()
    for line in patch.splitlines():
        if line.startswith((b"--- a/", b"+++ b/")):
            paths.add(line[6:].split(b"\t")[0].decode("utf-8", "surrogateescape"))
    return sorted(paths)


def copy_touched(source: Path, target: Path, paths: Iterable[str]) -> None:
    for path in paths:
        origin = source / path
        if origin.exists():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / path)


def has_markers(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return any(b"\n" + marker in data or data.startswith(marker) for marker in MARKERS)


def score(
    outcome: Outcome,
    result_tree: Path,
    truth: Path,
    scored: list[str],
    flagged: Callable[[str], bool],
) -> None:
    for path in scored:
        mine, theirs = result_tree / path, truth / path
        same = (not mine.exists() and not theirs.exists()) or (
            mine.is_file() and theirs.is_file() and mine.read_bytes() == theirs.read_bytes()
        )
        if same:
            outcome.equal += 1
        elif flagged(path):
            outcome.flagged += 1
        else:
            outcome.silently_wrong += 1
            outcome.wrong_files.append(path)


def gnu_patch(
    scenario: Path, patch: bytes, paths: list[str], scored: list[str], work: Path
) -> Outcome:
    tree = work / "gnu-patch"
    copy_touched(scenario / "vendor-old", tree, paths)
    _code, output, seconds, peak = run(
        ["patch", "-p1", "-f", "--no-backup-if-mismatch"], tree, patch
    )
    outcome = Outcome("GNU patch -p1 -f", seconds=seconds, peak_mb=peak)
    outcome.hunks_for_a_human = output.count(b"FAILED at")
    score(outcome, tree, scenario / "truth", scored, lambda p: (tree / (p + ".rej")).exists())
    return outcome


def git_init(tree: Path) -> None:
    env_free = ["git", "-c", "core.hooksPath=/dev/null", "-C", str(tree)]
    subprocess.run([*env_free, "init", "-q"], check=True)
    subprocess.run([*env_free, "add", "-A", "-f"], check=True)
    subprocess.run(
        [
            *env_free,
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@invalid",
            "commit",
            "-qm",
            "base",
        ],
        check=True,
    )


def git_apply_reject(
    scenario: Path, patch: bytes, paths: list[str], scored: list[str], work: Path
) -> Outcome:
    tree = work / "git-apply-reject"
    copy_touched(scenario / "vendor-old", tree, paths)
    git_init(tree)
    _code, output, seconds, peak = run(["git", "-C", str(tree), "apply", "--reject"], tree, patch)
    outcome = Outcome("git apply --reject", seconds=seconds, peak_mb=peak)
    outcome.hunks_for_a_human = output.count(b"Rejected hunk")
    score(outcome, tree, scenario / "truth", scored, lambda p: (tree / (p + ".rej")).exists())
    return outcome


def git_apply_3way(
    scenario: Path, patch: bytes, paths: list[str], scored: list[str], work: Path
) -> Outcome:
    """git apply --3way needs the pre-image blobs: import the vanilla files the patch names."""
    tree = work / "git-apply-3way"
    copy_touched(scenario / "vendor-old", tree, paths)
    git_init(tree)
    vanilla = scenario / "vanilla-old"
    blobs = [str(vanilla / p) for p in paths if (vanilla / p).is_file()]
    subprocess.run(
        ["git", "-C", str(tree), "hash-object", "-w", "--stdin-paths"],
        input="\n".join(blobs).encode(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    code, output, seconds, peak = run(["git", "-C", str(tree), "apply", "--3way"], tree, patch)
    outcome = Outcome("git apply --3way", seconds=seconds, peak_mb=peak)
    unmerged = (
        subprocess.run(
            ["git", "-C", str(tree), "diff", "--name-only", "--diff-filter=U"],
            capture_output=True,
            check=False,
        )
        .stdout.decode()
        .split()
    )
    outcome.hunks_for_a_human = len(unmerged)
    if code != 0 and not unmerged:
        outcome.note = (
            "git apply --3way refused the patch: " + output.decode(errors="replace")[-200:]
        )
    score(
        outcome,
        tree,
        scenario / "truth",
        scored,
        lambda p: p in unmerged or has_markers(tree / p) or code != 0,
    )
    return outcome


def wiggle_on_rejects(
    scenario: Path, patch: bytes, paths: list[str], scored: list[str], work: Path
) -> Outcome:
    """GNU patch first, then ``wiggle --replace`` on every reject, as people use it."""
    tree = work / "wiggle"
    copy_touched(scenario / "vendor-old", tree, paths)
    start = time.perf_counter()
    run(["patch", "-p1", "-f", "--no-backup-if-mismatch"], tree, patch)
    peak = 0.0
    rejects = sorted(tree.rglob("*.rej"))
    for reject in rejects:
        target = reject.with_suffix("")
        _, _, _, peak = run(["wiggle", "--replace", "--no-backup", str(target), str(reject)])
        reject.unlink()
    outcome = Outcome("patch + wiggle --replace", seconds=time.perf_counter() - start, peak_mb=peak)
    outcome.hunks_for_a_human = sum(has_markers(tree / p) for p in paths)
    score(outcome, tree, scenario / "truth", scored, lambda p: has_markers(tree / p))
    return outcome


def patchsmith_apply(
    scenario: Path,
    patch_file: Path,
    scored: list[str],
    work: Path,
    base: bool,
    selection: list[str],
) -> Outcome:
    worktree = work / ("patchsmith-base" if base else "patchsmith")
    command = [
        *PATCHSMITH,
        "apply",
        str(patch_file),
        "--tree",
        str(scenario / "vendor-old"),
        "--worktree",
        str(worktree),
        "--branch",
        f"bench-{os.getpid()}-{int(base)}",
        *selection,
    ]
    if base:
        command += ["--base", str(scenario / "vanilla-old")]
    code, output, seconds, peak = run(command)
    name = "patchsmith apply" + (" --base" if base else "")
    outcome = Outcome(name, seconds=seconds, peak_mb=peak)
    if code >= 2:
        outcome.note = output.decode(errors="replace")[-300:]
        return outcome
    status = subprocess.run(
        [*PATCHSMITH, "status", "--json", "--session", str(worktree)],
        capture_output=True,
        check=False,
    )
    document = json.loads(status.stdout or b"{}")
    open_files = {
        hunk["path"]
        for hunk in document.get("hunks", [])
        if hunk.get("resolution") is None
        and hunk.get("status") not in ("clean", "offset", "excluded")
    }
    # Hunks a person must settle: patchsmith's own open list (already-applied hunks are
    # recorded decisions with their evidence, not work).
    outcome.hunks_for_a_human = sum(1 for hunk in document.get("hunks", []) if hunk.get("open"))
    score(
        outcome,
        worktree,
        scenario / "truth",
        scored,
        lambda p: (
            p in open_files or (worktree / (p + ".rej")).exists() or has_markers(worktree / p)
        ),
    )
    subprocess.run(
        [*PATCHSMITH, "abort", "--session", str(worktree)], capture_output=True, check=False
    )
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--filter",
        choices=["drivers", "modules"],
        help="run every tool on the selected part only (--only drivers, or --modules-only)",
    )
    parser.add_argument("--tools", default="patch,reject,3way,wiggle,patchsmith,patchsmith-base")
    args = parser.parse_args(argv)
    scenario: Path = args.scenario.resolve()
    meta = json.loads((scenario / "scenario.json").read_text())
    patch_file = scenario / "upstream.patch"
    selection: list[str] = []
    with tempfile.TemporaryDirectory(prefix="patchsmith-realworld-") as scratch:
        work = Path(scratch)
        if args.filter:
            selection = (
                ["--only", "drivers"]
                if args.filter == "drivers"
                else ["--modules-only", "--config", str(scenario / "config")]
            )
            filtered = work / "selected.patch"
            subprocess.run(
                [
                    *PATCHSMITH,
                    "filter",
                    str(patch_file),
                    *selection,
                    *(["--tree", str(scenario / "vendor-old")] if args.filter == "modules" else []),
                    "-o",
                    str(filtered),
                ],
                check=True,
            )
            patch_file = filtered
        patch = patch_file.read_bytes()
        paths = patch_paths(patch)
        chosen = set(paths)
        scored = [d["path"] for d in meta["detail"] if d["scored"] and d["path"] in chosen]
        tools = args.tools.split(",")
        outcomes: list[Outcome] = []
        if "patch" in tools:
            outcomes.append(gnu_patch(scenario, patch, paths, scored, work))
        if "reject" in tools:
            outcomes.append(git_apply_reject(scenario, patch, paths, scored, work))
        if "3way" in tools:
            outcomes.append(git_apply_3way(scenario, patch, paths, scored, work))
        if "wiggle" in tools and shutil.which("wiggle"):
            outcomes.append(wiggle_on_rejects(scenario, patch, paths, scored, work))
        if "patchsmith" in tools:
            outcomes.append(patchsmith_apply(scenario, patch_file, scored, work, False, []))
        if "patchsmith-base" in tools:
            outcomes.append(patchsmith_apply(scenario, patch_file, scored, work, True, []))
    if args.json:
        print(
            json.dumps(
                {
                    "scenario": {k: v for k, v in meta.items() if k != "detail"},
                    "scored": len(scored),
                    "results": [asdict(o) for o in outcomes],
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{meta['old']} -> {meta['new']}: {len(paths)} files in the patch, {len(scored)} scored"
        + (f" (selection: {' '.join(selection)})" if selection else "")
    )
    print("| tool | equal | flagged | **silently wrong** | for a human | time (s) | peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        print(
            f"| {o.tool} | {o.equal} | {o.flagged} | **{o.silently_wrong}** "
            f"| {o.hunks_for_a_human} | {o.seconds:.2f} | {o.peak_mb:.0f} |"
        )
    for o in outcomes:
        if o.wrong_files:
            print(f"{o.tool}: silently wrong: {', '.join(o.wrong_files[:10])}")
        if o.note:
            print(f"{o.tool}: {o.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

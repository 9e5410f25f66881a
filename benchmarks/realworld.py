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
* **flagged**: different, and the tool said so *for that file*: a ``.rej`` file, conflict
  markers, a line of its output naming the file as failed or conflicted, or the tool's own list
  of unresolved files. A failing exit status alone flags nothing: ``git apply --3way`` exits 1
  for one conflict and may have merged another file wrongly without a word;
* **silently wrong**: different and not flagged. This is the number that matters;
* **vendor drift**: a file ``scenario.json`` marks ``vendor_drift``, where the vendor also
  rewrote its own change between the two releases: no tool can reach truth from the upstream
  patch there, so such files are counted apart (and listed with each tool's result), never as
  silently wrong or as equal.

Every peer's exit status and output are checked: a tool that fails outright (an unknown option,
a crash) gets a note, and its row says so instead of scoring what it left behind. ``wiggle``
runs as people run it after GNU patch: ``wiggle --replace FILE FILE.rej`` for each reject
(Debian's wiggle 1.1 has no ``--no-backup``: the ``.porig`` backups it writes are removed).

Time is the wall time of the tool's whole run; peak MB is the largest process of that run alone,
measured by GNU time (:mod:`measure`). Each run has its own HOME and XDG folders, so
patchsmith's remembered resolutions from an earlier run never change a later one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hermetic import isolate
from measure import GNU_TIME, Child, private_env, run

PATCHSMITH = str(Path(sys.executable).parent / "patchsmith")
MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@dataclass
class Outcome:
    tool: str
    equal: int = 0
    flagged: int = 0
    silently_wrong: int = 0
    vendor_drift: dict[str, str] = field(default_factory=dict)
    """Each vendor-drift file: ``equal``, ``flagged`` or ``differs`` (not flagged)."""
    hunks_for_a_human: int = 0
    seconds: float = 0.0
    peak_mb: float = 0.0
    wrong_files: list[str] = field(default_factory=list)
    failed: bool = False
    """The tool failed outright (see ``note``): its scores mean nothing."""
    note: str = ""


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


def conflict_blocks(path: Path) -> int:
    """How many ``<<<<<<<`` blocks a file holds (0 when it is missing)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return data.count(b"\n" + MARKERS[0]) + data.startswith(MARKERS[0])


def has_markers(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return any(b"\n" + marker in data or data.startswith(marker) for marker in MARKERS)


def tail(output: bytes, size: int = 300) -> str:
    return output.decode("utf-8", "replace").strip()[-size:]


@dataclass(frozen=True)
class Scoring:
    """What a tool's result is compared with."""

    truth: Path
    scored: list[str]
    """Scored files that are not vendor drift."""
    drift: list[str]
    """Vendor-drift files among the scored ones."""


def score(
    outcome: Outcome, result_tree: Path, scoring: Scoring, flagged: Callable[[str], bool]
) -> None:
    def same(path: str) -> bool:
        mine, theirs = result_tree / path, scoring.truth / path
        return (not mine.exists() and not theirs.exists()) or (
            mine.is_file() and theirs.is_file() and mine.read_bytes() == theirs.read_bytes()
        )

    for path in scoring.scored:
        if same(path):
            outcome.equal += 1
        elif flagged(path):
            outcome.flagged += 1
        else:
            outcome.silently_wrong += 1
            outcome.wrong_files.append(path)
    for path in scoring.drift:
        outcome.vendor_drift[path] = (
            "equal" if same(path) else "flagged" if flagged(path) else "differs"
        )


def measured(outcome: Outcome, child: Child) -> None:
    outcome.seconds += child.wall
    outcome.peak_mb = max(outcome.peak_mb, child.peak_mb)


def gnu_patch(
    scenario: Path, patch: bytes, paths: list[str], scoring: Scoring, work: Path
) -> Outcome:
    tree = work / "gnu-patch"
    copy_touched(scenario / "vendor-old", tree, paths)
    child = run(
        ["patch", "-p1", "-f", "--no-backup-if-mismatch"],
        cwd=tree,
        stdin=patch,
        env=private_env(work / "env-patch"),
    )
    outcome = Outcome("GNU patch -p1 -f")
    measured(outcome, child)
    if child.code not in (0, 1):  # 1: some hunks failed (their .rej files say which)
        outcome.failed = True
        outcome.note = f"GNU patch failed (exit {child.code}): {tail(child.output)}"
        return outcome
    outcome.hunks_for_a_human = child.output.count(b"FAILED at")
    score(outcome, tree, scoring, lambda p: (tree / (p + ".rej")).exists())
    return outcome


def git_init(tree: Path, env: dict[str, str]) -> None:
    git = ["git", "-c", "core.hooksPath=/dev/null", "-C", str(tree)]
    subprocess.run([*git, "init", "-q"], check=True, env=env)
    subprocess.run([*git, "add", "-A", "-f"], check=True, env=env)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@invalid"]
    subprocess.run([*git, *identity, "commit", "-qm", "base"], check=True, env=env)


def git_env(folder: Path) -> dict[str, str]:
    env = private_env(folder)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


def git_apply_reject(
    scenario: Path, patch: bytes, paths: list[str], scoring: Scoring, work: Path
) -> Outcome:
    tree = work / "git-apply-reject"
    env = git_env(work / "env-reject")
    copy_touched(scenario / "vendor-old", tree, paths)
    git_init(tree, env)
    child = run(["git", "-C", str(tree), "apply", "--reject"], cwd=tree, stdin=patch, env=env)
    outcome = Outcome("git apply --reject")
    measured(outcome, child)
    if child.code not in (0, 1):  # 1: some hunks were rejected into .rej files
        outcome.failed = True
        outcome.note = f"git apply --reject failed (exit {child.code}): {tail(child.output)}"
        return outcome
    outcome.hunks_for_a_human = child.output.count(b"Rejected hunk")
    score(outcome, tree, scoring, lambda p: (tree / (p + ".rej")).exists())
    return outcome


# What git apply --3way says about one file, line by line:
#   Applied patch to 'net/ipv4/icmp.c' with conflicts.
#   U net/ipv4/icmp.c
#   error: patch failed: net/ipv4/icmp.c:123
#   error: net/ipv4/icmp.c: patch does not apply
#   Applied patch to 'net/ipv4/icmp.c' cleanly.
_GIT_CONFLICT = re.compile(rb"^(?:Applied patch to '(.+)' with conflicts\.|U (.+))$", re.M)
_GIT_ERROR = re.compile(rb"^error: (?:patch failed: (.+):\d+|(.+?): .+)$", re.M)
_GIT_CLEAN = re.compile(rb"^Applied patch to '(.+)' cleanly\.$", re.M)


def git_reported(output: bytes) -> set[str]:
    """The files ``git apply --3way`` reported as conflicted, or as failed and never applied."""

    def names(pattern: re.Pattern[bytes]) -> set[str]:
        return {
            (match.group(1) or match.group(2)).decode("utf-8", "surrogateescape")
            for match in pattern.finditer(output)
        }

    return names(_GIT_CONFLICT) | (names(_GIT_ERROR) - names(_GIT_CLEAN))


def git_apply_3way(
    scenario: Path, patch: bytes, paths: list[str], scoring: Scoring, work: Path
) -> Outcome:
    """git apply --3way needs the pre-image blobs: import the vanilla files the patch names."""
    tree = work / "git-apply-3way"
    env = git_env(work / "env-3way")
    copy_touched(scenario / "vendor-old", tree, paths)
    git_init(tree, env)
    vanilla = scenario / "vanilla-old"
    blobs = [str(vanilla / p) for p in paths if (vanilla / p).is_file()]
    subprocess.run(
        ["git", "-C", str(tree), "hash-object", "-w", "--stdin-paths"],
        input="\n".join(blobs).encode(),
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    child = run(["git", "-C", str(tree), "apply", "--3way"], cwd=tree, stdin=patch, env=env)
    outcome = Outcome("git apply --3way")
    measured(outcome, child)
    reported = git_reported(child.output)
    if child.code not in (0, 1) or (child.code == 1 and not reported):
        outcome.failed = True
        outcome.note = f"git apply --3way failed (exit {child.code}): {tail(child.output)}"
        return outcome
    outcome.hunks_for_a_human = sum(conflict_blocks(tree / p) or 1 for p in reported)
    score(outcome, tree, scoring, lambda p: p in reported or has_markers(tree / p))
    return outcome


def wiggle_on_rejects(
    scenario: Path, patch: bytes, paths: list[str], scoring: Scoring, work: Path
) -> Outcome:
    """GNU patch first, then ``wiggle --replace FILE FILE.rej`` on every reject, as people use
    it; wiggle's ``.porig`` backups are removed, a ``.rej`` is removed once wiggle has merged
    it (exit 0) or written its conflicts into the file (exit 1)."""
    tree = work / "wiggle"
    env = private_env(work / "env-wiggle")
    copy_touched(scenario / "vendor-old", tree, paths)
    outcome = Outcome("patch + wiggle --replace")
    child = run(["patch", "-p1", "-f", "--no-backup-if-mismatch"], cwd=tree, stdin=patch, env=env)
    measured(outcome, child)
    if child.code not in (0, 1):
        outcome.failed = True
        outcome.note = f"GNU patch failed (exit {child.code}): {tail(child.output)}"
        return outcome
    notes: list[str] = []
    for reject in sorted(tree.rglob("*.rej")):
        target = reject.with_suffix("")
        child = run(["wiggle", "--replace", str(target), str(reject)], cwd=tree, env=env)
        measured(outcome, child)
        backup = target.with_name(target.name + ".porig")
        if backup.exists():
            backup.unlink()
        if child.code in (0, 1):  # merged, or merged with conflicts marked in the file
            reject.unlink()
        else:  # the reject stays, and flags the file
            notes.append(f"wiggle failed on {target.relative_to(tree)} (exit {child.code})")
    outcome.note = "; ".join(notes)
    outcome.hunks_for_a_human = sum(conflict_blocks(tree / p) for p in paths) + sum(
        1 for _ in tree.rglob("*.rej")
    )
    score(
        outcome,
        tree,
        scoring,
        lambda p: has_markers(tree / p) or (tree / (p + ".rej")).exists(),
    )
    return outcome


def patchsmith_apply(
    scenario: Path,
    patch_file: Path,
    scoring: Scoring,
    work: Path,
    base: bool,
) -> Outcome:
    worktree = work / ("patchsmith-base" if base else "patchsmith")
    env = private_env(work / ("env-patchsmith-base" if base else "env-patchsmith"))
    command = [
        PATCHSMITH,
        "apply",
        str(patch_file),
        "--tree",
        str(scenario / "vendor-old"),
        "--worktree",
        str(worktree),
        "--branch",
        f"bench-{os.getpid()}-{int(base)}",
    ]
    if base:
        command += ["--base", str(scenario / "vanilla-old")]
    child = run(command, env=env)
    name = "patchsmith apply" + (" --base" if base else "")
    outcome = Outcome(name)
    measured(outcome, child)
    if child.code >= 2:
        outcome.failed = True
        outcome.note = f"patchsmith apply failed (exit {child.code}): {tail(child.output)}"
        return outcome
    status = subprocess.run(
        [PATCHSMITH, "status", "--json", "--session", str(worktree)],
        capture_output=True,
        check=False,
        env=env,
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
        scoring,
        lambda p: (
            p in open_files or (worktree / (p + ".rej")).exists() or has_markers(worktree / p)
        ),
    )
    subprocess.run(
        [PATCHSMITH, "abort", "--session", str(worktree)],
        capture_output=True,
        check=False,
        env=env,
    )
    return outcome


def environment() -> str:
    versions = []
    for command in (["patch", "--version"], ["git", "--version"], ["wiggle", "--version"]):
        if shutil.which(command[0]):
            answer = subprocess.run(command, capture_output=True, text=True, check=False)
            first = answer.stdout or answer.stderr
            versions.append(first.splitlines()[0] if first else command[0])
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    peaks = "GNU time" if GNU_TIME else "wait4 (includes this process: install GNU time)"
    return (
        f"{os.cpu_count()} CPUs, load {load}; Python {platform.python_version()}; "
        f"{'; '.join(versions)}; peak memory by {peaks}"
    )


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
                    PATCHSMITH,
                    "filter",
                    str(patch_file),
                    *selection,
                    *(["--tree", str(scenario / "vendor-old")] if args.filter == "modules" else []),
                    "-o",
                    str(filtered),
                ],
                check=True,
                env=private_env(work / "env-filter"),
            )
            patch_file = filtered
        patch = patch_file.read_bytes()
        paths = patch_paths(patch)
        chosen = set(paths)
        details = [d for d in meta["detail"] if d["scored"] and d["path"] in chosen]
        scoring = Scoring(
            truth=scenario / "truth",
            scored=[d["path"] for d in details if not d.get("vendor_drift")],
            drift=[d["path"] for d in details if d.get("vendor_drift")],
        )
        tools = args.tools.split(",")
        outcomes: list[Outcome] = []
        started = time.perf_counter()
        if "patch" in tools:
            outcomes.append(gnu_patch(scenario, patch, paths, scoring, work))
        if "reject" in tools:
            outcomes.append(git_apply_reject(scenario, patch, paths, scoring, work))
        if "3way" in tools:
            outcomes.append(git_apply_3way(scenario, patch, paths, scoring, work))
        if "wiggle" in tools and shutil.which("wiggle"):
            outcomes.append(wiggle_on_rejects(scenario, patch, paths, scoring, work))
        if "patchsmith" in tools:
            outcomes.append(patchsmith_apply(scenario, patch_file, scoring, work, False))
        if "patchsmith-base" in tools:
            outcomes.append(patchsmith_apply(scenario, patch_file, scoring, work, True))
        elapsed = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(
                {
                    "scenario": {k: v for k, v in meta.items() if k != "detail"},
                    "scored": len(scoring.scored),
                    "vendor_drift": scoring.drift,
                    "environment": environment(),
                    "results": [asdict(o) for o in outcomes],
                },
                indent=2,
            )
        )
        return 0
    hunks = len(re.findall(rb"^@@ ", patch, re.M))
    print(
        f"{meta['old']} -> {meta['new']}: {len(paths)} files, {hunks} hunks in the patch; "
        f"{len(scoring.scored)} scored, {len(scoring.drift)} vendor drift"
        + (f" (selection: {' '.join(selection)})" if selection else "")
    )
    print(
        "| tool | equal to truth | flagged | **silently wrong** | vendor drift "
        "| hunks left for a person | time (s) | peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        if o.failed:
            print(f"| {o.tool} | failed: see below | | | | | {o.seconds:.2f} | {o.peak_mb:.0f} |")
            continue
        drift = ", ".join(o.vendor_drift.values()) or "-"
        print(
            f"| {o.tool} | {o.equal} | {o.flagged} | **{o.silently_wrong}** | {drift} "
            f"| {o.hunks_for_a_human} | {o.seconds:.2f} | {o.peak_mb:.0f} |"
        )
    for o in outcomes:
        if o.wrong_files:
            print(f"{o.tool}: silently wrong: {', '.join(o.wrong_files[:10])}")
        if o.note:
            print(f"{o.tool}: {o.note}")
    if scoring.drift:
        print(f"vendor drift (read by hand): {', '.join(scoring.drift)}")
    print(f"environment: {environment()}; {elapsed:.0f} s in all")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

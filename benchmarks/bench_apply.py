"""Benchmark ``patchsmith apply`` on a make-scenario directory against ``cp -a`` and git.

    .venv/bin/python benchmarks/bench_apply.py /work/scen/s1

Prints, in one run: the time of ``cp -a`` of SCENARIO/vendor-old, the time of ``apply`` of
SCENARIO/upstream.patch to that plain copy until "ready to resolve", and their ratio (target at
most 0.5); then, without and with ``--base SCENARIO/vanilla-old``, how many scored files of the
worktree equal SCENARIO/truth/, how many are listed as unresolved, and how many are neither
(silently wrong: must be 0); and the number of files ``git apply --3way`` leaves conflicted when
it has the vanilla blobs. Needs a scenario from ../shared/realdata/make-scenario; never run in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hermetic import isolate

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import Session, SessionStore, session_path


def score(scenario: Path, session: Session) -> tuple[int, int, int, list[str]]:
    detail = json.loads((scenario / "scenario.json").read_text())["detail"]
    store = SessionStore(session_path(git.git_dir_of(Path(session.worktree))))
    unresolved = {i.path.removesuffix(".rej") for i in store.open_items()}
    worktree = Path(session.worktree)
    equal = listed = 0
    wrong: list[str] = []
    for item in detail:
        if not item.get("scored", True):
            continue
        path = item["path"]
        ours = worktree / path
        truth = scenario / "truth" / path
        same = (ours.exists() == truth.exists()) and (
            not ours.exists() or ours.read_bytes() == truth.read_bytes()
        )
        if same:
            equal += 1
        elif path in unresolved:
            listed += 1
        else:
            wrong.append(path)
    return equal, listed, len(wrong), wrong


def git_apply_3way(scenario: Path, work: Path, touched: list[str]) -> int:
    """Files ``git apply --3way`` leaves conflicted, with the vendor's touched files committed
    and the vanilla blobs present (what it needs to fall back to a 3-way merge)."""
    repo = work / "g3"
    repo.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    run = lambda *a, **k: subprocess.run(a, cwd=repo, env=env, check=False, **k)  # noqa: E731
    run("git", "init", "-q")
    listing = "\n".join(p for p in touched if (scenario / "vendor-old" / p).is_file())
    run(
        "git",
        f"--work-tree={scenario / 'vendor-old'}",
        "add",
        "-f",
        "--pathspec-from-file=-",
        input=listing.encode(),
    )
    run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "vendor")
    run("git", "checkout", "-q", "--", ".")
    vanilla = "\n".join(
        str(scenario / "vanilla-old" / p)
        for p in touched
        if (scenario / "vanilla-old" / p).is_file()
    )
    run("git", "hash-object", "-w", "--stdin-paths", input=vanilla.encode(), capture_output=True)
    run("git", "apply", "--3way", str(scenario / "upstream.patch"), capture_output=True)
    result = run("git", "diff", "--name-only", "--diff-filter=U", capture_output=True)
    return len([line for line in result.stdout.decode().splitlines() if line])


def main(argv: list[str]) -> int:
    scenario = Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as scratch:
        work = Path(scratch)
        os.environ["XDG_DATA_HOME"] = str(work / "xdg")
        tree = work / "vendor"
        start = time.perf_counter()
        subprocess.run(["cp", "-a", str(scenario / "vendor-old"), str(tree)], check=True)
        copy_time = time.perf_counter() - start

        index = read_index([str(scenario / "upstream.patch")])
        selection = select(index, Selection())
        start = time.perf_counter()
        plain = apply_patch(index, selection, tree, ApplyOptions(use_memory=False))
        apply_time = time.perf_counter() - start
        print(f"cp -a          {copy_time:8.2f} s")
        print(
            f"apply          {apply_time:8.2f} s"
            f"   ratio {apply_time / copy_time:.2f} (target <= 0.5)"
        )
        equal, listed, wrong, names = score(scenario, plain)
        print(f"without --base: equal {equal}, unresolved {listed}, silently wrong {wrong}")
        for name in names[:10]:
            print(f"    wrong: {name}")
        hunks = plain.counts
        print(f"    hunks: {hunks}")

        start = time.perf_counter()
        based = apply_patch(
            index,
            selection,
            tree,
            ApplyOptions(
                base=str(scenario / "vanilla-old"), branch="patchsmith/based", use_memory=False
            ),
        )
        based_time = time.perf_counter() - start
        equal, listed, wrong, names = score(scenario, based)
        clean = sum(1 for h in based.hunks if h.open and h.proposal and not h.proposal_conflicts)
        # Comparable with git apply --3way, which merges silently: files with an open hunk
        # that has no clean proposal (a clean 3-way proposal still waits for a person here).
        hard = {
            h.path for h in based.hunks if h.open and (h.proposal is None or h.proposal_conflicts)
        }
        print(f"with --base:    files with an open hunk and no clean proposal: {len(hard)}")
        print(
            f"with --base:    equal {equal}, unresolved {listed}, silently wrong {wrong}"
            f"  ({based_time:.2f} s; {clean} open hunks have a clean proposal)"
        )
        for name in names[:10]:
            print(f"    wrong: {name}")
        touched = sorted({f.path for f in plain.files})
        print(f"git apply --3way: {git_apply_3way(scenario, work, touched)} conflicted files")
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main(sys.argv[1:]))

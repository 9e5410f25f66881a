"""Benchmark what resolution memory costs ``patchsmith apply``: 0 against N remembered decisions.

    .venv/bin/python benchmarks/bench_memory.py /work/scen/s1 [--decisions 50] [--runs 5]

The scenario's tree is only read. Its files the patch touches are copied to a scratch folder,
and there the line a hunk removes is changed in N hunks of N different files that apply
cleanly (a vendor's edit: each becomes a conflict). ``apply`` runs on that copy with the memory
empty, then the N conflicts are resolved (``upstream``), and ``apply`` runs again with the N
decisions in memory: each is found, checked where it was made and replayed, all in one commit
and one session write, and left to confirm. The two are timed alternately (the memory folder
moved aside for the empty runs, so the tree's repository and the page cache are the same for
both) and the script prints the medians and their ratio (target: at most 1.10), and the same
with ``--trust-memory``, in wall time and in CPU time (this process and its git children: on a
shared machine the steadier of the two). Never run in CI.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hermetic import isolate

from patchsmith.cli.common import read_index
from patchsmith.model import HunkStatus, Resolution
from patchsmith.patchfile.index import PatchIndex
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git, memory
from patchsmith.workspace.apply import ApplyOptions, apply_patch, touched_paths
from patchsmith.workspace.session import Session, SessionStore, session_path


def _store(session: Session) -> SessionStore:
    return SessionStore(session_path(git.git_dir_of(Path(session.worktree))))


def _drop(session: Session) -> None:
    git.remove_worktree(Path(session.git_dir), Path(session.worktree))
    git.delete_branch(Path(session.git_dir), session.branch)


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (git)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


STAGE: list[float] = []
"""Wall seconds of the memory stage of each apply (from apply's progress calls)."""


def _apply(
    index: PatchIndex, tree: Path, work: Path, trust: bool = False
) -> tuple[tuple[float, float], Session]:
    """(wall, CPU) seconds of one apply, and its session; the memory stage's wall time is
    appended to :data:`STAGE`."""
    selection = select(index, Selection())
    options = ApplyOptions(worktree=work / "worktree", trust_memory=trust)
    began: list[float] = []

    def progress(stage: str, done: int, _total: int) -> None:
        if stage == "memory" and done == 0:
            began.append(time.perf_counter())
        elif stage == "memory":
            STAGE.append(time.perf_counter() - began[-1])

    start, cpu = time.perf_counter(), _cpu()
    session = apply_patch(index, selection, tree, options, progress)
    return (time.perf_counter() - start, _cpu() - cpu), session


def _make_conflicts(session: Session, tree: Path, count: int) -> list[str]:
    """Change the first removed line of ``count`` clean hunks, one per file, in the copy."""
    chosen: list[str] = []
    seen: set[str] = set()
    for hunk in session.hunks:
        if len(chosen) == count:
            break
        if hunk.path in seen or hunk.status != HunkStatus.CLEAN or not hunk.applied:
            continue
        removed = [line[1:] for line in hunk.upstream.splitlines(keepends=True) if line[:1] == "-"]
        target = tree / hunk.path
        if not removed or not removed[0].strip() or not target.is_file():
            continue
        data = target.read_bytes()
        pre = hunk.pre_image.encode("utf-8", "surrogateescape")
        if data.count(pre) != 1:
            continue  # the place must be certain, or the edit may land elsewhere
        first = removed[0].encode("utf-8", "surrogateescape")
        at = data.index(pre) + pre.index(first)
        edited = first.rstrip(b"\r\n") + b" /* vendor */" + first[len(first.rstrip(b"\r\n")) :]
        target.write_bytes(data[:at] + edited + data[at + len(first) :])
        chosen.append(hunk.id)
        seen.add(hunk.path)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scenario: Path = args.scenario.resolve()
    index = read_index([str(scenario / "upstream.patch")])
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        work = Path(scratch)
        tree = work / "vendor"
        for path in touched_paths(select(index, Selection())):
            source = scenario / "vendor-old" / path
            if source.is_file() and not source.is_symlink():
                (tree / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, tree / path)
        _seconds, session = _apply(index, tree, work)
        _drop(session)
        chosen = _make_conflicts(session, tree, args.decisions + 10)
        if len(chosen) < args.decisions:
            print(f"only {len(chosen)} hunks could be made conflicts", file=sys.stderr)
            return 2
        _seconds, session = _apply(index, tree, work)
        store = _store(session)
        open_before = len(session.open_hunks)
        # Most become conflicts; a few land elsewhere (a fuzzy match, a partial one): the
        # decisions are made on those that are open with a region to write.
        chosen = [
            h for h in chosen if session.hunk(h).open and session.hunk(h).current is not None
        ][: args.decisions]
        for hunk_id in chosen:
            store.resolve(hunk_id, Resolution.UPSTREAM)
        _drop(session)
        if len(chosen) < args.decisions:
            print(f"only {len(chosen)} of the edited hunks are open", file=sys.stderr)
            return 2
        folder = memory.directory()
        aside = folder.with_name("memory.aside")
        assert len(memory.Memory().entries()) == len(chosen)

        empty: list[tuple[float, float]] = []
        full: list[tuple[float, float]] = []
        trusted: list[tuple[float, float]] = []
        stages: dict[str, list[float]] = {"empty": [], "full": [], "trusted": []}
        for _ in range(args.runs):
            folder.rename(aside)
            seconds, session = _apply(index, tree, work)
            assert session.counts["to-confirm"] == 0 and len(session.open_hunks) == open_before
            empty.append(seconds)
            stages["empty"].append(STAGE[-1])
            _drop(session)
            aside.rename(folder)
            seconds, session = _apply(index, tree, work)
            assert session.counts["to-confirm"] == len(chosen), session.counts
            full.append(seconds)
            stages["full"].append(STAGE[-1])
            _drop(session)
            seconds, session = _apply(index, tree, work, trust=True)
            assert len(session.open_hunks) == open_before - len(chosen)
            trusted.append(seconds)
            stages["trusted"].append(STAGE[-1])
            _drop(session)
    files = len(touched_paths(select(index, Selection())))
    print(f"apply of {scenario.name}/upstream.patch ({files} files) to a copy of its files;")
    print(f"medians of {args.runs} runs, wall and CPU (this process and its git children)")
    ratios = []
    for label, times, stage in (
        ("memory empty", empty, stages["empty"]),
        (f"{len(chosen)} decisions replayed, to confirm", full, stages["full"]),
        (f"{len(chosen)} decisions, --trust-memory", trusted, stages["trusted"]),
    ):
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        if times is empty:
            base_wall, base_cpu = wall, cpu
            print(f"  {label:<40} {wall:7.3f} s wall {cpu:7.3f} s CPU")
        else:
            ratios.append(cpu / base_cpu)
            print(
                f"  {label:<40} {wall:7.3f} s wall {cpu:7.3f} s CPU"
                f"   ratio {wall / base_wall:.3f} wall {cpu / base_cpu:.3f} CPU"
            )
        print(
            f"    memory stage {statistics.median(stage):.3f} s wall (median); runs: {_list(times)}"
        )
    return 0 if ratios[0] <= 1.10 else 1


def _list(times: list[tuple[float, float]]) -> str:
    return " ".join(f"{wall:.2f}/{cpu:.2f}" for wall, cpu in times)


if __name__ == "__main__":
    isolate()
    sys.exit(main())

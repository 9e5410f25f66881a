"""The git module: scrubbed environment, hostile config, nothing written to the tree, no leaks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.errors import GitError
from patchsmith.workspace import git
from tests.workspace.conftest import fingerprint
from tests.workspace.conftest import git as run


def _cat_file_processes() -> int:
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"cat-file" in cmdline:
            count += 1
    return count


def test_leaked_git_dir_and_work_tree_are_ignored(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    run(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert git.repository_root(demo_repo) == demo_repo
    assert git.dirty_paths(demo_repo) == []


def test_hostile_user_config_and_hooks_change_nothing(
    demo_repo: Path, tmp_path: Path, hermetic: Path
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("pre-commit", "commit-msg", "post-checkout"):
        hook = hooks / name
        hook.write_text("#!/bin/sh\nexit 1\n")
        hook.chmod(0o755)
    (hermetic / ".gitconfig").write_text(
        f"[color]\n\tui = always\n[diff]\n\texternal = false\n\tnoprefix = true\n"
        f"[core]\n\thooksPath = {hooks}\n[commit]\n\tgpgsign = true\n"
    )
    run(demo_repo, "config", "color.ui", "always")
    (demo_repo / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (demo_repo / ".git" / "hooks" / "pre-commit").chmod(0o755)
    base = git.rev_parse(demo_repo, "HEAD")
    worktree = tmp_path / "wt"
    git.add_worktree(demo_repo / ".git", worktree, "patchsmith/t", base, ["Makefile"])
    (worktree / "Makefile").write_bytes(b"changed\n")
    tip = git.commit_paths(worktree, ["Makefile"], "change")
    patch = git.diff(worktree, base, tip)
    assert b"\x1b[" not in patch
    assert patch.startswith(b"diff --git a/Makefile b/Makefile")
    assert b"+changed" in patch


def test_plain_tree_snapshot_sees_ignored_files_and_writes_nothing(demo_tree: Path) -> None:
    before = fingerprint(demo_tree)
    git_dir = git.tree_repository(demo_tree)
    paths = ["Makefile", "drivers/md/dm-snap.c", "no/such/file.c"]
    commit = git.snapshot_paths(git_dir, demo_tree, paths, "base")
    listed = git.run_git(["ls-tree", "-r", "--name-only", commit], git_dir=git_dir).stdout
    assert listed.decode().split() == ["Makefile", "drivers/md/dm-snap.c"]
    assert fingerprint(demo_tree) == before
    assert str(git_dir).startswith(os.environ["XDG_DATA_HOME"])


def test_sparse_worktree_then_materialise_full(demo_repo: Path, tmp_path: Path) -> None:
    base = git.rev_parse(demo_repo, "HEAD")
    worktree = tmp_path / "wt"
    git.add_worktree(demo_repo / ".git", worktree, "patchsmith/s", base, ["Makefile"])
    assert (worktree / "Makefile").exists()
    assert not (worktree / "drivers" / "md" / "dm-snap.c").exists()
    assert git.dirty_paths(worktree) == []
    seen: list[tuple[int, int]] = []
    count = git.materialise_full(worktree, progress=lambda d, t: seen.append((d, t)))
    assert count > 0 and seen[-1] == (count, count)
    assert (worktree / "drivers" / "md" / "dm-snap.c").exists()
    assert git.skipped_paths(worktree) == []


def test_no_cat_file_process_outlives_a_command(demo_repo: Path) -> None:
    before = _cat_file_processes()
    for _ in range(3):
        git.show_file(demo_repo, "HEAD", "Makefile")
        git.rev_parse(demo_repo, "HEAD")
    assert _cat_file_processes() <= before


def test_merge_file_reports_conflicts() -> None:
    merged, conflicts = git.merge_file(b"a\nX\nc\n", b"a\nb\nc\n", b"a\nY\nc\n", ("v", "b", "u"))
    assert conflicts == 1 and b"<<<<<<< v" in merged
    merged, conflicts = git.merge_file(b"A\nb\nc\n", b"a\nb\nc\n", b"a\nb\nC\n", ("v", "b", "u"))
    assert (merged, conflicts) == (b"A\nb\nC\n", 0)


def test_git_missing_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git, "GIT", "/nonexistent/git")
    with pytest.raises(GitError) as caught:
        git.run_git(["version"])
    assert "not installed" in caught.value.message


def test_dirty_snapshot_leaves_index_and_tree_alone(demo_repo: Path) -> None:
    (demo_repo / "Makefile").write_bytes(b"dirty\n")
    (demo_repo / "new.c").write_bytes(b"new\n")
    status_before = run(demo_repo, "status", "--porcelain")
    commit = git.snapshot_dirty(demo_repo)
    assert run(demo_repo, "status", "--porcelain") == status_before
    shown = subprocess.run(
        ["git", "-C", str(demo_repo), "show", f"{commit}:new.c"], capture_output=True, check=True
    )
    assert shown.stdout == b"new\n"


def _listing(git_dir: Path, commit: str) -> dict[str, str]:
    out = git.run_git(["ls-tree", "-r", commit], git_dir=git_dir).stdout.decode()
    return {line.split("\t")[1]: line.split(" ")[0] for line in out.splitlines()}


def test_a_snapshot_on_a_parent_is_the_parent_when_nothing_differs(demo_repo: Path) -> None:
    head = git.rev_parse(demo_repo, "HEAD")
    git_dir = demo_repo / ".git"
    paths = ["Makefile", "drivers/md/dm-snap.c", "no/such.c"]
    assert git.snapshot_paths(git_dir, demo_repo, paths, "m", parent=head) == head


def test_a_snapshot_on_a_parent_takes_ignored_files_and_links_as_they_are(
    demo_repo: Path,
) -> None:
    git_dir = demo_repo / ".git"
    head = git.rev_parse(demo_repo, "HEAD")
    (demo_repo / ".git/info/exclude").write_text("/gen.c\n")
    (demo_repo / "gen.c").write_text("ignored, but there\n")
    # The vendor made drivers/md a link (committed or not): a path beyond it lists the link.
    shutil.move(demo_repo / "drivers/md", demo_repo / "md-real")
    os.symlink("../md-real", demo_repo / "drivers/md")
    commit = git.snapshot_paths(
        git_dir, demo_repo, ["gen.c", "drivers/md/dm-snap.c", "Makefile"], "m", parent=head
    )
    assert commit != head
    listing = _listing(git_dir, commit)
    assert listing["gen.c"] == "100644"
    assert listing["drivers/md"] == "120000"
    assert not any(p.startswith("drivers/md/") for p in listing)
    assert listing["Makefile"] == _listing(git_dir, head)["Makefile"]
    target = git.run_git(["cat-file", "blob", f"{commit}:drivers/md"], git_dir=git_dir).stdout
    assert target == b"../md-real"


def test_commit_paths_skips_a_path_that_never_was(demo_repo: Path, tmp_path: Path) -> None:
    """A name the tree never had (a/Makefile under -p0) has nothing to stage; git add refused
    the whole list for it (exit 3). A deleted file's path still stages its deletion."""
    base = git.rev_parse(demo_repo, "HEAD")
    worktree = tmp_path / "wt"
    git.add_worktree(demo_repo / ".git", worktree, "patchsmith/t", base, ["Makefile", "Kbuild"])
    (worktree / "Makefile").write_bytes(b"changed\n")
    (worktree / "Kbuild").unlink()
    tip = git.commit_paths(worktree, ["a/Makefile", "Makefile", "Kbuild", "b/x y.c"], "change")
    changed = run(worktree, "diff", "--name-status", base, tip).split("\n")
    assert sorted(line for line in changed if line) == ["D\tKbuild", "M\tMakefile"]

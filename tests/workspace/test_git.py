"""The git module: scrubbed environment, hostile config, nothing written to the tree, no leaks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.errors import GitError
from patchsmith.workspace import git
from tests.support.trees import fingerprint
from tests.support.trees import git as run


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


def _object_counts(git_dir: Path) -> tuple[int, int]:
    """(loose objects, objects in packs) of a repository."""
    report = git.run_git(["count-objects", "-v"], git_dir=git_dir).stdout.decode()
    fields = dict(line.split(": ") for line in report.splitlines())
    return int(fields["count"]), int(fields["in-pack"])


def test_a_commit_of_many_files_writes_one_pack_and_of_a_few_loose_objects(
    demo_repo: Path, tmp_path: Path
) -> None:
    git_dir = demo_repo / ".git"
    many = [f"drivers/gen/f{number:03}.c" for number in range(git.BULK_OBJECTS)]
    base = git.rev_parse(demo_repo, "HEAD")
    worktree = tmp_path / "wt"
    git.add_worktree(git_dir, worktree, "patchsmith/bulk", base, ["Makefile"])
    packs_before = set((git_dir / "objects" / "pack").iterdir())
    loose_before, packed_before = _object_counts(git_dir)
    for number, path in enumerate(many):
        (worktree / path).parent.mkdir(parents=True, exist_ok=True)
        # CRLF and a NUL: stored as they are, as git add stores them without a filter.
        (worktree / path).write_bytes(b"int f%d(void);\r\n\x00\n" % number)
    tip = git.commit_paths(worktree, many, "many")
    loose, packed = _object_counts(git_dir)
    new_packs = set((git_dir / "objects" / "pack").iterdir()) - packs_before
    assert len([p for p in new_packs if p.suffix == ".pack"]) == 1
    assert packed - packed_before == len(many)  # every blob in the one pack
    assert loose - loose_before <= 4  # trees and the commit only
    shown = git.show_files(worktree, tip, many)
    assert all(shown[p] == b"int f%d(void);\r\n\x00\n" % n for n, p in enumerate(many))
    assert git.run_git(["fsck", "--strict"], git_dir=git_dir).code == 0
    # One file (a resolution): a loose object, never a pack of its own.
    (worktree / "Makefile").write_bytes(b"changed\n")
    git.commit_paths(worktree, ["Makefile"], "one")
    assert _object_counts(git_dir)[1] == packed
    assert set((git_dir / "objects" / "pack").iterdir()) - packs_before == new_packs


def test_a_plain_snapshot_holds_every_kind_of_name_and_file_as_git_add_would(
    tmp_path: Path,
) -> None:
    """The base snapshot's tree, written by fast-import, is the tree git add of the same
    files makes: names fast-import needs quoted (a leading quote, a newline, a backslash,
    bytes that are not UTF-8), a space, a link, an executable, an empty file, CRLF."""
    tree = tmp_path / "tree"
    (tree / "drivers").mkdir(parents=True)
    files = {
        "drivers/plain.c": b"int x;\r\n",
        '"quoted.c': b"a\n",
        "new\nline.c": b"b\n",
        "back\\slash.c": b"c\n",
        "latin\xe9.c": b"d\n",
        "with space.c": b"e\n",
        "empty": b"",
        "script.sh": b"#!/bin/sh\n",
    }
    for name, data in files.items():
        (tree / name).write_bytes(data)
    (tree / "script.sh").chmod(0o755)
    os.symlink("drivers/plain.c", tree / "link.c")
    (tree / ".gitignore").write_text("*\n")  # hides nothing from a snapshot
    paths = [*files, "link.c", "no/such/file"]
    git_dir = git.tree_repository(tree)
    commit = git.snapshot_paths(git_dir, tree, paths, "base")
    index = tmp_path / "oracle-index"
    env = {"GIT_INDEX_FILE": str(index)}
    git.run_git(["add", "-f", "--", *files, "link.c"], git_dir=git_dir, work_tree=tree, env=env)
    expected = git.run_git(["write-tree"], git_dir=git_dir, env=env).stdout.strip()
    held = git.run_git(["rev-parse", f"{commit}^{{tree}}"], git_dir=git_dir).stdout.strip()
    assert held == expected
    assert git.run_git(["fsck", "--strict"], git_dir=git_dir).code == 0
    # The ref fast-import needed is gone; nothing was written to the tree.
    assert git.run_git(["for-each-ref", "refs/patchsmith"], git_dir=git_dir).stdout == b""
    assert not (tree / ".git").exists()


def test_identity_and_trusted_folders_come_from_one_read_of_the_global_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both read by one git: the last user.name/user.email win (as git config --get gives
    # them), and every safe.directory value is passed on in order, an empty one (which clears
    # the list before it) included, for git to read as it would its own config.
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "git" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[user]\n\tname = First\n\temail = a@example.invalid\n\tname = Second Name\n"
        "[safe]\n\tdirectory = /srv/one\n\tdirectory =\n\tdirectory = /srv/two words\n"
    )
    monkeypatch.setattr(git, "_user_config_cache", {})
    assert git.identity() == ("Second Name", "a@example.invalid")
    assert git._trusted_directories() == [
        "-c",
        "safe.directory=/srv/one",
        "-c",
        "safe.directory=",
        "-c",
        "safe.directory=/srv/two words",
    ]
    # Another home, another answer: the cache is per home.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config.parent.parent.parent / "elsewhere"))
    monkeypatch.setenv("HOME", str(config.parent.parent.parent / "elsewhere-home"))
    monkeypatch.setenv("USER", "someone")
    assert git.identity() == ("someone", "someone@localhost")
    assert git._trusted_directories() == []


def test_the_git_directory_is_asked_again_when_the_worktree_is_made_again(
    demo_repo: Path, tmp_path: Path
) -> None:
    # git_dir_of keeps git's answer for a .git as it is; a worktree removed and added again
    # at the same path must get git's new answer, even where the old one names a folder
    # that is there (another worktree's now).
    elder = tmp_path / "a" / "wt"
    worktree = tmp_path / "b" / "wt"
    run(demo_repo, "worktree", "add", "-q", "--detach", str(elder), "HEAD")
    run(demo_repo, "worktree", "add", "-q", "--detach", str(worktree), "HEAD")
    first = git.git_dir_of(worktree)
    assert first.name == "wt1"
    assert git.git_dir_of(worktree) == first
    # Its admin folder's name goes to another worktree; added again, it gets a third.
    run(demo_repo, "worktree", "remove", "--force", str(worktree))
    run(demo_repo, "worktree", "add", "-q", "--detach", str(tmp_path / "c" / "wt"), "HEAD")
    run(demo_repo, "worktree", "add", "-q", "--detach", str(worktree), "HEAD")
    again = git.git_dir_of(worktree)
    assert again == Path(run(worktree, "rev-parse", "--absolute-git-dir").strip())
    assert again.name == "wt2"

"""apply and abort seen through GitPython: a second git client reading what patchsmith did.

patchsmith runs git itself, through ``subprocess`` with a scrubbed environment (see
``patchsmith/workspace/git.py``). These tests read the result with GitPython instead, so a
mistake shared by patchsmith's git helpers and its own tests cannot hide: the user's repository
keeps its branch, HEAD, index and files, and the session is one worktree on its own branch
whose commits descend from the user's HEAD and touch only the files the clean hunks change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import git  # GitPython, a test dependency (the 'dev' extra)
import pytest

from patchsmith.cli import main
from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git as ours
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import Session, SessionStore, session_path
from tests.support.paths import DEMO_PATCH, REPO
from tests.support.pause import patchsmith_command


def _apply(tree: Path) -> Session:
    index = read_index([str(DEMO_PATCH)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    return SessionStore(session_path(ours.git_dir_of(Path(session.worktree)))).load()


def test_apply_leaves_the_users_repository_as_it_was(demo_repo: Path) -> None:
    before = git.Repo(demo_repo)
    head, branch = before.head.commit, before.active_branch.name
    heads_before = {ref.name: ref.commit.hexsha for ref in before.heads}

    session = _apply(demo_repo)

    repo = git.Repo(demo_repo)
    assert repo.head.commit == head
    assert repo.active_branch.name == branch
    assert not repo.is_dirty(untracked_files=True)
    heads = {ref.name: ref.commit.hexsha for ref in repo.heads}
    new = set(heads) - set(heads_before)
    assert {name: heads[name] for name in heads_before} == heads_before
    assert new == {"patchsmith/patch-6.1.999"}

    worktree = git.Repo(session.worktree)
    assert worktree.active_branch.name == "patchsmith/patch-6.1.999"
    assert worktree.head.commit.hexsha == heads["patchsmith/patch-6.1.999"]
    assert repo.is_ancestor(head, worktree.head.commit)
    listed = repo.git.worktree("list", "--porcelain").splitlines()
    paths = {
        Path(line.split(" ", 1)[1]).resolve() for line in listed if line.startswith("worktree ")
    }
    assert Path(session.worktree).resolve() in paths

    # The commits on the session branch change exactly the files whose hunks applied.
    applied = {hunk.path for hunk in session.hunks if hunk.applied}
    changed = {diff.b_path for diff in head.diff(worktree.head.commit)}
    assert applied and changed == applied
    assert (Path(session.worktree) / "Makefile.rej").exists()  # rejects stay untracked
    assert "Makefile.rej" in worktree.untracked_files


def test_abort_removes_the_worktree_and_the_branch(demo_repo: Path) -> None:
    session = _apply(demo_repo)
    assert main(["abort", "--session", session.worktree]) == 0
    repo = git.Repo(demo_repo)
    assert not Path(session.worktree).exists()
    assert [ref.name for ref in repo.heads] == [repo.active_branch.name]
    assert _worktrees(repo) == {demo_repo.resolve()}


def _worktrees(repo: git.Repo) -> set[Path]:
    listed = repo.git.worktree("list", "--porcelain").splitlines()
    return {
        Path(line.split(" ", 1)[1]).resolve() for line in listed if line.startswith("worktree ")
    }


MODES = Path(__file__).resolve().parents[2] / "fixtures" / "patches" / "git_modes.diff"
"""A mode change with a hunk (run.sh 755 -> 644), one alone (only.sh 644 -> 755), a new script."""


@pytest.mark.parametrize("file_mode", ["true", "false"])
def test_mode_changes_and_new_scripts_are_committed_with_their_modes(
    tmp_path: Path, file_mode: str
) -> None:
    # core.fileMode=false (a repository on a filesystem without execute bits) must not lose
    # them: the modes are recorded in the index, not read back from the disk.
    tree = _mode_tree(tmp_path, file_mode)
    index = read_index([str(MODES)])
    applied = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    session = SessionStore(session_path(ours.git_dir_of(Path(applied.worktree)))).load()

    fates = {h.id: (h.applied, h.open) for h in session.hunks}
    assert fates == {
        "scripts/run.sh#0": (True, False),  # the mode part of a diff with hunks: its own item
        "scripts/run.sh#1": (True, False),
        "scripts/only.sh#0": (True, False),
        "scripts/new.sh#1": (True, False),
    }
    commit = git.Repo(session.worktree).head.commit
    assert commit.tree["scripts/run.sh"].mode == 0o100644
    assert commit.tree["scripts/only.sh"].mode == 0o100755
    assert commit.tree["scripts/new.sh"].mode == 0o100755
    worktree = Path(session.worktree)
    assert not (worktree / "scripts/run.sh").stat().st_mode & 0o100
    assert (worktree / "scripts/new.sh").stat().st_mode & 0o100
    assert (worktree / "scripts/run.sh").read_text() == "echo a\necho B\necho c\n"
    assert git.Repo(tree).head.commit.tree["scripts/run.sh"].mode == 0o100755  # untouched


LINK_AND_COPY = b"""\
diff --git a/include/dt-bindings b/include/dt-bindings
new file mode 120000
index 0000000..1234567
--- /dev/null
+++ b/include/dt-bindings
@@ -0,0 +1 @@
+../scripts/dt-bindings
\\ No newline at end of file
diff --git a/scripts/run.sh b/scripts/copy.sh
similarity index 100%
copy from scripts/run.sh
copy to scripts/copy.sh
"""


def test_a_new_symlink_is_a_symlink_and_a_plain_copy_is_written(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    (tree / "include").mkdir()
    (tree / "scripts/run.sh").write_text("echo run\n")
    patch = tmp_path / "link.patch"
    patch.write_bytes(LINK_AND_COPY)
    index = read_index([str(patch)])
    applied = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    worktree = Path(applied.worktree)
    link = worktree / "include/dt-bindings"
    assert link.is_symlink() and os.readlink(link) == "../scripts/dt-bindings"
    assert (worktree / "scripts/copy.sh").read_text() == "echo run\n"
    assert (worktree / "scripts/run.sh").read_text() == "echo run\n"  # a copy keeps its source
    commit = git.Repo(worktree).head.commit
    assert commit.tree["include/dt-bindings"].mode == 0o120000
    assert commit.tree["include/dt-bindings"].data_stream.read() == b"../scripts/dt-bindings"
    assert commit.tree["scripts/copy.sh"].data_stream.read() == b"echo run\n"
    assert not [h for h in applied.hunks if h.open]


def test_an_apply_killed_after_writing_still_commits_the_modes(tmp_path: Path) -> None:
    # The killed run set run.sh's new mode on disk; the next run must put the base back (modes
    # included) before judging, or it reads the mode change as already done and, in a
    # repository that ignores executable bits, never records it.
    tree = _mode_tree(tmp_path, file_mode="false")
    signal_file = tmp_path / "paused"
    command = [
        *patchsmith_command(("written", signal_file)),
        "apply",
        str(MODES),
        "--tree",
        str(tree),
    ]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert child.poll() is None, "apply ended before the pause"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    index = read_index([str(MODES)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    assert {h.id: h.applied for h in session.hunks}["scripts/run.sh#0"]
    commit = git.Repo(session.worktree).head.commit
    assert commit.tree["scripts/run.sh"].mode == 0o100644
    assert commit.tree["scripts/only.sh"].mode == 0o100755


def _mode_tree(tmp_path: Path, file_mode: str) -> Path:
    """A repository for git_modes.diff: run.sh executable, only.sh not, core.fileMode as given."""
    tree = tmp_path / "repo"
    (tree / "scripts").mkdir(parents=True)
    (tree / "scripts/run.sh").write_text("echo a\necho b\necho c\n")
    (tree / "scripts/run.sh").chmod(0o755)
    (tree / "scripts/only.sh").write_text("echo only\n")
    repo = git.Repo.init(tree)
    repo.git.config("core.fileMode", file_mode)
    repo.git.add("-A")
    repo.git.update_index("--chmod=+x", "scripts/run.sh")
    repo.git.commit("-q", "-m", "vendor")
    return tree

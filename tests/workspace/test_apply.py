"""apply: the engine's verdicts written to a worktree, GNU patch's rejects, the tree untouched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from patchsmith.cli.common import read_index
from patchsmith.errors import SessionError, TreeError
from patchsmith.model import HunkStatus, Resolution
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import (
    ApplyOptions,
    apply_patch,
    materialise,
)
from patchsmith.workspace.finish import finish_session
from patchsmith.workspace.session import Phase, Session, SessionStore
from tests.support.paths import CHECK, DEMO, DEMO_PATCH, REPO
from tests.support.pause import patchsmith_command
from tests.support.sessions import apply_file
from tests.support.trees import fingerprint
from tests.support.trees import git as run_git


def _apply(tree: Path, **options: Any) -> SessionStore:
    return apply_file(DEMO_PATCH, tree, **options)


def test_statuses_commits_and_rejects(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    session = store.load()
    fates = {h.id: (h.status, h.applied, h.open) for h in session.hunks}
    assert fates["drivers/md/dm-snap.c#1"] == (HunkStatus.CLEAN, True, False)
    assert fates["drivers/md/dm-snap.c#2"] == (HunkStatus.OFFSET, True, False)
    assert fates["drivers/md/dm-snap.c#3"] == (HunkStatus.CONFLICT, False, True)
    assert fates["drivers/md/dm-table.c#1"] == (HunkStatus.ALREADY_APPLIED, False, False)
    assert fates["Makefile#1"] == (HunkStatus.CONFLICT, False, True)
    worktree = Path(session.worktree)
    log = git.run_git(["log", "--format=%s"], cwd=worktree).stdout.decode().splitlines()
    assert log == ["patchsmith: apply clean hunks of patch-6.1.999", log[1]]
    assert log[1].startswith("patchsmith: base snapshot of")
    assert (worktree / "Makefile.rej").exists()
    makefile = next(h for h in session.hunks if h.id == "Makefile#1")
    assert makefile.proposal is not None and not makefile.proposal_conflicts
    assert "SUBLEVEL = 999\nEXTRAVERSION = -cloud\n" in makefile.proposal
    kinds = {i.kind for i in store.open_items()}
    assert kinds == {"hunk", "reject"}


def test_rejects_are_the_bytes_gnu_patch_writes(demo_tree: Path, tmp_path: Path) -> None:
    store = _apply(demo_tree)
    worktree = Path(store.load().worktree)
    copy = tmp_path / "gnu"
    shutil.copytree(DEMO / "vendor", copy)
    subprocess.run(
        ["patch", "-p1", "-N", "-F0", "-s", "-i", str(DEMO_PATCH)],
        cwd=copy,
        capture_output=True,
        check=False,
    )
    for name in ("Makefile.rej", "drivers/md/dm-snap.c.rej"):
        assert (worktree / name).read_bytes() == (copy / name).read_bytes(), name


def test_rejects_match_gnu_patch_with_timestamps_and_shifted_numbers(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "d").mkdir(parents=True)
    old = "".join(f"line {n}\n" for n in range(1, 41))
    (tree / "d" / "g.c").write_text(old)
    new = old.replace("line 3\n", "line 3\nadded1\nadded2\n").replace("line 30", "LINE 30")
    (tmp_path / "a" / "d").mkdir(parents=True)
    (tmp_path / "b" / "d").mkdir(parents=True)
    (tmp_path / "a" / "d" / "g.c").write_text(old)
    (tmp_path / "b" / "d" / "g.c").write_text(new)
    diff = subprocess.run(
        ["diff", "-u", "-F", "^line 1$", "a/d/g.c", "b/d/g.c"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    ).stdout
    patch_file = tmp_path / "p.diff"
    patch_file.write_bytes(diff)
    (tree / "d" / "g.c").write_text(old.replace("line 29\n", "vendor 29\n"))
    gnu = tmp_path / "gnu"
    shutil.copytree(tree, gnu)
    subprocess.run(["patch", "-p1", "-F0", "-s", "-i", str(patch_file)], cwd=gnu, check=False)
    index = read_index([str(patch_file)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions(fuzz=0))
    ours = (Path(session.worktree) / "d" / "g.c.rej").read_bytes()
    assert ours == (gnu / "d" / "g.c.rej").read_bytes()
    assert b"@@ -29,7 +31,7 @@ line 1" in ours


def test_the_tree_is_byte_identical_after_everything(demo_tree: Path, tmp_path: Path) -> None:
    before = fingerprint(demo_tree)
    store = _apply(demo_tree, base=str(DEMO / "vanilla"))
    assert fingerprint(demo_tree) == before
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve("drivers/md/dm-snap.c#3", Resolution.UPSTREAM)
    store.undo("drivers/md/dm-snap.c#3")
    store.resolve("drivers/md/dm-snap.c#3", Resolution.DROPPED, reason="vendor has it")
    assert fingerprint(demo_tree) == before
    assert store.open_items() == []
    out = finish_session(store, str(tmp_path / "final.patch")).patch
    assert fingerprint(demo_tree) == before
    copy = tmp_path / "check"
    shutil.copytree(demo_tree, copy)
    result = subprocess.run(
        ["patch", "-p1", "--dry-run", "-i", str(out)], cwd=copy, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert b"SUBLEVEL = 999" in out.read_bytes()
    session = store.load()
    git.remove_worktree(Path(session.git_dir), Path(session.worktree))
    assert fingerprint(demo_tree) == before


def test_merge_puts_conflict_blocks_in_the_file(demo_tree: Path) -> None:
    store = _apply(demo_tree, merge=True)
    session = store.load()
    worktree = Path(session.worktree)
    text = (worktree / "drivers/md/dm-snap.c").read_bytes()
    assert b"<<<<<<< vendor\n" in text and b">>>>>>> upstream-after\n" in text
    assert not (worktree / "drivers/md/dm-snap.c.rej").exists()
    assert any(i.kind == "marker" for i in store.open_items())
    store.resolve("drivers/md/dm-snap.c#3", Resolution.DROPPED, reason="keep vendor")
    assert b"<<<<<<<" not in (worktree / "drivers/md/dm-snap.c").read_bytes()
    assert b"dm_suspended(ti)" in (worktree / "drivers/md/dm-snap.c").read_bytes()


def test_base_as_tarball_gives_three_way_proposals(demo_tree: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "vanilla.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(DEMO / "vanilla", arcname="linux-6.1.998")
    store = _apply(demo_tree, base=str(tarball))
    hunk = store.load().hunk("Makefile#1")
    assert hunk.proposal_source == "3way"
    assert hunk.proposal is not None and "-cloud" in hunk.proposal


def test_git_tree_dirty_is_refused_unless_allowed(demo_repo: Path) -> None:
    (demo_repo / "Makefile").write_text("local change\n")
    with pytest.raises(TreeError) as caught:
        _apply(demo_repo)
    assert caught.value.hint is not None and "--allow-dirty" in caught.value.hint
    store = _apply(demo_repo, allow_dirty=True)
    session = store.load()
    assert session.tree_kind == "git"
    worktree = Path(session.worktree)
    assert (worktree / "Makefile").read_text() == "local change\n"
    assert not (worktree / "kernel/Makefile").exists()  # sparse: only touched files
    assert (demo_repo / "Makefile").read_text() == "local change\n"
    assert materialise(session) > 0
    assert (worktree / "kernel/Makefile").exists()


def test_materialise_plain_tree_copies_the_rest(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    session = store.load()
    worktree = Path(session.worktree)
    assert not (worktree / "Kbuild").exists()
    assert materialise(session) > 0
    assert (worktree / "Kbuild").read_bytes() == (demo_tree / "Kbuild").read_bytes()


def test_a_second_apply_on_the_same_branch_is_refused(demo_tree: Path) -> None:
    _apply(demo_tree)
    with pytest.raises(SessionError) as caught:
        _apply(demo_tree)
    assert caught.value.hint is not None and "abort" in caught.value.hint


def test_kill_during_apply_then_status_and_continue(demo_tree: Path, tmp_path: Path) -> None:
    signal_file = tmp_path / "paused"
    command = [
        *patchsmith_command(("written", signal_file)),
        "apply",
        str(DEMO_PATCH),
        "--tree",
        str(demo_tree),
    ]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert child.poll() is None, "apply ended before the pause"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    worktree = git.data_home() / "worktrees" / "vendor-patch-6.1.999"
    store = SessionStore.find(worktree)
    session = store.load()
    assert session.phase == Phase.APPLYING
    assert next(i.kind for i in store.open_items()) == "interrupted"
    with pytest.raises(SessionError):
        store.resolve("Makefile#1", Resolution.ACCEPTED)
    index = read_index([str(DEMO_PATCH)])
    apply_patch(index, select(index, Selection()), demo_tree, ApplyOptions())
    session = store.load()
    assert session.phase == Phase.READY
    assert len(session.open_hunks) == 2
    log = git.run_git(["log", "--format=%s"], cwd=worktree).stdout.decode().splitlines()
    assert len(log) == 2


def test_hunkless_diffs_are_listed_not_dropped(tmp_path: Path) -> None:
    # A mode change is applied and listed as done; a binary diff, which patchsmith does not
    # apply, stays open for a person: neither disappears from the session.
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "script.sh").write_text("echo hi\n")
    (tree / "blob.bin").write_bytes(b"\0\1")
    patch_file = tmp_path / "hunkless.diff"
    patch_file.write_text(
        "diff --git a/script.sh b/script.sh\nold mode 100644\nnew mode 100755\n"
        "diff --git a/blob.bin b/blob.bin\nindex 1111111..2222222 100644\n"
        "Binary files a/blob.bin and b/blob.bin differ\n"
    )
    index = read_index([str(patch_file)])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    mode = session.hunk("script.sh#0")
    assert mode.applied and not mode.open and mode.reason == "mode 100644 → 100755"
    assert (Path(session.worktree) / "script.sh").stat().st_mode & 0o100
    binary = session.hunk("blob.bin#0")
    assert binary.open and "by hand" in binary.reason


# --- the vanilla base clears flags it can vouch for -----------------------------------------------

BASE_CASE = CHECK / "base-unchanged-neighbourhood"
BACKPORT_CASE = CHECK / "base-backported-nearby"


def _apply_case(case: Path, tmp_path: Path, base: str | None) -> tuple[Path, Session]:
    tree = tmp_path / "vendor"
    shutil.copytree(case / "tree", tree)
    index = read_index([str(case / "patch.diff")])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions(base=base))
    return tree, session


def _the_hunk(session: Session) -> tuple[HunkStatus, bool, bool, str]:
    (hunk,) = session.hunks
    return hunk.status, hunk.applied, hunk.open, hunk.reason


@pytest.mark.parametrize("form", ["directory", "tarball"])
def test_apply_base_applies_a_hunk_whose_neighbourhood_is_vanillas(
    tmp_path: Path, form: str
) -> None:
    base = str(BASE_CASE / "base")
    if form == "tarball":
        tarball = tmp_path / "vanilla.tar.gz"
        with tarfile.open(tarball, "w:gz") as archive:
            archive.add(BASE_CASE / "base", arcname="linux-6.1.998")
        base = str(tarball)
    tree, session = _apply_case(BASE_CASE, tmp_path, base)
    status, applied, still_open, reason = _the_hunk(session)
    assert (status, applied, still_open) == (HunkStatus.OFFSET, True, False)
    assert "equals vanilla's" in reason
    path = "drivers/misc/demo-power.c"
    wait = "\tret = demo_wait_ready(dev, DEMO_TIMEOUT_MS);\n\tif (ret)\n\t\treturn ret;\n"
    irq = "\twritel(DEMO_IRQ_ON, dev->base + DEMO_IRQ);\n"
    expected = (tree / path).read_text().replace(irq, irq + wait)
    assert (Path(session.worktree) / path).read_text() == expected
    assert not (Path(session.worktree) / (path + ".rej")).exists()


def test_apply_base_as_a_git_ref_clears_the_flag_too(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(BASE_CASE / "base", tree)
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-qm", "vanilla")
    run_git(tree, "tag", "v-vanilla")
    shutil.copytree(BASE_CASE / "tree", tree, dirs_exist_ok=True)
    run_git(tree, "commit", "-qam", "vendor")
    index = read_index([str(BASE_CASE / "patch.diff")])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions(base="v-vanilla"))
    assert _the_hunk(session)[:3] == (HunkStatus.OFFSET, True, False)


def test_apply_without_base_leaves_the_hunk_open(tmp_path: Path) -> None:
    _tree, session = _apply_case(BASE_CASE, tmp_path, None)
    assert _the_hunk(session)[:3] == (HunkStatus.OFFSET, False, True)


def test_apply_base_keeps_a_vendor_backport_open(tmp_path: Path) -> None:
    _tree, session = _apply_case(BACKPORT_CASE, tmp_path, str(BACKPORT_CASE / "base"))
    status, applied, still_open, reason = _the_hunk(session)
    assert (status, applied, still_open) == (HunkStatus.CLEAN, False, True)
    assert "already exist" in reason and "vanilla" not in reason


def _apply_text(tree: Path, patch: str, tmp_path: Path) -> Session:
    patch_file = tmp_path / "p.diff"
    patch_file.write_text(patch)
    index = read_index([str(patch_file)])
    return apply_patch(index, select(index, Selection()), tree, ApplyOptions())


def test_a_mode_change_then_a_deletion_of_the_same_file(tmp_path: Path) -> None:
    # Found by the generated differential test: the mode of a file a later diff deleted was
    # still handed to git, which stopped apply with exit 3.
    tree = tmp_path / "tree"
    (tree / "odd").mkdir(parents=True)
    (tree / "odd/run.sh").write_text("a\na\na\n")
    patch = (
        "diff --git a/odd/run.sh b/odd/run.sh\nold mode 100644\nnew mode 100755\n"
        "diff --git a/odd/run.sh b/odd/run.sh\ndeleted file mode 100644\n"
        "--- a/odd/run.sh\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-a\n-a\n-a\n"
    )
    session = _apply_text(tree, patch, tmp_path)
    assert session.phase == Phase.READY and not session.open_hunks
    assert not (Path(session.worktree) / "odd/run.sh").exists()


def test_a_changed_symlink_stays_a_symlink(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "dts").mkdir(parents=True)
    (tree / "dts/board.dtsi").symlink_to("../common/old.dtsi")
    patch = (
        "diff --git a/dts/board.dtsi b/dts/board.dtsi\nindex 1234567..89abcde 120000\n"
        "--- a/dts/board.dtsi\n+++ b/dts/board.dtsi\n@@ -1 +1 @@\n"
        "-../common/old.dtsi\n\\ No newline at end of file\n"
        "+../common/new.dtsi\n\\ No newline at end of file\n"
    )
    session = _apply_text(tree, patch, tmp_path)
    worktree = Path(session.worktree)
    assert [(h.status, h.applied) for h in session.hunks] == [(HunkStatus.CLEAN, True)]
    assert os.readlink(worktree / "dts/board.dtsi") == "../common/new.dtsi"
    listed = git.run_git(["ls-tree", "HEAD", "dts/board.dtsi"], cwd=worktree).stdout
    assert listed.startswith(b"120000 ")


@pytest.mark.parametrize("one_pass", [True, False], ids=["one-pass", "step-by-step"])
def test_everything_apply_wrote_is_flushed_before_the_session_says_ready(
    demo_tree: Path, monkeypatch: pytest.MonkeyPatch, one_pass: bool
) -> None:
    """No fsync per file: one flush of the worktree's and the repository's file systems, after
    the last file, reject and commit, and before the write that marks the session ready. On
    both paths: the one-pass path commits by writing a pack and writes the results with the
    checkout ("commit" and "file" below), the step-by-step one with the confined writer and
    git commit."""
    from patchsmith.workspace import apply as apply_module
    from patchsmith.workspace import confined

    monkeypatch.setattr(apply_module, "ONE_PASS", one_pass)
    events: list[tuple[str, object]] = []
    write_file, commit_paths, store_write = (
        confined.write_file,
        git.commit_paths,
        SessionStore.write,
    )
    snapshot_and_results, checkout_branch = git.snapshot_and_results, git.checkout_branch
    checkout_files = git.checkout_files

    def recording_import(*args: object, **options: object) -> tuple[str, str]:
        events.append(("commit", "pack"))
        return snapshot_and_results(*args, **options)  # type: ignore[arg-type]

    def recording_checkout(git_dir: Path, worktree: Path, branch: str, commit: str) -> None:
        events.append(("file", "checkout"))
        checkout_branch(git_dir, worktree, branch, commit)

    def recording_checkout_files(*args: Any, **options: Any) -> bool:
        events.append(("file", "checkout"))
        return checkout_files(*args, **options)

    monkeypatch.setattr(git, "snapshot_and_results", recording_import)
    monkeypatch.setattr(git, "checkout_branch", recording_checkout)
    monkeypatch.setattr(git, "checkout_files", recording_checkout_files)

    def recording_write_file(root: Path, relative: str, data: bytes, **options: bool) -> None:
        events.append(("file", relative))
        write_file(root, relative, data, **options)

    def recording_commit(
        worktree: Path, paths: list[str], message: str, modes: dict[str, str] | None = None
    ) -> str:
        events.append(("commit", message))
        return commit_paths(worktree, paths, message, modes)

    def recording_store_write(
        self: SessionStore, session: Session, encoded: bytes | None = None
    ) -> None:
        events.append(("session", session.phase))
        store_write(self, session, encoded)

    monkeypatch.setattr(confined, "write_file", recording_write_file)
    monkeypatch.setattr(git, "commit_paths", recording_commit)
    monkeypatch.setattr(SessionStore, "write", recording_store_write)
    monkeypatch.setattr(
        confined,
        "make_durable",
        lambda paths: events.append(("durable", [os.path.realpath(p) for p in paths])),
    )
    session = _apply(demo_tree).read()
    assert isinstance(session, Session)
    kinds = [kind for kind, _what in events]
    assert kinds.count("durable") == 1
    durable = kinds.index("durable")
    # Files (results and rejects) and the commit all come before the flush ...
    assert {"file", "commit"} <= set(kinds[:durable])
    assert (("commit", "pack") in events) == one_pass  # the path meant was taken
    assert (("file", "checkout") in events[:durable]) == one_pass
    assert ("file", "Makefile.rej") in events[:durable]
    assert "file" not in kinds[durable:] and "commit" not in kinds[durable:]
    # ... and the very next thing is the session's "ready", the first write that says so.
    assert events[durable + 1] == ("session", Phase.READY)
    assert ("session", Phase.READY) not in events[:durable]
    flushed = events[durable][1]
    assert isinstance(flushed, list)
    assert os.path.realpath(session.worktree) in flushed
    assert os.path.realpath(session.git_dir) in flushed

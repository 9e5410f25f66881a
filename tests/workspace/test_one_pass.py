"""apply's one pass on a plain tree commits exactly what the step-by-step path commits.

The one-pass path (``apply.ONE_PASS``) works out the snapshot and the results in memory and
writes both commits as one pack of its own making; the step-by-step path snapshots, checks out,
writes through the confined writer and lets ``git add`` read the worktree. A mistake in the
in-memory model (a rewritten file's mode, a rename's source left behind, a link written as a
file, a file the vendor lacks created) would commit a different tree without a word: these
tests compare the two paths' trees, blob by blob, and both with what the patch must give.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import apply as apply_module
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import Session

DM = b"".join(b"int dm_line_%d(void) { return %d; }\n" % (n, n) for n in range(1, 30))
A_C = b"".join(b"static int a_%d;\n" % n for n in range(1, 20))
DM_NEW = DM.replace(b"dm_line_5(void) { return 5;", b"dm_line_5(void) { return 55;")
CONFLICT = b"int conflict_one;\nint conflict_two;\nint conflict_three;\n"


def _write(folder: Path, files: dict[str, bytes | tuple[str, bytes]]) -> None:
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            kind, data = content
            if kind == "link":
                os.symlink(data.decode(), target)
            else:
                target.write_bytes(data)
                target.chmod(0o755)
        else:
            target.write_bytes(content)


VANILLA: dict[str, bytes | tuple[str, bytes]] = {
    "drivers/md/dm.c": DM,
    "drivers/md/old.c": b"int old(void);\n",
    "drivers/md/a.c": A_C,
    "drivers/md/missing.c": b"int missing_one;\nint missing_two;\n",
    "drivers/md/conflict.c": CONFLICT,
    "scripts/run.sh": b"echo run\n",
    "scripts/tool.sh": ("exec", b"echo tool\necho more\n"),
    "include/old-link.h": ("link", b"../drivers/md/old.h"),
}
UPSTREAM: dict[str, bytes | tuple[str, bytes] | None] = {
    "drivers/md/dm.c": DM_NEW,
    "drivers/md/dm-new.c": b"int dm_new(void) { return 1; }\n",
    "scripts/new.sh": ("exec", b"echo new\n"),
    "drivers/md/old.c": None,
    "drivers/md/a.c": None,
    "drivers/md/b.c": A_C.replace(b"a_10;", b"b_10;"),
    "drivers/md/missing.c": b"int missing_one;\nint missing_2;\n",
    "drivers/md/conflict.c": CONFLICT.replace(b"conflict_two", b"conflict_2"),
    "include/link.h": ("link", b"../drivers/md/dm.h"),
    "include/old-link.h": None,
    "scripts/tool.sh": ("exec", b"echo tool\necho less\n"),
}


def _patch(tmp_path: Path) -> Path:
    """The upstream change, as ``git diff`` writes it (renames, modes, links, deletions)."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    _write(repo, VANILLA)
    environment = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}

    def run(*args: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, env=environment
        ).stdout

    run("init", "-q")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "vanilla")
    for path, content in UPSTREAM.items():
        target = repo / path
        if target.is_symlink() or target.exists():
            target.unlink()
        if content is not None:
            _write(repo, {path: content})
    (repo / "scripts/run.sh").chmod(0o755)
    run("add", "-A")
    patch = tmp_path / "upstream.patch"
    patch.write_bytes(run("diff", "--cached", "-M", "HEAD"))
    return patch


def _vendor(tmp_path: Path) -> Path:
    """The vanilla tree as a vendor has it: conflict.c changed where upstream changes it, and
    missing.c gone (a file the vendor lacks)."""
    tree = tmp_path / "vendor"
    tree.mkdir()
    _write(tree, VANILLA)
    (tree / "drivers/md/conflict.c").write_bytes(CONFLICT.replace(b"conflict_two", b"vendor_2"))
    (tree / "drivers/md/missing.c").unlink()
    return tree


def _apply(
    patch: Path,
    tree: Path,
    branch: str,
    one_pass: bool,
    merge: bool = False,
    name: str | None = None,
) -> Session:
    original = apply_module.ONE_PASS
    apply_module.ONE_PASS = one_pass
    try:
        index = read_index([str(patch)])
        options = ApplyOptions(branch=branch, merge=merge, name=name)
        return apply_patch(index, select(index, Selection()), tree, options)
    finally:
        apply_module.ONE_PASS = original


def _listing(session: Session, commit: str | None) -> list[str]:
    """``git ls-tree -r`` of a commit: mode, type, blob id and path of each entry."""
    assert commit is not None
    output = git.run_git(["ls-tree", "-r", "-z", commit], cwd=Path(session.worktree)).stdout
    return sorted(entry.decode() for entry in output.split(b"\0") if entry)


def _blob(data: bytes) -> str:
    result = git.run_git(["hash-object", "--stdin"], input=data)
    return result.stdout.decode().strip()


def _expected(files: dict[str, tuple[str, bytes]]) -> list[str]:
    return sorted(f"{mode} blob {_blob(data)}\t{path}" for path, (mode, data) in files.items())


SNAPSHOT = {
    "drivers/md/dm.c": ("100644", DM),
    "drivers/md/old.c": ("100644", b"int old(void);\n"),
    "drivers/md/a.c": ("100644", A_C),
    "drivers/md/conflict.c": ("100644", CONFLICT.replace(b"conflict_two", b"vendor_2")),
    "scripts/run.sh": ("100644", b"echo run\n"),
    "scripts/tool.sh": ("100755", b"echo tool\necho more\n"),
    "include/old-link.h": ("120000", b"../drivers/md/old.h"),
}
RESULTS: dict[str, tuple[str, bytes]] = {
    "drivers/md/dm.c": ("100644", DM_NEW),
    "drivers/md/dm-new.c": ("100644", b"int dm_new(void) { return 1; }\n"),
    "scripts/new.sh": ("100755", b"echo new\n"),
    "drivers/md/b.c": ("100644", A_C.replace(b"a_10;", b"b_10;")),
    "drivers/md/conflict.c": SNAPSHOT["drivers/md/conflict.c"],  # its hunk is rejected
    "scripts/run.sh": ("100755", b"echo run\n"),
    "scripts/tool.sh": ("100755", b"echo tool\necho less\n"),
    "include/link.h": ("120000", b"../drivers/md/dm.h"),
}


@pytest.mark.parametrize("merge", [False, True], ids=["rejects", "merge"])
def test_one_pass_commits_the_trees_the_step_by_step_path_commits(
    tmp_path: Path, merge: bool
) -> None:
    patch = _patch(tmp_path)
    tree = _vendor(tmp_path)
    one = _apply(patch, tree, "one/pass", one_pass=True, merge=merge)
    step = _apply(patch, tree, "step/by-step", one_pass=False, merge=merge)
    # What the patch must give, blob by blob: the snapshot is the vendor's touched files (not
    # missing.c, which it lacks), the results have the new files, the executable, the rename,
    # the mode change, the new link, and neither the deleted file, the rename's source nor the
    # deleted link; the rejected hunk leaves conflict.c as the vendor has it.
    assert _listing(one, one.snapshot_commit) == _expected(SNAPSHOT)
    assert _listing(one, one.applied_commit) == _expected(RESULTS)
    # The same trees as the step-by-step path, down to the tree ids.
    for session in (one, step):
        assert session.phase == "ready"
    assert _listing(one, one.snapshot_commit) == _listing(step, step.snapshot_commit)
    assert _listing(one, one.applied_commit) == _listing(step, step.applied_commit)
    for commit in ("snapshot_commit", "applied_commit"):
        trees = [
            git.run_git(["rev-parse", f"{getattr(s, commit)}^{{tree}}"], cwd=Path(s.worktree))
            for s in (one, step)
        ]
        assert trees[0].stdout == trees[1].stdout
    # git accepts the pack patchsmith wrote, object by object (ids, types, tree order).
    checked = git.run_git(
        ["fsck", "--strict", "--full", "--no-dangling"], git_dir=Path(one.git_dir), check=False
    )
    assert checked.code == 0, checked.stderr.decode()
    # The history the session shows: the snapshot, then the results on it.
    log = git.run_git(["log", "--format=%P %s"], cwd=Path(one.worktree)).stdout.decode()
    lines = log.splitlines()
    assert lines[0] == f"{one.snapshot_commit} patchsmith: apply clean hunks of upstream"
    assert lines[1].startswith(" patchsmith: base snapshot of ")  # no parent
    # The worktrees hold the same files (the rejects and, with merge, the markers too).
    assert _files(Path(one.worktree)) == _files(Path(step.worktree))
    assert one.to_json()["hunks"] == step.to_json()["hunks"]
    statuses = [
        git.run_git(["status", "--porcelain"], cwd=Path(s.worktree)).stdout for s in (one, step)
    ]
    assert statuses[0] == statuses[1]
    assert (b"?? drivers/md/conflict.c.rej\n" in statuses[0]) == (not merge)


def _files(worktree: Path) -> dict[str, tuple[int, bytes]]:
    found: dict[str, tuple[int, bytes]] = {}
    for folder, subfolders, names in os.walk(worktree):
        subfolders[:] = [d for d in subfolders if d != ".git"]
        for name in names + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            full = os.path.join(folder, name)
            if name == ".git" and folder == str(worktree):
                continue
            info = os.lstat(full)
            data = os.readlink(full).encode() if os.path.islink(full) else Path(full).read_bytes()
            found[os.path.relpath(full, worktree)] = (info.st_mode, data)
    return found


def test_a_path_that_is_a_file_and_a_folder_takes_the_step_by_step_path(tmp_path: Path) -> None:
    # The patch deletes the file drivers/md and adds drivers/md/new.c: what that does on disk
    # is the file system's answer, so the one pass leaves it to the step-by-step path.
    tree = tmp_path / "vendor"
    tree.mkdir()
    (tree / "drivers").mkdir()
    (tree / "drivers/md").write_bytes(b"a file\n")
    patch = tmp_path / "flip.patch"
    patch.write_bytes(
        b"diff --git a/drivers/md b/drivers/md\ndeleted file mode 100644\n"
        b"--- a/drivers/md\n+++ /dev/null\n@@ -1 +0,0 @@\n-a file\n"
        b"diff --git a/drivers/md/new.c b/drivers/md/new.c\nnew file mode 100644\n"
        b"--- /dev/null\n+++ b/drivers/md/new.c\n@@ -0,0 +1 @@\n+int new;\n"
    )
    calls: list[object] = []
    original = git.snapshot_and_results

    def recording(*args: object, **options: object) -> tuple[str, str]:
        calls.append(args)
        return original(*args, **options)  # type: ignore[arg-type]

    git.snapshot_and_results = recording
    try:
        index = read_index([str(patch)])
        session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    finally:
        git.snapshot_and_results = original
    assert calls == []
    # The engine judged new.c on the tree, where a file stands in its folder's place: held
    # back (open), while the deletion went through.
    assert _listing(session, session.applied_commit) == []
    assert session.hunk("drivers/md/new.c#1").open
    shutil.rmtree(session.worktree)


def test_objects_past_two_gigabytes_are_found_through_the_large_offset_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pack index holds 31 bits of offset; past that, an object's place is in a table of
    # 64-bit ones. Every object but the first (at 12, after the pack's header, which git's
    # size check of the index counts on) goes there with this limit: git must still read them.
    monkeypatch.setattr(git, "LARGE_OFFSET", 13)
    patch = _patch(tmp_path)
    session = _apply(patch, _vendor(tmp_path), "large/offsets", one_pass=True)
    assert _listing(session, session.applied_commit) == _expected(RESULTS)
    checked = git.run_git(
        ["fsck", "--strict", "--full"], git_dir=Path(session.git_dir), check=False
    )
    assert checked.code == 0, checked.stderr.decode()
    packs = list((Path(session.git_dir) / "objects" / "pack").glob("*.idx"))
    verified = git.run_git(["verify-pack", *map(str, packs)], git_dir=Path(session.git_dir))
    assert verified.code == 0


def test_tree_order_is_gits_where_a_folder_name_is_a_prefix_of_a_file_name() -> None:
    # "a-b" < "a.c" < "a/" (a folder sorts as its name followed by "/") < "a0": a tree
    # written in plain name order ("a", "a-b", "a.c", "a0") reads wrong in git.
    from patchsmith.workspace.git import _Pack

    entries = {
        "a/inner.c": ("100644", b"inner\n"),
        "a-b": ("100644", b"dash\n"),
        "a.c": ("100644", b"dot\n"),
        "a0": ("100755", b"zero\n"),
        "link": ("120000", b"a/inner.c"),
    }
    pack = _Pack()
    tree = pack.tree(entries)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        git.run_git(["init", "-q", "--bare", scratch])
        pack.write(Path(scratch) / "objects" / "pack")
        listed = git.run_git(["ls-tree", "-r", tree.hex()], git_dir=Path(scratch)).stdout
        checked = git.run_git(["fsck", "--strict", "--full"], git_dir=Path(scratch), check=False)
        made = git.run_git(["mktree"], git_dir=Path(scratch), input=_mktree_input(scratch, entries))
    assert checked.code == 0, checked.stderr.decode()
    names = [line.split("\t")[1] for line in listed.decode().splitlines()]
    assert names == ["a-b", "a.c", "a/inner.c", "a0", "link"]
    # git's own tree of the same entries has the same id.
    assert made.stdout.decode().strip() == tree.hex()


def _mktree_input(scratch: str, entries: dict[str, tuple[str, bytes]]) -> bytes:
    """``git mktree`` input for ``entries`` (one level of folders), blobs written by git."""
    lines: list[str] = []
    inner: list[str] = []
    for path, (mode, data) in entries.items():
        blob = git.run_git(["hash-object", "-w", "--stdin"], git_dir=Path(scratch), input=data)
        line = f"{mode} blob {blob.stdout.decode().strip()}\t{path.rpartition('/')[2]}"
        (inner if "/" in path else lines).append(line)
    folder = git.run_git(["mktree"], git_dir=Path(scratch), input="\n".join(inner).encode() + b"\n")
    lines.append(f"040000 tree {folder.stdout.decode().strip()}\ta")
    return "\n".join(lines).encode() + b"\n"


def test_applying_again_stores_only_what_is_new(tmp_path: Path) -> None:
    # An abort, then the same apply again (or another branch of the same tree): the blobs and
    # trees are in the repository already, and a second copy of 120 MB of a stable patch's
    # files each time would fill the data home.
    patch = _patch(tmp_path)
    tree = _vendor(tmp_path)
    first = _apply(patch, tree, "first/time", one_pass=True)
    counted = _packed(Path(first.git_dir))
    # Another name: other commit messages, so the commits (and a whole second pack, were
    # everything written again) differ from the first apply's.
    second = _apply(patch, tree, "second/time", one_pass=True, name="again")
    # The results commit, and the snapshot's unless it was made in the same second as the
    # first one (its message names the tree, not the patch): nothing else.
    assert _packed(Path(second.git_dir)) - counted in (1, 2)
    assert _listing(second, second.applied_commit) == _expected(RESULTS)
    assert _listing(second, second.snapshot_commit) == _expected(SNAPSHOT)
    checked = git.run_git(["fsck", "--strict", "--full"], git_dir=Path(second.git_dir), check=False)
    assert checked.code == 0, checked.stderr.decode()


def _packed(git_dir: Path) -> int:
    """How many objects the repository's packs hold."""
    counts = git.run_git(["count-objects", "-v"], git_dir=git_dir).stdout.decode()
    return int(next(line for line in counts.splitlines() if line.startswith("in-pack:")).split()[1])


def test_the_index_is_settled_once_a_second_has_passed(tmp_path: Path) -> None:
    # git checked the files out and wrote the index in the same second: each status hashes
    # them again (racily clean) until an index newer than all of them is written.
    patch = _patch(tmp_path)
    session = _apply(patch, _vendor(tmp_path), "settle/index", one_pass=True)
    worktree, git_dir = Path(session.worktree), git.git_dir_of(Path(session.worktree))
    index = git_dir / "index"
    files = [p for p in worktree.rglob("*") if ".git" not in p.parts and not p.is_symlink()]
    # Within the same second nothing is written: a refresh then is as racy as before.
    now = time.time()
    for path in [*files, index]:
        os.utime(path, (now, now))
    git.settle_index(worktree, git_dir)
    assert index.stat().st_mtime == now
    # A second later the refresh writes an index newer than every file.
    for path in [*files, index]:
        os.utime(path, (now - 5, now - 5))
    git.settle_index(worktree, git_dir)
    assert int(index.stat().st_mtime) > max(int(p.stat().st_mtime) for p in files)
    status = git.run_git(["status", "--porcelain"], cwd=worktree).stdout
    assert status == b"?? drivers/md/conflict.c.rej\n?? drivers/md/missing.c.rej\n"

"""A one-pass apply writes the worktree's files and index itself, and git agrees with them.

After a one pass, ``git worktree add --no-checkout`` makes the branch and the worktree, and
apply writes the files and the index (``git.checkout_files``): dated two seconds back, so git
trusts their stat data instead of hashing every file on each ``git status``. A wrong index
entry would show a file changed, or hide a change: these tests read the worktree with git and
with GitPython (a second client) and compare it, file by file and entry by entry, with the
worktree ``git worktree add`` itself checks out of the same commit. An edit right after apply
that keeps the file's size must still show; where git's checkout could write other bytes (a
``.gitattributes``, a link, names equal but for case), git checks out as before.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git as gitpython  # GitPython, a test dependency (the 'dev' extra)

from patchsmith.workspace import git
from patchsmith.workspace.records import Session
from tests.workspace.test_known_worktree import CONFLICT, Files, _apply, _patch

VANILLA: Files = {
    "drivers/md/dm.c": ("file", CONFLICT * 3),
    "drivers/md/conflict.c": ("file", CONFLICT),
    "drivers/md/gone.c": ("file", b"int gone;\n"),
    "scripts/run.sh": ("exec", b"echo run\n"),
    "Makefile": ("file", b"all:\n"),
}
UPSTREAM: Files = {
    "drivers/md/dm.c": ("file", CONFLICT * 2 + CONFLICT.replace(b"int a;", b"int c;")),
    "drivers/md/conflict.c": ("file", CONFLICT.replace(b"int b;", b"int upstream;")),
    "drivers/md/new/deep/x.c": ("file", b"int x;\n"),
    "scripts/run.sh": ("exec", b"echo run fast\n"),
    "scripts/tool.sh": ("exec", b"echo tool\n"),
    "Makefile": ("file", b"all: more\n"),
}
VENDOR: Files = {
    **VANILLA,
    "drivers/md/conflict.c": ("file", CONFLICT.replace(b"int b;", b"int vendor;")),
}


def _run(folder: Path, *args: str) -> str:
    environment = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(
        ["git", "-C", str(folder), *args],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout


def _files(folder: Path) -> dict[str, tuple[int, bytes]]:
    found: dict[str, tuple[int, bytes]] = {}
    for directory, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if f != ".git"]
        for name in names:
            if name == ".git":
                continue
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            data = os.readlink(path).encode() if os.path.islink(path) else Path(path).read_bytes()
            found[os.path.relpath(path, folder)] = (mode, data)
    return found


def _applied(tmp_path: Path, upstream: Files = UPSTREAM, merge: bool = False) -> Session:
    patch = _patch(tmp_path, VANILLA, upstream)
    session, _known, _store = _apply(tmp_path, VENDOR, patch, merge)
    return session


def test_the_worktree_and_index_are_what_git_checks_out(tmp_path: Path) -> None:
    session = _applied(tmp_path)
    worktree = Path(session.worktree)
    # The same commit checked out by git itself, beside it.
    theirs = tmp_path / "git-checkout"
    _run(worktree, "worktree", "add", "-q", "--detach", str(theirs), "HEAD")
    ours_files = _files(worktree)
    assert ours_files.pop("drivers/md/conflict.c.rej")  # apply's own, untracked
    assert ours_files == _files(theirs)
    assert ours_files["scripts/tool.sh"][0] & 0o111  # the new script is executable
    assert _run(worktree, "ls-files", "-s") == _run(theirs, "ls-files", "-s")
    assert _run(worktree, "status", "--porcelain") == "?? drivers/md/conflict.c.rej\n"
    assert _run(worktree, "diff", "HEAD") == ""
    assert _run(worktree, "diff", session.snapshot_commit) == _run(
        theirs, "diff", session.snapshot_commit
    )
    # Each entry's stat data is the file's, as git keeps it (32 bits; ctime and mtime with
    # their nanoseconds): what a second client reads from the index.
    repo = gitpython.Repo(worktree)
    assert not repo.is_dirty(untracked_files=False)
    entries = {path: entry for (path, _stage), entry in repo.index.entries.items()}
    assert set(entries) == {
        line.split("\t")[1] for line in _run(theirs, "ls-files", "-s").splitlines()
    }
    for path, entry in entries.items():
        info = os.lstat(worktree / path)
        assert entry.mtime == divmod(info.st_mtime_ns, 1_000_000_000)
        assert entry.ctime == divmod(info.st_ctime_ns, 1_000_000_000)
        assert (entry.dev, entry.inode) == (info.st_dev & 0xFFFFFFFF, info.st_ino & 0xFFFFFFFF)
        assert (entry.uid, entry.gid, entry.size) == (info.st_uid, info.st_gid, info.st_size)
    # Older than the index by a whole second: git trusts them and hashes none again.
    index_time = os.stat(Path(session.git_dir) / "worktrees" / worktree.name / "index").st_mtime
    late = {
        p: os.lstat(worktree / p).st_mtime
        for p in entries
        if int(os.lstat(worktree / p).st_mtime) >= int(index_time)
    }
    assert not late, (late, index_time)
    assert _run(worktree, "fsck", "--no-dangling") == ""


def test_an_edit_right_after_apply_that_keeps_the_size_still_shows(tmp_path: Path) -> None:
    session = _applied(tmp_path)
    worktree = Path(session.worktree)
    target = worktree / "Makefile"
    data = target.read_bytes()
    target.write_bytes(data.replace(b"more", b"MORE"))
    assert len(target.read_bytes()) == len(data)
    assert _run(worktree, "status", "--porcelain", "--untracked-files=no") == " M Makefile\n"
    assert "Makefile" in git.changed_paths(worktree)


def test_conflict_blocks_written_after_it_show_as_changed(tmp_path: Path) -> None:
    session = _applied(tmp_path, merge=True)
    worktree = Path(session.worktree)
    assert _run(worktree, "status", "--porcelain") == " M drivers/md/conflict.c\n"


def test_where_git_could_write_other_bytes_git_checks_out(tmp_path: Path) -> None:
    cases: dict[str, Files] = {
        "attributes": {**UPSTREAM, "drivers/.gitattributes": ("file", b"*.c ident\n")},
        "link": {**UPSTREAM, "drivers/md/link.c": ("link", b"dm.c")},
        "case": {**UPSTREAM, "drivers/md/DM.c": ("file", b"int other;\n")},
    }
    for name, upstream in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        session = _applied(folder, upstream)
        worktree = Path(session.worktree)
        theirs = folder / "git-checkout"
        _run(worktree, "worktree", "add", "-q", "--detach", str(theirs), "HEAD")
        ours_files = _files(worktree)
        ours_files.pop("drivers/md/conflict.c.rej")
        assert ours_files == _files(theirs), name
        assert _run(worktree, "ls-files", "-s", "--debug") != ""
        assert _run(worktree, "diff", "HEAD") == "", name

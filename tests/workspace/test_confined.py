"""The confined writer: every write stays inside the root, whatever links the root holds."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.tree import points_outside
from patchsmith.errors import TreeError
from patchsmith.workspace import confined
from tests.support.trees import fingerprint


def _root_with_links(base: Path) -> tuple[Path, Path]:
    root = base / "root"
    outside = base / "outside"
    (root / "drivers/md").mkdir(parents=True)
    outside.mkdir()
    (outside / "x.c").write_text("outside\n")
    (root / "drivers/md/x.c").write_text("inside\n")
    os.symlink(outside, root / "drivers/out")  # a folder link out
    os.symlink("../../outside/x.c", root / "drivers/md/out.c")  # a file link out, relative
    os.symlink("md", root / "drivers/alias")  # a folder link in
    (root / "file").write_text("a file\n")
    return root, outside


def test_a_write_beyond_a_link_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    root, outside = _root_with_links(tmp_path)
    before = fingerprint(outside)
    for path in ("drivers/out/x.c", "drivers/out/new/y.c", "drivers/alias/x.c", "file/y"):
        with pytest.raises(confined.Blocked) as raised:
            confined.write_file(root, path, b"pwned\n")
        assert raised.value.component in ("drivers/out", "drivers/alias", "file")
        assert not confined.reachable(root, path)
    assert fingerprint(outside) == before
    assert (root / "drivers/md/x.c").read_text() == "inside\n"


def test_a_link_at_the_name_is_replaced_not_written_through(tmp_path: Path) -> None:
    root, outside = _root_with_links(tmp_path)
    confined.write_file(root, "drivers/md/out.c", b"mine\n")
    assert not (root / "drivers/md/out.c").is_symlink()
    assert (root / "drivers/md/out.c").read_text() == "mine\n"
    assert (outside / "x.c").read_text() == "outside\n"
    # A link out is refused on its own (see test_a_link_out_of_the_root_is_refused); the
    # snapshot's own links are put back as they were, wherever they point.
    confined.write_link(root, "drivers/md/x.c", b"/etc/passwd", outside=True)
    assert os.readlink(root / "drivers/md/x.c") == "/etc/passwd"
    assert confined.read_file(root, "drivers/md/x.c") is None  # not followed
    assert confined.remove(root, "drivers/md/x.c") is True
    assert not os.path.lexists(root / "drivers/md/x.c")
    assert confined.remove(root, "drivers/md/x.c") is False


def test_modes_and_folders(tmp_path: Path) -> None:
    root, _outside = _root_with_links(tmp_path)
    confined.write_file(root, "new/deep/run.sh", b"#!/bin/sh\n")
    assert (root / "new/deep/run.sh").read_bytes() == b"#!/bin/sh\n"
    confined.set_mode(root, "new/deep/run.sh", "100755")
    assert os.stat(root / "new/deep/run.sh").st_mode & 0o111
    # A rewrite keeps the mode; set_mode on a link changes nothing.
    confined.write_file(root, "new/deep/run.sh", b"#!/bin/sh\necho\n")
    assert os.stat(root / "new/deep/run.sh").st_mode & 0o111
    confined.set_mode(root, "drivers/md/out.c", "100755")
    assert confined.lstat(root, "drivers/md/out.c") is not None
    assert not any(name.startswith(".") for name in os.listdir(root / "new/deep"))


def test_names_out_of_the_root_are_refused(tmp_path: Path) -> None:
    root, _outside = _root_with_links(tmp_path)
    for path in ("../x", "/etc/x", "a/../../x", ".git/config"):
        with pytest.raises(TreeError):
            confined.write_file(root, path, b"x")


_NAMES = st.sampled_from(["drivers", "md", "out", "alias", "file", "x.c", "new", "é t"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=4).map("/".join)
_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["file", "link", "remove", "mode", "read", "retarget", "file-to-link"]),
        _PATHS,
        st.sampled_from([b"..", b"../..", b"../../outside", b"md", b"/"]),
    ),
    max_size=12,
)


def _oracle_blocked(root: Path, relative: str) -> bool:
    """Whether a folder on the way is a link or not a folder (plain lstat, one at a time)."""
    current = root
    for part in relative.split("/")[:-1]:
        current = current / part
        if not os.path.lexists(current):
            return False
        if stat.S_ISLNK(os.lstat(current).st_mode) or not current.is_dir():
            return True
    return False


def _link(root: Path, path: str, target: bytes) -> bool:
    """``write_link``, checked: a target out of the root is refused with nothing at the name
    changed (``False``); any other is made (``True``)."""
    if points_outside(path, target):
        before = os.lstat(root / path) if os.path.lexists(root / path) else None
        with pytest.raises(confined.OutsideLink):
            confined.write_link(root, path, target)
        after = os.lstat(root / path) if os.path.lexists(root / path) else None
        assert (before and before.st_ino) == (after and after.st_ino)
        return False
    confined.write_link(root, path, target)
    return True


def test_a_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    # Absolute, or climbing above the root from the link's folder; "x/.." and a deeper
    # "../" that stays inside are allowed. Nothing is made, not even the folder on the way.
    root, _outside = _root_with_links(tmp_path)
    for path, target in [
        ("drivers/md/a", b"/etc"),
        ("drivers/md/b", b"../../.."),
        ("new/c", b"../../outside/x.c"),
        ("d", b".."),
        ("e", b"x/../../y"),
    ]:
        with pytest.raises(confined.OutsideLink) as raised:
            confined.write_link(root, path, target)
        assert isinstance(raised.value, TreeError) and raised.value.hint
        assert not os.path.lexists(root / path)
    assert not os.path.lexists(root / "new")
    for path, target in [("drivers/md/f", b"../alias"), ("g", b"drivers/md/x.c"), ("h", b".")]:
        confined.write_link(root, path, target)
        assert os.readlink(root / path) == os.fsdecode(target)


@settings(max_examples=150, deadline=None)
@given(operations=_OPERATIONS)
def test_generated_writes_never_leave_the_root(
    operations: list[tuple[str, str, bytes]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="patchsmith-confined-") as folder:
        base = Path(folder)
        root, outside = _root_with_links(base)
        before = fingerprint(outside)
        siblings = {p.name for p in base.iterdir()}
        for kind, path, target in operations:
            blocked = _oracle_blocked(root, path)
            try:
                if kind == "file":
                    confined.write_file(root, path, b"data\n")
                elif kind == "link":
                    if not _link(root, path, target):
                        continue
                elif kind in ("retarget", "file-to-link"):
                    # What a patch re-targeting a link (or making a file one) then writing
                    # beyond it asks for: the second link replaces the first thing at the name,
                    # and the write beyond it is refused.
                    if kind == "retarget":
                        confined.write_link(root, path, b"md")
                    else:
                        confined.write_file(root, path, b"data\n")
                    if not _link(root, path, target):
                        continue
                    with pytest.raises(confined.Blocked):
                        confined.write_file(root, f"{path}/x.c", b"beyond\n")
                    assert os.readlink(root / path) == os.fsdecode(target)
                elif kind == "remove":
                    confined.remove(root, path)
                elif kind == "mode":
                    if confined.lstat(root, path) is not None:
                        confined.set_mode(root, path, "100755")
                else:
                    confined.read_file(root, path)
            except confined.Blocked:
                assert blocked, path
                continue
            except (IsADirectoryError, NotADirectoryError, FileNotFoundError):
                continue  # a folder at the name, or nothing where a removal was asked
            assert not blocked, path
        assert fingerprint(outside) == before
        assert {p.name for p in base.iterdir()} == siblings


class _FakeLibc:
    """A C library whose ``syncfs`` records the device of each descriptor it is given."""

    def __init__(self, fail_with: int = 0) -> None:
        self.devices: list[int] = []
        self.fail_with = fail_with

    def syncfs(self, descriptor: int) -> int:
        import ctypes

        self.devices.append(os.fstat(descriptor).st_dev)
        if self.fail_with:
            ctypes.set_errno(self.fail_with)
            return -1
        return 0


def test_make_durable_flushes_each_file_system_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes

    libc = _FakeLibc()
    monkeypatch.setattr(ctypes, "CDLL", lambda *_args, **_kwargs: libc)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # Two folders on one file system, one elsewhere (/proc is never the temp folder's), and a
    # path that is gone: one flush each for the two file systems, nothing for the gone one.
    confined.make_durable([tmp_path / "a", tmp_path / "b", Path("/proc"), tmp_path / "gone"])
    assert libc.devices == [os.stat(tmp_path).st_dev, os.stat("/proc").st_dev]


def test_make_durable_raises_what_the_flush_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes
    import errno

    monkeypatch.setattr(ctypes, "CDLL", lambda *_args, **_kwargs: _FakeLibc(errno.EIO))
    with pytest.raises(OSError, match=os.strerror(errno.EIO)) as raised:
        confined.make_durable([tmp_path])
    assert raised.value.errno == errno.EIO and raised.value.filename == str(tmp_path)


def test_make_durable_without_syncfs_syncs_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes

    def no_library(*_args: object, **_kwargs: object) -> object:
        raise OSError("no C library here")

    synced: list[bool] = []
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    monkeypatch.setattr(os, "sync", lambda: synced.append(True))
    confined.make_durable([tmp_path])
    assert synced == [True]

"""count_found, the lookup diagnosis's one question per file: is a file (or a link) there?"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.engine.lookup import count_found, diagnose


def test_files_and_links_count_folders_do_not(tmp_path: Path) -> None:
    (tmp_path / "drivers/md").mkdir(parents=True)
    (tmp_path / "drivers/md/dm.c").write_text("int dm;\n")
    os.symlink("dm.c", tmp_path / "drivers/md/link.c")  # a link to a file: there
    os.symlink("nowhere.c", tmp_path / "drivers/md/dangling.c")  # there, though it leads nowhere
    os.symlink("loop.c", tmp_path / "drivers/md/loop.c")  # a link to itself: there as well
    os.symlink("../md", tmp_path / "drivers/md/folder-link")  # a folder, through a link: no
    names = [
        "a/drivers/md/dm.c",
        "a/drivers/md/link.c",
        "a/drivers/md/dangling.c",
        "a/drivers/md/loop.c",
        "a/drivers/md/folder-link",
        "a/drivers/md",  # a folder
        "a/drivers/md/absent.c",
        "a/drivers/md/dm.c/under-a-file.c",
        "a/../drivers/md/dm.c",  # climbs out: never looked up
        "a",  # nothing left once stripped
    ]
    assert count_found(names, tmp_path, 1) == 4
    assert count_found(names, tmp_path, 0) == 0


@pytest.mark.parametrize("present", [0, 3, 5, 6, 10])
@pytest.mark.parametrize("first", [True, False])
def test_a_count_cut_short_above_enough_says_the_same_about_most(
    tmp_path: Path, present: int, first: bool
) -> None:
    # diagnose asks only whether more than half are there: the count may stop once it is, and
    # must be whole otherwise (the diagnosis then reports it).
    for number in range(10):
        (tmp_path / f"f{number}.c").write_text("x\n")
    there = list(range(present)) if first else list(range(10 - present, 10))
    names = [f"a/f{n}.c" if n in there else f"a/gone{n}.c" for n in range(10)]
    whole = count_found(names, tmp_path, 1)
    assert whole == present
    short = count_found(names, tmp_path, 1, enough=5)
    assert (short > 5) == (whole > 5)
    if whole <= 5:
        assert short == whole
    if first and present > 5:
        assert short == 6  # it stopped: the later names were not looked up


def test_diagnose_stops_counting_once_most_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from patchsmith.patchfile.index import index_bytes

    for number in range(10):
        (tmp_path / f"f{number}.c").write_text("x\n")
    patch = "".join(
        f"--- a/f{n}.c\n+++ b/f{n}.c\n@@ -1 +1 @@\n-x\n+y\n" for n in range(10)
    ).encode()
    entries = list(index_bytes(patch).files)
    looked: list[str] = []
    real = os.lstat

    def counted(path: str) -> os.stat_result:
        looked.append(path)
        return real(path)

    monkeypatch.setattr(os, "lstat", counted)
    assert diagnose(entries, tmp_path, 1) is None
    assert len(looked) == 6  # the sixth of ten is more than half

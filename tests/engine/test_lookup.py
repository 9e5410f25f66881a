"""count_found, the lookup diagnosis's one question per file: is a file (or a link) there?"""

from __future__ import annotations

import os
from pathlib import Path

from patchsmith.engine.lookup import count_found


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

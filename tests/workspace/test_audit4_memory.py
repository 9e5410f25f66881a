"""Audit: a memory export naming a path no hunk can have is refused on import.

A decision is replayed only on a hunk of the same path, and a hunk's path never leaves the tree
or enters ``.git`` (check and apply stop on such a name). An export entry naming
``../../etc/passwd`` is therefore crafted or damaged: importing it used to succeed ("1 new"),
and ``memory list`` showed it beside real decisions. It is now refused with its line (exit 2),
and nothing of the file is imported.
"""

from __future__ import annotations

import pytest

from patchsmith.errors import InputError
from patchsmith.workspace import memory


def export(path: str) -> bytes:
    scalars = {
        "path": path,
        "status": "conflict",
        "lineage": "l",
        "tree": "t",
        "patch": "p",
        "hunk": "h#1",
        "resolution": "edited",
        "by": "a",
        "at": "b",
    }
    text = "decision 0123456789ab\n"
    text += "".join(f'{key}: "{value}"\n' for key, value in scalars.items())
    text += "reason: none\nfile: none\nbase: none\nfunction:\nbefore:\nvendor: none\nafter:\n"
    text += "pre-image:\n| a\npost-image:\n| b\nwritten:\n| evil\nend\n"
    return text.encode()


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "drivers/.git/config"])
def test_an_entry_naming_a_path_outside_the_tree_is_refused(path: str) -> None:
    with pytest.raises(InputError, match=r"x\.txt:\d+: path: the patch names a path"):
        memory.import_text(export(path), "x.txt")


def test_an_entry_naming_a_tree_path_is_read() -> None:
    (entry,) = memory.import_text(export("drivers/md/dm.c"), "x.txt")
    assert (entry.path, entry.decision.written) == ("drivers/md/dm.c", "evil\n")

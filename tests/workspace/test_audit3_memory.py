"""Audit: a remembered resolution replayed where it should not be, or after it was taken back.

Two files with the same conflict (the vendor changed the same line in both, upstream changes it
in both): a decision on one is not replayed on the other. A decision undone from a second store
on the same session (another terminal) is forgotten. An old export imported after an undo
brings the decision back only as something to confirm, never settled. A decision whose
neighbourhood the vendor changed later is a suggestion only.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.model import Resolution
from patchsmith.workspace import memory
from tests.support.sessions import abort, apply_text, store_of

BODY = "static int probe(struct dev *d)\n{\n\tint ret;\n\n\tret = setup(d);\n"
TAIL = "\tif (ret)\n\t\treturn ret;\n\treturn start(d);\n}\n"
VENDOR = BODY + "\tret = vendor_check(d, 1);\n" + TAIL
PATCH = "".join(
    f"--- a/drivers/md/{name}\n+++ b/drivers/md/{name}\n@@ -3,6 +3,6 @@\n"
    " \tint ret;\n \n \tret = setup(d);\n-\tret = check(d);\n+\tret = check(d, 0);\n"
    " \tif (ret)\n \t\treturn ret;\n"
    for name in ("a.c", "b.c")
)


def _tree(tmp_path: Path, text: str = VENDOR) -> Path:
    tree = tmp_path / "vendor"
    (tree / "drivers/md").mkdir(parents=True, exist_ok=True)
    for name in ("a.c", "b.c"):
        (tree / "drivers/md" / name).write_text(text)
    return tree


def test_the_same_conflict_in_another_file_is_not_replayed(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    store = apply_text(tmp_path, tree, PATCH)
    session = store.load()
    assert [h.id for h in session.open_hunks] == ["drivers/md/a.c#1", "drivers/md/b.c#1"]
    store.resolve("drivers/md/a.c#1", Resolution.EDITED, text="\tret = vendor_check(d, 0);\n")
    abort(store)
    again = apply_text(tmp_path, tree, PATCH).load()
    first, second = again.hunk("drivers/md/a.c#1"), again.hunk("drivers/md/b.c#1")
    assert first.reused and first.to_confirm
    assert not second.reused and second.resolution is None and second.open
    assert second.memory_note is not None and "drivers/md/a.c" in second.memory_note


def test_an_undo_from_another_store_on_the_same_session_forgets(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    store = apply_text(tmp_path, tree, PATCH)
    store.resolve("drivers/md/a.c#1", Resolution.UPSTREAM)
    assert len(memory.Memory().entries()) == 1
    # Another terminal: a store of its own, found from the worktree.
    other = store_of(Path(store.load().worktree))
    other.undo("drivers/md/a.c#1")
    assert memory.Memory().entries() == []
    abort(store)
    again = apply_text(tmp_path, tree, PATCH).load()
    assert not again.hunk("drivers/md/a.c#1").reused


def test_an_old_export_imported_after_an_undo_is_only_to_confirm(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    store = apply_text(tmp_path, tree, PATCH)
    store.resolve("drivers/md/a.c#1", Resolution.DROPPED, reason="the vendor's check covers it")
    exported = memory.export_text(memory.Memory().entries())
    store.undo("drivers/md/a.c#1")
    assert memory.Memory().entries() == []
    for entry in memory.import_text(exported, "old.txt"):
        memory.Memory().put(entry)
    abort(store)
    replayed = apply_text(tmp_path, tree, PATCH)
    hunk = replayed.load().hunk("drivers/md/a.c#1")
    assert hunk.reused and hunk.to_confirm and hunk.open
    assert ("confirm", "drivers/md/a.c#1") in [(i.kind, i.hunk_id) for i in replayed.open_items()]


def test_a_decision_whose_neighbourhood_changed_later_is_only_suggested(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    store = apply_text(tmp_path, tree, PATCH)
    store.resolve("drivers/md/a.c#1", Resolution.UPSTREAM)
    abort(store)
    # The vendor's next release changes the line right below the region (its own fix there).
    for name in ("a.c", "b.c"):
        (tree / "drivers/md" / name).write_text(
            VENDOR.replace("\treturn start(d);", "\treturn start_locked(d);")
        )
    again = apply_text(tmp_path, tree, PATCH).load()
    hunk = again.hunk("drivers/md/a.c#1")
    assert not hunk.reused and hunk.resolution is None

"""Audit: the proposal (and ``resolve --accept``) of a hunk left open because its only exact
match is in a look-alike of the function the header names.

The vendor edited the named function ``foo()`` where the hunk goes; ``bar()``, its twin, still
reads as the pre-image ten lines down. The engine flags that match (``wrong-function``) and
apply leaves the hunk open, but the proposal was made at the engine's place: accepting it
wrote upstream's change into ``bar()``. It is made in ``foo()``'s own region, the vendor's edit
kept.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.model import HunkStatus, Resolution
from patchsmith.workspace.session import SessionStore
from tests.support.sessions import apply_text

BODY = "{\n\tint ret;\n\n\tlock(d);\n\tret = do_work(d);\n\tunlock(d);\n\treturn ret;\n}\n"
FOO = "static int foo(struct dev *d)\n" + BODY
BAR = "static int bar(struct dev *d)\n" + BODY
PATCH = (
    "--- a/drivers/f.c\n+++ b/drivers/f.c\n@@ -4,6 +4,8 @@ static int foo(struct dev *d)\n"
    ' \n \tlock(d);\n \tret = do_work(d);\n+\tif (ret)\n+\t\tpr_err("work failed");\n'
    " \tunlock(d);\n \treturn ret;\n }\n"
)
FIX = '\tif (ret)\n\t\tpr_err("work failed");\n'


def _apply(tmp_path: Path, vendor: str) -> SessionStore:
    tree = tmp_path / "vendor"
    (tree / "drivers").mkdir(parents=True)
    (tree / "drivers/f.c").write_text(vendor)
    return apply_text(tmp_path, tree, PATCH)


def test_accepting_a_hunk_flagged_for_the_twin_writes_the_named_function(tmp_path: Path) -> None:
    edited = FOO.replace("do_work(d)", "do_work_locked(d)")
    store = _apply(tmp_path, edited + "\n" + BAR)
    (hunk,) = store.load().hunks
    assert (hunk.status, hunk.open) == (HunkStatus.OFFSET, True)
    assert "wrong function?" in hunk.reason
    assert hunk.current is not None and hunk.current.start == 4  # foo's region, not bar's
    session = store.resolve(hunk.id, Resolution.ACCEPTED)
    text = (Path(session.worktree) / "drivers/f.c").read_text()
    foo, bar = text.split("static int bar", 1)
    assert FIX in foo and "do_work_locked(d);\n" + FIX in foo
    assert FIX not in bar


def test_an_unflagged_hunk_in_the_named_function_is_applied_where_it_matched(
    tmp_path: Path,
) -> None:
    # The control: with foo() as upstream saw it, the hunk is clean there and applied.
    store = _apply(tmp_path, FOO + "\n" + BAR)
    (hunk,) = store.load().hunks
    assert (hunk.status, hunk.open, hunk.applied) == (HunkStatus.CLEAN, False, True)
    text = (Path(store.load().worktree) / "drivers/f.c").read_text()
    assert text.count(FIX) == 1 and text.index(FIX) < text.index("static int bar")

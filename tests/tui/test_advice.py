"""A refusal says what to press in the TUI, never a command-line flag.

Three layers: every :class:`Remedy` has words in the TUI; every hint in the session modules
that names a flag or a ``patchsmith`` command carries remedies (except where the TUI only shows
it on its start-up error screen, labelled as what to do at the shell); and the refusals a
person can meet from the screen, made for real on a session on disk, come out in keys.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from patchsmith_tui.advice import REMEDY_KEYS, SHELL, advice, explain
from patchsmith_tui.app import make_app
from patchsmith_tui.backend import LibraryBackend

from patchsmith.errors import PatchsmithError, Remedy, SessionError
from patchsmith.workspace import git
from patchsmith.workspace.session import SessionStore
from tests.support.paths import REPO
from tests.tui.demo_session import demo_session
from tests.tui.helpers import asynctest, resolve_screen, settle

SNAP = "drivers/md/dm-snap.c#3"

LIBRARY_MODULES = ("session.py", "fileedit.py", "drafts.py", "view.py")

START_UP = frozenset({"find", "open", "of_tree", "read", "from_json"})
"""Functions the TUI reaches only while opening a session: their errors go to the error
screen, where the hint is shown as what to do at the shell (the TUI cannot fix them)."""

CLI_WORDS = re.compile(r"--[a-z]|'patchsmith |patchsmith (resolve|apply|status|abort)")
"""A flag or a patchsmith command: words for the command line, not for the TUI."""


def test_every_remedy_has_words_in_the_tui() -> None:
    assert set(REMEDY_KEYS) == set(Remedy)
    # a command is named only as what to do at the shell, once the TUI is closed
    assert all(SHELL in words for words in REMEDY_KEYS.values() if CLI_WORDS.search(words))


def test_advice_prefers_remedies_then_labels_the_hint() -> None:
    both = SessionError("x", hint="pass --reason TEXT", remedies=(Remedy.DROP,))
    assert advice(both) == REMEDY_KEYS[Remedy.DROP] + "."
    hinted = SessionError("x", hint="set XDG_DATA_HOME to a folder you can write")
    assert advice(hinted) == f"{SHELL}: set XDG_DATA_HOME to a folder you can write"
    assert advice(SessionError("x"), "r reloads") == "r reloads"
    assert explain(SessionError("x")) == "x"


def _hinted_raises(module: Path) -> list[tuple[str, int, str, bool]]:
    """(function, line, hint, has remedies) of each error made with a literal hint."""
    tree = ast.parse(module.read_text())
    found: list[tuple[str, int, str, bool]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call):
                keywords = {k.arg: k.value for k in child.keywords}
                hint = keywords.get("hint")
                if hint is not None:
                    text = " ".join(
                        n.value
                        for n in ast.walk(hint)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    )
                    found.append((name, child.lineno, text, "remedies" in keywords))
            visit(child, name)

    visit(tree, "<module>")
    return found


@pytest.mark.parametrize("name", LIBRARY_MODULES)
def test_hints_naming_cli_words_carry_remedies(name: str) -> None:
    module = REPO / "patchsmith" / "workspace" / name
    offenders = [
        f"{name}:{line} in {function}(): {hint!r}"
        for function, line, hint, remedies in _hinted_raises(module)
        if CLI_WORDS.search(hint) and not remedies and function not in START_UP
    ]
    assert offenders == []


def test_the_ast_check_sees_a_hint_without_remedies(tmp_path: Path) -> None:
    # the check itself must be able to fail
    source = tmp_path / "x.py"
    source.write_text(
        "def resolve():\n    raise SessionError('m', hint='resolve it with --edit')\n"
    )
    ((function, _line, hint, remedies),) = _hinted_raises(source)
    assert (function, remedies) == ("resolve", False) and CLI_WORDS.search(hint)


def _refusal(call: object) -> PatchsmithError:
    assert callable(call)
    with pytest.raises(PatchsmithError) as caught:
        call()
    return caught.value


def test_the_refusals_a_person_meets_come_out_in_keys(tmp_path: Path) -> None:
    store = demo_session(tmp_path)
    backend = LibraryBackend(store)
    backend.load()
    refusals = {
        "markers in an edit": _refusal(
            lambda: backend.edit(SNAP, "<<<<<<< a\n=======\n>>>>>>> b\n")
        ),
        "drop without a reason": _refusal(lambda: backend.drop(SNAP, "")),
        "a hunk that needs nothing": _refusal(lambda: backend.accept("drivers/md/dm-snap.c#1")),
        "a warning that is not there": _refusal(lambda: backend.acknowledge_warning(9)),
        "nothing reused to confirm": _refusal(lambda: backend.confirm([SNAP])),
    }
    worktree = Path(store.load().worktree)
    target = worktree / "drivers/md/dm-snap.c"
    current = store.load().hunk(SNAP).current
    assert current is not None
    target.write_text(target.read_text().replace(current.text, "/* changed by hand */\n"))
    refusals["a file changed by hand"] = _refusal(lambda: backend.take_upstream(SNAP))
    for what, error in refusals.items():
        said = explain(error, "FALLBACK")
        assert error.remedies, what
        assert not CLI_WORDS.search(said), (what, said)
        assert "FALLBACK" not in said and SHELL not in said, (what, said)
    assert "git diff shows the change" in explain(refusals["a file changed by hand"])


@asynctest
async def test_a_refused_resolution_on_screen_says_what_to_press(tmp_path: Path) -> None:
    store = demo_session(tmp_path)
    worktree = Path(store.load().worktree)
    target = worktree / "Makefile"
    current = store.load().hunk("Makefile#1").current
    assert current is not None
    target.write_text(target.read_text().replace(current.text, "# changed by hand\n"))
    git.commit_paths(worktree, ["Makefile"], "by hand")
    app = make_app(store.path)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert resolve_screen(pilot).selected == "Makefile#1"
        await pilot.press("t")
        await settle(pilot)
        said = [str(n.message) for n in app._notifications]
    assert store.load().hunk("Makefile#1").resolution is None
    assert "no longer in the file" in said[-1]
    assert "--edit" not in said[-1] and "git diff shows the change" in said[-1]


def test_start_up_errors_are_labelled_for_the_shell(tmp_path: Path) -> None:
    error = _refusal(lambda: SessionStore.find(tmp_path))
    said = explain(error)
    assert f"{SHELL}: run 'patchsmith apply" in said or f"{SHELL}: run from inside" in said

"""The TUI names hunks as the reports and ``status`` do: a file whose name holds the raw byte
0xff and one whose name holds ``\\xff`` typed never look the same in the list or the header."""

from __future__ import annotations

from pathlib import Path

from patchsmith_tui.app import make_app
from patchsmith_tui.widgets.hunk_list import prompt
from textual.widgets import Static

from patchsmith.cli import main
from patchsmith.workspace import git
from patchsmith.workspace.session import SessionStore, session_path
from tests.report.test_lookalikes import RAW_SHOWN, TYPED_SHOWN, scene  # noqa: F401
from tests.tui.helpers import asynctest, resolve_screen, settle

SIZE = (140, 40)


@asynctest
async def test_the_list_and_the_header_tell_the_look_alikes_apart(
    scene: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    patch, tree = scene
    worktree = tmp_path / "worktree"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        shown = [prompt(entry).plain.split("\n")[0] for entry in screen.visible_entries()]
        for name in (RAW_SHOWN, TYPED_SHOWN):
            assert f'{name[:-1]}#1"' in shown and f'{name[:-1]}.rej"' in shown, shown
        header = str(screen.query_one("#hunk-header", Static).render())
        assert header.startswith(f'{RAW_SHOWN[:-1]}#1"  ')

"""``i`` shows what decided the session, as ``apply`` recorded it: the patch and the config with
their SHA-256 (computed here from the files, not copied from the session), the tree, the base,
the selection rules and every file the selection left out with why."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

from patchsmith_tui.app import make_app
from patchsmith_tui.backend import session_info
from patchsmith_tui.screens.info import InfoScreen
from textual.geometry import Region
from textual.widgets import Static

from patchsmith.cli import main
from patchsmith.workspace import git
from patchsmith.workspace.session import SessionStore, session_path
from tests.support.paths import FIXTURES
from tests.tui.demo_session import demo_session
from tests.tui.helpers import asynctest, resolve_screen, settle


@asynctest
async def test_i_shows_the_recorded_inputs_with_their_digests(tmp_path: Path) -> None:
    tree = tmp_path / "vendor"
    shutil.copytree(FIXTURES / "kernel-tree", tree)
    patch = FIXTURES / "kernel-tree.patch"
    config = FIXTURES / "kernel-tree.config"
    worktree = tmp_path / "worktree"
    args = ["apply", str(patch), "--tree", str(tree), "--config", str(config)]
    main([*args, "--modules-only", "--worktree", str(worktree)])
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    info = session_info(store.load())
    assert info.recorded and info.left_out  # the selection left files out
    app = make_app(store.path)
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InfoScreen)
        # Rich tables render to text only at a width: render the widgets' content
        shown = "\n".join(
            "".join(segment.text for segment in line).rstrip()
            for widget in screen.query(Static)
            for line in widget.render_lines(Region(0, 0, *widget.size))
        )
        await pilot.press("escape")
        await pilot.pause()
        resolve_screen(pilot)
    lines = [" ".join(line.split()) for line in shown.split("\n")]
    # each digest on its own row, right under the file it is of
    patch_row = next(n for n, line in enumerate(lines) if line.startswith("patch "))
    assert lines[patch_row + 1] == f"sha256 {hashlib.sha256(patch.read_bytes()).hexdigest()}"
    assert lines[patch_row].startswith(f"patch {patch}")
    config_row = lines.index(f"config {config}")
    assert lines[config_row + 1] == f"sha256 {hashlib.sha256(config.read_bytes()).hexdigest()}"
    assert str(config) in shown and str(tree.resolve()) in shown
    assert "--modules-only" in shown
    assert "none: proposals are hunk-local merges" in shown  # no --base
    flowing = " ".join(shown.split())  # long reasons wrap across lines
    for path, why in info.left_out:
        assert f"{path}\n" in shown  # a path on a line of its own, never folded
        assert " ".join(why.split()) in flowing


def test_an_older_session_says_what_it_kept(tmp_path: Path) -> None:
    store = demo_session(tmp_path, base=True)
    session = store.load()
    info = session_info(replace(session, inputs=None, selection="--only drivers/md"))
    assert not info.recorded
    assert info.rules == ("--only drivers/md",)
    assert info.patches[0].sha256 == session.patch.sha256
    assert info.base == session.base and info.base is not None
    assert info.left_out == () and info.files_kept == 0

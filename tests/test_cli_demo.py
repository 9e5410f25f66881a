"""`patchsmith demo` (what `make demo` runs) goes through the whole job on fixtures/demo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.workspace import memory


def test_demo_runs_every_step_and_leaves_the_conflict_for_a_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--workdir", str(tmp_path), "--no-tui"]) == 0
    out = capsys.readouterr().out
    for step in ("ls --hunks", "filter", "check", "apply", "status", "report --format html"):
        assert f"$ patchsmith {step}" in out
    assert "drivers/md/dm-snap.c#3" in out
    assert "to resolve what is open (with the demo's own memory):" in out
    assert f"XDG_DATA_HOME={tmp_path / 'data'} patchsmith resolve --session" in out
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert b"diff --git a/drivers/md/dm-snap.c" in (tmp_path / "md.patch").read_bytes()


def test_a_second_demo_still_shows_its_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision made on one demo (in its own memory, or in the user's) is never replayed in
    the next: the demo keeps its own data, and leaves none in the user's data home."""
    user_data = Path(os.environ["XDG_DATA_HOME"])
    first = tmp_path / "first"
    assert main(["demo", "--workdir", str(first), "--no-tui"]) == 0
    assert not (user_data / "patchsmith").exists()
    worktree = str(first / "worktree")
    snap = "drivers/md/dm-snap.c#3"
    # Resolved with the user's memory, then (as the demo says) with the demo's own.
    assert main(["resolve", snap, "--upstream", "--session", worktree]) == 0
    assert len(memory.Memory().entries()) == 1
    monkeypatch.setenv("XDG_DATA_HOME", str(first / "data"))
    assert main(["resolve", snap, "--drop", "--reason", "demo", "--session", worktree]) == 0
    assert len(memory.Memory().entries()) == 1
    monkeypatch.setenv("XDG_DATA_HOME", str(user_data))
    capsys.readouterr()

    second = tmp_path / "second"
    assert main(["demo", "--workdir", str(second), "--no-tui"]) == 0
    out = capsys.readouterr().out
    assert f"{snap}   conflict          OPEN" in out
    assert "reused" not in out
    assert len(memory.Memory().entries()) == 1  # the user's memory: only their own decision

"""`patchsmith demo` (what `make demo` runs) goes through the whole job on fixtures/demo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.workspace import memory
from tests.ship.real_tools import needs_headers


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


def test_demo_ship_settles_finishes_and_says_what_it_cannot_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from patchsmith.cli import demo

    monkeypatch.setattr(demo, "cloud_headers", lambda: None)
    assert main(["demo", "--workdir", str(tmp_path), "--no-tui", "--ship"]) == 0
    out = capsys.readouterr().out
    assert f"$ patchsmith resolve {demo.CONFLICT} --edit" in out
    assert "preflight, build and package skipped: Debian's cloud kernel headers are not" in out
    carried = (tmp_path / "carried.patch").read_text()
    # The vendor's check and upstream's, in one 'if', as fixtures/demo/README.md says.
    assert "+\tif (!s->valid || s->merge_failed || dm_suspended(ti))\n" in carried
    assert not (tmp_path / "dm-modules.tgz").exists()


def test_demo_without_ship_says_how_to_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from patchsmith.cli import demo

    monkeypatch.setattr(demo, "cloud_headers", lambda: None)
    assert main(["demo", "--workdir", str(tmp_path), "--no-tui"]) == 0
    out = capsys.readouterr().out
    assert "patchsmith demo --ship (the build needs Debian's cloud kernel headers: not " in out
    assert not (tmp_path / "carried.patch").exists()


@needs_headers
def test_demo_ship_builds_and_packages_against_the_cloud_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tarfile

    assert main(["demo", "--workdir", str(tmp_path), "--no-tui", "--ship"]) == 0
    out = capsys.readouterr().out
    assert "$ patchsmith build" in out and "$ patchsmith package" in out
    assert "$ patchsmith preflight" in out or "# preflight skipped: it reads a module" in out
    with tarfile.open(tmp_path / "dm-modules.tgz") as bundle:
        shipped = sorted(Path(n).name for n in bundle.getnames() if n.endswith(".ko"))
    assert shipped == ["dm-mod.ko", "dm-snapshot.ko"]

"""`patchsmith demo` (what `make demo` runs) goes through the whole job on fixtures/demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.cli import main


def test_demo_runs_every_step_and_leaves_the_conflict_for_a_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--workdir", str(tmp_path), "--no-tui"]) == 0
    out = capsys.readouterr().out
    for step in ("ls --hunks", "filter", "check", "apply", "status", "report --format html"):
        assert f"$ patchsmith {step}" in out
    assert "drivers/md/dm-snap.c#3" in out
    assert "to resolve what is open: patchsmith resolve --session" in out
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert b"diff --git a/drivers/md/dm-snap.c" in (tmp_path / "md.patch").read_bytes()

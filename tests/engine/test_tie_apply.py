"""The tie fixture through apply and resolve: the proposal a person accepts puts upstream's
line in the function the hunk header names, not in the look-alike GNU patch picks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchsmith.cli import main
from tests.support.paths import CHECK

TIE = CHECK / "trap-tie"
FILE = "drivers/md/dm-pause.c"


def _function_of_added_line(text: str) -> str:
    """The definition line above the line upstream adds."""
    lines = text.splitlines()
    at = lines.index("\twake_up(&pc->wait);")
    return next(line for line in reversed(lines[:at]) if line[:1].isalpha())


@pytest.mark.parametrize("merge", [False, True])
def test_the_accepted_proposal_lands_in_the_named_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], merge: bool
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TIE / "tree", tree)
    worktree = tmp_path / "worktree"
    argv = ["apply", str(TIE / "patch.diff"), "--tree", str(tree), "--worktree", str(worktree)]
    assert main([*argv, "--merge"] if merge else argv) == 1  # the tie is left for a person
    capsys.readouterr()
    assert main(["status", "--session", str(worktree)]) == 1
    assert f"{FILE}#1" in capsys.readouterr().out
    assert main(["resolve", f"{FILE}#1", "--accept", "--session", str(worktree)]) == 0
    result = (worktree / FILE).read_text()
    assert result.count("\twake_up(&pc->wait);") == 1
    assert _function_of_added_line(result) == "static void pause_resume(struct dm_target *ti)"
    # The whole file is the vendor's with the one line after pause_resume()'s unlock (line 45):
    # pause_presuspend(), GNU patch's place nearest the stated line, is as the vendor wrote it.
    vendor = (TIE / "tree" / FILE).read_text().splitlines(keepends=True)
    assert vendor[44] == "\tmutex_unlock(&pc->lock);\n"
    assert result == "".join([*vendor[:45], "\twake_up(&pc->wait);\n", *vendor[45:]])
    # apply and resolve work in the worktree; the user's tree is never written.
    assert (tree / FILE).read_text() == "".join(vendor)

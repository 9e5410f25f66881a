"""A patch's names and lines reach the terminal as text, never as terminal commands.

A hostile patch can name a file ``drivers/evil\\033[8m.c``: printed raw, ``ESC [8m`` hides
everything after it on a terminal (the row's ``missing-file !``, the summary, the open items),
while the exit status still says 1. A carriage return or a newline in a name forges rows. Every
human listing (check's table, apply's and status's rows and open items, filter --explain) shows
such characters as octal escapes, the way git quotes such names; so do resolve's view of a hunk
and every error message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchsmith.cli import main
from patchsmith.cli.table import visible, visible_lines

CONTROLS = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0))}
RAW_C1_BYTES = {chr(0xDC00 + code) for code in range(0x80, 0xA0)}  # non-UTF-8 names' bytes

EVIL = "drivers/evil\033[8m\r.c"
QUOTED = '"drivers/evil\\033[8m\\r.c"'
PATCH = f"""diff --git a/{QUOTED[1:]} b/{QUOTED[1:]}
--- {QUOTED[0]}a/{QUOTED[1:]}
+++ {QUOTED[0]}b/{QUOTED[1:]}
@@ -1 +1 @@
-int gone;
+int evil;
--- a/drivers/ok.c
+++ b/drivers/ok.c
@@ -1 +1 @@
-int a;
+int b;
"""


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    (tree / "drivers").mkdir(parents=True)
    (tree / "drivers" / "ok.c").write_text("int a;\n")
    patch = tmp_path / "evil.diff"
    patch.write_text(PATCH)
    return patch, tree


def _shown_not_obeyed(text: str, quoted: bool = False) -> None:
    """``quoted``: the listing names files and hunks as ``git status`` does (in double quotes,
    ``\\r`` for a carriage return; a hunk id ``"drivers/evil\\033[8m\\r.c#1"`` is quoted whole),
    so a name typed with a backslash never reads the same."""
    assert "\033" not in text and "\r" not in text, repr(text)
    assert (QUOTED[:-1] if quoted else "drivers/evil\\033[8m\\015.c") in text


def test_check_shows_a_hostile_name(
    scene: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    patch, tree = scene
    assert main(["check", str(patch), "--tree", str(tree)]) == 1
    out = capsys.readouterr().out
    _shown_not_obeyed(out, quoted=True)
    assert "missing-file !" in out and "1 clean, 1 missing-file; 1 need review" in out


def test_apply_and_status_show_a_hostile_name(
    scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch, tree = scene
    worktree = tmp_path / "wt"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    _shown_not_obeyed(capsys.readouterr().out, quoted=True)
    assert main(["status", "--session", str(worktree)]) == 1
    out = capsys.readouterr().out
    _shown_not_obeyed(out, quoted=True)
    assert "2 open item(s):" in out


def test_resolve_shows_a_hostile_name(
    scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch, tree = scene
    worktree = tmp_path / "wt"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    capsys.readouterr()
    hunk = f"{EVIL}#1"
    session = ["--session", str(worktree)]
    assert main(["resolve", hunk, *session]) == 1  # the hunk's view: names and lines
    _shown_not_obeyed(capsys.readouterr().out)
    assert main(["resolve", hunk, "--drop", "--reason", "gone \033[8m", *session]) == 0
    out = capsys.readouterr().out
    _shown_not_obeyed(out)
    assert "gone \\033[8m" in out


def test_an_error_quoting_a_hostile_name_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = tmp_path / "into-git.diff"
    patch.write_text(PATCH.replace(QUOTED[1:], QUOTED[1:].replace("drivers/", "drivers/.git/")))
    assert main(["check", str(patch), "--tree", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "in a .git folder" in err and "\033" not in err and "\\033[8m" in err


def test_filter_explain_shows_a_hostile_name(
    scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch, _tree = scene
    target = tmp_path / "kept.diff"
    assert main(["filter", str(patch), "-x", "*evil*", "--explain", "-o", str(target)]) == 0
    _shown_not_obeyed(capsys.readouterr().err)
    assert target.read_text().startswith("--- a/drivers/ok.c")  # the patch itself: byte-exact


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_nothing_a_terminal_obeys_gets_through(text: str) -> None:
    for shown, kept in ((visible(text), set()), (visible_lines(text), {"\t", "\n"})):
        assert not (set(shown) & (CONTROLS | RAW_C1_BYTES)) - kept - {"\t"}
        if not set(text) & (CONTROLS | RAW_C1_BYTES):
            assert shown == text  # ordinary text, Latin-1 bytes and all, is left alone

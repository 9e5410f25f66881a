"""A raw byte and the same characters typed never look the same to a reviewer.

Two files sit side by side: ``drivers/x<byte 0xff>.c`` holding ``char *s = "<byte 0xff>";`` and
``drivers/x\\xff.c`` (a backslash, x, f, f) holding ``char *s = "\\xff";``. The patch changes
both, with fuzz, so every report shows their hunks. Before, Markdown and HTML showed both as
``drivers/x\\xff.c`` with ``"\\xff"`` in the code, and JSON carried the raw byte as ``"\\\\xff"``
(which reads back as four characters, not the byte).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from patchsmith.cli import main

RAW_NAME = b"drivers/x\xff.c"
TYPED_NAME = b"drivers/x\\xff.c"
RAW_SHOWN = '"drivers/x\\377.c"'
TYPED_SHOWN = '"drivers/x\\\\xff.c"'


def _file(value: bytes) -> bytes:
    return b'int a;\nchar *s = "' + value + b'";\nint c;\n'


def _section(name: bytes, old: bytes, new: bytes) -> bytes:
    return (
        b"--- a/" + name + b"\n+++ b/" + name + b"\n@@ -1,3 +1,3 @@\n int a;\n"
        b'-char *s = "' + old + b'";\n+char *s = "' + new + b'";\n int zzz;\n'
    )


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    (tree / "drivers").mkdir(parents=True)
    (tree / os.fsdecode(RAW_NAME)).write_bytes(_file(b"\xff"))
    (tree / os.fsdecode(TYPED_NAME)).write_bytes(_file(b"\\xff"))
    patch = tmp_path / "lookalike.diff"
    patch.write_bytes(
        _section(RAW_NAME, b"\xff", b"\xfe") + _section(TYPED_NAME, b"\\xff", b"\\xfe")
    )
    return patch, tree


def _report(args: list[str], target: Path) -> str:
    assert main([*args, "-o", str(target)]) == 1  # both hunks need review (fuzz)
    return target.read_bytes().decode("utf-8")  # strict: valid UTF-8


def _check_report(scene: tuple[Path, Path], tmp_path: Path, fmt: str) -> str:
    patch, tree = scene
    return _report(["check", str(patch), "--tree", str(tree), "--report", fmt], tmp_path / fmt)


def _sections(text: str, opening: str) -> list[str]:
    """The report's per-file blocks, each from its opening tag to the next."""
    return text.split(opening)[1:]


def _by_name(sections: list[str]) -> tuple[str, str]:
    raw = [s for s in sections if RAW_SHOWN in s.split("\n", 2)[0] + s.split("\n", 2)[1]]
    typed = [s for s in sections if TYPED_SHOWN in s.split("\n", 2)[0] + s.split("\n", 2)[1]]
    assert len(raw) == 1 and len(typed) == 1, sections
    return raw[0], typed[0]


def _assert_told_apart(raw: str, typed: str) -> None:
    # The code: the raw byte in octal on a line the note names; the typed escape as it is.
    assert '-char *s = "\\377";' in raw and '+char *s = "\\376";' in raw
    assert '-char *s = "\\xff";' in typed and '+char *s = "\\xfe";' in typed
    assert "Not UTF-8 on line(s) -2, +2" in raw
    assert "Not UTF-8" not in typed
    # With the names taken out, the blocks still differ: the code tells them apart too.
    assert raw.replace(RAW_SHOWN, "NAME") != typed.replace(TYPED_SHOWN, "NAME")


def test_markdown_tells_the_look_alikes_apart(scene: tuple[Path, Path], tmp_path: Path) -> None:
    text = _check_report(scene, tmp_path, "md")
    raw, typed = _by_name(_sections(text, "<details>"))
    _assert_told_apart(raw, typed)
    # The attention table: a hunk id is quoted whole, as git would quote such a name.
    assert f'`{RAW_SHOWN[:-1]}#1"`' in text and f'`{TYPED_SHOWN[:-1]}#1"`' in text
    assert "drivers/x\\xff.c`" not in text  # the old, ambiguous way, quoted nowhere


def test_html_tells_the_look_alikes_apart(scene: tuple[Path, Path], tmp_path: Path) -> None:
    text = _check_report(scene, tmp_path, "html")
    files = text.split("<h2>Diffstat</h2>")[0].split('<details class="file"')
    sections = [html.unescape(re.sub(r"<[^>]+>", "", s)) for s in files]
    # Each file's block, without tags: the summary line holds the name, the table the code.
    raw = [s for s in sections if RAW_SHOWN in s]
    typed = [s for s in sections if TYPED_SHOWN in s]
    assert len(raw) == 1 and len(typed) == 1
    raw_text, typed_text = raw[0], typed[0]
    # The side-by-side table shows the lines without the diff's +/- columns.
    assert 'char *s = "\\377";' in raw_text and 'char *s = "\\xff";' in typed_text
    assert "Not UTF-8 on line(s) -2, +2" in raw_text and "Not UTF-8" not in typed_text
    assert raw_text.replace(RAW_SHOWN, "NAME") != typed_text.replace(TYPED_SHOWN, "NAME")


def _diff_bytes(document: dict[str, object], name: bytes) -> bytes:
    files = document["files"]
    assert isinstance(files, list)
    (found,) = [f for f in files if f["path"].encode("utf-8", "surrogateescape") == name]
    hunk = found["hunks"][0]
    assert hunk["id"].encode("utf-8", "surrogateescape") == name + b"#1"
    return str(hunk["upstream"]["text"]).encode("utf-8", "surrogateescape")


def test_json_carries_each_byte_back(scene: tuple[Path, Path], tmp_path: Path) -> None:
    document = json.loads(_check_report(scene, tmp_path, "json"))
    raw = _diff_bytes(document, RAW_NAME)
    typed = _diff_bytes(document, TYPED_NAME)
    assert b'-char *s = "\xff";\n+char *s = "\xfe";\n' in raw  # the bytes, read back
    assert b'-char *s = "\\xff";\n+char *s = "\\xfe";\n' in typed


def test_a_session_report_tells_them_apart(scene: tuple[Path, Path], tmp_path: Path) -> None:
    patch, tree = scene
    worktree = tmp_path / "worktree"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    # Resolving a hunk of the non-UTF-8 file committed a message git could not take (exit 3).
    for name, left in ((RAW_NAME, 1), (TYPED_NAME, 0)):
        hunk = os.fsdecode(name) + "#1"
        assert main(["resolve", hunk, "--upstream", "--session", str(worktree)]) == left
    session = ["report", "--session", str(worktree), "--format"]
    assert main([*session, "md", "-o", str(tmp_path / "session.md")]) == 0
    text = (tmp_path / "session.md").read_bytes().decode("utf-8")
    raw, typed = _by_name(_sections(text, "<details>"))
    _assert_told_apart(raw, typed)
    diffstat = text.split("## Diffstat", 1)[1]
    assert f" {RAW_SHOWN} " in diffstat and f" {TYPED_SHOWN} " in diffstat
    assert main([*session, "json", "-o", str(tmp_path / "session.json")]) == 0
    document = json.loads((tmp_path / "session.json").read_bytes().decode("utf-8"))
    assert b'-char *s = "\xff";' in _diff_bytes(document, RAW_NAME)
    assert b'-char *s = "\\xff";' in _diff_bytes(document, TYPED_NAME)
    assert {f["path"].encode("utf-8", "surrogateescape") for f in document["diffstat"]} >= {
        RAW_NAME,
        TYPED_NAME,
    }


def test_check_and_status_tables_tell_them_apart(
    scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch, tree = scene
    assert main(["check", str(patch), "--tree", str(tree)]) == 1
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith('"')]
    assert rows == [RAW_SHOWN, TYPED_SHOWN]  # git status's quoting
    worktree = tmp_path / "worktree"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 1
    capsys.readouterr()
    assert main(["status", "--session", str(worktree), "--all"]) == 1
    out = capsys.readouterr().out
    assert f'  {RAW_SHOWN[:-1]}#1"  ' in out and f'  {TYPED_SHOWN[:-1]}#1"  ' in out

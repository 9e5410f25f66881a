"""A file the class rule leaves out without knowing its class is an item a person settles.

``--modules-only`` keeps ``module`` files; a ``.c`` file no Kbuild line names is ``unknown``: it
may be module code the classifier could not follow (a list built by a make function it does not
evaluate, a Makefile it cannot read). Dropping it silently ships the module without the change,
so it is a selection warning: ``check`` exits 1, a session lists it, the gate stays closed until
``resolve --ack-warning N``. The tree is kernel-shaped: one module, ``widget``, and a file left
behind beside it that nothing builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchsmith.cli import main

FILES = {
    "Makefile": "core-y := drivers/\n",
    "drivers/Makefile": "obj-y += widget/\n",
    "drivers/widget/Makefile": (
        "obj-$(CONFIG_WIDGET) += widget.o\nwidget-y := widget_core.o\n"
        "widget-$(CONFIG_WIDGET_EXTRA) += $(call extra_objs)\n"
    ),
    "drivers/widget/widget_core.c": "int widget_count;\n",
    "drivers/widget/widget_extra.c": "int widget_extra;\n",
    "drivers/widget/.gitignore": "generated.h\n",
}
CONFIG = "CONFIG_X86=y\nCONFIG_WIDGET=m\nCONFIG_WIDGET_EXTRA=y\n"
PATCH = """\
--- a/drivers/widget/widget_core.c
+++ b/drivers/widget/widget_core.c
@@ -1 +1 @@
-int widget_count;
+long widget_count;
--- a/drivers/widget/widget_extra.c
+++ b/drivers/widget/widget_extra.c
@@ -1 +1 @@
-int widget_extra;
+long widget_extra;
--- a/drivers/widget/.gitignore
+++ b/drivers/widget/.gitignore
@@ -1 +1,2 @@
 generated.h
+generated.c
"""


@pytest.fixture
def scenario(tmp_path: Path) -> list[str]:
    for path, text in FILES.items():
        (tmp_path / "vendor" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "vendor" / path).write_text(text)
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "p.diff").write_text(PATCH)
    return [
        str(tmp_path / "p.diff"),
        "--tree",
        str(tmp_path / "vendor"),
        "--config",
        str(tmp_path / "config"),
    ]


def test_check_exits_1_for_an_unknown_file_left_out(
    scenario: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", *scenario, "--modules-only"]

    assert main(args) == 1  # every kept hunk is clean: only the warning keeps it from 0

    out = capsys.readouterr().out
    assert "1 clean; 0 need review; 1 selection warning; 2 file(s) left out" in out
    assert (
        "[1] unknown-left-out: drivers/widget/widget_extra.c is left out by --modules-only, "
        "but its class is unknown (no Kbuild line names widget_extra.o "
        "(drivers/widget/Makefile))"
    ) in out
    assert ".gitignore is left out" not in out  # nothing Kbuild compiles: no item
    assert main([*args, "--json"]) == 1
    (warning,) = json.loads(capsys.readouterr().out)["warnings"]
    assert (warning["kind"], warning["path"]) == (
        "unknown-left-out",
        "drivers/widget/widget_extra.c",
    )
    assert "select with --class module,unknown" in warning["message"]

    # Left out by a path rule, the file is the user's own choice: nothing to settle.
    assert main([*args, "-x", "*/widget_extra.c"]) == 0
    capsys.readouterr()
    # Kept by the class rule that takes unknown files: nothing left out to settle either.
    assert main(["check", *scenario, "--class", "module,unknown"]) == 0


def test_filter_explain_lists_it(scenario: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", *scenario, "--modules-only", "--explain"]) == 0
    err = capsys.readouterr().err
    assert "selection warnings, by file (1):\ndrivers/widget/widget_extra.c\n" in err
    assert "1 selection warning: read each before shipping" in err


def test_a_session_keeps_the_gate_closed_until_it_is_acknowledged(
    scenario: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree = tmp_path / "wt"

    assert main(["apply", *scenario, "--modules-only", "--worktree", str(worktree)]) == 1

    assert "selection warnings: 1, 1 open" in capsys.readouterr().out
    session = ["--session", str(worktree)]
    assert main(["status", *session]) == 1
    status = capsys.readouterr().out
    assert "warning: drivers/widget/widget_extra.c: selection warning [1]:" in status
    assert main(["build", *session, "--kernel-dir", str(tmp_path), "--json"]) == 1
    gate = json.loads(capsys.readouterr().out)
    assert gate["gate"] == "closed"
    assert main(["report", *session, "--format", "md"]) == 1
    assert "**Safe to build: no**" in capsys.readouterr().out

    assert main(["resolve", "--ack-warning", "1", *session]) == 0
    assert "0 item(s) open" in capsys.readouterr().out
    assert main(["status", *session]) == 0

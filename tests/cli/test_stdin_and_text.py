"""``filter``, ``ls`` and ``check`` read standard input without a PATCH, as filterdiff does, and
``filter`` keeps or drops the text between diffs by filterdiff's rule (-x keeps it, --clean not).

Standard input is a real pipe (a subprocess), and "a terminal" a real pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from patchsmith.cli import main
from tests.support.paths import CHECK, PATCHES, REPO

GIT_BASIC = PATCHES / "git_basic.diff"


def patchsmith(
    *args: str | Path, stdin: bytes | int | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "patchsmith", *map(str, args)],
        input=stdin if isinstance(stdin, bytes) else None,
        stdin=stdin if isinstance(stdin, int) else None,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )


def test_filter_without_patch_reads_stdin_like_filterdiff() -> None:
    piped = patchsmith("filter", "--only", "drivers/md", stdin=GIT_BASIC.read_bytes())
    named = patchsmith("filter", "--only", "drivers/md", GIT_BASIC)
    assert (piped.returncode, named.returncode) == (0, 0), piped.stderr
    assert piped.stdout == named.stdout
    assert piped.stdout.startswith(b"diff --git a/drivers/md/dm-snap.c")
    assert b"sched" not in piped.stdout


def test_filter_reads_compressed_stdin() -> None:
    import bz2

    piped = patchsmith("filter", "--only", "kernel", stdin=bz2.compress(GIT_BASIC.read_bytes()))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"diff --git a/kernel/sched/core.c")


def test_dash_still_means_stdin() -> None:
    piped = patchsmith("ls", "-", stdin=GIT_BASIC.read_bytes())
    assert piped.returncode == 0 and b"dm-snap.c" in piped.stdout


def test_ls_without_patch_reads_stdin() -> None:
    piped = patchsmith("ls", stdin=GIT_BASIC.read_bytes())
    named = patchsmith("ls", GIT_BASIC)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == named.stdout and b"2 files" in piped.stdout


def test_check_without_patch_reads_stdin() -> None:
    scenario = CHECK / "clean"
    patch = scenario / "patch.diff"
    piped = patchsmith("check", "--tree", scenario / "tree", stdin=patch.read_bytes())
    named = patchsmith("check", patch, "--tree", scenario / "tree")
    assert piped.returncode == named.returncode == 0, piped.stderr
    assert piped.stdout == named.stdout and b"clean" in piped.stdout


@pytest.mark.parametrize("command", ["filter", "ls"])
def test_no_patch_and_a_terminal_on_stdin_is_bad_input(command: str) -> None:
    """filterdiff would wait for a patch to be typed; a forgotten file name is said instead."""
    controller, terminal = pty.openpty()
    try:
        result = patchsmith(command, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 2
    assert b"no patch given, and standard input is a terminal" in result.stderr
    assert b"hint:" in result.stderr and b"Traceback" not in result.stderr


def test_empty_stdin_is_bad_input() -> None:
    result = patchsmith("filter", stdin=b"")
    assert result.returncode == 2 and b"the input is empty" in result.stderr


MAIL = b"""From: Jane Developer <jane@example.org>
Subject: [PATCH] dm: two fixes

Keep this text when excluding, as filterdiff does.
---
--- a/drivers/md/dm.c
+++ b/drivers/md/dm.c
@@ -1 +1 @@
-a
+b
text between the diffs
--- a/drivers/md/dm-io.c
+++ b/drivers/md/dm-io.c
@@ -1 +1 @@ static int dm_io_init(void)
-a
+b
-- \n2.39.5
"""


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    path = tmp_path / "mail.patch"
    path.write_bytes(MAIL)
    return path


def filtered(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> bytes:
    assert main(["filter", *args]) == 0
    return capsysbinary.readouterr().out


def test_exclude_keeps_the_text_between_diffs(
    mail: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = filtered(capsysbinary, "-x", "*/dm.c", str(mail))
    assert out.startswith(b"From: Jane Developer")
    assert b"text between the diffs\n--- a/drivers/md/dm-io.c" in out
    assert b"+++ b/drivers/md/dm.c" not in out and out.endswith(b"2.39.5\n")


def test_include_alone_writes_diffs_only(
    mail: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = filtered(capsysbinary, "-i", "*/dm-io.c", str(mail))
    assert out.startswith(b"--- a/drivers/md/dm-io.c") and b"From:" not in out


def test_clean_drops_text_and_hunk_comments(
    mail: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = filtered(capsysbinary, "--clean", "-x", "*/dm.c", str(mail))
    assert out == b"--- a/drivers/md/dm-io.c\n+++ b/drivers/md/dm-io.c\n@@ -1 +1 @@\n-a\n+b\n"


def test_verbose_and_clean_contradict(mail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", "-v", "--clean", str(mail)]) == 2
    assert "contradict" in capsys.readouterr().err

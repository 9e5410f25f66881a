"""``patchsmith check`` through ``main([...])``: exit codes, the table, JSON, --verbose."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from patchsmith.cli import main
from tests.support.paths import CHECK, DEMO, FIXTURES


def args(case: str, *extra: str) -> list[str]:
    folder = CHECK / case
    return ["check", str(folder / "patch.diff"), "--tree", str(folder / "tree"), *extra]


def test_clean_exits_zero_and_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("clean")) == 0
    out = capsys.readouterr().out
    assert "drivers/md/dm-stripe.c" in out
    assert "clean" in out
    assert "1 clean; 0 need review" in out


def test_conflict_exits_one_and_verbose_shows_the_alignment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(args("conflict", "--verbose")) == 1
    out = capsys.readouterr().out
    assert "conflict" in out
    assert "candidate at line" in out
    assert "vendor_register(sc);" in out  # a vendor line, from the alignment


def test_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("trap-wrong-function", "--json")) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "patchsmith.check/1"
    (file,) = document["files"]
    assert file["path"] == "drivers/net/ethernet/microsoft/mana/mana_en.c"
    (hunk,) = file["hunks"]
    assert hunk["index"] == 1
    assert hunk["status"] == "fuzz"
    assert hunk["needs_review"] is True
    assert hunk["fuzz"] == 2
    assert "wrong function" in hunk["reason"]
    assert set(hunk) >= {"expected_line", "found_line", "offset", "candidates"}


def test_fuzz_zero_turns_a_fuzz_match_into_a_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("fuzz", "-F", "0", "--json")) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["files"][0]["hunks"][0]["status"] == "conflict"


def test_selection_leaves_files_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("new-file", "-x", "*ids*", "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in document["files"]] == ["drivers/md/dm-vdo-compat.h"]
    assert document["left_out"] == 1


def test_issues_lists_only_what_needs_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("clean", "--issues")) == 0
    out = capsys.readouterr().out
    assert "dm-stripe.c" not in out


def test_missing_tree_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = CHECK / "clean"
    code = main(["check", str(folder / "patch.diff"), "--tree", str(tmp_path / "nope")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_negative_fuzz_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("clean", "-F", "-1")) == 2
    assert "--fuzz" in capsys.readouterr().err


def test_report_formats_match_the_report_commands() -> None:
    # check declares --report itself so that its start-up skips the report modules.
    from patchsmith.cli.check import REPORT_FORMATS
    from patchsmith.report.render import FORMATS

    assert REPORT_FORMATS == FORMATS


def test_check_starts_without_the_report_or_rich_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from patchsmith.cli import build_parser\n"
        "build_parser('check')\n"
        "import patchsmith.engine.predict, patchsmith.engine.lookup\n"
        # typing 3-4 ms, hashlib (OpenSSL) 4 ms, pickle 2 ms: the workers import it when used.
        "heavy = ('patchsmith.report', 'patchsmith.workspace', 'rich', 'difflib', 'typing',\n"
        "         'hashlib', 'pickle', 'patchsmith.engine.workers')\n"
        "print([m for m in sys.modules if m.startswith(heavy)])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_all_clean_files_get_one_row_unless_all_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = DEMO
    args = ["check", str(demo / "patch-6.1.999.diff"), "--tree", str(demo / "vendor")]
    assert main(args) == 1
    rows = capsys.readouterr().out.splitlines()
    assert any(r.startswith("kernel/sched/core.c") and "clean" in r for r in rows)
    assert sum("#1" in r for r in rows) == 3  # Makefile, dm-snap.c, dm-table.c
    assert main([*args, "--all"]) == 1
    assert sum("#1" in r for r in capsys.readouterr().out.splitlines()) == 5


def test_base_clears_a_flag_the_vendor_did_not_cause(capsys: pytest.CaptureFixture[str]) -> None:
    case = "base-unchanged-neighbourhood"
    assert main(args(case, "--issues")) == 1
    assert "already exist" in capsys.readouterr().out
    base = str(CHECK / case / "base")
    assert main(args(case, "--json", "--base", base)) == 0
    (hunk,) = json.loads(capsys.readouterr().out)["files"][0]["hunks"]
    assert hunk["status"] == "offset" and not hunk["needs_review"]
    assert "equals vanilla's" in hunk["reason"]


def test_base_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tarball = tmp_path / "linux.tar.xz"
    tarball.write_bytes(b"")
    assert main(args("clean", "--base", str(tarball))) == 2
    error = capsys.readouterr().err
    assert "not a directory" in error and "apply --base" in error


def test_check_report_carries_the_kbuild_selection_and_its_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fixtures = FIXTURES
    args = [
        "check",
        str(fixtures / "kernel-tree.patch"),
        "--tree",
        str(fixtures / "kernel-tree"),
        "--config",
        str(fixtures / "kernel-tree.config"),
        "--modules-only",
        "--report",
        "md",
    ]
    main(args)
    out = capsys.readouterr().out
    assert "Rules: `--modules-only`." in out
    assert "| `Kbuild class: builtin` | 1 | 1 |" in out
    assert (
        "left-out include/linux/demo\\_core.h hunk \\#1 changes DEMO\\_CORE\\_FLAG\\_SYNC (macro)"
        in out
    )


def test_report_attention_only_fits_a_merge_request_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = DEMO
    base = ["check", str(demo / "patch-6.1.999.diff"), "--tree", str(demo / "vendor")]
    full, short = tmp_path / "full.md", tmp_path / "short.md"
    assert main([*base, "--report", "md", "-o", str(full)]) == 1
    assert main([*base, "--report", "md", "--attention-only", "-o", str(short)]) == 1
    capsys.readouterr()
    text = short.read_text()
    assert "went in clean" in text and "--attention-only" in text
    assert len(text) < len(full.read_text())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_progress_and_a_pipe_does_not(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(args("clean", "--json")) == 0
    shown = terminal.getvalue()
    assert "\rcheck: 1/1 files" in shown
    assert shown.endswith("\r\x1b[K")  # the line is cleared before the results
    json.loads(capsys.readouterr().out)  # stdout is the document alone
    monkeypatch.undo()
    assert main(args("clean", "--json")) == 0
    assert "check:" not in capsys.readouterr().err


@pytest.mark.parametrize("form", [[], ["--json"], ["--verbose"]])
def test_output_file_without_report_holds_what_stdout_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: list[str]
) -> None:
    """``-o FILE`` means "write it there" with or without --report; it was silently ignored
    without one (the table went to stdout and FILE was never made)."""
    assert main(args("conflict", *form)) == 1
    expected = capsys.readouterr().out
    target = tmp_path / "check.out"
    assert main(args("conflict", *form, "-o", str(target))) == 1
    out = capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == expected
    assert out.endswith(f"the {'JSON' if form == ['--json'] else 'table'}: {target}\n")
    assert "1 conflict" in out and "drivers/md/dm-stripe.c" not in out  # the summary only
    assert main(args("conflict", *form, "-o", "-")) == 1  # '-' is stdout, as everywhere
    assert capsys.readouterr().out == expected


def test_output_that_cannot_be_written_is_refused_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args("clean", "-o", str(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "hint:" in err
    missing = tmp_path / "no" / "such" / "check.json"
    assert main(args("clean", "--json", "-o", str(missing))) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.parent.exists()

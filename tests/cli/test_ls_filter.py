"""The ls and filter commands through main([...]): output, JSON, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchsmith.cli import main
from tests.support.paths import PATCHES


def test_ls_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(PATCHES / "git_basic.diff")]) == 0
    out = capsys.readouterr().out.splitlines()
    # Tree paths, as check, apply and status show them (not the patch's b/ names).
    assert out[0].split() == ["!", "2", "+3", "-1", "drivers/md/dm-snap.c"]
    assert out[-1].split() == ["=", "3", "+4", "-2", "2", "files"]


def test_ls_hunks_line_numbers_and_names_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "-n", "--hunks", "--strip", "0", str(PATCHES / "git_basic.diff")]) == 0
    out = capsys.readouterr().out
    assert " 1  ! " in out and " b/drivers/md/dm-snap.c" in out
    assert "#2" in out and "@@ -40,6 +41,7 @@ static void snapshot_dtr" in out


def test_ls_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--json", str(PATCHES / "hunkless_entries.diff")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "patchsmith.ls/2"
    assert [f["kind"] for f in document["files"]] == ["mode", "new", "binary", "renamed", "binary"]
    assert document["totals"] == {"files": 5, "hunks": 0, "added": 0, "removed": 0}


def test_filter_only_to_file(tmp_path: Path) -> None:
    out = tmp_path / "md.patch"
    assert (
        main(["filter", str(PATCHES / "git_basic.diff"), "--only", "drivers/md", "-o", str(out)])
        == 0
    )
    assert out.read_bytes().startswith(b"diff --git a/drivers/md/dm-snap.c")
    assert b"sched" not in out.read_bytes()


def test_filter_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["filter", "--explain", "--only", "drivers/md", str(PATCHES / "git_basic.diff")]) == 0
    )
    err = capsys.readouterr().err
    assert "kept 1 of 2 files" in err
    assert "left out kernel/sched/core.c: --only drivers/md" in err


def test_malformed_patch_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(PATCHES / "malformed" / "truncated.diff")]) == 2
    err = capsys.readouterr().err
    assert "truncated.diff:8: input ends inside the hunk" in err
    assert "hint:" in err and "Traceback" not in err


def test_bad_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", "--hunks", "5-2", str(PATCHES / "git_basic.diff")]) == 2
    assert "bad --hunks range" in capsys.readouterr().err


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--frobnicate", str(PATCHES / "git_basic.diff")]) == 2
    assert "hint:" in capsys.readouterr().err


def test_internal_error_is_exit_3_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import patchsmith.cli.ls as ls

    def broken(*_args: object, **_options: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ls, "read_index", broken)
    assert main(["ls", str(PATCHES / "git_basic.diff")]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "--debug" in err
    assert main(["--debug", "ls", str(PATCHES / "git_basic.diff")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


KERNEL = PATCHES.parent / "kernel-tree"
KBUILD = ["--tree", str(KERNEL), "--config", str(PATCHES.parent / "kernel-tree.config")]


def test_ls_shows_the_kbuild_class_and_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(PATCHES.parent / "kernel-tree.patch"), *KBUILD]) == 0
    rows = {
        line.split()[-1] if "[" not in line else line.split()[-2]: line
        for line in capsys.readouterr().out.splitlines()
    }
    assert "module" in rows["drivers/md/dm-table.c"]
    assert "[dm-mod]" in rows["drivers/md/dm-table.c"]
    assert "builtin" in rows["kernel/fork.c"]


def test_ls_json_carries_class_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--json", str(PATCHES.parent / "kernel-tree.patch"), *KBUILD]) == 0
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    widget = files["drivers/widget/widget.c"]
    assert widget["class"] == "not-built"
    assert "CONFIG_WIDGET=n" in widget["class_reason"]
    assert files["drivers/md/dm-table.c"]["module"] == "dm-mod"


def test_filter_modules_only_keeps_module_files_and_warns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    patch = str(PATCHES.parent / "kernel-tree.patch")
    assert main(["filter", patch, "--modules-only", "--explain", *KBUILD]) == 0
    captured = capsys.readouterr()
    kept = [line for line in captured.out.splitlines() if line.startswith("diff --git")]
    assert kept == [
        "diff --git a/drivers/md/dm-core.h b/drivers/md/dm-core.h",  # only modules include it
        "diff --git a/drivers/md/dm-table.c b/drivers/md/dm-table.c",
        "diff --git a/fs/extdemo/super.c b/fs/extdemo/super.c",
    ]
    assert (
        "left out kernel/fork.c: class builtin: kernel/Makefile:7: obj-y = fork.o" in captured.err
    )
    assert (
        "[1] uses-left-out: left-out include/linux/demo_core.h hunk #1 changes "
        "DEMO_CORE_FLAG_SYNC (macro), which kept code uses: drivers/md/dm-table.c hunk #1"
    ) in captured.err
    assert "kept drivers/md/dm-table.c #1: md->flags = mode | DEMO_CORE_FLAG_SYNC;" in captured.err


def test_filter_class_list_combines_with_only(capsys: pytest.CaptureFixture[str]) -> None:
    patch = str(PATCHES.parent / "kernel-tree.patch")
    assert main(["filter", patch, "--class", "module,header", "--only", "drivers", *KBUILD]) == 0
    out = capsys.readouterr().out.splitlines()
    kept = [line for line in out if line.startswith("diff --git")]
    assert kept == [
        "diff --git a/drivers/md/dm-core.h b/drivers/md/dm-core.h",
        "diff --git a/drivers/md/dm-table.c b/drivers/md/dm-table.c",
    ]


def test_modules_only_without_config_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", str(PATCHES / "git_basic.diff"), "--modules-only"]) == 2
    assert "need --tree DIR and --config FILE" in capsys.readouterr().err


def test_unknown_class_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", str(PATCHES / "git_basic.diff"), "--class", "modul", *KBUILD]) == 2
    err = capsys.readouterr().err
    assert "unknown class 'modul'" in err and "module, builtin" in err

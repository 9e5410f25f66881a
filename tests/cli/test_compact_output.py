"""status, apply and resolve give a file whose hunks all applied clean one row ("clean ×2"), as
check does, and every hunk its row with --all; check writing a report to a file prints the
summary only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from patchsmith.cli import main


def lines(count: int, name: str) -> list[str]:
    return [f"int {name}_{n}(void) {{ return {n}; }}\n" for n in range(1, count + 1)]


@pytest.fixture
def scenario(tmp_path: Path) -> tuple[Path, Path]:
    """A tree and a patch: two clean hunks in clean.c, one in shifted.c that lands 3 lines
    lower (the vendor added lines above), one in changed.c whose line the vendor changed."""
    old = tmp_path / "old"
    new = tmp_path / "new"
    tree = tmp_path / "vendor"
    for folder in (old, new, tree):
        (folder / "drivers").mkdir(parents=True)
    clean, shifted, changed = lines(40, "clean"), lines(20, "shifted"), lines(20, "changed")
    for folder in (old, new, tree):
        (folder / "drivers" / "clean.c").write_text("".join(clean))
        (folder / "drivers" / "shifted.c").write_text("".join(shifted))
        (folder / "drivers" / "changed.c").write_text("".join(changed))
    upstream_clean = list(clean)
    upstream_clean[4] = "int clean_5(void) { return 50; }\n"
    upstream_clean[30] = "int clean_31(void) { return 310; }\n"
    (new / "drivers" / "clean.c").write_text("".join(upstream_clean))
    upstream_shifted = list(shifted)
    upstream_shifted[10] = "int shifted_11(void) { return 110; }\n"
    (new / "drivers" / "shifted.c").write_text("".join(upstream_shifted))
    upstream_changed = list(changed)
    upstream_changed[10] = "int changed_11(void) { return 110; }\n"
    (new / "drivers" / "changed.c").write_text("".join(upstream_changed))
    vendor_shifted = ["/* vendor */\n"] * 3 + shifted
    (tree / "drivers" / "shifted.c").write_text("".join(vendor_shifted))
    vendor_changed = list(changed)
    vendor_changed[10] = "int changed_11(void) { return vendor_value(); }\n"
    (tree / "drivers" / "changed.c").write_text("".join(vendor_changed))
    diff = subprocess.run(
        ["git", "diff", "--no-index", "--no-prefix", "old", "new"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    ).stdout
    # old/drivers/x.c and new/drivers/x.c: a diff -urN-style pair of trees, stripped by 1.
    patch = tmp_path / "update.patch"
    patch.write_bytes(diff)
    return tree, patch


def rows(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith("  drivers/")]


def test_status_apply_and_resolve_fold_clean_files(
    scenario: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, patch = scenario
    worktree = tmp_path / "wt"
    apply = ["apply", str(patch), "-p1", "--tree", str(tree), "--worktree", str(worktree)]
    assert main(apply) == 1
    applied = capsys.readouterr().out
    folded = rows(applied)
    assert [row.split()[:3] for row in folded] == [
        ["drivers/changed.c#1", "conflict", "OPEN"],
        ["drivers/clean.c", "clean", "×2"],
        ["drivers/shifted.c#1", "offset", "applied"],
    ]
    assert "(2 hunks applied clean, one row per file; --all lists each)" in applied

    assert main(["status", "--session", str(worktree)]) == 1
    assert rows(capsys.readouterr().out) == folded
    assert main(["status", "--session", str(worktree), "--all"]) == 1
    every = capsys.readouterr().out
    assert [row.split()[0] for row in rows(every)] == [
        "drivers/changed.c#1",
        "drivers/clean.c#1",
        "drivers/clean.c#2",
        "drivers/shifted.c#1",
    ]
    assert "--all lists each" not in every

    # Without a terminal, resolve prints the status: folded too, unless --all.
    assert main(["resolve", "--session", str(worktree)]) == 1
    assert rows(capsys.readouterr().out) == folded
    assert main(["resolve", "--session", str(worktree), "--all"]) == 1
    assert len(rows(capsys.readouterr().out)) == 4


def test_check_report_to_a_file_prints_the_summary_only(
    scenario: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, patch = scenario
    report = tmp_path / "report.html"
    args = ["check", str(patch), "-p1", "--tree", str(tree)]
    assert main([*args, "--report", "html", "-o", str(report)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "2 clean, 1 offset, 1 conflict; 1 need review",
        f"the html report: {report}",
    ]
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert main(args) == 1
    assert "#1" in capsys.readouterr().out  # the table is still what check prints by itself

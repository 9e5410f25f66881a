"""-p means one thing per kind of command, and a wrong -p or --tree is said, not listed.

check and apply look files up in a tree: their -p is GNU patch's. filter and ls only select:
theirs is filterdiff's (strip for matching). Both come from one definition each in
patchsmith/cli/common.py; the first tests hold every command's parser to that.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from patchsmith.cli import build_parser, main
from patchsmith.cli.common import STRIP_LOOKUP_HELP, STRIP_MATCH_HELP
from patchsmith.cli.manpage import subcommands
from patchsmith.engine.lookup import diagnose
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.source import read_source
from tests.support.paths import FIXTURES

DEMO = FIXTURES / "demo"
PATCH = DEMO / "patch-6.1.999.diff"

MEANING = {"check": STRIP_LOOKUP_HELP, "apply": STRIP_LOOKUP_HELP}
"""Commands whose -p is patch's; every other command with a -p has filterdiff's."""


def strip_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        option: action
        for action in parser._actions
        for option in action.option_strings
        if option in ("-p", "--strip", "--strip-match")
    }


@pytest.mark.parametrize("name", list(subcommands(build_parser())))
def test_every_p_is_one_of_the_two_shared_definitions(name: str) -> None:
    parser = subcommands(build_parser())[name]
    options = strip_options(parser)
    if "-p" not in options:
        assert name not in MEANING, f"{name} lost its -p"
        return
    expected = MEANING.get(name, STRIP_MATCH_HELP)
    assert options["-p"].help == expected, name
    if expected == STRIP_LOOKUP_HELP:
        assert options["-p"].option_strings == ["-p", "--strip"]
        # filterdiff's meaning stays reachable by its long name only.
        assert options["--strip-match"].help == STRIP_MATCH_HELP
    else:
        assert options["-p"].option_strings == ["-p", "--strip-match"]
    assert ("as patch -pN" if expected == STRIP_LOOKUP_HELP else "as filterdiff -pN") in (
        " ".join(parser.format_help().split())
    )


def test_the_two_meanings_name_their_tool() -> None:
    assert STRIP_LOOKUP_HELP.startswith("as patch -pN: strip N")
    assert STRIP_MATCH_HELP.startswith("as filterdiff -pN: strip N")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    shutil.copytree(DEMO, tmp_path / "demo")
    return tmp_path / "demo"


def test_apply_p0_on_a_git_patch_says_what_would_work(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It crashed with exit 3 (git add -f failed: pathspec 'a/Makefile')."""
    code = main(
        ["apply", str(PATCH), "--tree", str(demo / "vendor"), "-p0", "--worktree", str(demo / "wt")]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert (
        "5 of 5 files the patch changes are not in " in err
        and "at -p0: wrong -p, or --tree is not the tree's root? with -p1 5 files would be found"
        in err
    )
    assert "Traceback" not in err and not (demo / "wt").exists()


def test_check_in_a_subdirectory_names_the_root_and_no_bogus_conflict(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--tree vendor/drivers found drivers/Makefile for the patch's top-level Makefile and
    called it a conflict; now the lookup is refused with the root that finds every file."""
    code = main(["check", str(PATCH), "--tree", str(demo / "vendor" / "drivers")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "4 of 5 files the patch changes are not in" in captured.err
    assert f"with --tree {demo / 'vendor'} 5 files would be found" in captured.err


def test_with_only_the_root_is_preferred_to_another_p(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -p2 would find drivers/md's files in vendor/drivers too, but --only drivers/md would then
    # match nothing: the root is the fix that keeps every path meaning the same.
    code = main(
        ["check", str(PATCH), "--tree", str(demo / "vendor" / "drivers"), "--only", "drivers/md"]
    )
    assert code == 2
    assert f"with --tree {demo / 'vendor'} 2 files would be found" in capsys.readouterr().err


def test_two_trees_side_by_side_are_both_named(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(PATCH), "--tree", str(demo)]) == 2
    err = capsys.readouterr().err
    assert f"--tree {demo / 'vanilla'} (or --tree {demo / 'vendor'})" in err
    assert "run it again with the --tree you mean" in err


def test_files_the_tree_really_lacks_are_listed_as_missing(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(demo / "vendor" / "drivers" / "md")
    (demo / "vendor" / "kernel" / "sched" / "core.c").unlink()
    code = main(["check", str(PATCH), "--tree", str(demo / "vendor")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("missing-file") >= 3 and "wrong -p" not in out


def test_new_files_are_not_counted_as_missing(tmp_path: Path) -> None:
    patch = tmp_path / "new.patch"
    patch.write_text(
        "diff --git a/drivers/md/dm-new.c b/drivers/md/dm-new.c\nnew file mode 100644\n"
        "--- /dev/null\n+++ b/drivers/md/dm-new.c\n@@ -0,0 +1 @@\n+int x;\n"
    )
    index = index_sources(read_source(str(patch)))
    assert diagnose(list(index.files), tmp_path, 1) is None


def test_a_right_lookup_costs_no_search(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import patchsmith.engine.lookup as lookup

    def no_search(_tree: Path) -> list[Path]:
        raise AssertionError("searched other roots although the files were found")

    monkeypatch.setattr(lookup, "_roots", no_search)
    index = index_sources(read_source(str(PATCH)))
    assert diagnose(list(index.files), demo / "vendor", 1) is None


def test_a_pristine_tree_beside_does_not_win_over_the_given_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """old/drivers/x.c at -p0 is found in the parent (in old/ itself), and at -p1 in --tree:
    the tree the user named is the one to keep."""
    import subprocess

    for folder in ("old", "new", "vendor"):
        (tmp_path / folder / "drivers").mkdir(parents=True)
        (tmp_path / folder / "drivers" / "x.c").write_text("int x;\nint y;\n")
    (tmp_path / "new" / "drivers" / "x.c").write_text("int x;\nint z;\n")
    diff = subprocess.run(
        ["git", "diff", "--no-index", "--no-prefix", "old", "new"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    ).stdout
    patch = tmp_path / "x.patch"
    patch.write_bytes(diff)
    assert main(["check", str(patch), "--tree", str(tmp_path / "vendor")]) == 2
    err = capsys.readouterr().err
    assert "at -p0: wrong -p" in err and "with -p1 1 file would be found" in err
    assert main(["check", str(patch), "-p1", "--tree", str(tmp_path / "vendor")]) == 0

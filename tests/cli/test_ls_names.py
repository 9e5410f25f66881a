"""``ls`` names files as the other commands do (tree paths), selects as ``filter`` does, and
``filter --explain`` says what its names are without claiming an --only nobody gave."""

from __future__ import annotations

import json

import pytest

from patchsmith.cli import main
from tests.support.paths import CHECK, PATCHES


def ls_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["ls", "--json", *args]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def paths(document: dict[str, object]) -> list[str]:
    files = document["files"]
    assert isinstance(files, list)
    return [f["path"] for f in files]


@pytest.mark.parametrize(
    ("name", "strip"),
    [("git_basic.diff", 1), ("diff_urN_timestamps.diff", 1), ("git_no_prefix.diff", 0)],
)
def test_ls_shows_tree_paths_whatever_the_prefix(
    name: str, strip: int, capsys: pytest.CaptureFixture[str]
) -> None:
    document = ls_json(capsys, str(PATCHES / name))
    assert document["strip"] == strip
    assert all(p.startswith(("drivers/", "kernel/", "mm/")) for p in paths(document))
    files = document["files"]
    assert isinstance(files, list)
    assert [f["patch_path"].split("/", strip)[-1] for f in files] == paths(document)


def test_ls_names_are_the_names_check_uses(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = CHECK / "clean"
    listed = paths(ls_json(capsys, str(scenario / "patch.diff")))
    assert (
        main(["check", "--json", str(scenario / "patch.diff"), "--tree", str(scenario / "tree")])
        == 0
    )
    checked = [f["path"] for f in json.loads(capsys.readouterr().out)["files"]]
    assert listed == checked == ["drivers/md/dm-stripe.c"]


def test_ls_only_lists_the_directory_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    patch = str(PATCHES / "diff_urN_timestamps.diff")
    assert main(["ls", "--only", "drivers/md", patch]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-1] == "drivers/md/dm.c"
    assert out[-1].split() == [
        "=",
        "1",
        "+1",
        "-0",
        "1",
        "file",
        "(1",
        "of",
        "2",
        "left",
        "out",
        "by",
        "the",
        "selection)",
    ]
    document = ls_json(capsys, "--only", "mm", patch)
    assert paths(document) == ["mm/page_alloc.c"] and document["left_out"] == 1
    assert document["totals"] == {"files": 1, "hunks": 1, "added": 1, "removed": 1}


def test_ls_globs_and_p_mean_what_they_mean_in_lsdiff(capsys: pytest.CaptureFixture[str]) -> None:
    patch = str(PATCHES / "git_basic.diff")
    # Without -p a glob sees the whole name, b/ included; -p1 strips it for matching.
    assert paths(ls_json(capsys, "-i", "kernel/*", patch)) == []
    assert paths(ls_json(capsys, "-p1", "-i", "kernel/*", patch)) == ["kernel/sched/core.c"]
    assert paths(ls_json(capsys, "-x", "*/kernel/*", patch)) == ["drivers/md/dm-snap.c"]
    assert paths(ls_json(capsys, "--strip", "0", "--files", "2", patch)) == [
        "b/kernel/sched/core.c"
    ]


def test_ls_p_rejects_a_negative_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "-p", "-1", str(PATCHES / "git_basic.diff")]) == 2
    assert "not a number of path components" in capsys.readouterr().err


def test_explain_does_not_claim_an_only_nobody_gave(capsys: pytest.CaptureFixture[str]) -> None:
    patch = str(PATCHES / "git_basic.diff")
    assert main(["filter", "--explain", "-x", "*/core.c", patch]) == 0
    err = capsys.readouterr().err
    assert "--only" not in err
    assert "paths shown without the patch's prefix (-p1, detected)" in err.splitlines()[0]
    assert main(["filter", "--explain", "-p1", "-x", "kernel/*", patch]) == 0
    assert "paths shown stripped by -p1" in capsys.readouterr().err
    assert (
        main(["filter", "--explain", "-x", "*/dm-table.c", str(PATCHES / "git_no_prefix.diff")])
        == 0
    )
    assert capsys.readouterr().err.splitlines()[0] == "kept 0 of 1 files, 0 of 1 hunks"

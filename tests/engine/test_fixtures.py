"""Golden tests over fixtures/check/*: each folder has a vendor tree, a patch and the expected
status of every hunk. For the traps, the test also shows that GNU patch accepts the patch (so
the fixture documents the peer's silent failure); that part is skipped without ``patch``.

A folder with a ``base/`` (the vanilla tree the patch was made against) is checked with it
(``check --base``); its ``expected.json`` then says under ``without_base`` what a check without
the base gives, and that is checked too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from patchsmith.cli import main
from patchsmith.engine.predict import predict
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.source import read_sources
from tests.support.paths import CHECK, FIXTURES, check_cases

CASES = check_cases()


def test_the_cases_are_the_folders_under_fixtures_check() -> None:
    # The tests below parametrize over CASES: if the discovery found nothing, or a case sat
    # where the discovery does not look (the old fixtures/check-<case> layout), they would pass
    # by not running it.
    listing = sorted(entry.name for entry in CHECK.iterdir())
    assert listing and [p.name for p in CASES] == listing
    assert sorted(p.name for p in FIXTURES.glob("check-*")) == []
    for case in CASES:
        assert (case / "patch.diff").is_file() and (case / "expected.json").is_file(), case
        assert (case / "tree").is_dir(), case


def test_every_case_is_here() -> None:
    names = {p.name for p in CASES}
    for case in (
        "clean", "offset", "whitespace", "fuzz", "already-applied", "partially-applied",
        "conflict", "missing-file", "file-exists", "new-file", "deleted-file", "renamed-file",
        "two-diffs-one-file", "trap-duplicate-code", "trap-wrong-function", "trap-ambiguous",
        "base-unchanged-neighbourhood", "base-backported-nearby", "trap-tie", "trap-deleted-block",
        "trap-moved-function", "trap-moved-function-named",
    ):  # fmt: skip
        assert case in names


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_fixture(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    base = case / "base" if (case / "base").is_dir() else None
    _check_case(case, expected, base)
    if "without_base" in expected:
        assert base is not None, "without_base needs a base/ to compare with"
        _check_case(case, expected["without_base"], None)


def _check_case(case: Path, expected: dict[str, Any], base: Path | None) -> None:
    index = index_sources(read_sources([str(case / "patch.diff")]))
    prediction = predict(index, index.files, case / "tree", strip=1, base=base)
    assert len(prediction.files) == len(expected["files"])
    for file, want in zip(prediction.files, expected["files"], strict=True):
        assert file.path == want["path"]
        assert len(file.hunks) == len(want["hunks"])
        for hunk, wanted in zip(file.hunks, want["hunks"], strict=True):
            assert hunk.hunk_number == wanted["index"]
            if "status" in wanted:
                assert hunk.status == wanted["status"], hunk.reason
            if "needs_review" in wanted:
                assert hunk.needs_review == wanted["needs_review"], hunk.reason
            for key in ("offset", "fuzz"):
                if key in wanted:
                    assert getattr(hunk, key) == wanted[key]
            if "reason_contains" in wanted:
                assert wanted["reason_contains"] in hunk.reason
            if "reason_lacks" in wanted:
                assert wanted["reason_lacks"] not in hunk.reason
    tree_before = _files(case / "tree")
    base_before = _files(base) if base is not None else {}
    argv = ["check", str(case / "patch.diff"), "--tree", str(case / "tree"), "-p", "1"]
    if base is not None:
        argv += ["--base", str(base)]
    code = main(argv)
    assert code == expected["exit"]
    assert _files(case / "tree") == tree_before
    if base is not None:
        assert _files(base) == base_before


@pytest.mark.parametrize(
    "case", [p for p in CASES if p.name.startswith("trap-")], ids=lambda p: p.name
)
def test_gnu_patch_falls_into_the_trap(case: Path, tmp_path: Path) -> None:
    patch = shutil.which("patch")
    if patch is None:
        pytest.skip("GNU patch is not installed")
    work = tmp_path / "tree"
    shutil.copytree(case / "tree", work)
    # A trap GNU patch only falls into the way scripts run it (-t, batch mode) says so.
    options = json.loads((case / "expected.json").read_text()).get("gnu_options", [])
    with open(case / "patch.diff", "rb") as stdin:
        run = subprocess.run(
            [patch, "-p1", "--dry-run", *options],
            cwd=work,
            stdin=stdin,
            capture_output=True,
            check=False,
        )
    # patch says it succeeded: the failure patchsmith flags is silent for the peer.
    assert run.returncode == 0, run.stdout.decode()
    assert b"FAILED" not in run.stdout

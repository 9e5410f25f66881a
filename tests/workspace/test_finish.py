"""``finish``: the carried patch's description, and ``--series`` checked with real quilt and patch.

The scenario is ``fixtures/finish-series``: an mbox of four mails onto a vendor tree where mail 2
conflicts and mail 4 is already there; mails 1 and 3 change the same file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.model import Resolution
from patchsmith.workspace.finish import describe
from patchsmith.workspace.session import SessionStore
from tests.support.paths import FIXTURES

SCENARIO = FIXTURES / "finish-series"
DEMO = FIXTURES / "demo"
REVIEWER = "Reviewer One <one@example.org>"


def _apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[Path, SessionStore]:
    tree = tmp_path / "vendor"
    shutil.copytree(SCENARIO / "vendor", tree)
    code = main(
        [
            "apply",
            str(SCENARIO / "series.mbox"),
            "--tree",
            str(tree),
            "--base",
            str(SCENARIO / "vanilla"),
            "--worktree",
            str(tmp_path / "worktree"),
            "--json",
            *extra,
        ]
    )
    assert code == 1
    worktree = Path(json.loads(capsys.readouterr().out)["worktree"])
    return tree, SessionStore.open(worktree)


def _resolved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, SessionStore]:
    tree, store = _apply(tmp_path, capsys)
    store.resolve(
        "drivers/md/dm-region.c#1",
        Resolution.UPSTREAM,
        reason="the vendor's extra count is read under the lock too",
        by=REVIEWER,
        at="2025-09-02T08:00:00+00:00",
    )
    return tree, store


def _copy(tree: Path, where: Path) -> Path:
    shutil.copytree(tree, where)
    return where


def _same_files(left: Path, right: Path, paths: list[str]) -> None:
    for path in paths:
        assert (left / path).read_bytes() == (right / path).read_bytes(), path


TOUCHED = ["drivers/md/dm-log.c", "drivers/md/dm-region.c", "drivers/md/dm-io.c"]


def test_the_combined_patch_says_how_it_was_carried_and_applies_with_patch_and_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, store = _resolved(tmp_path, capsys)
    output = tmp_path / "carried.patch"
    assert main(["finish", "--session", str(store.path), "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    head, _, diff = text.partition("\n---\n")
    lines = head.splitlines()
    assert lines[0] == "From: Patchsmith Test <test@patchsmith.invalid>"
    assert lines[1].startswith("Date: ") and lines[1].endswith("+0000")
    assert lines[2] == "Subject: [PATCH] series: 4 hunks in 3 files, carried onto vendor"
    assert "Carried from upstream's " in head and str(SCENARIO / "series.mbox") in head
    # One line per hunk a person decided, in the form kernel backports carry: which hunk,
    # what it was and where (the vendor tree's line, as check says it), how, who, when, why.
    assert (
        "[ conflicts resolved: drivers/md/dm-region.c#1 (conflict, line 6): taken from upstream "
        "by Reviewer One <one@example.org>, 2025-09-02: the vendor's extra count is read under "
        "the lock too ]"
    ) in lines
    assert "[ already in the tree, skipped: drivers/md/dm-io.c#1 (line 4) ]" in lines
    assert "Applied as upstream wrote them: 2 hunks." in lines
    assert " 2 files changed" in diff and diff.count("diff --git ") == 2
    for tool in (["patch", "-p1", "--dry-run", "-i"], ["git", "apply", "--check"]):
        copy = _copy(tree, tmp_path / f"copy-{tool[0]}")
        done = subprocess.run([*tool, str(output)], cwd=copy, capture_output=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    copy = _copy(tree, tmp_path / "applied")
    subprocess.run(["patch", "-p1", "-s", "-i", str(output)], cwd=copy, check=True)
    session = store.load()
    _same_files(copy, Path(session.worktree), TOUCHED)
    assert session.phase == "finished"


def test_the_series_has_a_patch_per_mail_and_quilt_push_gives_the_worktree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, store = _resolved(tmp_path, capsys)
    folder = tmp_path / "patches"
    combined = str(tmp_path / "all.patch")
    code = main(["finish", "--session", str(store.path), "-o", combined, "--series", str(folder)])
    assert code == 0
    err = capsys.readouterr().err
    assert "wrote 2 patches and a quilt series" in err
    assert "not written: dm io: do not count -EOPNOTSUPP as an error" in err
    names = (folder / "series").read_text(encoding="utf-8").splitlines()
    assert names == [
        "0001-dm-log-take-the-region-size-from-the-table-line.patch",
        "0002-dm-region-count-pending-regions-under-the-lock.patch",
    ]
    first = (folder / names[0]).read_text(encoding="utf-8")
    # Mails 1 and 3 change the same file: carried together, both named, under their author.
    assert first.startswith("From: Ada Lovelace <ada@example.org>\nDate: Mon, 1 Sep 2025 09:00")
    assert (
        "Subject: [PATCH] dm log: take the region size from the table line + dm log: free the "
        "clean bits when the sync bits fail"
    ) in first
    assert "Carries 2 patches of the input together" in first
    second = (folder / names[1]).read_text(encoding="utf-8")
    assert second.startswith("From: Alan Turing <alan@example.org>\n")
    assert "[ conflicts resolved: drivers/md/dm-region.c#1 (conflict, line 6)" in second
    assert "[ carried by Patchsmith Test <test@patchsmith.invalid> with patchsmith " in second
    assert "dm-log.c" not in second.partition("\n---\n")[2]
    # Real quilt, on the original tree: the result is the session's worktree.
    copy = _copy(tree, tmp_path / "quilt")
    environment = dict(os.environ, QUILT_PATCHES=str(folder), QUILTRC="/dev/null")
    pushed = subprocess.run(
        ["quilt", "push", "-a"], cwd=copy, env=environment, capture_output=True, check=False
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert b"Now at patch" in pushed.stdout and b"fuzz" not in pushed.stdout.lower()
    _same_files(copy, Path(store.load().worktree), TOUCHED)


def test_a_plain_patch_becomes_a_patch_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _copy(DEMO / "vendor", tmp_path / "vendor")
    assert main(["apply", str(DEMO / "patch-6.1.999.diff"), "--tree", str(tree), "--json"]) == 1
    store = SessionStore.open(Path(json.loads(capsys.readouterr().out)["worktree"]))
    store.resolve("Makefile#1", Resolution.UPSTREAM, by=REVIEWER)
    store.resolve("drivers/md/dm-snap.c#3", Resolution.DROPPED, reason="vendor's own check")
    folder = tmp_path / "debian-patches"
    combined = str(tmp_path / "all.patch")
    code = main(["finish", "--session", str(store.path), "-o", combined, "--series", str(folder)])
    assert code == 0
    names = (folder / "series").read_text(encoding="utf-8").splitlines()
    assert names == [
        "0001-makefile.patch",
        "0002-drivers-md-dm-snap.c.patch",
        "0003-include-linux-device-mapper.h.patch",
        "0004-kernel-sched-core.c.patch",
    ]
    dropped = (folder / names[1]).read_text(encoding="utf-8")
    assert "drivers/md/dm-snap.c#3 (conflict, line 53): dropped by" in dropped
    copy = _copy(tree, tmp_path / "quilt")
    environment = dict(os.environ, QUILT_PATCHES=str(folder), QUILTRC="/dev/null")
    subprocess.run(["quilt", "push", "-a", "-q"], cwd=copy, env=environment, check=True)
    worktree = Path(store.load().worktree)
    _same_files(copy, worktree, [str(p) for p in store.load().touched])


def test_the_series_folder_must_be_new_and_nothing_is_finished_when_it_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tree, store = _resolved(tmp_path, capsys)
    folder = tmp_path / "patches"
    folder.mkdir()
    (folder / "series").write_text("mine.patch\n", encoding="utf-8")
    assert main(["finish", "--session", str(store.path), "--series", str(folder)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (folder / "series").read_text(encoding="utf-8") == "mine.patch\n"
    assert store.load().phase == "ready"


def test_description_lines_a_patch_reader_would_take_for_a_diff_are_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, store = _resolved(tmp_path, capsys)
    session = store.load()
    from dataclasses import replace

    # Hunk ids come from the patch's file names: names chosen to look like diff headers, a mail
    # separator and a hunk line, and a reason with a newline and a diff in it.
    odd = [
        replace(hunk, id=name + "#1", resolution_reason="fine\n--- a/x\n+++ b/x")
        for hunk, name in zip(
            [h for h in session.hunks if h.resolution is not None] * 4,
            ["--- a/Makefile", "+++ b/Makefile", "From me", "@@ -1 +1 @@"],
            strict=True,
        )
    ]
    text = describe(session, odd, None, author="A <a@b>", date="now")
    body = text.split("\n\n", 1)[1]
    for line in body.splitlines():
        stripped = line.lstrip()
        assert not stripped.startswith(("---", "+++", "From ", "@@", "diff ")), line
    assert ("> " + "  --- a/Makefile#1") in text
    assert "fine --- a/x +++ b/x" in text  # the reason's newlines are folded
    # And a patch with that description still applies with patch and git.
    patch = tmp_path / "odd.patch"
    diff = (tmp_path / "carried").with_suffix(".patch")
    assert main(["finish", "--session", str(store.path), "-o", str(diff)]) == 0
    combined = diff.read_text(encoding="utf-8")
    patch.write_text(text + "---\n" + combined.partition("\n---\n")[2], encoding="utf-8")
    copy = _copy(tree, tmp_path / "copy")
    for tool in (["patch", "-p1", "--dry-run", "-i"], ["git", "apply", "--check"]):
        done = subprocess.run([*tool, str(patch)], cwd=copy, capture_output=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_reused_resolution_is_open_until_confirmed_and_then_named_as_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, store = _resolved(tmp_path, capsys)
    session = store.load()
    assert main(["abort", "--session", session.worktree]) == 0
    capsys.readouterr()
    # The same mails onto the same tree again: memory replays the decision, to be confirmed.
    code = main(
        [
            "apply",
            str(SCENARIO / "series.mbox"),
            "--tree",
            str(tree),
            "--base",
            str(SCENARIO / "vanilla"),
            "--worktree",
            str(tmp_path / "again"),
            "--json",
        ]
    )
    assert code == 1
    again = SessionStore.open(Path(json.loads(capsys.readouterr().out)["worktree"]))
    assert again.load().hunk("drivers/md/dm-region.c#1").to_confirm
    assert main(["report", "--format", "md", "--session", str(again.path)]) == 1
    report = capsys.readouterr().out
    assert (
        "🔴 **Open (1)**: **1 reused resolution to confirm**: `drivers/md/dm-region.c#1` · "
        "confirm each with `patchsmith resolve HUNK --confirm`"
    ) in report
    assert "| 1 | **open: reused resolution to confirm** | `drivers/md/dm-region.c#1` |" in report
    assert main(["finish", "--session", str(again.path)]) == 1
    capsys.readouterr()
    assert (
        main(["resolve", "drivers/md/dm-region.c#1", "--confirm", "--session", str(again.path)])
        == 0
    )
    output = tmp_path / "again.patch"
    assert main(["finish", "--session", str(again.path), "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert (
        "drivers/md/dm-region.c#1 (conflict, line 6): taken from upstream by Reviewer One "
        "<one@example.org>, 2025-09-02 (reused from an earlier run, confirmed by Patchsmith Test "
        "<test@patchsmith.invalid>): the vendor's extra count is read under the lock too"
    ) in text

"""check and apply never disagree: the same verdict for every hunk, on every fixture and on
generated trees and patches full of links, renames and odd names.

``check --json`` and ``apply --json`` run on the same tree (a plain folder, or the same folder
as a git repository) and every hunk's status, review flag, reason, found line, offset and fuzz
must be equal; a diff without hunks (a mode change, a pure rename) must have the same status;
both must exit with the same code. The generated cases also check the other half of the
promise: apply writes nothing outside its worktree and never changes the tree (an ``lstat`` and
content snapshot of the tree, of a sentinel folder links point at, and of the folders around
the worktree).

The generated patches are made by git itself (``git diff -M -C`` of one change at a time,
concatenated), so quoting, modes and rename headers are git's; concatenating diffs of
different changes gives the hostile shapes no single diff can (a symlink, then a file beyond
it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchsmith.cli import main
from patchsmith.engine.tree import points_outside
from tests.support.paths import FIXTURES, check_cases
from tests.support.trees import fingerprint
from tests.support.trees import git as run_git

CHECK_CASES = check_cases()


@dataclass(frozen=True)
class Case:
    """One tree and patch to run check and apply on."""

    name: str
    tree: Path
    patch: Path
    base: Path | None = None


def _fixture_cases() -> list[Case]:
    cases = [
        Case(
            c.name,
            c / "tree",
            c / "patch.diff",
            c / "base" if (c / "base").is_dir() else None,
        )
        for c in CHECK_CASES
    ]
    cases.append(
        Case(
            "demo",
            FIXTURES / "demo/vendor",
            FIXTURES / "demo/patch-6.1.999.diff",
            FIXTURES / "demo/vanilla",
        )
    )
    cases.append(Case("kernel-tree", FIXTURES / "kernel-tree", FIXTURES / "kernel-tree.patch"))
    return cases


def _run_both(
    case: Case, tree: Path, worktree: Path, capsys: pytest.CaptureFixture[str], with_base: bool
) -> tuple[int, str, int, str]:
    extra = ["--base", str(case.base)] if with_base and case.base is not None else []
    capsys.readouterr()
    check_code = main(["check", str(case.patch), "--tree", str(tree), "--json", *extra])
    checked = capsys.readouterr()
    apply_code = main(
        [
            "apply",
            str(case.patch),
            "--tree",
            str(tree),
            "--worktree",
            str(worktree),
            "--json",
            "--wait",
            "0",
            "--branch",
            f"patchsmith/{worktree.name}",
            *extra,
        ]
    )
    applied = capsys.readouterr()
    check_text = checked.out if check_code != 2 else checked.err
    apply_text = applied.out if apply_code != 2 else applied.err
    return check_code, check_text, apply_code, apply_text


def _verdicts(checked: dict[str, Any], applied: dict[str, Any]) -> None:
    """Every hunk (and every diff without hunks) has the same verdict in both."""
    predicted: dict[tuple[int, int], tuple[object, ...]] = {}
    for file in checked["files"]:
        if not file["hunks"]:
            predicted[(file["entry"], 0)] = (file["status"],)
        for hunk in file["hunks"]:
            predicted[(file["entry"], hunk["index"])] = (
                hunk["status"],
                hunk["needs_review"],
                hunk["reason"],
                hunk["found_line"],
                hunk["offset"],
                hunk["fuzz"],
            )
    recorded: dict[tuple[int, int], tuple[object, ...]] = {}
    for hunk in applied["hunks"]:
        key = (hunk["file_number"], hunk["number"])
        if hunk["number"] == 0:
            if key[0] in {k[0] for k in predicted if k[1] == 0}:
                recorded[key] = (hunk["status"],)
            continue  # the mode item of a diff with hunks: compared below
        recorded[key] = (
            hunk["status"],
            hunk["needs_review"],
            hunk["reason"],
            hunk["found_line"],
            hunk["offset"],
            hunk["fuzz"],
        )
    assert recorded == predicted
    modes = {
        f["entry"]: f["mode"]["status"] for f in checked["files"] if "mode" in f and f["hunks"]
    }
    recorded_modes = {
        h["file_number"]: h["status"]
        for h in applied["hunks"]
        if h["number"] == 0 and h["file_number"] in modes
    }
    assert recorded_modes == modes


def _compare(check_code: int, check_text: str, apply_code: int, apply_text: str) -> None:
    assert apply_code == check_code, (check_text, apply_text)
    if check_code == 2:
        # Refused as a whole: the same message, first line.
        assert apply_text.splitlines()[0] == check_text.splitlines()[0]
        return
    _verdicts(json.loads(check_text), json.loads(apply_text))


def _as_repository(tree: Path) -> None:
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A", "-f")
    run_git(tree, "commit", "-q", "--allow-empty", "-m", "vendor")


@pytest.mark.parametrize("case", _fixture_cases(), ids=lambda c: c.name)
@pytest.mark.parametrize("form", ["plain", "git"])
def test_fixture_check_and_apply_agree(
    case: Case, form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(case.tree, tree, symlinks=True)
    if form == "git":
        _as_repository(tree)
    for with_base in (False, True) if case.base is not None and form == "plain" else (False,):
        worktree = tmp_path / f"wt-{with_base}"
        _compare(*_run_both(case, tree, worktree, capsys, with_base))


# --- generated cases ---------------------------------------------------------------------------

_LINES = ["a\n", "b\n", "c\n", "{\n", "}\n", "return 0;\n", "x++;\n"]

_FILES = (
    "drivers/md/a.c",
    "drivers/md/b.c",
    "drivers/net/c.c",
    "include/d.h",
    "odd/sp ace.c",
    'odd/qu"ote.c',
    "odd/\u00e9t\u00e9.c",
    "odd/*.c",
)
"""Files of the base tree (names git quotes, and a glob, included)."""

_LINKS = {"drivers/md/l": "a.c", "drivers/net/sub/up": "../../../include/d.h"}
"""Links of the base tree (both inside it): upstream re-targets them, and a deep relative one
moved up a level or two points out of the tree."""

_NEW = (
    *_FILES,
    "drivers/new/e.c",
    "drivers/md/f.c",
    "drivers/evil",
    "drivers/evil/x.c",
    "drivers/md/l/x.c",
)
"""Paths an upstream change may create (existing ones too: file-exists; beyond a link too)."""

_HAND_WRITTEN = ("file-to-link", "move-link")
"""Changes git never writes this way (a type change is a deletion and a creation to git):
``old mode 100644``/``new mode 120000`` with a hunk, and a link renamed or copied with its
mode on the ``index`` line. Written by hand, from the base."""

_FOLDERS = ("drivers/md", "drivers/net", "odd", "drivers")


@st.composite
def _text(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(st.sampled_from(_LINES), min_size=3, max_size=9)))


def _link_target(draw: st.DrawFn, path: str, sentinel: Path) -> str:
    depth = path.count("/")
    return draw(
        st.sampled_from(
            [
                "a.c",  # a sibling, inside
                "../md",  # a folder, inside
                "nowhere.c",  # dangling
                "../" * (depth + 1) + "outside",  # out of the tree, relative
                "../" * (depth + 3),  # far out: into the worktree's surroundings
                str(sentinel),  # absolute, to the sentinel folder
                str(sentinel / "x.c"),
            ]
        )
    )


@st.composite
def _scenario(draw: st.DrawFn, sentinel: Path) -> dict[str, Any]:
    base = {path: draw(_text()) for path in _FILES}
    vendor: list[tuple[str, str, str]] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["file-link", "folder-link", "edit", "delete", "chmod"]))
        if kind == "folder-link":
            folder = draw(st.sampled_from(_FOLDERS))
            vendor.append((kind, folder, _link_target(draw, folder, sentinel)))
        else:
            path = draw(st.sampled_from(_FILES))
            target = _link_target(draw, path, sentinel) if kind == "file-link" else ""
            vendor.append((kind, path, target))
    changes: list[tuple[str, str, str, str]] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(
            st.sampled_from(
                [
                    "modify",
                    "new",
                    "new-link",
                    "delete",
                    "rename",
                    "copy",
                    "chmod",
                    "relink",
                    *_HAND_WRITTEN,
                ]
            )
        )
        sources: tuple[str, ...] = _FILES
        if kind in ("relink", "delete", "move-link"):
            sources = (*_FILES, *_LINKS) if kind != "move-link" else tuple(_LINKS)
        source = draw(st.sampled_from(sources))
        target = draw(st.sampled_from(_NEW))
        extra = ""
        if kind in ("relink", "file-to-link"):
            extra = _link_target(draw, source, sentinel)
        elif kind == "new-link":
            extra = _link_target(draw, target, sentinel)
        elif kind == "move-link":
            # The same target (outside only if the new place is shallower) or a new one.
            extra = draw(st.sampled_from([_LINKS[source], _link_target(draw, target, sentinel)]))
        elif kind in ("modify", "new", "rename"):
            extra = draw(_text())
        changes.append((kind, source, target, extra))
    return {
        "base": base,
        "vendor": vendor,
        "changes": changes,
        "git": draw(st.booleans()),
        # Files git ignores (and so leaves out of HEAD) but check reads all the same.
        "ignored": draw(st.booleans()),
        "hostile_name": draw(st.sampled_from([None, "../escape.c", "drivers/.git/config"])),
    }


def _write_base(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, link in _LINKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, root / path)


_NO_NEWLINE = "\\ No newline at end of file\n"


def _hand_written(scenario: dict[str, Any], change: tuple[str, str, str, str]) -> str:
    """A change git would write as a deletion and a creation, as another tool writes it."""
    kind, source, target, extra = change
    if kind == "file-to-link":
        lines = scenario["base"][source].splitlines(keepends=True)
        removed = "".join(f"-{line}" for line in lines)
        return (
            f"diff --git a/{source} b/{source}\nold mode 100644\nnew mode 120000\n"
            f"--- a/{source}\n+++ b/{source}\n@@ -1,{len(lines)} +1 @@\n{removed}"
            f"+{extra}\n{_NO_NEWLINE}"
        )
    verb = "rename" if len(target) % 2 else "copy"
    return (
        f"diff --git a/{source} b/{target}\nsimilarity index 90%\n{verb} from {source}\n"
        f"{verb} to {target}\nindex 1111111..2222222 120000\n--- a/{source}\n+++ b/{target}\n"
        f"@@ -1 +1 @@\n-{_LINKS[source]}\n{_NO_NEWLINE}+{extra}\n{_NO_NEWLINE}"
    )


def _replace_with_link(root: Path, path: str, target: str) -> None:
    place = root / path
    if place.is_dir() and not place.is_symlink():
        shutil.rmtree(place)
    elif os.path.lexists(place):
        place.unlink()
    place.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, place)


def _change(root: Path, change: tuple[str, str, str, str]) -> None:
    """One upstream change, made on the base tree in ``root`` (which git then diffs)."""
    kind, source, target, extra = change
    src, dst = root / source, root / target

    def clear(place: Path) -> None:
        if place.is_dir() and not place.is_symlink():
            shutil.rmtree(place)
        elif os.path.lexists(place):
            place.unlink()
        # A file where a folder is needed: git can hold only one of them.
        for parent in place.relative_to(root).parents:
            if parent != Path(".") and (root / parent).is_file():
                (root / parent).unlink()

    if kind in _HAND_WRITTEN:
        return
    if src.is_symlink() and kind in ("rename", "copy") and src != dst:
        # (Never read through a base link: move the link itself.)
        link = os.readlink(src)
        clear(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, dst)
        if kind == "rename":
            src.unlink()
        return
    if kind == "modify":
        lines = src.read_text().splitlines(keepends=True)
        lines[len(lines) // 2] = extra.splitlines(keepends=True)[0]
        src.write_text("".join(lines) + "added\n")
    elif kind == "new":
        clear(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(extra)
    elif kind in ("new-link", "relink"):
        place = src if kind == "relink" else dst
        clear(place)
        place.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(extra, place)
    elif kind == "delete":
        if os.path.lexists(src):
            src.unlink()
    elif kind in ("rename", "copy"):
        if src == dst:
            return
        data = src.read_bytes()
        clear(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data + (extra.encode() if kind == "rename" else b""))
        if kind == "rename":
            src.unlink()
    elif kind == "chmod":
        src.chmod(0o755)


def _git_patch(scratch: Path, scenario: dict[str, Any]) -> str:
    """One ``git diff`` per change, each from the base, concatenated."""
    work = scratch / "upstream"
    _write_base(work, scenario["base"])
    run_git(work, "init", "-q")
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "base")
    pieces: list[str] = []
    for change in scenario["changes"]:
        if change[0] in _HAND_WRITTEN:
            pieces.append(_hand_written(scenario, change))
            continue
        _change(work, change)
        run_git(work, "add", "-A")
        pieces.append(
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(work),
                    "diff",
                    "--cached",
                    "-M",
                    "-C",
                    "--find-copies-harder",
                    "--no-color",
                    "--no-ext-diff",
                ],
                check=True,
                capture_output=True,
            ).stdout.decode("utf-8", "surrogateescape")
        )
        run_git(work, "reset", "-q", "--hard")
        run_git(work, "clean", "-q", "-f", "-d")
    hostile = scenario["hostile_name"]
    if hostile is not None:
        pieces.append(
            f"diff --git a/{hostile} b/{hostile}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{hostile}\n@@ -0,0 +1 @@\n+x\n"
        )
    return "".join(pieces)


def _vendor_tree(scratch: Path, scenario: dict[str, Any]) -> Path:
    tree = scratch / "tree"
    _write_base(tree, scenario["base"])
    for kind, path, target in scenario["vendor"]:
        place = tree / path
        parents = [tree / p for p in Path(path).parents if p != Path(".")]
        if any(p.is_symlink() or not p.is_dir() for p in parents):
            continue  # beyond a link an earlier vendor change made: nothing to change there
        if kind in ("file-link", "folder-link"):
            _replace_with_link(tree, path, target)
        elif not place.is_file() or place.is_symlink():
            continue  # gone with a folder an earlier vendor change replaced by a link
        elif kind == "edit":
            place.write_text("vendor\n" + place.read_text())
        elif kind == "delete":
            place.unlink()
        elif kind == "chmod":
            place.chmod(0o755)
    drivers = tree / "drivers"
    if scenario["ignored"] and drivers.is_dir() and not drivers.is_symlink():
        (tree / ".gitignore").write_text("/drivers/new/\n")
        (tree / "drivers/new").mkdir(parents=True, exist_ok=True)
        (tree / "drivers/new/e.c").write_text("generated\n")
    if scenario["git"]:
        run_git(tree, "init", "-q")
        run_git(tree, "add", "-A")  # not -f: the ignored files stay out of the commit
        run_git(tree, "commit", "-q", "--allow-empty", "-m", "vendor")
    return tree


def _surroundings(scratch: Path) -> dict[str, tuple[int, str]]:
    """Everything under the scratch folder but the worktree itself and git's own folders
    (what apply may write), including the tree and the sentinel."""
    found = fingerprint(scratch)
    return {
        path: value
        for path, value in found.items()
        if not path.startswith("w/x/wt/")
        and path != "w/x/wt"
        and "/.git/" not in f"/{path}/"
        and not path.startswith("upstream")
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_check_and_apply_agree_and_nothing_leaks(
    data: st.DataObject, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory(prefix="patchsmith-differential-") as folder:
        scratch = Path(folder)
        sentinel = scratch / "outside"
        sentinel.mkdir()
        (sentinel / "x.c").write_text("a\nb\nc\n")
        (scratch / "w" / "x").mkdir(parents=True)
        scenario = data.draw(_scenario(sentinel))
        patch = scratch / "upstream.patch"
        patch.write_bytes(_git_patch(scratch, scenario).encode("utf-8", "surrogateescape"))
        tree = _vendor_tree(scratch, scenario)
        before = _surroundings(scratch)
        case = Case("generated", tree, patch)
        outcome = _run_both(case, tree, scratch / "w" / "x" / "wt", capsys, with_base=False)
        after = _surroundings(scratch)
        # (git adds objects and refs of its own in a git tree's .git, left out above;
        # everything else of the tree must stay as it was.)
        assert after == before
        _compare(*outcome)
        if outcome[2] == 2:
            assert not (scratch / "w" / "x" / "wt").exists()
        else:
            # A link the patch leaves (created, re-targeted, made from a file, moved) never
            # points out of the tree: any such link in the worktree is the vendor's own.
            worktree = scratch / "w" / "x" / "wt"
            assert _links_out(worktree).items() <= _links_out(tree).items()


def _links_out(root: Path) -> dict[str, str]:
    """Every symlink under ``root`` (not followed, git's folder left out) whose target is
    absolute or climbs out of ``root``."""
    found: dict[str, str] = {}
    for folder, folders, files in os.walk(root):
        folders[:] = [f for f in folders if f != ".git"]
        for name in files + folders:
            place = Path(folder) / name
            if place.is_symlink():
                relative = place.relative_to(root).as_posix()
                target = os.readlink(place)
                if points_outside(relative, os.fsencode(target)):
                    found[relative] = target
    return found

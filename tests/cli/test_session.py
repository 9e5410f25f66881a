"""The session commands through main(): apply, status, resolve, finish, abort."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.cli import main
from tests.support.paths import CHECK, DEMO, DEMO_PATCH
from tests.support.trees import fingerprint


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    target = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", target)
    return target


def _worktree(capsys: pytest.CaptureFixture[str], tree: Path) -> Path:
    code = main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--json"])
    assert code == 1
    return Path(json.loads(capsys.readouterr().out)["worktree"])


def test_apply_status_resolve_finish(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = fingerprint(tree)
    worktree = _worktree(capsys, tree)
    monkeypatch.chdir(worktree / "drivers")
    assert main(["status"]) == 1
    out = capsys.readouterr().out
    assert "Makefile#1" in out and "OPEN" in out
    assert main(["status", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "patchsmith.session/1"
    assert {i["kind"] for i in document["open_items"]} == {"hunk", "reject"}
    assert main(["finish"]) == 1
    assert "still open" in capsys.readouterr().err
    assert main(["resolve", "Makefile#1", "--accept"]) == 1
    assert main(["resolve", "--next", "--drop"]) == 2
    assert main(["resolve", "--next", "--drop", "--reason", "vendor's own fix"]) == 0
    output = tmp_path / "carried.patch"
    assert main(["finish", "-o", str(output)]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    check = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(output)], cwd=copy, check=False)
    assert check.returncode == 0
    assert main(["abort", "--session", str(worktree)]) == 0
    assert not worktree.exists()
    assert fingerprint(tree) == before


def test_resolve_without_a_terminal_prints_the_summary(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree = _worktree(capsys, tree)
    assert main(["resolve", "--session", str(worktree)]) == 1
    captured = capsys.readouterr()
    assert "Makefile#1" in captured.out and "not a terminal" in captured.err


def test_tui_without_a_terminal_prints_the_summary_too(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree = _worktree(capsys, tree)
    assert main(["tui", "--session", str(worktree)]) == 1
    captured = capsys.readouterr()
    assert "Makefile#1" in captured.out and "not a terminal" in captured.err


def test_resolve_edit_uses_the_editor(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree = _worktree(capsys, tree)
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\nprintf '\\tif (!s->valid || s->merge_failed || dm_suspended(ti))\\n' > \"$1\"\n"
    )
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    code = main(["resolve", "drivers/md/dm-snap.c#3", "--edit", "--session", str(worktree)])
    assert code == 1  # the Makefile is still open
    text = (worktree / "drivers/md/dm-snap.c").read_text()
    assert "s->merge_failed || dm_suspended(ti)" in text


def test_status_outside_a_worktree_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "is not inside a git worktree" in err and "--session PATH" in err


def test_the_session_is_found_from_the_tree_it_was_made_from(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain tree: its sessions live in the repository patchsmith keeps for it, and status,
    # resolve and abort find them from the tree or any folder in it, and say where they are.
    worktree = _worktree(capsys, tree)
    monkeypatch.chdir(tree / "drivers" / "md")
    assert main(["status"]) == 1
    captured = capsys.readouterr()
    assert "Makefile#1" in captured.out
    assert f"the session of this tree, in {worktree.resolve()}" in captured.err
    assert main(["abort"]) == 0
    assert not worktree.exists()
    capsys.readouterr()
    assert main(["status"]) == 2
    assert "nor in a tree patchsmith has applied to" in capsys.readouterr().err


def test_a_git_tree_finds_its_session_and_names_both_when_there_are_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DEMO / "vendor", repo)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "vendor"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True)
    first = _worktree(capsys, repo)
    monkeypatch.chdir(repo)
    assert main(["status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["worktree"] == str(first)
    code = main(["apply", str(DEMO_PATCH), "--tree", str(repo), "--branch", "second", "--json"])
    assert code == 1
    second = json.loads(capsys.readouterr().out)["worktree"]
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "has 2 patchsmith sessions" in err and str(first) in err and second in err
    assert "--session WORKTREE" in err
    # Inside a worktree, that worktree's session is meant, whatever else the tree has.
    monkeypatch.chdir(first)
    assert main(["status", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["worktree"] == str(first)


def test_apply_writes_the_session_twice_and_reads_it_never(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stable patch's session is megabytes of JSON: apply writes it once as "applying" and
    once as "ready", the selection's inputs already in that write, and its open items come
    from the session it has, not from reading the file back."""
    from patchsmith.workspace.session import Phase, Session, SessionStore

    writes: list[tuple[Phase, bool]] = []
    reads: list[str] = []
    write, read = SessionStore.write, SessionStore.read

    def recording_write(self: SessionStore, session: Session, encoded: bytes | None = None) -> None:
        writes.append((session.phase, session.inputs is not None))
        write(self, session, encoded)

    def recording_read(self: SessionStore) -> Session:
        reads.append(str(self.path))
        return read(self)

    monkeypatch.setattr(SessionStore, "write", recording_write)
    monkeypatch.setattr(SessionStore, "read", recording_read)
    worktree = _worktree(capsys, tree)
    assert writes == [(Phase.APPLYING, False), (Phase.READY, True)]
    assert reads == []
    # What the next command reads is what apply wrote, inputs included.
    monkeypatch.undo()
    assert main(["status", "--json", "--session", str(worktree)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["phase"] == "ready"
    import hashlib

    (source,) = document["inputs"]["sources"]
    assert source["sha256"] == hashlib.sha256(DEMO_PATCH.read_bytes()).hexdigest()
    assert document["inputs"]["strip"] == 1


@pytest.mark.parametrize("fixture", ["fuzz", "trap-wrong-function"])
def test_what_accept_fuzz_wrote_stays_a_review_item_until_a_person_confirms_it(
    fixture: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # apply --accept-fuzz writes where GNU patch would; in the trap that is the wrong function
    # (mana_en.c in miniature). Asking for fuzz to be written is not a review of where it went:
    # the gate, status, the report and finish must all wait for a person.
    source = CHECK / fixture
    tree = tmp_path / "tree"
    shutil.copytree(source / "tree", tree)
    patch = str(source / "patch.diff")
    worktree = tmp_path / "worktree"
    applied = main(
        ["apply", patch, "--tree", str(tree), "--accept-fuzz", "--worktree", str(worktree)]
    )
    assert applied == 1
    session = ["--session", str(worktree)]
    out = capsys.readouterr().out
    hunk = next(line.split()[0] for line in out.splitlines() if "by --accept-fuzz: REVIEW" in line)
    assert "reviewed by nobody" in out and f"'patchsmith resolve {hunk} --confirm'" in out
    assert main(["status", "--json", *session]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [(i["kind"], i["hunk"]) for i in document["open_items"]] == [("hunk", hunk)]
    assert main(["report", "--format", "json", *session]) == 1
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["safe_to_build"] is False and summary["silently_fuzzed"] == []
    assert summary["open_counts"] == {"review": 1}
    assert main(["report", "--format", "md", *session]) == 1
    markdown = capsys.readouterr().out
    assert "**open**: written by `apply --accept-fuzz`, reviewed by nobody" in markdown
    # The evidence says it is written and where to read it, never "none yet".
    assert "Result: written by apply --accept-fuzz at line " in markdown
    assert "none yet" not in markdown
    assert main(["build", *session]) == 1
    assert "build gate is closed" in capsys.readouterr().err
    assert main(["finish", *session, "-o", str(tmp_path / "carried.patch")]) == 1
    capsys.readouterr()
    # --accept means "take the proposal"; there is none: what is written is what to confirm.
    assert main(["resolve", hunk, "--accept", *session]) == 2
    assert f"'patchsmith resolve {hunk} --confirm'" in capsys.readouterr().err
    assert main(["resolve", hunk, "--confirm", *session]) == 0
    assert "reviewed by Patchsmith Test" in capsys.readouterr().out
    assert main(["report", "--format", "md", *session]) == 0
    markdown = capsys.readouterr().out
    assert "Safe to build: yes" in markdown and "resolved by a person: 1" in markdown
    assert "written by `apply --accept-fuzz`, reviewed by Patchsmith Test" in markdown
    assert main(["finish", *session, "-o", str(tmp_path / "carried.patch")]) == 0
    carried = (tmp_path / "carried.patch").read_text()
    assert f"[ written with fuzz by apply --accept-fuzz: {hunk} (line " in carried
    assert "reviewed by Patchsmith Test" in carried

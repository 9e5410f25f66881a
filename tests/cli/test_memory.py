"""The command line of resolution memory and of its failure modes: ``patchsmith memory``,
``resolve --confirm``, ``resolve --undo``, a refused ``--edit`` that keeps the person's text, a
broken ``$EDITOR``, and every subcommand with a data home that cannot be written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchsmith.cli import COMMANDS, main
from patchsmith.workspace import memory
from tests.support.paths import DEMO, DEMO_PATCH

SNAP = "drivers/md/dm-snap.c#3"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    target = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", target)
    return target


def _apply(tree: Path, worktree: Path, *extra: str) -> Path:
    code = main(
        ["apply", str(DEMO_PATCH), "--tree", str(tree), "--worktree", str(worktree), *extra]
    )
    assert code == 1
    return worktree


def test_memory_commands(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worktree = _apply(tree, tmp_path / "wt")
    session = ["--session", str(worktree)]
    assert main(["resolve", "Makefile#1", "--accept", *session]) == 1
    assert main(["resolve", SNAP, "--drop", "--reason", "vendor's own check", *session]) == 0
    capsys.readouterr()
    assert main(["memory", "list"]) == 0
    out = capsys.readouterr().out
    assert "(2 decision(s))" in out and "dropped" in out and "accepted" in out
    assert main(["memory", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["decisions"]
    assert [d["hunk"] for d in listed] == ["Makefile#1", SNAP]
    snap_id = listed[1]["id"]
    assert main(["memory", "show", SNAP, *session]) == 0
    out = capsys.readouterr().out
    assert f"decision {snap_id}" in out and "vendor's own check" in out
    assert main(["memory", "show", snap_id[:12]]) == 0
    assert f"decision {snap_id}" in capsys.readouterr().out
    # Export, forget everything, import: the same decisions, and the export is deterministic.
    exported = tmp_path / "memory.txt"
    assert main(["memory", "export", str(exported)]) == 0
    assert main(["memory", "export", "-"]) == 0
    assert capsys.readouterr().out.encode() == exported.read_bytes()
    assert main(["memory", "forget", SNAP, *session]) == 0
    assert "forgot " + snap_id[:12] in capsys.readouterr().out
    assert [e.hunk_id for e in memory.Memory().entries()] == ["Makefile#1"]
    assert main(["memory", "forget", "--all"]) == 0
    assert memory.Memory().entries() == []
    assert main(["memory", "import", str(exported)]) == 0
    assert "2 new, 0 replaced, 0 already known" in capsys.readouterr().out
    assert [e.id for e in memory.Memory().entries()] == [d["id"] for d in listed]
    assert main(["memory", "import", str(exported)]) == 0
    assert "0 new, 0 replaced, 2 already known" in capsys.readouterr().out
    # Typos never pass silently.
    assert main(["memory", "show", "zz"]) == 2
    assert main(["memory", "forget"]) == 2
    assert main(["memory", "forget", "Makefile#1", "--all"]) == 2
    damaged = tmp_path / "damaged.txt"
    damaged.write_bytes(exported.read_bytes().replace(b"status:", b"state:", 1))
    assert main(["memory", "import", str(damaged)]) == 2
    assert "damaged.txt:" in capsys.readouterr().err


def test_resolve_confirm_and_undo_from_the_command_line(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _apply(tree, tmp_path / "first")
    assert main(["resolve", SNAP, "--upstream", "--session", str(first)]) == 1
    assert main(["resolve", "Makefile#1", "--drop", "--reason", "x", "--session", str(first)]) == 0
    assert main(["resolve", "Makefile#1", "--undo", "--session", str(first)]) == 1
    assert main(["abort", "--session", str(first)]) == 0
    capsys.readouterr()

    second = _apply(tree, tmp_path / "second")
    out = capsys.readouterr().out
    assert "upstream (reused: confirm)" in out
    assert "1 reused resolution to confirm" in out
    assert "Makefile#1" in out and "dropped" not in out  # undone, so forgotten
    session = ["--session", str(second)]
    assert main(["resolve", SNAP, *session]) == 1
    out = capsys.readouterr().out
    assert "reused: confirm (upstream by Patchsmith Test" in out
    assert "the diff it makes here:" in out and "+\tif (!s->valid || s->merge_failed)" in out
    assert main(["status", "--json", *session]) == 1
    document = json.loads(capsys.readouterr().out)
    assert {"kind": "confirm", "path": "drivers/md/dm-snap.c", "hunk": SNAP}.items() <= next(
        item for item in document["open_items"] if item["kind"] == "confirm"
    ).items()
    assert main(["resolve", "Makefile#1", "--confirm", *session]) == 2
    assert "no reused resolution to confirm" in capsys.readouterr().err
    assert main(["resolve", SNAP, "--confirm", *session]) == 1  # the Makefile is still open
    assert f"{SNAP}: confirmed: reused, confirmed by" in capsys.readouterr().out
    assert main(["resolve", "--confirm-all", *session]) == 1
    assert "no reused resolution is waiting" in capsys.readouterr().out
    # Undoing the replay forgets the decision it replayed, and says so.
    assert main(["resolve", SNAP, "--undo", *session]) == 1
    out = capsys.readouterr().out
    assert "forgot the remembered decision it replayed (upstream by Patchsmith Test" in out
    assert "the next apply leaves this hunk open" in out
    assert main(["memory", "list"]) == 0
    assert "dm-snap.c" not in capsys.readouterr().out


def test_trust_memory_is_said_in_status(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _apply(tree, tmp_path / "first")
    assert main(["resolve", SNAP, "--upstream", "--session", str(first)]) == 1
    assert main(["abort", "--session", str(first)]) == 0
    capsys.readouterr()
    _apply(tree, tmp_path / "second", "--trust-memory")
    out = capsys.readouterr().out
    assert "upstream (reused, trusted)" in out and "to confirm" not in out
    assert (
        main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--trust-memory", "--no-memory"]) == 2
    )


def _editor(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_a_refused_edit_keeps_the_text_and_the_next_edit_starts_from_it(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree = _apply(tree, tmp_path / "wt")
    session = ["--session", str(worktree)]
    # The person's editor appends a line of their own and leaves the markers in.
    monkeypatch.setenv("EDITOR", str(_editor(tmp_path, "echo '/* my note */' >> \"$1\"\n")))
    assert main(["resolve", SNAP, "--edit", *session]) == 2
    err = capsys.readouterr().err
    assert "still has conflict markers" in err and "your text is kept in" in err
    kept = Path(err.split("your text is kept in ", 1)[1].split(":", 1)[0])
    assert kept.read_text().endswith("/* my note */\n") and "<<<<<<<" in kept.read_text()
    assert str(kept).startswith(str(Path(str(worktree)).parent)) or "patchsmith" in str(kept)
    assert not str(kept).startswith(str(tree))
    # The next --edit opens that file, not the proposal: the note is still there.
    monkeypatch.setenv(
        "EDITOR",
        str(
            _editor(
                tmp_path, "grep -q 'my note' \"$1\" || exit 7\nsed -i '/^[<|=>]\\{7\\}/d' \"$1\"\n"
            )
        ),
    )
    assert main(["resolve", SNAP, "--edit", *session]) == 1
    assert "starting from your earlier edit" in capsys.readouterr().err
    assert not kept.exists()
    assert "/* my note */" in (worktree / "drivers/md/dm-snap.c").read_text()


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("'vi", "cannot be parsed"),
        ("/nonexistent/editor --wait", "cannot run the editor"),
        ("false", "exited with 1"),
    ],
)
def test_a_broken_editor_is_bad_input_not_a_crash(
    tree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    said: str,
) -> None:
    worktree = _apply(tree, tmp_path / "wt")
    capsys.readouterr()
    monkeypatch.setenv("EDITOR", value)
    assert main(["resolve", SNAP, "--edit", "--session", str(worktree)]) == 2
    err = capsys.readouterr().err
    assert said in err and "hint:" in err and "internal error" not in err


# --- a data home that cannot be written -------------------------------------------------------

_CHILD = """
import contextlib, io, json, sys
from patchsmith.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    err.flush()
    results.append([code, err.buffer.getvalue().decode()])
print(json.dumps(results))
"""


def _run_read_only(
    data: Path, commands: dict[str, list[str]], cwd: Path
) -> dict[str, tuple[int, str]]:
    """Run ``commands`` in a child process that sees ``data`` read-only: a private read-only
    bind mount for root (whom permissions do not stop), the permission bits for anyone else."""
    child = [sys.executable, "-c", _CHILD, json.dumps(list(commands.values()))]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root needs unshare(1) to make a read-only directory")
        script = (
            'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
        )
        child = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(data),
            *child,
        ]
        result = subprocess.run(child, capture_output=True, text=True, cwd=cwd, check=False)
        if result.returncode != 0 and "mount" in result.stderr:
            pytest.skip(f"cannot make a read-only mount here: {result.stderr.strip()}")
    else:
        modes = {}
        for folder, _dirs, _files in os.walk(data):
            modes[folder] = os.stat(folder).st_mode
            os.chmod(folder, 0o555)
        try:
            result = subprocess.run(child, capture_output=True, text=True, cwd=cwd, check=False)
        finally:
            for folder, mode in modes.items():
                os.chmod(folder, mode)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    return {name: (int(code), str(err)) for name, (code, err) in zip(commands, found, strict=True)}


def test_every_subcommand_with_a_read_only_data_home(tree: Path, tmp_path: Path) -> None:
    data = Path(os.environ["XDG_DATA_HOME"])
    # A session on a plain tree (its repository and session live in the data home) with one
    # remembered decision; then the data home becomes read-only.
    worktree = _apply(tree, tmp_path / "wt")
    assert main(["resolve", "Makefile#1", "--accept", "--session", str(worktree)]) == 1
    exported = tmp_path / "memory.txt"
    assert main(["memory", "export", str(exported)]) == 0
    out = tmp_path / "out"
    out.mkdir()
    session = ["--session", str(worktree)]
    patch = str(DEMO_PATCH)
    commands = {
        "ls": ["ls", patch],
        "filter": ["filter", patch, "-o", str(out / "f.patch")],
        "check": ["check", patch, "--tree", str(tree)],
        "apply": ["apply", patch, "--tree", str(tree), "--branch", "patchsmith/b"],
        "apply --worktree": [
            *("apply", patch, "--tree", str(tree), "--branch", "patchsmith/c"),
            *("--worktree", str(out / "c")),
        ],
        "status": ["status", *session],
        "resolve": ["resolve", SNAP, "--upstream", *session],
        "resolve --no-remember": ["resolve", SNAP, "--upstream", "--no-remember", *session],
        "resolve --confirm-all": ["resolve", "--confirm-all", *session],
        "tui": ["tui", *session],
        "memory list": ["memory", "list"],
        "memory forget": ["memory", "forget", "--all"],
        "memory import": ["memory", "import", str(exported)],
        "memory export": ["memory", "export", str(out / "m.txt")],
        "abort": ["abort", *session],
        "finish": ["finish", *session, "-o", str(out / "done.patch")],
        "report": ["report", "--format", "md", "-o", str(out / "r.md"), *session],
        "preflight": ["preflight", "--ko", str(out / "missing.ko"), "--tree", str(tree)],
        "build": ["build", *session],
        "package": ["package", *session, "-o", str(out / "m.tgz")],
        "demo": ["demo", "--workdir", str(out / "demo"), "--no-tui"],
        "completion": ["completion", "bash"],
    }
    assert {argv[0] for argv in commands.values()} == set(COMMANDS)  # a new one is tried too
    results = _run_read_only(data, commands, tmp_path)
    for name, (code, err) in results.items():
        assert code in (0, 1, 2), (name, code, err)
        assert "internal error" not in err and "Traceback" not in err, (name, err)
        if code == 2:
            assert "hint:" in err, (name, err)
    refused = {
        "apply": "cannot write patchsmith's data",
        "apply --worktree": "cannot write patchsmith's data",
        "resolve": "cannot write the resolution memory",
        "resolve --no-remember": "cannot write the session",
        "resolve --confirm-all": "cannot write the session",
        "memory forget": "cannot write the resolution memory",
        "memory import": "cannot write the resolution memory",
        "abort": str(data / "patchsmith" / "trees"),  # its lock or its session, named
    }
    for name, said in refused.items():
        code, err = results[name]
        assert code == 2 and said in err, (name, code, err)
    assert results["status"][0] == 1
    assert results["memory list"][0] == 0
    assert results["demo"][0] == 0  # the demo keeps its data in its own folder
    # Nothing changed: the session and the memory are as they were.
    assert main(["memory", "list", "--json"]) == 0
    assert len(memory.Memory().entries()) == 1


def test_a_data_home_that_cannot_be_created_is_bad_input(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "data"))
    assert main(["apply", str(DEMO_PATCH), "--tree", str(tree)]) == 2
    err = capsys.readouterr().err
    assert "cannot write patchsmith's data" in err and "XDG_DATA_HOME" in err
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("HOME")
    monkeypatch.setattr(
        Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError()))
    )
    assert main(["apply", str(DEMO_PATCH), "--tree", str(tree)]) == 2
    assert "XDG_DATA_HOME and HOME are unset" in capsys.readouterr().err


def test_memory_that_fails_after_the_resolution_is_said_not_hidden(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data home passed the check made before the resolution, then could not take the
    record (the disk filled up in between): the resolution stands, and the command says it was
    not remembered (it exited 2 with only "cannot write the resolution memory", the hunk
    settled all the same)."""
    worktree = _apply(tree, tmp_path / "wt")
    capsys.readouterr()

    def full(self: memory.Memory, entry: memory.Entry) -> None:
        raise memory._unusable(self.folder, OSError(28, "No space left on device"))

    monkeypatch.setattr(memory.Memory, "put", full)
    session = ["--session", str(worktree)]
    assert main(["resolve", "Makefile#1", "--drop", "--reason", "vendor's own", *session]) == 1
    err = capsys.readouterr().err
    assert "Makefile#1: dropped is recorded and committed, but not remembered" in err
    assert "No space left on device" in err and "will ask about this hunk again" in err
    monkeypatch.undo()
    assert main(["status", *session]) == 1
    assert "dropped" in capsys.readouterr().out  # the resolution stands
    assert memory.Memory().entries() == []
    assert main(["resolve", "Makefile#1", "--undo", *session]) == 1  # and can be taken back
    assert "Makefile#1: OPEN" in capsys.readouterr().out


@pytest.mark.parametrize(
    "again", [["--undo"], ["--upstream"], ["--upstream", "--no-remember"]], ids=" ".join
)
def test_taking_back_a_remembered_resolution_needs_the_memory(
    tree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    again: list[str],
) -> None:
    """Undoing (or replacing) a remembered resolution must forget it, so a data home that
    cannot be written refuses it, changing nothing; once --no-remember is given (or for an
    undo) the hint no longer offers --no-remember, which cannot help: the decision is already
    in memory."""
    worktree = _apply(tree, tmp_path / "wt")
    session = ["--session", str(worktree)]
    assert main(["resolve", "Makefile#1", "--drop", "--reason", "vendor's own", *session]) == 1
    capsys.readouterr()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    data = os.environ["XDG_DATA_HOME"]
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "data"))
    assert main(["resolve", "Makefile#1", *again, *session]) == 2
    err = capsys.readouterr().err
    assert "cannot write the resolution memory" in err
    if again == ["--upstream"]:  # refused before anything, as any remembering resolution
        assert "or resolve with --no-remember" in err
    else:
        assert "Makefile#1's resolution is remembered there, and taking it back must" in err
        assert "nothing was changed" in err and "--no-remember" not in err
    monkeypatch.setenv("XDG_DATA_HOME", data)
    assert main(["status", *session]) == 1  # dm-snap.c#3 is still open
    assert "dropped" in capsys.readouterr().out
    assert len(memory.Memory().entries()) == 1

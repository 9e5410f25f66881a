"""The error boundary: a broken environment or hostile input is exit 2 with a message and a hint.

Every subcommand is run in a real process (``python -m patchsmith``) with standard output closed
(``>&-``) and on a full disk (``> /dev/full``): it ends with exit 2 and says why on stderr (or,
where it writes nothing to stdout, with its usual code), never a traceback and never "internal
error". A reader that goes away (``| head``) ends the command quietly with 141, as it ends
``cat`` or ``git log``. The rest are the cases that used to be internal errors: a NUL in a file
name, ``-o`` naming a folder or a place that cannot be written (and a temporary file left in the
current directory), reports of a patch whose file names are not UTF-8.
"""

from __future__ import annotations

import errno
import html
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from patchsmith.cli import BROKEN_PIPE, main
from patchsmith.errors import OutputError
from patchsmith.output import write_output
from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module
from tests.ship.test_preflight import _headers_dir
from tests.support.paths import DEMO, DEMO_PATCH, REPO


def run(
    args: Sequence[str], stdout: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``patchsmith ARGS`` in a process of its own, standard output ``closed``, ``full``
    (/dev/full) or ``pipe``."""
    command = [sys.executable, "-m", "patchsmith", *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment.pop("PATCHSMITH_DEBUG", None)
    if stdout == "closed":
        return subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *command],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=environment,
            check=False,
        )
    if stdout == "full":
        with open("/dev/full", "wb") as full:
            return subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=full,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=environment,
                check=False,
            )
    return subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=cwd,
        env=environment,
        check=False,
    )


def _apply(tree: Path, worktree: Path) -> Path:
    code = main(["apply", str(DEMO_PATCH), "--tree", str(tree), "--worktree", str(worktree)])
    assert code == 1, "the demo patch leaves hunks open"
    return worktree


def _open_hunks(worktree: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    main(["status", "--json", "--session", str(worktree)])
    document = json.loads(capsys.readouterr().out)
    return sorted({item["hunk"] for item in document["open_items"] if item["hunk"]})


@pytest.fixture
def scene(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Path]:
    """The demo scenario: a session with open hunks, a settled one, a module and headers."""
    for name in ("vendor", "vanilla"):
        shutil.copytree(DEMO / name, tmp_path / name, symlinks=True)
    open_session = _apply(tmp_path / "vendor", tmp_path / "open")
    settled_tree = tmp_path / "vendor-copy"
    shutil.copytree(DEMO / "vendor", settled_tree, symlinks=True)
    settled = _apply(settled_tree, tmp_path / "settled")
    for hunk in _open_hunks(settled, capsys):
        assert main(["resolve", hunk, "--upstream", "--session", str(settled)]) in (0, 1)
    assert _open_hunks(settled, capsys) == []
    module = craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    capsys.readouterr()
    return {
        "root": tmp_path,
        "tree": tmp_path / "vendor",
        "open": open_session,
        "settled": settled,
        "module": module,
        "headers": _headers_dir(tmp_path / "headers"),
    }


def _commands(scene: dict[str, Path], stdout: str) -> list[tuple[list[str], set[int]]]:
    """(arguments, the exit codes allowed) for every subcommand, in an order that works: what
    each run does may be undone or used by the next (apply, then abort of what it made)."""
    root, patch, tree = scene["root"], str(DEMO_PATCH), str(scene["tree"])
    session_open = ["--session", str(scene["open"])]
    made = root / f"made-{stdout}"
    # With stdout full, apply makes its worktree (then fails to show it); closed, it refuses.
    aborted = made if stdout == "full" else scene["open"]
    return [
        (["ls", "--hunks", patch], {2}),
        (["filter", patch, "--only", "drivers/md"], {2}),
        (["filter", patch, "-o", str(root / f"md-{stdout}.patch")], {0}),
        (["check", patch, "--tree", tree], {2}),
        (["check", patch, "--tree", tree, "--json"], {2}),
        (["apply", patch, "--tree", tree, "--worktree", str(made), "--branch", made.name], {2}),
        (["status", *session_open], {2}),
        (["status", "--json", *session_open], {2}),
        (["resolve", "drivers/md/dm-snap.c#3", *session_open], {2}),
        (["resolve", "Makefile#1", "--accept", *session_open], {2}),
        (["resolve", *session_open], {2}),
        (["tui", *session_open], {2}),
        (["memory", "list"], {2}),
        (["memory", "export", "-"], {2}),
        # The gate is closed: finish and build say so on stderr (exit 1) and write nothing to
        # stdout, unless it is closed, which is refused before anything is looked at.
        (["finish", *session_open], {2} if stdout == "closed" else {1}),
        (["build", *session_open], {2} if stdout == "closed" else {1}),
        (["report", "--format", "md", *session_open], {2}),
        (["report", "--format", "json", "-o", str(root / f"r-{stdout}.json"), *session_open], {1}),
        (
            [
                "finish",
                "-o",
                str(root / f"carried-{stdout}.patch"),
                "--session",
                str(scene["settled"]),
            ],
            {2},
        ),
        (["preflight", "--ko", str(scene["module"]), "--kernel-dir", str(scene["headers"])], {2}),
        (["package", str(scene["module"]), "-o", str(root / f"dm-{stdout}.tgz")], {2}),
        (["demo", "--no-tui", "--workdir", str(root / f"demo-{stdout}")], {2}),
        (["--help"], {2}),
        # abort reports on stderr only, so it works without a stdout.
        (["abort", "--session", str(aborted)], {0}),
    ]


@pytest.mark.parametrize("stdout", ["closed", "full"])
def test_every_subcommand_with_stdout_closed_or_on_a_full_disk(
    scene: dict[str, Path], stdout: str
) -> None:
    failures = []
    for args, allowed in _commands(scene, stdout):
        result = run(args, stdout)
        err = result.stderr.decode("utf-8", "replace")
        problem = None
        if result.returncode not in allowed:
            problem = f"exit {result.returncode}, wanted {sorted(allowed)}"
        elif "Traceback" in err or "internal error" in err or "Exception ignored" in err:
            problem = "a crash"
        elif result.returncode == 2:
            reason = "standard output is closed" if stdout == "closed" else "No space left"
            if reason not in err or "hint:" not in err:
                problem = f"no message saying {reason!r}"
        if problem:
            failures.append(f"patchsmith {' '.join(args)}: {problem}\n{err}")
    assert not failures, "\n".join(failures)


def test_with_stdout_closed_nothing_is_done(scene: dict[str, Path]) -> None:
    """Refused before any work: no worktree made, no hunk resolved, no patch written."""
    root = scene["root"]
    made = root / "never"
    args = ["apply", str(DEMO_PATCH), "--tree", str(scene["tree"]), "--worktree", str(made)]
    assert run(args, "closed").returncode == 2
    assert not made.exists()
    carried = root / "never.patch"
    assert (
        run(["finish", "-o", str(carried), "--session", str(scene["settled"])], "closed").returncode
        == 2
    )
    assert not carried.exists()
    # What needs no stdout still works: filter and report with -o, abort.
    out = root / "md.patch"
    result = run(["filter", str(DEMO_PATCH), "--only", "drivers/md", "-o", str(out)], "closed")
    assert result.returncode == 0 and out.read_bytes().startswith(b"diff --git a/drivers/md/")


def test_a_full_disk_leaves_no_partial_output_and_no_exception_at_exit(tmp_path: Path) -> None:
    result = run(["filter", str(DEMO_PATCH), "-o", "/dev/full"], "pipe")
    assert result.returncode == 2
    assert b"/dev/full: cannot write: No space left on device" in result.stderr
    # Python's own flush at exit would print "Exception ignored" and exit 120.
    result = run(["filter", str(DEMO_PATCH)], "full")
    assert (result.returncode, result.stderr.count(b"\n")) == (2, 2), result.stderr


def _big_patch(tmp_path: Path) -> Path:
    """Far more than a pipe holds (64 KiB), so the writer is still writing when the reader goes."""
    parts = []
    for number in range(3000):
        name = f"drivers/md/file{number}.c"
        parts.append(
            f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
            f"@@ -1,3 +1,3 @@\n int a;\n-int b{number};\n+int c{number};\n int d;\n"
        )
    target = tmp_path / "big.patch"
    target.write_text("".join(parts))
    return target


@pytest.mark.parametrize("command", [["filter"], ["ls"], ["check", "--tree", "."]])
@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_goes_away_ends_the_command_quietly(
    tmp_path: Path, command: list[str], unbuffered: str
) -> None:
    """Also with PYTHONUNBUFFERED (common in containers), where Python's own stdout drops the
    rest of a write the pipe did not take instead of raising."""
    patch = _big_patch(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "patchsmith", command[0], str(patch), *command[1:]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": unbuffered},
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # `| head -1`
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait() == BROKEN_PIPE == 141
    assert first and err == b""


def test_a_closed_stderr_loses_the_message_but_not_the_exit_code(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "patchsmith", "ls", str(tmp_path / "missing.patch")]
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" 2>&-', "sh", *command],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, b"")


def test_a_closed_stdin_is_bad_input() -> None:
    command = [sys.executable, "-m", "patchsmith", "ls", "-"]
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", *command],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == 2
    assert b"standard input is closed" in result.stderr and b"hint:" in result.stderr


# --- hostile names ------------------------------------------------------------------------------

NUL_NAME = (
    b'diff --git "a/drivers/md/x\\000y.c" "b/drivers/md/x\\000y.c"\n'
    b"index 1111111..2222222 100644\n"
    b'--- "a/drivers/md/x\\000y.c"\n'
    b'+++ "b/drivers/md/x\\000y.c"\n'
    b"@@ -1 +1 @@\n-a\n+b\n"
)


@pytest.mark.parametrize("command", [["ls"], ["filter"], ["check", "--tree", "TREE"]])
def test_a_nul_in_a_quoted_name_is_bad_input_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    patch = tmp_path / "nul.patch"
    patch.write_bytes(b"From: someone\n\n" + NUL_NAME)
    (tmp_path / "tree").mkdir()
    args = [str(tmp_path / "tree") if word == "TREE" else word for word in command[1:]]
    assert main([command[0], str(patch), *args]) == 2
    err = capsys.readouterr().err
    assert f"{patch}:3: a file name holds a NUL byte: 'a/drivers/md/x\\x00y.c'" in err
    assert "hint:" in err


# --- -o FILE --------------------------------------------------------------------------------------


def _settled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    tree = tmp_path / "vendor"
    shutil.copytree(DEMO / "vendor", tree, symlinks=True)
    worktree = _apply(tree, tmp_path / "worktree")
    for hunk in _open_hunks(worktree, capsys):
        main(["resolve", hunk, "--upstream", "--session", str(worktree)])
    capsys.readouterr()
    return worktree


def _temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*patchsmith-tmp*")]


@pytest.mark.parametrize("where", ["folder", "missing-folder", "under-a-file", "dot"])
def test_finish_refuses_an_output_it_cannot_write_before_doing_anything(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    worktree = _settled(tmp_path, capsys)
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "a-file").write_text("x")
    monkeypatch.chdir(work)
    output = {
        "folder": str(work),
        "missing-folder": str(work / "nope" / "carried.patch"),
        "under-a-file": str(work / "a-file" / "carried.patch"),
        "dot": ".",
    }[where]
    assert main(["finish", "-o", output, "--session", str(worktree)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err or "is a directory" in err
    assert "internal error" not in err
    assert _temporaries(work, tmp_path) == []
    assert main(["status", "--json", "--session", str(worktree)]) == 0
    assert json.loads(capsys.readouterr().out)["phase"] != "finished"
    # The same session finishes once -o names a file.
    assert main(["finish", "-o", str(work / "carried.patch"), "--session", str(worktree)]) == 0
    carried = (work / "carried.patch").read_bytes()
    assert carried.startswith(b"From: ") and b"\n---\n" in carried and b"\ndiff --git " in carried


def test_an_output_that_fails_half_way_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.patch"
    target.write_bytes(b"the old content\n")

    def full(_path: object, _target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match=r"out\.patch: cannot write: No space left on device"):
        write_output(target, [b"new ", b"content\n"])
    assert target.read_bytes() == b"the old content\n"
    assert _temporaries(tmp_path) == []


def test_a_malformed_hunk_found_while_writing_leaves_the_old_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """filter reads hunks lazily: the error comes after some of the output was made."""
    good = DEMO_PATCH.read_bytes()
    broken = good + b"diff --git a/drivers/md/z.c b/drivers/md/z.c\n--- a/drivers/md/z.c\n"
    broken += b"+++ b/drivers/md/z.c\n@@ -1,3 +1,3 @@\n-a\n+b\n"
    patch = tmp_path / "broken.patch"
    patch.write_bytes(broken)
    target = tmp_path / "md.patch"
    target.write_bytes(b"the old content\n")
    assert main(["filter", str(patch), "--only", "drivers/md", "-o", str(target)]) == 2
    assert "hunk at line" in capsys.readouterr().err
    assert target.read_bytes() == b"the old content\n"
    assert _temporaries(tmp_path) == []


def test_an_output_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "carried.patch"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_output(target, b"new")
    assert (target.read_bytes(), target.stat().st_mode & 0o777) == (b"new", 0o640)
    link = tmp_path / "link.patch"
    link.symlink_to(target)
    write_output(link, b"through the link")
    assert link.is_symlink() and target.read_bytes() == b"through the link"


# --- names that are not UTF-8 -----------------------------------------------------------------

LATIN1 = "drivers/md/caf\udce9.c"  # b"caf\xe9.c": a Latin-1 name, read with surrogateescape


@pytest.fixture
def latin1_scene(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    (tree / "drivers/md").mkdir(parents=True)
    (tree / "drivers/md/caf\udce9.c").write_bytes(b"int a;\nint b;\nint c;\n")
    patch = tmp_path / "latin1-name.patch"
    patch.write_bytes(
        b"--- a/drivers/md/caf\xe9.c\n+++ b/drivers/md/caf\xe9.c\n"
        b"@@ -1,3 +1,3 @@\n int a;\n-int b;\n+int B;\n int c;\n"
    )
    return tree, patch


def test_reports_of_a_latin1_file_name_are_valid_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], latin1_scene: tuple[Path, Path]
) -> None:
    tree, patch = latin1_scene
    worktree = tmp_path / "worktree"
    assert main(["apply", str(patch), "--tree", str(tree), "--worktree", str(worktree)]) == 0
    for fmt in ("md", "html", "json"):
        target = tmp_path / f"report.{fmt}"
        assert main(["report", "--format", fmt, "-o", str(target), "--session", str(worktree)]) == 0
        text = target.read_bytes().decode("utf-8")  # strict: valid UTF-8
        if fmt == "json":
            names = json.dumps(json.loads(text))
            assert "caf\\udce9.c" in names  # the same name, read back
        else:
            shown = html.unescape(text) if fmt == "html" else text
            assert '"drivers/md/caf\\351.c"' in shown  # quoted as git quotes such a name
    assert (
        main(
            [
                "check",
                str(patch),
                "--tree",
                str(tree),
                "--report",
                "html",
                "-o",
                str(tmp_path / "c.html"),
            ]
        )
        == 0
    )


def test_a_latin1_name_is_written_as_its_bytes_whatever_the_locale(
    latin1_scene: tuple[Path, Path],
) -> None:
    """``ls`` writes the name's bytes, as ``lsdiff`` does; ``check``'s table quotes it, as
    ``git status`` does, so ``caf\\xe9.c`` and ``caf\\xe8.c`` never both show as ``caf�.c``."""
    tree, patch = latin1_scene
    strict = {"PYTHONIOENCODING": "utf-8:strict"}  # what a UTF-8 locale gives Python
    listed = run(["ls", str(patch)], "pipe", env=strict)
    assert listed.returncode == 0 and b"drivers/md/caf\xe9.c" in listed.stdout
    checked = run(["check", str(patch), "--tree", str(tree)], "pipe", env=strict)
    assert checked.returncode == 0 and b'"drivers/md/caf\\351.c"' in checked.stdout
    as_json = run(["ls", "--json", str(patch)], "pipe", env=strict)
    assert as_json.returncode == 0
    document = json.loads(as_json.stdout.decode("utf-8"))
    assert document["files"][0]["path"].endswith(LATIN1.split("/")[-1])


# --- what is left to the boundary --------------------------------------------------------------


def test_the_system_refusing_is_exit_2_and_a_bug_is_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import patchsmith.cli.ls as ls

    def refused(*_args: object, **_options: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/trees/linux/.git/index")

    monkeypatch.setattr(ls, "read_index", refused)
    assert main(["ls", str(DEMO_PATCH)]) == 2
    err = capsys.readouterr().err
    assert "cannot continue: /srv/trees/linux/.git/index: Permission denied" in err
    assert "hint:" in err

    def missing(*_args: object, **_options: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", "/nowhere")

    monkeypatch.setattr(ls, "read_index", missing)
    assert main(["ls", str(DEMO_PATCH)]) == 3  # patchsmith looked where nothing is: a bug
    assert "internal error" in capsys.readouterr().err

    def exhausted(*_args: object, **_options: object) -> None:
        raise MemoryError

    monkeypatch.setattr(ls, "read_index", exhausted)
    assert main(["ls", str(DEMO_PATCH)]) == 2
    assert "out of memory" in capsys.readouterr().err


def test_a_bomb_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import bz2

    bomb = tmp_path / "patch-2.6.16.29.bz2"
    bomb.write_bytes(bz2.compress(bytes(4 << 20)))
    assert main(["ls", str(bomb), "--max-size", "1M"]) == 2
    err = capsys.readouterr().err
    assert "refused as a likely decompression bomb" in err and "--max-size" in err
    assert main(["ls", str(bomb), "--max-size", "8M"]) == 2  # read, and then: not a patch
    assert "binary data, not a patch" in capsys.readouterr().err
    assert main(["ls", str(bomb), "--max-size", "lots"]) == 2
    assert "'lots' is not a size" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["device", "missing-folder", "under-a-file"])
def test_package_refuses_an_output_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """A device named with -o (as root) was renamed over: /dev/null replaced by a tarball."""
    module = craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    (tmp_path / "a-file").write_text("x")
    fifo = tmp_path / "device"
    os.mkfifo(fifo)  # stands in for /dev/null: not a regular file, must not be replaced
    output = {
        "device": fifo,
        "missing-folder": Path("/proc/no-such-folder/dm.tgz"),
        "under-a-file": tmp_path / "a-file" / "dm.tgz",
    }[where]
    assert main(["package", str(module), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and str(output) in err
    assert not fifo.is_file() and fifo.exists()
    assert _temporaries(tmp_path) == [] and list(tmp_path.rglob("*.part")) == []


@pytest.mark.parametrize(
    ("number", "said", "not_said"),
    [
        (errno.ENAMETOOLONG, "longer than the file system takes", "permissions"),
        (errno.ENOSPC, "file system is full", "permissions"),
        (errno.EACCES, "permissions", "full"),
    ],
    ids=["name-too-long", "no-space", "permission"],
)
def test_a_system_refusal_at_the_boundary_gets_the_hint_for_what_it_is(
    number: int,
    said: str,
    not_said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse(_args: object) -> int:
        raise OSError(number, os.strerror(number), "/somewhere/x")

    from patchsmith.cli import ls

    monkeypatch.setattr(ls, "run", refuse)
    assert main(["ls", str(DEMO_PATCH)]) == 2
    error = capsys.readouterr().err
    assert f"/somewhere/x: {os.strerror(number)}" in error
    hint = error.split("hint: ", 1)[1]
    assert said in hint and not_said not in hint

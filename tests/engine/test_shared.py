"""predict() shared among processes gives what one process gives, in the same order.

The patch is built to make the processes' work depend on each other: files the patch creates
and then patches beyond (a new file used as a folder, a symlink it creates or re-targets,
pointing out of the tree), a file diffed twice far apart, a rename and a later diff of the new
name, a link and a folder link in the tree, dozens of ordinary files between them so the
dependent diffs fall into different processes' chunks, a conflict (its evidence travels back
too), and a name no file system takes (an error in one file).
"""

from __future__ import annotations

import difflib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.engine.predict import (
    FilePrediction,
    _Plan,
    predict,
    predict_shared,
)
from patchsmith.engine.tree import Tree
from patchsmith.errors import TreeError
from patchsmith.patchfile.index import PatchIndex, index_bytes

ORDINARY = 48


def _source(number: int) -> str:
    return "".join(
        [
            f"static int probe_{number}(struct device *dev)\n",
            "{\n",
            f"\tint err = setup_{number}(dev);\n",
            "\n",
            "\tif (err)\n",
            "\t\treturn err;\n",
            *[f"\tregister_{number}_{step}(dev);\n" for step in range(number % 5 + 3)],
            "\treturn 0;\n",
            "}\n",
        ]
    )


def _diff(old_name: str, new_name: str, old: str, new: str, headers: str = "") -> str:
    body = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{old_name}",
            f"b/{new_name}",
            n=3,
        )
    )
    return f"diff --git a/{old_name} b/{new_name}\n{headers}{body}"


def _edit(text: str, number: int) -> str:
    return text.replace(f"setup_{number}(dev)", f"setup_{number}(dev, 0)").replace(
        "\treturn 0;\n", f"\tannounce_{number}(dev);\n\treturn 0;\n"
    )


def _new_link(name: str, target: str) -> str:
    return (
        f"diff --git a/{name} b/{name}\nnew file mode 120000\nindex 0000000..1234567\n"
        f"--- /dev/null\n+++ b/{name}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    )


def _build(tmp_path: Path, failing: bool) -> tuple[PatchIndex, Path]:
    """The tree, and the patch: dependent diffs at the start and at the end, ordinary ones
    between (and, with ``failing``, a diff of a name too long to open, last)."""
    root = tmp_path / "tree"
    files = {f"drivers/net/dev{n:02}.c": _source(n) for n in range(ORDINARY)}
    files["drivers/twice.c"] = _source(90)
    files["drivers/old_name.c"] = _source(91)
    files["drivers/real/inside.c"] = _source(92)
    files["drivers/retarget_me/kept.c"] = _source(93)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # The vendor rewrote the line one hunk removes: a conflict, with candidates and alignment.
    (root / "drivers/net/dev07.c").write_text(
        _source(7).replace("setup_7(dev)", "vendor_setup_7(dev, 1)")
    )
    os.symlink("net/dev00.c", root / "drivers/linked.c")  # a file that is a link
    os.symlink("real", root / "drivers/folder_link")  # a folder that is a link
    os.symlink("retarget_me", root / "drivers/retarget")  # re-targeted by the patch

    early = [
        _diff("drivers/twice.c", "drivers/twice.c", _source(90), _edit(_source(90), 90)),
        _diff(
            "drivers/old_name.c",
            "drivers/new_name.c",
            _source(91),
            _source(91),
            "similarity index 100%\nrename from drivers/old_name.c\nrename to drivers/new_name.c\n",
        ),
        _new_link("drivers/escape", "../../outside"),  # made, and refused: it points out
        _new_link("drivers/fresh_link", "net"),
        _diff("/dev/null", "drivers/made_file", "", "a new file\n", "new file mode 100644\n")
        .replace("--- a//dev/null", "--- /dev/null")
        .replace("diff --git a//dev/null", "diff --git a/drivers/made_file"),
        "diff --git a/drivers/retarget b/drivers/retarget\nindex 1111111..2222222 120000\n"
        "--- a/drivers/retarget\n+++ b/drivers/retarget\n@@ -1 +1 @@\n-retarget_me\n"
        "\\ No newline at end of file\n+real\n\\ No newline at end of file\n",
    ]
    middle = [
        _diff(name, name, text, _edit(text, n))
        for n, (name, text) in enumerate(list(files.items())[:ORDINARY])
    ]
    late = [
        _diff(
            "drivers/twice.c",
            "drivers/twice.c",
            _edit(_source(90), 90),
            _edit(_source(90), 90).replace("return err;", "return -EIO;"),
        ),
        _diff("drivers/new_name.c", "drivers/new_name.c", _source(91), _edit(_source(91), 91)),
        _diff("drivers/escape/x.c", "drivers/escape/x.c", _source(1), _edit(_source(1), 1)),
        _diff("drivers/fresh_link/y.c", "drivers/fresh_link/y.c", "y\n", "z\n"),
        _diff("drivers/made_file/z.c", "drivers/made_file/z.c", "y\n", "z\n"),
        _diff(
            "drivers/retarget/kept.c",
            "drivers/retarget/kept.c",
            _source(93),
            _edit(_source(93), 93),
        ),
        _diff("drivers/linked.c", "drivers/linked.c", _source(0), _edit(_source(0), 0)),
        _diff(
            "drivers/folder_link/inside.c",
            "drivers/folder_link/inside.c",
            _source(92),
            _edit(_source(92), 92),
        ),
    ]
    if failing:
        late.append(_diff(f"drivers/{'x' * 300}.c", f"drivers/{'x' * 300}.c", "a\n", "b\n"))
    return index_bytes("".join(early + middle + late).encode()), root


def _document(files: list[FilePrediction]) -> str:
    return json.dumps([file.to_json(verbose=True) for file in files])


@pytest.mark.parametrize("keep_contents", [False, True])
@pytest.mark.parametrize("workers", [2, 3])
def test_shared_prediction_equals_one_process(
    tmp_path: Path, workers: int, keep_contents: bool
) -> None:
    index, root = _build(tmp_path, failing=False)
    alone = predict(index, index.files, root, strip=1, keep_contents=keep_contents).files
    plan = _Plan(index, list(index.files), Tree(root), 1, 2, None, None, keep_contents, None)
    assert plan.shareable()
    # Static: chunk k goes to process k % workers, so every process predicts some diffs, and
    # the diffs that depend on each other land in different processes.
    shared = predict_shared(plan, workers, static=True)
    assert shared is not None
    assert _document(shared) == _document(list(alone))
    assert shared == list(alone)
    assert [f.vendor_bytes for f in shared] == [f.vendor_bytes for f in alone]
    assert [[h.placement for h in f.hunks] for f in shared] == [
        [h.placement for h in f.hunks] for f in alone
    ]
    # The dependent diffs were judged as one process judges them (not vacuously equal).
    reasons = {f.path: f.reason for f in alone}
    assert "drivers/escape is a symlink created by an earlier diff" in reasons["drivers/escape/x.c"]
    assert (
        "drivers/made_file is a file created by an earlier diff" in reasons["drivers/made_file/z.c"]
    )
    assert "changed by an earlier diff" in reasons["drivers/retarget/kept.c"]
    assert "drivers/linked.c is a symlink in the tree" in reasons["drivers/linked.c"]
    (conflict,) = [f for f in alone if f.path == "drivers/net/dev07.c"]
    assert conflict.hunks[0].candidates and conflict.hunks[0].alignment
    # And through predict() itself, which hands chunks to whoever asks first.
    dynamic = predict(
        index, index.files, root, strip=1, keep_contents=keep_contents, workers=workers
    )
    assert _document(list(dynamic.files)) == _document(list(alone))


@pytest.mark.parametrize("workers", [2, 3])
def test_each_process_encodes_its_runs_and_together_they_are_the_whole_text(
    tmp_path: Path, workers: int
) -> None:
    index, root = _build(tmp_path, failing=False)
    alone = list(predict(index, index.files, root, strip=1, keep_contents=False).files)
    plan = _Plan(index, list(index.files), Tree(root), 1, 2, None, None, False, None)
    calls: list[int] = []

    def encode(files: Sequence[FilePrediction]) -> str:
        calls.append(len(files))
        return _document(list(files))[1:-1]

    pieces: list[tuple[int, str]] = []
    # Static: chunk k to process k % workers, so each process has runs that the others' runs
    # interleave, and the diffs of one path pull a late diff into an early chunk.
    assert predict_shared(plan, workers, static=True, encode=encode, encoded=pieces) is not None
    firsts = [first for first, _text in pieces]
    assert len(firsts) > workers and len(set(firsts)) == len(firsts)  # many runs, each once
    assert calls  # this process encoded its own runs (the children's calls are not seen here)
    joined = ", ".join(text for _first, text in sorted(pieces))
    assert f"[{joined}]" == _document(alone)
    # And through predict(), which hands chunks out dynamically, and in one process.
    for count in (1, workers):
        made = predict(
            index, index.files, root, strip=1, keep_contents=False, workers=count, encode=encode
        )
        assert made.encoded is not None
        assert f"[{', '.join(made.encoded)}]" == _document(alone)


def test_an_error_in_one_file_is_the_error_one_process_raises(tmp_path: Path) -> None:
    index, root = _build(tmp_path, failing=True)
    with pytest.raises(TreeError) as alone:
        predict(index, index.files, root, strip=1)
    plan = _Plan(index, list(index.files), Tree(root), 1, 2, None, None, False, None)
    # The failing diff is the last: in the last chunk, which a child predicts (static, two
    # processes, an even number of chunks). Its failure is reported, not a partial result.
    assert predict_shared(plan, 2, static=True) is None
    with pytest.raises(TreeError) as shared:
        predict(index, index.files, root, strip=1, workers=2)
    assert shared.value.details() == alone.value.details()
    assert "cannot read drivers/xxx" in alone.value.message


def test_check_prints_the_same_with_workers_and_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    index, root = _build(tmp_path, failing=False)
    patch = tmp_path / "update.patch"
    patch.write_bytes(index.sources[0].data)
    outputs = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("PATCHSMITH_WORKERS", workers)
        for extra in ((), ("--json", "--verbose")):
            assert main(["check", str(patch), "--tree", str(root), *extra]) == 1
            outputs[workers, extra] = capsys.readouterr().out
    assert outputs["1", ()] == outputs["2", ()]
    assert outputs["1", ("--json", "--verbose")] == outputs["2", ("--json", "--verbose")]
    assert "drivers/escape/x.c" in outputs["2", ()]
    monkeypatch.setenv("PATCHSMITH_WORKERS", "some")
    assert main(["check", str(patch), "--tree", str(root)]) == 2
    assert "PATCHSMITH_WORKERS=some" in capsys.readouterr().err


def test_a_process_with_another_thread_does_not_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, root = _build(tmp_path, failing=False)
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counted_fork)
    alone = predict(index, index.files, root, strip=1, keep_contents=False)
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        # A child forked now could wait forever for a lock the other thread holds.
        threaded = predict(index, index.files, root, strip=1, keep_contents=False, workers=2)
    finally:
        release.set()
        thread.join()
    assert forks == []
    assert _document(list(threaded.files)) == _document(list(alone.files))
    predict(index, index.files, root, strip=1, keep_contents=False, workers=2)
    assert forks == [1]  # without the thread, it does fork (the count above is not vacuous)

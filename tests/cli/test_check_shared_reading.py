"""``check`` on a patch big enough for its worker processes: a malformed patch is refused with
the error reading it gives (the first in patch order, whatever the selection keeps, before any
other complaint such as a wrong lookup), whichever process would have met it; each expected
error is what :func:`~patchsmith.patchfile.index.index_bytes` raises on the same bytes (a
lazy reading of the hunks, tried for speed, must keep these). And the JSON of the files, made
by the processes that predicted them, is written into the document as the text ``json_text``
makes of the whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.cli.common import json_text
from patchsmith.engine.predict import predict
from patchsmith.errors import PatchParseError
from patchsmith.patchfile.index import index_bytes

FILES = 70
"""Enough file diffs for check to fork its workers (PARALLEL_FROM is 64)."""


def _source(number: int) -> str:
    return (
        f"static int probe_{number}(struct device *dev)\n{{\n"
        f"\tint err = setup_{number}(dev);\n\n\tif (err)\n\t\treturn err;\n"
        f"\tregister_{number}(dev);\n\treturn 0;\n}}\n"
    )


def _diff(number: int, old_count: str = "3,7", new_count: str = "3,8") -> str:
    path = f"drivers/md/dm-part{number:02d}.c"
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -{old_count} +{new_count} @@ static int probe_{number}(struct device *dev)\n"
        f" \tint err = setup_{number}(dev);\n \n \tif (err)\n \t\treturn err;\n"
        f" \tregister_{number}(dev);\n+\tannounce_{number}(dev);\n \treturn 0;\n }}\n"
    )


def _tree(tmp_path: Path) -> Path:
    """A tree with the FILES files the diffs change."""
    tree = tmp_path / "tree"
    for number in range(FILES):
        path = tree / f"drivers/md/dm-part{number:02d}.c"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_source(number))
    return tree


def _case(tmp_path: Path, bad: dict[int, tuple[str, str]]) -> tuple[Path, Path, str]:
    """The tree, a patch of FILES diffs in which those numbered in ``bad`` have the given
    (wrong) counts, and the error the eager read gives."""
    tree = _tree(tmp_path)
    text = "".join(_diff(number, *bad.get(number, ("3,7", "3,8"))) for number in range(FILES))
    patch = tmp_path / "update.patch"
    patch.write_text(text)
    with pytest.raises(PatchParseError) as eager:
        index_bytes(text.encode(), name=str(patch))
    return tree, patch, eager.value.details()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_a_miscounted_hunk_late_in_the_patch_is_the_eager_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workers: str,
    extra: tuple[str, ...],
) -> None:
    # The last file diff says 8 old lines for 7: its hunk runs into the trailer's end. In two
    # processes it is in the last chunk, which a worker may predict.
    tree, patch, expected = _case(tmp_path, {FILES - 1: ("3,8", "3,9")})
    monkeypatch.setenv("PATCHSMITH_WORKERS", workers)
    assert main(["check", str(patch), "--tree", str(tree), *extra]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert captured.out == ""  # nothing of the prediction is written


def test_a_miscounted_hunk_in_a_file_left_out_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reading the patch whole refused it whatever the selection kept; so does the lazy read.
    tree, patch, expected = _case(tmp_path, {5: ("3,6", "3,8")})
    assert main(["check", str(patch), "--tree", str(tree), "-x", "*part05*"]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_first_malformed_diff_in_patch_order_is_the_one_reported(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workers: str,
) -> None:
    # Diff 3 is left out and malformed; diff 60, kept, is malformed too and is the one the
    # prediction meets. The eager read stopped at diff 3.
    tree, patch, expected = _case(tmp_path, {3: ("3,6", "3,8"), 60: ("3,8", "3,9")})
    assert "hunk at line 40 " in expected  # diff 3's (twelve lines a diff); diff 60's is 724
    monkeypatch.setenv("PATCHSMITH_WORKERS", workers)
    assert main(["check", str(patch), "--tree", str(tree), "-x", "*part03*", "--json"]) == 2
    assert expected in capsys.readouterr().err


def test_a_malformed_patch_is_refused_before_a_wrong_lookup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -p2 finds none of the files (a wrong lookup check refuses), but the patch's own error
    # comes first, as when the whole patch was read before anything else.
    tree, patch, expected = _case(tmp_path, {40: ("3,6", "3,8")})
    assert main(["check", str(patch), "--tree", str(tree), "-p", "2"]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "-p" not in err.replace(expected, "")


def test_json_made_by_the_workers_is_the_document_json_dumps_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The files' JSON is made in each process, a run of files at a time, and the document is
    # written around it: the text must be what json_text makes of the whole document, here
    # with a name that is not UTF-8 (written as a surrogate escape) late in the patch.
    tree = _tree(tmp_path)
    patch = tmp_path / "update.patch"
    text = "".join(_diff(number) for number in range(FILES + 1))
    # The last diff names a file the tree lacks (missing-file, flagged), in Latin-1.
    data = text.encode().replace(f"dm-part{FILES:02d}".encode(), b"dm-caf\xe9")
    patch.write_bytes(data)
    index = index_bytes(data, name=str(patch))
    whole = predict(index, index.files, tree, strip=1, keep_contents=False)
    expected = json_text(
        {**whole.to_json(), "tree": str(tree), "left_out": 0, "warnings": []}, indent=None
    )
    assert "dm-caf\\udce9.c" in expected and '"missing-file"' in expected
    for workers in ("1", "2"):
        monkeypatch.setenv("PATCHSMITH_WORKERS", workers)
        assert main(["check", str(patch), "--tree", str(tree), "--json"]) == 1
        assert capsys.readouterr().out == expected + "\n"


def test_a_sound_patch_is_predicted_the_same_in_one_process_and_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, patch, _expected = _case(tmp_path, {7: ("3,6", "3,8")})
    patch.write_text("".join(_diff(number) for number in range(FILES)))
    outputs = []
    for workers in ("1", "2"):
        monkeypatch.setenv("PATCHSMITH_WORKERS", workers)
        assert main(["check", str(patch), "--tree", str(tree), "--json", "-x", "*part1*"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert '"left_out": 10' in outputs[0]

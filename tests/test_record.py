"""``@record``: frozen to mypy, compared and hashed like a frozen dataclass at run time."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from patchsmith.engine.predict import HunkPrediction
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import HunkLine
from patchsmith.record import record


def prediction(reason: str = "") -> HunkPrediction:
    return HunkPrediction(
        file_number=1,
        hunk_number=2,
        status=HunkStatus.OFFSET,
        expected_line=10,
        found_line=14,
        offset=4,
        fuzz=0,
        needs_review=False,
        reason=reason,
    )


def test_records_compare_and_hash_by_their_fields() -> None:
    assert prediction() == prediction()
    assert hash(prediction()) == hash(prediction())
    assert prediction() != prediction("moved")
    assert len({HunkLine("+", b"x\n"), HunkLine("+", b"x\n"), HunkLine("-", b"x\n")}) == 2


def test_records_change_through_replace() -> None:
    moved = dataclasses.replace(prediction(), reason="moved")
    assert moved.reason == "moved"
    assert moved.found_line == 14


def test_records_have_slots_and_no_instance_dict() -> None:
    line = HunkLine("+", b"x\n")
    assert not hasattr(line, "__dict__")
    with pytest.raises(AttributeError):
        line.extra = 1  # type: ignore[attr-defined]


def test_a_class_keeps_its_own_init() -> None:
    @record
    class Pair:
        left: int
        right: int

        def __init__(self, both: int) -> None:
            object.__setattr__(self, "left", both)
            object.__setattr__(self, "right", both)

    assert Pair(3) == Pair(3)
    assert (Pair(3).left, Pair(3).right) == (3, 3)


def test_mypy_refuses_an_assignment_to_a_record_field(tmp_path: Path) -> None:
    # The guard a frozen dataclass has at run time is the type checker's here: this is the test
    # that it holds, on the real classes (make types runs the same mypy on the package).
    pytest.importorskip("mypy")
    source = tmp_path / "assign.py"
    source.write_text(
        textwrap.dedent(
            """
            from patchsmith.engine.predict import HunkPrediction
            from patchsmith.patchfile.index import HunkEntry

            def move(entry: HunkEntry, prediction: HunkPrediction) -> None:
                entry.line = 3
                prediction.reason = "moved"
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", str(source)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],  # the checkout, where mypy finds patchsmith
    )
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert 'Property "line" defined in "HunkEntry" is read-only' in errors[0]
    assert 'Property "reason" defined in "HunkPrediction" is read-only' in errors[1]

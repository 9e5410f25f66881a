"""``@record``: frozen to mypy, compared and hashed like a frozen dataclass at run time."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


# --- the methods the record makes, not the dataclass -----------------------------------------

SHAPES = """
class Several:
    number: int
    name: str | None
    hidden: bytes | None = field(default=None, compare=False, repr=False)
    unhashed: tuple[int, ...] = field(default=(), hash=False)
    hashed_only: int = field(default=0, compare=False, hash=True)
    rest: tuple[object, ...] = ()

class One:
    value: object

class Empty:
    pass
"""


def both_ways() -> tuple[dict[str, type], dict[str, type]]:
    """The classes of SHAPES as records and as the dataclass a record stands for."""
    made: list[dict[str, type]] = []
    decorators: tuple[Callable[[type], type], ...] = (
        record,
        dataclasses.dataclass(slots=True, unsafe_hash=True),
    )
    for decorate in decorators:
        namespace: dict[str, Any] = {"field": dataclasses.field}
        exec(SHAPES, namespace)  # the same source both ways
        made.append({name: decorate(namespace[name]) for name in ("Several", "One", "Empty")})
    return made[0], made[1]


def values(kind: str) -> list[tuple[object, ...]]:
    if kind == "Several":
        return [
            (1, "a"),
            (1, "a", b"x"),
            (1, "a", None, (2,)),
            (1, "a", None, (), 5),
            (2, None, b"y", (3, 4), 5, ("z", 1.5)),
            (1, "b"),
        ]
    if kind == "One":
        return [(1,), ("1",), ((1, 2),), (None,)]
    return [()]


@pytest.mark.parametrize("kind", ["Several", "One", "Empty"])
def test_record_methods_answer_as_the_dataclass_does(kind: str) -> None:
    ours, theirs = both_ways()
    for left in values(kind):
        for right in values(kind):
            a, b = ours[kind](*left), ours[kind](*right)
            c, d = theirs[kind](*left), theirs[kind](*right)
            assert (a == b) is (c == d)
            assert (a != b) is (c != d)
            assert hash(a) == hash(c)
            assert repr(a) == repr(c)
        assert ours[kind](*left) != theirs[kind](*left)  # another class: never equal
        assert ours[kind](*left).__eq__(3) is NotImplemented


def test_a_record_that_holds_itself_shows_dots_not_a_recursion_error() -> None:
    ours, theirs = both_ways()
    box, their_box = ours["One"]([]), theirs["One"]([])
    box.value.append(box)
    their_box.value.append(their_box)
    assert repr(box) == repr(their_box) == "One(value=[...])"


def test_a_class_keeps_its_own_comparison_hash_and_repr() -> None:
    @record
    class Loose:
        key: int
        note: str

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Loose) and other.key == self.key

        def __hash__(self) -> int:
            return self.key

        def __repr__(self) -> str:
            return f"<{self.key}>"

    assert Loose(1, "a") == Loose(1, "b")
    assert hash(Loose(7, "a")) == 7
    assert repr(Loose(2, "x")) == "<2>"

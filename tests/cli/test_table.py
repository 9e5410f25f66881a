"""The CLI's plain-text tables: alignment, wrapping on a terminal, colour only when wanted."""

from __future__ import annotations

import io
import re

import pytest

from patchsmith.cli.table import Cell, format_table, paint, styled, use_colour

HEADER = ("file / hunk", "status", "line", "reason")
ROWS: list[list[Cell]] = [
    [("drivers/md/dm-table.c", "bold"), ("clean ×2", "green"), "", ""],
    ["  #3", ("fuzz !", "yellow"), "1249 → 1617", "fuzz 2: 4 context lines ignored"],
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_piped_rows_stay_whole_and_columns_line_up() -> None:
    lines = format_table(HEADER, ROWS, right=(2,))
    assert lines == [
        "file / hunk            status           line  reason",
        "drivers/md/dm-table.c  clean ×2",
        "  #3                   fuzz !    1249 → 1617  fuzz 2: 4 context lines ignored",
    ]


def test_a_terminal_wraps_the_last_column_under_itself() -> None:
    lines = format_table(HEADER, ROWS, right=(2,), width=70)
    assert all(len(line) <= 70 for line in lines)
    assert lines[1] == "drivers/md/dm-table.c  clean ×2"  # the names fit: nothing folds
    start = lines[0].index("reason")
    wrapped = lines[2:]
    assert len(wrapped) == 2
    assert " ".join(line[start:] for line in wrapped) == "fuzz 2: 4 context lines ignored"
    assert all(not line[:start].strip() for line in wrapped[1:])


def test_a_narrow_terminal_folds_the_first_column() -> None:
    rows: list[list[Cell]] = [
        [("drivers/net/ethernet/microsoft/mana/mana_en.c", ""), "conflict", "", "no match"]
    ]
    lines = format_table(HEADER, rows, width=50)
    assert all(len(line) <= 50 for line in lines)
    names = [line.split("  ")[0] for line in lines[1:]]
    assert "".join(names) == "drivers/net/ethernet/microsoft/mana/mana_en.c"
    assert "conflict" in lines[1]


def test_colour_paints_cells_without_moving_columns() -> None:
    plain = format_table(HEADER, ROWS, right=(2,))
    coloured = format_table(HEADER, ROWS, right=(2,), colour=True)
    assert [ANSI.sub("", line) for line in coloured] == plain
    assert "\x1b[33mfuzz !\x1b[0m" in coloured[2]
    assert coloured[0].startswith("\x1b[1mfile / hunk\x1b[0m")


def test_styled_joins_painted_parts() -> None:
    assert styled([("3 clean", "green"), "; 0 need review"], colour=False) == (
        "3 clean; 0 need review"
    )
    assert styled([("1 conflict", "bold red")], colour=True) == "\x1b[1;31m1 conflict\x1b[0m"
    assert paint("", "red", colour=True) == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("environment", "terminal", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, False),
    ],
)
def test_colour_follows_the_terminal_and_the_conventions(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], terminal: bool, expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    stream = _Terminal() if terminal else io.StringIO()
    assert use_colour(stream) is expected

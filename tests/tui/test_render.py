"""Alignment, highlighting and the display rules of the side-by-side rows (no app needed)."""

from __future__ import annotations

import pytest
from patchsmith_tui.render import (
    RowKind,
    ViewKind,
    conflict_ranges,
    highlight,
    lexer_name,
    render_view,
    split_text,
    visible,
    word_changes,
)

from tests.tui.sample import (
    VENDOR_DRIFTED_POST,
    VENDOR_DRIFTED_PRE,
    VENDOR_DRIFTED_PROPOSAL,
    VENDOR_DRIFTED_REGION,
)


def test_split_text_splits_on_newline_only() -> None:
    # str.splitlines would cut at the form feed and lose the row alignment.
    assert split_text("a\x0cb\nc\n") == ["a\x0cb", "c"]
    assert split_text("no final newline") == ["no final newline"]
    assert split_text("") == []
    assert split_text("\n\n") == ["", ""]


def test_visible_expands_tabs_and_shows_control_characters() -> None:
    assert visible("\tx") == " " * 8 + "x"
    assert visible("ab\tc") == "ab      c"
    assert visible("\x0c") == "^L"
    assert visible("line\r") == "line^M"


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        ("drivers/md/dm.c", "c"),
        ("include/linux/dm-io.h", "c"),
        ("drivers/md/Kconfig", "kconfig"),
        ("drivers/md/Makefile", "make"),
        ("drivers/md/Kbuild", "make"),
        ("arch/arm/boot/dts/board.dts", "devicetree"),
        ("arch/arm64/boot/dts/soc.dtsi", "devicetree"),
        ("scripts/checkpatch.sh", "bash"),
        ("scripts/gdb/linux/utils.py", "python"),
        ("Documentation/README", None),
    ],
)
def test_lexer_by_file_type(path: str, alias: str | None) -> None:
    assert lexer_name(path) == alias


def test_highlight_keeps_leading_and_trailing_blank_lines() -> None:
    lines = ["", "", "int x;", "", ""]
    rows = highlight(lines, "x.c")
    assert len(rows) == 5
    assert ["".join(segment.text for segment in row) for row in rows] == lines


def test_word_changes_mark_only_the_changed_words() -> None:
    left, right = word_changes("r = create(s->store);", "r = create(s->store, GFP_NOIO);")
    assert left == []
    assert right == [(len("r = create(s->store"), len("r = create(s->store, GFP_NOIO"))]


def test_drift_view_aligns_the_vendor_lines_beside_upstream() -> None:
    view = render_view(
        ("h", ViewKind.DRIFT, 0),
        "drivers/md/dm-snap.c",
        VENDOR_DRIFTED_PRE,
        VENDOR_DRIFTED_REGION,
        200,
        214,
    )
    kinds = [row.kind for row in view.rows]
    assert kinds.count(RowKind.RIGHT_ONLY) == 1  # the vendor's extra declaration
    assert kinds.count(RowKind.CHANGED) == 1  # the call with GFP_NOIO
    changed = next(row for row in view.rows if row.kind is RowKind.CHANGED)
    assert changed.left is not None
    assert changed.right is not None
    assert (changed.left.number, changed.right.number) == (204, 219)
    assert view.stops == (3, 5)
    assert view.conflicts == 0


def test_merge_view_stops_at_conflict_blocks() -> None:
    view = render_view(
        ("h", ViewKind.MERGE, 0),
        "drivers/md/dm-snap.c",
        VENDOR_DRIFTED_POST,
        VENDOR_DRIFTED_PROPOSAL,
        200,
        214,
    )
    assert view.conflicts == 1
    assert len(view.stops) == 1
    first = view.rows[view.stops[0]]
    assert first.kind is RowKind.CONFLICT
    assert first.right is not None
    assert first.right.strip.text.startswith("<<<<<<< vendor")


def test_conflict_ranges_include_markers_and_close_an_unterminated_block() -> None:
    lines = ["a", "<<<<<<< vendor", "b", "=======", "c", ">>>>>>> upstream-after", "d", "<<<<<<<"]
    assert conflict_ranges(lines) == [(1, 6), (7, 8)]


def test_the_inline_editor_indents_with_tabs_in_tab_indented_code() -> None:
    from patchsmith_tui.screens.dialogs import _indent_type

    assert _indent_type("\tif (x)\n\t\treturn 0;\n") == "tabs"
    assert _indent_type("    x = 1\n") == "spaces"
    assert _indent_type("int x;\n") == "tabs"

"""Alignment, highlighting and the display rules of the panes (no app needed).

What could fool the alignment: a vendor line beside an upstream-added line (it would read as "the
vendor has this instead"), an already-applied hunk (the vendor's lines equal upstream's added
lines, not its removed ones), blank lines at either end (a lexer that drops them shifts every
row), and a last line without a newline (a line-based lexer miscolours it).
"""

from __future__ import annotations

import pytest
from patchsmith_tui.render import (
    FileTexts,
    Mark,
    MergeTexts,
    ViewKind,
    conflict_ranges,
    highlight,
    lexer_name,
    render_file,
    render_merge,
    render_reject,
    split_text,
    upstream_lines,
    visible,
    word_changes,
)
from patchsmith_tui.screens.dialogs import indent_type

HUNK = """\
@@ -10,4 +10,5 @@ static int dm_snapshot_init(struct dm_snapshot *s)
 \tint r;
-\tr = dm_exception_store_create(s->store);
+\tr = dm_exception_store_create(s->store, GFP_KERNEL);
+\tdm_exception_store_warn(s->store);
 \treturn r;
"""
VENDOR = "\tint r;\n\tr = dm_exception_store_create(s->store, GFP_NOIO);\n\treturn r;\n"
PROPOSAL = """\
\tint r;
<<<<<<< vendor
\tr = dm_exception_store_create(s->store, GFP_NOIO);
||||||| upstream-before
\tr = dm_exception_store_create(s->store);
=======
\tr = dm_exception_store_create(s->store, GFP_KERNEL);
\tdm_exception_store_warn(s->store);
>>>>>>> upstream-after
\treturn r;
"""


def merge(vendor: str = VENDOR, result: str = PROPOSAL, base: str | None = None) -> MergeTexts:
    return MergeTexts(
        path="drivers/md/dm-snap.c",
        upstream=upstream_lines(HUNK),
        upstream_first=10,
        vendor=vendor,
        vendor_first=214,
        result=result,
        result_first=216,
        titles=("upstream", "vendor tree, line 214", "proposal"),
        base=base,
        base_first=10 if base is not None else None,
    )


def column(view_rows: object, pane: int) -> list[str | None]:
    return [row.cells[pane].text if row.cells[pane] else None for row in view_rows]  # type: ignore[attr-defined]


def test_split_text_splits_on_newline_only() -> None:
    assert split_text("a\x0cb\nc\x1cd\n") == ["a\x0cb", "c\x1cd"]
    assert split_text("") == []
    assert split_text("\n\n") == ["", ""]


def test_visible_expands_tabs_and_shows_control_characters() -> None:
    assert visible("\tx") == " " * 8 + "x"
    assert visible("a\x0cb\r") == "a^Lb^M"


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        ("drivers/md/dm.c", "c"),
        ("include/linux/dm.h", "c"),
        ("drivers/md/Kconfig", "kconfig"),
        ("drivers/md/Makefile", "make"),
        ("drivers/md/dm.c.rej", "diff"),
        ("README", None),
    ],
)
def test_lexer_by_file_type(path: str, alias: str | None) -> None:
    assert lexer_name(path) == alias


def test_highlight_keeps_blank_lines_and_reads_the_last_line_whole() -> None:
    lines = ["", "int x;", ""]
    assert len(highlight(lines, "a.c")) == 3
    # The diff lexer needs a newline after the last line to call it context; without it the
    # last line came out as an error token (pink on screen).
    rows = highlight(["@@ -1 +1 @@", " ctx", "-old"], "a.rej")
    assert [segment.text for segment in rows[2]] == ["-old"]
    assert rows[2][0].style == highlight(["-old", " x"], "a.rej")[0][0].style


def test_word_changes_mark_only_the_changed_words() -> None:
    left, right = word_changes("create(s->store);", "create(s->store, GFP_NOIO);")
    assert left == []
    assert right == [(15, 25)]


def test_merge_view_aligns_three_panes_and_never_pairs_vendor_with_an_added_line() -> None:
    view = render_merge(("x", ViewKind.MERGE), merge())
    assert view.titles == ("upstream", "vendor tree, line 214", "proposal")
    upstream, vendor = column(view.rows, 0), column(view.rows, 1)
    # the vendor's changed call sits beside upstream's removed line, not its added ones
    changed = upstream.index(visible("\tr = dm_exception_store_create(s->store);"))
    assert vendor[changed] == visible("\tr = dm_exception_store_create(s->store, GFP_NOIO);")
    added = upstream.index(visible("\tdm_exception_store_warn(s->store);"))
    assert vendor[added] is None
    # numbers: vanilla for upstream (the added lines have none), vendor tree for the vendor
    cells = [row.cells[0] for row in view.rows if row.cells[0] is not None]
    assert [cell.number for cell in cells] == [10, 11, None, None, 12]
    assert [row.cells[1].number for row in view.rows if row.cells[1]] == [214, 215, 216]
    # the vendor's drift is highlighted word by word
    vendor_cell = view.rows[changed].cells[1]
    assert vendor_cell is not None and vendor_cell.mark is Mark.CHANGED


def test_merge_view_stops_at_each_conflict_block() -> None:
    view = render_merge(("x", ViewKind.MERGE), merge())
    assert view.conflicts == 1
    first = view.rows[view.stops[0]].cells[2]
    assert first is not None and first.text.startswith("<<<<<<<")
    assert view.focus == view.stops[0]


def test_already_applied_is_not_shown_as_all_deleted() -> None:
    # The vendor has upstream's post-image: its lines sit beside upstream's context and added
    # lines, the pane says where, and nothing reads as deleted.
    post = "\tint r;\n\tr = dm_exception_store_create(s->store, GFP_KERNEL);\n"
    post += "\tdm_exception_store_warn(s->store);\n\treturn r;\n"
    view = render_merge(("x", ViewKind.MERGE), merge(vendor=post, result=post))
    vendor_cells = [row.cells[1] for row in view.rows]
    assert all(cell is not None for cell in vendor_cells[:1] + vendor_cells[2:])
    assert all(cell is None or cell.mark is Mark.SAME for cell in vendor_cells)
    results = [row.cells[2] for row in view.rows if row.cells[2] is not None]
    assert all(cell.mark is Mark.SAME for cell in results)


def test_base_pane_comes_first_with_vanilla_numbers() -> None:
    pre = "\tint r;\n\tr = dm_exception_store_create(s->store);\n\treturn r;\n"
    view = render_merge(("x", ViewKind.MERGE), merge(base=pre))
    assert view.panes == 4
    assert [row.cells[0].number for row in view.rows if row.cells[0]] == [10, 11, 12]


def test_unchanged_rows_are_marked_for_muting() -> None:
    view = render_merge(("x", ViewKind.MERGE), merge())
    assert not view.rows[0].changed  # "int r;" everywhere
    assert any(row.changed for row in view.rows)


FILE = "".join(f"/* line {n} */\n" for n in range(1, 100)).replace(
    "/* line 40 */\n", "static int dm_snapshot_init(struct dm_snapshot *s)\n"
)


def file_view(context: int | None, replacement: str | None = "NEW\n") -> object:
    return render_file(
        ("x", ViewKind.FILE),
        FileTexts(
            path="drivers/md/dm-snap.c",
            file=FILE,
            region_start=60,
            region_text="/* line 60 */\n/* line 61 */\n",
            replacement=replacement,
            context=context,
            title="file",
            function_line=40,
        ),
    )


def test_file_view_numbers_in_the_vendor_tree_and_folds_far_lines() -> None:
    view = file_view(5)
    numbers = [row.cells[0].number for row in view.rows]  # type: ignore[attr-defined]
    # the pinned definition, a fold, 55-59, the region as a diff (60, 61 removed, NEW added),
    # 62-66, a fold to the end
    assert numbers[0] is None and view.rows[0].cells[0].mark is Mark.FOLDED  # type: ignore[attr-defined]
    assert numbers[1] == 40
    assert 55 in numbers and 54 not in numbers and 66 in numbers and 67 not in numbers
    marks = {row.cells[0].text: row.cells[0].mark for row in view.rows}  # type: ignore[attr-defined]
    assert marks["NEW"] is Mark.ADDED
    assert marks[visible("/* line 60 */")] is Mark.REMOVED
    assert view.rows[-1].cells[0].text == "33 lines folded (+ shows more)"  # type: ignore[attr-defined]


def test_file_view_widens_to_the_whole_file() -> None:
    view = file_view(None)
    numbers = [row.cells[0].number for row in view.rows if row.cells[0].number]  # type: ignore[attr-defined]
    assert numbers == list(range(1, 100))
    assert not any(row.cells[0].mark is Mark.FOLDED for row in view.rows)  # type: ignore[attr-defined]


def test_file_view_pins_the_definition_a_row_is_in() -> None:
    view = file_view(None)
    rows = view.rows  # type: ignore[attr-defined]
    definition = next(n for n, row in enumerate(rows) if row.cells[0].number == 40)
    after = next(row for row in rows if row.cells[0].number == 50)
    assert after.scope == definition
    before = next(row for row in rows if row.cells[0].number == 30)
    assert before.scope is None


def test_reject_view_is_the_text_as_written() -> None:
    text = "--- a.c\n+++ a.c\n@@ -1 +1 @@\n-old\n+new\n"
    view = render_reject(("x", ViewKind.REJECT), text, "a.c.rej")
    cells = [cell for row in view.rows if (cell := row.cells[0]) is not None]
    assert len(cells) == len(view.rows)
    assert [cell.text for cell in cells] == split_text(text)
    assert [cell.mark for cell in cells][3:] == [Mark.REMOVED, Mark.ADDED]
    assert view.stops == (2,)


def test_conflict_ranges_include_markers_and_skip_an_unterminated_block() -> None:
    lines = split_text(PROPOSAL)
    assert conflict_ranges(lines) == [(1, 9)]
    assert conflict_ranges(lines[:5]) == []


def test_the_inline_editor_indents_with_tabs_in_tab_indented_code() -> None:
    assert indent_type("\tint r;\n") == "tabs"
    assert indent_type("    x = 1\n") == "spaces"
    assert indent_type("x\n") == "tabs"


def test_word_highlights_sit_on_the_changed_words_after_tabs_are_expanded() -> None:
    # Spans computed on the raw line (one tab = one character) land 7 cells early on screen.
    view = render_merge(("x", ViewKind.MERGE), merge())
    added = next(
        row.cells[0]
        for row in view.rows
        if row.cells[0] is not None and "GFP_KERNEL" in row.cells[0].text
    )
    assert added is not None
    highlighted = "".join(
        segment.text for segment in added.strip if segment.style and segment.style.bold
    )
    assert highlighted.strip() == ", GFP_KERNEL"

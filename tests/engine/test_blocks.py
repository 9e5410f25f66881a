"""Conflict blocks: finding them, picking a side per block, settling the one-sided ones.

The inputs that could fool it: marker-looking lines that are not markers (a reStructuredText
underline, ``<<<<<<<<`` of eight), an unterminated block, a two-way block with no base, a side
without a final newline, form feeds inside a line, CRLF markers, and two blocks whose picks must
not disturb each other.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchsmith.engine.blocks import Side, find_blocks, pick, pick_one_sided, split
from patchsmith.errors import UsageError

TWO_BLOCKS = """\
static int snapshot_map(struct dm_target *ti, struct bio *bio)
{
<<<<<<< vendor
\tif (!s->valid || s->merge_failed)
||||||| upstream-before
\tif (!s->valid)
=======
\tif (!s->valid || s->snapshot_overflowed)
>>>>>>> upstream-after
\t\treturn DM_MAPIO_KILL;
<<<<<<< vendor
\tdown_write(&s->lock);
||||||| upstream-before
\tdown_write(&s->lock);
=======
\tdown_read(&s->lock);
>>>>>>> upstream-after
}
"""


def test_finds_both_blocks_with_their_sides() -> None:
    first, second = find_blocks(TWO_BLOCKS)
    assert (first.start, first.end) == (2, 9)
    assert first.vendor == ("\tif (!s->valid || s->merge_failed)\n",)
    assert first.base == ("\tif (!s->valid)\n",)
    assert first.upstream == ("\tif (!s->valid || s->snapshot_overflowed)\n",)
    assert (second.start, second.end) == (10, 17)


def test_pick_replaces_only_the_chosen_block() -> None:
    text = pick(TWO_BLOCKS, 0, Side.VENDOR)
    assert "\tif (!s->valid || s->merge_failed)\n\t\treturn DM_MAPIO_KILL;\n" in text
    assert "snapshot_overflowed" not in text
    # the second block is untouched and is now the first
    (left,) = find_blocks(text)
    assert left.upstream == ("\tdown_read(&s->lock);\n",)


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        (Side.VENDOR, ["v\n"]),
        (Side.UPSTREAM, ["u\n"]),
        (Side.VENDOR_FIRST, ["v\n", "u\n"]),
        (Side.UPSTREAM_FIRST, ["u\n", "v\n"]),
    ],
)
def test_each_side(side: Side, expected: list[str]) -> None:
    text = (
        "a\n<<<<<<< vendor\nv\n||||||| upstream-before\nb\n=======\nu\n>>>>>>> upstream-after\nz\n"
    )
    assert split(pick(text, 0, side)) == ["a\n", *expected, "z\n"]


def test_both_sides_of_a_block_at_the_end_of_a_file_without_newline() -> None:
    # The vendor's last line had no newline: taking both must not glue it to upstream's line.
    block = find_blocks("<<<<<<< vendor\nv\n=======\nu\n>>>>>>> upstream-after")[0]
    assert block.lines_for(Side.VENDOR_FIRST) == ("v\n", "u\n")
    from patchsmith.engine.blocks import Block

    odd = Block(0, 1, ("v",), None, ("u\n",))
    assert odd.lines_for(Side.VENDOR_FIRST) == ("v\n", "u\n")


def test_two_way_block_has_no_base_and_is_never_called_one_sided() -> None:
    (block,) = find_blocks("<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n")
    assert block.base is None
    assert block.one_side is None


def test_lookalike_lines_are_not_markers() -> None:
    text = "Title\n=======\n<<<<<<<< eight\nnot a block\n>>>>>>>> eight\n"
    assert find_blocks(text) == []
    unterminated = "<<<<<<< vendor\nv\n=======\nu\n"
    assert find_blocks(unterminated) == []


def test_crlf_markers_and_form_feeds_inside_lines() -> None:
    text = "<<<<<<< vendor\r\n\x0cv\r\n=======\r\nu\r\n>>>>>>> upstream-after\r\n"
    (block,) = find_blocks(text)
    assert block.vendor == ("\x0cv\r\n",)
    assert pick(text, 0, Side.UPSTREAM) == "u\r\n"


def test_one_sided_blocks_are_settled_and_real_conflicts_left() -> None:
    def block(vendor: str, base: str, upstream: str) -> str:
        return (
            f"<<<<<<< vendor\n{vendor}||||||| upstream-before\n{base}=======\n{upstream}"
            ">>>>>>> upstream-after\n"
        )

    only_upstream = block("base\n", "base\n", "new\n")
    only_vendor = block("mine\n", "base\n", "base\n")
    both = block("mine\n", "base\n", "new\n")
    text, settled = pick_one_sided(only_upstream + "mid\n" + both + only_vendor)
    assert settled == 2
    assert text == "new\nmid\n" + both + "mine\n"
    assert pick_one_sided(both) == (both, 0)


def test_picking_a_block_that_is_not_there_is_refused() -> None:
    with pytest.raises(UsageError, match="no conflict block 3"):
        pick(TWO_BLOCKS, 2, Side.VENDOR)


_line = st.text(alphabet="ab=<>|\x0c \t", max_size=6).map(lambda s: s + "\n")


@given(
    before=st.lists(_line, max_size=4),
    vendor=st.lists(_line, max_size=3),
    upstream=st.lists(_line, max_size=3),
    after=st.lists(_line, max_size=4),
    side=st.sampled_from(list(Side)),
)
def test_a_pick_keeps_everything_outside_the_block(
    before: list[str], vendor: list[str], upstream: list[str], after: list[str], side: Side
) -> None:
    # Whatever the surrounding lines (even ones made of marker characters), the pick changes
    # only the block: what was before and after it is still there, in order.
    plain = [line for line in before + after if not line.startswith(("<<<<<<<", ">>>>>>>"))]
    head = [line for line in before if line in plain]
    tail = [line for line in after if line in plain]
    block = ["<<<<<<< vendor\n", *vendor, "=======\n", *upstream, ">>>>>>> upstream-after\n"]
    if any(line.startswith(("=======", "<<<<<<<", ">>>>>>>")) for line in vendor + upstream):
        return  # a side that holds marker lines is not one block
    text = "".join(head + block + tail)
    blocks = find_blocks(text)
    assert len(blocks) == 1
    chosen = {
        Side.VENDOR: vendor,
        Side.UPSTREAM: upstream,
        Side.VENDOR_FIRST: vendor + upstream,
        Side.UPSTREAM_FIRST: upstream + vendor,
    }[side]
    assert pick(text, 0, side) == "".join(head + chosen + tail)

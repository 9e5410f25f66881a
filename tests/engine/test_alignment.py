"""The vanilla file's alignment with the vendor's (``apply --base`` proposals) is difflib's.

:class:`~patchsmith.engine.merge.VanillaAlignment` gives the opcodes difflib's
``SequenceMatcher`` would give around the lines asked about, with a longest-run search of its
own that follows only the pairs of equal lines at every ``stride``-th line. A mistake there
would put an open hunk's proposal at the wrong one of two look-alike places, without a word.
These tests hold it to difflib itself: the longest run of any ranges, and the mapped region of
any vanilla lines, on files made of few distinct lines (every line repeated: braces, blank
lines, one locked call block after another), with runs longer and shorter than a stride.
"""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.merge import VanillaAlignment, map_range


def _difflib_range(
    vanilla: list[bytes], vendor: list[bytes], start: int, end: int
) -> tuple[int, int]:
    matcher = difflib.SequenceMatcher(None, vanilla, vendor, autojunk=len(vendor) > 20000)
    return map_range(matcher.get_opcodes(), start, end, len(vendor))


@st.composite
def _pair(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """A vanilla file of few distinct lines (blocks of them repeated, some long), and the
    vendor's: lines inserted, removed and replaced here and there, blocks copied elsewhere."""
    alphabet = [b"%d\n" % n for n in range(draw(st.integers(1, 6)))]
    pieces = draw(
        st.lists(
            st.lists(st.sampled_from(alphabet), min_size=1, max_size=6).map(
                lambda block: (block, 1)
            )
            | st.tuples(
                st.lists(st.sampled_from(alphabet), min_size=1, max_size=4), st.integers(2, 40)
            ),
            max_size=12,
        )
    )
    vanilla = [line for block, times in pieces for _ in range(times) for line in block]
    vendor = list(vanilla)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(vendor)))
        kind = draw(st.sampled_from(["insert", "remove", "replace", "copy"]))
        if kind == "insert":
            vendor[at:at] = draw(
                st.lists(st.sampled_from([*alphabet, b"vendor\n"]), min_size=1, max_size=80)
            )
        elif kind == "remove":
            del vendor[at : at + draw(st.integers(1, 30))]
        elif kind == "replace":
            vendor[at : at + 1] = [draw(st.sampled_from([*alphabet, b"vendor\n"]))]
        elif vanilla:
            start = draw(st.integers(0, len(vanilla) - 1))
            vendor[at:at] = vanilla[start : start + draw(st.integers(1, 90))]
    return vanilla, vendor


@settings(max_examples=300, deadline=None)
@given(pair=_pair(), data=st.data())
def test_the_longest_run_of_any_ranges_is_difflibs(
    pair: tuple[list[bytes], list[bytes]], data: st.DataObject
) -> None:
    vanilla, vendor = pair
    alignment = VanillaAlignment(vanilla, vendor)
    matcher = difflib.SequenceMatcher(None, vanilla, vendor, autojunk=False)
    for _ in range(5):
        low = data.draw(st.integers(0, len(vanilla)))
        high = data.draw(st.integers(low, len(vanilla)))
        vendor_low = data.draw(st.integers(0, len(vendor)))
        vendor_high = data.draw(st.integers(vendor_low, len(vendor)))
        expected = matcher.find_longest_match(low, high, vendor_low, vendor_high)
        found = alignment.longest_match(low, high, vendor_low, vendor_high)
        if expected.size == 0:
            assert found[2] == 0
        else:
            assert found == (expected.a, expected.b, expected.size)


@settings(max_examples=300, deadline=None)
@given(pair=_pair(), data=st.data())
def test_the_region_of_any_vanilla_lines_is_where_difflib_puts_it(
    pair: tuple[list[bytes], list[bytes]], data: st.DataObject
) -> None:
    vanilla, vendor = pair
    alignment = VanillaAlignment(vanilla, vendor)
    for _ in range(5):
        start = data.draw(st.integers(0, len(vanilla)))
        end = data.draw(st.integers(start, min(len(vanilla), start + 12)))
        assert alignment.map_range(start, end) == _difflib_range(vanilla, vendor, start, end)


BLOCK = [
    b"\tspin_lock(&dev->lock);\n",
    b"\tdev->count++;\n",
    b"\tspin_unlock(&dev->lock);\n",
    b"\n",
]


def test_a_block_repeated_hundreds_of_times_maps_to_its_own_copy() -> None:
    # 300 copies of one locked block, each followed by a line of its own; the vendor added 100
    # lines at the top and 20 more copies of the block (80 lines) above block 150. Vanilla's
    # block 200 is then 180 lines further down in the vendor's file, not at a copy nearer its
    # old line.
    vanilla = [line for n in range(300) for line in (*BLOCK, b"int value_%d;\n" % n)]
    vendor = [b"/* vendor */\n"] * 100 + list(vanilla)
    middle = 100 + 150 * 5
    vendor[middle:middle] = BLOCK * 20
    start = 200 * 5
    alignment = VanillaAlignment(vanilla, vendor)
    expected = (start + 100 + 80, start + 100 + 80 + 5)
    assert alignment.map_range(start, start + 5) == expected
    assert _difflib_range(vanilla, vendor, start, start + 5) == expected
    assert vendor[expected[0] : expected[1]] == vanilla[start : start + 5]


def test_past_twenty_thousand_lines_difflibs_junk_rule_still_holds() -> None:
    # difflib treats lines in more than 1% of a long file as junk: its own search is used.
    vanilla = [b"int line_%d;\n" % n if n % 3 else b"}\n" for n in range(21000)]
    vendor = vanilla[:10000] + [b"/* vendor */\n"] * 7 + vanilla[10000:]
    alignment = VanillaAlignment(vanilla, vendor)
    for start in (0, 9998, 10000, 15000):
        assert alignment.map_range(start, start + 4) == _difflib_range(
            vanilla, vendor, start, start + 4
        )

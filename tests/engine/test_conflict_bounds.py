"""The bounds removal_standing uses to skip regions before difflib never fall below what
difflib gives: a region they skip is one the full comparison would have turned down too."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from patchsmith.engine.conflict import _reads_like_at_most, _scored, _similarity_bound
from patchsmith.engine.filelines import normalize
from patchsmith.engine.records import Images

# Few distinct lines, some differing only in whitespace: the repetition that makes difflib's
# longest-match pairing differ from a plain count.
_LINE = st.sampled_from([b"\tx++;\n", b"\tx++; \n", b"}\n", b"\n", b"\treturn 0;\n", b"\ta = 1;\n"])


def _images(pre: list[bytes]) -> Images:
    return Images(pre=tuple(pre), post=tuple(pre[:1]), leading=0, trailing=0)


@given(st.lists(_LINE, min_size=1, max_size=12), st.lists(_LINE, min_size=1, max_size=14))
def test_the_region_bound_is_never_below_the_similarity(
    pre: list[bytes], region: list[bytes]
) -> None:
    counts = Counter(normalize(line) for line in pre)
    similarity = _scored(_images(pre), 0, region).similarity
    assert _similarity_bound(counts, [normalize(line) for line in region]) >= similarity


@given(
    st.lists(_LINE, min_size=1, max_size=12),
    st.lists(_LINE, min_size=1, max_size=16),
    st.integers(0, 15),
    st.integers(1, 16),
)
def test_the_window_bound_is_never_below_any_of_its_regions(
    pre: list[bytes], window: list[bytes], first: int, length: int
) -> None:
    region = window[first : first + length]
    if not region:
        return
    counts = Counter(normalize(line) for line in pre)
    bound = _reads_like_at_most(counts, [normalize(line) for line in window])
    assert bound >= _scored(_images(pre), first, region).similarity

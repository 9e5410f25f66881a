"""Merge proposals: the region merge, its word-level refinement and the --merge block."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.engine.merge import (
    MARKER_LINE,
    has_markers,
    marker_block,
    merge_region,
    merge_sequences,
    refine_conflicts,
    vendor_region,
)
from patchsmith.engine.predict import HunkPrediction
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes
from patchsmith.workspace.git import merge_file


def test_merge_sequences_and_refine() -> None:
    assert merge_sequences([1, 2, 3], [1, 9, 3], [1, 2, 8]) == [1, 9, 8]
    assert merge_sequences([1, 2, 3], [1, 9, 3], [1, 7, 3]) is None
    block = (
        b"<<<<<<< vendor\nA = 1\nB = x\n||||||| upstream-before\nA = 1\nB = 2\n"
        b"=======\nA = 5\nB = 2\n>>>>>>> upstream-after\n"
    )
    assert refine_conflicts(block) == b"A = 5\nB = x\n"


def test_merge_region_shortcuts_and_a_real_conflict() -> None:
    pre, post = b"a = 1;\n", b"a = 2;\n"
    assert merge_region(pre, pre, post, merge_file) == (post, False)
    assert merge_region(post, pre, post, merge_file) == (post, False)
    # Both sides change the same word: git merge-file and the refinement both give up.
    text, conflicts = merge_region(b"a = 3;\n", pre, post, merge_file)
    assert conflicts and has_markers(text)
    assert text == marker_block(b"a = 3;\n", pre, post)


def test_merge_region_settles_word_edits_git_calls_a_conflict() -> None:
    # The vendor renamed the call, upstream changed its argument: one line, two edits.
    vendor = b"\tvendor_free(ptr, 1);\n"
    pre = b"\tkfree(ptr, 1);\n"
    post = b"\tkfree(ptr, 2);\n"
    text, conflicts = merge_region(vendor, pre, post, merge_file)
    assert (text, conflicts) == (b"\tvendor_free(ptr, 2);\n", False)


def test_marker_block_ends_every_side_with_a_newline() -> None:
    block = marker_block(b"x", b"y", b"")
    assert block == (
        b"<<<<<<< vendor\nx\n||||||| upstream-before\ny\n=======\n>>>>>>> upstream-after\n"
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *(b"<<<<<<< vendor\n", b">>>>>>> upstream-after\n", b"<<<<<<<\n", b">>>>>>>\r\n"),
                *(b"<<<<<<<< x\n", b"x <<<<<<< y\n", b"=======\n", b"<<<<<<<x\n", b"<<<<<<<"),
                *(b"a <<<<<<<< b >>>>>>>\n", b">>>>>>> ", b"<<<<", b"\n", b"int x;\n"),
            ]
        ),
        max_size=8,
    )
)
def test_has_markers_finds_what_the_marker_line_search_finds(pieces: list[bytes]) -> None:
    # The fast search looks only where seven '<' or '>' are; the regex looks everywhere.
    data = b"".join(pieces)
    assert has_markers(data) == (MARKER_LINE.search(data) is not None)


def test_the_fallback_region_of_a_tie_is_in_the_function_the_header_names() -> None:
    # Two functions end with the same lines; upstream's hunk (for the second, as its header
    # says) no longer matches either, and the prediction carries neither a place nor
    # candidates: the region vendor_region falls back to must be the second function's, not
    # the first's, which is nearer to the stated line.
    tail = (
        "\tmutex_lock(&d->lock);\n\td->count--;\n\tmutex_unlock(&d->lock);\n"
        "\twake_up(&d->wait);\n}\n"
    )
    vendor = (
        "static void first(struct dev *d)\n{\n\td->a = 1;\n"
        + tail
        + "\nstatic void second(struct dev *d)\n{\n\td->b = 2;\n"
        + tail
    )
    patch = (
        "--- a/f.c\n+++ b/f.c\n@@ -4,4 +4,5 @@ static void second(struct dev *d)\n"
        " \tmutex_lock(&d->lock);\n-\td->count -= 1;\n+\td->count -= 2;\n"
        " \tmutex_unlock(&d->lock);\n+\tflush(d);\n \twake_up(&d->wait);\n"
    )
    index = index_bytes(patch.encode())
    (hunk,) = parse_file(index, index.files[0])
    lines = vendor.encode().splitlines(keepends=True)
    prediction = HunkPrediction(
        file_number=1,
        hunk_number=1,
        status=HunkStatus.CONFLICT,
        expected_line=4,
        found_line=None,
        offset=0,
        fuzz=0,
        needs_review=True,
        reason="no safe location",
    )
    found = vendor_region(hunk, prediction, lines, None, None)
    assert found is not None
    start, end, how = found
    assert how == "hunk-local"
    second = lines.index(b"static void second(struct dev *d)\n")
    assert second < start < end <= len(lines)
    assert b"\tmutex_lock(&d->lock);\n" in lines[start:end]

"""The settled hunks around a hunk, and what they may decide (``bound_by_neighbours``), through
:func:`~patchsmith.engine.predict.predict_file`.

A flag that only asks which of several places is a hunk's may be lifted when every other place
crosses a settled hunk above or below it. The order of a file's hunks alone is no proof: a
vendor can move a function past the next hunk's place and have an identical copy of the hunk's
lines where the function used to be. These inputs try to fool the lift that way (without a
function in the hunk header, with the match in another function than the header names, with
two definitions of the named function, with the copy in the named function itself), and one
shows what still lifts it: the header's function, defined once, holding the match and no other
place.
"""

from __future__ import annotations

import difflib
import re

from hypothesis import event, given, settings
from hypothesis import strategies as st

from patchsmith.engine.filelines import enclosing_function
from patchsmith.engine.locate import NEIGHBOURS_CLEARED
from patchsmith.engine.predict import FilePrediction, predict_file
from patchsmith.engine.records import Rule
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes

HEAD = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/spinlock.h>

struct ring_c {
\tspinlock_t lock;
\tunsigned int head, tail, count, flags;
\tu64 seq;
};

"""

BODY = """\
{
\tspin_lock(&rc->lock);
\trc->head = 0;
\trc->tail = 0;
\tspin_unlock(&rc->lock);
\treturn;
}

"""
"""ring_flush()'s body, and the body of the vendor's ring_drain(): repetitive code."""

FLUSH = "static void ring_flush(struct ring_c *rc)\n" + BODY
FLUSH_NEW = FLUSH.replace("\trc->tail = 0;\n", "\trc->tail = 0;\n\trc->seq++;\n")
DRAIN = "static void ring_drain(struct ring_c *rc)\n" + BODY
PROTOTYPE = "static void ring_flush(struct ring_c *rc);\n\n"

RESET = """\
static void ring_reset(struct ring_c *rc)
{
\trc->count = 0;
\trc->seq = 0;
\trc->flags &= ~1;
\tring_flush(rc);
}

"""
RESET_NEW = RESET.replace("\trc->flags &= ~1;\n", "\trc->flags = 0;\n")

PATH = "drivers/md/dm-ring.c"


def diff_of(old: str, new: str, *, named: bool = True) -> str:
    """``diff -u`` of two versions of the file; with ``named``, each hunk header names its
    function as ``git diff`` does (the nearest definition-looking line above the hunk)."""
    before = old.splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(before, new.splitlines(True), f"a/{PATH}", f"b/{PATH}"))
    if not named:
        return diff
    encoded = [line.encode() for line in before]

    def name(match: re.Match[str]) -> str:
        found = enclosing_function(encoded, int(match.group(1)) - 1)
        return match.group(0) + (f" {found[1].decode().rstrip()}" if found else "")

    return re.sub(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", name, diff, flags=re.M)


def predicted(diff: str, vendor: str) -> FilePrediction:
    index = index_bytes(diff.encode())
    (entry,) = index.files
    return predict_file(PATH, vendor.encode(), parse_file(index, entry), entry.kind)


def flagged_without_lift(file: FilePrediction, number: int) -> bool:
    hunk = file.hunks[number - 1]
    return (
        hunk.needs_review and "ambiguous" in hunk.reason and NEIGHBOURS_CLEARED not in hunk.reason
    )


def test_the_diff_helper_names_functions_only_when_asked() -> None:
    old, new = HEAD + FLUSH + RESET, HEAD + FLUSH_NEW + RESET_NEW
    assert "@@ static void ring_flush(struct ring_c *rc)\n" in diff_of(old, new)
    assert "@@ static void ring_reset(struct ring_c *rc)\n" in diff_of(old, new)
    assert re.search(r"@@ -\d+,\d+ \+\d+,\d+ @@\n", diff_of(old, new, named=False))
    assert "ring_flush(struct ring_c *rc)\n" not in diff_of(old, new, named=False).split("@@")[2]


def test_a_header_without_a_function_cannot_confirm_the_place_the_order_leaves() -> None:
    # Vanilla: ring_flush(), then ring_reset(). The vendor moved ring_flush() below
    # ring_reset(), and ring_drain(), with the same body, stands where it was. The hunk's lines
    # match in both, and ring_flush()'s place lies below hunk 2's. The file alone cannot say
    # whether the vendor moved ring_flush() or added ring_drain(): hunk 1 stays flagged.
    diff = diff_of(HEAD + FLUSH + RESET, HEAD + FLUSH_NEW + RESET_NEW, named=False)
    vendor = HEAD + DRAIN + PROTOTYPE + RESET + FLUSH
    file = predicted(diff, vendor)
    first, second = file.hunks
    assert second.status == HunkStatus.OFFSET and not second.needs_review
    # Found in ring_drain() (line 10 is its definition), where the patch says: settling it
    # would be wrong.
    assert first.status == HunkStatus.CLEAN and first.found_line == 12
    assert flagged_without_lift(file, 1), first.reason


def test_a_match_in_another_function_than_the_header_names_is_not_confirmed() -> None:
    # Vanilla: ring_reset(), then ring_flush() (hunk 2, the header names it). The vendor moved
    # ring_flush() above ring_reset() and has ring_drain() where it was. Hunks do not go
    # backwards, so hunk 2 is found in ring_drain(): the order leaves only that place, but the
    # header says ring_flush(), which is elsewhere.
    diff = diff_of(HEAD + PROTOTYPE + RESET + FLUSH, HEAD + PROTOTYPE + RESET_NEW + FLUSH_NEW)
    assert "@@ static void ring_flush(struct ring_c *rc)\n" in diff
    vendor = HEAD + FLUSH + RESET + DRAIN
    file = predicted(diff, vendor)
    first, second = file.hunks
    assert first.status == HunkStatus.OFFSET and not first.needs_review
    assert second.found_line == vendor.splitlines().index(DRAIN.splitlines()[0]) + 3
    assert flagged_without_lift(file, 2), second.reason


def test_the_named_function_holding_the_match_and_no_other_place_lifts_the_flag() -> None:
    # The vendor added a line on top (so hunk 1 is at an offset, where a copy makes it
    # ambiguous) and ring_drain() below ring_reset(). Hunk 1 is found in ring_flush(), the
    # function its header names, defined once; the other place is in ring_drain(), below
    # hunk 2. The name and the order agree: the flag is lifted, and the reason says why.
    diff = diff_of(HEAD + FLUSH + RESET, HEAD + FLUSH_NEW + RESET_NEW)
    vendor = "/* vendor */\n" + HEAD + FLUSH + RESET + DRAIN
    file = predicted(diff, vendor)
    first, second = file.hunks
    assert not second.needs_review
    assert first.status == HunkStatus.OFFSET and first.found_line == 13
    assert first.reason.startswith(f"{Rule.AMBIGUOUS}: the same lines also match at line 30")
    assert not first.needs_review, first.reason
    assert NEIGHBOURS_CLEARED in first.reason
    assert file.result_lines is not None
    text = b"".join(file.result_lines).decode()
    assert text == "/* vendor */\n" + HEAD + FLUSH_NEW + RESET_NEW + DRAIN


def test_two_definitions_of_the_named_function_keep_the_flag() -> None:
    # As above, but ring_flush() is defined twice (#ifdef twins), the second with a debug line
    # inside the hunk's lines, so only the first matches exactly. Upstream's change may be to
    # either twin: the name does not single the match out, and the flag stays.
    diff = diff_of(HEAD + FLUSH + RESET, HEAD + FLUSH_NEW + RESET_NEW)
    debug = FLUSH.replace("\trc->head = 0;\n", '\tpr_debug("flush\\n");\n\trc->head = 0;\n')
    twins = "#ifndef CONFIG_DM_RING_DEBUG\n" + FLUSH + "#else\n" + debug + "#endif\n\n"
    vendor = "/* vendor */\n" + HEAD + twins + RESET + DRAIN
    file = predicted(diff, vendor)
    first, second = file.hunks
    assert not second.needs_review, second.reason
    assert first.status == HunkStatus.OFFSET and first.found_line == 14
    assert flagged_without_lift(file, 1), first.reason


def test_a_prototype_names_the_function_too_and_keeps_the_flag() -> None:
    # A definition-looking line the header names, above the match: the engine's function
    # logic counts it as a definition (the lines after it would be "in" it), so the name no
    # longer singles out one function, and the flag stays. Cautious: a prototype has no body.
    diff = diff_of(HEAD + FLUSH + RESET, HEAD + FLUSH_NEW + RESET_NEW)
    vendor = "/* vendor */\n" + HEAD + PROTOTYPE + FLUSH + RESET + DRAIN
    file = predicted(diff, vendor)
    assert file.hunks[0].status == HunkStatus.OFFSET
    assert flagged_without_lift(file, 1), file.hunks[0].reason


def test_a_copy_in_the_named_function_below_the_next_hunk_keeps_the_flag() -> None:
    # Both hunks are in ring_flush(); the vendor repeated hunk 1's lines in it, below hunk 2.
    # Every other place crosses hunk 2, but the name cannot tell the two apart (both are in
    # ring_flush()), so only the order would speak: the flag stays.
    tail = (
        "\tring_reset_stats(rc);\n\trc->flags = 0;\n\trc->count = 0;\n\trc->seq = 0;\n"
        "\tring_wake(rc);\n\n"
    )
    debug = '\tpr_debug("one\\n");\n'
    long = FLUSH.replace("\treturn;\n", debug * 8 + tail + "\treturn;\n")
    upstream = FLUSH_NEW.replace("\treturn;\n", debug * 8 + tail + "\treturn;\n")
    upstream = upstream.replace("\trc->flags = 0;\n", "\trc->flags = 1;\n")
    diff = diff_of(HEAD + long, HEAD + upstream)
    assert diff.count("@@ static void ring_flush(struct ring_c *rc)\n") == 2
    copy = "\tspin_lock(&rc->lock);\n\trc->head = 0;\n\trc->tail = 0;\n\tspin_unlock(&rc->lock);\n"
    vendor = "/* vendor */\n" + HEAD + long.replace("\treturn;\n", copy + debug * 3 + "\treturn;\n")
    file = predicted(diff, vendor)
    first, second = file.hunks
    assert len(file.hunks) == 2 and not second.needs_review, second.reason
    assert first.status == HunkStatus.OFFSET
    assert flagged_without_lift(file, 1), first.reason


_BODY_LINES = st.sampled_from(
    ["\ta\n", "\tb\n", "\tc\n", "\t{\n", "\t}\n", "\n", "\treturn 0;\n", "\tx++;\n"]
)


@st.composite
def _moved_functions(draw: st.DrawFn) -> tuple[str, str, str]:
    """(the diff, the vendor's file, what applying it must give).

    Vanilla is a few functions whose bodies are repeating lines; upstream edits their bodies
    (the hunk headers name the functions, as git writes them, or name none, as ``diff -u``).
    The vendor moved one function to another place among the others, and a function of its
    own with the moved one's old body stands where it was. Upstream's change goes into the
    moved function wherever it now is; the vendor's copy stays as it is.
    """
    count = draw(st.integers(min_value=2, max_value=4))
    names = [f"f{number}" for number in range(count)]
    old = [draw(st.lists(_BODY_LINES, min_size=3, max_size=10)) for _ in names]
    new = []
    for body in old:
        changed = list(body)
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            start = draw(st.integers(min_value=0, max_value=len(changed)))
            end = draw(st.integers(min_value=start, max_value=min(len(changed), start + 2)))
            changed[start:end] = draw(st.lists(_BODY_LINES, max_size=2))
        new.append(changed)
    moved = draw(st.integers(min_value=0, max_value=count - 1))
    # Where the moved function goes among the others and the copy (any slot: even beside the
    # copy, the copy has its name's place in the order).
    place = draw(st.integers(min_value=0, max_value=count))

    def function(name: str, body: list[str]) -> str:
        return f"int {name}(void)\n{{\n" + "".join(body) + "}\n\n"

    def vendor_file(bodies: list[list[str]]) -> str:
        functions = [function(name, body) for name, body in zip(names, bodies, strict=True)]
        mover = functions[moved]
        functions[moved] = function("vendor_copy", old[moved])
        functions.insert(place, mover)
        return "".join(functions)

    vanilla = "".join(function(name, body) for name, body in zip(names, old, strict=True))
    upstream = "".join(function(name, body) for name, body in zip(names, new, strict=True))
    named = draw(st.booleans())
    return diff_of(vanilla, upstream, named=named), vendor_file(old), vendor_file(new)


def _changed_functions(before: str, after: str) -> set[str]:
    """The names of the generated functions whose text differs between two files (the
    generator's functions are ``int NAME(void)`` blocks; both files have the same names)."""

    def functions(text: str) -> dict[str, str]:
        parts = re.split(r"^int (\w+)\(void\)\n", text, flags=re.MULTILINE)
        return dict(zip(parts[1::2], parts[2::2], strict=True))

    old, new = functions(before), functions(after)
    return {name for name in old if old[name] != new.get(name)}


def _one_hunk_applied(vendor: str, diff: str, number: int, found_line: int) -> str:
    """``vendor`` with only hunk ``number`` of ``diff`` written at ``found_line`` (1-based)."""
    bodies = re.split(r"^@@ .*\n", diff, flags=re.MULTILINE)[1:]
    lines = bodies[number - 1].splitlines(keepends=True)
    pre = [line[1:] for line in lines if line[:1] in (" ", "-")]
    post = [line[1:] for line in lines if line[:1] in (" ", "+")]
    text = vendor.splitlines(keepends=True)
    start = found_line - 1
    assert text[start : start + len(pre)] == pre
    return "".join(text[:start] + post + text[start + len(pre) :])


@given(_moved_functions())
@settings(max_examples=500, deadline=None)
def test_the_neighbours_never_settle_a_moved_function_s_copy(case: tuple[str, str, str]) -> None:
    # On the layout the hunks' order cannot see through, a hunk the neighbours' bound settles
    # must change the function upstream's change belongs in, never the vendor's copy. Each
    # lifted hunk is judged by itself: another hunk of the same diff may be settled wrongly by
    # the ladder itself (a clean, unique match whose context runs into the next function's
    # first line: the copy reads exactly as upstream's function there, and nothing in the file
    # says otherwise), and that is outside this rule.
    diff, vendor, right = case
    if not diff:
        return
    file = predicted(diff, vendor)
    lifted = [h for h in file.hunks if NEIGHBOURS_CLEARED in h.reason]
    event(f"lifted by the neighbours: {bool(lifted)}")
    wanted = _changed_functions(vendor, right)
    for hunk in lifted:
        assert hunk.found_line is not None
        alone = _one_hunk_applied(vendor, diff, hunk.hunk_number, hunk.found_line)
        changed = _changed_functions(vendor, alone)
        assert changed <= wanted, (
            f"hunk {hunk.hunk_number} lifted, and it changes {sorted(changed - wanted)}"
        )

"""The locate ladder: where one hunk goes in one file, and how sure we are.

Everything here is a pure function over the target file's lines (``bytes`` with their line
endings, as read) and a parsed :class:`~patchsmith.patchfile.hunk.Hunk`. Lines are compared as
bytes and never decoded. Nothing here reads or writes files: :mod:`patchsmith.engine.predict`
does the reading, and :func:`apply_located` is the one place that turns located hunks into new
file contents (prediction and the apply stage share it, so they cannot disagree).

The ladder, tried in order for each hunk (each rung searches for the pre-image, which means "the
hunk can be applied here", and for the post-image, which means "the vendor already has it"):

1. exact at the stated line, shifted by what earlier hunks of the file were found to be shifted;
2. exact at an offset, nearest first, after before before on a tie (GNU patch's search order);
3. whitespace-insensitive (runs of blanks collapsed, line endings ignored);
4. partially applied: an image with some of the hunk's change groups applied and some not;
5. fuzz 1..F: outer context lines dropped the way GNU patch drops them;
6. otherwise a conflict, with the best candidate regions and an alignment as evidence (and,
   from that evidence, a partially-applied or already-applied verdict when it is clear).

The partially-applied search runs before fuzz on purpose: an exact image with one change group
present is stronger evidence than a pre-image that only matches after ignoring context.

The safety rules (why a located hunk gets ``needs_review``) are the members of
:class:`~patchsmith.engine.records.Rule`, each with the evidence that raises it.

The file is held and searched by :class:`~patchsmith.engine.filelines.FileLines`, rungs 4 and 6
are in :mod:`patchsmith.engine.conflict`, and the records the ladder returns are in
:mod:`patchsmith.engine.records`; none of them may import this module, which imports them all
(the engine's layers contract in ``pyproject.toml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from patchsmith.engine.conflict import (
    GENERIC_CHARS,
    conflict,
    distinctive_chars,
    find_partial,
    not_applied,
    removal_standing,
)
from patchsmith.engine.filelines import (
    FileLines,
    Hits,
    holds,
    nearest,
    normalize,
    same_function,
    within,
)
from patchsmith.engine.records import Images, Location, Placement, Rule
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import ADD, CONTEXT, REMOVE, Hunk

LARGE_OFFSET = 50
"""Beyond this many lines from where the hunk was expected (after the shift of earlier hunks) a
match is "far". A kernel function body is rarely longer than this, so a match that far away is
likely in another function: the real cases that motivated the rule were GNU patch placing hunks
at offsets 368 (``mana_en.c``) and -108 (a wireless driver), both in the wrong function, while
the honest offsets on Debian's tree are mostly below 30. An exact, unique match far away is still
accepted when its enclosing function is the hunk's; a fuzzy or whitespace match far away is
always reviewed."""

DUPLICATE_WINDOW = 25
"""How many lines around a match are searched for the lines the hunk adds (the duplicate-code
trap: a fix the vendor backported a few lines away from where upstream put it)."""

assert DUPLICATE_WINDOW <= LARGE_OFFSET  # the duplicate look reuses the span of the post look

DUPLICATE_MIN_CHARS = 24
"""A block of added lines shorter than this (whitespace collapsed) is too common to mean anything
when found nearby: ``return 0;`` or ``}`` appear everywhere. ``if (IS_ERR(rt)) return rt;``
(the ``icmp.c`` case) is longer."""

VANILLA_CLEARABLE = frozenset({Rule.AMBIGUOUS, Rule.DUPLICATE, Rule.READS_AS_BOTH})
"""The rules whose flag an unchanged neighbourhood lifts (see :func:`clear_with_vanilla`): they
are about what surrounds a match, which vanilla shows upstream saw too (for reads-as-both:
vanilla read as the hunk's result at that place as well, yet lacked the fix). Fuzz, whitespace, far,
wrong-function and edge flags say the match itself is uncertain, and the post-image rule says
the fix may be there already, elsewhere: vanilla cannot vouch for any of those."""

MIN_FUZZ_CORE = 4
"""A fuzz match is trusted only if at least this many pre-image lines were still compared: with
three lines of context and one changed line, fuzz 2 leaves three lines, which match by chance in
repetitive code (error paths, ``switch`` cases)."""


def apply_located(lines: Sequence[bytes], placements: Iterable[Placement]) -> list[bytes]:
    """The file's lines with each placed hunk applied; the one implementation of "apply".

    Context lines keep the file's own bytes (so a whitespace or fuzz match never rewrites the
    vendor's context), removed lines are dropped and added lines come from the hunk. Placements
    are applied in file order and must not overlap (:func:`locate_hunk` never produces overlaps
    for the hunks of one file diff); an overlap is a caller bug and raises ``ValueError``.
    """
    ordered = sorted(placements, key=lambda p: p.start)
    out: list[bytes] = []
    cursor = 0
    for placement in ordered:
        if placement.start < cursor:
            raise ValueError(
                f"hunk {placement.hunk.number} at index {placement.start} overlaps the previous"
                f" hunk (which ends at {cursor})"
            )
        if placement.start + placement.length > len(lines):
            raise ValueError(f"hunk {placement.hunk.number} runs past the end of the file")
        out.extend(lines[cursor : placement.start])
        index = placement.start
        body = placement.hunk.lines
        for hunk_line in body[placement.top : len(body) - placement.bottom]:
            if hunk_line.op == CONTEXT:
                out.append(lines[index])
                index += 1
            elif hunk_line.op == REMOVE:
                index += 1
            else:
                out.append(hunk_line.text)
        cursor = index
    out.extend(lines[cursor:])
    return out


# --- the ladder -----------------------------------------------------------------------------------


def _images(hunk: Hunk) -> Images:
    return Images(hunk.old_lines, hunk.new_lines, hunk.leading_context, hunk.trailing_context)


def expected_index(hunk: Hunk, delta: int = 0) -> int:
    """0-based index where the hunk's pre-image should start, after the running shift.

    A hunk without pre-image lines (``@@ -5,0 +6,2 @@``) names the line *after which* it inserts.
    """
    if hunk.old_count == 0:
        return hunk.old_start + delta
    return hunk.old_start - 1 + delta


def locate_hunk(
    lines: Sequence[bytes] | FileLines | bytes,
    hunk: Hunk,
    delta: int = 0,
    floor: int = 0,
    fuzz: int = 2,
) -> Location:
    """Run the ladder for one hunk and return its verdict with the evidence.

    ``delta`` is the running shift (the sum of the :attr:`Location.next_delta` of the hunks
    above), ``floor`` the first index a match may start at (the previous hunk's
    :attr:`Location.end`: hunks of one file diff never overlap or go backwards, as in GNU
    patch). ``fuzz`` is GNU patch's ``-F``.

    Safety rules set ``needs_review`` on a hunk that *would* apply, or that reads as already
    applied on evidence too weak to settle it: each is a :class:`~patchsmith.engine.records.Rule`,
    whose docstring says what evidence raises it.

    Each flag names its rule in :attr:`Location.rules`. Given the vanilla file, the caller may
    lift the duplicate-code, ambiguity and reads-as-both flags of an exact match with
    :func:`clear_with_vanilla` (the vendor left the neighbourhood as upstream saw it).
    """
    if isinstance(lines, FileLines):
        view = lines
    elif isinstance(lines, bytes):
        view = FileLines(data=lines)
    else:
        view = FileLines(lines)
    location = _ladder(view, hunk, delta, floor, fuzz)
    if location.found is not None:
        distance = abs(location.found - expected_index(hunk))
        # The file's length is only counted (once a file) for a match that moved at all.
        if distance and distance > len(view):
            location = _absurd(location, hunk, len(view))
    return location


def _absurd(location: Location, hunk: Hunk, length: int) -> Location:
    """``location`` flagged: it is farther from the stated line than the file is long."""
    return _flagged(
        location,
        Rule.ABSURD,
        f"the patch says line {hunk.old_start}, but the file has {length}"
        f" line{'s' if length != 1 else ''}: its line numbers are wrong, so where it"
        " matched proves nothing",
    )


def _flagged(location: Location, rule: Rule, reason: str) -> Location:
    """``location`` with a review flag: ``rule`` and the reason a person reads added."""
    return replace(
        location,
        needs_review=True,
        rules=(*location.rules, rule),
        reasons=(*location.reasons, reason),
    )


def _ladder(view: FileLines, hunk: Hunk, delta: int, floor: int, fuzz: int) -> Location:
    """The rungs of :func:`locate_hunk`, in order."""
    images = _images(hunk)
    expected = expected_index(hunk, delta)
    if not images.pre:
        return _locate_insertion(view, hunk, images, expected)

    # Rung 1 and 2: exact.
    # The lines not in the pre-image are added ones (hunk.ops has one op a line, and unlike
    # hunk.lines makes no line objects: see Hunk).
    adds = len(hunk.ops) > len(images.pre)
    if (
        expected >= floor
        and view.holds_at(images.pre, expected)
        and _function_check(view, hunk, expected) is None
    ):
        # A clean match in the function the header names: other hits would be neither nearer
        # nor flagged (the ambiguity rule spares such a match), so the whole file is not
        # searched for them.
        pre_hits = [expected]
    else:
        pre_hits = view.find_all(images.pre)
    pre_at = _choose(view, hunk, pre_hits, expected, floor)
    # A post-image without added lines is only context and proves nothing when the pre-image
    # is also there; without the pre-image it still counts (the removal is done).
    post_hits: list[int] | None = [] if pre_hits and not adds else None
    # The file's bytes from LARGE_OFFSET lines above the match to as far below its end (None
    # when the file is held as lines): where the rules that look near a match look.
    near: tuple[int, int] | None = None
    if pre_at is not None and adds:  # without added lines neither rule has anything to seek
        near = view.bytes_around(pre_at, pre_at + len(images.pre), LARGE_OFFSET + 1)
        if post_hits is None and near is not None:
            # With the pre-image found, the post-image matters only near it (the "fix may
            # already be there" rule looks within LARGE_OFFSET lines): only there is searched.
            post_hits = view.find_all_between(images.post, near, pre_at)
    if post_hits is None:
        post_hits = view.find_all(images.post)
    post_at = _choose(view, hunk, post_hits, expected, floor)
    if pre_at is not None:
        location = _judge_applicable(
            view,
            hunk,
            images,
            expected,
            pre_at,
            pre_hits,
            post_hits,
            fuzz_level=0,
            top=0,
            bottom=0,
            whitespace=False,
            near=near,
        )
        if location.status == HunkStatus.OFFSET and fuzz:
            location = _check_nearer_fuzzy(view, images, expected, pre_at, fuzz, location, pre_hits)
        if location.status == HunkStatus.OFFSET and Rule.NEARER_FUZZY not in location.rules:
            location = _check_nearer_whitespace(view, images, expected, pre_at, location, pre_hits)
        if location.status == HunkStatus.OFFSET and Rule.NEARER_FUZZY not in location.rules:
            location = _check_stated_place(view, images, expected, location)
        if location.status == HunkStatus.OFFSET:
            location = _check_result_at_stated_place(view, images, expected, location)
        if location.status == HunkStatus.OFFSET and Rule.NEARER_FUZZY not in location.rules:
            location = _check_original_nearer(view, images, expected, location)
        if location.status == HunkStatus.OFFSET and not location.needs_review:
            location = _check_unnamed_twin(view, hunk, images, expected, location)
        return _say_why_chosen(view, hunk, pre_hits, expected, floor, location)
    if post_at is not None:
        return _say_why_chosen(
            view,
            hunk,
            post_hits,
            expected,
            floor,
            _already_applied(
                view,
                hunk,
                images,
                expected,
                post_at,
                post_hits,
                "exact",
                original=(
                    _original_with_fuzz(view, images, post_at, fuzz) if _adds_little(hunk) else 0
                ),
            ),
        )

    # Rung 3: whitespace.
    npre = [normalize(line) for line in images.pre]
    npost = [normalize(line) for line in images.post]
    if npre == npost:
        # The hunk changes only whitespace: collapsing it cannot tell applied from not applied.
        hits = view.find_all_normalized(npre)
        at = nearest(hits, expected, floor)
        if at is not None:
            return Location(
                status=HunkStatus.WHITESPACE,
                expected=expected,
                found=at,
                shift=at - expected,
                needs_review=True,
                reasons=(
                    "the hunk only changes whitespace and the file's whitespace matches neither"
                    " side exactly",
                ),
                placement=Placement(hunk, at),
                span=len(images.pre),
            )
    else:
        pre_ws = view.find_all_normalized(npre)
        post_ws = view.find_all_normalized(npost)
        pre_at = _choose(view, hunk, pre_ws, expected, floor)
        post_at = _choose(view, hunk, post_ws, expected, floor)
        if pre_at is not None:
            location = _judge_applicable(
                view,
                hunk,
                images,
                expected,
                pre_at,
                pre_ws,
                post_ws,
                fuzz_level=0,
                top=0,
                bottom=0,
                whitespace=True,
            )
            return _say_why_chosen(view, hunk, pre_ws, expected, floor, location)
        if post_at is not None:
            location = _already_applied(
                view, hunk, images, expected, post_at, post_ws, "whitespace"
            )
            return _say_why_chosen(view, hunk, post_ws, expected, floor, location)

    # Rung 4: some change groups applied, some not.
    partial = find_partial(view, hunk, expected, floor)
    if partial is not None:
        return partial

    # Rung 5: fuzz, GNU patch's way.
    for level, top, bottom in _fuzz_levels(images, fuzz):
        core_pre = images.pre[top : len(images.pre) - bottom]
        core_post = images.post[top : len(images.post) - bottom]
        pre_hits = [h - top for h in view.find_all(core_pre)]
        post_hits = [h - top for h in view.find_all(core_post)]
        pre_at = _choose(view, hunk, pre_hits, expected, floor - top)
        post_at = _choose(view, hunk, post_hits, expected, floor - top)
        if pre_at is not None and (
            post_at is None
            or (abs(pre_at - expected), pre_at < expected)
            < (abs(post_at - expected), post_at < expected)
        ):
            location = _judge_applicable(
                view,
                hunk,
                images,
                expected,
                pre_at,
                pre_hits,
                post_hits,
                fuzz_level=level,
                top=top,
                bottom=bottom,
                whitespace=False,
            )
            return _say_why_chosen(view, hunk, pre_hits, expected, floor - top, location)
        if post_at is not None:
            location = _already_applied(
                view,
                hunk,
                images,
                expected,
                post_at,
                post_hits,
                f"fuzz {level}",
                fuzz_level=level,
            )
            return _say_why_chosen(view, hunk, post_hits, expected, floor - top, location)

    return conflict(view, hunk, images, expected, floor)


def _choose(
    view: FileLines, hunk: Hunk, hits: Sequence[int], expected: int, floor: int
) -> int | None:
    """Which of the places an image matches the hunk goes to: the nearest one in the function
    the hunk header names, else the nearest (GNU patch's choice, :func:`nearest`).

    Identical-looking places tie on content; the header's function is evidence of which one
    upstream changed, distance to a line number the vendor's edits have moved is weaker. Only
    matters where there are several places, and then the ambiguity rule flags the match
    unless it is a clean one in the named function (which this choice keeps): what changes is
    where the proposal and ``--accept`` put the lines.
    """
    gnu = nearest(hits, expected, floor)
    if gnu is None or len(hits) < 2 or not hunk.section.strip():
        return gnu
    if _function_check(view, hunk, gnu) is None:
        return gnu
    named = [h for h in hits if h >= floor and h != gnu and _function_check(view, hunk, h) is None]
    return nearest(named, expected, floor) if named else gnu


def _say_why_chosen(
    view: FileLines,
    hunk: Hunk,
    hits: Sequence[int],
    expected: int,
    floor: int,
    location: Location,
) -> Location:
    """``location`` with a reason saying so when :func:`_choose` took another place than the
    nearest, the one GNU patch would take."""
    gnu = nearest(hits, expected, floor)
    if location.found is None or gnu is None or gnu == location.found:
        return location
    found = view.definition_above(gnu)
    other = found.decode("utf-8", "replace").strip() if found is not None else "nothing"
    return replace(
        location,
        reasons=(
            *location.reasons,
            f"of the places that match, line {location.found + 1} is in"
            f" '{hunk.section.strip()}', the function the hunk header names; the nearest,"
            f" line {gnu + 1} (where GNU patch would put it), is in '{other}'",
        ),
    )


def _check_nearer_fuzzy(
    view: FileLines,
    images: Images,
    expected: int,
    at: int,
    fuzz: int,
    location: Location,
    exact: Sequence[int] = (),
) -> Location:
    """``location`` (an exact match at an offset), flagged when the pre-image also matches
    with fuzz nearer to where the patch says: an exact copy of the lines elsewhere may be the
    wrong place, and the stated one the right place with its context changed by the vendor.
    The ``exact`` matches are left out: the ambiguity rule speaks of them."""
    nearer = _nearer_fuzzy(view, images, expected, at, fuzz, exact)
    if not nearer:
        return location
    level, hit = nearer[0]
    return _flagged(
        location,
        Rule.NEARER_FUZZY,
        f"with {level} context line{'s' if level != 1 else ''} ignored it also"
        f" matches at line {hit + 1}, nearer to where the patch says: the exact match"
        " may be a copy",
    )


STATED_MIN_CHARS = 8
"""A line the vendor changed at the stated place counts (see :func:`_check_stated_place`) only
if both its versions have at least this many characters outside blanks, braces and generic
keywords: ``x++;`` or ``}`` differ by chance in repetitive code."""


def _check_stated_place(
    view: FileLines, images: Images, expected: int, location: Location
) -> Location:
    """``location`` (an exact match at an offset), flagged when the stated place holds the
    pre-image with exactly one line changed, a distinctive one.

    Evidence for the flag: the line number and all but one of the pre-image's lines agree on
    the stated place; the exact match elsewhere is a copy that the vendor did not edit (an
    ``#ifdef`` twin, a function copied), the stated one the hunk's place with a vendor's edit.
    With no function in the hunk header (``diff -u``) nothing else tells them apart: GNU patch
    applies the change to the copy ("offset -10 lines"), and so did patchsmith, unflagged.
    Against: more than one line differs (the stated place is other code), or the differing line
    is generic on either side (repetitive bodies differ there by chance); a change in the
    outer context is the nearer-fuzzy rule's.
    """
    pre = images.pre
    size = len(pre)
    if size < MIN_FUZZ_CORE + 1 or expected < 0 or expected + size > len(view):
        return location
    lines = view.lines
    if lines[expected] != pre[0] and lines[expected + size - 1] != pre[-1]:
        return location  # the quick no: one of the ends must stand for one change in all
    differ = [i for i in range(size) if lines[expected + i] != pre[i]]
    if len(differ) != 1:
        return location
    changed = differ[0]
    vendor_line = lines[expected + changed]
    if min(distinctive_chars([pre[changed]]), distinctive_chars([vendor_line])) < STATED_MIN_CHARS:
        return location
    return _flagged(
        location,
        Rule.NEARER_FUZZY,
        f"at line {expected + 1}, where the patch says, the same lines stand but for one"
        f" the vendor changed (line {expected + changed + 1}): the exact match may be a copy",
    )


def _check_nearer_whitespace(
    view: FileLines,
    images: Images,
    expected: int,
    at: int,
    location: Location,
    exact: Sequence[int],
) -> Location:
    """``location`` (an exact match at an offset), flagged when the whole pre-image also
    matches with whitespace ignored nearer to where the patch says.

    Evidence for the flag: a place nearer to the stated line holds every line of the pre-image
    but for blanks (the vendor re-indented the function, wrapped the block in an ``if``), so
    the exact match farther away may be a copy the vendor left alone (a twin, an ``#ifdef``
    branch): GNU patch applies there, and so did patchsmith, unflagged, with no function
    named in the headers. Against: no such nearer place, or a pre-image of generic lines only
    (``}``, ``return 0;``), which match anywhere.
    """
    normalized = [normalize(line) for line in images.pre]
    if distinctive_chars(images.pre) < GENERIC_CHARS:
        return location
    distance = abs(at - expected)
    size = len(normalized)
    # Only the lines a nearer place can hold are normalized (see _original_nearer).
    low = max(0, expected - distance + 1)
    region = [normalize(line) for line in view.lines[low : expected + distance + size]]
    nearer = sorted(
        (
            hit
            for hit in range(low, low + len(region) - size + 1)
            if abs(hit - expected) < distance
            and region[hit - low : hit - low + size] == normalized
            and not holds(exact, hit)
        ),
        key=lambda hit: abs(hit - expected),
    )
    if not nearer:
        return location
    return _flagged(
        location,
        Rule.NEARER_FUZZY,
        f"with whitespace ignored it also matches at line {nearer[0] + 1}, nearer to where the"
        " patch says: the exact match may be a copy",
    )


def _check_result_at_stated_place(
    view: FileLines, images: Images, expected: int, location: Location
) -> Location:
    """``location`` (an exact match at an offset), flagged when the hunk's result stands
    exactly at the stated line.

    Evidence for the flag: the line number and every line of the post-image agree there, so
    the vendor most likely carries the fix where upstream made it, and the pre-image found
    elsewhere is a copy that still reads as the original (a twin function, an ``#ifdef``
    branch): applying there changes the copy, a second time. GNU patch does ("offset 12
    lines"), and the post-image rule looks only near the match, in its function. Against: the
    stated place does not hold the result (most offsets: the vendor's edits moved the code),
    or the hunk's result is its original (nothing to tell them apart by).
    """
    post = images.post
    if (
        Rule.POST_IMAGE in location.rules
        or post == images.pre
        or expected < 0
        or expected + len(post) > len(view)
        or not view.image_at(post, expected)
    ):
        return location
    return _flagged(
        location,
        Rule.POST_IMAGE,
        f"at line {expected + 1}, where the patch says, the hunk's result already stands: the"
        " fix may be there, and the match a copy that still reads as the original",
    )


def _nearer_fuzzy(
    view: FileLines, images: Images, expected: int, at: int, fuzz: int, exact: Sequence[int]
) -> list[tuple[int, int]]:
    """The places nearer to ``expected`` than ``at`` where the pre-image matches with fuzz, as
    (level, 0-based start), at the lowest level that finds any, nearest first.

    A place counts only where at least :data:`MIN_FUZZ_CORE` of the pre-image's lines stand as
    they are (the compared ones, and any ignored one that matches anyway): fewer match by chance
    in repetitive code, as for a fuzz match itself, and are no evidence that the hunk's place
    is there rather than at the exact match.
    """
    distance = abs(at - expected)
    size = len(images.pre)
    for level, top, bottom in _fuzz_levels(images, fuzz):
        core = images.pre[top : size - bottom]
        # Only hits nearer than the exact match are wanted: the search is bounded to them.
        low, high = expected - distance + 1 + top, expected + distance - 1 + top
        nearer = [
            hit - top
            for hit in view.find_all(core, low, high)
            if hit - top != at
            and abs(hit - top - expected) < distance
            and not holds(exact, hit - top)
        ]
        nearer = [
            start
            for start in nearer
            if size - len(_dropped_mismatches(view, images, start, top, bottom)) >= MIN_FUZZ_CORE
        ]
        if nearer:
            return [(level, hit) for hit in sorted(nearer, key=lambda hit: abs(hit - expected))]
    return []


def _adds_little(hunk: Hunk) -> bool:
    """Whether the lines the hunk adds are too few or too common (``}``, a blank line) to be
    evidence on their own that it is applied: then finding its result proves little (see
    :data:`DUPLICATE_MIN_CHARS`). An added ``if (...) return rt;`` is evidence; a removal is not."""
    added = [text for op, text in zip(hunk.ops, hunk.texts, strict=True) if op == ADD]
    return sum(len(normalize(text)) for text in added) < DUPLICATE_MIN_CHARS


def _original_with_fuzz(view: FileLines, images: Images, at: int, fuzz: int) -> int:
    """The lowest fuzz level at which the pre-image matches lines overlapping the post-image
    found at ``at``, or 0. Then the vendor's lines read as both: the fix applied, or not applied
    with context changed (a removal of "c }" from "} c } c } b" reads so when the vendor
    changed the first "}")."""
    for level, top, bottom in _fuzz_levels(images, fuzz):
        core = images.pre[top : len(images.pre) - bottom]
        # Only a pre-image overlapping the post-image counts: the search is bounded to those.
        low, high = at - len(images.pre) + 1 + top, at + len(images.post) - 1 + top
        for hit in view.find_all(core, low, high):
            start = hit - top
            if start < at + len(images.post) and at < start + len(images.pre):
                return level
    return 0


def _fuzz_levels(images: Images, fuzz: int) -> Iterator[tuple[int, int, int]]:
    """(level, top, bottom) for each fuzz level up to ``fuzz`` that drops more context than
    the one below it and leaves some of the pre-image to compare (see :func:`_fuzz_cut`)."""
    for level in range(1, fuzz + 1):
        cut = _fuzz_cut(images, level)
        if cut is not None and cut[0] + cut[1] < len(images.pre):
            yield level, *cut


def _fuzz_cut(images: Images, level: int) -> tuple[int, int] | None:
    """How many leading and trailing context lines GNU patch ignores at fuzz ``level``.

    GNU patch measures fuzz against the larger of the two contexts, so a hunk at the top of a
    file (no leading context) loses only trailing lines. ``None`` when the level drops nothing
    more than the level below it.
    """
    context = max(images.leading, images.trailing)
    top = min(max(level + images.leading - context, 0), images.leading)
    bottom = min(max(level + images.trailing - context, 0), images.trailing)
    if level > 1:
        below = _fuzz_cut_raw(images, level - 1)
        if below == (top, bottom):
            return None
    if top == 0 and bottom == 0:
        return None
    return top, bottom


def _fuzz_cut_raw(images: Images, level: int) -> tuple[int, int]:
    context = max(images.leading, images.trailing)
    top = min(max(level + images.leading - context, 0), images.leading)
    bottom = min(max(level + images.trailing - context, 0), images.trailing)
    return top, bottom


def _locate_insertion(view: FileLines, hunk: Hunk, images: Images, expected: int) -> Location:
    """A hunk without pre-image lines: it inserts at a line number with nothing to check."""
    hits = view.find_all(images.post) if images.post else []
    if hits:
        at = nearest(hits, expected)
        assert at is not None
        weak = _weak_evidence(hunk, images.post, at - expected, len(hits) > 1) or (
            _unanchored(at - expected, len(hits) > 1)
        )
        return Location(
            status=HunkStatus.ALREADY_APPLIED,
            expected=expected,
            found=at,
            shift=at - expected,
            needs_review=bool(weak),
            reasons=("the added lines are already there", weak)
            if weak
            else ("the added lines are already there",),
            rules=(Rule.WEAK_EVIDENCE,) if weak else (),
            span=len(images.post),
            growth=len(images.post),
        )
    if 0 <= expected <= len(view):
        review = len(view) > 0
        return Location(
            status=HunkStatus.CLEAN,
            expected=expected,
            found=expected,
            shift=0,
            needs_review=review,
            reasons=("the hunk has no context lines: its place cannot be checked",)
            if review
            else (),
            rules=(Rule.NO_CONTEXT,) if review else (),
            placement=Placement(hunk, expected),
            span=0,
            growth=len(images.post),
        )
    return Location(
        status=HunkStatus.CONFLICT,
        expected=expected,
        found=None,
        shift=0,
        reasons=(f"the hunk inserts at line {expected + 1}, past the end of the file",),
    )


def _unanchored(shift: int, elsewhere: bool) -> str:
    """Why added lines found for a hunk without context prove too little, or ``""``.

    With no context, the added lines and the line number are all the hunk says. Evidence that
    it is applied: the lines stand exactly where the line number puts them, and nowhere else.
    Against: they stand elsewhere, or in several places, where they may be the file's own (the
    same unlock on another path, in another function), however distinctive they are.
    """
    if shift == 0 and not elsewhere:
        return ""
    where = "in several places" if elsewhere else f"{abs(shift)} lines from where the patch says"
    return (
        f"the hunk has no context lines and its added lines stand {where}: they may be the"
        " file's own, not the fix"
    )


def _judge_applicable(
    view: FileLines,
    hunk: Hunk,
    images: Images,
    expected: int,
    at: int,
    hits: Sequence[int],
    post_hits: Sequence[int],
    *,
    fuzz_level: int,
    top: int,
    bottom: int,
    whitespace: bool,
    near: tuple[int, int] | None = None,
) -> Location:
    """A pre-image match: pick the status and apply the safety rules.

    ``near`` is the range of the file's bytes around the match that :func:`locate_hunk` already
    measured (see :meth:`FileLines.bytes_around`), when it did.
    """
    shift = at - expected
    reasons: list[str] = []
    rules: list[Rule] = []
    review = False
    if fuzz_level:
        status = HunkStatus.FUZZ
    elif whitespace:
        status = HunkStatus.WHITESPACE
    elif shift == 0:
        status = HunkStatus.CLEAN
    else:
        status = HunkStatus.OFFSET

    if isinstance(hits, Hits):
        # In order and each once: the first six hold the first five others (all the reason
        # names), without a pass over every copy of repetitive code for each of its hunks.
        others = [h for h in hits[:6] if h != at][:5]
    else:
        others = [] if len(hits) == 1 and hits[0] == at else sorted({h for h in hits if h != at})
    if others and not (status == HunkStatus.CLEAN and _confirmed_only_here(view, hunk, at, others)):
        # A clean match is trusted over its copies only when the hunk header's function confirms
        # it: a vendor's copy of a function can sit at the stated line.
        review = True
        rules.append(Rule.AMBIGUOUS)
        where = ", ".join(str(h + 1) for h in others[:5])
        reasons.append(f"ambiguous: the same lines also match at line {where}")
    near_post = [
        h
        for h in within(post_hits, at - LARGE_OFFSET, at + LARGE_OFFSET)
        if abs(h - at) <= LARGE_OFFSET and h != at and _same_function_at(view, at, h)
    ]
    if near_post:
        post_hits = near_post
        review = True
        rules.append(Rule.POST_IMAGE)
        reasons.append(
            f"the post-image is also present at line {post_hits[0] + 1}: the fix may already be"
            " there"
        )
    elif _reads_as_result(view, hunk, images, at, post_hits):
        # The lines here read as the hunk's result too (what it adds repeats the lines next to
        # it: "}" after "}", a blank after a blank), so the file cannot tell applied from not.
        review = True
        rules.append(Rule.READS_AS_BOTH)
        reasons.append(
            "the lines here also read as the hunk's result (what it adds repeats its context):"
            " the fix may already be there"
        )

    dropped_mismatch: list[int] = []
    if fuzz_level:
        dropped_mismatch = _dropped_mismatches(view, images, at, top, bottom)
    if status in (HunkStatus.FUZZ, HunkStatus.WHITESPACE) or abs(shift) > LARGE_OFFSET:
        verdict = _function_check(view, hunk, at)
        # An exact, unique match far away is trusted when the header names no function: seven
        # identical lines are strong evidence. Only a positive mismatch flags it.
        unverifiable = verdict is not None and verdict.startswith("cannot")
        if verdict is not None and not (status == HunkStatus.OFFSET and unverifiable):
            review = True
            rules.append(Rule.WRONG_FUNCTION)
            reasons.append(verdict)
    else:
        # An exact match near the stated line: see _named_elsewhere for when it is still the
        # wrong place.
        elsewhere = _named_elsewhere(view, hunk, at, expected)
        if elsewhere:
            review = True
            rules.append(Rule.WRONG_FUNCTION)
            reasons.append(elsewhere)
    if status in (HunkStatus.FUZZ, HunkStatus.WHITESPACE) and abs(shift) > LARGE_OFFSET:
        review = True
        rules.append(Rule.FAR)
        reasons.append(f"matched {abs(shift)} lines from where it was expected")

    duplicate = _duplicate_nearby(view, hunk, images, at, at + len(images.pre), near)
    if duplicate is not None:
        review = True
        rules.append(Rule.DUPLICATE)
        reasons.append(duplicate)

    edge = _edge_violation(view, hunk, images, at)
    if edge:
        review = True
        rules.append(Rule.EDGE)
        reasons.append(edge)

    if fuzz_level:
        dropped = top + bottom
        detail = f"{dropped} context line{'s' if dropped != 1 else ''} ignored" + (
            f", {len(dropped_mismatch)} of them differ" if dropped_mismatch else ""
        )
        reasons.insert(0, f"fuzz {fuzz_level}: {detail}")
        if len(images.pre) - top - bottom < MIN_FUZZ_CORE:
            review = True
            rules.append(Rule.FUZZ_CORE)
            reasons.append("too few lines left to compare after dropping context")
    elif whitespace:
        reasons.insert(0, "matches only with whitespace differences ignored")
        if _removed_lines_differ(view, hunk, at):
            review = True
            rules.append(Rule.WHITESPACE)
            reasons.append("lines the hunk removes differ in whitespace from the vendor's")
    elif status == HunkStatus.OFFSET and not reasons:
        reasons.append(
            f"found {abs(shift)} line{'s' if abs(shift) != 1 else ''} "
            f"{'below' if shift > 0 else 'above'} where expected"
        )

    return Location(
        status=status,
        expected=expected,
        found=at,
        shift=shift,
        fuzz=fuzz_level,
        needs_review=review,
        reasons=tuple(reasons),
        placement=Placement(hunk, at + top, top, bottom),
        span=len(images.pre),
        rules=tuple(rules),
    )


def _already_applied(
    view: FileLines,
    hunk: Hunk,
    images: Images,
    expected: int,
    at: int,
    hits: Sequence[int],
    how: str,
    fuzz_level: int = 0,
    original: int = 0,
) -> Location:
    """The post-image found at ``at``. ``original`` is the fuzz level at which the pre-image
    matches over the same lines too (0: it does not; see :func:`_original_with_fuzz`).

    Already applied is settled only on positive evidence of the change, not of its
    surroundings alone. The lines the hunk adds are in what was found; the lines it removes
    must be gone: when most of them still stand between its context, next to the found lines
    or where the patch says, it is not applied (:func:`~patchsmith.engine.conflict.not_applied`
    reports it, with that region as the candidate). And a post-image that is only generic
    lines, with no distinctive added line, is weak evidence unless it is exactly where the
    patch says and nowhere else: flagged, like fuzzy context (see :func:`_weak_evidence`).
    """
    region = removal_standing(view, hunk, images, at, expected)
    if region is not None:
        return not_applied(view, hunk, images, expected, at, region)
    reasons = [f"the post-image is already there ({how} match)"]
    rules: list[Rule] = []
    elsewhere = any(h != at for h in hits)
    if elsewhere:
        reasons.append("the post-image also occurs elsewhere in the file")
    if original:
        rules.append(Rule.READS_AS_BOTH)
        reasons.append(
            f"the same lines also read as the hunk's original with {original} context"
            f" line{'s' if original != 1 else ''} ignored (what it removes or adds repeats its"
            " context): the fix may not be there"
        )
    weak = _weak_evidence(hunk, images.post, at - expected, elsewhere)
    if weak:
        rules.append(Rule.WEAK_EVIDENCE)
        reasons.append(weak)
    standing = _removal_partly_standing(view, hunk, images, expected, at)
    if standing:
        rules.append(Rule.WEAK_EVIDENCE)
        reasons.append(standing)
    edge = _post_edge_violation(view, hunk, images, at)
    if edge:
        rules.append(Rule.EDGE)
        reasons.append(edge)
    # The result found in a twin of the function the header names proves the twin has it,
    # not the named one (whose lines the vendor may have edited so its own image is gone).
    other_function = _named_elsewhere(view, hunk, at, expected)
    if other_function:
        rules.append(Rule.WRONG_FUNCTION)
        reasons.append(other_function)
    if how == "exact" and at != expected:
        # Nearer than the result; with no function in the header, anywhere near (see
        # _check_unnamed_twin: nothing else tells a twin's result from the hunk's).
        reach = 0 if hunk.section.strip() else LARGE_OFFSET + 1
        place = _original_nearer(view, images, expected, at, len(images.post), reach)
        if place >= 0:
            nearer = abs(place - expected) < abs(at - expected)
            rules.append(Rule.NEARER_FUZZY)
            reasons.append(
                f"at line {place + 1}, {'nearer to' if nearer else 'near'}"
                " where the patch says, the hunk's original stands with the vendor's edits: the"
                " result found may be a copy's, and the fix not there"
            )
    return Location(
        status=HunkStatus.ALREADY_APPLIED,
        expected=expected,
        found=at,
        shift=at - expected,
        fuzz=fuzz_level,
        needs_review=fuzz_level > 0 or how == "whitespace" or bool(rules),
        rules=tuple(rules),
        reasons=tuple(reasons),
        span=len(images.post),
        growth=len(images.post) - len(images.pre),
    )


STATED_SLACK = 2
"""Lines the vendor may have added among the hunk's original (see :func:`_original_nearer`)."""


def _original_nearer(
    view: FileLines,
    images: Images,
    expected: int,
    at: int,
    span: int,
    reach: int = 0,
    image: Sequence[bytes] | None = None,
) -> int:
    """The 0-based start of the place nearest the stated line, and nearer to it than ``at``
    (or than ``reach`` lines, if more), that still holds the hunk's original (or ``image``) as
    the vendor edited it; ``-1`` when there is none.

    Such a place holds every line of the image but at most one, whitespace ignored, in
    order, with at most :data:`STATED_SLACK` of the vendor's lines between them, and what it
    holds is not only generic lines; and it does not overlap the match (``span`` lines from
    ``at``: a match a few lines off reads as its own original). Then the line number points at
    the hunk's original, edited by the vendor (a lock call changed, a re-indent, a line added
    where the fix goes), and the exact image found farther away may be a copy's (a twin, an
    ``#ifdef`` branch).
    """
    pre = images.pre if image is None else image
    size = len(pre)
    distance = max(abs(at - expected), reach)
    if size < MIN_FUZZ_CORE or distance == 0:
        return -1
    wanted = [normalize(line) for line in pre]
    # Only the lines a place nearer than ``distance`` can hold are normalized (not the file:
    # this runs for most offset matches, and a kernel file is thousands of lines).
    low = max(0, expected - distance + 1)
    high = min(len(view), expected + distance + size + STATED_SLACK)
    if low >= high:
        return -1
    normalized = [normalize(line) for line in view.lines[low:high]]
    # All but one line stand, so the first or the second does: the places to try start at
    # either, a little above it for the vendor's lines.
    starts: set[int] = set()
    for first in (0, 1):
        for position, line in enumerate(normalized, start=low):
            if line == wanted[first]:
                starts.update(range(position - first - STATED_SLACK, position + 1))
    found = -1
    for start in sorted(starts, key=lambda s: (abs(s - expected), s < expected)):
        if start < low or abs(start - expected) >= distance:
            continue
        end = min(high, start + size + STATED_SLACK)
        if start < at + span and at < end:
            continue  # overlaps the match
        window = normalized[start - low : end - low]
        matched: list[bytes] = []
        position = 0
        for index, line in enumerate(wanted):
            try:
                here = window.index(line, position)
            except ValueError:
                continue
            if matched and here - position > STATED_SLACK:
                continue
            matched.append(pre[index])
            position = here + 1
        if len(matched) >= size - 1 and distinctive_chars(matched) >= GENERIC_CHARS:
            found = start
            break
    return found


def _check_original_nearer(
    view: FileLines, images: Images, expected: int, location: Location
) -> Location:
    """``location`` (an exact match at an offset, or an exact already-applied result at one),
    flagged nearer-fuzzy when a place nearer to the stated line holds the hunk's original as
    the vendor edited it (see :func:`_original_nearer`).

    Evidence for the flag: that place agrees with the line number and reads as the original
    but for the vendor's edits; the exact image farther away may be a copy's: applying there
    changes the copy, and settling a copy's result as applied leaves the place unfixed (GNU
    patch does both). Against: no nearer place reads as the original (the usual offset: the
    vendor's lines moved the code, the stated place holds other code).
    """
    assert location.found is not None
    place = _original_nearer(view, images, expected, location.found, location.span)
    if place >= 0:
        what = "result" if location.status == HunkStatus.ALREADY_APPLIED else "match"
        return _flagged(
            location,
            Rule.NEARER_FUZZY,
            f"at line {place + 1}, nearer to where the patch says, the hunk's original stands"
            f" with the vendor's edits: the exact {what} may be a copy's, and that place the"
            " hunk's",
        )
    return location


def _check_unnamed_twin(
    view: FileLines, hunk: Hunk, images: Images, expected: int, location: Location
) -> Location:
    """``location`` (an exact match at an offset), flagged when the hunk header names no
    function and another place within :data:`LARGE_OFFSET` lines of the stated line holds the
    hunk's original or its result, as the vendor edited it or exactly (see
    :func:`_original_nearer`).

    Evidence for the flag: two places near where the patch says read as the hunk's (twin
    functions: one with the fix, one without, one edited by the vendor), the line number is off
    anyway, and no function name says which is the hunk's: GNU patch takes the nearest, which
    may be the twin's, and applies upstream's change to it. With a function in the header the
    function rules decide instead. Against: a function in the header, the match where the
    patch says (exact copies elsewhere are then the ambiguity rule's), or no other such place
    near.
    """
    if hunk.section.strip() or location.found is None or location.found == expected:
        return location
    at, span = location.found, location.span
    reach = LARGE_OFFSET + 1
    place = _original_nearer(view, images, expected, at, span, reach)
    found = "original"
    if place < 0 and images.post != images.pre and distinctive_chars(images.post) >= GENERIC_CHARS:
        place = _original_nearer(view, images, expected, at, span, reach, images.post)
        found = "result"
    if place < 0:
        return location
    return _flagged(
        location,
        Rule.POST_IMAGE if found == "result" else Rule.NEARER_FUZZY,
        f"at line {place + 1}, near where the patch says, the hunk's {found} stands too"
        " (exactly or as the vendor edited it), and the hunk header names no function to tell"
        " which place is the hunk's",
    )


def _weak_evidence(hunk: Hunk, post: Sequence[bytes], shift: int, elsewhere: bool) -> str:
    """Why a found post-image proves too little for an already-applied verdict, or ``""``.

    The post-image is weak evidence when the hunk adds nothing distinctive (see
    :func:`_adds_little`) and the post-image itself is generic (fewer than
    :data:`~patchsmith.engine.conflict.GENERIC_CHARS` characters outside blank lines, braces,
    ``return``, ``goto``, ``break`` and labels). It still counts when it is exactly where the
    patch says and nowhere else in the file: the line number and the lines agree, as for a
    clean match. Anywhere else, or in several places, it could be any function's tail.
    """
    if (shift == 0 and not elsewhere) or not _adds_little(hunk):
        return ""
    if distinctive_chars(post) >= GENERIC_CHARS:
        return ""
    where = "in several places" if elsewhere else f"{abs(shift)} lines from where the patch says"
    return (
        "the post-image is only generic lines (braces, blank lines, return/goto/break) and"
        f" the hunk adds nothing distinctive: found {where}, it proves little"
    )


def _reads_as_result(
    view: FileLines, hunk: Hunk, images: Images, at: int, post_hits: Sequence[int]
) -> bool:
    """Whether the lines matched at ``at`` read as the hunk's result too (what it adds or
    removes repeats the lines next to it), so the file cannot tell applied from not."""
    if images.post == images.pre or not images.post:
        return False
    if images.trailing < images.leading:
        # A hunk with less trailing than leading context ends at the end of the file (GNU
        # patch's rule, see _edge_violation): so does its result, wherever it starts (removing
        # the last of five "a" lines from a file ending in four reads as done).
        start = len(view) - len(images.post)
        return start >= 0 and view.image_at(images.post, start)
    # A hunk that only removes has no post-image search (see locate_hunk): look here.
    return holds(post_hits, at) or (
        len(hunk.ops) == len(images.pre) and view.image_at(images.post, at)
    )


def _dropped_mismatches(
    view: FileLines, images: Images, at: int, top: int, bottom: int
) -> list[int]:
    """Indexes (into the pre-image) of ignored context lines that differ from the file."""
    differ: list[int] = []
    pre = images.pre
    positions = list(range(top)) + list(range(len(pre) - bottom, len(pre)))
    for index in positions:
        file_index = at + index
        if not (0 <= file_index < len(view)) or view.lines[file_index] != pre[index]:
            differ.append(index)
    return differ


def _confirmed_only_here(view: FileLines, hunk: Hunk, at: int, others: Sequence[int]) -> bool:
    """Whether the hunk header's function encloses ``at``, so the copies elsewhere are the
    file's own repetition rather than a vendor's copy of the function sitting at the stated line
    (repetitive code inside one function, like hwmon register tables, was in vanilla too)."""
    del others
    return _function_check(view, hunk, at) is None


def _function_check(view: FileLines, hunk: Hunk, at: int) -> str | None:
    """``None`` when the match is inside the function the hunk header names, else why not."""
    section = hunk.section.encode("utf-8", "surrogateescape")
    if not section.strip():
        return "cannot confirm the location: the hunk header names no function"
    # git names the function from the lines above the hunk's first line.
    found = view.definition_above(at)
    if found is not None and same_function(section, found):
        return None
    # The hunk's own context may contain the definition line (a hunk at a function's start).
    name = found.decode("utf-8", "replace").strip() if found else "nothing"
    return f"wrong function? the hunk is for '{hunk.section.strip()}' but the match is in '{name}'"


# out:     err_free_irq:     properties:     (a hunk header naming a label, not a function)
_LABEL_SECTION = re.compile(rb"[A-Za-z_]\w*:$")

# A line starting at the left margin with what may start a definition (after its newline).
_MARGIN_LINE = re.compile(rb"\n[A-Za-z_$]")

# static int foo(struct dev *d)     -> foo        DEFINE_MUTEX(lock);  -> DEFINE_MUTEX
_FUNCTION_NAME = re.compile(rb"([A-Za-z_]\w*)\s*\(")


def _definitions_of(name: bytes) -> re.Pattern[bytes]:
    """Lines at the left margin that hold ``name`` before a ``(``: where it may be defined."""
    return re.compile(rb"(?m)^[A-Za-z_$][^\n]*\b" + re.escape(name) + rb"\s*\(")


def _named_elsewhere(view: FileLines, hunk: Hunk, at: int, expected: int) -> str:
    """Why an exact match (or an exact already-applied post-image) near the stated line is in
    the wrong function, or ``""``.

    For: the hunk header names a function, the file defines that name (a definition line
    :func:`same_function` accepts, :meth:`FileLines.definitions_named`), and the match is not
    inside it (its nearest definition line above, as git names a hunk's function, is another).
    Then the lines and the line number agree on a place the name says is not the hunk's: the
    vendor's twin of the function (``#ifdef`` branches, a copy, a ``static inline`` pair) with
    the named one edited where the hunk goes, or removed from where it was. Against (no flag):
    a header that names no function or only a label, and a file that no longer defines the
    name (the vendor renamed or re-typed it: the name is no evidence either way).

    A file that defines the name twice (``#ifdef`` twins) is judged by the line as well: a
    match at an offset inside one definition while the stated line (after the running shift)
    lies inside the other is flagged too, since the name fits both and the number says the
    other. Without
    this rule such a match settled unflagged: an offset of ten lines into the twin, the change
    written into the function upstream did not touch.
    """
    section = hunk.section.encode("utf-8", "surrogateescape")
    if not section.strip():
        return ""
    found = view.definition_above(at)
    if found is not None and same_function(section, found):
        if at == expected:
            return ""
        # Inside a function of that name; but when the file defines the name twice and the
        # stated line lies in the other definition, the name cannot vouch for this one and
        # the line number speaks for the other. No definition-looking line near the match, as
        # far as the stated line, answers it without reading the file's definitions.
        span = view.span_around(at, at, abs(at - expected))
        if span is not None and _MARGIN_LINE.search(view.blob, span[1], span[2]) is None:
            return ""
        # Nor does a name defined once (one search of the bytes; a twin needs two).
        name = _FUNCTION_NAME.search(section)
        if name is not None and len(_definitions_of(name.group(1)).findall(view.blob)) < 2:
            return ""
        named = view.definitions_named(section)
        if len(named) < 2:
            return ""
        here, stated = view.enclosing(at), view.enclosing(expected)
        if stated == here or stated not in named or here is None:
            return ""
        if any(view.lines[n].rstrip().endswith(b";") for n in (here, stated)):
            # A prototype, or a statement at the left margin that only looks like a
            # definition (a wrapped argument, ``status);``): not a twin whose body holds code.
            return ""
        return (
            f"wrong twin? '{hunk.section.strip()}' is defined at lines"
            f" {', '.join(str(n + 1) for n in named[:5])}: the patch's line is in the one at"
            f" line {stated + 1}, the match in the one at line {here + 1}"
        )
    # The name itself must be defined: a definition line holding it before a "(" (a quick
    # search of the bytes first, since most such matches are in files that do not define it:
    # git named a line the definition logic reads otherwise).
    name = _FUNCTION_NAME.search(section)
    if name is not None and _definitions_of(name.group(1)).search(view.blob) is None:
        return ""
    if name is None:
        # A label (git's default driver names "out:"; a YAML key reads so too) is no
        # function; anything else must start a line as the header has it.
        head = section.strip()
        if _LABEL_SECTION.match(head):
            return ""
        if re.search(rb"(?m)^" + re.escape(head[:16]), view.blob) is None:
            return ""
    named = [
        line
        for line in view.definitions_named(section)
        if name is None or name.group(1) in view.lines[line]
    ]
    if not named:
        return ""
    where = found.decode("utf-8", "replace").strip() if found is not None else "nothing"
    return (
        f"wrong function? the hunk is for '{hunk.section.strip()}' (line {named[0] + 1}), but"
        f" the match is in '{where}'"
    )


def _duplicate_nearby(
    view: FileLines,
    hunk: Hunk,
    images: Images,
    start: int,
    end: int,
    near: tuple[int, int] | None = None,
) -> str | None:
    """Whether a block of lines the hunk adds already exists near the match, in the same
    function and next to the hunk's context: the duplicate-code trap.

    Kernel code repeats itself (the same ``if (!initialized) return -ENOEXEC;`` in every case
    of a switch, the same ``kfree()`` in an init error path and in the exit function), so an
    added block found nearby proves little on its own: on Debian's tree that alone flags one
    clean hunk in a hundred. A vendor's backport sits in the function upstream changed, next to
    the lines upstream put it next to. So the block must be in the match's function and have
    at least half of the hunk's distinctive context lines on the matching side of it. Only
    pure additions count: when a change group replaces lines, the replaced lines are still at
    the match, so the fix cannot already be there.
    """
    if len(hunk.ops) == len(images.pre):  # nothing added
        return None
    groups = _pure_additions(hunk)
    if not groups:
        return None
    in_pre: set[bytes] | None = None
    window: tuple[int, Sequence[bytes]] | None = None
    pre_bytes: bytes | None = None
    if near is None:
        near = view.bytes_around(start, end, DUPLICATE_WINDOW)
    for group in groups:
        # Collapsing whitespace never lengthens a line: a group this short as bytes is short.
        if sum(map(len, group)) < DUPLICATE_MIN_CHARS:
            continue
        if near is not None:
            # The quick no, before any line is normalized: the group's longest word, when no
            # pre-image line holds it, is in a line the block keeps, and a block with a word
            # missing from the lines near the match cannot be there.
            word = max(b" ".join(group).split(), key=len, default=b"")
            if pre_bytes is None:
                pre_bytes = b"".join(images.pre)
            if word and word not in pre_bytes and view.blob.find(word, *near) < 0:
                continue
        block = [n for n in map(normalize, group) if n]
        if sum(len(n) for n in block) < DUPLICATE_MIN_CHARS:
            continue
        if in_pre is None:
            in_pre = set(map(normalize, images.pre))
        block = [n for n in block if n not in in_pre]
        if sum(len(n) for n in block) < DUPLICATE_MIN_CHARS:
            continue
        # Cheap test first, on the lines near the match only: every word of the block
        # (whitespace cannot differ inside a word) must occur there at all, the longest (the
        # most telling) tried first. On the file's bytes when the match was an exact hit
        # (``near`` covers at least the window), so the lines are split only for a real look;
        # then on the window itself, before its lines are normalized. Testing every word
        # rather than only the longest spares that normalizing for most hunks that get here.
        words = sorted({word for n in block for word in n.split()}, key=len, reverse=True)
        if near is not None and window is None:
            blob, (low, high) = view.blob, near
            if any(blob.find(word, low, high) < 0 for word in words):
                continue
        if window is None:
            window = view.around(start, end, DUPLICATE_WINDOW)
        text = b"".join(window[1])
        if any(word not in text for word in words):
            continue
        found = _block_with_context(images, block, *window)
        if found is None or not _same_function_at(view, start, found):
            continue
        line = found + 1
        distance = start - found if found < start else max(0, found - end)
        return (
            f"lines the hunk adds already exist at line {line}"
            f" ({distance} lines from the match), next to the same context:"
            " the fix may already be backported"
        )
    return None


def _block_with_context(
    images: Images, block: Sequence[bytes], low: int, window: Sequence[bytes]
) -> int | None:
    """0-based file index of ``block`` (normalized, blank lines ignored) in ``window`` (which
    starts at file index ``low``) where at least half of the hunk's distinctive context lines
    surround it, or ``None``."""
    leading = [n for n in map(normalize, images.pre[: images.leading]) if len(n) >= 4]
    trailing = [
        n for n in map(normalize, images.pre[len(images.pre) - images.trailing :]) if len(n) >= 4
    ]
    normalized = [(low + i, n) for i, line in enumerate(window) if (n := normalize(line))]
    texts = [n for _i, n in normalized]
    context = leading + trailing
    reach = max(len(leading), len(trailing)) + 2
    for position in range(len(texts) - len(block) + 1):
        if texts[position : position + len(block)] != block:
            continue
        # Either side: a backport may sit a line or two off from where upstream put it.
        after_start = position + len(block)
        around = set(texts[max(0, position - reach) : position]) | set(
            texts[after_start : after_start + reach]
        )
        shared = sum(1 for n in context if n in around)
        if not context or shared * 2 >= len(context):
            return normalized[position][0]
    return None


def _same_function_at(view: FileLines, first: int, second: int) -> bool:
    """Whether two lines have the same nearest definition line above them."""
    one = view.enclosing(first)
    two = view.enclosing(second)
    return (one if one is not None else -1) == (two if two is not None else -1)


def _pure_additions(hunk: Hunk) -> list[list[bytes]]:
    """The added lines of each change group that removes nothing."""
    # Read from hunk.ops rather than hunk.lines, whose objects most hunks never need made (see
    # Hunk): a change group is a run of ops between context lines, and a pure addition one
    # that is all "+" (_ADDITION_RUN finds them in C).
    texts = hunk.texts
    return [list(texts[run.start() : run.end()]) for run in _ADDITION_RUN.finditer(hunk.ops)]


_ADDITION_RUN = re.compile(r"(?<![+-])\++(?![+-])")
"""A maximal run of added lines with no removed line next to it: a pure addition group."""


def _edge_violation(view: FileLines, hunk: Hunk, images: Images, at: int) -> str:
    """GNU patch's rule: a hunk with less leading than trailing context that starts at line 1
    must match at the top of the file; one with less trailing context, at the end of it."""
    if images.leading < images.trailing and hunk.old_start <= 1 and at != 0:
        return f"the hunk starts at the top of the file in the patch, but matched at line {at + 1}"
    if images.trailing < images.leading and at + len(images.pre) != len(view):
        return "the hunk ends at the end of the file in the patch, but the match is not there"
    return ""


def _removal_partly_standing(
    view: FileLines, hunk: Hunk, images: Images, expected: int, at: int
) -> str:
    """Why a found result of a hunk that removes lines proves too little, or ``""``: near the
    stated line the hunk's context stands exactly, in order, with something still where it
    removes lines: a removed line as it was, or a line the vendor edited (one with at least
    :data:`STATED_MIN_CHARS` distinctive characters, not one the hunk adds).

    :func:`~patchsmith.engine.conflict.removal_standing` makes a conflict of a place holding
    more than half of the removed lines unchanged (or all of them edited, next to the found
    lines); with fewer (one of two), or edited ones away from the found lines, the vendor did
    part of the removal there, or edited the lines instead, and the result found (the context
    alone, perhaps in a twin function or a copy) is not evidence that the change is there.
    Without this rule such a removal settled as already applied on a copy of its context ten
    lines down. A generic line in the gap (``x++;``, ``}``) is no evidence: repetitive code has
    one there by chance.
    """
    if REMOVE not in hunk.ops:
        return ""
    body = [(op, text) for op, text in zip(hunk.ops, hunk.texts, strict=True) if op != ADD]
    added = {text for op, text in zip(hunk.ops, hunk.texts, strict=True) if op == ADD}
    size = len(view)
    for start in range(max(0, expected - DUPLICATE_WINDOW), expected + DUPLICATE_WINDOW + 1):
        if start >= size:
            break
        if start == at or (body[0][0] == CONTEXT and view.lines[start] != body[0][1]):
            continue
        standing = _standing_in_gaps(view, body, added, start)
        if standing:
            return (
                f"at line {start + 1}, near where the patch says, its context stands with"
                f" {standing} line{'s' if standing != 1 else ''} still where it removes"
                " lines (as they were, or edited): the result found may be a copy of the"
                " context, and the removal not done there"
            )
    return ""


def _standing_in_gaps(
    view: FileLines, body: Sequence[tuple[str, bytes]], added: set[bytes], start: int
) -> int:
    """How many lines stand where the hunk removes lines, with every context line exact in
    order from ``start`` (0 when the context does not stand so, or nothing counts)."""
    size = len(view)
    index, position, count = start, 0, 0
    while position < len(body):
        op, text = body[position]
        if op == CONTEXT:
            if index >= size or view.lines[index] != text:
                return 0
            index += 1
            position += 1
            continue
        run = position
        while run < len(body) and body[run][0] == REMOVE:
            run += 1
        removed = [line for _op, line in body[position:run]]
        following = body[run][1] if run < len(body) else None
        # The gap: the fewest lines (up to two more than it removes) after which the next
        # context line stands; at the end of the hunk, what is left of the file.
        gap = None
        for width in range(len(removed) + 3):
            if following is None:
                if index + width == size:
                    gap = width
                    break
            elif index + width < size and view.lines[index + width] == following:
                gap = width
                break
        if gap is None:
            return 0
        for line in view.lines[index : index + gap]:
            if line in removed or (
                line not in added and distinctive_chars([line]) >= STATED_MIN_CHARS
            ):
                count += 1
        index += gap
        position = run
    return count


def _post_edge_violation(view: FileLines, hunk: Hunk, images: Images, at: int) -> str:
    """GNU patch's edge rule (:func:`_edge_violation`) for a found post-image: a hunk that
    ends at the end of the file (less trailing than leading context) ends it once applied, and
    one that starts at its top starts it. A result found elsewhere is the context alone: a
    removal at the end of a file whose last removed line the vendor kept (it now stands below
    the found lines) reads as applied, and is not."""
    if images.trailing < images.leading:
        below = len(view) - (at + len(images.post))
        if below > 0:
            return (
                "the hunk ends at the end of the file in the patch, but its result found here"
                f" is followed by {below} more line{'s' if below != 1 else ''}"
            )
    if images.leading < images.trailing and hunk.old_start <= 1 and at != 0:
        return (
            "the hunk starts at the top of the file in the patch, but its result was found at"
            f" line {at + 1}"
        )
    return ""


def _removed_lines_differ(view: FileLines, hunk: Hunk, at: int) -> bool:
    """Whether a line the hunk removes is in the file only up to whitespace."""
    index = at
    for line in hunk.lines:
        if line.op == ADD:
            continue
        if line.op == REMOVE and view.lines[index] != line.text:
            return True
        index += 1
    return False


# --- the vanilla base -----------------------------------------------------------------------------


VANILLA_CLEARED = "the vendor's code around it equals vanilla's, so upstream wrote it this way"
"""The reason :func:`clear_with_vanilla` appends to the flag it lifts."""


def unchanged_since_vanilla(
    view: FileLines,
    at: int,
    span: int,
    vanilla: FileLines,
    stated: int,
    reach: int = DUPLICATE_WINDOW,
) -> bool:
    """Whether the vendor left a match's neighbourhood as vanilla had it.

    Compares the vendor's lines ``at - reach`` to ``at + span + reach`` with vanilla's lines
    ``stated - reach`` to ``stated + span + reach`` (both clipped at the file's edges), byte for
    byte. ``at`` is where the hunk matched in the vendor's file, ``stated`` where the patch says
    its pre-image starts (0-based): in vanilla, the file upstream diffed against, the stated
    line is exact. The windows must also sit the same way in their files (as many lines above
    the match), so a clipped window cannot line up with a longer one by accident.

    Equal means upstream saw exactly this code around the place and chose to write its lines
    there; a vendor's backport nearby, a copy of the function, or any other vendor edit within
    ``reach`` lines makes them differ.
    """
    if span <= 0 or not 0 <= stated <= len(vanilla) - span:
        return False
    low, mine = view.around(at, at + span, reach)
    vanilla_low, theirs = vanilla.around(stated, stated + span, reach)
    return at - low == stated - vanilla_low and list(mine) == list(theirs)


def clear_with_vanilla(
    view: FileLines, hunk: Hunk, location: Location, vanilla: FileLines
) -> Location:
    """``location`` with its review flag lifted when vanilla shows the flag is upstream's own
    doing, else ``location`` unchanged.

    Only an exact match (``clean`` or ``offset``, no fuzz) flagged by nothing but the
    duplicate-code or ambiguity rules (:data:`VANILLA_CLEARABLE`) qualifies, and only when the
    vendor did not change the neighbourhood (:func:`unchanged_since_vanilla` over
    :data:`DUPLICATE_WINDOW` lines each side: the span the duplicate rule searches). The
    ambiguity rule looked at the whole file, so for it vanilla must also hold the pre-image at
    least as often as the vendor's file: a copy the vendor added elsewhere may need the fix too,
    and stays flagged. The already-backported case (``icmp.c``) stays flagged because the
    vendor's backport is in the window and vanilla lacks it.

    The status is kept, and so are the reasons, with :data:`VANILLA_CLEARED` appended: a report
    still shows the evidence and why it was judged safe.
    """
    rules = set(location.rules)
    if (
        not location.needs_review
        or location.status not in (HunkStatus.CLEAN, HunkStatus.OFFSET)
        or location.fuzz
        or location.found is None
        or not rules
        or not rules <= VANILLA_CLEARABLE
    ):
        return location
    pre = hunk.old_lines
    if not unchanged_since_vanilla(view, location.found, len(pre), vanilla, hunk.old_start - 1):
        return location
    if Rule.AMBIGUOUS in rules and len(vanilla.find_all(pre)) < len(view.find_all(pre)):
        return location
    return replace(location, needs_review=False, reasons=(*location.reasons, VANILLA_CLEARED))


# --- the hunks around it --------------------------------------------------------------------------


PLACE_RULES = frozenset({Rule.AMBIGUOUS, Rule.NEARER_FUZZY})
"""The rules that ask only which of several places is the hunk's: the hunks around it and the
function the hunk header names can answer together (see :func:`bound_by_neighbours`)."""

NEIGHBOURS_CLEARED = (
    "every other place it matches crosses a settled hunk above or below it, and this is the"
    " only place in the function the hunk header names: the order and the name agree"
)
"""The reason :func:`bound_by_neighbours` appends to the flag it lifts."""


def bound_by_neighbours(
    view: FileLines, hunks: Sequence[Hunk], locations: Sequence[Location], fuzz: int = 2
) -> list[Location]:
    """``locations`` (of ``hunks``, one file diff's, in order) with the flags lifted that the
    settled hunks around them and the hunk header's function answer together.

    The hunks of one file diff are in file order and never overlap (GNU patch applies them so,
    and :func:`locate_hunk` searches each below the one before). If the vendor kept the file's
    functions in upstream's order, a hunk's true place lies between the end of the nearest
    settled hunk above it and the start of the nearest settled hunk below it (settled: clean,
    offset or already applied, and not flagged; the file's top and end when there is none).

    That order alone is no proof: a vendor may move the function a hunk changes below the next
    hunk's place (or above the previous one's), with an identical copy of the hunk's lines
    (repetitive code, a helper of its own) standing where the function was. Then the only place
    the order leaves is the copy, and from the places alone that layout cannot be told from a
    vendor who added the copy elsewhere (the ``copied`` trap). So the flag is lifted only when
    the file gives independent evidence for the place as well:

    - for: the hunk header names a function (git writes the nearest definition line above the
      hunk in the file upstream diffed), the file defines that name exactly once (see
      :meth:`FileLines.definitions_named`), the match is inside it (:meth:`FileLines.enclosing`,
      the logic the tie ranking and the wrong-function rule use), and no other place is inside
      it; and every other place (exactly, for the ambiguity rule; with fuzz nearer to the
      stated line, for the nearer-fuzzy rule) crosses a settled neighbour, so the order agrees;
    - against (any one keeps the flag): a header that names no function (nothing but the order
      would speak); the match in another function than the header names (the function may
      have moved and this be a copy); the name defined more than once (``#ifdef`` twins: the
      change may be to the other; a prototype counts too, since the lines after it are "in"
      it for the function logic); another place in the named function (the name cannot tell
      them apart); another place that does not cross a settled neighbour.

    Only exact matches (``clean``, ``offset``) flagged by nothing but those two rules
    (:data:`PLACE_RULES`) qualify, and only hunks settled by the ladder itself bound them (a
    hunk lifted here does not bound its neighbour: two flagged hunks cannot vouch for each
    other). The status and the reasons are kept, with :data:`NEIGHBOURS_CLEARED` appended.
    """
    settled = [
        location.found is not None
        and location.status in (HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.ALREADY_APPLIED)
        and not location.needs_review
        for location in locations
    ]
    result = list(locations)
    for number, (hunk, location) in enumerate(zip(hunks, locations, strict=True)):
        rules = set(location.rules)
        if (
            not location.needs_review
            or not rules
            or not rules <= PLACE_RULES
            or location.status not in (HunkStatus.CLEAN, HunkStatus.OFFSET)
            or location.fuzz
            or location.found is None
        ):
            continue
        # The nearest settled hunk above ends where this one may start; the nearest below
        # starts where this one must end.
        above = [other.end for other, ok in zip(locations[:number], settled, strict=False) if ok]
        below = [
            other.found
            for other, ok in zip(locations[number + 1 :], settled[number + 1 :], strict=True)
            if ok and other.found is not None
        ]
        low = max((end for end in above if end is not None), default=0)
        high = min(below, default=len(view))
        images = _images(hunk)
        size = len(images.pre)
        if not low <= location.found <= location.found + size <= high:
            continue
        exact = view.find_all(images.pre)
        others = [hit for hit in exact if hit != location.found]
        if Rule.NEARER_FUZZY in rules:
            nearer = _nearer_fuzzy(view, images, location.expected, location.found, fuzz, exact)
            others += [hit for _level, hit in nearer]
        if all(
            other < low or other + size > high for other in others
        ) and _only_place_in_named_function(view, hunk, location.found, others):
            result[number] = replace(
                location,
                needs_review=False,
                reasons=(*location.reasons, NEIGHBOURS_CLEARED),
            )
    return result


def _only_place_in_named_function(
    view: FileLines, hunk: Hunk, found: int, others: Sequence[int]
) -> bool:
    """Whether the hunk header names a function the file defines once, ``found`` is inside it
    and none of ``others`` is: the evidence :func:`bound_by_neighbours` needs besides the
    order (see there for what counts against it)."""
    section = hunk.section.encode("utf-8", "surrogateescape")
    if not section.strip():
        return False
    named = view.definitions_named(section)
    if len(named) != 1:
        return False
    definition = named[0]
    return view.enclosing(found) == definition and all(
        view.enclosing(other) != definition for other in others
    )

"""The last rungs of the locate ladder: partially applied hunks and conflicts.

When neither an exact nor a whitespace match is found, the ladder
(:func:`~patchsmith.engine.locate.locate_hunk`) asks :func:`find_partial` for an image with some
of the hunk's change groups applied and some not (rung 4, before fuzz); when fuzz fails too,
:func:`conflict` gathers the evidence: the regions of the file most like the hunk
(:func:`find_candidates`), the best one aligned row by row with the pre-image (:func:`align`),
and from them a partially-applied or already-applied verdict when it is clear. Prediction and
the apply stage call :func:`align` and :func:`find_candidates` directly.

The ladder imports this module, so this module cannot import the ladder: the records both use
live in :mod:`patchsmith.engine.records` (the engine's layers contract in ``pyproject.toml``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

from patchsmith.engine.filelines import FileLines, nearest, normalize, same_function
from patchsmith.engine.records import AlignmentRow, Candidate, Images, Location
from patchsmith.model import HunkStatus
from patchsmith.patchfile.hunk import ADD, CONTEXT, REMOVE, Hunk

# For the type checker only (mypy reads TYPE_CHECKING as true): importing typing costs check
# 3-4 ms of start-up, and nothing else on its path imports it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from difflib import Match  # loaded only when a conflict needs difflib (see align)

MAX_PARTIAL_GROUPS = 8
"""Partially-applied detection tries every mix of applied and unapplied change groups; beyond
this many groups (2**8 images) the hunk is left to the similarity evidence instead."""

CANDIDATE_COUNT = 3
"""How many candidate regions a conflict reports."""

ANCHOR_MAX_OCCURRENCES = 20
"""A pre-image line that occurs more often than this in the file is too common to anchor a
candidate region on (blank lines, braces, ``return ret;``)."""

MIN_SIMILARITY = 0.5
"""Below this similarity a candidate region is too different to support a verdict other than
conflict (it is still reported as evidence)."""

STANDING_SIMILARITY = 0.75
"""A region where a hunk's removed lines still stand must read like its pre-image at least this
well (three lines in four as the pre-image has them): a block the vendor edited a line or two
of. Below it, code made of a few repeating lines lines up with any pre-image by chance."""

GENERIC_CHARS = 24
"""A post-image with fewer characters than this outside generic lines (blank, braces,
``return ret;``, ``goto out;``, ``break;``, labels) is weak evidence that a hunk is applied:
such lines stand in every function, so finding them proves little about this one (the same
bar as for an added block found nearby, :data:`~patchsmith.engine.locate.DUPLICATE_MIN_CHARS`)."""

# Lines that stand in every function, whitespace collapsed:
#   }            } else {        return;        return -EINVAL;     goto done_unlock;
#   break;       continue;       out_free:      default:            #endif     */
_GENERIC = re.compile(
    rb"[{}()\[\];,]*|\}? ?else( \{)?|return( [-\w>.]+)?;|goto \w+;|break;|continue;"
    rb"|\w+:|#\s*(endif|else)\b.*|/?\*+/?"
)


def find_partial(view: FileLines, hunk: Hunk, expected: int, floor: int) -> Location | None:
    """An exact or whitespace match of an image with some change groups applied, some not."""
    segments: list[tuple[str, list[bytes], list[bytes]]] = []
    for line in hunk.lines:
        if line.op == CONTEXT:
            segments.append(("context", [line.text], [line.text]))
            continue
        if not segments or segments[-1][0] != "change":
            segments.append(("change", [], []))
        if line.op == REMOVE:
            segments[-1][1].append(line.text)
        else:
            segments[-1][2].append(line.text)
    changes = [i for i, s in enumerate(segments) if s[0] == "change"]
    if len(changes) < 2 or len(changes) > MAX_PARTIAL_GROUPS:
        return None
    best: tuple[int, int, tuple[int, ...], bool] | None = None  # (distance, at, applied, ws)
    for mask in range(1, 2 ** len(changes) - 1):
        applied = tuple(n for n in range(len(changes)) if mask >> n & 1)
        image: list[bytes] = []
        for index, (kind, old, new) in enumerate(segments):
            if kind == "context":
                image.extend(old)
            else:
                image.extend(new if changes.index(index) in applied else old)
        hits = view.find_all(image)
        whitespace = False
        if not hits:
            hits = view.find_all_normalized([normalize(line) for line in image])
            whitespace = True
        at = nearest(hits, expected, floor)
        if at is None:
            continue
        key = abs(at - expected)
        if best is None or key < best[0]:
            best = (key, at, applied, whitespace)
    if best is None:
        return None
    _distance, at, applied, whitespace = best
    present = ", ".join(str(n + 1) for n in applied)
    missing = ", ".join(str(n + 1) for n in range(len(changes)) if n not in applied)
    reasons = [
        f"change group {present} of {len(changes)} already present, {missing} not"
        + (" (whitespace ignored)" if whitespace else "")
    ]
    return Location(
        status=HunkStatus.PARTIALLY_APPLIED,
        expected=expected,
        found=at,
        shift=at - expected,
        needs_review=True,
        reasons=tuple(reasons),
        span=0,
    )


def conflict(view: FileLines, hunk: Hunk, images: Images, expected: int, floor: int) -> Location:
    """No safe location: gather candidate regions and align the best one with the pre-image."""
    candidates = find_candidates(view, images.pre, images.post, expected, section=hunk.section)
    alignment: tuple[AlignmentRow, ...] = ()
    reasons: list[str] = []
    status = HunkStatus.CONFLICT
    found: int | None = None
    if candidates:
        best = candidates[0]
        found = best.line - 1
        region = view.lines[found : found + best.length]
        alignment = align(images.pre, region, found)
        verdict = _verdict_from_region(images, region, best)
        if verdict is not None:
            status, text = verdict
            reasons.append(text)
        else:
            missing = sum(1 for row in alignment if row.op == "missing")
            changed = sum(1 for row in alignment if row.op == "changed")
            reasons.append(
                f"no safe location; closest region at line {best.line}"
                f" (similarity {best.similarity:.2f}): {changed} line(s) changed,"
                f" {missing} missing in the vendor's code"
            )
        chosen = _chosen_by_function(view, hunk.section, candidates, expected)
        if chosen:
            reasons.append(chosen)
    else:
        reasons.append("no safe location; no region of the file resembles the hunk")
    return Location(
        status=status,
        expected=expected,
        found=None,
        shift=0,
        needs_review=True,
        reasons=tuple(reasons),
        candidates=tuple(candidates),
        alignment=alignment,
    )


def _verdict_from_region(
    images: Images, region: Sequence[bytes], best: Candidate
) -> tuple[HunkStatus, str] | None:
    """Read partially-applied or already-applied off the best region, when it is clear.

    Only distinctive lines count: a line the hunk adds that also appears in its pre-image, or a
    short one (``}``, ``break;``), says nothing about whether the change is there.
    """
    if max(best.similarity, best.post_similarity) < MIN_SIMILARITY:
        return None
    pre = {normalize(line) for line in images.pre}
    post = {normalize(line) for line in images.post}
    added = {n for n in post - pre if len(n) >= 8}
    removed = {n for n in pre - post if len(n) >= 8}
    if not added and not removed:
        return None
    have = {normalize(line) for line in region}
    added_present = len(added & have)
    removed_present = len(removed & have)
    if added and added_present == len(added) and removed_present == 0:
        return (
            HunkStatus.ALREADY_APPLIED,
            f"every change is present at line {best.line} but the surrounding lines differ"
            f" (similarity to the post-image {best.post_similarity:.2f})",
        )
    # One added line found proves little (``kfree(sc);`` is in every error path): ask for at
    # least two, or half of them.
    enough = added_present >= 2 or added_present * 2 >= len(added)
    if added_present and enough and (added_present < len(added) or removed_present):
        return (
            HunkStatus.PARTIALLY_APPLIED,
            f"at line {best.line}: {added_present} of {len(added)} added lines present,"
            f" {removed_present} of {len(removed)} removed lines still there",
        )
    if not added and removed and removed_present == 0 and best.post_similarity >= best.similarity:
        return (
            HunkStatus.ALREADY_APPLIED,
            f"the lines the hunk removes are gone from the region at line {best.line}",
        )
    return None


def _score(candidate: Candidate) -> float:
    return max(candidate.similarity, candidate.post_similarity)


def in_named_function(view: FileLines, section: str, line: int) -> bool:
    """Whether the function the hunk header's ``section`` names encloses the 0-based ``line``
    (the nearest definition line above it, as git names a hunk's function)."""
    wanted = section.encode("utf-8", "surrogateescape")
    if not wanted.strip():
        return False
    found = view.enclosing(line)
    return found is not None and same_function(wanted, view.lines[found])


def _chosen_by_function(
    view: FileLines, section: str, candidates: Sequence[Candidate], expected: int
) -> str:
    """Why the best candidate was put first when an equally similar one is nearer (the
    header's function decided), or ``""``."""
    if len(candidates) < 2:
        return ""
    best = candidates[0]
    nearer = [
        c
        for c in candidates[1:]
        if _score(c) == _score(best) and abs(c.line - 1 - expected) < abs(best.line - 1 - expected)
    ]
    if not nearer:
        return ""
    return (
        f"line {best.line} is in '{section.strip()}', the function the hunk header names; an"
        f" equally similar region at line {nearer[0].line} is nearer but in another function"
    )


def find_candidates(
    view: FileLines | Sequence[bytes],
    pre: Sequence[bytes],
    post: Sequence[bytes] = (),
    expected: int = 0,
    count: int = CANDIDATE_COUNT,
    section: str = "",
) -> list[Candidate]:
    """Regions of the file most similar to ``pre`` (and ``post``), best first.

    Comparing the pre-image with every window of the file would be quadratic; instead the
    pre-image's lines that are rare in the file anchor where a window can start, and only those
    windows (widened by the hunk's length each side, then trimmed to what matched) are
    scored with ``difflib``.

    Ranked by similarity, then, among equally similar regions (identical-looking places), the
    ones in the function the hunk header's ``section`` names first, then by distance to
    ``expected``: the header says which function upstream changed, and a proposal built on the
    first candidate must go there, not into a look-alike that happens to be nearer.
    """
    import difflib  # only conflicts need it: not loaded for a clean run's start-up

    file = view if isinstance(view, FileLines) else FileLines(view)
    npre = [normalize(line) for line in pre]
    npost = [normalize(line) for line in post]
    # Where each line stands, found once for the file: a conflict asks for up to 8 lines.
    positions = file.normalized_positions()
    anchors: list[tuple[int, int, bytes]] = []  # (occurrences, index in image, line)
    for image_index, line in enumerate(npre):
        occurrences = len(positions.get(line, ()))
        if len(line) >= 4 and 0 < occurrences <= ANCHOR_MAX_OCCURRENCES:
            anchors.append((occurrences, image_index, line))
    offset_in_post = {line: i for i, line in reversed(list(enumerate(npost)))}
    for line in npost:
        occurrences = len(positions.get(line, ()))
        if line not in npre and len(line) >= 4 and 0 < occurrences <= ANCHOR_MAX_OCCURRENCES:
            anchors.append((occurrences, offset_in_post[line], line))
    anchors.sort()
    starts: set[int] = set()
    normalized = file.normalized
    for _occurrences, image_index, line in anchors[:8]:
        for position in positions[line]:
            starts.add(position - image_index)
    size = max(len(npre), 1)
    slack = max(size, 5)
    scored: dict[int, Candidate] = {}
    for start in sorted(starts):
        low = max(0, start - slack)
        high = min(len(normalized), start + size + slack)
        window = normalized[low:high]
        matcher = difflib.SequenceMatcher(None, npre, window, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        if not blocks:
            continue
        first = low + blocks[0].b
        last = low + blocks[-1].b + blocks[-1].size
        region = normalized[first:last]
        matched = sum(b.size for b in blocks)
        similarity = 2 * matched / (len(npre) + len(region))
        post_similarity = (
            difflib.SequenceMatcher(None, npost, region, autojunk=False).ratio() if npost else 0.0
        )
        candidate = Candidate(first + 1, last - first, similarity, post_similarity)
        previous = scored.get(first)
        if previous is None or previous.similarity < similarity:
            scored[first] = candidate
    named: dict[int, bool] = {}

    def elsewhere(candidate: Candidate) -> bool:
        """Not in the header's function; only asked of candidates that tie."""
        if candidate.line not in named:
            named[candidate.line] = in_named_function(file, section, candidate.line - 1)
        return not named[candidate.line]

    scores = [_score(c) for c in scored.values()]
    ties = len(scores) != len(set(scores))
    ranked = sorted(
        scored.values(),
        key=lambda c: (
            -_score(c),
            elsewhere(c) if ties and section.strip() else False,
            abs(c.line - 1 - expected),
        ),
    )
    return ranked[:count]


def align(pre: Sequence[bytes], region: Sequence[bytes], first: int) -> tuple[AlignmentRow, ...]:
    """Row by row: which pre-image lines the vendor's region has, changed, lacks or adds."""
    import difflib  # only conflicts need it: not loaded for a clean run's start-up

    npre = [normalize(line) for line in pre]
    nregion = [normalize(line) for line in region]
    rows: list[AlignmentRow] = []
    matcher = difflib.SequenceMatcher(None, npre, nregion, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                rows.append(AlignmentRow("same", pre[i], region[j], first + j + 1))
        elif tag == "replace":
            width = max(i2 - i1, j2 - j1)
            for k in range(width):
                expected = pre[i1 + k] if i1 + k < i2 else None
                vendor = region[j1 + k] if j1 + k < j2 else None
                op = (
                    "changed"
                    if expected is not None and vendor is not None
                    else ("missing" if vendor is None else "extra")
                )
                line = first + j1 + k + 1 if vendor is not None else None
                rows.append(AlignmentRow(op, expected, vendor, line))
        elif tag == "delete":
            for i in range(i1, i2):
                rows.append(AlignmentRow("missing", pre[i], None, None))
        else:
            for j in range(j1, j2):
                rows.append(AlignmentRow("extra", None, region[j], first + j + 1))
    return tuple(rows)


# --- is an already-applied verdict proven? --------------------------------------------------------


def distinctive_chars(lines: Sequence[bytes]) -> int:
    """Characters (whitespace collapsed) in the lines that are not generic (see
    :data:`GENERIC_CHARS`)."""
    total = 0
    for line in lines:
        text = normalize(line)
        if not _GENERIC.fullmatch(text):
            total += len(text)
    return total


def removal_standing(
    view: FileLines, hunk: Hunk, images: Images, at: int, expected: int
) -> Candidate | None:
    """A region that still holds most of the lines the hunk removes, between its context,
    when its post-image was found at ``at``; ``None`` when there is none.

    Finding a hunk's post-image shows its surroundings, not the change: for a hunk that only
    removes lines the post-image is nothing but context. The change is there only if the lines
    it removes are gone. They are looked for where they would stand: around the found
    post-image (the vendor edited a line inside the block upstream deletes, and the context
    after the block reads as the post-image at its end), around the stated line, and in the
    regions of the file most like the pre-image. A region is evidence that the hunk is not
    applied when all of these hold:

    - it reads like the pre-image (similarity at least :data:`STANDING_SIMILARITY`) and more
      like it than like the post-image;
    - more than half of the removed lines align with it, unchanged or edited by the vendor, at
      least one of them unchanged, with a context line of the hunk aligned unchanged on each
      side of them (between its context, not just somewhere);
    - it is next to the found post-image (overlapping or touching it), or in the function the
      hunk header names: a region in another function is another place's code (the wireless
      ``switch`` GNU patch took), and without a function in the header a region away from the
      found lines could be any look-alike.

    Beside or over the found lines, the pre-image whole but for its removed lines, every one
    edited by the vendor into something the hunk does not add, counts too: the file reads as
    not applied there as much as applied (in code of a few repeating lines, a removed line
    edited into its neighbour's twin leaves the result and the original both in the file).

    Removed lines the hunk adds back elsewhere (a block moved into a new function) are not
    counted: finding them proves nothing.
    """
    removed = _removed_positions(hunk)
    if not removed:
        return None
    size = len(images.pre)
    context = [i for i, op in enumerate(op for op in hunk.ops if op != ADD) if op == CONTEXT]
    added = _added(hunk)
    every_removed = _all_removed(hunk)

    def reads_whole(first: int) -> bool:
        """Whether the pre-image stands whole at ``first`` but for what the hunk removes,
        every removed line edited by the vendor into something the hunk does not add."""
        lines = view.lines[first : first + size]
        return all(lines[i] == images.pre[i] for i in context) and all(
            lines[i] != images.pre[i] and normalize(lines[i]) not in added for i in every_removed
        )

    # Next to the found lines (overlapping or touching them), a pre-image-long region starts
    # from a pre-image's length above them to their end: where a whole one may stand.
    wholes = {
        first
        for first in range(max(0, at - size), min(at + len(images.post), len(view) - size) + 1)
        if reads_whole(first)
    }
    if not wholes and not _may_stand(view, {normalize(images.pre[i]) for i in removed}):
        # The quick no, with the same answer: a region counts below only where it reads whole
        # (in wholes) or holds one of the removed lines (holds_removed), and no removed line
        # stands anywhere in the file. The regions most like the pre-image, the file's
        # whitespace-collapsed lines and their positions are not needed to say so. The file
        # is split into lines as the full look splits it: whether it is decides how the later
        # hunks of the file are searched (FileLines), and that must not move.
        view.lines  # noqa: B018
        return None
    # Where a region may start: from a pre-image's length above the found post-image to its
    # end, around the stated line, and around the regions most like the pre-image. Each start
    # is tried on its own (a window holding two look-alike places would align half with each).
    starts = set(range(at - size, at + len(images.post) + 1))
    starts.update(range(expected - size // 2 - 2, expected + size // 2 + 3))
    for found in find_candidates(view, images.pre, images.post, expected, section=hunk.section):
        starts.update(range(found.line - 3, found.line + 2))

    # A region counts only where one of the removed lines stands unchanged (aligned "same" or
    # equal in place: the same line once whitespace is collapsed) or where it reads whole next
    # to the found lines; a start whose window holds neither cannot give such a region, so
    # it is not aligned or scored at all (most of an applied hunk's starts: its removed
    # lines are gone). The regions that remain, and the verdict, are the same.
    positions = view.normalized_positions()
    removed_at = [
        positions[text]
        for text in {normalize(hunk.old_lines[i]) for i in removed}
        if text in positions
    ]

    def holds_removed(low: int, high: int) -> bool:
        return any(
            (found := bisect_left(where, low)) < len(where) and where[found] < high
            for where in removed_at
        )

    pre_counts = Counter(normalize(line) for line in images.pre)
    regions: set[tuple[int, int] | None] = set()
    for start in starts:
        # _aligned_region's region lies in [start, start + size + 2) and is pre-image long
        # only when it starts within two lines of the start. A region of a window sharing m
        # of the pre-image's lines reads like it at most 2m / (size + m) (difflib's ratio
        # with as many lines as are shared; line by line, m / size is less): below
        # STANDING_SIMILARITY, no region of it is aligned, unless one may read whole.
        if wholes & {start, start + 1, start + 2} or (
            holds_removed(start, start + size + 2)
            and _reads_like_at_most(pre_counts, view.normalized[max(0, start) : start + size + 2])
            >= STANDING_SIMILARITY
        ):
            regions.add(_aligned_region(view, images, start, start + size + 2))
        # And each start's pre-image-long window as it is: compared line by line, a line the
        # vendor edited lines up with the one it replaced, where an alignment may pair the
        # lines around it differently in repetitive code.
        if 0 <= start <= len(view) - size and (
            start in wholes or holds_removed(start, start + size)
        ):
            regions.add((start, start + size))
    best: tuple[int, float, Candidate] | None = None
    for region in sorted(r for r in regions if r is not None):
        first, last = region
        next_to = first <= at + len(images.post) and at <= last  # overlapping or touching
        # Beside or over the found lines, the pre-image whole but for what the hunk removes,
        # edited by the vendor into something it does not add (the found lines themselves read
        # so when the hunk replaces a line, but then with the line it adds): the file reads as
        # not applied there as much as applied.
        whole = next_to and last - first == size and first in wholes
        if (
            not whole
            and (
                not holds_removed(first, last)
                # Before difflib's ratio, its upper bound from the lines both sides have at all.
                or _similarity_bound(pre_counts, view.normalized[first:last]) < STANDING_SIMILARITY
            )
        ):
            continue
        if not next_to and not in_named_function(view, hunk.section, first):
            continue
        lines = view.lines[first:last]
        candidate = _scored(images, first, lines)
        if not whole and (
            candidate.similarity < STANDING_SIMILARITY
            or candidate.similarity <= candidate.post_similarity
        ):
            continue
        unchanged, edited = _standing_either_way(hunk, lines, removed)
        standing = unchanged + edited
        # An edited line counts only beside one that stands unchanged (or in the whole
        # pre-image): alone, a vendor's line between the context may be anything.
        if (
            (unchanged or whole)
            and standing * 2 > len(removed)
            and (best is None or (standing, candidate.similarity) > best[:2])
        ):
            best = (standing, candidate.similarity, candidate)
    return best[2] if best is not None else None


def _may_stand(view: FileLines, lines: set[bytes]) -> bool:
    """Whether any of ``lines`` (whitespace collapsed, see :func:`normalize`) may be one of the
    file's lines collapsed the same way; ``False`` only when none is (as the file's
    :meth:`~FileLines.normalized_positions` would say, without collapsing every line of it).

    A file line collapses to ``line`` when it is ``line``'s words with blanks around and
    between them and nothing else: so each such line is a match of the words joined by runs of
    blanks (a blank never includes a newline, which ends a line), with only blanks between it
    and the ends of its line. Matches with more around them are skipped; after
    :data:`_STAND_TRIES` of them the line is taken to stand (the full look then decides). A
    blank line has no word to find and may stand anywhere.
    """
    blob = view.blob
    size = len(blob)
    for line in lines:
        words = line.split()
        if not words:
            return True
        pattern = _BLANKS.join(re.escape(word) for word in words)
        found = re.compile(pattern).search
        match = found(blob)
        for _try in range(_STAND_TRIES):
            if match is None:
                break
            start, end = match.span()
            before = blob.rfind(b"\n", 0, start) + 1
            after = blob.find(b"\n", end)
            if (
                not blob[before:start].strip()
                and not blob[end : size if after < 0 else after].strip()
            ):
                return True
            match = found(blob, start + 1)
        else:
            return True
    return False


_BLANKS = rb"[ \t\r\x0b\x0c]+"
"""A run of the blanks :func:`normalize` collapses, but a newline (which ends a line)."""

_STAND_TRIES = 64
"""How many places holding a removed line's words :func:`_may_stand` looks at before it leaves
the question to the full look (repetitive code holds a line's words in many places)."""


def _all_removed(hunk: Hunk) -> list[int]:
    """Indexes in the pre-image of every line the hunk removes."""
    return [i for i, op in enumerate(op for op in hunk.ops if op != ADD) if op == REMOVE]


def not_applied(
    view: FileLines, hunk: Hunk, images: Images, expected: int, at: int, region: Candidate
) -> Location:
    """The verdict when the post-image was found at ``at`` but ``region`` still holds the lines
    the hunk removes: partially applied when the hunk's added lines are part of what was found
    (some of the change is there, some is not), else a conflict; the region first among the
    candidates, so a proposal is built on it."""
    removed = _removed_positions(hunk)
    lines = view.lines[region.line - 1 : region.line - 1 + region.length]
    unchanged, edited = _standing_either_way(hunk, lines, removed)
    others = [
        c
        for c in find_candidates(view, images.pre, images.post, expected, section=hunk.section)
        if c.line != region.line
    ]
    added = sum(1 for op in hunk.ops if op == ADD)
    status = HunkStatus.PARTIALLY_APPLIED if added else HunkStatus.CONFLICT
    edits = f" ({edited} of them edited)" if edited else ""
    reasons = [
        f"the post-image matches at line {at + 1}, but {unchanged + edited} of the"
        f" {len(removed)} lines the hunk removes still stand{edits} at line {region.line},"
        " between its context: not applied",
    ]
    if added:
        reasons.append("the lines it adds are there: partially applied")
    return Location(
        status=status,
        expected=expected,
        found=None,
        shift=0,
        needs_review=True,
        reasons=tuple(reasons),
        candidates=(region, *others)[:CANDIDATE_COUNT],
        alignment=align(images.pre, lines, region.line - 1),
    )


def _removed_positions(hunk: Hunk) -> list[int]:
    """Indexes in the pre-image of the lines the hunk removes, but for distinctive ones it
    adds back (a block moved into a new function: finding them proves nothing). A short line
    (``a``, ``}``) it adds proves nothing about one it removes: those still count."""
    moved = {
        text
        for op, line in zip(hunk.ops, hunk.texts, strict=True)
        if op == ADD and len(text := normalize(line)) >= 8
    }
    positions: list[int] = []
    index = 0
    for op, text in zip(hunk.ops, hunk.texts, strict=True):
        if op == ADD:
            continue
        if op == REMOVE and normalize(text) not in moved:
            positions.append(index)
        index += 1
    return positions


def _aligned_region(view: FileLines, images: Images, low: int, high: int) -> tuple[int, int] | None:
    """The part of lines ``low`` to ``high`` (clipped) that aligns with the pre-image, from
    its first aligned line to its last, widened by the pre-image's lines beyond them."""
    import difflib  # only an already-applied verdict gets here: not loaded for a clean run

    low, high = max(0, low), min(len(view), high)
    if low >= high:
        return None
    window = [normalize(line) for line in view.lines[low:high]]
    matcher = difflib.SequenceMatcher(
        None, [normalize(line) for line in images.pre], window, autojunk=False
    )
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return None
    # Generic lines match anywhere in a window: keep the largest run of blocks that lie
    # about as far apart in the file as in the pre-image (a vendor's line or two between),
    # so the region is the place the pre-image stands, not a sprawl over the window.
    runs: list[list[Match]] = [[blocks[0]]]
    for block in blocks[1:]:
        last = runs[-1][-1]
        gap = (block.b - last.b - last.size) - (block.a - last.a - last.size)
        if gap <= 2:
            runs[-1].append(block)
        else:
            runs.append([block])
    run = max(runs, key=lambda run: sum(b.size for b in run))
    # Widened by the pre-image's lines outside the run, where the window has room: a first
    # or last line the vendor edited stands there, and must be part of the region to count.
    head = min(run[0].a, run[0].b)
    tail = len(images.pre) - run[-1].a - run[-1].size
    return low + run[0].b - head, min(high, low + run[-1].b + run[-1].size + tail)


def _reads_like_at_most(pre_counts: Counter[bytes], window: Sequence[bytes]) -> float:
    """An upper bound of the similarity :func:`_scored` gives any region of the normalized
    ``window``: with ``m`` lines shared (as many times as both have them), 2m / (size + m)."""
    shared = sum((pre_counts & Counter(window)).values())
    size = sum(pre_counts.values())
    return 2 * shared / (size + shared) if shared else 0.0


def _similarity_bound(pre_counts: Counter[bytes], region: Sequence[bytes]) -> float:
    """An upper bound of the similarity :func:`_scored` gives the normalized ``region``:
    difflib's ratio is at most twice the lines both sides have (as many times as both have
    them) over their lengths together (its ``quick_ratio``), and so is the line-by-line count
    of a region as long as the pre-image (a line in place is a line both have)."""
    shared = sum((pre_counts & Counter(region)).values())
    return 2 * shared / (sum(pre_counts.values()) + len(region))


def _scored(images: Images, first: int, lines: Sequence[bytes]) -> Candidate:
    """``lines`` (starting at 0-based ``first``) as a candidate: how much they read like the
    pre-image and like the post-image."""
    import difflib  # only an already-applied verdict gets here

    region = [normalize(line) for line in lines]
    pre = [normalize(line) for line in images.pre]
    post = [normalize(line) for line in images.post]
    similarity = difflib.SequenceMatcher(None, pre, region, autojunk=False).ratio()
    if len(region) == len(pre):
        # Line by line as well: in repetitive code the longest common run can pair the lines
        # one place off ("c a a b a" with the next "c a a b a"), and score a region that
        # differs from the pre-image in one line as if it differed in three.
        in_place = sum(1 for mine, theirs in zip(region, pre, strict=True) if mine == theirs)
        similarity = max(similarity, in_place / len(pre))
    return Candidate(
        first + 1,
        len(lines),
        similarity,
        difflib.SequenceMatcher(None, post, region, autojunk=False).ratio(),
    )


def _standing(hunk: Hunk, lines: Sequence[bytes], removed: Sequence[int]) -> tuple[int, int]:
    """How many of the pre-image's ``removed`` lines (indexes) still stand in ``lines``, as
    (unchanged, edited): aligned with a line there (a line the vendor changed is not gone);
    (0, 0) unless a context line of the hunk aligns unchanged on each side of them too (on
    each side where the hunk has context)."""
    wanted = set(removed)
    low, high = min(removed), max(removed)
    context = {i for i, op in enumerate(op for op in hunk.ops if op != ADD) if op == CONTEXT}
    before = not any(i < low for i in context)
    after = not any(i > high for i in context)
    added = _added(hunk)
    unchanged = edited = 0
    index = 0
    for row in align(hunk.old_lines, lines, 0):
        if row.expected is None:  # a line only the vendor has
            continue
        if index in wanted:
            unchanged += row.op == "same"
            edited += row.op == "changed" and normalize(row.vendor or b"") not in added
        elif row.op == "same":
            if index < low:
                before = before or index in context
            elif index > high:
                after = after or index in context
        index += 1
    return (unchanged, edited) if before and after else (0, 0)


def _standing_either_way(
    hunk: Hunk, lines: Sequence[bytes], removed: Sequence[int]
) -> tuple[int, int]:
    """:func:`_standing`, or :func:`_standing_in_place` when ``lines`` is as long as the
    pre-image and that finds more."""
    found = _standing(hunk, lines, removed)
    if len(lines) == len(hunk.old_lines):
        found = max(found, _standing_in_place(hunk, lines, removed))
    return found


def _standing_in_place(
    hunk: Hunk, lines: Sequence[bytes], removed: Sequence[int]
) -> tuple[int, int]:
    """:func:`_standing` for ``lines`` as long as the pre-image, compared line by line."""
    pre = hunk.old_lines
    low, high = min(removed), max(removed)
    context = [i for i, op in enumerate(op for op in hunk.ops if op != ADD) if op == CONTEXT]
    before = [i for i in context if i < low]
    after = [i for i in context if i > high]
    if (before and not any(lines[i] == pre[i] for i in before)) or (
        after and not any(lines[i] == pre[i] for i in after)
    ):
        return 0, 0
    added = _added(hunk)
    unchanged = sum(1 for i in removed if lines[i] == pre[i])
    edited = sum(1 for i in removed if lines[i] != pre[i] and normalize(lines[i]) not in added)
    return unchanged, edited


def _added(hunk: Hunk) -> set[bytes]:
    """The lines the hunk adds, whitespace collapsed: where one stands in place of a line it
    removes, the change is made, not edited."""
    return {normalize(text) for op, text in zip(hunk.ops, hunk.texts, strict=True) if op == ADD}

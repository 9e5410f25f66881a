"""Warnings that make a partial patch safe to ship: what the kept hunks may depend on.

Keeping only the module hunks of a stable patch is safe when they stand alone. Two cheap checks
catch the common ways they do not:

- a kept hunk uses an identifier (function, macro, struct member) that a left-out hunk adds,
  removes or changes: the module may not compile, or worse, compile against the old meaning;
- a kept hunk changes a header that built-in code also includes: a struct layout or an inline
  function changed there makes the rebuilt module disagree with the running kernel.

The first is an identifier intersection over the changed lines, a deliberately simple first
version: it reports a dependency when the words match, without parsing C. To keep it quiet on
ordinary patches it only counts, from a left-out hunk, the identifiers that hunk *defines or
changes*: in a header every identifier whose count differs between its ``-`` and ``+`` lines, in
a source file the names of ``#define``\\ s, function definitions and ``EXPORT_SYMBOL`` lines it
touches. Keywords and basic types never count.

Depends on :mod:`patchsmith.patchfile.hunk` (the parsed hunk type) and
:mod:`patchsmith.kernel.classify`; never on the engine or a front end.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from patchsmith.kernel.classify import Classification, FileClass
from patchsmith.patchfile.hunk import ADD, REMOVE, Hunk
from patchsmith.record import record


class WarningKind(enum.StrEnum):
    USES_LEFT_OUT = "uses-left-out"
    """A kept hunk uses an identifier a left-out hunk adds, removes or changes."""
    BUILTIN_HEADER = "builtin-header"
    """A kept hunk changes a header that built-in code also includes."""


@record
class PatchHunk:
    """A parsed hunk with the tree-relative path of its file."""

    path: str
    hunk: Hunk


@record
class DependencyWarning:
    """One reason a kept hunk may not be safe without something left out."""

    kind: WarningKind
    path: str
    """The kept hunk's file."""
    hunk: int
    """The kept hunk's number within its file (1-based, as ``--hunks`` counts)."""
    identifiers: tuple[str, ...] = ()
    """For ``uses-left-out``: the shared identifiers, sorted."""
    other_path: str | None = None
    """For ``uses-left-out``: the left-out hunk's file."""
    other_hunk: int | None = None
    message: str = ""


# dm_table_add_target    DM_MAPIO_REMAPPED    __le32    (C identifiers in a line)
_IDENTIFIER = re.compile(rb"\b[A-Za-z_][A-Za-z0-9_]*\b")

# #define DM_BUFIO_CLIENT_NO_SLEEP 0x1
_DEFINE = re.compile(rb"^\s*#\s*define\s+([A-Za-z_]\w*)")

# int dm_table_create(struct dm_table **result, fmode_t mode,   (a definition starts in column 0)
_FUNCTION = re.compile(rb"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(")

# EXPORT_SYMBOL_GPL(dm_table_get_md);
_EXPORT = re.compile(rb"\bEXPORT_SYMBOL(?:_GPL|_NS|_NS_GPL)?\s*\(\s*([A-Za-z_]\w*)")

# struct member or variable declaration inside a header: "	unsigned int num_targets;"
_DECLARATION = re.compile(rb"^\s+[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*;")

_IGNORED = frozenset(
    b"""auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while bool true false NULL u8 u16 u32 u64 s8 s16 s32 s64 __u8
    __u16 __u32 __u64 __le16 __le32 __le64 __be16 __be32 __be64 size_t ssize_t loff_t gfp_t
    __init __exit __user __iomem __rcu __must_check noinline unlikely likely defined ifdef
    ifndef endif include define undef elif pragma""".split()
)


def _identifiers(line: bytes) -> list[bytes]:
    code = line.split(b"//", 1)[0]
    return [word for word in _IDENTIFIER.findall(code) if word not in _IGNORED]


def changed_identifiers(path: str, hunk: Hunk) -> set[str]:
    """What a hunk defines or changes, in the sense of the module docstring."""
    added: Counter[bytes] = Counter()
    removed: Counter[bytes] = Counter()
    defined: set[bytes] = set()
    header = path.endswith(".h")
    # A line removed and added back unchanged (a moved line, a rewrapped block) changes nothing.
    minus = Counter(line.text.strip() for line in hunk.lines if line.op == REMOVE)
    plus = Counter(line.text.strip() for line in hunk.lines if line.op == ADD)
    skip = {REMOVE: minus & plus, ADD: minus & plus}
    for line in hunk.lines:
        if line.op not in (ADD, REMOVE):
            continue
        text = line.text.strip()
        if skip[line.op][text]:
            skip[line.op][text] -= 1  # each unchanged pair is skipped once on each side
            continue
        words = _identifiers(line.text)
        (added if line.op == ADD else removed).update(words)
        for pattern in (_DEFINE, _FUNCTION, _EXPORT) + ((_DECLARATION,) if header else ()):
            match = pattern.search(line.text) if pattern is _EXPORT else pattern.match(line.text)
            if match and match.group(1) not in _IGNORED:
                defined.add(match.group(1))
    result = set(defined)
    if header:
        result |= {word for word in added | removed if added[word] != removed[word]}
    return {word.decode("ascii", "replace") for word in result}


def used_identifiers(hunk: Hunk) -> set[str]:
    """Every identifier on a hunk's ``+`` and ``-`` lines."""
    found: set[str] = set()
    for line in hunk.lines:
        if line.op in (ADD, REMOVE):
            found.update(word.decode("ascii", "replace") for word in _identifiers(line.text))
    return found


def dependency_warnings(
    kept: Sequence[PatchHunk],
    left_out: Sequence[PatchHunk],
    classes: Mapping[str, Classification] | None = None,
) -> list[DependencyWarning]:
    """The warnings for keeping ``kept`` without ``left_out``, kept hunks in their given order.

    ``classes`` (from :func:`patchsmith.kernel.classify.classify`) enables the header check; a
    header counts when its class says built-in code includes it.
    """
    changed = [(item, changed_identifiers(item.path, item.hunk)) for item in left_out]
    warnings: list[DependencyWarning] = []
    for item in kept:
        if classes is not None:
            found = classes.get(item.path)
            if found is not None and found.kind == FileClass.HEADER and found.included_by_builtin:
                warnings.append(
                    DependencyWarning(
                        kind=WarningKind.BUILTIN_HEADER,
                        path=item.path,
                        hunk=item.hunk.number,
                        message=(
                            f"{item.path} hunk #{item.hunk.number} changes a header built-in "
                            f"code includes ({found.reason}): a layout or inline change there "
                            "makes the module disagree with the running kernel"
                        ),
                    )
                )
        uses = used_identifiers(item.hunk)
        for other, names in changed:
            shared = uses & names
            if not shared:
                continue
            listed = tuple(sorted(shared))
            warnings.append(
                DependencyWarning(
                    kind=WarningKind.USES_LEFT_OUT,
                    path=item.path,
                    hunk=item.hunk.number,
                    identifiers=listed,
                    other_path=other.path,
                    other_hunk=other.hunk.number,
                    message=(
                        f"{item.path} hunk #{item.hunk.number} uses {', '.join(listed)}, which "
                        f"left-out {other.path} hunk #{other.hunk.number} changes"
                    ),
                )
            )
    return warnings

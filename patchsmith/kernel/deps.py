"""Warnings that make a partial patch safe to ship: what the kept hunks depend on.

Keeping only the module hunks of a stable patch is safe when they stand alone. A warning says
where they do not, with the evidence (the kept line and the left-out line), so a person can
decide in seconds:

- **uses-left-out**: a kept hunk's added code *uses* an identifier whose *definition or
  declaration* a left-out hunk adds or changes (or includes a file only a left-out diff
  makes: a header the patch creates, or renames another to): a function's prototype, a
  struct or union member, a macro, an enum constant, a typedef, a global, an exported symbol
  (:mod:`patchsmith.kernel.csyntax` tells definitions from uses, comments and strings apart),
  or a config option (``CONFIG_X`` in a kept added line) whose Kconfig entry, dependencies,
  default or ``select`` a left-out Kconfig hunk changes (see :func:`kconfig_warnings`).
  The module may not compile, or worse, compile against the old meaning. A left-out hunk counts
  only where the kept code can see it: a header in the files that include it (directly or not),
  a ``.c`` file's non-static functions and globals everywhere (they link), its statics, macros
  and types only in itself. Left-out hunks for other architectures and for files the config does
  not build are ignored; a member must be used as one (``->x``, ``.x``), in a file that names
  its struct (by tag or typedef name). One warning stands for one left-out hunk, with every kept
  file that uses what it changes.
- **builtin-header**: a kept hunk changes a header that built-in code also includes (only when
  ``--class header`` keeps such headers): the rebuilt module disagrees with the running kernel.
- **kbuild-left-out**: a kept file is in the build only through a Kbuild line the patch adds,
  in a Makefile the selection leaves out: the module build would not compile it.
- **unknown-left-out**: the class rule (``--modules-only``, ``--class``) leaves a file out whose
  class it could not tell (no Kbuild line names the object, an odd Makefile, a file type Kbuild
  does not compile). It may be module code the shipped modules then lack: the warning names the
  file and why its class is unknown, for a person to settle.

Warnings are numbered in the order they are listed (by their first kept file), so a person can
acknowledge one (``resolve --ack-warning N``); :attr:`DependencyWarning.key` identifies a
warning across runs of the same selection.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping, Sequence

from patchsmith.kernel.classify import Classification, FileClass
from patchsmith.kernel.csyntax import Definition, Kind, Use, definition_changes, uses
from patchsmith.patchfile.hunk import Hunk
from patchsmith.record import record


class WarningKind(enum.StrEnum):
    USES_LEFT_OUT = "uses-left-out"
    """A kept hunk uses an identifier whose definition a left-out hunk adds or changes."""
    BUILTIN_HEADER = "builtin-header"
    """A kept hunk changes a header that built-in code also includes."""
    KBUILD_LEFT_OUT = "kbuild-left-out"
    """A kept file is built only through a Kbuild line in a left-out hunk."""
    UNKNOWN_LEFT_OUT = "unknown-left-out"
    """A file the class rule leaves out although its class is unknown: it may be module code."""


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
    """The (first) kept hunk's number within its file (1-based, as ``--hunks`` counts)."""
    identifiers: tuple[str, ...] = ()
    """For ``uses-left-out``: the identifiers, sorted."""
    other_path: str | None = None
    """For ``uses-left-out`` and ``kbuild-left-out``: the left-out file."""
    other_hunk: int | None = None
    message: str = ""
    number: int = 0
    """1-based position in the list: what ``resolve --ack-warning`` takes."""
    hunks: tuple[int, ...] = ()
    """Every kept hunk of :attr:`path` the warning is about."""
    kept_line: str = ""
    """Evidence: the kept line that uses what the left-out hunk changes."""
    other_line: str = ""
    """Evidence: the left-out line that changes it."""
    users: tuple[tuple[str, tuple[int, ...], str], ...] = ()
    """For ``uses-left-out``: every kept file that uses it, with its hunks and the first kept
    line that does (the evidence), in the order of the kept files."""

    @property
    def key(self) -> str:
        """What identifies the warning whatever its number (a selection that keeps a little more
        or less renumbers warnings, not this): kind, the left-out change and what it changes,
        or for the others the kept file and hunk."""
        if self.kind == WarningKind.USES_LEFT_OUT:
            names = ",".join(self.identifiers)
            return f"{self.kind}:{self.other_path}#{self.other_hunk}:{names}"
        other = f":{self.other_path}" if self.other_path else ""
        return f"{self.kind}:{self.path}#{self.hunk}{other}"


# Classes whose left-out hunks no kept module code can depend on.
_IGNORED_CLASSES = frozenset(
    {FileClass.OTHER_ARCH, FileClass.NOT_BUILT, FileClass.DOCS, FileClass.TOOLS}
)

# Any C identifier (a cheap first look at a left-out hunk before it is parsed).
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")

_KIND_WORDS = {
    Kind.MACRO: "macro",
    Kind.FUNCTION: "function",
    Kind.MEMBER: "member",
    Kind.ENUM_CONSTANT: "enum constant",
    Kind.TYPEDEF: "typedef",
    Kind.GLOBAL: "global",
    Kind.TAG: "struct",
    Kind.EXPORT: "export",
}


def changed_identifiers(
    path: str, hunk: Hunk, before: Sequence[bytes] | None = None
) -> list[Definition]:
    """The definitions and declarations ``hunk`` of ``path`` adds or changes; ``before`` is the
    file's lines above the hunk (its section header stands in without it)."""
    return _changes(path, hunk, before)[0]


def _changes(
    path: str, hunk: Hunk, before: Sequence[bytes] | None
) -> tuple[list[Definition], set[tuple[Kind, str, tuple[str, ...], tuple[bytes, ...]]]]:
    return definition_changes(
        hunk.ops,
        hunk.texts,
        before,
        hunk.section.encode("utf-8", "surrogateescape"),
        source_file=path.endswith(".c"),
    )


def used_identifiers(hunk: Hunk) -> list[Use]:
    """The identifiers the added lines of ``hunk`` use as code."""
    return uses(hunk.ops, hunk.texts)


def dependency_warnings(
    kept: Sequence[PatchHunk],
    left_out: Sequence[PatchHunk],
    classes: Mapping[str, Classification] | None = None,
    sees: Callable[[str, str], bool] | None = None,
    before: Callable[[PatchHunk], Sequence[bytes] | None] | None = None,
    mentions: Callable[[str, tuple[str, ...]], bool] | None = None,
    types_of: Callable[[str, str], frozenset[str]] | None = None,
) -> list[DependencyWarning]:
    """The uses-left-out and builtin-header warnings for keeping ``kept`` without
    ``left_out``, numbered in the order of the first kept file each is about.

    One uses-left-out warning stands for one left-out hunk and every kept hunk that uses what
    it changes (``users``, by kept file, each with its evidence line): acknowledging it is
    deciding about that change once. ``classes`` gives each path's class (left-out files of
    ignored classes are skipped; a kept header built-in code includes is warned about).
    ``sees(kept_path, header)`` says whether a kept file's code includes a header, directly or
    not (without it: a private header is seen from its own directory and below, a kernel-wide
    one from everywhere). ``before(item)`` gives the file's lines above a left-out hunk.
    ``mentions(kept_path, names)`` says whether a kept file names one of ``names`` (the struct
    a changed member belongs to), ``types_of(kept_path, variable)`` the struct types a variable
    is declared with there; see :func:`_may_be_member_of`.
    """
    visible = sees or _near
    used: dict[str, list[tuple[PatchHunk, Use]]] = {}
    for item in kept:
        for use in used_identifiers(item.hunk):
            used.setdefault(use.name, []).append((item, use))
    wanted = {name.encode("ascii") for name in used}

    candidates: list[tuple[PatchHunk, list[Definition]]] = []
    removed_in: dict[str, set[tuple[Kind, str, tuple[str, ...], tuple[bytes, ...]]]] = {}
    for other in left_out:
        cls = classes.get(other.path) if classes is not None else None
        if cls is not None and (cls.kind in _IGNORED_CLASSES or cls.kind == FileClass.BUILD_SYSTEM):
            continue
        changed_words = {
            word
            for op, text in zip(other.hunk.ops, other.hunk.texts, strict=True)
            if op != " "
            for word in _WORD.findall(text)
        }
        if not changed_words & wanted:
            continue
        lines = before(other) if before is not None else None
        definitions, removed = _changes(other.path, other.hunk, lines)
        removed_in.setdefault(other.path, set()).update(removed)
        candidates.append((other, definitions))

    found: dict[tuple[str, int], _Group] = {}
    for other, definitions in candidates:
        header = other.path.endswith(".h")
        moved = removed_in.get(other.path, set())
        for definition in definitions:
            identity = (
                definition.kind,
                definition.name,
                definition.containers,
                definition.statement,
            )
            if identity in moved:
                continue  # removed as is by another hunk of the file: moved, not changed
            for item, use in used.get(definition.name, ()):
                if use.member != (definition.kind == Kind.MEMBER):
                    continue
                if definition.kind == Kind.MEMBER and not _may_be_member_of(
                    item.path, use, definition.containers, mentions, types_of
                ):
                    continue
                if item.path != other.path:
                    if definition.file_local:
                        continue
                    if header and not visible(item.path, other.path):
                        continue
                key = (other.path, other.hunk.number)
                group = found.setdefault(key, _Group(other))
                group.add(item, definition, use)

    warnings: list[DependencyWarning] = []
    for item in kept:
        if classes is None:
            break
        cls = classes.get(item.path)
        if cls is not None and cls.kind == FileClass.HEADER and cls.included_by_builtin:
            warnings.append(
                DependencyWarning(
                    kind=WarningKind.BUILTIN_HEADER,
                    path=item.path,
                    hunk=item.hunk.number,
                    hunks=(item.hunk.number,),
                    # The hunk is kept: the class's reason says why --modules-only would
                    # leave it out ("stays out"), which is not what happened here.
                    message=(
                        f"{item.path} hunk #{item.hunk.number} is kept, but it changes a header "
                        f"built-in code includes (its Kbuild class, which --modules-only leaves "
                        f"out: {cls.reason}): a layout or inline change there makes the module "
                        "disagree with the running kernel"
                    ),
                )
            )
    warnings.extend(group.warning() for group in found.values())
    return number_warnings(warnings, [item.path for item in kept])


def _may_be_member_of(
    path: str,
    use: Use,
    containers: tuple[str, ...],
    mentions: Callable[[str, tuple[str, ...]], bool] | None,
    types_of: Callable[[str, str], frozenset[str]] | None,
) -> bool:
    """Whether a kept ``->name`` may be the changed member of the struct ``containers`` names.

    ``flags`` is a member of hundreds of structs. ``param->flags`` is this struct's only if
    ``param`` is declared with it (when the file declares it at all); a member reached through
    a call (``SLAVE_AD_INFO(slave)->port_priority``) may be anything, so it counts; any other
    access (``x->props.flags``, a designated ``.flags =``) counts when the file names the
    struct somewhere. Without the tree (no callbacks) every use counts.
    """
    if not containers or use.through_call:
        return True
    if use.receiver is not None and types_of is not None:
        declared = types_of(path, use.receiver)
        if declared:
            return bool(declared & set(containers))
    return mentions is None or mentions(path, containers)


def _near(path: str, header: str) -> bool:
    """Without the tree: a kernel-wide header is seen from everywhere, a private one from its
    own directory and below."""
    if _is_global_header(header):
        return True
    return path.startswith(header.rpartition("/")[0] + "/")


def number_warnings(
    warnings: Sequence[DependencyWarning], kept_paths: Sequence[str]
) -> list[DependencyWarning]:
    """The warnings grouped by kept file in ``kept_paths`` order, then by hunk, numbered 1, 2..."""
    first: dict[str, int] = {}
    for path in kept_paths:
        first.setdefault(path, len(first))
    ordered = sorted(
        warnings,
        key=lambda w: (
            first.get(w.path, len(first)),
            w.hunk,
            str(w.kind),
            w.other_path or "",
            w.other_hunk or 0,
        ),
    )
    return [dataclasses.replace(w, number=n) for n, w in enumerate(ordered, start=1)]


class _Group:
    """Every kept use of what one left-out hunk changes."""

    def __init__(self, other: PatchHunk) -> None:
        self.other = other
        self.users: dict[str, tuple[list[int], Use]] = {}
        """Kept file → (its hunks that use it, the first use: the evidence)."""
        self.names: dict[str, Kind] = {}
        self.definition: Definition | None = None

    def add(self, item: PatchHunk, definition: Definition, use: Use) -> None:
        hunks, _first = self.users.setdefault(item.path, ([], use))
        if item.hunk.number not in hunks:
            hunks.append(item.hunk.number)
        self.names.setdefault(definition.name, definition.kind)
        if self.definition is None:
            self.definition = definition

    def warning(self) -> DependencyWarning:
        assert self.definition is not None
        names = tuple(sorted(self.names))
        described = ", ".join(f"{name} ({_KIND_WORDS[self.names[name]]})" for name in names)
        users = tuple(
            (path, tuple(sorted(hunks)), _show(use.line))
            for path, (hunks, use) in self.users.items()
        )
        path, hunks, kept_line = users[0]
        shown = "; ".join(f"{p} {_hunks_text(h)}" for p, h, _line in users[:3])
        more = f" and {len(users) - 3} more files" if len(users) > 3 else ""
        other = f"{self.other.path} hunk #{self.other.hunk.number}"
        return DependencyWarning(
            kind=WarningKind.USES_LEFT_OUT,
            path=path,
            hunk=hunks[0],
            hunks=hunks,
            identifiers=names,
            other_path=self.other.path,
            other_hunk=self.other.hunk.number,
            message=f"left-out {other} changes {described}, which kept code uses: {shown}{more}",
            kept_line=kept_line,
            other_line=_show(self.definition.line),
            users=users,
        )


def _hunks_text(hunks: Sequence[int]) -> str:
    if len(hunks) == 1:
        return f"hunk #{hunks[0]}"
    return "hunks " + ", ".join(f"#{h}" for h in hunks)


def _show(line: bytes) -> str:
    return line.rstrip(b"\r\n").decode("utf-8", "replace")


def _is_global_header(path: str) -> bool:
    parts = path.split("/")
    return parts[0] == "include" or (
        len(parts) > 3 and parts[0] == "arch" and parts[2] == "include"
    )


# #include "br_new.h"     #  include <linux/br_new.h>     (an added line of a kept hunk)
_INCLUDE_LINE = re.compile(rb'\s*#\s*include\s*([<"])([^>"\n]+)[>"]')


def include_warnings(
    kept: Sequence[PatchHunk],
    made_left_out: Mapping[str, int],
    sees: Callable[[str, str], bool],
) -> list[DependencyWarning]:
    """uses-left-out warnings (not numbered) for kept hunks that add an ``#include`` of a file
    only a left-out diff makes: ``made_left_out`` maps each such file (one the patch creates,
    or renames or copies another to, that the tree does not have) to its diff's first hunk.

    For: the kept line names the file (its path, or a tail of it after a ``/``) and the kept
    file reaches it by the compiler's search order on the tree as the patch leaves it
    (``sees``). Then the module build cannot compile the kept code at all (a header the patch
    renames, left out, with the kept ``#include`` already naming its new name), or compiles it
    against a header that is not there. Against: the name resolves elsewhere (another header of
    that name the tree has), which ``sees`` tells apart.
    """
    found: dict[str, _IncludeGroup] = {}
    for item in kept:
        for op, text in zip(item.hunk.ops, item.hunk.texts, strict=True):
            if op != "+":
                continue
            match = _INCLUDE_LINE.match(text)
            if match is None:
                continue
            name = match.group(2).decode("utf-8", "surrogateescape").strip()
            tail = name
            while tail.startswith(("./", "../")):
                tail = tail.split("/", 1)[1]
            for path in made_left_out:
                if path != tail and not path.endswith("/" + tail):
                    continue
                if not sees(item.path, path):
                    continue
                group = found.setdefault(path, _IncludeGroup(path, made_left_out[path], name))
                group.add(item, text)
    return [group.warning() for group in found.values()]


class _IncludeGroup:
    """Every kept ``#include`` of one file only a left-out diff makes."""

    def __init__(self, path: str, hunk: int, name: str) -> None:
        self.path = path
        self.hunk = hunk
        self.name = name
        self.users: dict[str, tuple[list[int], bytes]] = {}

    def add(self, item: PatchHunk, line: bytes) -> None:
        hunks, _first = self.users.setdefault(item.path, ([], line))
        if item.hunk.number not in hunks:
            hunks.append(item.hunk.number)

    def warning(self) -> DependencyWarning:
        users = tuple(
            (path, tuple(sorted(hunks)), _show(line)) for path, (hunks, line) in self.users.items()
        )
        path, hunks, kept_line = users[0]
        shown = "; ".join(f"{p} {_hunks_text(h)}" for p, h, _line in users[:3])
        more = f" and {len(users) - 3} more files" if len(users) > 3 else ""
        return DependencyWarning(
            kind=WarningKind.USES_LEFT_OUT,
            path=path,
            hunk=hunks[0],
            hunks=hunks,
            identifiers=(self.name,),
            other_path=self.path,
            other_hunk=self.hunk,
            message=(
                f"left-out {self.path} is a file only the patch makes (the tree does not have"
                f" it), and kept code #includes it: {shown}{more}; the module build needs it"
            ),
            kept_line=kept_line,
            users=users,
        )


def kbuild_warnings(
    kept_paths: Sequence[str],
    left_out_paths: frozenset[str],
    classes: Mapping[str, Classification],
    unpatched: Callable[[str], Classification] | None = None,
) -> list[DependencyWarning]:
    """kbuild-left-out warnings: kept files whose class rests on a Kbuild line the patch adds
    in a file the selection leaves out (not numbered: :func:`number_warnings` does).

    ``unpatched(path)`` is the class on the tree before the patch: a file the old Makefile
    builds the same way (a line rewritten to add a neighbour) needs nothing left out.
    """
    warnings: list[DependencyWarning] = []
    for path in kept_paths:
        cls = classes.get(path)
        if cls is None or not cls.patched_kbuild:
            continue
        if unpatched is not None:
            before = unpatched(path)
            if (before.kind, before.modules) == (cls.kind, cls.modules):
                continue
        for makefile in cls.patched_kbuild:
            if makefile in left_out_paths:
                warnings.append(
                    DependencyWarning(
                        kind=WarningKind.KBUILD_LEFT_OUT,
                        path=path,
                        hunk=1,
                        hunks=(),
                        other_path=makefile,
                        message=(
                            f"{path} is built only through a line the patch adds to "
                            f"{makefile}, which the selection leaves out: the module build "
                            f"will not compile it ({cls.reason})"
                        ),
                    )
                )
    return warnings


# config FOO     menuconfig FOO     (a Kconfig entry's first line)
_KCONFIG_ENTRY = re.compile(rb"\s*(?:menu)?config\s+([A-Za-z0-9_]+)")
# select FOO     imply FOO if BAR   (what sets another option's value)
_KCONFIG_SETS = re.compile(rb"\s*(?:select|imply)\s+([A-Za-z0-9_]+)")
# CONFIG_FOO, CONFIG_FOO_MODULE, $(CONFIG_FOO) in an added line of kept code
_CONFIG_USE = re.compile(rb"\bCONFIG_([A-Za-z0-9_]+)")


def is_kconfig(path: str) -> bool:
    """Whether ``path`` is a Kconfig file (``Kconfig``, ``Kconfig.debug``...)."""
    return path.rpartition("/")[2].startswith("Kconfig")


def kconfig_changes(hunk: Hunk) -> dict[str, bytes]:
    """The options whose value a Kconfig hunk may change, each with the changed line that
    does: an entry it adds, removes or edits (a ``depends on``, ``default`` or prompt line
    changes the entry it stands in, the last ``config`` line above it in the hunk, else the
    one the hunk header names), and the options a changed ``select`` or ``imply`` line sets."""
    changed: dict[str, bytes] = {}
    section = _KCONFIG_ENTRY.match(hunk.section.encode("utf-8", "surrogateescape"))
    entry = section.group(1).decode("ascii") if section else None
    for op, text in zip(hunk.ops, hunk.texts, strict=True):
        started = _KCONFIG_ENTRY.match(text)
        if started:
            entry = started.group(1).decode("ascii")
        if op == " ":
            continue
        sets = _KCONFIG_SETS.match(text)
        if sets:
            changed.setdefault(sets.group(1).decode("ascii"), text)
        if entry is not None and text.strip():
            changed.setdefault(entry, text)
    return changed


def kconfig_warnings(
    kept: Sequence[PatchHunk],
    left_out: Sequence[PatchHunk],
    classes: Mapping[str, Classification] | None = None,
) -> list[DependencyWarning]:
    """uses-left-out warnings (not numbered: :func:`number_warnings` does) for kept code that
    tests a config option a left-out Kconfig hunk changes.

    Evidence: an added line of a kept hunk names ``CONFIG_X`` (``#ifdef``, ``IS_ENABLED()``,
    ``obj-$(CONFIG_X)``), and a left-out hunk of a Kconfig file defines ``X``, changes its
    dependencies or default, or selects it. The module is then built with the running
    kernel's configuration, made without that change: the kept code may be compiled out (an
    option that does not exist there is never set) or in against the fix's intent, and nothing
    fails to build. Against: no kept added line names an option a left-out Kconfig hunk
    changes, or the Kconfig file is of a class no kept code depends on (another
    architecture's). One warning stands for one left-out hunk, like the others of this kind.
    """
    changes = _left_out_changes(left_out, classes, is_kconfig, kconfig_changes)
    if not changes:
        return []
    used: dict[str, list[tuple[PatchHunk, bytes]]] = {}
    for item in kept:
        for op, text in zip(item.hunk.ops, item.hunk.texts, strict=True):
            if op != "+":
                continue
            for match in _CONFIG_USE.finditer(text):
                name = match.group(1).decode("ascii")
                for option in {name, name.removesuffix("_MODULE")}:
                    used.setdefault(option, []).append((item, text))
    return _option_warnings(changes, used, "config option", "CONFIG_")


# ccflags-y += -DDM_NEW_API     CFLAGS_dm.o := -DTRACE=1     (a macro a Makefile defines)
_DEFINE_FLAG = re.compile(rb"-D\s*([A-Za-z_][A-Za-z0-9_]*)")
_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def is_makefile(path: str) -> bool:
    """Whether ``path`` is a Kbuild makefile (``Makefile``, ``Kbuild``, ``Makefile.foo``)."""
    name = path.rpartition("/")[2]
    return name in ("Makefile", "Kbuild") or name.startswith(("Makefile.", "Kbuild."))


def cflags_warnings(
    kept: Sequence[PatchHunk],
    left_out: Sequence[PatchHunk],
    classes: Mapping[str, Classification] | None = None,
) -> list[DependencyWarning]:
    """uses-left-out warnings (not numbered) for kept code using a macro that a left-out
    makefile hunk defines or stops defining on the compiler's command line (``-DNAME``).

    Evidence: an added line of a kept hunk names ``NAME`` as an identifier, and a changed line
    of a left-out hunk of a makefile (``ccflags-y``, ``CFLAGS_x.o``) holds ``-DNAME``. The
    module is then compiled with the old flags: code under ``#ifdef NAME`` is left out, or
    ``NAME`` keeps its old value, and the build succeeds. Against: no kept added line names a
    macro a left-out makefile hunk changes, or the makefile is of a class no kept code depends
    on (another architecture's).
    """
    changes = _left_out_changes(left_out, classes, is_makefile, _defined_flags)
    if not changes:
        return []
    used: dict[str, list[tuple[PatchHunk, bytes]]] = {}
    for item in kept:
        for op, text in zip(item.hunk.ops, item.hunk.texts, strict=True):
            if op == "+":
                for word in set(_IDENTIFIER.findall(text)):
                    used.setdefault(word.decode("ascii"), []).append((item, text))
    return _option_warnings(changes, used, "macro defined on the compiler's command line", "")


def _defined_flags(hunk: Hunk) -> dict[str, bytes]:
    """The macros a makefile hunk's changed lines define on the command line (``-DNAME``),
    each with the first line that does."""
    changed: dict[str, bytes] = {}
    for op, text in zip(hunk.ops, hunk.texts, strict=True):
        if op != " ":
            for match in _DEFINE_FLAG.finditer(text):
                changed.setdefault(match.group(1).decode("ascii"), text)
    return changed


def _left_out_changes(
    left_out: Sequence[PatchHunk],
    classes: Mapping[str, Classification] | None,
    of_kind: Callable[[str], bool],
    changes_of: Callable[[Hunk], dict[str, bytes]],
) -> list[tuple[PatchHunk, dict[str, bytes]]]:
    """The left-out hunks of files ``of_kind`` accepts (not of a class no kept code depends
    on), each with the names ``changes_of`` finds it changing; hunks changing none left out."""
    changes: list[tuple[PatchHunk, dict[str, bytes]]] = []
    for other in left_out:
        if not of_kind(other.path):
            continue
        cls = classes.get(other.path) if classes is not None else None
        if cls is not None and cls.kind in _IGNORED_CLASSES:
            continue
        changed = changes_of(other.hunk)
        if changed:
            changes.append((other, changed))
    return changes


def _option_warnings(
    changes: Sequence[tuple[PatchHunk, Mapping[str, bytes]]],
    used: Mapping[str, Sequence[tuple[PatchHunk, bytes]]],
    what: str,
    prefix: str,
) -> list[DependencyWarning]:
    """One uses-left-out warning per left-out hunk in ``changes`` (its changed names, each with
    the line that changes it) whose names kept code ``used`` (name -> kept hunks and lines),
    the names shown with ``prefix`` (``CONFIG_``)."""
    warnings: list[DependencyWarning] = []
    for other, changed in changes:
        names = sorted(name for name in changed if name in used)
        if not names:
            continue
        users: dict[str, tuple[list[int], bytes]] = {}
        for name in names:
            for item, text in used[name]:
                numbers, _first = users.setdefault(item.path, ([], text))
                if item.hunk.number not in numbers:
                    numbers.append(item.hunk.number)
        listed = tuple(
            (path, tuple(sorted(numbers)), _show(text)) for path, (numbers, text) in users.items()
        )
        path, hunks, kept_line = listed[0]
        shown = "; ".join(f"{p} {_hunks_text(h)}" for p, h, _line in listed[:3])
        more = f" and {len(listed) - 3} more files" if len(listed) > 3 else ""
        identifiers = tuple(f"{prefix}{name}" for name in names)
        where = f"{other.path} hunk #{other.hunk.number}"
        warnings.append(
            DependencyWarning(
                kind=WarningKind.USES_LEFT_OUT,
                path=path,
                hunk=hunks[0],
                hunks=hunks,
                identifiers=identifiers,
                other_path=other.path,
                other_hunk=other.hunk.number,
                message=(
                    f"left-out {where} changes {', '.join(identifiers)} ({what}), which kept"
                    f" code tests: {shown}{more}; the module is built with the running kernel's"
                    " configuration and flags, made without that change, so the kept code may be"
                    " compiled out"
                ),
                kept_line=kept_line,
                other_line=_show(changed[names[0]]),
                users=listed,
            )
        )
    return warnings


def unknown_warnings(
    left_out: Sequence[tuple[str, int, str]], rule: str, keeping: str
) -> list[DependencyWarning]:
    """unknown-left-out warnings (not numbered: :func:`number_warnings` does) for the files
    ``rule`` (``--modules-only``) left out with class unknown: (path, its first hunk's number,
    why the class is unknown). ``keeping`` is the rule that would keep them
    (``--class module,unknown``)."""
    return [
        DependencyWarning(
            kind=WarningKind.UNKNOWN_LEFT_OUT,
            path=path,
            hunk=hunk,
            hunks=(),
            message=(
                f"{path} is left out by {rule}, but its class is unknown ({why}): if this config "
                "builds it into a module, the module ships without this change; check how it is "
                f"built, then acknowledge leaving it out, or select with {keeping} (which keeps "
                "every unknown file)"
            ),
        )
        for path, hunk, why in left_out
    ]

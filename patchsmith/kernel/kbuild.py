"""Reading a tree's Kbuild files: which objects and directories each one builds under a config.

Kbuild is GNU make. This module evaluates the small part of make that kernel ``Makefile`` and
``Kbuild`` files use to say what is built: variable assignments (``:=``, ``=``, ``+=``, ``?=``),
``$(VAR)`` and ``$(CONFIG_X)`` references, the text functions (``subst``, ``filter``,
``patsubst``, ``if``, ``call``, ...), conditionals (``ifdef``, ``ifndef``, ``ifeq``, ``ifneq``
with ``else``/``endif``), line continuations and ``include``. Rules and recipes are skipped, except
that ``$(build)=DIR`` in a recipe is noted (the arch Makefile builds the boot image that way).
``$(shell ...)`` is never run: it expands to nothing.

What comes out is a list of :class:`ObjectRef`: every ``foo.o`` and ``dir/`` named in an
``obj-y``/``obj-m``/``lib-y``/composite list, with the file and line that named it, including the
ones in conditional branches that are not taken (so a "not built" answer can point at the line).
:class:`KbuildTree` walks the descent from the top-level ``Makefile`` (and ``arch/$(SRCARCH)``)
down to a directory, reading only the Kbuild files on that path, each at most once.

Paths are evaluated the way Kbuild does for an in-tree build, whatever the current directory:
make runs at the top of the tree, so ``$(srctree)`` and ``$(objtree)`` are ``.``, ``$(src)`` and
``$(obj)`` are the directory being built, an ``include`` is relative to the top, an object name
(``../../../virt/kvm/kvm_main.o``) is relative to the directory whose list names it, and
``$(abspath)``/``$(realpath)`` give the tree's absolute path, which maps back to a tree path. The
tree's root is made absolute once, so ``--tree vendor`` and ``--tree /abs/vendor`` read the same
files.

What is read comes from a :class:`TreeFiles`: the tree on disk, or the tree as a patch leaves it
(the patch's Kbuild and Kconfig files and its new files held in memory, see
:mod:`patchsmith.kernel.patched`); a reference remembers whether the patch added its line.

A Kbuild file this evaluator cannot make sense of (unreadable, binary, an ``endif`` too many, an
unterminated ``$(``) is not an error: its :attr:`KbuildFile.problem` says what is wrong and the
classifier reports the files that depend on it as unknown. Only a missing tree raises.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from patchsmith.errors import TreeError
from patchsmith.kernel.config import KernelConfig
from patchsmith.record import record

# The lists the top-level Makefile links into vmlinux (2.6 to 5.x name them here; 6.1 moved most
# of them into the root Kbuild's obj-y, leaving core-y/drivers-y/libs-y for the arch Makefile).
DESCENT_LISTS = ("init", "core", "drivers", "net", "libs", "virt")

# Suffixes of a list name that put its members in the build: obj-y, obj-m, foo-objs.
SELECTED_SUFFIXES = ("y", "m", "objs")

_MAX_DEPTH = 40
_MAX_INCLUDE_DEPTH = 6

# A Kbuild file can name an object outside its directory only through "../" in a name, or an
# included fragment that has one:   kvm-y := ../../../virt/kvm/kvm_main.o   include $(srctree)/...
# and add another directory to the include path with "../" or a path from the top:
#   ccflags-y += -I $(srctree)/$(src)/../qat_common      ccflags-y += -I$(srctree)/drivers/x
_MAY_NAME_ELSEWHERE = re.compile(rb"\.\./|^[ \t]*-?s?include[ \t]|-I[ \t]*\$\(srctree\)", re.M)

# -I $(srctree)/$(src)/../common    -Idrivers/x     (in the expanded value of a flags variable)
_INCLUDE_FLAG = re.compile(r"(?:^|\s)-I\s*(\S+)")

# Top-level folders whose Kbuild files never name kernel objects elsewhere: programs run at
# build time, documentation, headers (their Kbuild lists exported headers).
_NOT_SCANNED = frozenset({"tools", "scripts", "Documentation", "LICENSES", "include", "usr"})


@record
class ObjectRef:
    """One object (``foo.o``), directory (``bar/``) or program named in a Kbuild list."""

    target: str
    """Tree-relative path: ``drivers/md/dm-table.o``, ``drivers/md/bcache/`` (a directory keeps
    its slash), or a host program's name joined to its directory (``lib/gen_crc32table``)."""
    variable: str
    """The list after expansion: ``obj-y``, ``obj-m``, ``obj-`` (option unset), ``dm-mod-y``."""
    written: str
    """The left-hand side and operator as written, ``obj-$(CONFIG_BLK_DEV_DM) +=``: what a reason
    shows."""
    makefile: str
    """Tree-relative path of the file with the line (an included file names itself)."""
    line: int
    """1-based line where the (continued) line starts."""
    directory: str
    """The directory whose Kbuild file this is part of (what relative names are relative to)."""
    active: bool = True
    """False for a line in a conditional branch that is not taken."""
    condition: str = ""
    """For an inactive line: ``FILE:LINE: ifeq (...)`` of the branch that excludes it."""
    patched: str = ""
    """``added``: the patch adds this line; ``changed``: the line is unchanged but its file is
    read as the patch leaves it; ``""``: read from the tree as it is."""

    @property
    def base(self) -> str:
        """``obj`` of ``obj-y``, ``dm-mod`` of ``dm-mod-objs``, the whole name without a dash."""
        return split_list_name(self.variable)[0]

    @property
    def suffix(self) -> str | None:
        """``y``, ``m``, ``objs``, ``""`` for ``obj-`` (unset option), ``None`` for ``targets``."""
        return split_list_name(self.variable)[1]

    @property
    def selected(self) -> bool:
        """Whether the line is live and its list is one make builds (``-y``, ``-m``, ``-objs``)."""
        return self.active and self.suffix in SELECTED_SUFFIXES

    @property
    def where(self) -> str:
        return f"{self.makefile}:{self.line}"


def split_list_name(name: str) -> tuple[str, str | None]:
    """``obj-y`` → (``obj``, ``y``); ``dm-mod-objs`` → (``dm-mod``, ``objs``); ``targets`` →
    (``targets``, None). A suffix that is not y/m/n/objs (``obj-250`` from a numeric option) is
    returned as is and counts as not selected."""
    if name.endswith("-objs"):
        return name[:-5], "objs"
    head, dash, tail = name.rpartition("-")
    if not dash:
        return name, None
    return head, tail


@record
class KbuildFile:
    """One evaluated Kbuild file (with whatever it includes)."""

    path: str
    """Tree-relative path of the file read (``drivers/md/Makefile``)."""
    directory: str
    """Tree-relative directory it describes (``""`` for the top level)."""
    refs: tuple[ObjectRef, ...]
    variables: Mapping[str, str] = field(hash=False)
    """Every variable's final value, expanded (for the top level: ``core-y``, ``ARCH_LIB``...)."""
    exported: frozenset[str] = frozenset()
    """Names marked ``export``: what a sub-make sees (``BITS`` from ``arch/x86/Makefile``)."""
    problem: str | None = None
    """Why this file cannot be trusted (``drivers/x/Makefile:12: 'endif' without 'if'``)."""
    by_target: dict[str, list[ObjectRef]] = field(
        default_factory=dict, hash=False, compare=False, repr=False
    )
    """:attr:`refs` by target, made on first use (a big Makefile is asked once per file)."""

    def refs_to(self, target: str) -> list[ObjectRef]:
        if not self.by_target and self.refs:
            for ref in self.refs:
                self.by_target.setdefault(ref.target, []).append(ref)
        return list(self.by_target.get(target, ()))


@record
class DirectoryState:
    """Whether make reaches a directory under this config, and how."""

    mode: str
    """``y``: its ``obj-y`` is linked into vmlinux; ``m``: visited for modules only; ``n``: not
    visited; ``?``: cannot tell (an odd Kbuild file on the way)."""
    reason: str
    """The file:line that decided it."""
    kbuild: KbuildFile | None = None
    """The directory's own Kbuild file, read when the directory is reached."""
    image: bool = False
    """Reached through a ``$(build)=DIR`` rule of the arch Makefile (boot image, vDSO) rather than
    an obj- list: what is compiled there ends up in the image whatever list names it."""


@record
class PatchedFile:
    """One file as a patch leaves it, held in memory instead of read from the tree."""

    data: bytes | None
    """The content after the patch; ``None`` when the patch deletes the file."""
    added_lines: frozenset[int] = frozenset()
    """1-based numbers of the lines of :attr:`data` that the patch adds."""
    problem: str | None = None
    """Why the patch's hunks could not all be applied in memory (then :attr:`data` is the
    tree's content with the hunks that did apply)."""


class TreeFiles:
    """What the classifier reads of a tree: the files on disk, with a patch's files on top.

    ``patched`` holds what the patch changes that matters for classes (Kbuild, Makefile and
    Kconfig files, files it creates, deletes or renames), ``additions`` gives the lines a patch
    adds to the other files it changes (their ``#include`` lines count for the header scan).
    Without either, this is the tree as it is. The root is made absolute once: nothing read
    depends on the current directory.
    """

    def __init__(
        self,
        root: str | Path,
        patched: Mapping[str, PatchedFile] | None = None,
        additions: Callable[[str], bytes] | None = None,
        patch_name: str = "",
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.patched: Mapping[str, PatchedFile] = MappingProxyType(dict(patched or {}))
        self._additions = additions
        self.patch_name = patch_name
        """What to call the patch in reasons (``upstream.patch``), empty without one."""
        self.new_options: Mapping[str, str] = MappingProxyType(
            _new_options(self.patched) if self.patched else {}
        )
        """``CONFIG_X`` → the Kconfig file where the patch adds ``config X``."""
        self._listing: dict[str, list[str]] = {}
        self._new: dict[str, set[str]] = {}
        for path in self.patched:
            directory, _slash, name = path.rpartition("/")
            self._new.setdefault(directory, set()).add(name)

    @property
    def overlaid(self) -> bool:
        """Whether a patch's files are on top of the tree."""
        return bool(self.patched) or self._additions is not None

    def additions(self, path: str) -> bytes:
        """The lines the patch adds to ``path`` when it changes the file without being held
        here (a ``.c`` or ``.h`` it modifies); empty otherwise."""
        if self._additions is None or path in self.patched:
            return b""
        return self._additions(path)

    def read(self, path: str) -> bytes:
        """The content of tree-relative ``path``; ``FileNotFoundError`` when it is absent."""
        found = self.patched.get(path)
        if found is not None:
            if found.data is None:
                raise FileNotFoundError(2, "deleted by the patch", path)
            return found.data
        return (self.root / path).read_bytes()

    def is_file(self, path: str) -> bool:
        found = self.patched.get(path)
        if found is not None:
            return found.data is not None
        return (self.root / path).is_file()

    def listdir(self, directory: str) -> list[str]:
        """The names in ``directory`` (sorted), with what the patch creates and deletes."""
        listed = self._listing.get(directory)
        if listed is None:
            try:
                names = set(os.listdir(self.root / directory))
            except OSError:
                names = set()
            for name in self._new.get(directory, ()):
                path = f"{directory}/{name}" if directory else name
                if self.patched[path].data is None:
                    names.discard(name)
                else:
                    names.add(name)
            listed = sorted(names)
            self._listing[directory] = listed
        return listed

    def tree_path(self, word: str) -> str | None:
        """A path as make sees it (relative to the top, or absolute) as a tree path, or
        ``None`` when it is outside the tree."""
        if os.path.isabs(word):
            relative = os.path.relpath(word, self.root)
            if relative == ".." or relative.startswith("../"):
                return None
            word = relative
        joined = posixpath.normpath(word)
        if joined == ".":
            return ""
        if joined == ".." or joined.startswith("../"):
            return None
        return joined

    def walk_kbuild_files(self, skip: Callable[[str], bool]) -> Iterator[str]:
        """Tree paths of every ``Makefile`` and ``Kbuild`` (the patch's included), except in
        directories ``skip`` says no to."""
        seen: set[str] = set()
        for folder, directories, names in os.walk(self.root):
            relative = os.path.relpath(folder, self.root)
            relative = "" if relative == "." else relative.replace(os.sep, "/")
            directories[:] = sorted(
                d for d in directories if not skip(f"{relative}/{d}" if relative else d)
            )
            for name in ("Kbuild", "Makefile"):
                if name in names:
                    path = f"{relative}/{name}" if relative else name
                    seen.add(path)
                    if self.is_file(path):
                        yield path
        for path in sorted(self.patched):
            name = path.rpartition("/")[2]
            if name in ("Kbuild", "Makefile") and path not in seen and self.is_file(path):
                directory = path.rpartition("/")[0]
                if not any(skip(d) for d in _ancestors_of(directory)):
                    yield path

    def glob(self, pattern: str) -> list[str]:
        """make's ``$(wildcard)`` over tree paths (``drivers/x/*.c``), the patch's files too."""
        directory, _slash, name_pattern = pattern.rpartition("/")
        if any(c in directory for c in "*?["):
            return []  # a wildcard in a directory part: not used by Kbuild lists
        if not any(c in name_pattern for c in "*?["):
            return [pattern] if self.is_file(pattern) or self.is_dir(pattern) else []
        return [
            f"{directory}/{name}" if directory else name
            for name in self.listdir(directory)
            if fnmatch.fnmatchcase(name, name_pattern)
        ]

    def is_dir(self, path: str) -> bool:
        return (self.root / path).is_dir() or path in self._new


# config DM_VERITY_FEC     menuconfig MD       (a Kconfig entry; the option is CONFIG_ + name)
_KCONFIG_ENTRY = re.compile(rb"^[ \t]*(?:menu)?config[ \t]+([A-Za-z0-9_]+)[ \t]*$")


def _new_options(patched: Mapping[str, PatchedFile]) -> dict[str, str]:
    """Options a patch adds to Kconfig files: ``config X`` on a line the patch adds."""
    found: dict[str, str] = {}
    for path, file in sorted(patched.items()):
        if file.data is None or not path.rpartition("/")[2].startswith("Kconfig"):
            continue
        for number, line in enumerate(file.data.splitlines(), start=1):
            if number in file.added_lines:
                match = _KCONFIG_ENTRY.match(line)
                if match:
                    found.setdefault("CONFIG_" + match.group(1).decode("ascii"), path)
    return found


def _ancestors_of(directory: str) -> list[str]:
    """``a/b/c`` → [``a/b/c``, ``a/b``, ``a``]: every directory on the way down to it."""
    found = []
    while directory:
        found.append(directory)
        directory = directory.rpartition("/")[0]
    return found


class _OddMakefile(Exception):
    """Something this evaluator (and probably make) cannot read; becomes KbuildFile.problem."""


@dataclass(slots=True)
class _Variable:
    value: str
    recursive: bool
    """``=`` variables are expanded when used, ``:=`` ones when assigned (as make does)."""
    origin: str = "file"


@dataclass(slots=True)
class _Branch:
    parent_active: bool
    active: bool
    taken: bool
    header: str


# obj-$(CONFIG_FOO) += foo.o      dm-mod-y := dm.o      ccflags-y = -I$(src)      KVM ?= ../kvm
# (the operator is found by a scan that skips $(...), see _split_assignment)
_DIRECTIVE = re.compile(
    r"^(ifeq|ifneq|ifdef|ifndef|else|endif|define|endef|include|-include|sinclude|"
    r"export|unexport|override|private|undefine|vpath)(?=\s|$)"
)

# 	$(Q)$(MAKE) $(build)=$(boot) $(KBUILD_IMAGE)       (a recipe descending into a directory)
_BUILD_IN_RECIPE = re.compile(r"\$\(build\)=(\S+)")

_FUNCTION_NAME = re.compile(r"^([a-z][a-z-]*)[ \t]")

# dm-table.o   bcache/   ../../../virt/kvm/kvm_main.o   vmlinux.lds   (not '$s:/ or -I$(src)/)
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.+,/\-]+")


class _Evaluator:
    """Evaluates one Kbuild file (and what it includes) into variables and object references."""

    def __init__(
        self,
        files: TreeFiles,
        config: KernelConfig,
        directory: str,
        variables: Mapping[str, _Variable],
        follow_include: Callable[[str], bool],
    ) -> None:
        self.files = files
        self.root = files.root
        self.config = config
        self.directory = directory
        self.variables: dict[str, _Variable] = dict(variables)
        self.exported: set[str] = set()
        self.refs: list[ObjectRef] = []
        self.follow_include = follow_include
        self.include_stack: list[str] = []
        self.last_assignment: dict[str, tuple[str, str, int]] = {}
        self.depth = 0
        self.spans: dict[tuple[str, int], int] = {}
        """(file, first line) of a continued line → its last line: what ``patched`` checks."""

    # --- reading lines -----------------------------------------------------------------------

    def run(self, path: str) -> None:
        """Evaluate the file at tree-relative ``path``; raises _OddMakefile or OSError."""
        data = self.files.read(path)
        if b"\x00" in data:
            raise _OddMakefile(f"{path}: binary data, not a Makefile")
        text = data.decode("utf-8", "surrogateescape")
        self.include_stack.append(path)
        try:
            self._run_text(text, path)
        finally:
            self.include_stack.pop()

    def _run_text(self, text: str, path: str) -> None:
        branches: list[_Branch] = []
        in_rule = False
        define: list[str] | None = None
        define_name = ""
        define_active = True
        for number, last, line in _logical_lines(text):
            if last != number:
                self.spans[(path, number)] = last
            where = f"{path}:{number}"
            active = all(b.active for b in branches)
            if define is not None:
                if line.strip().startswith("endef"):
                    if define_active:
                        self.variables[define_name] = _Variable("\n".join(define), True)
                    define = None
                else:
                    define.append(line)
                continue
            if line.startswith("\t") and in_rule:
                if active:
                    self._recipe(line, path, number)
                continue
            stripped = _strip_comment(line).strip()
            if not stripped:
                continue
            directive = _DIRECTIVE.match(stripped)
            word = directive.group(1) if directive else ""
            rest = stripped[len(word) :].strip() if directive else ""
            if word in ("ifeq", "ifneq", "ifdef", "ifndef"):
                result = self._condition(word, rest, where) if active else False
                branches.append(_Branch(active, result, result, f"{where}: {stripped}"))
                continue
            if word == "else":
                if not branches:
                    raise _OddMakefile(f"{where}: 'else' without 'if'")
                branch = branches[-1]
                if rest:
                    inner = _DIRECTIVE.match(rest)
                    kind = inner.group(1) if inner else ""
                    if kind not in ("ifeq", "ifneq", "ifdef", "ifndef"):
                        raise _OddMakefile(f"{where}: cannot read '{stripped}'")
                    result = (
                        branch.parent_active
                        and not branch.taken
                        and self._condition(kind, rest[len(kind) :].strip(), where)
                    )
                else:
                    result = branch.parent_active and not branch.taken
                branch.active = result
                branch.taken = branch.taken or result
                branch.header = f"{where}: {stripped}"
                continue
            if word == "endif":
                if not branches:
                    raise _OddMakefile(f"{where}: 'endif' without 'if'")
                branches.pop()
                continue
            in_rule = False
            if word == "define":
                define = []
                define_name = self.expand(rest.split()[0] if rest.split() else "")
                define_active = active
                continue
            if word == "endef":
                raise _OddMakefile(f"{where}: 'endef' without 'define'")
            if not active:
                # Still note what a branch that is not taken would have built: that line is
                # the reason a file is not built.
                if branches and branches[-1].parent_active:
                    self._inactive(stripped, path, number, branches[-1].header)
                continue
            if word in ("include", "-include", "sinclude"):
                self._include(rest, where)
                continue
            if word in ("export", "unexport", "override", "private"):
                if word == "unexport":
                    continue
                stripped = rest
                if not stripped:
                    continue
                if word == "export":
                    assignment = _split_assignment(stripped)
                    if assignment is None:
                        self.exported.update(self.expand(stripped).split())
                        continue
                    self.exported.add(self.expand(assignment[0]).strip())
            elif word == "undefine":
                self.variables.pop(self.expand(rest), None)
                continue
            elif word == "vpath":
                continue
            in_rule = self._statement(stripped, path, number)
        if define is not None:
            raise _OddMakefile(f"{path}: 'define {define_name}' without 'endef'")
        if branches:
            raise _OddMakefile(f"{branches[-1].header.split(': ')[0]}: conditional without 'endif'")

    def _statement(self, text: str, path: str, number: int) -> bool:
        """An assignment, a rule or a bare function call. Returns whether a rule started."""
        split = _split_assignment(text)
        if split is None:
            if _top_level_colon(text) >= 0:
                return True
            if self.expand(text).strip():
                raise _OddMakefile(f"{path}:{number}: missing separator in '{text[:60]}'")
            return False
        name_text, operator, value = split
        name = self.expand(name_text).strip()
        if not name or any(c.isspace() for c in name):
            raise _OddMakefile(f"{path}:{number}: bad variable name in '{text[:60]}'")
        assigned = self._assign(name, operator, value)
        self.last_assignment[name] = (f"{name_text.strip()} {operator}", path, number)
        if assigned and _may_hold_objects(name):
            added = self.expand(value) if operator == "+=" else self.value(name)
            self._record(name, f"{name_text.strip()} {operator}", added, path, number, True, "")
        return False

    def _assign(self, name: str, operator: str, value: str) -> bool:
        """Apply an assignment; False when it changed nothing (``?=`` on a set variable)."""
        current = self.variables.get(name)
        if current is not None and current.origin == "command line":
            return False
        if operator == "?=":
            if current is not None:
                return False
            self.variables[name] = _Variable(value, True)
        elif operator in (":=", "::="):
            self.variables[name] = _Variable(self.expand(value), False)
        elif operator == "+=":
            if current is None:
                self.variables[name] = _Variable(value, True)
            elif current.recursive:
                current.value = f"{current.value} {value}" if current.value else value
            else:
                added = self.expand(value)
                current.value = f"{current.value} {added}" if current.value else added
        elif operator == "!=":
            self.variables[name] = _Variable("", False)  # $(shell) is never run
        else:
            self.variables[name] = _Variable(value, True)
        return True

    def finish(self) -> None:
        """Record what recursive lists gained after their line (``X = a.o``, ``obj-y = $(X)``,
        ``X += b.o``: make sees b.o in obj-y), attributed to the list's last assignment."""
        recorded: dict[str, set[str]] = {}
        for ref in self.refs:
            if ref.active:
                recorded.setdefault(ref.variable, set()).add(ref.target)
        for name, (written, path, number) in self.last_assignment.items():
            variable = self.variables.get(name)
            if variable is None or not variable.recursive or not _may_hold_objects(name):
                continue
            before = len(self.refs)
            self._record(name, written, self.value(name), path, number, True, "")
            known = recorded.get(name, set())
            fresh = [ref for ref in self.refs[before:] if ref.target not in known]
            del self.refs[before:]
            self.refs.extend(fresh)

    def _record(
        self,
        name: str,
        written: str,
        value: str,
        path: str,
        number: int,
        active: bool,
        condition: str,
    ) -> None:
        base, suffix = split_list_name(name)
        host = base.startswith(("hostprogs", "userprogs")) or base == "always"
        for word in value.split():
            if not _PLAIN_WORD.fullmatch(word):
                continue
            if word.endswith("/"):
                joined = self._object_path(word)
                target = joined + "/" if joined else ""
            elif word.endswith((".o", ".a")) or (host and suffix != "objs") or base == "extra":
                target = self._object_path(word) or ""
            else:
                continue
            if not target:
                continue
            self.refs.append(
                ObjectRef(
                    target=target,
                    variable=name,
                    written=written,
                    makefile=path,
                    line=number,
                    directory=self.directory,
                    active=active,
                    condition=condition,
                    patched=self._patched(path, number),
                )
            )

    def _patched(self, path: str, number: int) -> str:
        """What the patch did to the (continued) line at ``path:number``: see ObjectRef."""
        found = self.files.patched.get(path)
        if found is None:
            return ""
        last = self.spans.get((path, number), number)
        if any(line in found.added_lines for line in range(number, last + 1)):
            return "added"
        return "changed"

    def _inactive(self, text: str, path: str, number: int, header: str) -> None:
        split = _split_assignment(text)
        if split is None:
            return
        name_text, operator, value = split
        try:
            name = self.expand(name_text).strip()
            if _may_hold_objects(name):
                written = f"{name_text.strip()} {operator}"
                self._record(name, written, self.expand(value), path, number, False, header)
        except _OddMakefile:
            return  # make never reads this branch, so neither do we

    def _object_path(self, word: str) -> str | None:
        """An object or directory name of a list as a tree path: relative to the directory
        being built (Kbuild prefixes ``$(obj)/``), or absolute inside the tree
        (``$(abspath ...)``); ``None`` outside the tree."""
        if os.path.isabs(word):
            return self.files.tree_path(word.rstrip("/"))
        if not self.directory:
            return self.files.tree_path(word.rstrip("/"))
        return self.files.tree_path(posixpath.join(self.directory, word.rstrip("/")))

    def _recipe(self, line: str, path: str, number: int) -> None:
        for match in _BUILD_IN_RECIPE.finditer(line):
            directory = self.expand(match.group(1)).strip().rstrip("/")
            target = self.files.tree_path(directory) if directory else None
            if target and "$" not in directory:
                self.refs.append(
                    ObjectRef(
                        target=target + "/",
                        variable="$(build)",
                        written="$(build)=" + match.group(1),
                        makefile=path,
                        line=number,
                        directory=self.directory,
                    )
                )

    def _include(self, rest: str, where: str) -> None:
        # make runs at the top of the tree: an include names a path relative to it
        # ($(srctree)/virt/kvm/Makefile.kvm is ./virt/kvm/Makefile.kvm), or an absolute one.
        for word in self.expand(rest).split():
            target = self.files.tree_path(word)
            if not target or target in self.include_stack:
                continue
            if len(self.include_stack) >= _MAX_INCLUDE_DEPTH or not self.follow_include(target):
                continue
            if not self.files.is_file(target):
                continue  # generated (include/config/auto.conf) or absent: make would rebuild it
            self.run(target)

    # --- conditions ----------------------------------------------------------------------------

    def _condition(self, kind: str, rest: str, where: str) -> bool:
        if kind in ("ifdef", "ifndef"):
            name = self.expand(rest).strip()
            variable = self.variables.get(name)
            if variable is not None:
                defined = bool(variable.value.strip())
            else:
                defined = bool(self._builtin_value(name))
            return defined if kind == "ifdef" else not defined
        left, right = _condition_arguments(rest, where)
        equal = self.expand(left).strip() == self.expand(right).strip()
        return equal if kind == "ifeq" else not equal

    # --- expansion -------------------------------------------------------------------------------

    def value(self, name: str) -> str:
        variable = self.variables.get(name)
        if variable is None:
            return self._builtin_value(name)
        if not variable.recursive:
            return variable.value
        return self.expand(variable.value)

    def _builtin_value(self, name: str) -> str:
        if name.startswith("CONFIG_"):
            return self.config.make_value(name)
        return ""

    def expand(self, text: str) -> str:
        if "$" not in text:
            return text
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise _OddMakefile(f"variable expansion nests deeper than {_MAX_DEPTH} levels")
            return self._expand(text)
        finally:
            self.depth -= 1

    def _expand(self, text: str) -> str:
        out: list[str] = []
        i = 0
        length = len(text)
        while i < length:
            dollar = text.find("$", i)
            if dollar < 0:
                out.append(text[i:])
                break
            out.append(text[i:dollar])
            if dollar + 1 >= length:
                break
            following = text[dollar + 1]
            if following == "$":
                out.append("$")
                i = dollar + 2
            elif following in "({":
                close = _matching(text, dollar + 1)
                if close < 0:
                    raise _OddMakefile(f"unterminated variable reference in '{text[:60]}'")
                out.append(self._reference(text[dollar + 2 : close]))
                i = close + 1
            else:
                out.append(self.value(following))
                i = dollar + 2
        return "".join(out)

    def _reference(self, inner: str) -> str:
        match = _FUNCTION_NAME.match(inner)
        if match and match.group(1) in _FUNCTIONS:
            return _FUNCTIONS[match.group(1)](self, inner[match.end() :])
        colon = _top_level(inner, ":")
        if colon >= 0 and "=" in inner[colon:]:
            # $(objs:.o=.c): a substitution reference
            name = self.expand(inner[:colon])
            pattern, _eq, replacement = self.expand(inner[colon + 1 :]).partition("=")
            if "%" not in pattern:
                pattern, replacement = "%" + pattern, "%" + replacement
            return _patsubst(pattern, replacement, self.value(name))
        return self.value(self.expand(inner))

    def call(self, name: str, arguments: list[str]) -> str:
        saved = {}
        for number, argument in enumerate(arguments, start=1):
            key = str(number)
            saved[key] = self.variables.get(key)
            self.variables[key] = _Variable(argument, False)
        try:
            return self.value(name)
        finally:
            for key, old in saved.items():
                if old is None:
                    self.variables.pop(key, None)
                else:
                    self.variables[key] = old


# --- make's functions --------------------------------------------------------------------------


def _arguments(text: str, count: int) -> list[str]:
    """Split at top-level commas into at most ``count`` pieces (the last keeps its commas)."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif char == "," and depth == 0 and (count <= 0 or len(parts) < count - 1):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _expanded(evaluator: _Evaluator, text: str, count: int) -> list[str]:
    parts = [evaluator.expand(p) for p in _arguments(text, count)]
    while len(parts) < count:
        parts.append("")
    return parts


def _pattern_match(pattern: str, word: str) -> str | None:
    """The stem ``%`` matches in ``word``, or None."""
    if "%" not in pattern:
        return "" if pattern == word else None
    head, _percent, tail = pattern.partition("%")
    if len(word) >= len(head) + len(tail) and word.startswith(head) and word.endswith(tail):
        return word[len(head) : len(word) - len(tail)]
    return None


def _patsubst(pattern: str, replacement: str, text: str) -> str:
    out = []
    for word in text.split():
        stem = _pattern_match(pattern, word)
        if stem is None:
            out.append(word)
        elif "%" in replacement:
            out.append(replacement.replace("%", stem, 1))
        else:
            out.append(replacement)
    return " ".join(out)


def _fn_subst(e: _Evaluator, text: str) -> str:
    old, new, value = _expanded(e, text, 3)
    return value.replace(old, new) if old else value


def _fn_patsubst(e: _Evaluator, text: str) -> str:
    pattern, replacement, value = (p.strip() for p in _expanded(e, text, 3))
    return _patsubst(pattern, replacement, value)


def _fn_filter(e: _Evaluator, text: str, keep: bool) -> str:
    patterns, value = _expanded(e, text, 2)
    words = patterns.split()
    return " ".join(
        w for w in value.split() if any(_pattern_match(p, w) is not None for p in words) == keep
    )


def _fn_if(e: _Evaluator, text: str) -> str:
    parts = _arguments(text, 3)
    if e.expand(parts[0]).strip():
        return e.expand(parts[1]) if len(parts) > 1 else ""
    return e.expand(parts[2]) if len(parts) > 2 else ""


def _fn_or(e: _Evaluator, text: str) -> str:
    for part in _arguments(text, 0):
        value = e.expand(part).strip()
        if value:
            return value
    return ""


def _fn_and(e: _Evaluator, text: str) -> str:
    value = ""
    for part in _arguments(text, 0):
        value = e.expand(part).strip()
        if not value:
            return ""
    return value


def _fn_foreach(e: _Evaluator, text: str) -> str:
    name_text, words_text, body = _arguments(text, 3) + [""] * (3 - len(_arguments(text, 3)))
    name = e.expand(name_text).strip()
    saved = e.variables.get(name)
    out = []
    try:
        for word in e.expand(words_text).split():
            e.variables[name] = _Variable(word, False)
            out.append(e.expand(body))
    finally:
        if saved is None:
            e.variables.pop(name, None)
        else:
            e.variables[name] = saved
    return " ".join(out)


def _fn_call(e: _Evaluator, text: str) -> str:
    parts = [e.expand(p) for p in _arguments(text, 0)]
    return e.call(parts[0].strip(), parts[1:])


def _fn_wildcard(e: _Evaluator, text: str) -> str:
    found: list[str] = []
    for pattern in e.expand(text).split():
        path = e.files.tree_path(pattern)
        if path is None:
            continue  # only the tree is looked at
        matches = e.files.glob(path)
        if os.path.isabs(pattern):
            matches = [str(e.root / match) for match in matches]
        elif pattern.startswith("./"):
            matches = ["./" + match for match in matches]
        found.extend(matches)
    return " ".join(found)


def _fn_abspath(e: _Evaluator, text: str) -> str:
    # make's $(abspath) is relative to where make runs: the top of the tree. Symlinks are not
    # resolved for $(realpath) either: the tree's root already is (TreeFiles).
    words = []
    for word in e.expand(text).split():
        words.append(os.path.normpath(os.path.join(e.root, word)))
    return " ".join(words)


def _words(e: _Evaluator, text: str) -> list[str]:
    return e.expand(text).split()


def _fn_word(e: _Evaluator, text: str) -> str:
    number, value = _expanded(e, text, 2)
    words = value.split()
    try:
        index = int(number.strip())
    except ValueError:
        return ""
    return words[index - 1] if 0 < index <= len(words) else ""


def _fn_wordlist(e: _Evaluator, text: str) -> str:
    start, end, value = _expanded(e, text, 3)
    try:
        first, last = int(start), int(end)
    except ValueError:
        return ""
    return " ".join(value.split()[first - 1 : last])


def _fn_addfix(e: _Evaluator, text: str, prefix: bool) -> str:
    fix, value = _expanded(e, text, 2)
    fix = fix.strip()
    return " ".join(fix + w if prefix else w + fix for w in value.split())


def _fn_join(e: _Evaluator, text: str) -> str:
    left, right = (v.split() for v in _expanded(e, text, 2))
    size = max(len(left), len(right))
    left += [""] * (size - len(left))
    right += [""] * (size - len(right))
    return " ".join(a + b for a, b in zip(left, right, strict=True))


def _fn_origin(e: _Evaluator, text: str) -> str:
    name = e.expand(text).strip()
    variable = e.variables.get(name)
    if variable is not None:
        return variable.origin
    return "file" if name.startswith("CONFIG_") and e.config.make_value(name) else "undefined"


def _fn_value(e: _Evaluator, text: str) -> str:
    variable = e.variables.get(e.expand(text).strip())
    return variable.value if variable is not None else ""


def _fn_nothing(e: _Evaluator, text: str) -> str:
    # $(shell) is never run; $(error)/$(warning)/$(info)/$(eval) have effects we do not model.
    return ""


def _dir(word: str) -> str:
    head, slash, _tail = word.rpartition("/")
    return head + slash if slash else "./"


def _suffix(word: str) -> str:
    base = word.rpartition("/")[2]
    dot = base.rfind(".")
    return base[dot:] if dot >= 0 else ""


def _basename(word: str) -> str:
    suffix = _suffix(word)
    return word[: len(word) - len(suffix)] if suffix else word


_FUNCTIONS: dict[str, Callable[[_Evaluator, str], str]] = {
    "subst": _fn_subst,
    "patsubst": _fn_patsubst,
    "strip": lambda e, t: " ".join(_words(e, t)),
    "findstring": lambda e, t: (lambda a: a[0] if a[0] in a[1] else "")(_expanded(e, t, 2)),
    "filter": lambda e, t: _fn_filter(e, t, True),
    "filter-out": lambda e, t: _fn_filter(e, t, False),
    "sort": lambda e, t: " ".join(sorted(set(_words(e, t)))),
    "word": _fn_word,
    "wordlist": _fn_wordlist,
    "words": lambda e, t: str(len(_words(e, t))),
    "firstword": lambda e, t: (_words(e, t) or [""])[0],
    "lastword": lambda e, t: (_words(e, t) or [""])[-1],
    "dir": lambda e, t: " ".join(_dir(w) for w in _words(e, t)),
    "notdir": lambda e, t: " ".join(w.rpartition("/")[2] for w in _words(e, t)),
    "suffix": lambda e, t: " ".join(s for s in (_suffix(w) for w in _words(e, t)) if s),
    "basename": lambda e, t: " ".join(_basename(w) for w in _words(e, t)),
    "addprefix": lambda e, t: _fn_addfix(e, t, True),
    "addsuffix": lambda e, t: _fn_addfix(e, t, False),
    "join": _fn_join,
    "wildcard": _fn_wildcard,
    "realpath": _fn_abspath,
    "abspath": _fn_abspath,
    "if": _fn_if,
    "or": _fn_or,
    "and": _fn_and,
    "foreach": _fn_foreach,
    "call": _fn_call,
    "origin": _fn_origin,
    "flavor": lambda e, t: "recursive" if e.expand(t).strip() in e.variables else "undefined",
    "value": _fn_value,
    "shell": _fn_nothing,
    "error": _fn_nothing,
    "warning": _fn_nothing,
    "info": _fn_nothing,
    "eval": _fn_nothing,
    "file": _fn_nothing,
}


# --- line-level helpers --------------------------------------------------------------------------


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) with backslash continuations joined (as make does: one
    space for the break)."""
    lines: list[tuple[int, int, str]] = []
    pending: list[str] = []
    start = 0
    number = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        trailing = len(raw) - len(raw.rstrip("\\"))
        if trailing % 2 == 1:
            pending.append(raw[:-1].rstrip() if pending else raw[:-1])
            continue
        if pending:
            pending.append(raw.lstrip())
            lines.append((start, number, " ".join(pending)))
            pending = []
        else:
            lines.append((number, number, raw))
    if pending:
        lines.append((start, number, " ".join(pending)))
    return lines


def _strip_comment(line: str) -> str:
    depth = 0
    for i, char in enumerate(line):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth = max(0, depth - 1)
        elif char == "#" and depth == 0 and (i == 0 or line[i - 1] != "\\"):
            return line[:i]
    return line


def _matching(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at``, counting only its own kind."""
    opener = text[open_at]
    closer = ")" if opener == "(" else "}"
    depth = 0
    for i in range(open_at, len(text)):
        char = text[i]
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _top_level(text: str, wanted: str) -> int:
    depth = 0
    for i, char in enumerate(text):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif char == wanted and depth == 0:
            return i
    return -1


def _top_level_colon(text: str) -> int:
    return _top_level(text, ":")


def _split_assignment(text: str) -> tuple[str, str, str] | None:
    """(name, operator, value) of an assignment, or None for a rule or anything else.

    ``foo.o: CFLAGS += -O2`` is a rule (the colon comes first); ``x := y`` is not.
    """
    depth = 0
    for i, char in enumerate(text):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif depth:
            continue
        elif char == ":":
            if text.startswith("::=", i):
                return text[:i], "::=", text[i + 3 :].lstrip()
            if text.startswith(":=", i):
                return text[:i], ":=", text[i + 2 :].lstrip()
            return None
        elif char == "=":
            if i and text[i - 1] in "+?!":
                return text[: i - 1], text[i - 1] + "=", text[i + 1 :].lstrip()
            return text[:i], "=", text[i + 1 :].lstrip()
    return None


def _condition_arguments(rest: str, where: str) -> tuple[str, str]:
    """The two sides of ``(a,b)``, ``"a" "b"`` or ``'a' 'b'``."""
    if rest.startswith("("):
        close = _matching(rest, 0)
        if close < 0:
            raise _OddMakefile(f"{where}: unterminated condition '{rest[:60]}'")
        parts = _arguments(rest[1:close], 2)
        if len(parts) != 2:
            raise _OddMakefile(f"{where}: condition needs two arguments: '{rest[:60]}'")
        return parts[0], parts[1]
    quoted = re.match(r"""^(["'])(.*?)\1\s+(["'])(.*?)\3\s*$""", rest)
    if quoted:
        return quoted.group(2), quoted.group(4)
    raise _OddMakefile(f"{where}: cannot read condition '{rest[:60]}'")


# Variables that hold flags or commands, never objects (ccflags-y, KASAN_SANITIZE_x.o, cmd_foo).
_NOT_OBJECT_PREFIXES = (
    "KASAN_",
    "KCSAN_",
    "KMSAN_",
    "UBSAN_",
    "KCOV_",
    "GCOV_",
    "OBJECT_",
    "cmd_",
    "quiet_cmd_",
)
_NOT_OBJECT_NAMES = ("targets", "clean-files", "clean-dirs", "no-clean-files")


def _may_hold_objects(name: str) -> bool:
    """Lists worth recording: everything but flags and commands."""
    return not (
        "flags" in name.lower()
        or name.startswith(_NOT_OBJECT_PREFIXES)
        or name in _NOT_OBJECT_NAMES
    )


# --- the tree ----------------------------------------------------------------------------------


def arch_of(config: KernelConfig, arch: str | None) -> str:
    """The arch/ folder to use: the explicit one, else what the config says, else x86."""
    if arch:
        return {"x86_64": "x86", "i386": "x86", "amd64": "x86", "aarch64": "arm64"}.get(arch, arch)
    return config.arch() or "x86"


class KbuildTree:
    """A kernel source tree seen through one config: its Kbuild files and the descent into them.

    Everything is read lazily and kept: the top-level ``Makefile`` (with ``arch/$(SRCARCH)``'s
    Makefile it includes) and the root ``Kbuild`` on first use, each directory's ``Kbuild`` or
    ``Makefile`` the first time a path below it is asked about. The tree is never written.
    """

    def __init__(
        self,
        root: str | Path,
        config: KernelConfig,
        arch: str | None = None,
        files: TreeFiles | None = None,
    ) -> None:
        """``files`` is the tree as a patch leaves it (:mod:`patchsmith.kernel.patched`); by
        default the tree at ``root`` as it is."""
        self.files = files if files is not None else TreeFiles(root)
        self.root = self.files.root
        if not self.root.is_dir():
            raise TreeError(
                f"{root}: not a directory",
                hint="pass the top of a kernel source tree (the folder with the Makefile)",
            )
        self.config = config
        self.arch = arch_of(config, arch)
        self._files: dict[str, KbuildFile | None] = {}
        self._states: dict[str, DirectoryState] = {}
        self._top: KbuildFile | None = None
        self._sub_make: dict[str, _Variable] = {}
        self._elsewhere: dict[str, list[tuple[ObjectRef, KbuildFile]]] | None = None
        self._include_flags: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        """Directory → (its own -I folders, the -I folders its subdir-ccflags-y add below it),
        for the Kbuild files the scan of :meth:`named_elsewhere` evaluated."""
        self._include_paths: dict[str, tuple[str, ...]] = {}
        self._unpatched: KbuildTree | None = None

    def unpatched(self) -> KbuildTree:
        """The same tree and config without the patch's files (itself when there is none)."""
        if not self.files.overlaid:
            return self
        if self._unpatched is None:
            self._unpatched = KbuildTree(self.root, self.config, self.arch)
        return self._unpatched

    # --- files ---------------------------------------------------------------------------------

    def _base_variables(self, directory: str) -> dict[str, _Variable]:
        command_line = {
            "ARCH": _Variable(self.arch, False, "command line"),
            "SRCARCH": _Variable(self.arch, False, "command line"),
        }
        variables = dict(self._sub_make)
        variables.update(command_line)
        variables.update(
            {
                "srctree": _Variable(".", False),
                "objtree": _Variable(".", False),
                "src": _Variable(directory or ".", False),
                "obj": _Variable(directory or ".", False),
                "KBUILD_EXTMOD": _Variable("", False),
            }
        )
        return variables

    def _follow(self, target: str) -> bool:
        # scripts/ holds make machinery (Kbuild.include, Makefile.compiler), not object lists.
        return not target.startswith(("scripts/", "include/config/"))

    def _evaluate(self, directory: str, path: str) -> KbuildFile:
        evaluator = _Evaluator(
            self.files, self.config, directory, self._base_variables(directory), self._follow
        )
        problem: str | None = None
        try:
            evaluator.run(path)
            evaluator.finish()
        except _OddMakefile as odd:
            problem = str(odd) if str(odd).startswith(path) else f"{path}: {odd}"
        except RecursionError:
            problem = f"{path}: variables refer to themselves without end"
        except OSError as error:
            problem = f"{path}: cannot be read: {error.strerror or error}"
        variables: dict[str, str] = {}
        if problem is None:
            for name in list(evaluator.variables):
                try:
                    variables[name] = evaluator.value(name)
                except (_OddMakefile, RecursionError):
                    variables[name] = ""
        return KbuildFile(
            path=path,
            directory=directory,
            refs=tuple(evaluator.refs) if problem is None else (),
            variables=MappingProxyType(variables),
            exported=frozenset(evaluator.exported),
            problem=problem,
        )

    def top(self) -> KbuildFile:
        """The top-level ``Makefile`` (with the arch Makefile it includes) and root ``Kbuild``."""
        if self._top is not None:
            return self._top
        if not self.files.is_file("Makefile"):
            self._top = KbuildFile(
                path="Makefile",
                directory="",
                refs=(),
                variables=MappingProxyType({}),
                problem="Makefile: the tree has no top-level Makefile",
            )
            return self._top
        makefile = self._evaluate("", "Makefile")
        self._sub_make = {
            name: _Variable(makefile.variables.get(name, ""), False) for name in makefile.exported
        }
        # $(build)=DIR in the arch Makefile's recipes builds the boot image and vDSO; the
        # top-level Makefile's own recipes only build scripts/, docs and the like.
        arch_makefile = f"arch/{self.arch}/Makefile"
        refs = [
            ref
            for ref in makefile.refs
            if ref.base in DESCENT_LISTS
            or (ref.variable == "$(build)" and ref.makefile == arch_makefile)
        ]
        problem = makefile.problem
        if problem is None and self.files.is_file("Kbuild"):
            # 6.1: the root Kbuild lists obj-y += init/ ... arch/$(SRCARCH)/ $(ARCH_CORE)...,
            # with the ARCH_* lists the top-level Makefile exported.
            kbuild = self._evaluate("", "Kbuild")
            problem = kbuild.problem
            refs.extend(kbuild.refs)
        self._top = KbuildFile(
            path="Makefile",
            directory="",
            refs=tuple(refs),
            variables=makefile.variables,
            exported=makefile.exported,
            problem=problem,
        )
        return self._top

    def kbuild_file(self, directory: str) -> KbuildFile | None:
        """The evaluated ``Kbuild`` (preferred, as make does) or ``Makefile`` of a directory."""
        directory = directory.strip("/")
        if not directory:
            return self.top()
        if directory in self._files:
            return self._files[directory]
        self.top()  # the exported variables of the top level come first
        found: KbuildFile | None = None
        for name in ("Kbuild", "Makefile"):
            path = f"{directory}/{name}"
            if self.files.is_file(path):
                found = self._evaluate(directory, path)
                break
        self._files[directory] = found
        return found

    def named_elsewhere(self, target: str) -> list[tuple[ObjectRef, KbuildFile]]:
        """Lines of Kbuild files *outside* the target's directory and its ancestors that name
        ``target`` (a tree path: ``virt/kvm/kvm_main.o``), with the file each is in.

        ``arch/x86/kvm/Makefile`` includes ``$(srctree)/virt/kvm/Makefile.kvm``, which sets
        ``KVM ?= ../../../virt/kvm`` and ``kvm-y += $(KVM)/kvm_main.o``: nothing on virt/kvm's
        own path says it is built. Only a file with a ``../`` or an ``include`` can name
        something outside its directory, so on first use every ``Kbuild`` and ``Makefile`` of
        the tree (but for other architectures, tools/, scripts/, Documentation/ and include/)
        is looked at, and those that make reaches under this config and that have one are
        evaluated. The answer is the same whatever was asked before.
        """
        if self._elsewhere is None:
            self._elsewhere = self._scan_elsewhere()
        return self._elsewhere.get(target, [])

    def _scan_elsewhere(self) -> dict[str, list[tuple[ObjectRef, KbuildFile]]]:
        found: dict[str, list[tuple[ObjectRef, KbuildFile]]] = {}
        for path in self.files.walk_kbuild_files(self._not_scanned):
            try:
                data = self.files.read(path)
            except OSError:
                continue
            if not _MAY_NAME_ELSEWHERE.search(data):
                continue
            directory = path.rpartition("/")[0]
            if not directory:
                continue  # the top level names nothing outside itself
            state = self.directory_state(directory)
            kbuild = state.kbuild
            if state.mode not in ("y", "m") or kbuild is None or kbuild.problem:
                continue
            if kbuild.path != path:
                continue  # make reads the directory's Kbuild, not this Makefile
            inside = directory + "/"
            for ref in kbuild.refs:
                if not ref.target.startswith(inside):
                    found.setdefault(ref.target, []).append((ref, kbuild))
            own: list[str] = []
            below: list[str] = []
            for name, value in kbuild.variables.items():
                if "flags" not in name.lower() or name.lower().startswith("asflags"):
                    continue
                for word in _INCLUDE_FLAG.findall(value):
                    folder = self.files.tree_path(word)
                    if folder:
                        (below if name.startswith("subdir-") else own).append(folder)
            if own or below:
                self._include_flags[directory] = (
                    tuple(dict.fromkeys(own)),
                    tuple(dict.fromkeys(below)),
                )
        return found

    def include_path(self, directory: str) -> tuple[str, ...]:
        """The ``-I`` folders (tree paths) the compiler searches for a file of ``directory``,
        as far as the Kbuild files :meth:`named_elsewhere` scans say (those with a ``-I``
        from the top of the tree or with ``../``); the kernel-wide folders are not listed."""
        found = self._include_paths.get(directory)
        if found is None:
            if self._elsewhere is None:
                self._elsewhere = self._scan_elsewhere()
            # A file is compiled with the ccflags-y of the Kbuild file whose list names it:
            # the nearest one above (arch/x86/kvm/Makefile builds svm/svm.o), and with the
            # subdir-ccflags-y of every directory above.
            folders: list[str] = []
            builder_seen = False
            for ancestor in _ancestors_of(directory):
                own, below = self._include_flags.get(ancestor, ((), ()))
                if not builder_seen:
                    folders.extend(own)
                    builder_seen = self.kbuild_file(ancestor) is not None
                folders.extend(below)
            found = self._include_paths[directory] = tuple(dict.fromkeys(folders))
        return found

    def include_users(self, folder: str) -> tuple[str, ...]:
        """Directories whose Kbuild flags put ``folder`` (or a folder above it) on the include
        path: code there may include a header of ``folder`` by its bare name."""
        if self._elsewhere is None:
            self._elsewhere = self._scan_elsewhere()
        above = set(_ancestors_of(folder)) if folder else set()
        users = [
            directory
            for directory, (own, below) in self._include_flags.items()
            if above.intersection(own) or above.intersection(below)
        ]
        return tuple(sorted(users))

    def _not_scanned(self, directory: str) -> bool:
        top, _slash, rest = directory.partition("/")
        if top in _NOT_SCANNED or top.startswith("."):
            return True
        return top == "arch" and bool(rest) and "/" not in rest and rest != self.arch

    # --- descent -------------------------------------------------------------------------------

    def directory_state(self, directory: str) -> DirectoryState:
        """Whether make visits ``directory`` under this config, and the line that says so."""
        directory = directory.strip("/")
        cached = self._states.get(directory)
        if cached is not None:
            return cached
        state = self._directory_state(directory)
        self._states[directory] = state
        return state

    def _directory_state(self, directory: str) -> DirectoryState:
        if not directory:
            top = self.top()
            if top.problem:
                return DirectoryState("?", top.problem, top)
            return DirectoryState("y", "the top of the tree", top)
        parent = posixpath.dirname(directory)
        parent_state = self.directory_state(parent)
        target = directory + "/"
        # A directory may be named from any visited ancestor (arch/x86/Kbuild names
        # platform/pvh/), the nearest one first; it is built if any live line selects it.
        best: tuple[str, ObjectRef] | None = None
        off: ObjectRef | None = None
        ancestor = parent
        while True:
            state = self.directory_state(ancestor)
            if state.mode in ("y", "m") and state.kbuild is not None:
                for ref in state.kbuild.refs_to(target):
                    mode = _mode_of(state.mode, ref)
                    if mode in ("y", "m"):
                        if best is None or (best[0] == "m" and mode == "y"):
                            best = (mode, ref)
                    elif off is None:
                        off = ref
            if not ancestor:
                break
            ancestor = posixpath.dirname(ancestor)
        own = self.kbuild_file(directory) if best is not None else None
        if best is not None:
            mode, ref = best
            why = describe(ref, self.config, self.files)
            if ref.variable == "$(build)":
                why += " (built by a rule of the arch Makefile)"
            elif mode == "m" and ref.suffix != "m":
                why += f"; only for modules, as {parent or 'the top'}/ is"
            image = ref.variable == "$(build)" or (parent_state.image and mode == "y")
            return DirectoryState(mode, why, own, image)
        if parent_state.mode == "?":
            return DirectoryState("?", parent_state.reason)
        if off is not None:
            return DirectoryState("n", describe(off, self.config, self.files))
        if parent_state.mode == "n":
            return DirectoryState("n", parent_state.reason)
        if parent_state.kbuild is None:
            return DirectoryState("n", f"{parent or 'the top'}/ has no Kbuild file")
        return DirectoryState(
            "n", f"{target} is not named in {parent_state.kbuild.path} or above it"
        )


def _mode_of(directory_mode: str, ref: ObjectRef) -> str:
    """What a live reference makes of its target given the mode of the directory naming it."""
    if not ref.active:
        return "n"
    suffix = ref.suffix
    if ref.variable == "$(build)" or ref.base in DESCENT_LISTS:
        return directory_mode if suffix in ("y", "m", None) else "n"
    if suffix == "y":
        return directory_mode
    if suffix == "m":
        return "m"
    return "n"


def describe(ref: ObjectRef, config: KernelConfig, files: TreeFiles | None = None) -> str:
    """``drivers/md/Makefile:63: obj-$(CONFIG_BLK_DEV_DM) += dm-mod.o (CONFIG_BLK_DEV_DM=m)``.

    A line the patch adds says so (``drivers/x/Makefile:12 (added by the patch): ...``), and an
    option the config does not set but the patch's Kconfig hunks add says where (``files``)."""
    # The name relative to the file's directory, as the line wrote it (arch/x86/ in the root
    # Kbuild, dm-mod.o in drivers/md/Makefile).
    name = ref.target
    if ref.directory and name.startswith(ref.directory + "/"):
        name = name[len(ref.directory) + 1 :]
    elif ref.directory and ref.variable != "$(build)":
        # Named from another directory (../../../virt/kvm/kvm_main.o): as make sees it.
        name = posixpath.relpath(name, ref.directory) + ("/" if name.endswith("/") else "")
    options = sorted(set(re.findall(r"CONFIG_[A-Za-z0-9_]+", ref.written)))
    new_options = files.new_options if files is not None else {}
    shown = []
    for option in options:
        value = config.value(option)
        if value is None and option in new_options:
            shown.append(f"{option} unset: the patch adds it in {new_options[option]}")
        else:
            shown.append(f"{option}={value or 'unset'}")
    values = ", ".join(shown)
    where = ref.where
    if ref.patched == "added":
        where += " (added by the patch)"
    elif ref.patched == "changed":
        where += " (as the patch leaves the file)"
    text = f"{where}: {ref.written} {name}"
    if values:
        text += f" ({values})"
    if not ref.active:
        text += f", in a branch not taken ({ref.condition})"
    return text

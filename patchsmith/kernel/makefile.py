"""Just enough GNU make to read a Kbuild file: what a list names, under a config.

Kbuild is GNU make. :class:`Evaluator` evaluates the small part of make that kernel
``Makefile`` and ``Kbuild`` files use to say what is built: variable assignments (``:=``,
``=``, ``+=``, ``?=``), ``$(VAR)`` and ``$(CONFIG_X)`` references, the text functions (``subst``,
``filter``, ``patsubst``, ``if``, ``call``, ...), conditionals (``ifdef``, ``ifndef``, ``ifeq``,
``ifneq`` with ``else``/``endif``), line continuations and ``include``. Rules and recipes are
skipped, except that ``$(build)=DIR`` in a recipe is noted (the arch Makefile builds the boot
image that way). ``$(shell ...)`` is never run: it expands to nothing.

What comes out is a list of :class:`ObjectRef`: every ``foo.o`` and ``dir/`` named in an
``obj-y``/``obj-m``/``lib-y``/composite list, with the file and line that named it, including the
ones in conditional branches that are not taken (so a "not built" answer can point at the line).

Paths are evaluated the way Kbuild does for an in-tree build, whatever the current directory:
make runs at the top of the tree, so ``$(srctree)`` and ``$(objtree)`` are ``.``, ``$(src)`` and
``$(obj)`` are the directory being built, an ``include`` is relative to the top, an object name
(``../../../virt/kvm/kvm_main.o``) is relative to the directory whose list names it, and
``$(abspath)``/``$(realpath)`` give the tree's absolute path, which maps back to a tree path.

A file this evaluator cannot make sense of (binary, an ``endif`` too many, an unterminated
``$(``) raises :class:`OddMakefile`; the Kbuild reader turns it into the file's ``problem``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from patchsmith.kernel.config import KernelConfig
from patchsmith.kernel.treefiles import TreeFiles
from patchsmith.record import record

# Suffixes of a list name that put its members in the build: obj-y, obj-m, foo-objs.
SELECTED_SUFFIXES = ("y", "m", "objs")

MAX_DEPTH = 40
"""How deeply a variable's expansion may nest before the file is taken as one make cannot read."""
_MAX_INCLUDE_DEPTH = 6


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


class OddMakefile(Exception):
    """Something this evaluator (and probably make) cannot read; becomes KbuildFile.problem."""


@dataclass(slots=True)
class Variable:
    """A make variable's value as assigned, how it expands, and where it came from (what
    ``$(origin ...)`` answers: ``file`` or ``command line``)."""

    value: str
    recursive: bool
    """``=`` variables are expanded when used, ``:=`` ones when assigned (as make does)."""
    origin: str = "file"


@dataclass(slots=True)
class _Branch:
    """One open ``ifeq``/``ifdef`` while reading a Makefile: whether the text around it is read,
    whether its current branch is, whether any branch was taken yet (for ``else``), and where
    it began (for the error an unclosed one gets)."""

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


class Evaluator:
    """Evaluates one Kbuild file (and what it includes) into variables and object references."""

    def __init__(
        self,
        files: TreeFiles,
        config: KernelConfig,
        directory: str,
        variables: Mapping[str, Variable],
        follow_include: Callable[[str], bool],
    ) -> None:
        self.files = files
        self.root = files.root
        self.config = config
        self.directory = directory
        self.variables: dict[str, Variable] = dict(variables)
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
        """Evaluate the file at tree-relative ``path``; raises OddMakefile or OSError."""
        data = self.files.read(path)
        if b"\x00" in data:
            raise OddMakefile(f"{path}: binary data, not a Makefile")
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
                        self.variables[define_name] = Variable("\n".join(define), True)
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
                    raise OddMakefile(f"{where}: 'else' without 'if'")
                branch = branches[-1]
                if rest:
                    inner = _DIRECTIVE.match(rest)
                    kind = inner.group(1) if inner else ""
                    if kind not in ("ifeq", "ifneq", "ifdef", "ifndef"):
                        raise OddMakefile(f"{where}: cannot read '{stripped}'")
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
                    raise OddMakefile(f"{where}: 'endif' without 'if'")
                branches.pop()
                continue
            in_rule = False
            if word == "define":
                define = []
                define_name = self.expand(rest.split()[0] if rest.split() else "")
                define_active = active
                continue
            if word == "endef":
                raise OddMakefile(f"{where}: 'endef' without 'define'")
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
            raise OddMakefile(f"{path}: 'define {define_name}' without 'endef'")
        if branches:
            raise OddMakefile(f"{branches[-1].header.split(': ')[0]}: conditional without 'endif'")

    def _statement(self, text: str, path: str, number: int) -> bool:
        """An assignment, a rule or a bare function call. Returns whether a rule started."""
        split = _split_assignment(text)
        if split is None:
            if _top_level_colon(text) >= 0:
                return True
            if self.expand(text).strip():
                raise OddMakefile(f"{path}:{number}: missing separator in '{text[:60]}'")
            return False
        name_text, operator, value = split
        name = self.expand(name_text).strip()
        if not name or any(c.isspace() for c in name):
            raise OddMakefile(f"{path}:{number}: bad variable name in '{text[:60]}'")
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
            self.variables[name] = Variable(value, True)
        elif operator in (":=", "::="):
            self.variables[name] = Variable(self.expand(value), False)
        elif operator == "+=":
            if current is None:
                self.variables[name] = Variable(value, True)
            elif current.recursive:
                current.value = f"{current.value} {value}" if current.value else value
            else:
                added = self.expand(value)
                current.value = f"{current.value} {added}" if current.value else added
        elif operator == "!=":
            self.variables[name] = Variable("", False)  # $(shell) is never run
        else:
            self.variables[name] = Variable(value, True)
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
        except OddMakefile:
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
            if self.depth > MAX_DEPTH:
                raise OddMakefile(f"variable expansion nests deeper than {MAX_DEPTH} levels")
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
                    raise OddMakefile(f"unterminated variable reference in '{text[:60]}'")
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
            self.variables[key] = Variable(argument, False)
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


def _expanded(evaluator: Evaluator, text: str, count: int) -> list[str]:
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


def _fn_subst(e: Evaluator, text: str) -> str:
    old, new, value = _expanded(e, text, 3)
    return value.replace(old, new) if old else value


def _fn_patsubst(e: Evaluator, text: str) -> str:
    pattern, replacement, value = (p.strip() for p in _expanded(e, text, 3))
    return _patsubst(pattern, replacement, value)


def _fn_filter(e: Evaluator, text: str, keep: bool) -> str:
    patterns, value = _expanded(e, text, 2)
    words = patterns.split()
    return " ".join(
        w for w in value.split() if any(_pattern_match(p, w) is not None for p in words) == keep
    )


def _fn_if(e: Evaluator, text: str) -> str:
    parts = _arguments(text, 3)
    if e.expand(parts[0]).strip():
        return e.expand(parts[1]) if len(parts) > 1 else ""
    return e.expand(parts[2]) if len(parts) > 2 else ""


def _fn_or(e: Evaluator, text: str) -> str:
    for part in _arguments(text, 0):
        value = e.expand(part).strip()
        if value:
            return value
    return ""


def _fn_and(e: Evaluator, text: str) -> str:
    value = ""
    for part in _arguments(text, 0):
        value = e.expand(part).strip()
        if not value:
            return ""
    return value


def _fn_foreach(e: Evaluator, text: str) -> str:
    name_text, words_text, body = _arguments(text, 3) + [""] * (3 - len(_arguments(text, 3)))
    name = e.expand(name_text).strip()
    saved = e.variables.get(name)
    out = []
    try:
        for word in e.expand(words_text).split():
            e.variables[name] = Variable(word, False)
            out.append(e.expand(body))
    finally:
        if saved is None:
            e.variables.pop(name, None)
        else:
            e.variables[name] = saved
    return " ".join(out)


def _fn_call(e: Evaluator, text: str) -> str:
    parts = [e.expand(p) for p in _arguments(text, 0)]
    return e.call(parts[0].strip(), parts[1:])


def _fn_wildcard(e: Evaluator, text: str) -> str:
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


def _fn_abspath(e: Evaluator, text: str) -> str:
    # make's $(abspath) is relative to where make runs: the top of the tree. Symlinks are not
    # resolved for $(realpath) either: the tree's root already is (TreeFiles).
    words = []
    for word in e.expand(text).split():
        words.append(os.path.normpath(os.path.join(e.root, word)))
    return " ".join(words)


def _words(e: Evaluator, text: str) -> list[str]:
    return e.expand(text).split()


def _fn_word(e: Evaluator, text: str) -> str:
    number, value = _expanded(e, text, 2)
    words = value.split()
    try:
        index = int(number.strip())
    except ValueError:
        return ""
    return words[index - 1] if 0 < index <= len(words) else ""


def _fn_wordlist(e: Evaluator, text: str) -> str:
    start, end, value = _expanded(e, text, 3)
    try:
        first, last = int(start), int(end)
    except ValueError:
        return ""
    return " ".join(value.split()[first - 1 : last])


def _fn_addfix(e: Evaluator, text: str, prefix: bool) -> str:
    fix, value = _expanded(e, text, 2)
    fix = fix.strip()
    return " ".join(fix + w if prefix else w + fix for w in value.split())


def _fn_join(e: Evaluator, text: str) -> str:
    left, right = (v.split() for v in _expanded(e, text, 2))
    size = max(len(left), len(right))
    left += [""] * (size - len(left))
    right += [""] * (size - len(right))
    return " ".join(a + b for a, b in zip(left, right, strict=True))


def _fn_origin(e: Evaluator, text: str) -> str:
    name = e.expand(text).strip()
    variable = e.variables.get(name)
    if variable is not None:
        return variable.origin
    return "file" if name.startswith("CONFIG_") and e.config.make_value(name) else "undefined"


def _fn_value(e: Evaluator, text: str) -> str:
    variable = e.variables.get(e.expand(text).strip())
    return variable.value if variable is not None else ""


def _fn_nothing(e: Evaluator, text: str) -> str:
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


_FUNCTIONS: dict[str, Callable[[Evaluator, str], str]] = {
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
            raise OddMakefile(f"{where}: unterminated condition '{rest[:60]}'")
        parts = _arguments(rest[1:close], 2)
        if len(parts) != 2:
            raise OddMakefile(f"{where}: condition needs two arguments: '{rest[:60]}'")
        return parts[0], parts[1]
    quoted = re.match(r"""^(["'])(.*?)\1\s+(["'])(.*?)\3\s*$""", rest)
    if quoted:
        return quoted.group(2), quoted.group(4)
    raise OddMakefile(f"{where}: cannot read condition '{rest[:60]}'")


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

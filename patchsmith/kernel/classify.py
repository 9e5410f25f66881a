"""Which class each file of a patch is in, for one tree and config: module, builtin, header...

This is what ``--modules-only`` rests on: on a machine whose kernel image is fixed, only code that
ends up in a loadable module can be replaced. Each answer carries the reason, normally the
Kbuild line that decided it (``drivers/md/Makefile:63: obj-$(CONFIG_BLK_DEV_DM) += dm-mod.o
(CONFIG_BLK_DEV_DM=m)``), so a user can check it in a second.

A header goes with its includers. One outside the kernel-wide include folders (``include/``,
``arch/$ARCH/include/``) that only module code includes, directly or through other private
headers, is part of those modules: class ``module``, naming them (``drivers/md/dm-verity.h`` is
in ``dm-verity``), so ``--modules-only`` keeps it with the code that needs it. One that built-in
code includes too is a ``header`` and stays out: the running kernel was built with the old one.
Kernel-wide headers always stay out. The reason names the rule and the includer that decided.

Includers are looked for wherever C's include rules let one be: the header's own directory and
everything below it, the ``.c`` files of its parent directory, the directories whose Kbuild
flags add it to the include path (``ccflags-y += -I $(srctree)/$(src)/../common``), and any file
of the tree that names it by a path with a folder in it (built-in ``net/ipv6/netfilter.c`` does
``#include "../bridge/br_private.h"``): one pass over the tree's ``.c`` and ``.h`` files, made
on the first private header, indexes those. Every candidate is checked with the compiler's
search order before it counts, and a header found is followed the same way. A header with an
includer whose class is unknown stays out, and so does one a kernel-wide header includes
(``include/trace/events/bridge.h``: anything may include that). "Only module code includes it"
therefore means "no built-in or unknown includer anywhere an include can come from"; the
benchmark checks the answer against the ``.ko`` files.

Everything is read through :class:`patchsmith.kernel.treefiles.TreeFiles`, so a patch's own Kbuild
hunks, new files and ``#include`` lines count (the tree as the patch leaves it), and nothing
depends on the current directory or on which other paths were asked about first.

The patch itself is never read here: what it changes reaches the classifier as the
:class:`~patchsmith.kernel.treefiles.TreeFiles` it is given (:mod:`patchsmith.kernel.patched`).
"""

from __future__ import annotations

import dataclasses
import enum
import posixpath
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import field

from patchsmith.kernel.kbuild import DESCENT_LISTS, KbuildFile, KbuildTree, describe
from patchsmith.kernel.makefile import ObjectRef
from patchsmith.record import record


class FileClass(enum.StrEnum):
    """What a file of the tree is for, under one config."""

    MODULE = "module"
    """Compiled into a loadable module (``.ko``): replaceable on a running system."""
    BUILTIN = "builtin"
    """Linked into the kernel image (vmlinux, the boot image, lib.a)."""
    NOT_BUILT = "not-built"
    """Its option is n, or its directory is not reached under this config."""
    HEADER = "header"
    """A C header: it matters through whatever includes it."""
    BUILD_SYSTEM = "build-system"
    """Makefile, Kbuild, Kconfig: changes the build, not the code."""
    DOCS = "docs"
    TOOLS = "tools"
    """tools/, scripts/ and host programs: run at build time or in user space."""
    OTHER_ARCH = "other-arch"
    """Under ``arch/`` of another architecture."""
    UNKNOWN = "unknown"
    """Cannot tell: an odd Kbuild file, or a source no Kbuild line names."""


@record
class Classification:
    """The class of one path and why."""

    kind: FileClass
    reason: str
    """Normally ``FILE:LINE: ...`` of the Kbuild line that decided; prose for the path rules."""
    module: str | None = None
    """For a module: its name as ``modprobe`` knows it (``dm-mod``)."""
    included_by_builtin: bool | None = None
    """For a header: whether the include scan found built-in code including it."""
    objects: tuple[str, ...] = ()
    """What the file ends up in, tree-relative: ``drivers/md/dm-mod.ko`` for a module (several
    when a file is linked into several), the linked ``.o`` for built-in code."""
    modules: tuple[str, ...] = ()
    """Every module the file is part of (``raid1``, ``raid10`` for ``raid1-10.c``; the modules
    of its includers for a header); :attr:`module` is the first."""
    rule: str = ""
    """For a header, the rule that decided: ``module-private``, ``shared`` (built-in code
    includes it), ``kernel-wide``, ``unknown-includer`` or ``no-includer``. For an unknown
    source, ``unnamed`` when no Kbuild line names its object (a generator such as
    ``kvm-asm-offsets.c``, or a file left behind): its includes do not decide a header."""
    patched_kbuild: tuple[str, ...] = ()
    """Kbuild files whose lines *added by the patch* put the file in the build: without those
    hunks the build does not compile it (a dependency warning when they are left out)."""


def classify(tree: KbuildTree, paths: Iterable[str]) -> dict[str, Classification]:
    """Classify tree-relative paths (``drivers/md/dm-table.c``) under ``tree``'s config.

    Never raises for odd trees or Makefiles: those give :attr:`FileClass.UNKNOWN` with the reason.
    """
    classifier = _classifier(tree)
    return {path: classifier.classify(path) for path in paths}


def includers_of(tree: KbuildTree, header: str) -> Includers:
    """Who includes a private ``header`` of ``tree`` (see the module docstring)."""
    return _classifier(tree).includers(header)


def include_closure(tree: KbuildTree, path: str) -> frozenset[str]:
    """Every file of ``tree`` that ``path`` includes, directly or through other headers."""
    return _classifier(tree).include_closure(path)


# --- path rules ---------------------------------------------------------------------------------

_DOC_NAMES = ("README", "MAINTAINERS", "CREDITS", "COPYING")
_DOC_SUFFIXES = (".rst", ".txt", ".md")
_SOURCE_SUFFIXES = (".c", ".S", ".s", ".rs")
_HEADER_SUFFIXES = (".h",)
_SCRIPT_SUFFIXES = (".sh", ".py", ".pl", ".awk", ".sed", ".tc")

# #include <linux/device-mapper.h>     #include "dm-core.h"     # include "../foo.c"
# (starting at the '#' lets the search skip to candidates fast; _includes checks that only
# blanks stand before it on its line)
_INCLUDE = re.compile(rb'#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]')

# #include "../bridge/br_private.h"     #include "sub/regs.h"    (a quoted name with a folder)
_PATH_INCLUDE = re.compile(rb'#[ \t]*include[ \t]*"([^"\n]*/[^"\n]*)"')

# What the reason calls the one pass that finds includers by a path with a folder in it.
_ELSEWHERE = '#include "…/…" anywhere in the tree'

# Top-level folders the include pass skips (see _Classifier._not_compiled_here).
_NEVER_COMPILED = frozenset({"Documentation", "LICENSES", "tools", "scripts", "usr"})

# The sources whose #include lines decide a header's class: C, and assembler run through the
# preprocessor (a built-in entry.S that includes a header the modules' .c files include too
# makes it shared: the running kernel's assembler was built with the old definitions, and
# --modules-only would have kept the change as module-private).
_INCLUDING_SOURCES = (".c", ".S")

# Classes of a .c file whose includes decide a header's class (unknown: it might be compiled).
_COMPILED = frozenset({"module", "builtin", "unknown"})

# Directories whose top-level .c files stand for "core built-in code" in the header scan; each is
# built into every kernel that can boot. Top level only keeps the scan to a few hundred files.
_CORE_DIRECTORIES = ("kernel", "mm", "init", "fs", "block", "lib", "net/core", "security", "ipc")


class _Classifier:
    def __init__(self, tree: KbuildTree) -> None:
        self.tree = tree
        self.files = tree.files
        self.arch = tree.arch
        self._sources: dict[str, Classification] = {}
        self._headers: dict[str, Classification] = {}
        self._includers: dict[str, Includers] = {}
        self._subtrees: dict[tuple[str, bool], list[str]] = {}
        self._core_headers: dict[str, str] | None = None
        self._sets: dict[str, set[str]] = {}
        self._include_lines: dict[str, list[tuple[bytes, str]]] = {}
        self._resolved: dict[str, set[str]] = {}
        self._closures: dict[str, frozenset[str]] = {}
        self._by_path: dict[str, list[str]] | None = None

    def classify(self, path: str) -> Classification:
        path = posixpath.normpath(path.strip()).removeprefix("./")
        parts = path.split("/")
        name = parts[-1]
        if parts[0] == "arch" and len(parts) > 2 and parts[1] != self.arch:
            return Classification(
                FileClass.OTHER_ARCH,
                f"arch/{parts[1]}/ is not the architecture of this config ({self.arch})",
            )
        if parts[0] in ("Documentation", "LICENSES") or (
            name.startswith(_DOC_NAMES) or name.endswith(_DOC_SUFFIXES)
        ):
            return Classification(FileClass.DOCS, "documentation")
        if (
            name in ("Makefile", "Kbuild")
            or name.startswith(("Kconfig", "Makefile.", "Kbuild."))
            or name.endswith(".mk")
        ):
            return Classification(FileClass.BUILD_SYSTEM, "a Kbuild or Kconfig file")
        if parts[0] in ("tools", "scripts"):
            return Classification(
                FileClass.TOOLS, f"{parts[0]}/ holds build-time and user-space programs"
            )
        if name.endswith(_HEADER_SUFFIXES):
            return self.header(path)
        if name.endswith(_SOURCE_SUFFIXES):
            return self.source(path)
        if name.endswith(_SCRIPT_SUFFIXES):
            return Classification(FileClass.TOOLS, "a script, not compiled into the kernel")
        return Classification(
            FileClass.UNKNOWN,
            f"not a file Kbuild compiles ({posixpath.splitext(name)[1] or 'no extension'})",
        )

    # --- sources ----------------------------------------------------------------------------------

    def source(self, path: str) -> Classification:
        cached = self._sources.get(path)
        if cached is None:
            cached = self._deleted(path) or self._source(path, set())
            self._sources[path] = cached
        return cached

    def _deleted(self, path: str) -> Classification | None:
        """A file the patch deletes is classified on the tree before the patch: its Kbuild
        line usually goes in the same patch, and the deletion belongs with what it was in."""
        patched = self.files.patched.get(path)
        if patched is None or patched.data is not None:
            return None
        before = _classifier(self.tree.unpatched()).source(path)
        return dataclasses.replace(
            before, reason=f"deleted by the patch; on the tree before it: {before.reason}"
        )

    def _source(self, path: str, seen: set[str]) -> Classification:
        seen.add(path)
        directory = posixpath.dirname(path)
        stem = posixpath.splitext(path)[0]
        # Anything compiled goes through an .o; host programs and extra-y name the stem itself
        # (``hostprogs := gen_crc32table``, ``extra-y += vmlinux.lds`` for vmlinux.lds.S).
        targets = (stem + ".o", stem)
        found = _Findings()
        chain = _ancestors(directory)
        for ancestor in chain:
            state = self.tree.directory_state(ancestor)
            if state.mode == "?":
                found.unknown = found.unknown or state.reason
                continue
            if state.mode not in ("y", "m") or state.kbuild is None:
                continue
            if state.kbuild.problem:
                found.unknown = found.unknown or state.kbuild.problem
                continue
            for target in targets:
                for ref in state.kbuild.refs_to(target):
                    self._resolve(ref, state.mode, state.kbuild, found)
        if not found.any():
            # Named from outside its own path: arch/x86/kvm/Makefile's kvm-y names
            # ../../../virt/kvm/kvm_main.o through the Makefile.kvm it includes.
            for target in targets:
                for ref, kbuild in self.tree.named_elsewhere(target):
                    mode = self.tree.directory_state(kbuild.directory).mode
                    if mode in ("y", "m"):
                        self._resolve(ref, mode, kbuild, found)
        if found.builtin:
            objects = tuple(dict.fromkeys(o for _why, o in found.builtin))
            return Classification(
                FileClass.BUILTIN,
                found.builtin[0][0],
                objects=objects,
                patched_kbuild=tuple(dict.fromkeys(found.patched)),
            )
        if found.modules:
            why, module, _ko = found.modules[0]
            objects = tuple(dict.fromkeys(ko for _w, _m, ko in found.modules))
            modules = tuple(dict.fromkeys(m for _w, m, _ko in found.modules))
            return Classification(
                FileClass.MODULE,
                why,
                module=module,
                objects=objects,
                modules=modules,
                patched_kbuild=tuple(dict.fromkeys(found.patched)),
            )
        if found.tools:
            return Classification(FileClass.TOOLS, found.tools[0])
        state = self.tree.directory_state(directory)
        if state.image and not found.unknown:
            return Classification(
                FileClass.BUILTIN,
                f"{directory}/ is built into the kernel image by a rule: {state.reason}",
            )
        if found.unknown:
            return Classification(FileClass.UNKNOWN, found.unknown)
        if found.off:
            return Classification(FileClass.NOT_BUILT, found.off[0])
        if state.mode == "n":
            return Classification(FileClass.NOT_BUILT, state.reason)
        includer = self._c_includer(path, seen)
        if includer is not None:
            return includer
        where = state.kbuild.path if state.kbuild is not None else f"{directory}/"
        patched = self.files.patched.get(where)
        if patched is not None and patched.problem:
            # The line may be in the hunk that could not be applied: say so, never guess.
            where += f"; the patch's {patched.problem} to this tree"
        return Classification(
            FileClass.UNKNOWN,
            f"no Kbuild line names {posixpath.basename(stem)}.o ({where})",
            rule="unnamed",
        )

    def _resolve(self, ref: ObjectRef, mode: str, kbuild: KbuildFile, found: _Findings) -> None:
        """What one line naming the file's object means, added to ``found``."""
        config = self.tree.config
        base, suffix = ref.base, ref.suffix
        why = describe(ref, config, self.files)
        if base.startswith(("hostprogs", "userprogs")) or base == "always":
            if ref.active:
                found.tools.append(f"{why}: a program run at build time or in user space")
            return
        if not ref.selected:
            found.off.append(why)
            return
        if base in ("obj", "lib", "extra") or base in DESCENT_LISTS:
            if suffix == "m" and base == "obj":
                module = _module_name(ref.target)
                found.modules.append((why, module, _ko(ref.target)))
                found.note_patched(ref)
            elif mode == "y":
                found.builtin.append((why, ref.target))
                found.note_patched(ref)
            else:
                found.off.append(
                    f"{why}, but {kbuild.directory}/ is visited for modules only, so its "
                    "built-in objects are not linked"
                )
            return
        # A member of a composite object: dm-table.o in dm-mod-y, then dm-mod.o in obj-m.
        composite = _join_target(kbuild.directory, base + ".o")
        containers = [r for r in kbuild.refs if r.target == composite]
        program = _join_target(kbuild.directory, base)
        for host in kbuild.refs_to(program):
            if host.active and (host.base.startswith(("hostprogs", "userprogs"))):
                found.tools.append(f"{why}; {describe(host, config, self.files)}: a host program")
                return
        if not containers:
            found.off.append(f"{why}, but no Kbuild line in {kbuild.path} builds {base}.o")
            return
        for container in containers:
            outer = describe(container, config, self.files)
            if not container.selected:
                found.off.append(f"{why}; {outer}")
            elif container.base != "obj":
                continue
            elif container.suffix == "m":
                found.modules.append((f"{why}; {outer}", base, _ko(composite)))
                found.note_patched(ref, container)
            elif mode == "y" and suffix in ("y", "objs"):
                found.builtin.append((f"{why}; {outer}", composite))
                found.note_patched(ref, container)
            elif mode == "y":
                found.off.append(f"{why}: {ref.variable} only counts for a module; {outer}")
            else:
                found.off.append(f"{why}; {outer}, but {kbuild.directory}/ is modules-only")

    def _c_includer(self, path: str, seen: set[str]) -> Classification | None:
        """A .c file no Kbuild line names may be ``#include``d by one that is (lib/zstd...)."""
        directory = posixpath.dirname(path)
        name = posixpath.basename(path)
        for other in self._list(directory):
            candidate = f"{directory}/{other}" if directory else other
            if not other.endswith(".c") or candidate in seen:
                continue
            for quote, included in self._includes(candidate):
                if quote == b'"' and posixpath.basename(included) == name:
                    outer = self._source(candidate, seen)
                    if outer.kind in (FileClass.MODULE, FileClass.BUILTIN, FileClass.NOT_BUILT):
                        return Classification(
                            outer.kind,
                            f"#included by {candidate}, which is {outer.kind}: {outer.reason}",
                            module=outer.module,
                            objects=outer.objects,
                            modules=outer.modules,
                            patched_kbuild=outer.patched_kbuild,
                        )
        return None

    # --- headers ----------------------------------------------------------------------------------

    def header(self, path: str) -> Classification:
        cached = self._headers.get(path)
        if cached is None:
            cached = self._header(path)
            self._headers[path] = cached
        return cached

    def _header(self, path: str) -> Classification:
        if self._is_global(path):
            where = "include/" if path.startswith("include/") else f"arch/{self.arch}/include/"
            includer = self._core_closure().get(path)
            if includer is not None:
                return Classification(
                    FileClass.HEADER,
                    f"a kernel-wide header ({where}): stays out; built-in {includer} includes it",
                    included_by_builtin=True,
                    rule="kernel-wide",
                )
            return Classification(
                FileClass.HEADER,
                f"a kernel-wide header ({where}): stays out (no built-in includer found in the "
                "core of the tree)",
                included_by_builtin=False,
                rule="kernel-wide",
            )
        includers = self.includers(path)
        modules: list[tuple[str, Classification]] = []
        for source in includers.sources:
            found = self.source(source)
            via = includers.through(source)
            if found.kind == FileClass.BUILTIN:
                return Classification(
                    FileClass.HEADER,
                    f"shared: built-in {source}{via} includes it, so it stays out (the running "
                    f"kernel was built with it): {found.reason}",
                    included_by_builtin=True,
                    rule="shared",
                )
            if found.kind == FileClass.UNKNOWN:
                return Classification(
                    FileClass.HEADER,
                    f"stays out: {source}{via} includes it and its class is unknown "
                    f"({found.reason})",
                    included_by_builtin=None,
                    rule="unknown-includer",
                )
            if found.kind == FileClass.MODULE and found.modules:
                modules.append((source, found))
        for wide, private in sorted(includers.kernel_wide.items()):
            via = includers.through_header(private)
            core = self._core_closure().get(wide)
            if core is not None:
                return Classification(
                    FileClass.HEADER,
                    f"shared: kernel-wide {wide} includes it{via}, and built-in {core} includes "
                    "that, so it stays out (the running kernel was built with it)",
                    included_by_builtin=True,
                    rule="shared",
                )
            return Classification(
                FileClass.HEADER,
                f"stays out: kernel-wide {wide} includes it{via}, and any code may include "
                "that (its includers are not searched)",
                included_by_builtin=None,
                rule="unknown-includer",
            )
        if modules:
            names = tuple(sorted({m for _s, found in modules for m in found.modules}))
            objects = tuple(dict.fromkeys(o for _s, found in modules for o in found.objects))
            first, found = modules[0]
            others = len(modules) - 1
            more = f" and {others} more module file{'s' if others != 1 else ''}" if others else ""
            return Classification(
                FileClass.MODULE,
                f"module-private: only module code includes it: {first}"
                f"{includers.through(first)} ({found.module}){more}; no built-in includer in "
                f"{includers.scope_text()}",
                module=names[0],
                objects=objects,
                modules=names,
                included_by_builtin=False,
                rule="module-private",
            )
        return Classification(
            FileClass.HEADER,
            f"stays out: nothing this config builds includes it (looked in "
            f"{includers.scope_text()})",
            included_by_builtin=False,
            rule="no-includer",
        )

    def include_closure(self, path: str) -> frozenset[str]:
        """Every tree file ``path`` includes, directly or not (as far as the includes resolve:
        generated headers do not), the patch's added ``#include`` lines counted."""
        cached = self._closures.get(path)
        if cached is None:
            reached: set[str] = set()
            queue = [path]
            while queue:
                for found in self._included(queue.pop()):
                    if found not in reached:
                        reached.add(found)
                        queue.append(found)
            cached = self._closures[path] = frozenset(reached)
        return cached

    def _is_global(self, path: str) -> bool:
        return path.startswith(("include/", f"arch/{self.arch}/include/"))

    def includers(self, header: str) -> Includers:
        """The ``.c`` files that include a private ``header``, directly or through other
        private headers, in the places the module docstring names."""
        cached = self._includers.get(header)
        if cached is not None:
            return cached
        wanted: dict[str, str | None] = {header: None}  # header -> the header it was found via
        sources: dict[str, str] = {}  # source -> the header it includes
        kernel_wide: dict[str, str] = {}  # kernel-wide header -> the private one it includes
        scopes: list[str] = []
        queue = [header]

        def consider(candidate: str, current: str, headers_count: bool) -> None:
            if candidate in wanted or candidate in sources or candidate in kernel_wide:
                return
            if candidate.endswith(_INCLUDING_SOURCES):
                # A .c (or .S) file this config does not compile includes nothing that
                # matters; asking first spares reading most of a big driver tree.
                compiled = self.source(candidate)
                if compiled.kind not in _COMPILED or compiled.rule == "unnamed":
                    return
            elif not headers_count:
                return
            if current not in self._included(candidate):
                return
            if not candidate.endswith(".h"):
                sources[candidate] = current
            elif self._is_global(candidate):
                kernel_wide[candidate] = current
            else:
                wanted[candidate] = current
                queue.append(candidate)

        while queue:
            current = queue.pop(0)
            for folder, recursive in self._scope(posixpath.dirname(current)):
                label = f"{folder or '.'}/" + ("**" if recursive else "*.c")
                if label not in scopes:
                    scopes.append(label)
                for candidate in self._files_in(folder, recursive):
                    consider(candidate, current, recursive)
            # Anywhere else, a file reaches a private header by a path with a folder in it
            # (net/ipv6/netfilter.c: #include "../bridge/br_private.h").
            for candidate in self._path_includers().get(current, ()):
                consider(candidate, current, True)
        if _ELSEWHERE not in scopes:
            scopes.append(_ELSEWHERE)
        # Direct includers first: the reason names one, and the shortest chain reads best.
        ordered = sorted(sources.items(), key=lambda item: (item[1] != header, item[0]))
        found = Includers(header, dict(ordered), wanted, tuple(scopes), kernel_wide)
        self._includers[header] = found
        return found

    def _path_includers(self) -> dict[str, list[str]]:
        """Tree path → the files that name it in an ``#include "..."`` with a folder in it
        (``"../bridge/br_private.h"``, ``"sub/x.h"``), read relative to the includer.

        Built once, on the first private header, from one pass over the tree's ``.c`` and
        ``.h`` files (the patch's new files and added lines included). A bare ``"x.h"`` reaches
        only the includer's own folder or an ``-I`` folder, both already in :meth:`_scope`;
        ``<x/y.h>`` reaches ``-I`` folders only. The answers are candidates: each is checked
        with the compiler's search order (:meth:`_included`) before it counts.
        """
        if self._by_path is None:
            found: dict[str, list[str]] = {}
            for path, data in self.files.c_files(self._not_compiled_here):
                directory = posixpath.dirname(path)
                for match in _PATH_INCLUDE.finditer(data):
                    named = match.group(1).decode("utf-8", "surrogateescape").strip()
                    target = posixpath.normpath(posixpath.join(directory, named))
                    if not target.startswith("../"):
                        found.setdefault(target, []).append(path)
            self._by_path = found
        return self._by_path

    def _not_compiled_here(self, directory: str) -> bool:
        """Folders whose files this config never compiles and whose headers kernel code does
        not include: documentation, build-time and user-space programs, other architectures."""
        top, _slash, rest = directory.partition("/")
        if top in _NEVER_COMPILED or top.startswith("."):
            return True
        return top == "arch" and bool(rest) and "/" not in rest and rest != self.arch

    def _scope(self, directory: str) -> list[tuple[str, bool]]:
        """(folder, recursive) pairs to look for includers of a header in ``directory``."""
        places = [(directory, True)]
        if directory:
            places.append((posixpath.dirname(directory), False))
        for folder in self.tree.include_users(directory):
            if not any(folder == p or folder.startswith(p + "/") for p, r in places if r):
                places.append((folder, True))
        return places

    def _files_in(self, folder: str, recursive: bool) -> list[str]:
        """The .c and .h files of ``folder`` (and below it when ``recursive``), sorted."""
        key = (folder, recursive)
        cached = self._subtrees.get(key)
        if cached is not None:
            return cached
        found: list[str] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            for name in self.files.listdir(current):
                path = f"{current}/{name}" if current else name
                if name.endswith(_INCLUDING_SOURCES) or name.endswith(".h"):
                    found.append(path)
                elif recursive and "." not in name and self.files.is_dir(path):
                    pending.append(path)
        found.sort()
        self._subtrees[key] = found
        return found

    def _core_closure(self) -> dict[str, str]:
        """Global headers reachable from core built-in .c files, each with one includer."""
        if self._core_headers is not None:
            return self._core_headers
        reached: dict[str, str] = {}
        queue: list[str] = []
        directories = (*_CORE_DIRECTORIES, f"arch/{self.arch}/kernel")
        for directory in directories:
            for name in self._list(directory):
                source = f"{directory}/{name}"
                if not name.endswith(".c") or self.source(source).kind != FileClass.BUILTIN:
                    continue
                for header in sorted(self._included(source)):
                    if self._is_global(header) and header not in reached:
                        reached[header] = source
                        queue.append(header)
        while queue:
            header = queue.pop()
            for found in sorted(self._included(header)):
                if self._is_global(found) and found not in reached:
                    reached[found] = f"{reached[header]} (through {header})"
                    queue.append(found)
        self._core_headers = reached
        return reached

    def _resolve_include(self, includer: str, quote: bytes, included: str) -> str:
        """The tree path an ``#include`` names, or ``""`` when it is generated or outside.

        The search order is the compiler's under Kbuild: the includer's directory for
        ``"..."``, then the ``-I`` folders its Kbuild flags add, then the kernel-wide ones.
        """
        directory = posixpath.dirname(includer)
        if quote == b'"':
            local = posixpath.normpath(posixpath.join(directory, included))
            if self._exists(local):
                return local
        for folder in self.tree.include_path(directory):
            candidate = posixpath.normpath(posixpath.join(folder, included))
            if self._exists(candidate):
                return candidate
        roots = (
            "include",
            f"arch/{self.arch}/include",
            "include/uapi",
            f"arch/{self.arch}/include/uapi",
        )
        for root in roots:
            candidate = f"{root}/{included}"
            if self._exists(candidate):
                return candidate
        if included.startswith("asm/"):
            generic = f"include/asm-generic/{included[4:]}"
            if self._exists(generic):
                return generic  # Kbuild's generic-y wrapper points there
        return ""

    def _includes(self, path: str) -> list[tuple[bytes, str]]:
        cached = self._include_lines.get(path)
        if cached is None:
            try:
                data = self.files.read(path)
            except OSError:
                data = b""
            data += b"\n" + self.files.additions(path)
            cached = []
            for match in _INCLUDE.finditer(data):
                line_start = data.rfind(b"\n", 0, match.start()) + 1
                if data[line_start : match.start()].strip(b" \t"):
                    continue  # not at the start of a line: a comment or a string mentions it
                cached.append((match.group(1), match.group(2).decode("utf-8", "replace").strip()))
            self._include_lines[path] = cached
        return cached

    def _included(self, path: str) -> set[str]:
        """The tree paths ``path`` includes directly (the ones that resolve)."""
        cached = self._resolved.get(path)
        if cached is None:
            cached = {self._resolve_include(path, q, i) for q, i in self._includes(path)}
            cached.discard("")
            self._resolved[path] = cached
        return cached

    def _exists(self, path: str) -> bool:
        directory, _slash, name = path.rpartition("/")
        names = self._sets.get(directory)
        if names is None:
            names = set(self._list(directory))
            self._sets[directory] = names
        return name in names

    def _list(self, directory: str) -> list[str]:
        return self.files.listdir(directory)


@record
class Includers:
    """Who includes a private header: what :meth:`_Classifier.includers` found."""

    header: str
    sources: Mapping[str, str] = field(hash=False)
    """``.c`` file → the header of the chain it includes (the header itself, or a private
    header that includes it); direct includers first, each group by path."""
    headers: Mapping[str, str | None] = field(hash=False)
    """Every private header of the chain → the header it was found including (``None`` for
    :attr:`header`)."""
    scopes: tuple[str, ...] = ()
    """Where it looked, as ``drivers/md/**`` (recursive) or ``drivers/*.c``."""
    kernel_wide: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Kernel-wide headers that include a header of the chain → the one they include
    (``include/trace/events/bridge.h`` includes ``net/bridge/br_private.h``): anything may
    include those, so their own includers are not searched."""

    def through(self, source: str) -> str:
        """`` (through dm-core.h)``: the chain from ``source`` to the header, empty when direct."""
        return self.through_header(self.sources.get(source))

    def through_header(self, included: str | None) -> str:
        """`` (through dm-core.h)``: the chain from a header of the chain to :attr:`header`."""
        chain: list[str] = []
        current: str | None = included
        while current is not None and current != self.header:
            chain.append(current)
            current = self.headers.get(current)
        return f" (through {' → '.join(chain)})" if chain else ""

    def scope_text(self) -> str:
        folders = [scope for scope in self.scopes if scope != _ELSEWHERE]
        shown = ", ".join(folders[:4])
        if len(folders) > 4:
            shown += f" and {len(folders) - 4} more places"
        return shown + (f", {_ELSEWHERE}" if _ELSEWHERE in self.scopes else "")


class _Findings:
    """What the Kbuild lines naming one object say, sorted by what they mean."""

    def __init__(self) -> None:
        self.builtin: list[tuple[str, str]] = []
        self.modules: list[tuple[str, str, str]] = []
        self.tools: list[str] = []
        self.off: list[str] = []
        self.unknown: str | None = None
        self.patched: list[str] = []
        """Kbuild files whose lines the patch adds that put the object in the build."""

    def note_patched(self, *refs: ObjectRef) -> None:
        self.patched.extend(ref.makefile for ref in refs if ref.patched == "added")

    def any(self) -> bool:
        return bool(self.builtin or self.modules or self.tools or self.off)


def _ancestors(directory: str) -> list[str]:
    """``drivers/md`` → [``drivers/md``, ``drivers``, ``""``]: the nearest Kbuild file first."""
    chain = [directory]
    while directory:
        directory = posixpath.dirname(directory)
        chain.append(directory)
    return chain


def _join_target(directory: str, name: str) -> str:
    return posixpath.normpath(posixpath.join(directory, name)) if directory else name


def _module_name(target: str) -> str:
    return posixpath.splitext(posixpath.basename(target))[0]


def _ko(target: str) -> str:
    return posixpath.splitext(target)[0] + ".ko"


_CLASSIFIERS: weakref.WeakKeyDictionary[KbuildTree, _Classifier] = weakref.WeakKeyDictionary()


def _classifier(tree: KbuildTree) -> _Classifier:
    """One classifier per tree, so repeated calls share what was read (sources, include scans)."""
    found = _CLASSIFIERS.get(tree)
    if found is None:
        found = _Classifier(tree)
        _CLASSIFIERS[tree] = found
    return found

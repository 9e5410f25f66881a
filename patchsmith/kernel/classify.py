"""Which class each file of a patch is in, for one tree and config: module, builtin, header...

This is what ``--modules-only`` rests on: on a machine whose kernel image is fixed, only code that
ends up in a loadable module can be replaced. Each answer carries the reason, normally the
Kbuild line that decided it (``drivers/md/Makefile:63: obj-$(CONFIG_BLK_DEV_DM) += dm-mod.o
(CONFIG_BLK_DEV_DM=m)``), so a user can check it in a second.

A header gets a cheap include scan rather than a full dependency graph: a header outside the
global include folders is looked for in the ``#include`` lines of its own directory; a global
header (``include/``, ``arch/$ARCH/include/``) in what the core built-in code of the tree
(``kernel/``, ``mm/``, ``init/``, ``fs/``, ``block/``, ``lib/``, ``net/core/``, ``security/``,
``arch/$ARCH/kernel/``) includes, directly or through other headers. ``False`` therefore means
"no built-in includer found by that scan", not a proof.

Depends on :mod:`patchsmith.kernel.kbuild` and :mod:`patchsmith.kernel.config`; never on the
patch reader, the engine or any front end.
"""

from __future__ import annotations

import enum
import os
import posixpath
import re
import weakref
from collections.abc import Iterable

from patchsmith.kernel.kbuild import (
    DESCENT_LISTS,
    KbuildFile,
    KbuildTree,
    ObjectRef,
    describe,
)
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


def classify(tree: KbuildTree, paths: Iterable[str]) -> dict[str, Classification]:
    """Classify tree-relative paths (``drivers/md/dm-table.c``) under ``tree``'s config.

    Never raises for odd trees or Makefiles: those give :attr:`FileClass.UNKNOWN` with the reason.
    """
    classifier = _classifier(tree)
    return {path: classifier.classify(path) for path in paths}


# --- path rules ---------------------------------------------------------------------------------

_DOC_NAMES = ("README", "MAINTAINERS", "CREDITS", "COPYING")
_DOC_SUFFIXES = (".rst", ".txt", ".md")
_SOURCE_SUFFIXES = (".c", ".S", ".s", ".rs")
_HEADER_SUFFIXES = (".h",)
_SCRIPT_SUFFIXES = (".sh", ".py", ".pl", ".awk", ".sed", ".tc")

# #include <linux/device-mapper.h>     #include "dm-core.h"     # include "../foo.c"
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.M)

# Directories whose top-level .c files stand for "core built-in code" in the header scan; each is
# built into every kernel that can boot. Top level only keeps the scan to a few hundred files.
_CORE_DIRECTORIES = ("kernel", "mm", "init", "fs", "block", "lib", "net/core", "security", "ipc")


class _Classifier:
    def __init__(self, tree: KbuildTree) -> None:
        self.tree = tree
        self.root = tree.root
        self.arch = tree.arch
        self._sources: dict[str, Classification] = {}
        self._fragments: dict[str, list[KbuildFile]] = {}
        self._core_headers: dict[str, str] | None = None
        self._listing: dict[str, list[str]] = {}
        self._sets: dict[str, set[str]] = {}
        self._include_lines: dict[str, list[tuple[bytes, str]]] = {}
        self._resolved: dict[str, set[str]] = {}

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
            cached = self._source(path, set())
            self._sources[path] = cached
        return cached

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
            for kbuild in self._includers_of_fragments(directory):
                for target in targets:
                    for ref in kbuild.refs_to(target):
                        mode = self.tree.directory_state(kbuild.directory).mode
                        if mode in ("y", "m"):
                            self._resolve(ref, mode, kbuild, found)
        if found.builtin:
            objects = tuple(dict.fromkeys(o for _why, o in found.builtin))
            return Classification(FileClass.BUILTIN, found.builtin[0][0], objects=objects)
        if found.modules:
            why, module, _ko = found.modules[0]
            objects = tuple(dict.fromkeys(ko for _w, _m, ko in found.modules))
            return Classification(FileClass.MODULE, why, module=module, objects=objects)
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
        return Classification(
            FileClass.UNKNOWN, f"no Kbuild line names {posixpath.basename(stem)}.o ({where})"
        )

    def _resolve(self, ref: ObjectRef, mode: str, kbuild: KbuildFile, found: _Findings) -> None:
        """What one line naming the file's object means, added to ``found``."""
        config = self.tree.config
        base, suffix = ref.base, ref.suffix
        why = describe(ref, config)
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
            elif mode == "y":
                found.builtin.append((why, ref.target))
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
                found.tools.append(f"{why}; {describe(host, config)}: a host program")
                return
        if not containers:
            found.off.append(f"{why}, but no Kbuild line in {kbuild.path} builds {base}.o")
            return
        for container in containers:
            outer = describe(container, config)
            if not container.selected:
                found.off.append(f"{why}; {outer}")
            elif container.base != "obj":
                continue
            elif container.suffix == "m":
                found.modules.append((f"{why}; {outer}", base, _ko(composite)))
            elif mode == "y" and suffix in ("y", "objs"):
                found.builtin.append((f"{why}; {outer}", composite))
            elif mode == "y":
                found.off.append(f"{why}: {ref.variable} only counts for a module; {outer}")
            else:
                found.off.append(f"{why}; {outer}, but {kbuild.directory}/ is modules-only")

    def _includers_of_fragments(self, directory: str) -> list[KbuildFile]:
        """Kbuild files of the arch tree that include a ``Makefile.*`` fragment of ``directory``.

        ``virt/kvm/Makefile.kvm`` is included by ``arch/x86/kvm/Makefile``, which names
        ``../../../virt/kvm/kvm_main.o``: nothing on virt/kvm's own path says it is built.
        """
        if directory in self._fragments:
            return self._fragments[directory]
        result: list[KbuildFile] = []
        fragments = [f"{directory}/{n}" for n in self._list(directory) if n.startswith("Makefile.")]
        if fragments:
            arch_root = self.root / "arch" / self.arch
            for folder, _dirs, files in os.walk(arch_root):
                for name in files:
                    if name not in ("Makefile", "Kbuild"):
                        continue
                    try:
                        text = (self.root / folder / name).read_bytes()
                    except OSError:
                        continue
                    if any(f.encode() in text for f in fragments):
                        relative = posixpath.relpath(folder, self.root)
                        kbuild = self.tree.kbuild_file(relative)
                        if kbuild is not None and kbuild.problem is None:
                            result.append(kbuild)
        self._fragments[directory] = result
        return result

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
                        )
        return None

    # --- headers ----------------------------------------------------------------------------------

    def header(self, path: str) -> Classification:
        if self._is_global(path):
            closure = self._core_closure()
            includer = closure.get(path)
            if includer is not None:
                return Classification(
                    FileClass.HEADER,
                    f"a global header; built-in {includer} includes it",
                    included_by_builtin=True,
                )
            local = self._local_includers(path)
            if local is not None:
                return local
            return Classification(
                FileClass.HEADER,
                "a global header; no built-in includer found in the core of the tree",
                included_by_builtin=False,
            )
        local = self._local_includers(path)
        if local is not None:
            return local
        return Classification(
            FileClass.HEADER,
            f"no built-in file in {posixpath.dirname(path) or 'the top'}/ includes it",
            included_by_builtin=False,
        )

    def _is_global(self, path: str) -> bool:
        return path.startswith(("include/", f"arch/{self.arch}/include/"))

    def _local_includers(self, path: str) -> Classification | None:
        """A built-in .c near the header that includes it (maybe through another header)."""
        directory = posixpath.dirname(path)
        # The parent too: security/apparmor/*.c include "include/net.h".
        folders = [directory, posixpath.dirname(directory)] if directory else [directory]
        candidates = [
            f"{folder}/{name}" if folder else name
            for folder in folders
            for name in self._list(folder)
            if name.endswith((".c", ".h"))
        ]
        wanted = {path}
        sources: list[str] = []
        changed = True
        while changed:
            changed = False
            for candidate in candidates:
                if candidate in wanted or not self._included(candidate) & wanted:
                    continue
                if candidate.endswith(".h"):
                    wanted.add(candidate)
                    changed = True
                elif candidate not in sources:
                    sources.append(candidate)
        modules: list[str] = []
        for source in sources:
            result = self.source(source)
            if result.kind == FileClass.BUILTIN:
                return Classification(
                    FileClass.HEADER,
                    f"included by {source}, which is builtin ({result.reason})",
                    included_by_builtin=True,
                )
            if result.kind == FileClass.MODULE and result.module:
                modules.append(result.module)
        if modules:
            names_text = ", ".join(dict.fromkeys(modules))
            return Classification(
                FileClass.HEADER,
                f"included only by module code here ({names_text})",
                included_by_builtin=False,
            )
        return None

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
        """The tree path an ``#include`` names, or ``""`` when it is generated or outside."""
        if quote == b'"':
            local = posixpath.normpath(posixpath.join(posixpath.dirname(includer), included))
            if self._exists(local):
                return local
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
                data = (self.root / path).read_bytes()
            except OSError:
                data = b""
            cached = [
                (m.group(1), m.group(2).decode("utf-8", "replace").strip())
                for m in _INCLUDE.finditer(data)
            ]
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
        listed = self._listing.get(directory)
        if listed is None:
            try:
                listed = sorted(os.listdir(self.root / directory))
            except OSError:
                listed = []
            self._listing[directory] = listed
        return listed


class _Findings:
    """What the Kbuild lines naming one object say, sorted by what they mean."""

    def __init__(self) -> None:
        self.builtin: list[tuple[str, str]] = []
        self.modules: list[tuple[str, str, str]] = []
        self.tools: list[str] = []
        self.off: list[str] = []
        self.unknown: str | None = None

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

"""Reading a tree's Kbuild files: which objects and directories each one builds under a config.

:class:`KbuildTree` walks the descent from the top-level ``Makefile`` (and ``arch/$(SRCARCH)``)
down to a directory, reading only the Kbuild files on that path, each at most once, and says
whether make reaches each directory (:class:`DirectoryState`) and what each file's lists name
(:class:`KbuildFile`). Each file is evaluated by :mod:`patchsmith.kernel.makefile` (the part of
GNU make Kbuild files use); what is read comes from a
:class:`~patchsmith.kernel.treefiles.TreeFiles`: the tree on disk, or the tree as a patch leaves
it (:mod:`patchsmith.kernel.patched`), and a reference remembers whether the patch added its
line. The tree's root is made absolute once, so ``--tree vendor`` and ``--tree /abs/vendor``
read the same files.

A Kbuild file the evaluator cannot make sense of (unreadable, binary, an ``endif`` too many, an
unterminated ``$(``) is not an error: its :attr:`KbuildFile.problem` says what is wrong and the
classifier reports the files that depend on it as unknown. Only a missing tree raises.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType

from patchsmith.errors import TreeError
from patchsmith.kernel.config import KernelConfig
from patchsmith.kernel.makefile import Evaluator, ObjectRef, OddMakefile, Variable
from patchsmith.kernel.treefiles import TreeFiles, ancestors_of
from patchsmith.record import record

# The lists the top-level Makefile links into vmlinux (2.6 to 5.x name them here; 6.1 moved most
# of them into the root Kbuild's obj-y, leaving core-y/drivers-y/libs-y for the arch Makefile).
DESCENT_LISTS = ("init", "core", "drivers", "net", "libs", "virt")

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
        self._sub_make: dict[str, Variable] = {}
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

    def _base_variables(self, directory: str) -> dict[str, Variable]:
        command_line = {
            "ARCH": Variable(self.arch, False, "command line"),
            "SRCARCH": Variable(self.arch, False, "command line"),
        }
        variables = dict(self._sub_make)
        variables.update(command_line)
        variables.update(
            {
                "srctree": Variable(".", False),
                "objtree": Variable(".", False),
                "src": Variable(directory or ".", False),
                "obj": Variable(directory or ".", False),
                "KBUILD_EXTMOD": Variable("", False),
            }
        )
        return variables

    def _follow(self, target: str) -> bool:
        # scripts/ holds make machinery (Kbuild.include, Makefile.compiler), not object lists.
        return not target.startswith(("scripts/", "include/config/"))

    def _evaluate(self, directory: str, path: str) -> KbuildFile:
        evaluator = Evaluator(
            self.files, self.config, directory, self._base_variables(directory), self._follow
        )
        problem: str | None = None
        try:
            evaluator.run(path)
            evaluator.finish()
        except OddMakefile as odd:
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
                except (OddMakefile, RecursionError):
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
            name: Variable(makefile.variables.get(name, ""), False) for name in makefile.exported
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
            for ancestor in ancestors_of(directory):
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
        above = set(ancestors_of(folder)) if folder else set()
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

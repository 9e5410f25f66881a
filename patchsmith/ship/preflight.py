"""Before building: will the modules we are about to build load into the target kernel?

The kernel's module loader compares a module's ``vermagic`` with its own, word for word. Linux
6.1's ``include/linux/vermagic.h`` composes it as ``UTS_RELEASE`` followed by a word for each of
``CONFIG_SMP`` (``SMP``), the preemption model (``preempt`` when ``CONFIG_PREEMPT_BUILD``, which
``PREEMPT`` and ``PREEMPT_DYNAMIC`` select; ``preempt_rt`` for ``PREEMPT_RT`` alone),
``CONFIG_MODULE_UNLOAD`` (``mod_unload``), ``CONFIG_MODVERSIONS`` (``modversions``), the arch's
``MODULE_ARCH_VERMAGIC`` (on 32-bit x86 the CPU family: ``686``, ``PENTIUM4`` ...) and a
``RANDSTRUCT_`` seed hash. 2.6 kernels used ``CONFIG_PREEMPT`` for ``preempt``, added
``REGPARM``/``4KSTACKS`` on i386 and ended with the compiler, ``gcc-4.0``.

:func:`preflight` takes the facts of a module from the target (:mod:`patchsmith.ship.elfinfo`),
of the tree or prepared kernel directory the build will use (:func:`read_tree`), and of the local
compiler (:func:`probe_compiler`), and returns a list of :class:`Check` with a concrete fix for
each failure. It never changes anything.

The release of a tree is what ``vermagic.h`` includes: ``include/generated/utsrelease.h`` (2.6.33
on; older trees ``include/linux/utsrelease.h`` or ``include/linux/version.h``), then
``include/config/kernel.release``, then the top-level Makefile's ``VERSION``/``PATCHLEVEL``/
``SUBLEVEL``/``EXTRAVERSION`` plus ``CONFIG_LOCALVERSION``. The order matters: Debian's headers
packages carry ``include/config/kernel.release`` = ``6.1.192`` while the module's release (and
``utsrelease.h``) is ``6.1.0-56-cloud-amd64``.

Signatures are checked too (:func:`_check_signing`): whether the target refuses unsigned modules
(:func:`patchsmith.ship.signing.signature_policy`, from the config and, when given, the
target's kernel command line and Secure Boot state), whether its own modules are signed, and, with
a key, whether that key can sign for it. The check fails when the target refuses unsigned modules
or may (Secure Boot not known) and no usable key was given, and says how to make and enroll one.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from patchsmith.errors import ConfigError, InputError, TreeError
from patchsmith.kernel.config import KernelConfig, load_config
from patchsmith.record import record
from patchsmith.ship.elfinfo import ModuleInfo, is_module_file, module_stem, read_module
from patchsmith.ship.signing import (
    KEY_HELP,
    SignaturePolicy,
    Signer,
    check_key_files,
    cmdline_words,
    module_signer,
    prepare_signer,
    signature_policy,
)

# #define UTS_RELEASE "6.1.0-56-cloud-amd64"
_UTS_RELEASE = re.compile(r'^\s*#\s*define\s+UTS_RELEASE\s+"([^"]*)"', re.MULTILINE)

# VERSION = 6      PATCHLEVEL = 1      SUBLEVEL = 180      EXTRAVERSION = -xen
_MAKEFILE_VARIABLE = re.compile(
    r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*[:?]?=[ \t]*(.*?)[ \t]*$", re.MULTILINE
)

# gcc (Debian 12.2.0-14+deb12u1) 12.2.0        gcc-4.0 (GCC) 4.0.3 (Debian 4.0.2-2)
# Debian clang version 14.0.6                 the first dotted number after the program name
_VERSION_NUMBER = re.compile(r"\b(\d+\.\d+(?:\.\d+)?)\b")

# CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-12      (.kernelvariables)
_KERNELVARIABLES_CC = re.compile(r"^CC\s*:?=\s*(.*)$", re.MULTILINE)

# The 32-bit x86 CPU families ``arch/x86/include/asm/vermagic.h`` names, by option (2.6 to 6.x).
X86_32_FAMILIES: tuple[tuple[str, str], ...] = (
    ("M486SX", "486SX"),
    ("M486", "486"),
    ("M586", "586"),
    ("M586TSC", "586TSC"),
    ("M586MMX", "586MMX"),
    ("MCORE2", "CORE2"),
    ("MATOM", "ATOM"),
    ("M686", "686"),
    ("MPENTIUMII", "PENTIUMII"),
    ("MPENTIUMIII", "PENTIUMIII"),
    ("MPENTIUMM", "PENTIUMM"),
    ("MPENTIUM4", "PENTIUM4"),
    ("MK6", "K6"),
    ("MK7", "K7"),
    ("MK8", "K8"),
    ("MELAN", "ELAN"),
    ("MCRUSOE", "CRUSOE"),
    ("MEFFICEON", "EFFICEON"),
    ("MWINCHIPC6", "WINCHIPC6"),
    ("MWINCHIP3D", "WINCHIP3D"),
    ("MCYRIXIII", "CYRIXIII"),
    ("MVIAC3_2", "VIAC3-2"),
    ("MVIAC7", "VIAC7"),
    ("MGEODEGX1", "GEODEGX1"),
    ("MGEODE_LX", "GEODE"),
)
_FAMILY_OPTION = {word: option for option, word in X86_32_FAMILIES}

# vermagic words this module can derive from a config, and the option that turns each on.
_FLAG_OPTIONS = {
    "SMP": "CONFIG_SMP",
    "preempt": "CONFIG_PREEMPT",
    "preempt_rt": "CONFIG_PREEMPT_RT",
    "mod_unload": "CONFIG_MODULE_UNLOAD",
    "modversions": "CONFIG_MODVERSIONS",
    "REGPARM": "CONFIG_REGPARM",
    "4KSTACKS": "CONFIG_4KSTACKS",
}
_RANDSTRUCT_PREFIX = "RANDSTRUCT_"

TreeKind = Literal["tree", "kernel-dir"]


@record
class Check:
    """One comparison between the target and the build; a failure comes with a fix."""

    name: str
    """Short id, stable for JSON and scripts: ``release``, ``vermagic-flags``, ``compiler`` ..."""
    ok: bool
    """Whether this check passed."""
    expected: str
    """What the target needs (from its module)."""
    found: str
    """What the build would produce (from the tree, its config and the local toolchain)."""
    fix: str | None = None
    """A concrete step that makes the check pass; ``None`` when it passed."""
    note: str | None = None
    """Something to know or do even though the check passed (enroll the key on the target)."""
    warning: bool = False
    """Passed only because preflight was not told a fact the answer turns on (whether the
    target boots with Secure Boot): not a failure, but :attr:`note` says what to ask and how
    to settle it. A check that fails is never a warning."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "warning": self.warning,
            "expected": self.expected,
            "found": self.found,
            "fix": self.fix,
            "note": self.note,
        }


@record
class TreeFacts:
    """What the tree (or prepared kernel directory) the build will use says about its kernel."""

    root: Path
    """The tree, or the prepared build directory (``/usr/src/linux-headers-RELEASE``)."""
    kind: TreeKind
    """``tree`` builds in the tree; ``kernel-dir`` builds out of tree against ``root``."""
    release: str | None
    """The ``UTS_RELEASE`` modules built here get; ``None`` if nothing says."""
    release_source: str
    """Where :attr:`release` came from, for the report (``include/generated/utsrelease.h``)."""
    config: KernelConfig | None
    """The configuration the build uses; ``None`` if there is none (not configured)."""
    prepared: bool
    """``include/generated/autoconf.h`` exists: ``make modules_prepare`` (or a build) ran."""
    has_symvers: bool
    """``Module.symvers`` exists: modpost can record symbol CRCs for ``modversions``."""
    default_cc: str
    """The compiler the tree's Makefile picks when no ``CC=`` is given (``gcc``, Debian's
    headers: ``gcc-12`` from ``.kernelvariables``)."""

    @property
    def expected_flags(self) -> tuple[str, ...] | None:
        """The vermagic words after the release that this config produces (see module doc)."""
        return None if self.config is None else vermagic_flags(self.config)


@record
class CompilerFacts:
    """The local compiler the build will run."""

    command: str
    """As given (``gcc``, ``gcc-12``, ``/opt/gcc-4.0/bin/gcc``)."""
    version_line: str | None
    """The first line of ``--version``; ``None`` if it could not be run."""
    version: str | None
    """The version number in it: ``12.2.0``."""
    problem: str | None = None
    """Why it could not be run, if it could not."""


@record
class SigningFacts:
    """What preflight knows about module signatures on the target and the key to sign with."""

    policy: SignaturePolicy | None
    """Whether the target refuses unsigned modules; ``None`` without a config to read."""
    target_signed: bool
    """The target's module carries a signature (its distribution signs its modules)."""
    target_signer: str | None
    """Who signed it, as modinfo reads it; ``None`` when unsigned or modinfo is missing."""
    signer: Signer | None = None
    """The key given with --sign-key/--sign-cert, checked and able to sign."""
    signer_problem: str | None = None
    """Why the key given cannot sign for this target."""

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy.to_json() if self.policy else None,
            "target_signed": self.target_signed,
            "target_signer": self.target_signer,
            "signer": self.signer.to_json() if self.signer else None,
            "signer_problem": self.signer_problem,
        }


@record
class PreflightReport:
    """The facts compared and the checks made."""

    module: ModuleInfo
    tree: TreeFacts
    compiler: CompilerFacts
    checks: tuple[Check, ...]
    signing: SigningFacts | None = None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.ok and check.warning)

    def to_json(self) -> dict[str, Any]:
        vermagic = self.module.vermagic
        return {
            "ok": self.ok,
            "target": {
                "module": str(self.module.path),
                "name": self.module.name,
                "vermagic": vermagic.text if vermagic else None,
                "release": vermagic.release if vermagic else None,
                "compiler": self.module.compiler,
                "elf_class": self.module.elf_class,
                "machine": self.module.machine,
            },
            "tree": {
                "root": str(self.tree.root),
                "kind": self.tree.kind,
                "release": self.tree.release,
                "release_source": self.tree.release_source,
                "config": self.tree.config.source if self.tree.config else None,
                "vermagic_flags": (
                    list(self.tree.expected_flags) if self.tree.expected_flags is not None else None
                ),
            },
            "compiler": {
                "command": self.compiler.command,
                "version_line": self.compiler.version_line,
                "version": self.compiler.version,
            },
            "signing": self.signing.to_json() if self.signing else None,
            "checks": [check.to_json() for check in self.checks],
        }


def vermagic_flags(config: KernelConfig) -> tuple[str, ...]:
    """The vermagic words a config gives after the release, in the kernel's order.

    Covers the words :func:`preflight` can derive: SMP, the preemption model, mod_unload,
    modversions and, on 32-bit x86, the CPU family (with 2.6's REGPARM/4KSTACKS). A config with
    ``RANDSTRUCT`` gives the placeholder ``RANDSTRUCT_``: the hash comes from a generated seed.
    """
    words: list[str] = []
    if config.state("SMP") == "y":
        words.append("SMP")
    # 6.1: PREEMPT and PREEMPT_DYNAMIC select PREEMPT_BUILD; 2.6 to 5.x test CONFIG_PREEMPT.
    if config.state("PREEMPT_BUILD") == "y" or config.state("PREEMPT") == "y":
        words.append("preempt")
    elif config.state("PREEMPT_RT") == "y":
        words.append("preempt_rt")
    if config.state("MODULE_UNLOAD") == "y":
        words.append("mod_unload")
    if config.state("MODVERSIONS") == "y":
        words.append("modversions")
    if _is_x86_32(config):
        for option, word in X86_32_FAMILIES:
            if config.state(option) == "y":
                words.append(word)
                break
        if config.state("REGPARM") == "y":
            words.append("REGPARM")
        if config.state("4KSTACKS") == "y":
            words.append("4KSTACKS")
    if any(
        config.state(option) == "y"
        for option in ("RANDSTRUCT_FULL", "RANDSTRUCT_PERFORMANCE", "GCC_PLUGIN_RANDSTRUCT")
    ):
        words.append(_RANDSTRUCT_PREFIX)
    return tuple(words)


def _is_x86_32(config: KernelConfig) -> bool:
    if config.state("X86_32") == "y":
        return True
    # 2.6.16's i386 configs have CONFIG_X86=y and no CONFIG_X86_32/CONFIG_64BIT.
    return (
        config.state("X86") == "y"
        and config.state("X86_64") != "y"
        and config.state("64BIT") != "y"
        and config.arch() == "x86"
    )


def _derivable(word: str) -> bool:
    return word in _FLAG_OPTIONS or word in _FAMILY_OPTION or word.startswith(_RANDSTRUCT_PREFIX)


def tree_release(root: Path, config: KernelConfig | None) -> tuple[str | None, str]:
    """The release modules built in ``root`` get, and which file said so."""
    for relative in (
        "include/generated/utsrelease.h",
        "include/linux/utsrelease.h",
        "include/linux/version.h",
    ):
        text = _read_text(root / relative)
        if text is not None:
            match = _UTS_RELEASE.search(text)
            if match:
                return match.group(1), relative
    text = _read_text(root / "include/config/kernel.release")
    if text is not None and text.strip():
        return text.strip(), "include/config/kernel.release"
    makefile = _read_text(root / "Makefile")
    if makefile is None:
        return None, "nothing (no Makefile, no include/config/kernel.release)"
    values = dict(_MAKEFILE_VARIABLE.findall(makefile))
    if not values.get("VERSION"):
        return None, "nothing (the Makefile sets no VERSION)"
    release = ".".join(
        part
        for part in (values.get("VERSION"), values.get("PATCHLEVEL"), values.get("SUBLEVEL"))
        if part
    )
    release += values.get("EXTRAVERSION", "")
    source = "Makefile VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION"
    if config is not None:
        local = (config.value("LOCALVERSION") or "").strip('"')
        if local:
            release += local
            source += " + CONFIG_LOCALVERSION"
        if config.state("LOCALVERSION_AUTO") == "y":
            source += " (CONFIG_LOCALVERSION_AUTO=y adds a git suffix not known here)"
    return release, source


def read_tree(
    root: str | Path,
    *,
    kind: TreeKind = "tree",
    config_path: str | Path | None = None,
) -> TreeFacts:
    """The facts of a tree or prepared kernel build directory. Raises :class:`TreeError` if
    ``root`` is not a directory, :class:`ConfigError` if an explicit ``config_path`` is unusable."""
    root = Path(root)
    if not root.is_dir():
        what = "kernel build directory" if kind == "kernel-dir" else "tree"
        raise TreeError(
            f"{root}: {what} not found",
            hint="for out-of-tree builds give /usr/src/linux-headers-RELEASE or "
            "/lib/modules/RELEASE/build",
        )
    config: KernelConfig | None
    if config_path is not None:
        config = load_config(config_path)
    else:
        try:
            config = load_config(root / ".config") if (root / ".config").is_file() else None
        except ConfigError:
            config = None
    release, source = tree_release(root, config)
    return TreeFacts(
        root=root,
        kind=kind,
        release=release,
        release_source=source,
        config=config,
        prepared=(root / "include/generated/autoconf.h").is_file()
        or (root / "include/linux/autoconf.h").is_file(),
        has_symvers=(root / "Module.symvers").is_file(),
        default_cc=_default_cc(root),
    )


def _default_cc(root: Path) -> str:
    # Debian's headers packages fix the compiler in .kernelvariables (CC = ... gcc-12); an
    # explicit CC= on make's command line still wins, which is what --cc passes.
    text = _read_text(root / ".kernelvariables")
    if text is not None:
        match = _KERNELVARIABLES_CC.search(text)
        if match:
            last = match.group(1).split()[-1] if match.group(1).split() else ""
            name = last.replace("$(CROSS_COMPILE)", "")
            if name and "$" not in name:
                return name
    return "gcc"


def probe_compiler(command: str) -> CompilerFacts:
    """Run ``COMMAND --version`` (in the C locale) and read its first line."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        completed = subprocess.run(
            [command, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        return CompilerFacts(command, None, None, problem=f"{command}: command not found")
    except (OSError, subprocess.TimeoutExpired) as error:
        return CompilerFacts(command, None, None, problem=f"{command}: {error}")
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return CompilerFacts(
            command, None, None, problem=f"{command} --version exited {completed.returncode}"
        )
    return CompilerFacts(command, lines[0], compiler_version(lines[0]))


def compiler_version(line: str) -> str | None:
    """The version number of a ``--version`` line or ``CONFIG_CC_VERSION_TEXT``.

    ``gcc (Debian 12.2.0-14+deb12u1) 12.2.0`` gives ``12.2.0``: GCC puts the real version after
    the parenthesised package string, so the last number wins over the first.
    """
    # Drop the program name (gcc-12 would otherwise read as "12").
    rest = line.split(None, 1)[1] if len(line.split(None, 1)) == 2 else line
    tail = re.sub(r"\([^)]*\)", " ", rest)
    numbers = _VERSION_NUMBER.findall(tail) or _VERSION_NUMBER.findall(rest)
    return numbers[0] if numbers else None


def pick_module(
    modules_dir: str | Path,
    *,
    name: str | None = None,
    prefer: Sequence[str] = (),
) -> Path:
    """A module file from ``/lib/modules/RELEASE`` to read the target's facts from.

    ``name`` (``dm-mod`` or ``dm_mod``) picks that module; otherwise the first module under one
    of the ``prefer`` directories (the ones the build touches), otherwise the first in name order.
    """
    root = Path(modules_dir)
    if not root.is_dir():
        raise InputError(
            f"{root}: no such modules directory",
            hint="give /lib/modules/RELEASE of the target (a copy is fine), or --ko FILE",
        )
    candidates = sorted(path for path in root.rglob("*") if path.is_file() and is_module_file(path))
    if not candidates:
        raise InputError(
            f"{root}: holds no kernel modules (*.ko, *.ko.xz, *.ko.zst, *.ko.gz)",
            hint="give /lib/modules/RELEASE of the target, or a module with --ko FILE",
        )
    if name is not None:
        wanted = name.replace("_", "-")
        for path in candidates:
            if module_stem(path).replace("_", "-") == wanted:
                return path
        raise InputError(
            f"{root}: no module named {name}",
            hint="give the name as modinfo or lsmod shows it (dm_mod or dm-mod)",
        )
    for directory in prefer:
        directory = directory.strip("/")
        inside = [
            path
            for path in candidates
            if f"/{directory}/" in f"/{path.relative_to(root).as_posix()}"
        ]
        # A module right in the directory (drivers/md/dm-mod.ko) before one in a subdirectory.
        direct = [path for path in inside if path.parent.as_posix().endswith(f"/{directory}")]
        if direct or inside:
            return (direct or inside)[0]
    return candidates[0]


def preflight(
    module: ModuleInfo,
    tree: TreeFacts,
    compiler: CompilerFacts,
    signing: SigningFacts | None = None,
) -> PreflightReport:
    """Compare a target module's facts with the build's; every failed check has a fix.
    Without ``signing`` facts, signatures are not checked."""
    checks: list[Check] = []
    vermagic = module.vermagic
    if vermagic is None:
        checks.append(
            Check(
                "module",
                False,
                "a kernel module with vermagic in .modinfo",
                f"{module.path}: no vermagic",
                "pass a .ko file from the target's /lib/modules/RELEASE (not an object file)",
            )
        )
        return PreflightReport(module, tree, compiler, tuple(checks), signing)
    checks.append(_check_release(vermagic.release, tree))
    checks.append(_check_word_size(module, tree))
    checks.append(_check_flags(vermagic.flags, tree))
    checks.append(_check_compiler(module, compiler, tree))
    if tree.config is not None and tree.config.value("CC_VERSION_TEXT"):
        checks.append(_check_cc_version_text(tree.config, compiler))
    checks.append(_check_prepared(tree))
    if "modversions" in vermagic.flags:
        checks.append(_check_symvers(tree, vermagic.release))
    if signing is not None:
        checks.append(_check_signing(signing))
    return PreflightReport(module, tree, compiler, tuple(checks), signing)


def run_preflight(
    *,
    ko: str | Path | None = None,
    modules_dir: str | Path | None = None,
    module_name: str | None = None,
    prefer_dirs: Sequence[str] = (),
    tree: str | Path | None = None,
    kernel_dir: str | Path | None = None,
    config: str | Path | None = None,
    cc: str | None = None,
    cmdline: str | Path | None = None,
    secure_boot: bool | None = None,
    sign_key: str | Path | None = None,
    sign_cert: str | Path | None = None,
) -> PreflightReport:
    """Read the facts (module, tree, compiler, signatures) and compare them: what ``patchsmith
    preflight`` does. Exactly one of ``ko``/``modules_dir`` and one of ``tree``/``kernel_dir``;
    ``cmdline`` is a copy of the target's ``/proc/cmdline`` (or its ``/etc/default/grub``,
    ``grub.cfg`` or boot entry), ``secure_boot`` whether it boots with Secure Boot."""
    if (ko is None) == (modules_dir is None):
        raise InputError(
            "preflight needs the target: either a module or a modules directory",
            hint="--ko /path/to/dm-mod.ko, or --modules-dir /lib/modules/RELEASE",
        )
    if (tree is None) == (kernel_dir is None):
        raise InputError(
            "preflight needs one build location: the tree or a prepared kernel directory",
            hint="--tree DIR (build in the tree) or --kernel-dir /usr/src/linux-headers-RELEASE",
        )
    module_path = (
        Path(ko)
        if ko is not None
        else pick_module(modules_dir or "", name=module_name, prefer=prefer_dirs)
    )
    module = read_module(module_path)
    if kernel_dir is not None:
        facts = read_tree(kernel_dir, kind="kernel-dir", config_path=config)
    else:
        facts = read_tree(tree or "", kind="tree", config_path=config)
    compiler = probe_compiler(cc or facts.default_cc)
    signing = read_signing(
        module,
        facts,
        cmdline=cmdline,
        secure_boot=secure_boot,
        sign_key=sign_key,
        sign_cert=sign_cert,
    )
    return preflight(module, facts, compiler, signing)


def read_signing(
    module: ModuleInfo,
    tree: TreeFacts,
    *,
    cmdline: str | Path | None = None,
    secure_boot: bool | None = None,
    sign_key: str | Path | None = None,
    sign_cert: str | Path | None = None,
) -> SigningFacts:
    """The signature facts of the target (its config, command line and module) and of the key.

    Raises :class:`InputError` for a command line file that cannot be read, or only one of
    ``sign_key``/``sign_cert``. A key that cannot sign is a fact (``signer_problem``), not an
    error: preflight reports it as a failed check.
    """
    words: tuple[str, ...] | None = None
    if cmdline is not None:
        try:
            text = Path(cmdline).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise InputError(
                f"--cmdline {cmdline}: cannot read: {error.strerror or error}",
                hint="give a copy of the target's /proc/cmdline, /etc/default/grub or grub.cfg",
            ) from None
        words = cmdline_words(text)
    policy = (
        signature_policy(tree.config, words, secure_boot=secure_boot)
        if tree.config is not None
        else None
    )
    signer: Signer | None = None
    problem: str | None = None
    if (sign_key is None) != (sign_cert is None):
        raise InputError(
            "--sign-key and --sign-cert go together",
            hint="the private key (PEM) and its certificate (PEM or DER)",
        )
    if sign_key is not None and sign_cert is not None:
        # A path that is no readable file is bad input; a key that cannot sign is a fact.
        check_key_files(sign_key, sign_cert)
        try:
            signer = prepare_signer(sign_key, sign_cert, kernel_dir=tree.root, config=tree.config)
        except InputError as error:
            problem = error.message
    target_signer = module_signer(module.path) if module.signature is not None else None
    return SigningFacts(
        policy=policy,
        target_signed=module.signature is not None,
        target_signer=target_signer,
        signer=signer,
        signer_problem=problem,
    )


def _check_release(expected: str, tree: TreeFacts) -> Check:
    found = tree.release
    if found == expected:
        return Check("release", True, expected, f"{found} ({tree.release_source})")
    if found is None:
        fix = (
            f"prepare {tree.root}: copy the target's config to .config, then "
            f"make -C {tree.root} olddefconfig modules_prepare"
        )
        return Check("release", False, expected, f"unknown: {tree.release_source}", fix)
    if tree.kind == "kernel-dir":
        fix = (
            f"build against the target's own build directory: --kernel-dir "
            f"/usr/src/linux-headers-{expected} (Debian/Ubuntu: apt-get install "
            f"linux-headers-{expected}) or /lib/modules/{expected}/build"
        )
    elif expected.startswith(_base(found, tree)):
        suffix = expected[len(_base(found, tree)) :]
        fix = (
            f'set CONFIG_LOCALVERSION="{suffix}" (and CONFIG_LOCALVERSION_AUTO off) in '
            f"{tree.root}/.config, then make olddefconfig modules_prepare"
        )
    else:
        fix = (
            f"the tree is {found}, the target runs {expected}: build against the target's "
            f"headers (--kernel-dir /usr/src/linux-headers-{expected}), or, if this tree is "
            f"that kernel's source under a distribution's release name, prepare it with "
            f"make KERNELRELEASE={expected} modules_prepare"
        )
    return Check("release", False, expected, f"{found} ({tree.release_source})", fix)


def _base(found: str, tree: TreeFacts) -> str:
    # The release without CONFIG_LOCALVERSION: the part a LOCALVERSION change cannot alter.
    local = ""
    if tree.config is not None:
        local = (tree.config.value("LOCALVERSION") or "").strip('"')
    if local and found.endswith(local):
        return found[: -len(local)]
    return found


def _check_word_size(module: ModuleInfo, tree: TreeFacts) -> Check:
    expected = f"{module.elf_class}-bit ({module.machine})"
    if tree.config is None:
        return Check("word-size", True, expected, "no config to compare (not checked)")
    config_bits = 64 if tree.config.state("64BIT") == "y" else 32
    if tree.config.state("64BIT") == "n" and tree.config.state("X86_64") == "y":
        config_bits = 64
    found = f"{config_bits}-bit (CONFIG_64BIT={'y' if config_bits == 64 else 'n'})"
    if config_bits == module.elf_class:
        return Check("word-size", True, expected, found)
    fix = (
        "configure a 32-bit build: CONFIG_64BIT unset (x86: ARCH=i386 with CONFIG_M686 or the "
        "target's CPU family)"
        if module.elf_class == 32
        else "configure a 64-bit build: CONFIG_64BIT=y (x86: ARCH=x86_64)"
    )
    return Check("word-size", False, expected, found, fix)


def _check_flags(target_flags: tuple[str, ...], tree: TreeFacts) -> Check:
    expected = " ".join(target_flags) or "(none)"
    derived = tree.expected_flags
    if derived is None:
        return Check(
            "vermagic-flags",
            False,
            expected,
            f"no .config in {tree.root}",
            f"copy the target's config (/boot/config-RELEASE) to {tree.root}/.config, or pass "
            "--config FILE",
        )
    comparable_target = [word for word in target_flags if _derivable(word)]
    unchecked = [word for word in target_flags if not _derivable(word)]
    target_set = {_normal_flag(word) for word in comparable_target}
    derived_set = set(derived)
    found = " ".join(derived) or "(none)"
    if unchecked:
        found += f"  (not derivable, not compared: {' '.join(unchecked)})"
    if target_set == derived_set:
        return Check("vermagic-flags", True, expected, found)
    missing = [word for word in comparable_target if _normal_flag(word) not in derived_set]
    extra = [word for word in derived if word not in target_set]
    steps: list[str] = []
    for word in missing:
        steps.append(_enable_step(word))
    for word in extra:
        steps.append(_disable_step(word))
    where = (
        "these headers are for another kernel flavour; use the target's own headers"
        if tree.kind == "kernel-dir"
        else f"in {tree.root}/.config " + "; ".join(steps) + ", then make olddefconfig"
    )
    if tree.kind == "kernel-dir" and steps:
        where += " (" + "; ".join(steps) + ")"
    return Check("vermagic-flags", False, expected, found, where)


def _normal_flag(word: str) -> str:
    return _RANDSTRUCT_PREFIX if word.startswith(_RANDSTRUCT_PREFIX) else word


def _enable_step(word: str) -> str:
    if word == "preempt":
        return "set CONFIG_PREEMPT=y (6.1: or CONFIG_PREEMPT_DYNAMIC=y; both give 'preempt')"
    if word.startswith(_RANDSTRUCT_PREFIX):
        return "the target uses RANDSTRUCT: build with its generated seed (its own build tree)"
    if word in _FAMILY_OPTION:
        return f"set CONFIG_{_FAMILY_OPTION[word]}=y (CPU family {word})"
    return f"set {_FLAG_OPTIONS[word]}=y"


def _disable_step(word: str) -> str:
    if word == "preempt":
        return "choose the target's preemption model (CONFIG_PREEMPT_NONE=y or VOLUNTARY)"
    if word.startswith(_RANDSTRUCT_PREFIX):
        return "set CONFIG_RANDSTRUCT_NONE=y"
    if word in _FAMILY_OPTION:
        return f"unset CONFIG_{_FAMILY_OPTION[word]} (the target has another CPU family)"
    return f"unset {_FLAG_OPTIONS[word]}"


def _check_compiler(module: ModuleInfo, compiler: CompilerFacts, tree: TreeFacts) -> Check:
    target_version = module.compiler_version
    vermagic = module.vermagic
    if module.compiler is not None:
        expected = module.compiler
    elif vermagic is not None and vermagic.gcc is not None:
        expected = f"gcc-{vermagic.gcc} (vermagic)"
    else:
        expected = "unknown (no .comment, no gcc in vermagic)"
    if compiler.version_line is None:
        suggestion = _suggest_cc(target_version, tree)
        return Check(
            "compiler",
            False,
            expected,
            compiler.problem or f"{compiler.command}: not runnable",
            f"install the compiler and pass --cc {suggestion}"
            if suggestion
            else "install gcc (apt-get install gcc) or pass --cc PATH",
        )
    found = f"{compiler.command}: {compiler.version_line}"
    if target_version is None:
        return Check("compiler", True, expected, found + " (target compiler unknown; not compared)")
    local = compiler.version or ""
    # vermagic's gcc-4.0 only names major.minor; .comment names the full version.
    depth = len(target_version.split("."))
    if local.split(".")[:depth] == target_version.split("."):
        return Check("compiler", True, expected, found)
    suggestion = _suggest_cc(target_version, tree)
    fix = f"the target was built with gcc {target_version}; install it and pass --cc {suggestion}"
    return Check("compiler", False, expected, found, fix)


def _suggest_cc(version: str | None, tree: TreeFacts) -> str | None:
    if version is None:
        return None
    if tree.config is not None:
        text = (tree.config.value("CC_VERSION_TEXT") or "").strip('"')
        if text and compiler_version(text) == version:
            return text.split()[0]
    parts = version.split(".")
    # gcc-4.0 for the 4.x series (Debian named them so), gcc-12 from GCC 5 on.
    if parts[0].isdigit() and int(parts[0]) < 5 and len(parts) > 1:
        return f"gcc-{parts[0]}.{parts[1]}"
    return f"gcc-{parts[0]}"


def _check_cc_version_text(config: KernelConfig, compiler: CompilerFacts) -> Check:
    text = (config.value("CC_VERSION_TEXT") or "").strip('"')
    found = compiler.version_line or (compiler.problem or "not runnable")
    program = text.split()[0] if text.split() else "gcc"
    fix = (
        f"pass --cc {program}: Kbuild compares `$(CC) --version` with the config and "
        "reconfigures (in tree) or warns (out of tree) when they differ"
    )
    if compiler.version_line is None:
        return Check("compiler-config", False, text, found, fix)
    # Compare without the program name: "gcc-12 (Debian ...) 12.2.0" is "gcc (Debian ...) 12.2.0".
    if _drop_program(text) == _drop_program(compiler.version_line):
        return Check("compiler-config", True, text, found)
    return Check("compiler-config", False, text, found, fix)


def _drop_program(line: str) -> str:
    parts = line.split(None, 1)
    return parts[1].strip() if len(parts) == 2 else line.strip()


def _check_prepared(tree: TreeFacts) -> Check:
    expected = "a configured, prepared build directory (include/generated/autoconf.h)"
    if tree.prepared:
        return Check("prepared", True, expected, f"{tree.root}: prepared")
    if tree.kind == "kernel-dir":
        fix = (
            f"{tree.root} is not a prepared build directory; install the headers package "
            "(linux-headers-RELEASE) and point --kernel-dir at it"
        )
    else:
        fix = f"make -C {tree.root} olddefconfig modules_prepare"
    return Check("prepared", False, expected, f"{tree.root}: not prepared", fix)


def _check_symvers(tree: TreeFacts, release: str) -> Check:
    expected = "Module.symvers (symbol CRCs for modversions)"
    if tree.has_symvers:
        return Check("symvers", True, expected, f"{tree.root}/Module.symvers")
    fix = (
        f"copy Module.symvers of the target's build (/usr/src/linux-headers-{release}/"
        f"Module.symvers or /lib/modules/{release}/build/Module.symvers) into {tree.root}; "
        "without it the modules carry no CRCs and the kernel refuses them"
    )
    return Check("symvers", False, expected, "missing", fix)


def _check_signing(facts: SigningFacts) -> Check:
    # The reasons behind the policy are in facts.policy.reasons (shown beside the table and in
    # the JSON); the check's cells stay short.
    policy = facts.policy
    if facts.target_signed:
        target = f"the target's modules are signed ({facts.target_signer or 'signer unknown'})"
    else:
        target = "the target's modules are not signed"
    if policy is None:
        return Check("signing", True, "unknown (no config)", f"{target}; not checked")
    expected = {
        "yes": "signed modules (the kernel refuses unsigned ones)",
        "secure-boot": "signed modules if the target boots with Secure Boot",
        "no": "nothing (unsigned modules load)",
    }[policy.enforced]
    if facts.signer_problem is not None:
        return Check(
            "signing",
            False,
            expected,
            f"the key given cannot sign: {facts.signer_problem}",
            KEY_HELP,
        )
    if facts.signer is not None:
        subject = facts.signer.subject or str(facts.signer.cert)
        return Check(
            "signing",
            True,
            expected,
            f"signed with {subject} ({facts.signer.hash}); {target}",
            note=(
                f"the target trusts the modules only if it trusts this key: check with "
                f"mokutil --test-key {facts.signer.cert} on the target, and enroll it with "
                f"mokutil --import {facts.signer.cert} (reboot, confirm in MokManager) "
                f"unless it is in the kernel's keyring already"
            ),
        )
    found = f"no key given (--sign-key/--sign-cert); {target}"
    if policy.enforced == "yes":
        return Check("signing", False, expected, found, KEY_HELP)
    if policy.enforced == "secure-boot":
        # The kernel does not force signatures; only Secure Boot's lockdown would, and nobody
        # said whether the target boots with it (most cloud and server machines do not).
        # Failing here would fail every such machine over a fact nobody gave: warn, say what
        # to ask, and fail once --secure-boot on says the refusal is real.
        return Check(
            "signing",
            True,
            expected,
            found,
            note="unsigned modules are refused only if the target boots with Secure Boot; ask "
            "it (mokutil --sb-state) and tell preflight with --secure-boot on|off. If it does: "
            + KEY_HELP,
            warning=True,
        )
    note = (
        "unsigned modules load, but taint the kernel ('module verification failed' in its log)"
        if policy.checks_signatures
        else None
    )
    return Check("signing", True, expected, found, note=note)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None

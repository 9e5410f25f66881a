"""Helpers shared by the subcommands: reading patches, selection options, output streams.

It turns argparse namespaces into library calls and library results into text; it holds no
domain logic of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable

from patchsmith.errors import UsageError
from patchsmith.patchfile.index import PatchIndex, index_sources
from patchsmith.patchfile.select import RangeSet, Selection, SelectionResult
from patchsmith.patchfile.source import STDIN, read_sources

# Imports for the type checker only (mypy reads TYPE_CHECKING as true): typing alone cost 1.6 ms
# of ``filter``'s start-up, and the Kbuild classifier is loaded only when an option needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from patchsmith.kernel.selection import Classifier


def add_patch_argument(parser: argparse.ArgumentParser, stdin_default: bool = False) -> None:
    """The PATCH arguments and ``--max-size``. ``stdin_default``: no PATCH reads standard input,
    as filterdiff and lsdiff do (``bzcat patch.bz2 | patchsmith filter --only drivers/md``)."""
    parser.add_argument(
        "patch",
        nargs="*" if stdin_default else "+",
        metavar="PATCH",
        help="patch file (plain, .gz, .bz2, .xz, .zst; detected by content), '-' for stdin, an "
        "mbox or git format-patch output, a folder of *.patch files, or a quilt series file"
        + ("; none: standard input" if stdin_default else ""),
    )
    parser.add_argument(
        "--max-size",
        type=parse_size,
        metavar="SIZE",
        help="the most a compressed patch (or stdin; for apply, --base's tarball too) may "
        "expand to, e.g. 4G or 500M (default: the larger of 1G and 64 times the compressed "
        "size; more is refused as a likely decompression bomb)",
    )


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``4G``, ``500M``, ``64KiB`` or a number of bytes (argparse ``type``)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = cleaned.rstrip("KMGT"), cleaned[len(cleaned.rstrip("KMGT")) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _SIZE_UNITS or not value > 0 or value != value:  # value != value: NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 4G, 500M, 1048576)")
    return int(value * _SIZE_UNITS[unit])


def read_index(paths: Iterable[str], lazy: bool = False, max_size: int | None = None) -> PatchIndex:
    """Read and index the patch arguments (none: standard input); ``lazy`` reads hunks on first
    use (``filter``); ``max_size`` is ``--max-size``."""
    names = list(paths)
    if not names:
        if _stdin_is_terminal():
            # filterdiff would wait for a patch typed in; a person who forgot the file name is
            # better served by being told.
            raise UsageError(
                "no patch given, and standard input is a terminal",
                hint="name a patch file, or pipe one in (bzcat patch.bz2 | patchsmith ...)",
            )
        names = [STDIN]
    return index_sources(read_sources(names, max_size=max_size), lazy=lazy)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed: reading it says so with its own message
        return False


def path_components(text: str) -> int:
    """A number of path components, 0 or more (argparse ``type`` of ``-p`` and ``--strip``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of path components (0, 1, ...)")
    return value


# -p has two meanings among the tools users know, and each command takes the one of the tool it
# stands in for: patch's where a command looks files up in a tree (check, apply), filterdiff's
# where it only selects (filter, ls). These two functions are the only places -p is defined
# (tests/cli/test_strip_and_lookup.py holds every command to that), so the two cannot drift apart.
STRIP_LOOKUP_HELP = (
    "as patch -pN: strip N leading path components from the patch's names to find each file "
    "in the tree (default: detected, 1 for a/ b/ prefixes); also what --only and the Kbuild "
    "classes see"
)
STRIP_MATCH_HELP = (
    "as filterdiff -pN: strip N leading path components before matching -i/-x globs and --only "
    "(default: globs see the whole name, --only detects the prefix); names in the patch are "
    "not changed (filter --strip does that)"
)


def add_strip_lookup_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``-p N``/``--strip N`` with GNU patch's meaning, for commands that read the tree."""
    parser.add_argument(
        "-p", "--strip", type=path_components, default=None, metavar="N", help=STRIP_LOOKUP_HELP
    )


def add_strip_match_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, short: bool = True
) -> None:
    """``-p N``/``--strip-match N`` with filterdiff's meaning, for commands that only select;
    ``short=False`` leaves ``-p`` to patch's meaning (:func:`add_strip_lookup_option`)."""
    parser.add_argument(
        *(("-p", "--strip-match") if short else ("--strip-match",)),
        type=path_components,
        default=None,
        metavar="N",
        help=STRIP_MATCH_HELP,
    )


def add_selection_options(
    parser: argparse.ArgumentParser,
    tree_option: bool = True,
    strip_match: bool = True,
    hunk_ranges: bool = True,
) -> None:
    """filterdiff's selection options, with filterdiff's meanings, plus ``--only`` and Kbuild.

    ``tree_option`` adds ``--tree``; commands that already take a target tree (check, apply)
    pass ``False`` and their ``--tree`` serves the Kbuild options too. ``strip_match`` gives
    filterdiff's ``-p``; commands that read a tree pass ``False``, keep ``--strip-match`` and
    add patch's ``-p`` (:func:`add_strip_lookup_option`), which then serves ``--only``.
    ``hunk_ranges`` adds ``-#/--hunks`` and ``--lines`` (``ls`` lists files, and its
    ``--hunks`` shows them).
    """
    group = parser.add_argument_group(
        "selection (filterdiff's meanings: globs cross '/', an exclude wins whatever the order)"
    )
    group.add_argument(
        "-i",
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="keep files whose name matches GLOB (e.g. '*/drivers/md/*'); repeatable",
    )
    group.add_argument(
        "-x",
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files whose name matches GLOB; repeatable; wins over -i",
    )
    group.add_argument(
        "-I",
        "--include-from-file",
        action="append",
        default=[],
        metavar="FILE",
        help="read include globs from FILE, one per line",
    )
    group.add_argument(
        "-X",
        "--exclude-from-file",
        action="append",
        default=[],
        metavar="FILE",
        help="read exclude globs from FILE, one per line",
    )
    add_strip_match_option(group, short=strip_match)
    group.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="DIR",
        help="keep files under DIR whatever the path prefix (a/, linux-2.6.16.29/, none); "
        "repeatable",
    )
    if hunk_ranges:
        group.add_argument(
            "-#",
            "--hunks",
            dest="hunk_range",
            metavar="RANGE",
            help="keep these hunks of each file, numbered per file: 1,3-5,7- (x inverts)",
        )
    group.add_argument("--files", metavar="RANGE", help="keep these file diffs: 1,3-5 (x inverts)")
    if hunk_ranges:
        group.add_argument(
            "--lines",
            metavar="RANGE",
            help="keep hunks touching these lines of the original file: 100-200 (x inverts)",
        )
    group.add_argument(
        "--invert",
        action="store_true",
        help="keep exactly the files the path rules would leave out",
    )
    group.add_argument(
        "-z",
        "--decompress",
        action="store_true",
        help="accepted for filterdiff compatibility; compressed input is always detected",
    )
    add_kbuild_options(parser, tree_option)


def add_kbuild_options(parser: argparse.ArgumentParser, tree_option: bool = True) -> None:
    group = parser.add_argument_group(
        "Kbuild selection (what the tree's Makefiles and the .config build as a module)"
    )
    if tree_option:
        group.add_argument("--tree", metavar="DIR", help="the kernel tree whose Kbuild to read")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="the kernel .config (a config-* file or a gzip /proc/config.gz copy works too)",
    )
    group.add_argument(
        "--arch", metavar="ARCH", help="architecture (default: derived from the config)"
    )
    group.add_argument(
        "--modules-only",
        action="store_true",
        help="keep only files that build into a loadable module (same as --class module)",
    )
    group.add_argument(
        "--class",
        dest="classes",
        metavar="LIST",
        help="keep files of these classes: module, builtin, not-built, header, build-system, "
        "docs, tools, other-arch, unknown (comma-separated)",
    )


def _patterns_from(files: list[str]) -> list[str]:
    patterns: list[str] = []
    for name in files:
        try:
            with open(name, encoding="utf-8", errors="surrogateescape") as stream:
                text = stream.read()
        except OSError as error:
            from patchsmith.paths import path_error

            raise path_error(
                f"{name}: cannot read pattern file",
                error,
                name,
                hint="-I/-X take a file of patterns, one per line",
                kind=UsageError,
            ) from error
        patterns.extend(line.strip() for line in text.splitlines() if line.strip())
    return patterns


def selection_from_args(
    args: argparse.Namespace, index: PatchIndex | None = None, strip: int | None = None
) -> Selection:
    """The selection the options ask for. ``index`` is the patch it will select from: the
    Kbuild classes read the tree as that patch leaves it; ``strip`` is the level that makes its
    names tree paths when the command takes one of its own (patch's ``-p`` of check and apply:
    then globs match whole names, as ``patch`` has none)."""
    match_strip = getattr(args, "strip_match", None)
    if strip is None:
        strip = match_strip
    rules: tuple[Callable[[str], str | None], ...] = ()
    classifier = classifier_from_args(args, index, strip)
    wanted = getattr(args, "classes", None)
    if getattr(args, "modules_only", False) or wanted:
        from patchsmith.kernel.selection import MODULES_ONLY, ClassRule, parse_classes

        if classifier is None:
            raise UsageError(
                "--modules-only and --class need --tree DIR and --config FILE",
                hint="pass the kernel tree and the .config of the running kernel "
                "(e.g. /boot/config-$(uname -r))",
            )
        keep = parse_classes(wanted) if wanted else MODULES_ONLY
        if wanted and args.modules_only:
            keep = keep | MODULES_ONLY
        rules = (ClassRule(classifier, keep),)
    return Selection(
        file_rules=rules,
        includes=tuple(args.include) + tuple(_patterns_from(args.include_from_file)),
        excludes=tuple(args.exclude) + tuple(_patterns_from(args.exclude_from_file)),
        match_strip=match_strip or 0,
        only=tuple(d.strip("/") for d in args.only),
        strip=strip,
        hunks=_ranges(args, "hunk_range", "--hunks range"),
        files=_ranges(args, "files", "--files range"),
        lines=_ranges(args, "lines", "--lines range"),
        invert=args.invert,
    )


def refuse_a_wrong_lookup(result: SelectionResult, tree: str) -> None:
    """Stop before a wall of ``missing-file`` rows (or a bogus conflict on a file of the same
    name elsewhere) when another ``-p`` or tree root finds the files (check, apply)."""
    from pathlib import Path

    from patchsmith.engine.lookup import diagnose

    diagnosis = diagnose(
        [d.entry for d in result.kept],
        Path(tree),
        result.strip,
        [d.entry for d in result.decisions],
    )
    if diagnosis is not None:
        what = "the --tree you mean" if diagnosis.also else diagnosis.suggestion()
        raise UsageError(
            diagnosis.message(tree),
            hint=f"run it again with {what} (-p strips path components as patch -p does; "
            "--tree is the folder with the tree's top-level Makefile)",
        )


def _ranges(args: argparse.Namespace, name: str, what: str) -> RangeSet | None:
    text = getattr(args, name, None)
    return RangeSet.parse(text, what) if text else None


def classifier_from_args(
    args: argparse.Namespace, index: PatchIndex | None = None, strip: int | None = None
) -> Classifier | None:
    """The Kbuild classifier for ``--tree``/``--config``/``--arch``, or ``None`` without them;
    with ``index``, on the tree as that patch leaves it (``strip`` as in
    :func:`selection_from_args`).

    Kept on ``args``, so ``selection_from_args`` and the command's own rendering (class
    columns, ``--explain``) share every answer: the first call decides the patch.
    """
    cached: Classifier | None = getattr(args, "classifier_cache", None)
    if cached is not None:
        return cached
    tree, config = getattr(args, "tree", None), getattr(args, "config", None)
    if config is None:
        return None
    if tree is None:
        raise UsageError("--config needs --tree DIR", hint="the kernel tree whose Kbuild to read")
    from patchsmith.kernel.selection import Classifier

    classifier = Classifier(tree, config, getattr(args, "arch", None), index, strip)
    args.classifier_cache = classifier
    return classifier


def stdout_bytes() -> BinaryIO:
    return sys.stdout.buffer


def print_json(document: Any, indent: int | None = 2) -> None:
    sys.stdout.write(json_text(document, indent) + "\n")


def json_text(document: Any, indent: int | None = 2) -> str:
    """``document`` as JSON text that any encoder can write.

    A name that is not UTF-8 (a Latin-1 file name) is held as surrogates; they are written as
    ``\\udcXX`` escapes, which ``json.loads`` turns back into the same string (and the
    ``surrogateescape`` codec into the same bytes). Everything else stays as it is.
    """
    import json  # here, not at the top: json's import is a tenth of filter's start-up

    text = json.dumps(document, indent=indent, ensure_ascii=False)
    if _has_surrogates(text):
        import re

        text = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def write_output(path: str | None, chunks: Iterable[bytes]) -> None:
    """``chunks`` to ``-o FILE`` (whole or not at all: :mod:`patchsmith.output`) or stdout."""
    if path is None or path == "-":
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    from patchsmith.output import write_output as write_file

    write_file(path, chunks)

"""Benchmark: classify every file of a real stable patch against a real tree and config.

    .venv/bin/python benchmarks/bench_classify.py SCENARIO_DIR [--modules-dir DIR] [--list]

SCENARIO_DIR is what ``../shared/realdata/make-scenario`` writes (``upstream.patch``,
``vendor-old/``, ``config``). Prints the time to classify every path of the patch (target: 2 s,
reading only the Kbuild files on the paths involved) and the count per class.

With ``--modules-dir`` (``lib/modules/VERSION`` of an extracted ``linux-image-*`` package built
from the same config) it also scores the classes of the ``.c`` files under drivers/ fs/ net/
sound/ crypto/ block/ lib/ against the package's ``modules.order`` and ``modules.builtin``:

- ``module`` agrees when its ``.ko`` is in modules.order;
- ``builtin`` agrees when its object is not a module there (and is confirmed when it is in
  modules.builtin);
- ``not-built`` agrees when no module or built-in module of that name exists in the directory;
- with ``--symbols`` the ``.ko`` files' symbol tables are read too (pyelftools), so a file whose
  functions sit in a module we did not predict counts as a disagreement, whatever its Makefile.

Opt-in: needs gigabytes of real data, never runs in CI.
"""

from __future__ import annotations

import argparse
import collections
import posixpath
import re
import sys
import time
from pathlib import Path

from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import load_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.patchfile.index import index_bytes

SCORED = ("drivers/", "fs/", "net/", "sound/", "crypto/", "block/", "lib/")

# int dm_table_create(struct dm_table **result, blk_mode_t mode,      (a function definition line)
_FUNCTION = re.compile(rb"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w{3,})\s*\([^;]*$", re.M)


def patch_paths(patch: Path) -> list[str]:
    index = index_bytes(patch.read_bytes(), str(patch))
    paths = []
    for entry in index.files:
        path = entry.path
        if entry.git or path.startswith(("a/", "b/")):
            path = path.split("/", 1)[1]
        paths.append(path)
    return list(dict.fromkeys(paths))


def ko_symbols(modules_dir: Path) -> dict[str, str]:
    """Function symbol → the .ko defining it (only names defined by exactly one module)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    owner: dict[str, str] = {}
    clash: set[str] = set()
    for ko in sorted((modules_dir / "kernel").rglob("*.ko")):
        relative = str(ko.relative_to(modules_dir))
        with ko.open("rb") as handle:
            elf = ELFFile(handle)
            table = elf.get_section_by_name(".symtab")
            if not isinstance(table, SymbolTableSection):
                continue
            for symbol in table.iter_symbols():
                if symbol["st_info"]["type"] != "STT_FUNC" or symbol["st_shndx"] == "SHN_UNDEF":
                    continue
                name = symbol.name.split(".")[0]
                if name in owner and owner[name] != relative:
                    clash.add(name)
                owner[name] = relative
    return {name: ko for name, ko in owner.items() if name not in clash}


def functions_of(path: Path) -> set[str]:
    try:
        data = path.read_bytes()
    except OSError:
        return set()
    names = {m.group(1).decode() for m in _FUNCTION.finditer(data)}
    return names - {"if", "for", "while", "switch", "return", "sizeof"}


def score(
    tree_root: Path,
    classes: dict[str, Classification],
    modules_dir: Path,
    symbols: dict[str, str] | None,
) -> tuple[int, int, list[str]]:
    order = set((modules_dir / "modules.order").read_text().split())
    builtin = set((modules_dir / "modules.builtin").read_text().split())
    agree = 0
    total = 0
    disagreements: list[str] = []
    for path, found in sorted(classes.items()):
        if not (path.endswith(".c") and path.startswith(SCORED)):
            continue
        total += 1
        truth, detail = _truth(path, found, order, builtin)
        if symbols is not None and truth == "agree":
            names = functions_of(tree_root / path)
            owners = collections.Counter(symbols[name] for name in names if name in symbols)
            # Static helpers share names across files (probe, init_once); only a module that
            # holds most of the file's functions counts as where the file went.
            ko, count = owners.most_common(1)[0] if owners else ("", 0)
            if count >= max(3, len(names) // 2):
                expected = {"kernel/" + o for o in found.objects}
                if found.kind != FileClass.MODULE or ko not in expected:
                    truth, detail = "disagree", f"{count}/{len(names)} of its functions are in {ko}"
        if truth == "agree":
            agree += 1
        else:
            disagreements.append(f"{path}: predicted {found.kind} {found.module or ''} — {detail}")
    return agree, total, disagreements


def _truth(path: str, found: Classification, order: set[str], builtin: set[str]) -> tuple[str, str]:
    own = "kernel/" + posixpath.splitext(path)[0] + ".ko"
    if found.kind == FileClass.MODULE:
        missing = [o for o in found.objects if "kernel/" + o not in order]
        if not missing:
            return "agree", ""
        where = "modules.builtin" if "kernel/" + missing[0] in builtin else "nowhere"
        return "disagree", f"{missing[0]} is not in modules.order ({where})"
    if found.kind == FileClass.BUILTIN:
        modules = [
            o for o in found.objects if "kernel/" + posixpath.splitext(o)[0] + ".ko" in order
        ]
        if modules:
            return "disagree", f"{modules[0]} is a module in modules.order"
        return "agree", ""
    if found.kind == FileClass.NOT_BUILT:
        if own in order:
            return "disagree", f"{own} is in modules.order"
        if own in builtin:
            return "disagree", f"{own} is in modules.builtin"
        return "agree", ""
    return "disagree", f"{found.kind}: {found.reason}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--modules-dir", type=Path, help="lib/modules/VERSION of a linux-image")
    parser.add_argument("--symbols", action="store_true", help="also check .ko symbol tables")
    parser.add_argument("--list", action="store_true", help="print every path with its class")
    parser.add_argument("--repeat", type=int, default=3, help="runs to time (best is shown)")
    args = parser.parse_args(argv)

    paths = patch_paths(args.scenario / "upstream.patch")
    config = load_config(args.scenario / "config")
    times = []
    classes: dict[str, Classification] = {}
    for _run in range(args.repeat):
        start = time.perf_counter()
        tree = KbuildTree(args.scenario / "vendor-old", config)
        classes = classify(tree, paths)
        times.append(time.perf_counter() - start)
    print(f"classified {len(paths)} paths in {min(times):.3f} s (best of {len(times)}; target 2 s)")
    counts = collections.Counter(c.kind for c in classes.values())
    print("  " + ", ".join(f"{kind}: {n}" for kind, n in counts.most_common()))
    if args.list:
        for path, found in classes.items():
            print(f"{found.kind:12} {found.module or '-':24} {path}  # {found.reason}")
    if args.modules_dir is not None:
        symbols = ko_symbols(args.modules_dir) if args.symbols else None
        agree, total, disagreements = score(
            args.scenario / "vendor-old", classes, args.modules_dir, symbols
        )
        share = 100.0 * agree / total if total else 0.0
        print(f"agreement with {args.modules_dir}: {agree}/{total} = {share:.1f}% (target 98%)")
        for line in disagreements:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

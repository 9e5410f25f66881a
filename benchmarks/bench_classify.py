"""Benchmark: classify every file of real stable patches against a real tree, checked against
the modules Debian built from the same config.

    .venv/bin/python benchmarks/bench_classify.py SCENARIO_DIR [--patch P ...] [--image DIR]
        [--modules-dir DIR] [--symbols] [--list]

SCENARIO_DIR is what ``../shared/realdata/make-scenario`` writes (``upstream.patch``,
``vendor-old/``, ``config``). Every path of ``upstream.patch`` (and of each ``--patch``, to
cover more files) is classified on ``vendor-old`` as ``upstream.patch`` leaves it, the way the
command line does. It prints the time (target: 2 s) and the count per class, then:

- **the tree named two ways**: the same classification with ``--tree`` relative (from the
  scenario's parent folder and from the scenario folder) and absolute; every class must be equal;
- **order and company**: classified in reverse order, and each of a sample of paths alone with
  a fresh classifier; every class must be equal to the one in the whole run.

With ``--image DIR`` (a ``dpkg -x`` of ``linux-image-6.1.0-N-cloud-amd64`` whose config is the
scenario's) the ground truth is what Debian's compiler saw. Each ``.ko`` names the source files
compiled into it in its ``__FILE__`` strings (``kvm.ko`` holds
``arch/x86/kvm/../../../virt/kvm/kvm_main.c``), and so does the kernel image for built-in code
(``boot/vmlinuz-*`` is decompressed: gzip, xz, zstd, bzip2, lzma, or lz4 through the ``lz4``
program). No Makefile reading produced those names:

- a ``.c`` file a ``.ko`` names must be ``module`` with that module among its modules (agreement
  must be 100%), and one the kernel image names must be ``builtin``;
- a header a ``.ko`` names is included by that module, one the image names by built-in code: a
  header classified ``module`` (module-private) must not be named by the image nor by a module it
  does not list, and a header classified ``shared`` is confirmed when the image names it.

``--modules-dir`` (``lib/modules/VERSION``; taken from ``--image`` when given) also scores the
``.c`` files under drivers/ fs/ net/ sound/ crypto/ block/ lib/ against ``modules.order`` and
``modules.builtin`` by module name, as before; ``--symbols`` adds the ``.ko`` symbol tables.

Opt-in: needs gigabytes of real data, never runs in CI.
"""

from __future__ import annotations

import argparse
import bz2
import collections
import gzip
import lzma
import os
import posixpath
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from hermetic import isolate

from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import KernelConfig, load_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.kernel.patched import patched_tree
from patchsmith.patchfile.index import PatchIndex, index_bytes
from patchsmith.patchfile.select import detect_strip, strip_components

SCORED = ("drivers/", "fs/", "net/", "sound/", "crypto/", "block/", "lib/")

# int dm_table_create(struct dm_table **result, blk_mode_t mode,      (a function definition line)
_FUNCTION = re.compile(rb"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w{3,})\s*\([^;]*$", re.M)

# \0drivers/md/dm-verity-target.c\0   \0\x015arch/x86/kvm/../../../virt/kvm/kvm_main.c\0
# (a NUL-terminated __FILE__ string, maybe behind a printk level: KERN_SOH and a digit)
_FILE_STRING = re.compile(rb"\x00(?:\x01[0-7c])?([A-Za-z0-9_][A-Za-z0-9_.+,/\-]*\.[ch])\x00")


def read_patch(patch: Path) -> PatchIndex:
    return index_bytes(patch.read_bytes(), str(patch))


def patch_paths(index: PatchIndex) -> list[str]:
    strip = detect_strip(index)
    return list(dict.fromkeys(strip_components(entry.path, strip) for entry in index.files))


# --- ground truth from the image ------------------------------------------------------------------


def file_strings(data: bytes) -> set[str]:
    """The tree paths of the ``__FILE__`` strings in an ELF file's bytes, normalised."""
    found = set()
    for match in _FILE_STRING.finditer(data):
        path = posixpath.normpath(match.group(1).decode("ascii", "replace"))
        if "/" in path and not path.startswith(("/", "..")):
            found.add(path)
    return found


def module_files(modules_dir: Path) -> dict[str, set[str]]:
    """Tree path of a .c or .h file → the modules (``.ko`` names) that name it."""
    named: dict[str, set[str]] = collections.defaultdict(set)
    for ko in sorted((modules_dir / "kernel").rglob("*.ko*")):
        data = ko.read_bytes()
        if ko.name.endswith(".ko.xz"):
            data = lzma.decompress(data)
        elif ko.name.endswith(".ko.gz"):
            data = gzip.decompress(data)
        elif ko.name.endswith(".ko.zst"):
            import zstandard

            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        name = ko.name.split(".ko")[0]
        for path in file_strings(data):
            named[path].add(name)
    return dict(named)


def vmlinux_files(image: Path) -> set[str] | None:
    """The ``__FILE__`` paths of the kernel image (``boot/vmlinuz-*``), or None if unreadable."""
    found = sorted(image.glob("boot/vmlinuz-*"))
    if not found:
        return None
    data = found[0].read_bytes()
    # The bzImage setup header: setup_sects at 0x1f1, payload_offset and _length at 0x248.
    setup_sectors = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sectors + 1) * 512 + offset
    payload = data[start : start + length]
    try:
        if payload.startswith(b"\x1f\x8b"):
            kernel = gzip.decompress(payload)
        elif payload.startswith(b"\xfd7zXZ\x00"):
            kernel = lzma.decompress(payload)
        elif payload.startswith(b"BZh"):
            kernel = bz2.decompress(payload)
        elif payload.startswith(b"\x5d\x00\x00"):
            kernel = lzma.decompress(payload, format=lzma.FORMAT_ALONE)
        elif payload.startswith(b"\x28\xb5\x2f\xfd"):
            import zstandard

            kernel = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
        elif payload.startswith(b"\x02\x21\x4c\x18"):
            # lz4's legacy frame, which no Python module in reach reads; lz4 reads it from a
            # file only (from a pipe it stops at the first block).
            with tempfile.TemporaryDirectory() as folder:
                compressed = Path(folder) / "payload.lz4"
                compressed.write_bytes(payload)
                # The payload ends with the image's size, which lz4 reads as a broken frame
                # and exits 1 after writing the whole kernel.
                done = subprocess.run(
                    ["lz4", "-d", "-c", str(compressed)], capture_output=True, check=False
                )
                if not done.stdout.startswith(b"\x7fELF"):
                    raise OSError(done.stderr.decode(errors="replace").strip())
                kernel = done.stdout
        else:
            return None
    except (OSError, lzma.LZMAError, subprocess.CalledProcessError) as error:
        print(f"cannot decompress {found[0]}: {error}", file=sys.stderr)
        return None
    return file_strings(kernel)


# --- classifying ----------------------------------------------------------------------------------


def classify_tree(
    tree: str | Path, config: KernelConfig, index: PatchIndex, paths: list[str]
) -> dict[str, Classification]:
    """What ``ls --tree TREE`` says: the tree as the patch leaves it."""
    files = patched_tree(index, tree, name="upstream.patch")
    return classify(KbuildTree(tree, config, files=files), paths)


def differences(first: dict[str, Classification], second: dict[str, Classification]) -> list[str]:
    return [
        f"{path}: {first[path].kind} {first[path].module or ''} vs "
        f"{second[path].kind} {second[path].module or ''}"
        for path in first
        if (first[path].kind, first[path].modules) != (second[path].kind, second[path].modules)
    ]


def score_ko(
    classes: dict[str, Classification], named: dict[str, set[str]], image: set[str] | None
) -> tuple[int, int, int, int, list[str]]:
    """(.c files a .ko names, of them right, .c files the image names, of them right, misses)."""
    ko_total = ko_right = image_total = image_right = 0
    misses: list[str] = []
    for path, found in sorted(classes.items()):
        if not path.endswith(".c"):
            continue
        modules = named.get(path)
        if modules:
            ko_total += 1
            if found.kind == FileClass.MODULE and modules <= set(found.modules):
                ko_right += 1
            else:
                misses.append(
                    f"{path}: {found.kind} {list(found.modules)}, but {sorted(modules)} name it"
                    f" ({found.reason})"
                )
        if image is not None and path in image:
            image_total += 1
            if found.kind == FileClass.BUILTIN:
                image_right += 1
            else:
                misses.append(f"{path}: {found.kind}, but the kernel image names it")
    return ko_total, ko_right, image_total, image_right, misses


def score_headers(
    classes: dict[str, Classification], named: dict[str, set[str]], image: set[str] | None
) -> tuple[collections.Counter[str], list[str]]:
    counts: collections.Counter[str] = collections.Counter()
    wrong: list[str] = []
    for path, found in sorted(classes.items()):
        if not path.endswith(".h") or found.kind not in (FileClass.MODULE, FileClass.HEADER):
            continue
        rule = found.rule or str(found.kind)
        counts[rule] += 1
        modules = named.get(path, set())
        in_image = image is not None and path in image
        if found.kind == FileClass.MODULE:
            outside = modules - set(found.modules)
            if in_image or outside:
                counts["module-private contradicted"] += 1
                why = "the kernel image names it" if in_image else f"{sorted(outside)} name it"
                wrong.append(f"{path}: module-private {list(found.modules)}, but {why}")
            elif modules:
                counts["module-private confirmed by a .ko"] += 1
        elif found.rule == "shared" and in_image:
            counts["shared confirmed by the image"] += 1
        elif found.rule == "shared" and modules:
            counts["shared, named by a .ko only"] += 1
    return counts, wrong


def score_order(
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


def _print_list(lines: Iterable[str], limit: int = 40) -> None:
    shown = list(lines)
    for line in shown[:limit]:
        print("    " + line)
    if len(shown) > limit:
        print(f"    ... and {len(shown) - limit} more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument(
        "--patch",
        action="append",
        default=[],
        type=Path,
        help="another patch whose paths are classified too (repeatable)",
    )
    parser.add_argument("--image", type=Path, help="a dpkg -x of the matching linux-image")
    parser.add_argument("--modules-dir", type=Path, help="lib/modules/VERSION of a linux-image")
    parser.add_argument("--symbols", action="store_true", help="also check .ko symbol tables")
    parser.add_argument("--list", action="store_true", help="print every path with its class")
    parser.add_argument("--repeat", type=int, default=3, help="runs to time (best is shown)")
    parser.add_argument("--alone", type=int, default=60, help="paths classified alone (sample)")
    args = parser.parse_args(argv)

    scenario = args.scenario.resolve()
    index = read_patch(scenario / "upstream.patch")
    paths = patch_paths(index)
    for extra in args.patch:
        paths.extend(p for p in patch_paths(read_patch(extra)) if p not in paths)
    config = load_config(scenario / "config")
    absolute = scenario / "vendor-old"

    times = []
    cpu = []
    classes: dict[str, Classification] = {}
    for _run in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        classes = classify_tree(absolute, config, index, paths)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # CPU time too: on a shared machine the wall time says more about the neighbours.
    print(
        f"classified {len(paths)} paths in {min(times):.3f} s wall, {min(cpu):.3f} s CPU "
        f"(best of {len(times)}; target 2 s; load average {os.getloadavg()[0]:.1f})"
    )
    counts = collections.Counter(c.kind for c in classes.values())
    print("  " + ", ".join(f"{kind}: {n}" for kind, n in counts.most_common()))
    if args.list:
        for path, found in classes.items():
            print(f"{found.kind:12} {','.join(found.modules) or '-':24} {path}  # {found.reason}")

    here = Path.cwd()
    runs: dict[str, dict[str, Classification]] = {}
    try:
        os.chdir(scenario.parent)
        runs[f"--tree {scenario.name}/vendor-old from {scenario.parent}"] = classify_tree(
            Path(scenario.name) / "vendor-old", config, index, paths
        )
        os.chdir(scenario)
        runs[f"--tree vendor-old from {scenario}"] = classify_tree(
            "vendor-old", config, index, paths
        )
    finally:
        os.chdir(here)
    runs["in reverse order"] = dict(
        reversed(list(classify_tree(absolute, config, index, paths[::-1]).items()))
    )
    for name, other in runs.items():
        differing = differences(classes, other)
        print(f"{name}: {len(paths) - len(differing)} of {len(paths)} classes equal")
        _print_list(differing)
    sample = sorted(random.Random(1).sample(paths, min(args.alone, len(paths))))
    alone = {path: classify_tree(absolute, config, index, [path])[path] for path in sample}
    differing = differences({p: classes[p] for p in sample}, alone)
    print(f"each alone: {len(sample) - len(differing)} of {len(sample)} classes equal")
    _print_list(differing)

    modules_dir = args.modules_dir
    if args.image is not None:
        found_dirs = sorted(args.image.glob("lib/modules/*"))
        if modules_dir is None and found_dirs:
            modules_dir = found_dirs[0]
        named = module_files(found_dirs[0]) if found_dirs else {}
        image = vmlinux_files(args.image)
        print(
            f"ground truth: {len(named)} files named by {args.image.name}'s modules, "
            f"{'no' if image is None else len(image)} by its kernel image"
        )
        for name, run in {"--tree absolute": classes, **runs}.items():
            ko_total, ko_right, image_total, image_right, misses = score_ko(run, named, image)
            share = 100.0 * ko_right / ko_total if ko_total else 0.0
            print(
                f"  {name}: .c files a .ko names: {ko_right}/{ko_total} = {share:.1f}% module "
                f"with that module; .c files the image names: {image_right}/{image_total} builtin"
            )
            _print_list(misses)
        header_counts, wrong = score_headers(classes, named, image)
        print("  headers: " + ", ".join(f"{k}: {n}" for k, n in sorted(header_counts.items())))
        _print_list(wrong)
    if modules_dir is not None:
        symbols = ko_symbols(modules_dir) if args.symbols else None
        agree, total, disagreements = score_order(absolute, classes, modules_dir, symbols)
        share = 100.0 * agree / total if total else 0.0
        print(f"agreement with {modules_dir}/modules.order: {agree}/{total} = {share:.1f}%")
        _print_list(disagreements)
    return 0


if __name__ == "__main__":
    isolate()
    sys.exit(main())

"""Dependency warnings: identifiers shared with left-out hunks, headers built-in code includes."""

from __future__ import annotations

from pathlib import Path

from patchsmith.kernel.classify import classify
from patchsmith.kernel.config import load_config
from patchsmith.kernel.deps import (
    PatchHunk,
    WarningKind,
    changed_identifiers,
    dependency_warnings,
    used_identifiers,
)
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.patchfile.hunk import Hunk, HunkLine, parse_file
from patchsmith.patchfile.index import index_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_hunks() -> dict[str, list[PatchHunk]]:
    index = index_bytes((FIXTURES / "kernel-tree.patch").read_bytes())
    found: dict[str, list[PatchHunk]] = {}
    for entry in index.files:
        path = entry.path.split("/", 1)[1]
        found[path] = [PatchHunk(path, hunk) for hunk in parse_file(index, entry)]
    return found


def hunk(*lines: str) -> Hunk:
    parsed = tuple(HunkLine(line[0], line[1:].encode() + b"\n") for line in lines)
    return Hunk.from_lines(1, 1, 1, 1, 1, "", parsed)


def test_kept_module_hunk_uses_macro_a_left_out_header_adds() -> None:
    hunks = fixture_hunks()
    kept = hunks["drivers/md/dm-table.c"]
    left_out = hunks["include/linux/demo_core.h"] + hunks["kernel/fork.c"]
    warnings = dependency_warnings(kept, left_out)
    assert [(w.kind, w.path, w.hunk, w.identifiers, w.other_path) for w in warnings] == [
        (
            WarningKind.USES_LEFT_OUT,
            "drivers/md/dm-table.c",
            1,
            ("DEMO_CORE_FLAG_SYNC",),
            "include/linux/demo_core.h",
        )
    ]
    assert "DEMO_CORE_FLAG_SYNC" in warnings[0].message


def test_kept_header_that_builtin_code_includes() -> None:
    hunks = fixture_hunks()
    tree = KbuildTree(FIXTURES / "kernel-tree", load_config(FIXTURES / "kernel-tree.config"))
    classes = classify(tree, list(hunks))
    kept = hunks["include/linux/demo_core.h"] + hunks["drivers/md/dm-core.h"]
    warnings = dependency_warnings(kept, hunks["kernel/fork.c"], classes)
    assert [(w.kind, w.path) for w in warnings] == [
        (WarningKind.BUILTIN_HEADER, "include/linux/demo_core.h")
    ]


def test_nothing_shared_no_warning() -> None:
    hunks = fixture_hunks()
    assert dependency_warnings(hunks["fs/extdemo/super.c"], hunks["kernel/kexec.c"]) == []


def test_changed_identifiers_of_a_header_hunk() -> None:
    changed = hunk(
        " struct mapped_device {",
        "-\tint open_count;",
        "+\tint open_count;",
        "+\tint hold_count;",
        " };",
    )
    assert changed_identifiers("drivers/md/dm-core.h", changed) == {"hold_count"}


def test_changed_identifiers_of_a_source_hunk_are_definitions_only() -> None:
    changed = hunk(
        "-int dm_get_device(struct dm_target *ti, int mode)",
        "+int dm_get_device(struct dm_target *ti, int mode, int flags)",
        " {",
        "-\tret = helper(ti);",
        "+\tret = helper(ti, flags);",
        "+EXPORT_SYMBOL_GPL(dm_get_device);",
        "+#define DM_FLAG 1",
    )
    assert changed_identifiers("drivers/md/dm.c", changed) == {"dm_get_device", "DM_FLAG"}


def test_used_identifiers_skip_keywords_and_types() -> None:
    used = used_identifiers(hunk("+\tif (md->flags & DM_FLAG)", "+\t\treturn (u32)x;", " ctx"))
    assert used == {"md", "flags", "DM_FLAG", "x"}

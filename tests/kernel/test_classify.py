"""Classifying the fixture tree's files: every class, with the reason that decided it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import load_config, parse_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.patchfile.index import index_bytes
from tests.support.paths import FIXTURES

TREE = FIXTURES / "kernel-tree"


@pytest.fixture(scope="module")
def classes() -> dict[str, Classification]:
    tree = KbuildTree(TREE, load_config(FIXTURES / "kernel-tree.config"))
    paths = [
        os.path.relpath(os.path.join(folder, name), TREE)
        for folder, _dirs, names in os.walk(TREE)
        for name in names
    ]
    return classify(tree, sorted(paths))


# One line per case: path, class, module, included_by_builtin.
CASES = [
    ("drivers/md/dm-table.c", FileClass.MODULE, "dm-mod", None),
    ("drivers/md/dm-ioctl.c", FileClass.MODULE, "dm-mod", None),  # after a line continuation
    ("drivers/md/dm-uevent.c", FileClass.MODULE, "dm-mod", None),  # dm-mod-objs in ifeq
    ("drivers/md/dm-snap.c", FileClass.MODULE, "dm-snapshot", None),
    ("fs/extdemo/super.c", FileClass.MODULE, "extdemo", None),  # in an obj-m directory
    ("drivers/md/dm-builtin.c", FileClass.BUILTIN, None, None),
    ("kernel/fork.c", FileClass.BUILTIN, None, None),
    ("kernel/trace.c", FileClass.BUILTIN, None, None),  # ifdef CONFIG_DEMO_TRACE
    ("lib/string.c", FileClass.BUILTIN, None, None),  # lib-y
    ("arch/x86/kernel/head_64.S", FileClass.BUILTIN, None, None),  # head_$(BITS).o
    ("arch/x86/lib/memcpy_64.S", FileClass.BUILTIN, None, None),
    ("arch/x86/boot/main.c", FileClass.BUILTIN, None, None),  # $(build)=$(boot)
    ("drivers/md/dm-delay.c", FileClass.NOT_BUILT, None, None),
    ("drivers/md/dm-init.c", FileClass.NOT_BUILT, None, None),  # else branch not taken
    ("drivers/widget/widget.c", FileClass.NOT_BUILT, None, None),  # directory not reached
    ("fs/extdemo/xattr.c", FileClass.NOT_BUILT, None, None),  # composite member, option n
    ("kernel/kexec.c", FileClass.NOT_BUILT, None, None),
    ("kernel/notrace.c", FileClass.NOT_BUILT, None, None),
    ("arch/x86/pci/irq.c", FileClass.NOT_BUILT, None, None),  # drivers-$(CONFIG_PCI)
    ("samples/hello.c", FileClass.NOT_BUILT, None, None),
    ("include/linux/demo_core.h", FileClass.HEADER, None, True),
    ("arch/x86/include/asm/demo.h", FileClass.HEADER, None, True),
    ("include/linux/device-mapper.h", FileClass.HEADER, None, False),
    ("drivers/md/dm-core.h", FileClass.MODULE, "dm-mod", False),  # only module code includes it
    ("fs/extdemo/extdemo.h", FileClass.MODULE, "extdemo", False),
    ("drivers/md/Makefile", FileClass.BUILD_SYSTEM, None, None),
    ("drivers/md/Kconfig", FileClass.BUILD_SYSTEM, None, None),
    ("Kbuild", FileClass.BUILD_SYSTEM, None, None),
    ("Documentation/admin-guide/device-mapper.rst", FileClass.DOCS, None, None),
    ("tools/demo/demo.c", FileClass.TOOLS, None, None),
    ("scripts/checkdemo.sh", FileClass.TOOLS, None, None),
    ("kernel/mkconst.c", FileClass.TOOLS, None, None),  # hostprogs
    ("lib/gen_table.c", FileClass.TOOLS, None, None),
    ("arch/arm64/kernel/setup.c", FileClass.OTHER_ARCH, None, None),
    ("drivers/odd/odd.c", FileClass.UNKNOWN, None, None),  # its Makefile lacks an endif
]


@pytest.mark.parametrize(("path", "kind", "module", "included"), CASES)
def test_fixture_classes(
    classes: dict[str, Classification],
    path: str,
    kind: FileClass,
    module: str | None,
    included: bool | None,
) -> None:
    found = classes[path]
    assert (found.kind, found.module, found.included_by_builtin) == (kind, module, included)


def test_every_class_is_covered() -> None:
    assert {kind for _path, kind, _module, _included in CASES} == set(FileClass)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (
            "drivers/md/dm-table.c",
            "drivers/md/Makefile:6: dm-mod-y += dm-table.o; drivers/md/Makefile:10: "
            "obj-$(CONFIG_BLK_DEV_DM) += dm-mod.o (CONFIG_BLK_DEV_DM=m)",
        ),
        (
            "drivers/md/dm-delay.c",
            "drivers/md/Makefile:13: obj-$(CONFIG_DM_DELAY) += dm-delay.o (CONFIG_DM_DELAY=n)",
        ),
        (
            "drivers/widget/widget.c",
            "drivers/Makefile:4: obj-$(CONFIG_WIDGET) += widget/ (CONFIG_WIDGET=n)",
        ),
        (
            "drivers/md/dm-init.c",
            "drivers/md/Makefile:22: dm-mod-objs += dm-init.o, in a branch not taken "
            "(drivers/md/Makefile:21: else)",
        ),
        ("drivers/odd/odd.c", "drivers/odd/Makefile:3: conditional without 'endif'"),
        ("kernel/fork.c", "kernel/Makefile:7: obj-y = fork.o"),
        (
            "include/linux/demo_core.h",
            "a kernel-wide header (include/): stays out; built-in kernel/fork.c includes it",
        ),
        (
            "drivers/md/dm-core.h",
            "module-private: only module code includes it: drivers/md/dm-exception-store.c "
            "(dm-snapshot) and 4 more module files; no built-in includer in drivers/md/**, "
            'drivers/*.c, #include "…/…" anywhere in the tree',
        ),
    ],
)
def test_reasons_name_the_deciding_line(
    classes: dict[str, Classification], path: str, reason: str
) -> None:
    assert classes[path].reason == reason


def test_module_objects(classes: dict[str, Classification]) -> None:
    assert classes["drivers/md/dm-table.c"].objects == ("drivers/md/dm-mod.ko",)
    assert classes["fs/extdemo/inode.c"].objects == ("fs/extdemo/extdemo.ko",)
    assert classes["kernel/fork.c"].objects == ("kernel/fork.o",)


def test_every_file_of_the_fixture_patch_is_classified() -> None:
    index = index_bytes((FIXTURES / "kernel-tree.patch").read_bytes())
    paths = [entry.path.split("/", 1)[1] for entry in index.files]
    tree = KbuildTree(TREE, load_config(FIXTURES / "kernel-tree.config"))
    found = {path: c.kind for path, c in classify(tree, paths).items()}
    assert found == {
        "Documentation/admin-guide/device-mapper.rst": FileClass.DOCS,
        "arch/arm64/kernel/setup.c": FileClass.OTHER_ARCH,
        "drivers/md/Kconfig": FileClass.BUILD_SYSTEM,
        "drivers/md/dm-core.h": FileClass.MODULE,
        "drivers/md/dm-table.c": FileClass.MODULE,
        "drivers/odd/odd.c": FileClass.UNKNOWN,
        "drivers/widget/widget.c": FileClass.NOT_BUILT,
        "fs/extdemo/super.c": FileClass.MODULE,
        "include/linux/demo_core.h": FileClass.HEADER,
        "kernel/fork.c": FileClass.BUILTIN,
        "kernel/kexec.c": FileClass.NOT_BUILT,
        "tools/demo/demo.c": FileClass.TOOLS,
    }


def test_config_changes_the_answer() -> None:
    text = (FIXTURES / "kernel-tree.config").read_text()
    text = text.replace("CONFIG_BLK_DEV_DM=m", "CONFIG_BLK_DEV_DM=y")
    text = text.replace("# CONFIG_WIDGET is not set", "CONFIG_WIDGET=m")
    tree = KbuildTree(TREE, parse_config(text))
    found = classify(tree, ["drivers/md/dm-table.c", "drivers/widget/widget.c"])
    assert found["drivers/md/dm-table.c"].kind == FileClass.BUILTIN
    assert found["drivers/widget/widget.c"].kind == FileClass.MODULE
    assert found["drivers/widget/widget.c"].module == "widget"


def test_c_file_included_by_another(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("core-y := d/\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Makefile").write_text("obj-m += outer.o\n")
    (tmp_path / "d" / "outer.c").write_text('#include "inner.c"\n')
    (tmp_path / "d" / "inner.c").write_text("int x;\n")
    (tmp_path / "d" / "stray.c").write_text("int y;\n")
    found = classify(
        KbuildTree(tmp_path, parse_config("CONFIG_X86=y\n")), ["d/inner.c", "d/stray.c"]
    )
    assert (found["d/inner.c"].kind, found["d/inner.c"].module) == (FileClass.MODULE, "outer")
    assert found["d/stray.c"].kind == FileClass.UNKNOWN
    assert found["d/stray.c"].reason == "no Kbuild line names stray.o (d/Makefile)"


def test_obj_y_in_a_modules_only_directory_is_not_linked(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("core-y := d/\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Makefile").write_text("obj-$(CONFIG_SUB) += sub/\n")
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "Makefile").write_text("obj-y += helper.o\nobj-m += mod.o\n")
    tree = KbuildTree(tmp_path, parse_config("CONFIG_X86=y\nCONFIG_SUB=m\n"))
    found = classify(tree, ["d/sub/helper.c", "d/sub/mod.c"])
    assert found["d/sub/helper.c"].kind == FileClass.NOT_BUILT
    assert "modules only" in found["d/sub/helper.c"].reason
    assert found["d/sub/mod.c"].kind == FileClass.MODULE


def test_odd_tree_never_crashes(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_bytes(b"\x00\x01binary")
    found = classify(KbuildTree(tmp_path, parse_config("CONFIG_X86=y\n")), ["drivers/x.c", "x.h"])
    assert found["drivers/x.c"].kind == FileClass.UNKNOWN
    assert "binary data" in found["drivers/x.c"].reason
    assert found["x.h"].kind == FileClass.HEADER


# --- headers go with their includers ----------------------------------------------------------


def header_tree(tmp_path: Path, files: dict[str, str], config: str = "") -> KbuildTree:
    """A tree whose top Makefile descends into drivers/ (and kernel/ when it has files)."""
    (tmp_path / "Makefile").write_text("core-y := drivers/ kernel/\n")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return KbuildTree(tmp_path, parse_config("CONFIG_X86=y\nCONFIG_FOO=m\n" + config))


def test_header_included_by_builtin_code_through_another_header_stays_out(
    tmp_path: Path,
) -> None:
    tree = header_tree(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += foo/\n",
            "drivers/foo/Makefile": "obj-$(CONFIG_FOO) += foo.o\nobj-y += foo_core.o\n",
            "drivers/foo/foo.c": '#include "foo.h"\n',
            "drivers/foo/foo_core.c": '#include "foo_regs.h"\n',
            "drivers/foo/foo_regs.h": '#include "foo.h"\n',
            "drivers/foo/foo.h": "struct foo { int a; };\n",
        },
    )
    found = classify(tree, ["drivers/foo/foo.h"])["drivers/foo/foo.h"]
    assert (found.kind, found.rule, found.included_by_builtin) == (
        FileClass.HEADER,
        "shared",
        True,
    )
    assert found.reason.startswith(
        "shared: built-in drivers/foo/foo_core.c (through drivers/foo/foo_regs.h) includes it"
    )


def test_header_of_module_code_only_is_part_of_the_modules(tmp_path: Path) -> None:
    tree = header_tree(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += foo/\n",
            "drivers/foo/Makefile": (
                "obj-$(CONFIG_FOO) += foo.o bar.o\nobj-$(CONFIG_BAZ) += baz.o\nobj-y += notes.o\n"
            ),
            "drivers/foo/foo.c": '#include "foo.h"\n',
            "drivers/foo/bar.c": '#include "sub/bar.h"\n',
            "drivers/foo/sub/bar.h": '#include "../foo.h"\n',
            "drivers/foo/baz.c": '#include "foo.h"\n',  # not built: does not count
            # Built-in code that only mentions it: in a comment, in a string.
            "drivers/foo/notes.c": (
                'int x; // #include "foo.h"\nchar *s = "#include \\"foo.h\\"";\n'
            ),
            "drivers/foo/foo.h": "struct foo { int a; };\n",
        },
    )
    found = classify(tree, ["drivers/foo/foo.h"])["drivers/foo/foo.h"]
    assert (found.kind, found.modules, found.rule) == (
        FileClass.MODULE,
        ("bar", "foo"),
        "module-private",
    )
    assert found.objects == ("drivers/foo/foo.ko", "drivers/foo/bar.ko")


def test_header_with_an_includer_of_unknown_class_stays_out(tmp_path: Path) -> None:
    tree = header_tree(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += foo/\n",
            "drivers/foo/Makefile": "obj-$(CONFIG_FOO) += foo.o\nobj-y += odd/\n",
            "drivers/foo/foo.c": '#include "foo.h"\n',
            "drivers/foo/odd/Makefile": "ifeq ($(CONFIG_X),y)\nobj-y += odd.o\n",
            "drivers/foo/odd/odd.c": '#include "../foo.h"\n',
            "drivers/foo/foo.h": "struct foo { int a; };\n",
        },
    )
    found = classify(tree, ["drivers/foo/foo.h"])["drivers/foo/foo.h"]
    assert (found.kind, found.rule) == (FileClass.HEADER, "unknown-includer")
    assert "drivers/foo/odd/odd.c includes it and its class is unknown" in found.reason


def test_header_nothing_built_includes_stays_out(tmp_path: Path) -> None:
    tree = header_tree(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += foo/\n",
            "drivers/foo/Makefile": "obj-$(CONFIG_BAZ) += baz.o\n",
            "drivers/foo/baz.c": '#include "foo.h"\n',
            "drivers/foo/foo.h": "struct foo { int a; };\n",
        },
    )
    found = classify(tree, ["drivers/foo/foo.h"])["drivers/foo/foo.h"]
    assert (found.kind, found.rule, found.included_by_builtin) == (
        FileClass.HEADER,
        "no-includer",
        False,
    )


def test_header_reached_by_bare_name_through_an_include_flag(tmp_path: Path) -> None:
    """qat_c62x/ includes "common.h" of qat_common/ through -I: built-in code there makes the
    header shared, although nothing in qat_common/ or its parent includes it."""
    tree = header_tree(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += qat/\n",
            "drivers/qat/Makefile": "obj-y += qat_common/ qat_c62x/\n",
            "drivers/qat/qat_common/Makefile": "obj-$(CONFIG_FOO) += common.o\n",
            "drivers/qat/qat_common/common.c": '#include "common.h"\n',
            "drivers/qat/qat_c62x/Makefile": (
                "ccflags-y := -I $(srctree)/$(src)/../qat_common\nobj-y += c62x.o\n"
            ),
            "drivers/qat/qat_c62x/c62x.c": '#include "common.h"\n',
            "drivers/qat/qat_common/common.h": "struct common { int a; };\n",
        },
    )
    found = classify(tree, ["drivers/qat/qat_common/common.h"])["drivers/qat/qat_common/common.h"]
    assert (found.kind, found.rule) == (FileClass.HEADER, "shared")
    assert "built-in drivers/qat/qat_c62x/c62x.c includes it" in found.reason


def test_kernel_wide_headers_always_stay_out(classes: dict[str, Classification]) -> None:
    found = classes["include/linux/device-mapper.h"]  # only module code includes it
    assert (found.kind, found.rule) == (FileClass.HEADER, "kernel-wide")

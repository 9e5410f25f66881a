"""Classes that do not depend on how the tree is named, nor on what else the patch touches.

``fixtures/kernel-tree-paths`` is built the way the kernel builds KVM: ``arch/x86/kvm/Makefile``
includes ``$(srctree)/virt/hyp/Makefile.hyp``, which names its objects ``../../../virt/hyp/...``
relative to the including directory; ``vmx/`` includes ``"x86.h"`` through a ``-I`` flag; and
``drivers/ring/core/Makefile`` links ``../misc/ring_pdevs.o`` into its module. Its patch adds a
file with its Makefile line, deletes one with its line, adds a Kconfig option, a header that
only an added ``#include`` reaches, and changes files of all of those.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import load_config, parse_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.kernel.patched import patched_tree
from patchsmith.kernel.selection import Classifier
from patchsmith.patchfile.index import index_bytes
from tests.support.paths import FIXTURES

TREE = FIXTURES / "kernel-tree-paths"
CONFIG = FIXTURES / "kernel-tree-paths.config"
PATCH = FIXTURES / "kernel-tree-paths.patch"


def ls_classes(tree: str, config: str, patch: str) -> dict[str, tuple[str, list[str], str]]:
    """What ``patchsmith ls --json`` says of each file: class, modules, reason."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["ls", patch, "--tree", tree, "--config", config, "--json"])
    assert code == 0
    return {
        f["path"]: (f["class"], f["modules"], f["class_reason"])
        for f in json.loads(out.getvalue())["files"]
    }


def test_the_tree_named_six_ways_gives_the_same_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "vendor"
    link.symlink_to(TREE)
    config, patch = str(CONFIG), str(PATCH)
    runs = {}
    runs["absolute"] = ls_classes(str(TREE), config, patch)
    monkeypatch.chdir(FIXTURES)
    runs["relative from fixtures/"] = ls_classes("kernel-tree-paths", config, patch)
    monkeypatch.chdir(FIXTURES.parent)
    runs["relative from the top"] = ls_classes("fixtures/kernel-tree-paths/", config, patch)
    monkeypatch.chdir(TREE)
    runs["."] = ls_classes(".", config, patch)
    monkeypatch.chdir(TREE / "virt" / "hyp")
    runs["../.. from virt/hyp"] = ls_classes("../..", config, patch)
    monkeypatch.chdir(tmp_path)
    runs["a symlink, relative"] = ls_classes("vendor", config, patch)

    first = runs["absolute"]
    assert first["virt/hyp/hyp_main.c"][:2] == ("module", ["hyp"])
    for name, found in runs.items():
        assert found == first, name


def test_srctree_include_and_dotdot_objects() -> None:
    found = classify(
        KbuildTree(TREE, load_config(CONFIG)),
        ["virt/hyp/hyp_main.c", "virt/hyp/eventfd.c", "drivers/ring/misc/ring_pdevs.c"],
    )
    hyp = found["virt/hyp/hyp_main.c"]
    assert (hyp.kind, hyp.modules, hyp.objects) == (
        FileClass.MODULE,
        ("hyp",),
        ("arch/x86/kvm/hyp.ko",),
    )
    # As make sees the line: the name relative to the including directory.
    assert hyp.reason.startswith(
        "virt/hyp/Makefile.hyp:5: hyp-y := ../../../virt/hyp/hyp_main.o; "
        "arch/x86/kvm/Makefile:11: obj-$(CONFIG_HYP_DEMO) += hyp.o"
    )
    assert found["virt/hyp/eventfd.c"].modules == ("hyp",)
    pdevs = found["drivers/ring/misc/ring_pdevs.c"]
    assert (pdevs.kind, pdevs.modules) == (FileClass.MODULE, ("ringcore",))
    assert "ringcore-y += ../misc/ring_pdevs.o" in pdevs.reason


def test_other_architectures_including_the_fragment_are_not_read(tmp_path: Path) -> None:
    """arm64's copy of the KVM Makefile names the same objects; under an x86 config it is
    never reached, and a module it would build must not show up."""
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    arm = tree / "arch" / "arm64" / "kvm"
    arm.mkdir(parents=True)
    (arm / "Makefile").write_text(
        "include $(srctree)/virt/hyp/Makefile.hyp\nobj-$(CONFIG_HYP_DEMO) += hyp-arm.o\n"
        "hyp-arm-y += $(HYP)/hyp_main.o\n"
    )
    found = classify(KbuildTree(tree, load_config(CONFIG)), ["virt/hyp/hyp_main.c"])
    assert found["virt/hyp/hyp_main.c"].modules == ("hyp",)


def test_a_path_that_leaves_the_tree_names_nothing(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("core-y := d/\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Makefile").write_text("obj-m += ../../outside.o inside.o\n")
    kbuild = KbuildTree(tmp_path, parse_config("CONFIG_X86=y\n")).kbuild_file("d")
    assert kbuild is not None
    assert [ref.target for ref in kbuild.refs] == ["d/inside.o"]


def test_abspath_and_realpath_map_back_into_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Makefile").write_text("core-y := d/\n")
    (tmp_path / "d" / "frag").mkdir(parents=True)
    (tmp_path / "d" / "Makefile").write_text(
        "include $(abspath $(srctree))/d/frag/Makefile.frag\n"
        "obj-m += $(realpath $(srctree))/d/frag/abs.o\n"
    )
    (tmp_path / "d" / "frag" / "Makefile.frag").write_text("obj-m += frag/rel.o\n")
    monkeypatch.chdir(tmp_path / "d")
    kbuild = KbuildTree("..", parse_config("CONFIG_X86=y\n")).kbuild_file("d")
    assert kbuild is not None
    assert kbuild.problem is None
    assert sorted(ref.target for ref in kbuild.refs) == ["d/frag/abs.o", "d/frag/rel.o"]


# --- the tree as the patch leaves it ------------------------------------------------------------


@pytest.fixture(scope="module")
def patched() -> dict[str, Classification]:
    index = index_bytes(PATCH.read_bytes(), str(PATCH))
    classifier = Classifier(TREE, CONFIG, patch=index)
    paths = [entry.path.split("/", 1)[1] for entry in index.files]
    return classifier.classify_all(paths)


def test_a_file_whose_makefile_line_the_patch_adds(patched: dict[str, Classification]) -> None:
    found = patched["drivers/ring/core/iter.c"]
    assert (found.kind, found.modules) == (FileClass.MODULE, ("ringcore",))
    assert found.reason.startswith(
        "drivers/ring/core/Makefile:4 (added by the patch): ringcore-y += iter.o; "
    )
    # The same file on the tree as it is: nothing names it, and that is what it says.
    alone = classify(KbuildTree(TREE, load_config(CONFIG)), ["drivers/ring/core/iter.c"])
    assert alone["drivers/ring/core/iter.c"].kind == FileClass.UNKNOWN
    assert "no Kbuild line names iter.o" in alone["drivers/ring/core/iter.c"].reason


def test_an_option_the_patch_adds_is_named(patched: dict[str, Classification]) -> None:
    found = patched["drivers/ring/misc/ring_stats.c"]
    assert found.kind == FileClass.NOT_BUILT
    assert found.reason == (
        "drivers/ring/misc/Makefile:3 (added by the patch): obj-$(CONFIG_RING_STATS) += "
        "ring_stats.o (CONFIG_RING_STATS unset: the patch adds it in drivers/ring/Kconfig)"
    )


def test_a_deleted_file_goes_with_what_it_was_in(patched: dict[str, Classification]) -> None:
    found = patched["drivers/ring/core/old.c"]
    assert (found.kind, found.modules) == (FileClass.MODULE, ("ringcore",))
    assert found.reason.startswith("deleted by the patch; on the tree before it: ")


def test_a_header_only_an_added_include_reaches(patched: dict[str, Classification]) -> None:
    found = patched["drivers/ring/core/ring_count.h"]
    assert (found.kind, found.modules, found.rule) == (
        FileClass.MODULE,
        ("ringcore",),
        "module-private",
    )
    assert "drivers/ring/core/ring.c (ringcore)" in found.reason


def test_a_private_header_reached_through_an_include_flag(
    patched: dict[str, Classification],
) -> None:
    found = patched["arch/x86/kvm/x86.h"]
    assert found.kind == FileClass.MODULE
    assert set(found.modules) == {"hyp", "hyp-intel"}


def test_each_file_alone_is_classified_as_within_the_patch(
    patched: dict[str, Classification],
) -> None:
    index = index_bytes(PATCH.read_bytes(), str(PATCH))
    for path, together in patched.items():
        alone = Classifier(TREE, CONFIG, patch=index)(path)
        assert alone == together, path
    backwards = Classifier(TREE, CONFIG, patch=index).classify_all(list(patched)[::-1])
    assert backwards == patched


def test_a_makefile_hunk_that_does_not_apply_is_said(tmp_path: Path) -> None:
    text = PATCH.read_text().replace(
        "-ringcore-y\t\t:= ring.o old.o\n", "-ringcore-y\t\t:= ring.o old.o vendor.o\n"
    )
    index = index_bytes(text.encode())
    files = patched_tree(index, TREE)
    makefile = files.patched["drivers/ring/core/Makefile"]
    assert makefile.problem == "hunk #1 does not apply exactly"
    assert makefile.data == (TREE / "drivers/ring/core/Makefile").read_bytes()
    found = classify(
        KbuildTree(TREE, load_config(CONFIG), files=files), ["drivers/ring/core/iter.c"]
    )
    assert found["drivers/ring/core/iter.c"].kind == FileClass.UNKNOWN
    assert found["drivers/ring/core/iter.c"].reason == (
        "no Kbuild line names iter.o (drivers/ring/core/Makefile; the patch's hunk #1 does not "
        "apply exactly to this tree)"
    )


def test_the_tree_is_never_written(tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in TREE.rglob("*") if p.is_file()}
    index = index_bytes(PATCH.read_bytes())
    Classifier(TREE, CONFIG, patch=index).classify_all(
        [entry.path.split("/", 1)[1] for entry in index.files]
    )
    assert {p: p.read_bytes() for p in TREE.rglob("*") if p.is_file()} == before
    assert not (TREE / "drivers/ring/core/iter.c").exists()


def test_a_kept_file_built_only_through_a_left_out_makefile_line() -> None:
    """--modules-only keeps iter.c and leaves its Makefile out: the module build would not
    compile it. ring.c's line was rewritten by the same hunk, but the old Makefile builds it
    too: no warning for it."""
    from patchsmith.kernel.deps import WarningKind
    from patchsmith.kernel.selection import MODULES_ONLY, ClassRule, selection_warnings
    from patchsmith.patchfile.select import Selection, select

    index = index_bytes(PATCH.read_bytes(), str(PATCH))
    classifier = Classifier(TREE, CONFIG, patch=index)
    result = select(index, Selection(file_rules=(ClassRule(classifier, MODULES_ONLY),)))
    kept = {d.tree_path for d in result.kept}
    assert {"drivers/ring/core/iter.c", "drivers/ring/core/ring.c"} <= kept
    warnings = [
        w
        for w in selection_warnings(result, classifier=classifier)
        if w.kind == WarningKind.KBUILD_LEFT_OUT
    ]
    assert [(w.path, w.other_path) for w in warnings] == [
        ("drivers/ring/core/iter.c", "drivers/ring/core/Makefile")
    ]

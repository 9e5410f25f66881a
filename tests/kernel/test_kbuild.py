"""The Kbuild evaluator: every construct the kernel's Makefiles use, and odd files."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.errors import TreeError
from patchsmith.kernel.config import load_config, parse_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.kernel.makefile import split_list_name
from tests.support.paths import FIXTURES

TREE = FIXTURES / "kernel-tree"


@pytest.fixture
def tree() -> KbuildTree:
    return KbuildTree(TREE, load_config(FIXTURES / "kernel-tree.config"))


def make_tree(tmp_path: Path, makefile: str, config: str = "CONFIG_X86_64=y\n") -> KbuildTree:
    """A tree whose top Makefile lists d/ and whose d/Makefile is ``makefile``."""
    (tmp_path / "Makefile").write_text("core-y := d/\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Makefile").write_text(makefile)
    return KbuildTree(tmp_path, parse_config(config))


def selected(tree: KbuildTree, directory: str = "d") -> dict[str, list[str]]:
    kbuild = tree.kbuild_file(directory)
    assert kbuild is not None
    assert kbuild.problem is None, kbuild.problem
    lists: dict[str, list[str]] = {}
    for ref in kbuild.refs:
        if ref.active:
            lists.setdefault(ref.variable, []).append(ref.target)
    return lists


def test_top_level_descent_6_1_style(tree: KbuildTree) -> None:
    top = tree.top()
    assert top.problem is None
    assert top.variables["SRCARCH"] == "x86"
    assert top.variables["ARCH_LIB"] == "lib/ arch/x86/lib/"
    assert top.variables["BITS"] == "64"  # exported from arch/x86/Makefile
    assert tree.directory_state("kernel").mode == "y"
    assert tree.directory_state("arch/x86").reason == "Kbuild:5: obj-y += arch/x86/"
    assert (
        tree.directory_state("arch/x86/lib").reason
        == "arch/x86/Makefile:11: libs-y += arch/x86/lib/"
    )


def test_option_m_directory_is_modules_only(tree: KbuildTree) -> None:
    state = tree.directory_state("fs/extdemo")
    assert state.mode == "m"
    assert state.reason == "fs/Makefile:4: obj-$(CONFIG_EXT_DEMO) += extdemo/ (CONFIG_EXT_DEMO=m)"


def test_unset_option_directory_not_reached(tree: KbuildTree) -> None:
    assert tree.directory_state("drivers/widget").mode == "n"
    assert tree.directory_state("net").mode == "n"
    assert tree.directory_state("net/core").mode == "n"
    assert "CONFIG_NET=n" in tree.directory_state("net/core").reason
    assert tree.directory_state("drivers/unlisted").reason.startswith(
        "drivers/unlisted/ is not named"
    )


def test_arch_drivers_list_with_unset_option(tree: KbuildTree) -> None:
    state = tree.directory_state("arch/x86/pci")
    assert state.mode == "n"
    assert (
        state.reason
        == "arch/x86/Makefile:12: drivers-$(CONFIG_PCI) += arch/x86/pci/ (CONFIG_PCI=n)"
    )


def test_build_rule_in_arch_makefile_reaches_boot(tree: KbuildTree) -> None:
    state = tree.directory_state("arch/x86/boot")
    assert (state.mode, state.image) == ("y", True)
    assert "$(build)=$(boot)" in state.reason


def test_composites_continuation_and_ifeq(tree: KbuildTree) -> None:
    lists = selected(tree, "drivers/md")
    assert lists["dm-mod-y"] == [
        "drivers/md/dm.o",
        "drivers/md/dm-table.o",
        "drivers/md/dm-ioctl.o",
    ]
    assert lists["dm-mod-objs"] == ["drivers/md/dm-uevent.o"]  # ifeq ($(CONFIG_DM_UEVENT),y)
    assert lists["obj-m"] == ["drivers/md/dm-mod.o", "drivers/md/dm-snapshot.o"]
    assert lists["obj-y"] == ["drivers/md/dm-builtin.o"]
    assert lists["obj-"] == ["drivers/md/dm-delay.o"]


def test_inactive_branch_is_recorded_with_its_condition(tree: KbuildTree) -> None:
    kbuild = tree.kbuild_file("drivers/md")
    assert kbuild is not None
    (init,) = kbuild.refs_to("drivers/md/dm-init.o")
    assert not init.active
    assert init.condition == "drivers/md/Makefile:21: else"
    assert init.line == 22


def test_ifdef_else_and_hostprogs(tree: KbuildTree) -> None:
    lists = selected(tree, "kernel")
    assert lists["obj-y"] == ["kernel/fork.o", "kernel/sched.o", "kernel/trace.o"]
    assert lists["hostprogs"] == ["kernel/mkconst"]
    kbuild = tree.kbuild_file("kernel")
    assert kbuild is not None
    (notrace,) = kbuild.refs_to("kernel/notrace.o")
    assert not notrace.active


@pytest.mark.parametrize(
    ("makefile", "expected"),
    [
        ("obj-y := a.o\nobj-y += b.o\n", ["d/a.o", "d/b.o"]),
        ("X = a.o\nobj-y = $(X)\nX += b.o\n", ["d/a.o", "d/b.o"]),  # recursive: value at use
        ("X := a.o\nobj-y := $(X)\nX += b.o\n", ["d/a.o"]),
        ("obj-y ?= a.o\nobj-y ?= b.o\n", ["d/a.o"]),
        ("obj-y += a.o \\\n\tb.o \\\n\tc.o\n", ["d/a.o", "d/b.o", "d/c.o"]),
        ("obj-$(CONFIG_X86_64) += a.o\n", ["d/a.o"]),
        ("obj-$(subst m,y,$(CONFIG_MODS)) += a.o\n", ["d/a.o"]),
        ("obj-y += $(patsubst %.c,%.o,a.c b.c)\n", ["d/a.o", "d/b.o"]),
        ("obj-y += $(addsuffix .o,a b)\n", ["d/a.o", "d/b.o"]),
        ("obj-y += $(if $(CONFIG_X86_64),a.o,b.o)\n", ["d/a.o"]),
        ("obj-y += $(filter-out b.o,a.o b.o)\n", ["d/a.o"]),
        ("f = $(1).o\nobj-y += $(call f,a)\n", ["d/a.o"]),
        ("obj-y += $(foreach n,a b,$(n).o)\n", ["d/a.o", "d/b.o"]),
        ("L := a.c b.c\nobj-y += $(L:.c=.o)\n", ["d/a.o", "d/b.o"]),
        ("ifeq ($(CONFIG_X86_64),y)\nobj-y += a.o\nelse\nobj-y += b.o\nendif\n", ["d/a.o"]),
        ('ifeq "$(CONFIG_X86_64)" "y"\nobj-y += a.o\nendif\n', ["d/a.o"]),
        (
            "ifneq ($(CONFIG_X86_64),y)\nobj-y += a.o\n"
            "else ifdef CONFIG_X86_64\nobj-y += b.o\nendif\n",
            ["d/b.o"],
        ),
        ("ifndef CONFIG_NOPE\nobj-y += a.o\nendif\n", ["d/a.o"]),
        ("obj-y += a.o # b.o is commented out\n", ["d/a.o"]),
        ("a.o: FORCE\n\t@echo obj-y += b.o\nobj-y += c.o\n", ["d/c.o"]),
        ("define helper\nobj-y += b.o\nendef\nobj-y += a.o\n", ["d/a.o"]),
        ("export V := a.o\nobj-y += $(V) $(shell echo b.o)\n", ["d/a.o"]),
        ("obj-y += sub/ ../d/x.o\n", ["d/sub/", "d/x.o"]),
    ],
)
def test_make_constructs(tmp_path: Path, makefile: str, expected: list[str]) -> None:
    tree = make_tree(tmp_path, makefile, "CONFIG_X86_64=y\nCONFIG_MODS=m\n")
    assert selected(tree).get("obj-y") == expected


@pytest.mark.parametrize(
    ("makefile", "problem"),
    [
        ("ifeq ($(CONFIG_A),y)\nobj-y += a.o\n", "d/Makefile:1: conditional without 'endif'"),
        ("obj-y += a.o\nendif\n", "d/Makefile:2: 'endif' without 'if'"),
        ("else\n", "d/Makefile:1: 'else' without 'if'"),
        ("obj-y += $(foo\n", "unterminated variable reference"),
        ("this is not make\n", "d/Makefile:1: missing separator"),
        ("ifeq (a)\nendif\n", "condition needs two arguments"),
        ("define x\nobj-y += a.o\n", "'define x' without 'endef'"),
        ("X = $(X) a.o\nobj-y += $(X)\n", "nests deeper"),
    ],
)
def test_odd_makefiles_give_a_problem_not_a_crash(
    tmp_path: Path, makefile: str, problem: str
) -> None:
    tree = make_tree(tmp_path, makefile)
    kbuild = tree.kbuild_file("d")
    assert kbuild is not None
    assert kbuild.problem is not None
    assert problem in kbuild.problem
    assert kbuild.refs == ()


def test_binary_makefile(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, "")
    (tmp_path / "d" / "Makefile").write_bytes(b"\x7fELF\x00\x00")
    kbuild = tree.kbuild_file("d")
    assert kbuild is not None
    assert kbuild.problem == "d/Makefile: binary data, not a Makefile"


def test_unreadable_makefile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = make_tree(tmp_path, "obj-y += a.o\n")
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "Makefile" and self.parent.name == "d":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    kbuild = tree.kbuild_file("d")
    assert kbuild is not None
    assert kbuild.problem == "d/Makefile: cannot be read: Permission denied"


def test_kbuild_preferred_over_makefile(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, "obj-y += from-makefile.o\n")
    (tmp_path / "d" / "Kbuild").write_text("obj-y += from-kbuild.o\n")
    assert selected(tree)["obj-y"] == ["d/from-kbuild.o"]


def test_explicit_arch_overrides_config(tmp_path: Path) -> None:
    tree = KbuildTree(TREE, load_config(FIXTURES / "kernel-tree.config"), arch="arm64")
    assert tree.arch == "arm64"
    assert tree.top().variables["SRCARCH"] == "arm64"
    assert tree.directory_state("arch/arm64/lib").mode == "y"


def test_each_kbuild_file_is_read_once(tree: KbuildTree) -> None:
    first = tree.kbuild_file("drivers/md")
    assert tree.kbuild_file("drivers/md") is first
    assert tree.directory_state("drivers/md").kbuild is first


def test_missing_tree_raises(tmp_path: Path) -> None:
    with pytest.raises(TreeError):
        KbuildTree(tmp_path / "nowhere", parse_config("CONFIG_X86=y\n"))


def test_tree_without_top_makefile_is_unknown(tmp_path: Path) -> None:
    tree = KbuildTree(tmp_path, parse_config("CONFIG_X86=y\n"))
    state = tree.directory_state("drivers/md")
    assert state.mode == "?"
    assert "no top-level Makefile" in state.reason


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("obj-y", ("obj", "y")),
        ("obj-", ("obj", "")),
        ("dm-mod-objs", ("dm-mod", "objs")),
        ("dm-mod-y", ("dm-mod", "y")),
        ("hostprogs", ("hostprogs", None)),
    ],
)
def test_split_list_name(name: str, split: tuple[str, str | None]) -> None:
    assert split_list_name(name) == split

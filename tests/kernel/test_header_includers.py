"""A private header's includers are found wherever they are, not only near the header.

Kernel code reaches another subsystem's private header by a relative path:
``net/ipv6/netfilter.c`` (built in) does ``#include "../bridge/br_private.h"``, a header that
otherwise only the bridge modules include. Searching only the header's folder, its parent's
``.c`` files and the ``-I`` users called it module-private, so ``--modules-only`` shipped a
layout change in the modules while built-in code kept the old layout. The trees here are
kernel-shaped: a top ``Makefile`` descending into ``net/``, ``drivers/`` and ``kernel/``.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.cli import main
from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import parse_config
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.kernel.patched import patched_tree
from patchsmith.patchfile.index import index_bytes

CONFIG = "CONFIG_X86=y\nCONFIG_NET=y\nCONFIG_BRIDGE=m\nCONFIG_IPV6=y\nCONFIG_VXLAN=m\n"

# The bridge: a module whose private header the other files below reach by relative paths.
BRIDGE = {
    "Makefile": "core-y := kernel/ net/ drivers/\n",
    "net/Makefile": (
        "obj-$(CONFIG_NET) += core/\nobj-$(CONFIG_BRIDGE) += bridge/\nobj-$(CONFIG_IPV6) += ipv6/\n"
    ),
    "net/bridge/Makefile": "obj-$(CONFIG_BRIDGE) += bridge.o\nbridge-y := br.o br_fdb.o\n",
    "net/bridge/br.c": '#include "br_private.h"\nint br_init(void) { return 0; }\n',
    "net/bridge/br_fdb.c": '#include "br_private.h"\n',
    "net/bridge/br_private.h": "struct net_bridge {\n\tint features;\n};\n",
    "net/ipv6/Makefile": "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o\n",
    "net/ipv6/af_inet6.c": "int inet6_init(void) { return 0; }\n",
    "net/core/Makefile": "obj-y := dev.o\n",
    "net/core/dev.c": "int dev_init(void) { return 0; }\n",
    "kernel/Makefile": "obj-y := fork.o\n",
    "kernel/fork.c": "#include <linux/bits.h>\n",
    "include/linux/bits.h": "#define BIT(n) (1UL << (n))\n",
}


def tree_of(tmp_path: Path, files: dict[str, str], config: str = CONFIG) -> KbuildTree:
    for path, text in {**BRIDGE, **files}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return KbuildTree(tmp_path, parse_config(config))


def header_class(tree: KbuildTree) -> Classification:
    return classify(tree, ["net/bridge/br_private.h"])["net/bridge/br_private.h"]


def test_without_outside_includers_the_header_is_the_modules(tmp_path: Path) -> None:
    found = header_class(tree_of(tmp_path, {}))
    assert (found.kind, found.modules, found.rule) == (
        FileClass.MODULE,
        ("bridge",),
        "module-private",
    )
    assert '#include "…/…" anywhere in the tree' in found.reason


def test_builtin_code_elsewhere_including_it_by_a_relative_path_makes_it_shared(
    tmp_path: Path,
) -> None:
    tree = tree_of(
        tmp_path,
        {
            "net/ipv6/Makefile": (
                "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o\n"
                "ipv6-$(CONFIG_NET) += netfilter.o\n"
            ),
            "net/ipv6/netfilter.c": '#include "../bridge/br_private.h"\n',
        },
    )
    found = header_class(tree)
    assert (found.kind, found.rule, found.included_by_builtin) == (
        FileClass.HEADER,
        "shared",
        True,
    )
    assert found.reason.startswith(
        "shared: built-in net/ipv6/netfilter.c includes it, so it stays out"
    )
    assert "net/ipv6/Makefile:3: ipv6-$(CONFIG_NET) += netfilter.o (CONFIG_NET=y)" in found.reason


def test_through_a_header_of_its_own_and_from_two_levels_up(tmp_path: Path) -> None:
    """The built-in file includes a header of its own folder, which reaches the bridge's;
    another names the header from the top of net/ ("bridge/br_private.h")."""
    tree = tree_of(
        tmp_path,
        {
            "drivers/Makefile": "obj-y += net/\n",
            "drivers/net/Makefile": "obj-$(CONFIG_VXLAN) += vxlan/\n",
            "drivers/net/vxlan/Makefile": "obj-$(CONFIG_VXLAN) += vxlan.o\n",
            "drivers/net/vxlan/vxlan.c": '#include "vxlan_glue.h"\n',
            "drivers/net/vxlan/vxlan_glue.h": '#include "../../../net/bridge/br_private.h"\n',
        },
    )
    found = header_class(tree)
    # A module elsewhere is one more module the header belongs to, found through its header.
    assert (found.kind, found.modules) == (FileClass.MODULE, ("bridge", "vxlan"))

    (tmp_path / "net/core/Makefile").write_text("obj-y := dev.o sock.o\n")
    (tmp_path / "net/core/sock.c").write_text('#include "../bridge/vlan_glue.h"\n')
    (tmp_path / "net/bridge/vlan_glue.h").write_text('#include "br_private.h"\n')
    found = header_class(KbuildTree(tmp_path, parse_config(CONFIG)))
    assert found.rule == "shared"
    assert found.reason.startswith(
        "shared: built-in net/core/sock.c (through net/bridge/vlan_glue.h) includes it"
    )

    (tmp_path / "net/core/sock.c").write_text("int sock_init(void) { return 0; }\n")
    (tmp_path / "net/Makefile").write_text(BRIDGE["net/Makefile"] + "obj-y += net_glue.o\n")
    (tmp_path / "net/net_glue.c").write_text('#include "bridge/br_private.h"\n')
    found = header_class(KbuildTree(tmp_path, parse_config(CONFIG)))
    assert found.rule == "shared"
    assert "built-in net/net_glue.c includes it" in found.reason


def test_paths_that_only_look_like_it_do_not_count(tmp_path: Path) -> None:
    """Same name in another folder, a path that leaves the tree, an include in a comment,
    a relative include in code this config does not build: none is an includer."""
    tree = tree_of(
        tmp_path,
        {
            "net/ipv6/Makefile": (
                "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o other.o\n"
                "obj-$(CONFIG_IPV6_UNSET) += off.o\n"
            ),
            "net/ipv6/other.c": (
                '#include "../ipv4/br_private.h"\n'
                '#include "../../../../net/bridge/br_private.h"\n'
                '/* #include "../bridge/br_private.h" */\n'
                'const char *s = "#include \\"../bridge/br_private.h\\"";\n'
            ),
            "net/ipv4/br_private.h": "struct ipv4_lookalike { int a; };\n",
            "net/ipv6/off.c": '#include "../bridge/br_private.h"\n',
        },
    )
    found = header_class(tree)
    assert (found.kind, found.modules) == (FileClass.MODULE, ("bridge",))


def test_an_include_the_patch_adds_or_a_file_it_creates_counts(tmp_path: Path) -> None:
    tree_of(
        tmp_path,
        {
            "net/ipv6/Makefile": (
                "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o\nipv6-y += route.o\n"
            ),
        },
    )
    patch = (
        b"--- a/net/ipv6/af_inet6.c\n+++ b/net/ipv6/af_inet6.c\n@@ -1 +1,2 @@\n"
        b'+#include "../bridge/br_private.h"\n int inet6_init(void) { return 0; }\n'
    )
    files = patched_tree(index_bytes(patch), tmp_path)
    found = header_class(KbuildTree(tmp_path, parse_config(CONFIG), files=files))
    assert found.rule == "shared"
    assert "built-in net/ipv6/af_inet6.c includes it" in found.reason

    created = (
        b"--- /dev/null\n+++ b/net/ipv6/route.c\n@@ -0,0 +1 @@\n"
        b'+#include "../bridge/br_private.h"\n'
    )
    files = patched_tree(index_bytes(created), tmp_path)
    found = header_class(KbuildTree(tmp_path, parse_config(CONFIG), files=files))
    assert found.rule == "shared"
    assert "built-in net/ipv6/route.c includes it" in found.reason


def test_a_kernel_wide_header_that_includes_it(tmp_path: Path) -> None:
    """include/trace/events/bridge.h includes "../../../net/bridge/br_private.h": whatever
    includes that may be built in. Built-in core code does here: shared; otherwise it still
    stays out, because who includes a kernel-wide header is not searched."""
    files = {
        "include/trace/events/bridge.h": '#include "../../../net/bridge/br_private.h"\n',
        "net/bridge/br.c": '#include <trace/events/bridge.h>\n#include "br_private.h"\n',
    }
    found = header_class(tree_of(tmp_path, files))
    assert (found.kind, found.rule, found.included_by_builtin) == (
        FileClass.HEADER,
        "unknown-includer",
        None,
    )
    assert found.reason.startswith(
        "stays out: kernel-wide include/trace/events/bridge.h includes it"
    )
    (tmp_path / "net/core/dev.c").write_text("#include <trace/events/bridge.h>\n")
    found = header_class(KbuildTree(tmp_path, parse_config(CONFIG)))
    assert (found.rule, found.included_by_builtin) == ("shared", True)
    assert "and built-in net/core/dev.c includes that" in found.reason


def test_modules_only_leaves_the_shared_header_out(tmp_path: Path, capsys: object) -> None:
    tree_of(
        tmp_path / "tree",
        {
            "net/ipv6/Makefile": "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o nf.o\n",
            "net/ipv6/nf.c": '#include "../bridge/br_private.h"\n',
        },
    )
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "p.diff").write_text(
        "--- a/net/bridge/br_private.h\n+++ b/net/bridge/br_private.h\n@@ -1,3 +1,3 @@\n"
        " struct net_bridge {\n-\tint features;\n+\tlong features;\n };\n"
    )
    args = ["--tree", str(tmp_path / "tree"), "--config", str(tmp_path / "config")]
    out = tmp_path / "out.diff"
    code = main(["filter", str(tmp_path / "p.diff"), *args, "--modules-only", "-o", str(out)])
    assert code == 0
    assert out.read_bytes() == b""

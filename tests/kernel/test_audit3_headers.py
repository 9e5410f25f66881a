"""Audit: a header the kept code needs, left out by ``--modules-only``.

The bridge tree of ``test_header_includers`` (a module whose private header ``br_private.h``
others reach by relative paths), with the inputs that tried to fool the header rules:

- a built-in assembler file including the private header (``entry.S``): the include pass read
  only ``.c`` and ``.h`` files, so the header was module-private and its change was kept while
  the running kernel's assembler had the old one;
- a header the patch creates, or renames another to, that the selection leaves out while a
  kept hunk adds the ``#include`` of it: ``check`` exited 0 and the module build could not
  compile (on s2, ``include/rdma/iter.h``, new in 6.1.176, kept ``drivers/infiniband`` code
  includes it);
- a member a left-out shared header adds, used by kept code directly and through a header that
  includes the changed one (warned about before; kept as regressions).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from patchsmith.cli import main
from patchsmith.kernel.classify import FileClass, classify
from patchsmith.kernel.config import parse_config
from patchsmith.kernel.kbuild import KbuildTree
from tests.kernel.test_header_includers import CONFIG, tree_of

# Built-in nf.c reaches the bridge's header by a relative path: the header is shared.
SHARED = {
    "net/ipv6/Makefile": "obj-$(CONFIG_IPV6) += ipv6.o\nipv6-y := af_inet6.o nf.o\n",
    "net/ipv6/nf.c": '#include "../bridge/br_private.h"\n',
}

NEW_HEADER = (
    "diff --git a/net/bridge/br_new.h b/net/bridge/br_new.h\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/net/bridge/br_new.h\n@@ -0,0 +1,3 @@\n+struct br_new {\n+\tint x;\n+};\n"
)
INCLUDE_NEW = (
    "diff --git a/net/bridge/br.c b/net/bridge/br.c\n--- a/net/bridge/br.c\n"
    '+++ b/net/bridge/br.c\n@@ -1,2 +1,3 @@\n #include "br_private.h"\n'
    '+#include "br_new.h"\n int br_init(void) { return 0; }\n'
)
NF_INCLUDES_NEW = (
    "diff --git a/net/ipv6/nf.c b/net/ipv6/nf.c\n--- a/net/ipv6/nf.c\n+++ b/net/ipv6/nf.c\n"
    '@@ -1 +1,2 @@\n #include "../bridge/br_private.h"\n+#include "../bridge/br_new.h"\n'
)
RENAME = (
    "diff --git a/net/bridge/br_private.h b/net/bridge/br_priv.h\nsimilarity index 70%\n"
    "rename from net/bridge/br_private.h\nrename to net/bridge/br_priv.h\n"
    "--- a/net/bridge/br_private.h\n+++ b/net/bridge/br_priv.h\n@@ -1,3 +1,3 @@\n"
    " struct net_bridge {\n-\tint features;\n+\tlong features;\n };\n"
)
BR_TO_RENAMED = (
    "diff --git a/net/bridge/br.c b/net/bridge/br.c\n--- a/net/bridge/br.c\n"
    '+++ b/net/bridge/br.c\n@@ -1,2 +1,2 @@\n-#include "br_private.h"\n+#include "br_priv.h"\n'
    " int br_init(void) { return 0; }\n"
)
FDB_TO_RENAMED = (
    "diff --git a/net/bridge/br_fdb.c b/net/bridge/br_fdb.c\n--- a/net/bridge/br_fdb.c\n"
    '+++ b/net/bridge/br_fdb.c\n@@ -1 +1 @@\n-#include "br_private.h"\n+#include "br_priv.h"\n'
)
NF_TO_RENAMED = (
    "diff --git a/net/ipv6/nf.c b/net/ipv6/nf.c\n--- a/net/ipv6/nf.c\n+++ b/net/ipv6/nf.c\n"
    '@@ -1 +1 @@\n-#include "../bridge/br_private.h"\n+#include "../bridge/br_priv.h"\n'
)


def check(tmp_path: Path, files: dict[str, str], patch: str) -> tuple[int, dict[str, Any]]:
    tree_of(tmp_path / "tree", files)
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "p.diff").write_text(patch)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "check",
                str(tmp_path / "p.diff"),
                "--tree",
                str(tmp_path / "tree"),
                "--config",
                str(tmp_path / "config"),
                "--modules-only",
                "--json",
            ]
        )
    data: dict[str, Any] = json.loads(out.getvalue())
    return code, data


def kept(data: dict[str, Any]) -> list[str]:
    return [f["path"] for f in data["files"] if f["status"] != "excluded"]


def test_a_builtin_assembler_includer_makes_the_header_shared(tmp_path: Path) -> None:
    files = {
        "net/Makefile": (
            "obj-$(CONFIG_NET) += core/\nobj-y += bridge/\nobj-$(CONFIG_IPV6) += ipv6/\n"
        ),
        "net/bridge/Makefile": (
            "obj-$(CONFIG_BRIDGE) += bridge.o\nbridge-y := br.o br_fdb.o\nobj-y += br_entry.o\n"
        ),
        "net/bridge/br_entry.S": '#include "br_private.h"\n\tret\n',
    }
    tree_of(tmp_path, files)
    tree = KbuildTree(tmp_path, parse_config(CONFIG))
    found = classify(tree, ["net/bridge/br_entry.S", "net/bridge/br_private.h"])
    assert found["net/bridge/br_entry.S"].kind == FileClass.BUILTIN
    header = found["net/bridge/br_private.h"]
    assert (header.kind, header.rule, header.included_by_builtin) == (
        FileClass.HEADER,
        "shared",
        True,
    )
    assert "built-in net/bridge/br_entry.S includes it" in header.reason


def test_an_assembler_file_in_a_module_keeps_the_header_the_modules(tmp_path: Path) -> None:
    # The control: the .S is part of the module; nothing built in includes the header.
    files = {
        "net/bridge/Makefile": (
            "obj-$(CONFIG_BRIDGE) += bridge.o\nbridge-y := br.o br_fdb.o br_entry.o\n"
        ),
        "net/bridge/br_entry.S": '#include "br_private.h"\n\tret\n',
    }
    tree_of(tmp_path, files)
    tree = KbuildTree(tmp_path, parse_config(CONFIG))
    header = classify(tree, ["net/bridge/br_private.h"])["net/bridge/br_private.h"]
    assert (header.kind, header.rule) == (FileClass.MODULE, "module-private")


def test_a_new_private_header_goes_with_the_module_that_includes_it(tmp_path: Path) -> None:
    code, data = check(tmp_path, {}, NEW_HEADER + INCLUDE_NEW)
    assert kept(data) == ["net/bridge/br_new.h", "net/bridge/br.c"]
    assert (code, data.get("warnings", [])) == (0, [])


def test_a_new_header_left_out_while_kept_code_includes_it_is_warned_about(
    tmp_path: Path,
) -> None:
    # Built-in nf.c includes the new header too (the same patch adds the line): it is shared
    # and stays out, and the kept br.c hunk's #include names a file the tree lacks.
    code, data = check(tmp_path, SHARED, NEW_HEADER + INCLUDE_NEW + NF_INCLUDES_NEW)
    assert kept(data) == ["net/bridge/br.c"]
    (warning,) = data["warnings"]
    assert (warning["kind"], warning["path"], warning["other_path"]) == (
        "uses-left-out",
        "net/bridge/br.c",
        "net/bridge/br_new.h",
    )
    assert warning["kept_line"] == '#include "br_new.h"'
    assert code == 1


def test_a_renamed_header_kept_with_its_includers_needs_no_warning(tmp_path: Path) -> None:
    code, data = check(tmp_path, {}, RENAME + BR_TO_RENAMED + FDB_TO_RENAMED)
    assert kept(data) == ["net/bridge/br_priv.h", "net/bridge/br.c", "net/bridge/br_fdb.c"]
    assert (code, data.get("warnings", [])) == (0, [])


def test_a_renamed_header_left_out_while_kept_code_includes_its_new_name(tmp_path: Path) -> None:
    code, data = check(tmp_path, SHARED, RENAME + BR_TO_RENAMED + NF_TO_RENAMED)
    assert kept(data) == ["net/bridge/br.c"]
    (warning,) = data["warnings"]
    assert (warning["kind"], warning["other_path"], warning["identifiers"]) == (
        "uses-left-out",
        "net/bridge/br_priv.h",
        ["br_priv.h"],
    )
    assert code == 1


def test_an_include_of_an_existing_header_of_the_same_name_is_no_warning(tmp_path: Path) -> None:
    # The patch creates include/linux/br_new.h (kernel-wide, left out) but the kept hunk
    # includes the bridge's own br_new.h, which the tree has: the name resolves there.
    files = {**SHARED, "net/bridge/br_new.h": "struct br_new { int x; };\n"}
    created = NEW_HEADER.replace("net/bridge/br_new.h", "include/linux/br_new.h")
    code, data = check(tmp_path, files, created + INCLUDE_NEW)
    assert kept(data) == ["net/bridge/br.c"]
    assert [w["kind"] for w in data.get("warnings", [])] == []
    assert code == 0


def test_a_member_a_left_out_shared_header_adds_is_warned_about(tmp_path: Path) -> None:
    patch = (
        "--- a/net/bridge/br_private.h\n+++ b/net/bridge/br_private.h\n@@ -1,3 +1,4 @@\n"
        " struct net_bridge {\n \tint features;\n+\tint vlan;\n };\n"
        "--- a/net/bridge/br.c\n+++ b/net/bridge/br.c\n@@ -1,2 +1,3 @@\n"
        ' #include "br_private.h"\n int br_init(void) { return 0; }\n'
        "+int br_vlan(struct net_bridge *br) { return br->vlan; }\n"
    )
    code, data = check(tmp_path, SHARED, patch)
    assert [(w["kind"], w["identifiers"]) for w in data["warnings"]] == [
        ("uses-left-out", ["vlan"])
    ]
    assert code == 1


def test_a_member_changed_in_a_header_the_shared_one_includes_is_warned_about(
    tmp_path: Path,
) -> None:
    files = {
        **SHARED,
        "net/bridge/br_private.h": (
            '#include "br_inner.h"\nstruct net_bridge {\n\tint features;\n};\n'
        ),
        "net/bridge/br_inner.h": "struct br_inner {\n\tint a;\n};\n",
    }
    patch = (
        "--- a/net/bridge/br_inner.h\n+++ b/net/bridge/br_inner.h\n@@ -1,3 +1,4 @@\n"
        " struct br_inner {\n \tint a;\n+\tint b;\n };\n"
        "--- a/net/bridge/br.c\n+++ b/net/bridge/br.c\n@@ -1,2 +1,3 @@\n"
        ' #include "br_private.h"\n int br_init(void) { return 0; }\n'
        "+int br_b(struct br_inner *i) { return i->b; }\n"
    )
    code, data = check(tmp_path, files, patch)
    assert [(w["kind"], w["other_path"]) for w in data["warnings"]] == [
        ("uses-left-out", "net/bridge/br_inner.h")
    ]
    assert code == 1

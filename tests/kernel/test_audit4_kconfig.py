"""Audit: kept module code testing a config option that a left-out Kconfig hunk changes.

``--modules-only`` leaves every Kconfig file out (build system). When upstream's fix adds an
option (``select BRIDGE_VLAN_STATS`` on the module's entry, a new ``config`` for it) and guards
the module's new code with ``#ifdef CONFIG_BRIDGE_VLAN_STATS``, the kept code is compiled with
the running kernel's configuration, which never had the option: the fix is compiled out, the
module builds, and check said nothing (exit 0). The warning names the option, the left-out
Kconfig line and the kept line.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.kernel.classify import Classification, FileClass
from patchsmith.kernel.deps import PatchHunk, kconfig_changes, kconfig_warnings
from patchsmith.patchfile.hunk import parse_file
from patchsmith.patchfile.index import index_bytes
from tests.kernel.test_audit3_headers import check, kept

KCONFIG = (
    'config BRIDGE\n\ttristate "802.1d Ethernet Bridging"\n\tdepends on NET\n\n'
    'config BRIDGE_IGMP\n\tbool "IGMP snooping"\n\tdepends on BRIDGE\n'
)
BR = '#include "br_private.h"\nint br_init(void)\n{\n\tint x = 0;\n\treturn x;\n}\n'
FILES = {"net/bridge/Kconfig": KCONFIG, "net/bridge/br.c": BR}

SELECT_NEW = (
    "diff --git a/net/bridge/Kconfig b/net/bridge/Kconfig\n--- a/net/bridge/Kconfig\n"
    "+++ b/net/bridge/Kconfig\n@@ -1,7 +1,11 @@\n config BRIDGE\n"
    ' \ttristate "802.1d Ethernet Bridging"\n \tdepends on NET\n+\tselect BRIDGE_VLAN_STATS\n'
    ' \n config BRIDGE_IGMP\n \tbool "IGMP snooping"\n \tdepends on BRIDGE\n'
    "+\n+config BRIDGE_VLAN_STATS\n+\tbool\n"
)
DEPENDS = (
    "diff --git a/net/bridge/Kconfig b/net/bridge/Kconfig\n--- a/net/bridge/Kconfig\n"
    "+++ b/net/bridge/Kconfig\n@@ -4,4 +4,4 @@ config BRIDGE\n \n config BRIDGE_IGMP\n"
    ' \tbool "IGMP snooping"\n-\tdepends on BRIDGE\n+\tdepends on BRIDGE && INET\n'
)


def guarded(option: str) -> str:
    return (
        "diff --git a/net/bridge/br.c b/net/bridge/br.c\n--- a/net/bridge/br.c\n"
        "+++ b/net/bridge/br.c\n@@ -2,5 +2,8 @@\n int br_init(void)\n {\n \tint x = 0;\n"
        f"+#if IS_ENABLED(CONFIG_{option})\n+\tx = br_vlan_stats_init();\n+#endif\n"
        " \treturn x;\n }\n"
    )


def test_kept_code_guarded_by_an_option_a_left_out_hunk_adds_is_warned_about(
    tmp_path: Path,
) -> None:
    code, data = check(tmp_path, FILES, SELECT_NEW + guarded("BRIDGE_VLAN_STATS"))
    assert kept(data) == ["net/bridge/br.c"]
    (warning,) = data["warnings"]
    assert warning["kind"] == "uses-left-out" and code == 1
    assert warning["identifiers"] == ["CONFIG_BRIDGE_VLAN_STATS"]
    assert (warning["other_path"], warning["other_hunk"]) == ("net/bridge/Kconfig", 1)
    assert warning["kept_line"] == "#if IS_ENABLED(CONFIG_BRIDGE_VLAN_STATS)"
    assert warning["other_line"] == "\tselect BRIDGE_VLAN_STATS"
    assert "compiled out" in warning["message"]


def test_a_changed_dependency_counts_for_the_entry_it_stands_in(tmp_path: Path) -> None:
    _code, data = check(tmp_path, FILES, DEPENDS + guarded("BRIDGE_IGMP"))
    (warning,) = data["warnings"]
    assert warning["identifiers"] == ["CONFIG_BRIDGE_IGMP"]
    assert warning["other_line"] == "\tdepends on BRIDGE"


def test_kept_code_testing_an_option_the_left_out_hunk_leaves_alone_is_not_warned(
    tmp_path: Path,
) -> None:
    # The left-out hunk changes BRIDGE_IGMP's dependency; the kept code tests BRIDGE (whose
    # entry the hunk only shows as context) and INET (named in the changed line, not changed).
    for option in ("BRIDGE", "INET"):
        code, data = check(tmp_path / option, FILES, DEPENDS + guarded(option))
        assert (code, data.get("warnings", [])) == (0, [])


def _hunk(patch: str, path: str) -> PatchHunk:
    index = index_bytes(patch.encode())
    return PatchHunk(path, parse_file(index, index.files[0])[0])


def test_what_a_kconfig_hunk_changes() -> None:
    select = _hunk(SELECT_NEW, "net/bridge/Kconfig").hunk
    assert set(kconfig_changes(select)) == {"BRIDGE", "BRIDGE_VLAN_STATS"}
    assert set(kconfig_changes(_hunk(DEPENDS, "net/bridge/Kconfig").hunk)) == {"BRIDGE_IGMP"}


def test_a_module_suffix_and_another_architecture() -> None:
    kept_hunk = _hunk(guarded("BRIDGE_VLAN_STATS_MODULE"), "net/bridge/br.c")
    left = _hunk(SELECT_NEW, "net/bridge/Kconfig")
    (warning,) = kconfig_warnings([kept_hunk], [left])
    assert warning.identifiers == ("CONFIG_BRIDGE_VLAN_STATS",)
    # The same change in another architecture's Kconfig is not this config's.
    other_arch = PatchHunk("arch/arm/Kconfig", left.hunk)
    classes = {"arch/arm/Kconfig": Classification(FileClass.OTHER_ARCH, "arch/arm/")}
    assert len(kconfig_warnings([kept_hunk], [other_arch])) == 1
    assert kconfig_warnings([kept_hunk], [other_arch], classes) == []
    # Not a Kconfig file: the C rules speak of it, not this one.
    assert kconfig_warnings([kept_hunk], [PatchHunk("net/bridge/br_if.c", left.hunk)]) == []


# --- a macro the left-out Makefile defines on the command line ----------------------------------

MAKEFILE = "obj-$(CONFIG_BRIDGE) += bridge.o\nbridge-y := br.o br_fdb.o\n"
CFLAGS = (
    "diff --git a/net/bridge/Makefile b/net/bridge/Makefile\n--- a/net/bridge/Makefile\n"
    "+++ b/net/bridge/Makefile\n@@ -1,2 +1,3 @@\n obj-$(CONFIG_BRIDGE) += bridge.o\n"
    " bridge-y := br.o br_fdb.o\n+ccflags-y += -DBR_VLAN_STATS -I$(src)/include\n"
)


def macro_guarded(name: str) -> str:
    return (
        "diff --git a/net/bridge/br.c b/net/bridge/br.c\n--- a/net/bridge/br.c\n"
        "+++ b/net/bridge/br.c\n@@ -2,5 +2,8 @@\n int br_init(void)\n {\n \tint x = 0;\n"
        f"+#ifdef {name}\n+\tx = br_vlan_stats_init();\n+#endif\n \treturn x;\n }}\n"
    )


def test_kept_code_under_a_macro_a_left_out_makefile_line_defines_is_warned_about(
    tmp_path: Path,
) -> None:
    files = {**FILES, "net/bridge/Makefile": MAKEFILE}
    code, data = check(tmp_path / "used", files, CFLAGS + macro_guarded("BR_VLAN_STATS"))
    assert kept(data) == ["net/bridge/br.c"] and code == 1
    (warning,) = data["warnings"]
    assert warning["identifiers"] == ["BR_VLAN_STATS"]
    assert (warning["other_path"], warning["kept_line"]) == (
        "net/bridge/Makefile",
        "#ifdef BR_VLAN_STATS",
    )
    assert warning["other_line"] == "ccflags-y += -DBR_VLAN_STATS -I$(src)/include"
    # The control: kept code naming another macro.
    code, data = check(tmp_path / "other", files, CFLAGS + macro_guarded("BR_OTHER"))
    assert (code, data.get("warnings", [])) == (0, [])

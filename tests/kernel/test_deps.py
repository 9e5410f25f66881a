"""Dependency warnings: a kept use of what a left-out hunk defines, and nothing else.

The inputs that would fool a word match are here on purpose: the same name in a comment, a
string or an ``#include``; a local variable and a goto label that look like globals; a member
name used as a plain variable; a static function of another file; a header the kept file never
includes; a comment-only or whitespace-only change of a declaration; a declaration moved as is.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchsmith.kernel.classify import Classification, FileClass, classify
from patchsmith.kernel.config import load_config
from patchsmith.kernel.csyntax import Kind, changed_definitions, uses
from patchsmith.kernel.deps import (
    PatchHunk,
    WarningKind,
    dependency_warnings,
)
from patchsmith.kernel.kbuild import KbuildTree
from patchsmith.patchfile.hunk import Hunk, HunkLine, parse_file
from patchsmith.patchfile.index import index_bytes
from tests.support.paths import FIXTURES


def fixture_hunks() -> dict[str, list[PatchHunk]]:
    index = index_bytes((FIXTURES / "kernel-tree.patch").read_bytes())
    found: dict[str, list[PatchHunk]] = {}
    for entry in index.files:
        path = entry.path.split("/", 1)[1]
        found[path] = [PatchHunk(path, hunk) for hunk in parse_file(index, entry)]
    return found


def hunk(*lines: str, number: int = 1, section: str = "") -> Hunk:
    parsed = tuple(HunkLine(line[0], line[1:].encode() + b"\n") for line in lines)
    return Hunk.from_lines(number, 1, 1, 1, 1, section, parsed)


def definitions(*lines: str, before: list[str] | None = None, path: str = "x.h") -> set[str]:
    h = hunk(*lines)
    above = None if before is None else [line.encode() + b"\n" for line in before]
    found = changed_definitions(h.ops, h.texts, above, source_file=path.endswith(".c"))
    return {f"{d.kind}:{d.name}" for d in found}


# --- what a hunk defines ----------------------------------------------------------------------


def test_a_member_whose_type_changes() -> None:
    assert definitions(
        " struct dm_verity {",
        " \tunsigned char levels;",
        "-\tint corrupted_errs;",
        "+\tatomic_t corrupted_errs;",
        " };",
    ) == {"member:corrupted_errs"}


def test_a_member_changed_in_a_struct_that_opened_above_the_hunk() -> None:
    assert definitions(
        " \tint a;",
        "+\tint hold_count;",
        " };",
        before=["struct mapped_device {", "\tint flags;"],
    ) == {"member:hold_count"}


def test_a_prototype_changed_on_its_second_line() -> None:
    assert definitions(
        " \t\t    unsigned int num_targets,",
        "-\t\t    int md);",
        "+\t\t    long md);",
        before=["#include <x.h>", "", "int dm_table_create(struct dm_table **result, int mode,"],
    ) == {"function:dm_table_create"}


def test_a_function_body_change_defines_nothing() -> None:
    assert (
        definitions(
            " {",
            "-\tret = helper(ti);",
            "+\tret = helper(ti, flags);",
            "+\tint count;",
            " }",
            before=["int dm_get_device(int x)"],
            path="dm.c",
        )
        == set()
    )


def test_a_goto_label_in_column_0_is_still_inside_the_function() -> None:
    """af_packet.c: ``out_unlock:`` in column 0 above the hunk made ``ret = 0;`` a global."""
    assert (
        definitions(
            "-\tret = 0;",
            "+\tret = -EINVAL;",
            before=["static int packet_snd(int len)", "{", "\tint ret;", "out_unlock:", "\tif (x)"],
            path="af_packet.c",
        )
        == set()
    )


def test_comments_and_whitespace_change_nothing() -> None:
    assert (
        definitions(
            "-int foo(int a); /* old */",
            "+int  foo(int a);\t/* new words: struct bar { int baz; }; */",
            " /*",
            "- * #define OLD 1",
            "+ * #define NEW 2",
            " */",
        )
        == set()
    )


def test_a_declaration_moved_as_is_changes_nothing() -> None:
    assert definitions("-extern int moved;", " int other;", "+extern int moved;") == set()


def test_macros_enums_typedefs_globals_exports() -> None:
    assert definitions(
        "-#define FOO 1",
        "+#define FOO 2",
        "+#define BAR(x) \\",
        "+\tdo { x; } while (0)",
        " enum mode {",
        " \tMODE_A,",
        "+\tMODE_NEW = 4,",
        " };",
        "+typedef int (*demo_cb_t)(void *);",
        "+extern unsigned long demo_count;",
        "+EXPORT_SYMBOL_GPL(demo_probe);",
    ) == {
        "macro:FOO",
        "macro:BAR",
        "enum constant:MODE_NEW",
        "typedef:demo_cb_t",
        "global:demo_count",
        "exported symbol:demo_probe",
    }


def test_statics_and_macros_of_a_c_file_are_file_local() -> None:
    h = hunk("+static int helper(void);", "+#define LOCAL 1", "+int shared(void);")
    found = {
        d.name: d.file_local for d in changed_definitions(h.ops, h.texts, [], source_file=True)
    }
    assert found == {"helper": True, "LOCAL": True, "shared": False}


def test_a_multi_line_macro_changed_in_its_body() -> None:
    assert definitions(
        " \tdo {\t\t\\",
        "-\t\tx = 1;\t\\",
        "+\t\tx = 2;\t\\",
        " \t} while (0)",
        before=["int other;", "#define SET_X(x)\t\\"],
    ) == {"macro:SET_X"}


# --- what a hunk uses ---------------------------------------------------------------------------


def test_uses_skip_comments_strings_includes_and_keywords() -> None:
    h = hunk(
        " /*",
        "+ * dm_uses_in_comment(x)",
        " */",
        '+#include "dm-core.h"',
        '+\tpr_info("dm_uses_in_string %d\\n", count); // dm_uses_in_line_comment',
        "+\tif (md->flags & DM_FLAG)",
        "+\t\treturn (u32)x;",
        " \tctx_in_context_line();",
    )
    found = [(u.name, u.member) for u in uses(h.ops, h.texts)]
    assert found == [
        ("pr_info", False),
        ("count", False),
        ("md", False),
        ("flags", True),
        ("DM_FLAG", False),
        ("x", False),
    ]


def test_a_hunk_that_starts_inside_a_comment() -> None:
    h = hunk("+ * a sentence that names corrupted_errs", "+ */", "+\tnext_use();")
    assert [u.name for u in uses(h.ops, h.texts)] == ["next_use"]


# --- warnings -----------------------------------------------------------------------------------


def test_kept_module_hunk_uses_macro_a_left_out_header_adds() -> None:
    hunks = fixture_hunks()
    kept = hunks["drivers/md/dm-table.c"]
    left_out = hunks["include/linux/demo_core.h"] + hunks["kernel/fork.c"]
    warnings = dependency_warnings(kept, left_out)
    assert [
        (w.number, w.kind, w.path, w.hunk, w.identifiers, w.other_path, w.other_hunk)
        for w in warnings
    ] == [
        (
            1,
            WarningKind.USES_LEFT_OUT,
            "drivers/md/dm-table.c",
            1,
            ("DEMO_CORE_FLAG_SYNC",),
            "include/linux/demo_core.h",
            1,
        )
    ]
    assert warnings[0].other_line == "#define DEMO_CORE_FLAG_SYNC\t0x2"
    assert warnings[0].kept_line == "\tmd->flags = mode | DEMO_CORE_FLAG_SYNC;"
    assert warnings[0].key == "uses-left-out:include/linux/demo_core.h#1:DEMO_CORE_FLAG_SYNC"


def test_kept_header_that_builtin_code_includes() -> None:
    hunks = fixture_hunks()
    tree = KbuildTree(FIXTURES / "kernel-tree", load_config(FIXTURES / "kernel-tree.config"))
    classes = classify(tree, list(hunks))
    kept = hunks["include/linux/demo_core.h"] + hunks["drivers/md/dm-core.h"]
    warnings = dependency_warnings(kept, hunks["kernel/fork.c"], classes)
    assert [(w.kind, w.path) for w in warnings] == [
        (WarningKind.BUILTIN_HEADER, "include/linux/demo_core.h")
    ]
    # The class's reason says the header "stays out"; kept here, the warning must not read as
    # if it had been left out.
    assert "stays out" in classes["include/linux/demo_core.h"].reason
    assert warnings[0].message.startswith("include/linux/demo_core.h hunk #1 is kept, but ")
    assert "which --modules-only leaves out: " in warnings[0].message


def test_nothing_shared_no_warning() -> None:
    hunks = fixture_hunks()
    assert dependency_warnings(hunks["fs/extdemo/super.c"], hunks["kernel/kexec.c"]) == []


def _one(path: str, *lines: str, number: int = 1) -> PatchHunk:
    return PatchHunk(path, hunk(*lines, number=number))


def test_a_member_is_used_only_as_a_member() -> None:
    left_out = [_one("include/linux/x.h", " struct x {", "+\tint count;", " };")]
    as_variable = [_one("drivers/a/a.c", "+\tcount++;")]
    as_member = [_one("drivers/a/a.c", "+\tx->count++;")]
    assert dependency_warnings(as_variable, left_out) == []
    assert len(dependency_warnings(as_member, left_out)) == 1


def test_a_static_of_another_file_is_not_seen() -> None:
    left_out = [_one("kernel/a.c", "+static int helper(void)", "+{", "+\treturn 0;", "+}")]
    kept = [_one("drivers/a/a.c", "+\treturn helper();")]
    assert dependency_warnings(kept, left_out) == []
    shared = [_one("kernel/a.c", "+int helper(void)", "+{", "+\treturn 0;", "+}")]
    assert len(dependency_warnings(kept, shared)) == 1


def test_a_header_the_kept_file_does_not_include_is_not_seen() -> None:
    left_out = [_one("include/uapi/linux/btrfs.h", " struct args {", "+\t__u8 buf[];", " };")]
    kept = [_one("net/ceph/auth_x.c", "+\tp = au->buf->vec.iov_base;")]
    assert len(dependency_warnings(kept, left_out)) == 1  # without the tree: seen
    assert dependency_warnings(kept, left_out, sees=lambda path, header: False) == []


def test_other_architectures_and_unbuilt_files_are_ignored() -> None:
    left_out = [
        _one("arch/riscv/include/asm/kvm_host.h", "+#define KVM_REQ_NEW 7"),
        _one("virt/kvm/b.h", "+#define B_NEW 1"),
    ]
    kept = [_one("virt/kvm/kvm_main.c", "+\tkvm_make_request(KVM_REQ_NEW, B_NEW);")]
    classes = {
        "arch/riscv/include/asm/kvm_host.h": Classification(FileClass.OTHER_ARCH, "riscv"),
        "virt/kvm/b.h": Classification(FileClass.NOT_BUILT, "n"),
    }
    assert dependency_warnings(kept, left_out, classes) == []
    assert len(dependency_warnings(kept, left_out)) == 2


def test_one_warning_per_left_out_change_with_every_kept_user() -> None:
    left_out = [_one("include/linux/nvme.h", " enum {", "+\tNVME_STATUS_DNR = 0x4000,", " };")]
    kept = [
        _one("drivers/nvme/host/fc.c", "+\tret = NVME_STATUS_DNR;", number=1),
        _one("drivers/nvme/host/fc.c", "+\tret |= NVME_STATUS_DNR;", number=3),
        _one("drivers/nvme/target/core.c", "+\treturn NVME_STATUS_DNR;", number=2),
    ]
    (warning,) = dependency_warnings(kept, left_out)
    assert warning.users == (
        ("drivers/nvme/host/fc.c", (1, 3), "\tret = NVME_STATUS_DNR;"),
        ("drivers/nvme/target/core.c", (2,), "\treturn NVME_STATUS_DNR;"),
    )
    assert warning.message == (
        "left-out include/linux/nvme.h hunk #1 changes NVME_STATUS_DNR (enum constant), which "
        "kept code uses: drivers/nvme/host/fc.c hunks #1, #3; drivers/nvme/target/core.c hunk #2"
    )


# --- properties ---------------------------------------------------------------------------------

_NAMES = st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True).filter(
    lambda name: name.encode() not in {b"int", b"for", b"long", b"char", b"void", b"auto"}
)


@given(name=_NAMES, comment=st.text(alphabet="abc xyz_;{}()#*", max_size=30))
def test_a_comment_change_beside_a_member_never_defines(name: str, comment: str) -> None:
    comment = comment.replace("*/", "")
    found = definitions(
        " struct holder {",
        f"-\tint {name}; /* was */",
        f"+\tint {name}; /* {comment} */",
        " };",
    )
    assert found == set()


@given(
    name=_NAMES,
    old=st.sampled_from(["int", "long", "u8"]),
    new=st.sampled_from(["atomic_t", "bool"]),
)
def test_a_type_change_of_a_member_defines_exactly_it(name: str, old: str, new: str) -> None:
    found = definitions(" struct holder {", f"-\t{old} {name};", f"+\t{new} {name};", " };")
    assert found == {f"{Kind.MEMBER}:{name}"}


def test_a_member_counts_only_where_its_struct_is_named() -> None:
    """fwnode.h turned ``u8 flags`` into ``unsigned long flags``: ``param->flags`` in dm-ioctl.c
    is another struct's member, and dm-ioctl.c never names ``struct fwnode_handle``."""
    left_out = [
        _one("include/linux/fwnode.h", " struct fwnode_handle {", "-\tu8 flags;", "+\tulong flags;")
    ]
    kept = [_one("drivers/md/dm-ioctl.c", "+\tparam->flags |= DM_BUFFER_FULL_FLAG;")]
    named = {"drivers/md/dm-ioctl.c": "struct dm_ioctl *param;"}

    def mentions(path: str, names: tuple[str, ...]) -> bool:
        return any(name in named.get(path, "") for name in names)

    assert dependency_warnings(kept, left_out, mentions=mentions) == []
    named["drivers/md/dm-ioctl.c"] += " struct fwnode_handle *fw;"
    assert len(dependency_warnings(kept, left_out, mentions=mentions)) == 1


def test_an_enum_constant_needs_no_mention_of_its_enum() -> None:
    left_out = [
        _one("include/linux/security.h", " enum lockdown_reason {", "+\tLOCKDOWN_XEN_USER,", " };")
    ]
    kept = [_one("drivers/xen/privcmd.c", "+\tif (security_locked_down(LOCKDOWN_XEN_USER))")]
    (warning,) = dependency_warnings(kept, left_out, mentions=lambda path, names: False)
    assert warning.identifiers == ("LOCKDOWN_XEN_USER",)


def test_a_sparse_annotation_changes_nothing() -> None:
    assert (
        definitions(
            " typedef struct port {",
            "-\tstruct aggregator *aggregator;",
            "+\tstruct aggregator __rcu *aggregator;",
        )
        == set()
    )


def test_a_member_moved_by_two_hunks_of_one_file_is_not_a_change() -> None:
    left_out = [
        _one(
            "include/net/expect.h",
            " struct expect {",
            "+\trefcount_t use;",
            "+\tpossible_net_t net;",
            " \tstruct tuple tuple;",
            number=1,
        ),
        PatchHunk(
            "include/net/expect.h",
            hunk(
                " \tstruct timer_list timeout;",
                "-\trefcount_t use;",
                number=2,
                section="struct expect {",
            ),
        ),
    ]
    kept = [_one("net/netfilter/expect.c", "+\tif (refcount_read(&exp->use) && exp->net)")]
    (warning,) = dependency_warnings(kept, left_out)
    assert warning.identifiers == ("net",)
    # The same member leaving one struct for another is a change (libsas: scsi_core.shost
    # became sas_ha_struct.shost).
    other_struct = PatchHunk(
        "include/net/expect.h",
        hunk(" \tint a;", "-\trefcount_t use;", number=2, section="struct other {"),
    )
    (warning,) = dependency_warnings(kept, [left_out[0], other_struct])
    assert warning.identifiers == ("net", "use")

"""Preflight: the target module's facts against the tree's release, config flags and compiler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.errors import InputError, TreeError
from patchsmith.kernel.config import parse_config
from patchsmith.ship.elfinfo import read_module
from patchsmith.ship.preflight import (
    Check,
    compiler_version,
    pick_module,
    preflight,
    probe_compiler,
    read_tree,
    run_preflight,
    tree_release,
    vermagic_flags,
)
from patchsmith.ship.signing import prepare_signer, sign_module
from tests.ship.elf_factory import CLOUD_VERMAGIC, XEN_VERMAGIC, craft_module, fake_command
from tests.ship.real_tools import SIGN_FILE, needs_sign_file, throwaway_key

CLOUD_CONFIG = """\
# Linux/x86 6.1.192 Kernel Configuration
CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"
CONFIG_64BIT=y
CONFIG_X86_64=y
CONFIG_X86=y
CONFIG_LOCALVERSION=""
CONFIG_SMP=y
CONFIG_PREEMPT_BUILD=y
CONFIG_PREEMPT_VOLUNTARY=y
# CONFIG_PREEMPT is not set
CONFIG_PREEMPT_DYNAMIC=y
CONFIG_MODULE_UNLOAD=y
CONFIG_MODVERSIONS=y
CONFIG_RANDSTRUCT_NONE=y
"""

# A 2.6.16 Xen guest config for a 686 (vermagic "2.6.16-xenU SMP 686 gcc-4.0": no mod_unload):
# no CONFIG_X86_32 or CONFIG_64BIT in 2.6.16, REGPARM off.
XEN_CONFIG = """\
CONFIG_X86=y
CONFIG_X86_XEN=y
CONFIG_LOCALVERSION="-xenU"
CONFIG_SMP=y
CONFIG_M686=y
# CONFIG_PREEMPT is not set
CONFIG_MODULES=y
# CONFIG_MODULE_UNLOAD is not set
# CONFIG_MODVERSIONS is not set
"""


def _headers_dir(root: Path, release: str = "6.1.0-56-cloud-amd64") -> Path:
    """A Debian-style prepared headers directory (what linux-headers-RELEASE installs)."""
    (root / "include/generated").mkdir(parents=True)
    (root / "include/config").mkdir(parents=True)
    (root / "include/generated/utsrelease.h").write_text(f'#define UTS_RELEASE "{release}"\n')
    (root / "include/generated/autoconf.h").write_text("#define CONFIG_SMP 1\n")
    # Debian's headers say 6.1.192 here; the module's release is utsrelease.h's.
    (root / "include/config/kernel.release").write_text("6.1.192\n")
    (root / "Makefile").write_text("include /usr/src/linux-headers-6.1.0-56-common/Makefile\n")
    (root / ".config").write_text(CLOUD_CONFIG)
    (root / "Module.symvers").write_text("0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n")
    (root / ".kernelvariables").write_text(
        "override KERNELRELEASE = 6.1.0-56-cloud-amd64\n"
        "CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-12\n"
    )
    return root


def _xen_tree(root: Path) -> Path:
    root.mkdir()
    (root / "Makefile").write_text(
        "VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 16\nEXTRAVERSION =\nNAME=Sliding Snow Leopard\n"
    )
    (root / ".config").write_text(XEN_CONFIG)
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/autoconf.h").write_text("#define CONFIG_SMP 1\n")
    return root


def _gcc(tmp_path: Path, line: str, name: str = "gcc") -> str:
    return str(
        fake_command(tmp_path / name, f"echo '{line}'\necho 'Copyright (C) Free Software'\n")
    )


def _cloud_module(tmp_path: Path) -> Path:
    return craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))


def _xen_module(tmp_path: Path) -> Path:
    return craft_module(
        tmp_path / "dm-mod.ko",
        ("license=GPL", f"vermagic={XEN_VERMAGIC}"),
        bits=32,
        comment=("GCC: (GNU) 4.0.3 (Debian 4.0.2-2)",),
    )


def _by_name(checks: tuple[Check, ...]) -> dict[str, Check]:
    return {check.name: check for check in checks}


# --- facts ----------------------------------------------------------------------------------------


def test_release_prefers_utsrelease_over_debian_kernel_release(tmp_path: Path) -> None:
    root = _headers_dir(tmp_path / "headers")

    assert tree_release(root, None) == ("6.1.0-56-cloud-amd64", "include/generated/utsrelease.h")


def test_release_from_kernel_release_file(tmp_path: Path) -> None:
    (tmp_path / "include/config").mkdir(parents=True)
    (tmp_path / "include/config/kernel.release").write_text("6.1.180-vendor\n")

    assert tree_release(tmp_path, None) == ("6.1.180-vendor", "include/config/kernel.release")


def test_release_from_makefile_and_localversion(tmp_path: Path) -> None:
    tree = _xen_tree(tmp_path / "xen")

    release, source = tree_release(tree, parse_config(XEN_CONFIG))

    assert release == "2.6.16-xenU"
    assert "CONFIG_LOCALVERSION" in source


def test_vermagic_flags_of_debian_cloud_config() -> None:
    # PREEMPT_DYNAMIC selects PREEMPT_BUILD: vermagic says "preempt" though PREEMPT is not set.
    assert vermagic_flags(parse_config(CLOUD_CONFIG)) == (
        "SMP",
        "preempt",
        "mod_unload",
        "modversions",
    )


def test_vermagic_flags_of_32_bit_xen_config() -> None:
    assert vermagic_flags(parse_config(XEN_CONFIG)) == ("SMP", "686")


@pytest.mark.parametrize(
    ("options", "flags"),
    [
        ("CONFIG_PREEMPT_RT=y\n", ("preempt_rt",)),
        ("CONFIG_PREEMPT=y\n", ("preempt",)),  # 2.6 to 5.x: no PREEMPT_BUILD
        ("CONFIG_X86_32=y\nCONFIG_MPENTIUM4=y\nCONFIG_REGPARM=y\n", ("PENTIUM4", "REGPARM")),
        ("CONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_RANDSTRUCT_FULL=y\n", ("RANDSTRUCT_",)),
    ],
)
def test_vermagic_flags_per_option(options: str, flags: tuple[str, ...]) -> None:
    assert vermagic_flags(parse_config("CONFIG_X86=y\n" + options)) == flags


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0", "12.2.0"),
        ("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "12.2.0"),
        ("gcc-4.0 (GCC) 4.0.3 (Debian 4.0.2-2)", "4.0.3"),
        ("Debian clang version 14.0.6", "14.0.6"),
    ],
)
def test_compiler_version_of_version_lines(line: str, version: str) -> None:
    assert compiler_version(line) == version


def test_probe_compiler_reads_first_line(tmp_path: Path) -> None:
    facts = probe_compiler(_gcc(tmp_path, "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"))

    assert facts.version_line == "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
    assert facts.version == "12.2.0"


def test_probe_compiler_not_found(tmp_path: Path) -> None:
    facts = probe_compiler(str(tmp_path / "no-such-gcc"))

    assert facts.version_line is None
    assert facts.problem is not None
    assert "not found" in facts.problem


def test_read_tree_uses_kernelvariables_compiler(tmp_path: Path) -> None:
    facts = read_tree(_headers_dir(tmp_path / "h"), kind="kernel-dir")

    assert facts.default_cc == "gcc-12"
    assert facts.prepared
    assert facts.has_symvers


def test_read_tree_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TreeError):
        read_tree(tmp_path / "nope", kind="kernel-dir")


# --- checks ---------------------------------------------------------------------------------------


def test_cloud_module_against_matching_headers_passes(tmp_path: Path) -> None:
    module = read_module(_cloud_module(tmp_path))
    tree = read_tree(_headers_dir(tmp_path / "h"), kind="kernel-dir")
    compiler = probe_compiler(_gcc(tmp_path, "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc-12"))

    report = preflight(module, tree, compiler)

    assert report.ok, report.failures
    assert [c.name for c in report.checks] == [
        "release",
        "word-size",
        "vermagic-flags",
        "compiler",
        "compiler-config",
        "prepared",
        "symvers",
    ]


def test_xen_module_needs_gcc_4_0(tmp_path: Path) -> None:
    module = read_module(_xen_module(tmp_path))
    tree = read_tree(_xen_tree(tmp_path / "xen"))

    report = preflight(
        module, tree, probe_compiler(_gcc(tmp_path, "gcc (Debian 12.2.0-14) 12.2.0"))
    )

    checks = _by_name(report.checks)
    assert not report.ok
    assert [c.name for c in report.failures] == ["compiler"]
    assert checks["compiler"].fix == (
        "the target was built with gcc 4.0.3; install it and pass --cc gcc-4.0"
    )
    assert checks["release"].ok
    assert checks["word-size"].ok
    assert checks["vermagic-flags"].ok
    assert "symvers" not in checks  # no modversions in the target's vermagic


def test_xen_module_with_gcc_4_0_passes(tmp_path: Path) -> None:
    module = read_module(_xen_module(tmp_path))
    tree = read_tree(_xen_tree(tmp_path / "xen"))
    compiler = probe_compiler(_gcc(tmp_path, "gcc-4.0 (GCC) 4.0.3 (Debian 4.0.2-2)", "gcc-4.0"))

    report = preflight(module, tree, compiler)

    assert report.ok, report.failures


def test_release_mismatch_in_localversion_names_the_option(tmp_path: Path) -> None:
    module = read_module(_xen_module(tmp_path))
    tree = _xen_tree(tmp_path / "xen")
    (tree / ".config").write_text(XEN_CONFIG.replace('"-xenU"', '""'))

    report = preflight(module, read_tree(tree), probe_compiler(_gcc(tmp_path, "gcc 4.0.3")))

    release = _by_name(report.checks)["release"]
    assert not release.ok
    assert release.expected == "2.6.16-xenU"
    assert release.found.startswith("2.6.16 ")
    assert release.fix is not None
    assert 'CONFIG_LOCALVERSION="-xenU"' in release.fix


def test_flag_mismatch_names_each_option(tmp_path: Path) -> None:
    module = read_module(_cloud_module(tmp_path))
    headers = _headers_dir(tmp_path / "h")
    tree_root = tmp_path / "tree"
    tree_root.mkdir()
    (tree_root / "include").symlink_to(headers / "include")
    (tree_root / ".config").write_text(
        CLOUD_CONFIG.replace("CONFIG_MODVERSIONS=y", "# CONFIG_MODVERSIONS is not set")
        .replace("CONFIG_PREEMPT_BUILD=y\n", "")
        .replace("CONFIG_PREEMPT_DYNAMIC=y\n", "")
    )

    report = preflight(module, read_tree(tree_root), probe_compiler(_gcc(tmp_path, "gcc 12.2.0")))

    flags = _by_name(report.checks)["vermagic-flags"]
    assert not flags.ok
    assert flags.found == "SMP mod_unload"
    assert flags.fix is not None
    assert "CONFIG_PREEMPT=y" in flags.fix
    assert "set CONFIG_MODVERSIONS=y" in flags.fix


def test_headers_for_another_release_point_at_the_right_package(tmp_path: Path) -> None:
    module = read_module(_cloud_module(tmp_path))
    tree = read_tree(_headers_dir(tmp_path / "h", "6.1.0-52-cloud-amd64"), kind="kernel-dir")

    report = preflight(module, tree, probe_compiler(_gcc(tmp_path, "gcc 12.2.0")))

    release = _by_name(report.checks)["release"]
    assert not release.ok
    assert release.fix is not None
    assert "linux-headers-6.1.0-56-cloud-amd64" in release.fix


def test_unconfigured_tree_fails_with_fixes(tmp_path: Path) -> None:
    module = read_module(_cloud_module(tmp_path))
    tree = tmp_path / "bare"
    tree.mkdir()

    report = preflight(module, read_tree(tree), probe_compiler(_gcc(tmp_path, "gcc 12.2.0")))

    failed = {c.name: c for c in report.failures}
    assert set(failed) == {"release", "vermagic-flags", "prepared", "symvers"}
    assert all(c.fix for c in failed.values())


def test_missing_compiler_is_a_failed_check(tmp_path: Path) -> None:
    module = read_module(_xen_module(tmp_path))
    tree = read_tree(_xen_tree(tmp_path / "xen"))

    report = preflight(module, tree, probe_compiler(str(tmp_path / "gcc-4.0")))

    compiler = _by_name(report.checks)["compiler"]
    assert not compiler.ok
    assert compiler.fix == "install the compiler and pass --cc gcc-4.0"


def test_object_without_vermagic_is_one_failed_check(tmp_path: Path) -> None:
    module = read_module(craft_module(tmp_path / "x.o", ("license=GPL",)))

    report = preflight(module, read_tree(tmp_path), probe_compiler(_gcc(tmp_path, "gcc 12.2.0")))

    assert [c.name for c in report.checks] == ["module"]
    assert not report.ok


# --- picking a module -----------------------------------------------------------------------------


def test_pick_module_by_name_and_by_directory(tmp_path: Path) -> None:
    root = tmp_path / "6.1.0-56-cloud-amd64"
    for relative in (
        "kernel/crypto/aes.ko",
        "kernel/drivers/md/bcache/bcache.ko",
        "kernel/drivers/md/dm-mod.ko.xz",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"")

    assert pick_module(root).name == "aes.ko"
    assert pick_module(root, prefer=["drivers/md"]).name == "dm-mod.ko.xz"
    assert pick_module(root, name="dm_mod").name == "dm-mod.ko.xz"
    with pytest.raises(InputError):
        pick_module(root, name="raid456")


def test_run_preflight_needs_one_target_and_one_build(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        run_preflight(tree=tmp_path)
    with pytest.raises(InputError):
        run_preflight(ko=tmp_path / "x.ko", tree=tmp_path, kernel_dir=tmp_path)


# --- the command line -----------------------------------------------------------------------------


def test_cli_json_passes_with_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = _cloud_module(tmp_path)
    headers = _headers_dir(tmp_path / "h")
    cc = _gcc(tmp_path, "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc-12")

    code = main(
        ["preflight", "--ko", str(module), "--kernel-dir", str(headers), "--cc", cc, "--json"]
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["ok"] is True
    assert document["target"]["vermagic"] == CLOUD_VERMAGIC.strip()
    assert document["tree"]["release"] == "6.1.0-56-cloud-amd64"
    assert {c["name"] for c in document["checks"]} >= {"release", "vermagic-flags", "compiler"}


def test_cli_table_fails_with_exit_1_and_shows_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modules_dir = tmp_path / "lib/modules/2.6.16-xenU"
    (modules_dir / "kernel/drivers/md").mkdir(parents=True)
    _xen_module(modules_dir / "kernel/drivers/md")
    tree = _xen_tree(tmp_path / "xen")
    cc = _gcc(tmp_path, "gcc (Debian 12.2.0-14) 12.2.0")

    code = main(["preflight", "--modules-dir", str(modules_dir), "--tree", str(tree), "--cc", cc])

    out = " ".join(capsys.readouterr().out.split())  # the table wraps at the terminal width
    assert code == 1
    assert "FAIL" in out
    assert "install it and pass --cc gcc-4.0" in out


def test_cli_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preflight", "--tree", str(tmp_path)])

    assert code == 2
    assert "--ko" in capsys.readouterr().err


# --- signatures -----------------------------------------------------------------------------------

SIGNING_CONFIG = """\
CONFIG_MODULE_SIG=y
# CONFIG_MODULE_SIG_FORCE is not set
CONFIG_MODULE_SIG_HASH="sha256"
CONFIG_SECURITY_LOCKDOWN_LSM=y
CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y
"""


def _signing_headers(root: Path) -> Path:
    headers = _headers_dir(root)
    (headers / ".config").write_text(CLOUD_CONFIG + SIGNING_CONFIG)
    return headers


def _signing_check(report: object) -> Check:
    checks = _by_name(report.checks)  # type: ignore[attr-defined]
    return checks["signing"]


def test_secure_boot_unknown_without_a_key_warns_and_says_what_to_ask(tmp_path: Path) -> None:
    # Debian's kernels do not force signatures; only Secure Boot's lockdown refuses unsigned
    # modules, and nobody said whether the target boots with it: a warning, not a failure.
    report = run_preflight(
        ko=_cloud_module(tmp_path), kernel_dir=_signing_headers(tmp_path / "h"), cc="true"
    )

    check = _signing_check(report)
    assert check.ok and check.warning and check not in report.failures
    assert report.warnings == (check,)
    assert "mokutil --sb-state" in (check.note or "")
    assert "--secure-boot on|off" in (check.note or "")
    assert "openssl req" in (check.note or "")
    assert "mokutil --import" in (check.note or "")
    assert report.signing is not None
    assert report.signing.target_signed is False
    assert "not signed" in check.found


@pytest.mark.parametrize(
    ("extra", "cmdline"),
    [
        ("", "module.sig_enforce=1"),  # the command line enforces
        ("CONFIG_MODULE_SIG_FORCE=y\n", None),  # the kernel enforces
    ],
    ids=["sig_enforce", "SIG_FORCE"],
)
def test_an_enforcing_target_fails_without_a_key_whatever_secure_boot_is(
    tmp_path: Path, extra: str, cmdline: str | None
) -> None:
    headers = _signing_headers(tmp_path / "h")
    (headers / ".config").write_text(
        (headers / ".config").read_text().replace("# CONFIG_MODULE_SIG_FORCE is not set\n", extra)
    )
    given = None
    if cmdline is not None:
        given = tmp_path / "cmdline"
        given.write_text(f"root=/dev/sda1 ro {cmdline}\n")

    report = run_preflight(ko=_cloud_module(tmp_path), kernel_dir=headers, cc="true", cmdline=given)

    check = _signing_check(report)
    assert not check.ok and not check.warning and check in report.failures
    assert "openssl req" in (check.fix or "")


def test_secure_boot_on_without_a_key_fails(tmp_path: Path) -> None:
    report = run_preflight(
        ko=_cloud_module(tmp_path),
        kernel_dir=_signing_headers(tmp_path / "h"),
        cc="true",
        secure_boot=True,
    )

    check = _signing_check(report)
    assert not check.ok and not check.warning
    assert "mokutil --import" in (check.fix or "")


def test_secure_boot_off_lets_unsigned_modules_pass_with_the_taint_noted(tmp_path: Path) -> None:
    report = run_preflight(
        ko=_cloud_module(tmp_path),
        kernel_dir=_signing_headers(tmp_path / "h"),
        cc="true",
        secure_boot=False,
    )

    check = _signing_check(report)
    assert check.ok
    assert "taint" in (check.note or "")


def test_sig_enforce_on_the_given_command_line_fails_without_a_key(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro module.sig_enforce=1\n")

    report = run_preflight(
        ko=_cloud_module(tmp_path),
        kernel_dir=_signing_headers(tmp_path / "h"),
        cc="true",
        secure_boot=False,
        cmdline=cmdline,
    )

    check = _signing_check(report)
    assert not check.ok
    assert report.signing is not None
    assert report.signing.policy is not None
    assert report.signing.policy.enforced == "yes"
    assert any("module.sig_enforce" in reason for reason in report.signing.policy.reasons)
    assert "--sign-key" in (check.fix or "")


@needs_sign_file
def test_a_usable_key_passes_and_a_mismatched_one_fails(tmp_path: Path) -> None:
    key, cert = throwaway_key(tmp_path / "key", "preflight key")
    other_key, other_cert = throwaway_key(tmp_path / "other", "other key")
    headers = _signing_headers(tmp_path / "h")
    (headers / "scripts").mkdir()
    assert SIGN_FILE is not None
    (headers / "scripts/sign-file").symlink_to(SIGN_FILE)
    # The target's own module, signed: preflight names its signer.
    target = _cloud_module(tmp_path)
    sign_module(target, prepare_signer(other_key, other_cert, kernel_dir=headers))

    good = run_preflight(ko=target, kernel_dir=headers, cc="true", sign_key=key, sign_cert=cert)
    bad = run_preflight(
        ko=target, kernel_dir=headers, cc="true", sign_key=key, sign_cert=other_cert
    )

    check = _signing_check(good)
    assert check.ok
    assert "preflight key" in check.found
    assert f"mokutil --import {cert}" in (check.note or "")
    assert good.signing is not None
    assert good.signing.target_signed
    assert good.signing.target_signer == "other key"
    assert "signed (other key)" in check.found
    failed = _signing_check(bad)
    assert not failed.ok
    assert "cannot sign" in failed.found


def test_cli_signing_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmdline = tmp_path / "grub"
    cmdline.write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n')
    common = [
        "preflight",
        "--ko",
        str(_cloud_module(tmp_path)),
        "--kernel-dir",
        str(_signing_headers(tmp_path / "h")),
        "--cc",
        _gcc(tmp_path, "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0", "gcc-12"),
        "--cmdline",
        str(cmdline),
    ]

    passed = main([*common, "--secure-boot", "off", "--json"])
    document = json.loads(capsys.readouterr().out)
    unknown = main(common)
    out = " ".join(capsys.readouterr().out.split())
    refused = main([*common, "--secure-boot", "on"])
    refused_out = " ".join(capsys.readouterr().out.split())
    half = main([*common, "--sign-key", str(cmdline)])
    err = capsys.readouterr().err

    assert passed == 0, document
    assert document["signing"]["policy"]["enforced"] == "no"
    assert document["signing"]["target_signed"] is False
    assert unknown == 0, out
    assert "signing warn" in out
    assert "refuses unsigned modules: only if it boots with Secure Boot (not known" in out
    assert "warn signing: unsigned modules are refused only if" in out
    assert "mokutil --sb-state" in out
    assert "1 with a warning (signing)" in out
    assert refused == 1
    assert "signing FAIL" in refused_out and "fix signing:" in refused_out
    assert half == 2
    assert "--sign-key and --sign-cert go together" in err

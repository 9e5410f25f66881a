"""``patchsmith preflight``: will the modules about to be built load into the target kernel?

A thin front end over :func:`patchsmith.ship.preflight.run_preflight`: the target's facts from a
module (``--ko`` or ``--modules-dir``), the build's from ``--tree`` or ``--kernel-dir`` and the
local compiler; a rich table of checks (or ``--json``). Exit 0 when every check passes (a warning,
such as a Secure Boot state nobody gave, passes and says what to ask), 1 when one fails, 2 for
bad input.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.common import print_json
from patchsmith.model import ExitCode
from patchsmith.ship.preflight import Check, PreflightReport, run_preflight

if TYPE_CHECKING:
    from rich.text import Text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help=COMMANDS["preflight"],
        description="Compare a module from the target kernel (vermagic from .modinfo, compiler "
        "from .comment) with the tree or prepared kernel directory the build will use (kernel "
        "release, the vermagic words its config implies: SMP, preemption model, mod_unload, "
        "modversions, the CPU family on 32-bit x86) and with the local compiler; and whether "
        "the target refuses unsigned modules (CONFIG_MODULE_SIG_FORCE, module.sig_enforce or "
        "lockdown on its command line, Secure Boot lockdown), whether its own modules are "
        "signed, and whether the key you give can sign for it. Every failed check comes with a "
        "concrete fix. Nothing is written.",
        epilog="examples:\n"
        "  patchsmith preflight --ko dm-mod.ko --kernel-dir /usr/src/linux-headers-$(uname -r)\n"
        "  patchsmith preflight --modules-dir /target/lib/modules/2.6.16-xenU --tree ../xen-tree "
        "--cc gcc-4.0\n"
        "  patchsmith preflight --ko dm-mod.ko --kernel-dir /usr/src/linux-headers-RELEASE \\\n"
        "      --cmdline target-cmdline.txt --secure-boot on --sign-key MOK.priv "
        "--sign-cert MOK.der\n\n"
        "Exit codes: 0 every check passes, 1 a check failed, 2 bad usage or input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_argument_group("the target (one of)")
    target.add_argument("--ko", metavar="FILE", help="a module of the target (.ko, .ko.xz ...)")
    target.add_argument(
        "--modules-dir",
        metavar="DIR",
        help="the target's /lib/modules/RELEASE (a copy is fine); a module is picked from it",
    )
    target.add_argument(
        "--module",
        metavar="NAME",
        help="with --modules-dir: which module to read (default: one under --prefer, or the first)",
    )
    target.add_argument(
        "--prefer",
        action="append",
        default=[],
        metavar="DIR",
        help="with --modules-dir: read a module from this directory first (drivers/md)",
    )
    build = parser.add_argument_group("the build (one of)")
    build.add_argument("--tree", metavar="DIR", help="the tree the modules are built in")
    build.add_argument(
        "--kernel-dir",
        metavar="DIR",
        help="a prepared kernel build directory (/usr/src/linux-headers-RELEASE)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="the kernel config to compare (default: DIR/.config)"
    )
    parser.add_argument(
        "--cc",
        metavar="CC",
        help="the compiler the build will use (default: gcc, or what the headers name)",
    )
    signing = parser.add_argument_group("signatures")
    signing.add_argument(
        "--cmdline",
        metavar="FILE",
        help="the target's kernel command line: a copy of its /proc/cmdline, /etc/default/grub, "
        "grub.cfg or boot entry (module.sig_enforce and lockdown= are read from it)",
    )
    signing.add_argument(
        "--secure-boot",
        choices=("on", "off"),
        help="whether the target boots with Secure Boot (mokutil --sb-state on it); a Debian "
        "kernel refuses unsigned modules when it does",
    )
    signing.add_argument(
        "--sign-key", metavar="KEY", help="the private key build and package will sign with"
    )
    signing.add_argument("--sign-cert", metavar="CERT", help="its X.509 certificate (PEM or DER)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = run_preflight(
        ko=args.ko,
        modules_dir=args.modules_dir,
        module_name=args.module,
        prefer_dirs=tuple(args.prefer),
        tree=args.tree,
        kernel_dir=args.kernel_dir,
        config=args.config,
        cc=args.cc,
        cmdline=args.cmdline,
        secure_boot=None if args.secure_boot is None else args.secure_boot == "on",
        sign_key=args.sign_key,
        sign_cert=args.sign_cert,
    )
    if args.json:
        print_json(report.to_json())
    else:
        render(report)
    return int(ExitCode.OK if report.ok else ExitCode.ATTENTION)


def render(report: PreflightReport) -> None:
    """The human view: what was compared, then one row per check with its fix."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    vermagic = report.module.vermagic
    console.print(
        Text.assemble(
            ("target  ", "bold"),
            f"{report.module.path}: ",
            vermagic.text if vermagic else "(no vermagic)",
            f"  [{report.module.compiler or 'compiler unknown'}]",
        )
    )
    console.print(
        Text.assemble(
            ("build   ", "bold"),
            f"{report.tree.root} ({report.tree.kind}), release {report.tree.release or '?'} "
            f"from {report.tree.release_source}; cc {report.compiler.command}",
        )
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("target needs", overflow="fold")
    table.add_column("build gives", overflow="fold")
    for check in report.checks:
        table.add_row(
            check.name,
            _verdict(check),
            check.expected,
            check.found,
        )
    console.print(table)
    signing = report.signing
    if signing is not None and signing.policy is not None:
        signed = (
            f"signed ({signing.target_signer or 'signer unknown'})"
            if signing.target_signed
            else "not signed"
        )
        refuses = {
            "yes": "yes",
            "no": "no",
            "secure-boot": "only if it boots with Secure Boot (not known: --secure-boot on|off)",
        }.get(signing.policy.enforced, signing.policy.enforced)
        console.print(
            Text.assemble(
                ("signing ", "bold"),
                f"the target refuses unsigned modules: {refuses}; its modules are {signed}",
            )
        )
        for reason in signing.policy.reasons:
            console.print(f"        {reason}")
    for check in report.checks:
        if check.ok and check.note:
            label = ("warn ", "bold yellow") if check.warning else ("note ", "bold")
            console.print(Text.assemble(label, (check.name, "bold"), ": ", check.note))
    failures = len(report.failures)
    for check in report.failures:
        console.print(
            Text.assemble(("fix ", "bold"), (check.name, "bold red"), ": ", check.fix or "")
        )
    if failures:
        console.print(Text(f"{failures} of {len(report.checks)} checks failed", style="bold red"))
    elif report.warnings:
        names = ", ".join(check.name for check in report.warnings)
        console.print(
            Text(
                f"all {len(report.checks)} checks passed; {len(report.warnings)} with a warning "
                f"({names}): read it",
                style="yellow",
            )
        )
    else:
        console.print(Text(f"all {len(report.checks)} checks passed", style="green"))


def _verdict(check: Check) -> Text:
    from rich.text import Text

    if not check.ok:
        return Text("FAIL", style="bold red")
    if check.warning:
        return Text("warn", style="bold yellow")
    return Text("ok", style="green")

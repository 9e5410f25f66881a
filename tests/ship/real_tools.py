"""What the build, signing and packaging tests share.

* Real tools, found where Debian installs them: the cloud kernel headers
  (``.ci/install-kernel-headers``), the kernel's ``scripts/sign-file``, a throwaway key made
  with openssl at test time (a real RSA key and self-signed X.509 certificate), ``modinfo``.
* Fake ``rmmod``, ``modprobe`` and ``depmod`` for scripts that would touch the running kernel:
  they record their arguments (``$CALLS``, and one argument a line in ``$CALLS.argv``), the fake
  depmod writes a ``modules.dep`` as the real one does (only under a ``-b`` root, never in the
  real ``/lib/modules``), and each fails on request
  (``$FAIL_RMMOD``/``$FAIL_MODPROBE`` name modules, ``$FAIL_DEPMOD`` non-empty).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ship.elf_factory import fake_command


def cloud_headers() -> Path | None:
    """The newest usable ``/usr/src/linux-headers-*-cloud-amd64``, when make is there too."""
    found = sorted(
        Path("/usr/src").glob("linux-headers-*-cloud-amd64"),
        key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"[.-]", p.name)],
    )
    usable = [p for p in found if (p / "Makefile").is_file() and (p / "Module.symvers").is_file()]
    return usable[-1] if usable and shutil.which("make") else None


HEADERS = cloud_headers()
needs_headers = pytest.mark.skipif(
    HEADERS is None,
    reason="no /usr/src/linux-headers-*-cloud-amd64 with make: run .ci/install-kernel-headers",
)


def tool(name: str) -> str | None:
    """A program on PATH or in the sbin folders (root's PATH has them, a user's may not)."""
    return shutil.which(name) or next(
        (
            f"{folder}/{name}"
            for folder in ("/usr/sbin", "/sbin")
            if os.access(f"{folder}/{name}", os.X_OK)
        ),
        None,
    )


# rmmod NAME / modprobe [-d ROOT] NAME: record, and fail for a name listed in the variable.
FAKE_LOADER = """\
echo "$(basename "$0") $*" >> "$CALLS"
printf '%s\\n' "$(basename "$0")" "$@" -- >> "$CALLS.argv"
for name in $@FAIL@; do
  for arg in "$@"; do
    [ "$arg" != "$name" ] || { echo "$(basename "$0"): $name: busy" >&2; exit 1; }
  done
done
exit 0
"""

FAKE_DEPMOD = """\
echo "depmod $*" >> "$CALLS"
printf '%s\\n' depmod "$@" -- >> "$CALLS.argv"
[ -z "$FAIL_DEPMOD" ] || { echo "depmod: failed" >&2; exit 1; }
root=
while [ $# -gt 0 ]; do
  case $1 in -b) root=$2; shift ;; -a) ;; *) release=$1 ;; esac
  shift
done
[ -n "$root" ] || exit 0  # never write the real /lib/modules
dir="$root/lib/modules/$release"
mkdir -p "$dir"
(cd "$dir" && find . -name '*.ko' | sed 's|^\\./||; s|$|:|') > "$dir/modules.dep"
"""


def fake_module_tools(bindir: Path) -> Path:
    """rmmod, modprobe and depmod fakes in ``bindir`` (put it first on PATH)."""
    bindir.mkdir(parents=True, exist_ok=True)
    fake_command(bindir / "modprobe", FAKE_LOADER.replace("@FAIL@", "FAIL_MODPROBE"))
    fake_command(bindir / "rmmod", FAKE_LOADER.replace("@FAIL@", "FAIL_RMMOD"))
    fake_command(bindir / "depmod", FAKE_DEPMOD)
    return bindir


def real_sign_file() -> Path | None:
    """An installed kernel's ``scripts/sign-file`` (Debian: from linux-kbuild-*), if any."""
    candidates = sorted(Path("/usr/src").glob("linux-headers-*/scripts/sign-file"))
    candidates += sorted(Path("/usr/lib").glob("linux-kbuild-*/scripts/sign-file"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    return None


SIGN_FILE = real_sign_file()
needs_sign_file = pytest.mark.skipif(
    SIGN_FILE is None or shutil.which("openssl") is None,
    reason="no kernel scripts/sign-file or no openssl (Debian: .ci/install-kernel-headers and "
    "apt-get install openssl)",
)


def throwaway_key(
    directory: Path, common_name: str = "patchsmith throwaway key"
) -> tuple[Path, Path]:
    """A fresh RSA key (PEM) and its self-signed certificate (DER), as MOK keys are made."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "signing.priv"
    cert = directory / "signing.der"
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={common_name}/",
            "-keyout",
            str(key),
            "-outform",
            "DER",
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def signing_headers(root: Path, *, hash_name: str = "sha256", module_sig: bool = True) -> Path:
    """A build directory with the real sign-file and a config naming the hash."""
    assert SIGN_FILE is not None
    (root / "scripts").mkdir(parents=True)
    (root / "scripts/sign-file").symlink_to(SIGN_FILE)
    lines = ["CONFIG_64BIT=y", "CONFIG_MODULES=y"]
    if module_sig:
        lines += ["CONFIG_MODULE_SIG=y", f'CONFIG_MODULE_SIG_HASH="{hash_name}"']
    else:
        lines.append("# CONFIG_MODULE_SIG is not set")
    (root / ".config").write_text("\n".join(lines) + "\n")
    return root


def modinfo_field(path: Path, name: str) -> str:
    """``modinfo -F NAME`` of a module (kmod reads the signature's fields too)."""
    modinfo = tool("modinfo") or "modinfo"
    return subprocess.run(
        [modinfo, "-F", name, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()

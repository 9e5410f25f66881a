"""Module signatures: signing the built modules, and whether the target demands signatures.

Signing runs the target's own ``scripts/sign-file`` (the program Kbuild's ``modules_install``
runs; Debian's headers packages ship it through ``linux-kbuild-*``) with the hash the target's
config names in ``CONFIG_MODULE_SIG_HASH``, so a module is signed exactly as the kernel's own
build would sign it. A module that is already signed is stripped first: signing twice replaces the
signature instead of stacking a second block the kernel would not read. Every signed file is read
back and must end in exactly one PKCS#7 block.

Whether the target refuses unsigned modules is decided by facts, never assumed
(:func:`signature_policy`):

* ``CONFIG_MODULE_SIG_FORCE=y``: always enforced (``module.sig_enforce=0`` cannot undo it: the
  parameter can only turn enforcement on);
* ``module.sig_enforce`` (bare, ``=1``, ``=y``, ``=on``) on the kernel command line: enforced;
* lockdown (``lockdown=integrity|confidentiality`` on the command line, or
  ``CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY``/``_CONFIDENTIALITY``) with ``CONFIG_MODULE_SIG``:
  enforced, as lockdown refuses unsigned modules;
* ``CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y`` (Debian's kernels): enforced when the machine boots
  with Secure Boot, which only the target knows (``mokutil --sb-state``);
* ``CONFIG_MODULE_SIG`` unset: signatures are not checked at all.

It runs ``sign-file`` and ``openssl``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from patchsmith.errors import ConfigError, InputError
from patchsmith.kernel.config import KernelConfig, load_config
from patchsmith.paths import readable_file, readable_folder
from patchsmith.record import record
from patchsmith.ship.elfinfo import ModuleSignature, find_signature, strip_signature

# GRUB_CMDLINE_LINUX_DEFAULT="quiet module.sig_enforce=1"      (/etc/default/grub)
_GRUB_DEFAULT = re.compile(r"^\s*GRUB_CMDLINE_LINUX(?:_DEFAULT)?=(.*)$", re.MULTILINE)

# 	linux	/boot/vmlinuz-6.1.0-57-cloud-amd64 root=UUID=... ro quiet      (grub.cfg)
# options root=UUID=... module.sig_enforce=1                          (a systemd-boot entry)
_BOOT_ENTRY = re.compile(r"^\s*(?:linux|linux16|linuxefi)\s+\S+(.*)$|^\s*options\s+(.*)$")

# subject=CN = patchsmith throwaway key, O = Example      (openssl x509 -noout -subject)
_SUBJECT = re.compile(r"^subject\s*=\s*(.*)$")

Enforced = Literal["yes", "no", "secure-boot"]

KEY_HELP = (
    "make a key and certificate: openssl req -new -x509 -newkey rsa:4096 -sha256 -days 3650 "
    "-nodes -subj '/CN=module signing key/' -keyout MOK.priv -outform DER -out MOK.der; "
    "enroll the certificate on the target: mokutil --import MOK.der (then reboot and confirm "
    "in MokManager); build and package with --sign-key MOK.priv --sign-cert MOK.der"
)


@record
class Signer:
    """Everything needed to sign a module the way the target's kernel build would."""

    sign_file: Path
    """The target's ``scripts/sign-file``."""
    hash: str
    """``CONFIG_MODULE_SIG_HASH``: ``sha256`` on Debian 12, ``sha512`` on many others."""
    key: str
    """The private key: a PEM file, or a ``pkcs11:`` URI (sign-file takes both)."""
    cert: Path
    """The X.509 certificate, PEM or DER."""
    subject: str | None
    """The certificate's subject (``CN = ...``) as openssl prints it; ``None`` without openssl."""
    cert_sha256: str | None = None
    """The certificate's SHA-256 fingerprint (of its DER bytes, as ``openssl x509 -fingerprint
    -sha256`` and ``mokutil --list-enrolled`` name it), in lower-case hex without colons."""

    def to_json(self) -> dict[str, Any]:
        """The signer as this machine's build and preflight reports show it, paths included."""
        return {
            "sign_file": str(self.sign_file),
            "hash": self.hash,
            "cert": str(self.cert),
            "subject": self.subject,
            "cert_sha256": self.cert_sha256,
        }

    def manifest_json(self) -> dict[str, Any]:
        """The signer as a package's manifest names it to the target: no path of the build
        machine (its key, certificate and ``sign-file`` mean nothing there), the certificate by
        subject and fingerprint, which is what the target's enrolled keys are compared with."""
        return {"hash": self.hash, "subject": self.subject, "cert_sha256": self.cert_sha256}

    def described(self) -> str:
        """The certificate in words for a package description: its subject, else fingerprint."""
        if self.subject:
            return self.subject
        if self.cert_sha256:
            return f"the certificate with SHA-256 fingerprint {self.cert_sha256}"
        return self.cert.name


@record
class SignedModule:
    """One module after signing."""

    path: Path
    signature: ModuleSignature
    resigned: bool
    """It was signed before; the old signature was replaced."""


@record
class SignaturePolicy:
    """Whether the target kernel refuses unsigned modules, and what says so."""

    checks_signatures: bool
    """``CONFIG_MODULE_SIG=y``: the kernel reads signatures at all."""
    enforced: Enforced
    """``yes``, ``no``, or ``secure-boot`` (enforced only when it boots with Secure Boot)."""
    reasons: tuple[str, ...]
    """The facts behind :attr:`enforced`, one sentence each."""

    def to_json(self) -> dict[str, Any]:
        return {
            "checks_signatures": self.checks_signatures,
            "enforced": self.enforced,
            "reasons": list(self.reasons),
        }


def find_sign_file(kernel_dir: Path) -> Path | None:
    """``KERNEL_DIR/scripts/sign-file`` when it is there and executable."""
    candidate = kernel_dir / "scripts" / "sign-file"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    return None


def signature_hash(config: KernelConfig) -> str:
    """``CONFIG_MODULE_SIG_HASH`` of a config that signs modules.

    Raises :class:`InputError` when the config does not check signatures (signing would change
    nothing the kernel looks at) or names no hash.
    """
    if config.state("MODULE_SIG") != "y":
        raise InputError(
            f"{config.source}: CONFIG_MODULE_SIG is not set: this kernel does not check module "
            "signatures, so there is nothing to sign for",
            hint="leave out --sign-key/--sign-cert, or give the target's own config",
        )
    value = (config.value("MODULE_SIG_HASH") or "").strip('"')
    if not value or not re.fullmatch(r"[a-z0-9-]+", value):
        raise InputError(
            f"{config.source}: CONFIG_MODULE_SIG_HASH is not set or not a hash name "
            f"({value or 'empty'})",
            hint="give the target's own config (/boot/config-RELEASE) with --config",
        )
    return value


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL
)


def certificate_fingerprint(data: bytes) -> str | None:
    """The SHA-256 of a certificate's DER bytes, from a DER file or a PEM file's first
    certificate; ``None`` when the bytes are neither (openssl's reading decides what is refused).

    A DER certificate is an ASN.1 SEQUENCE (first byte 0x30); PEM is its base64 between the
    ``BEGIN``/``END CERTIFICATE`` lines. The fingerprint is of the DER bytes either way, so the
    same certificate has one fingerprint whichever form the file holds.
    """
    match = _PEM_CERTIFICATE.search(data)
    if match is not None:
        try:
            der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    elif data[:1] == b"\x30":
        der = data
    else:
        return None
    return hashlib.sha256(der).hexdigest()


def certificate_subject(cert: Path) -> str | None:
    """The subject line of a certificate, trying DER then PEM; ``None`` without openssl.

    Raises :class:`InputError` when openssl is there and reads it as neither.
    """
    if shutil.which("openssl") is None:
        return None
    for form in ("DER", "PEM"):
        completed = subprocess.run(
            ["openssl", "x509", "-inform", form, "-in", str(cert), "-noout", "-subject"],
            capture_output=True,
            text=True,
            errors="replace",
            env=dict(os.environ, LC_ALL="C"),
            check=False,
        )
        if completed.returncode == 0:
            for line in completed.stdout.splitlines():
                match = _SUBJECT.match(line.strip())
                if match:
                    return match.group(1).strip()
            return completed.stdout.strip() or None
    raise InputError(
        f"{cert}: not an X.509 certificate (openssl reads it neither as DER nor as PEM)",
        hint=KEY_HELP,
    )


def check_key_files(key: str | Path, cert: str | Path) -> None:
    """Refuse (:class:`InputError`) a key or certificate path that is not a file this process
    can read (a ``pkcs11:`` URI is not a path: the token is asked when signing)."""
    key_text = str(key)
    if not key_text.startswith("pkcs11:"):
        readable_file(key_text, f"--sign-key {key_text}", hint=KEY_HELP)
    readable_file(cert, f"--sign-cert {cert}", hint=KEY_HELP)


def prepare_signer(
    key: str | Path,
    cert: str | Path,
    *,
    kernel_dir: str | Path,
    config: str | Path | KernelConfig | None = None,
) -> Signer:
    """Check the key, certificate, ``sign-file`` and hash before anything is signed.

    ``kernel_dir`` is the prepared build directory (or configured tree) whose ``sign-file`` and
    ``.config`` describe the target; ``config`` overrides that ``.config``.
    """
    kernel_dir = Path(kernel_dir)
    check_key_files(key, cert)
    readable_folder(
        kernel_dir,
        f"--kernel-dir {kernel_dir}",
        hint="give the target's prepared build directory (/usr/src/linux-headers-RELEASE)",
    )
    key_text = str(key)
    cert_path = Path(cert)
    sign_file = find_sign_file(kernel_dir)
    if sign_file is None:
        raise InputError(
            f"{kernel_dir}/scripts/sign-file: not found or not executable",
            hint="sign against the target's prepared build directory (Debian: "
            "/usr/src/linux-headers-RELEASE, whose scripts/ come from linux-kbuild-*); in a tree "
            "of your own run 'make scripts' first",
        )
    if isinstance(config, KernelConfig):
        kernel_config = config
    else:
        config_path = Path(config) if config is not None else kernel_dir / ".config"
        try:
            kernel_config = load_config(config_path)
        except ConfigError as error:
            raise InputError(
                f"{config_path}: cannot read the target's config to find its signature hash: "
                f"{error.message}",
                hint="give the target's config (/boot/config-RELEASE) with --config",
            ) from None
    hash_name = signature_hash(kernel_config)
    signer = Signer(
        sign_file=sign_file,
        hash=hash_name,
        key=key_text,
        cert=cert_path,
        subject=certificate_subject(cert_path),
        cert_sha256=certificate_fingerprint(cert_path.read_bytes()),
    )
    _try_signing(signer)
    return signer


def _try_signing(signer: Signer) -> None:
    # sign-file signs any bytes; signing a scratch file finds a key that does not belong to the
    # certificate (or a hash the key cannot do) before a long build, not after it.
    with tempfile.TemporaryDirectory(prefix="patchsmith-sign-") as scratch:
        probe = Path(scratch) / "probe.ko"
        probe.write_bytes(b"\x7fELF patchsmith signing probe\n")
        try:
            sign_module(probe, signer)
        except InputError as error:
            raise InputError(
                f"cannot sign with --sign-key {signer.key} --sign-cert {signer.cert}: "
                f"{error.message.split(': ', 1)[-1]}",
                hint=error.hint,
            ) from None


def sign_module(path: str | Path, signer: Signer) -> SignedModule:
    """Sign one uncompressed module in place; an old signature is replaced.

    Raises :class:`InputError` for a compressed module, a failed ``sign-file``, or a result that
    does not end in exactly one signature block.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if not data.startswith(b"\x7fELF"):
        raise InputError(
            f"{path}: not an uncompressed ELF module",
            hint="sign modules before compressing them (sign-file appends to the ELF file)",
        )
    unsigned = strip_signature(data, str(path))
    resigned = len(unsigned) != len(data)
    if resigned:
        path.write_bytes(unsigned)
    completed = subprocess.run(
        [str(signer.sign_file), signer.hash, signer.key, str(signer.cert), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        env=dict(os.environ, LC_ALL="C"),
        check=False,
    )
    if completed.returncode != 0:
        if resigned:
            path.write_bytes(data)  # leave the file as it was
        said = (completed.stderr or completed.stdout).strip().splitlines()
        raise InputError(
            f"{path}: sign-file exited {completed.returncode}: "
            f"{said[-1] if said else 'no message'}",
            hint="check that the key and the certificate belong together (the key in PEM, "
            "the certificate in PEM or DER)",
        )
    signed = path.read_bytes()
    signature = find_signature(signed, str(path))
    if signature is None or signature.unsigned_size != len(unsigned):
        raise InputError(
            f"{path}: sign-file succeeded but the file does not end in one signature block",
            hint=f"{signer.sign_file} may be from another kernel; use the target's headers",
        )
    return SignedModule(path=path, signature=signature, resigned=resigned)


def sign_modules(paths: Sequence[str | Path], signer: Signer) -> tuple[SignedModule, ...]:
    """Sign every module; stops at the first failure."""
    return tuple(sign_module(path, signer) for path in paths)


def cmdline_words(text: str) -> tuple[str, ...]:
    """The kernel parameters in a ``/proc/cmdline`` copy, ``/etc/default/grub``, a
    ``grub.cfg`` or a systemd-boot entry (every boot entry's parameters, in order)."""
    words: list[str] = []
    grub_defaults = _GRUB_DEFAULT.findall(text)
    if grub_defaults:
        for value in grub_defaults:
            words.extend(_shell_words(value))
        return tuple(words)
    entries = [match for match in map(_BOOT_ENTRY.match, text.splitlines()) if match]
    if entries:
        for match in entries:
            words.extend((match.group(1) or match.group(2) or "").split())
        return tuple(words)
    return tuple(text.split())


def _shell_words(value: str) -> list[str]:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.split()


def _kernel_bool(value: str | None) -> bool | None:
    # The kernel's kstrtobool: a bare parameter is true; y/Y/1/on true, n/N/0/off false.
    if value is None or value == "":
        return True
    lowered = value.lower()
    if lowered[:1] in ("y", "1") or lowered == "on":
        return True
    if lowered[:1] in ("n", "0") or lowered == "off":
        return False
    return None


def signature_policy(
    config: KernelConfig,
    cmdline: Sequence[str] | None = None,
    *,
    secure_boot: bool | None = None,
) -> SignaturePolicy:
    """Whether the kernel ``config`` describes refuses unsigned modules (see the module doc).

    ``cmdline`` is the target's kernel parameters (``None`` when not given: ``module.sig_enforce``
    and ``lockdown=`` are then unknown, and said so); ``secure_boot`` whether it boots with
    Secure Boot (``None``: unknown).
    """
    reasons: list[str] = []
    checks = config.state("MODULE_SIG") == "y"
    if not checks:
        return SignaturePolicy(
            False,
            "no",
            ("CONFIG_MODULE_SIG is not set: the kernel does not check module signatures",),
        )
    enforced: Enforced = "no"
    if config.state("MODULE_SIG_FORCE") == "y":
        enforced = "yes"
        reasons.append("CONFIG_MODULE_SIG_FORCE=y: the kernel refuses unsigned modules")
    lockdown_lsm = config.state("SECURITY_LOCKDOWN_LSM") == "y"
    for option in ("LOCK_DOWN_KERNEL_FORCE_INTEGRITY", "LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY"):
        if lockdown_lsm and config.state(option) == "y":
            enforced = "yes"
            reasons.append(f"CONFIG_{option}=y: lockdown refuses unsigned modules")
    if cmdline is None:
        reasons.append(
            "the target's kernel command line was not given (--cmdline): module.sig_enforce "
            "and lockdown= not checked"
        )
    else:
        sig_enforce: bool | None = None
        lockdown: str | None = None
        for word in cmdline:
            name, equals, value = word.partition("=")
            if name == "module.sig_enforce":
                parsed = _kernel_bool(value if equals else None)
                # The parameter is enable-only: a later =0 cannot undo an earlier =1.
                sig_enforce = bool(sig_enforce) or bool(parsed)
            elif name == "lockdown":
                lockdown = value
        if sig_enforce:
            enforced = "yes"
            reasons.append("module.sig_enforce on the kernel command line")
        if lockdown in ("integrity", "confidentiality") and lockdown_lsm:
            enforced = "yes"
            reasons.append(f"lockdown={lockdown} on the kernel command line")
    if enforced != "yes" and config.state("LOCK_DOWN_IN_EFI_SECURE_BOOT") == "y" and lockdown_lsm:
        if secure_boot:
            enforced = "yes"
            reasons.append(
                "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y and the target boots with Secure Boot: "
                "lockdown refuses unsigned modules"
            )
        elif secure_boot is None:
            enforced = "secure-boot"
            reasons.append(
                "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y: unsigned modules are refused if the "
                "target boots with Secure Boot (ask it: mokutil --sb-state; tell preflight with "
                "--secure-boot on|off)"
            )
        else:
            reasons.append("CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y, but Secure Boot is off")
    if enforced == "no":
        reasons.append(
            "unsigned modules load, but taint the kernel ('module verification failed' in the log)"
        )
    return SignaturePolicy(True, enforced, tuple(reasons))


def module_signer(path: Path) -> str | None:
    """The signer ``modinfo`` reads from a module's signature; ``None`` without modinfo or when
    it names none."""
    modinfo = shutil.which("modinfo") or next(
        (p for p in ("/usr/sbin/modinfo", "/sbin/modinfo") if os.access(p, os.X_OK)), None
    )
    if modinfo is None:
        return None
    completed = subprocess.run(
        [modinfo, "-F", "signer", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        env=dict(os.environ, LC_ALL="C"),
        check=False,
    )
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None

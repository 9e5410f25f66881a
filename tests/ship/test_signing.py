"""Module signatures: reading the appended block, signing with the kernel's own sign-file and a
throwaway key, and deciding from config and command line whether the target demands them.

The signature block is built by hand where its layout is the point (lengths that do not fit,
the marker in the middle of a file); signing itself runs the real ``scripts/sign-file`` and is
checked with the real ``modinfo``.
"""

from __future__ import annotations

import dataclasses
import lzma
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from patchsmith.errors import InputError
from patchsmith.kernel.config import parse_config
from patchsmith.ship.elfinfo import (
    SIGNATURE_MARKER,
    find_signature,
    read_module,
    strip_signature,
)
from patchsmith.ship.signing import (
    Signer,
    certificate_fingerprint,
    cmdline_words,
    prepare_signer,
    sign_module,
    sign_modules,
    signature_policy,
)
from tests.ship.elf_factory import CLOUD_VERMAGIC, compile_module, craft_module, gcc_supports
from tests.ship.real_tools import modinfo_field, needs_sign_file, signing_headers, throwaway_key


def _signed_by_hand(data: bytes, signature: bytes, id_type: int = 2) -> bytes:
    info = struct.pack(">BBBBB3xI", 0, 0, id_type, 0, 0, len(signature))
    return data + signature + info + SIGNATURE_MARKER


def _module(tmp_path: Path, name: str = "dm-mod.ko") -> Path:
    modinfo = ("name=dm_mod", "license=GPL", f"vermagic={CLOUD_VERMAGIC}")
    if gcc_supports(64):
        return compile_module(tmp_path / name, modinfo)
    return craft_module(tmp_path / name, modinfo)


# --- the block ------------------------------------------------------------------------------------


def test_find_signature_reads_the_block_at_the_end(tmp_path: Path) -> None:
    plain = craft_module(tmp_path / "a.ko", (f"vermagic={CLOUD_VERMAGIC}",)).read_bytes()
    signed = _signed_by_hand(plain, b"\x30" * 399)

    found = find_signature(signed)

    assert found is not None
    assert (found.kind, found.length, found.unsigned_size) == ("PKCS#7", 399, len(plain))
    assert strip_signature(signed) == plain
    assert find_signature(plain) is None
    assert strip_signature(plain) == plain


def test_marker_inside_a_module_is_not_a_signature(tmp_path: Path) -> None:
    # module_signing code carries the marker string in .rodata; only the tail counts.
    plain = craft_module(
        tmp_path / "a.ko", (f"vermagic={CLOUD_VERMAGIC}", "note=~Module signature appended~")
    ).read_bytes()
    assert SIGNATURE_MARKER.rstrip(b"\n") in plain

    assert find_signature(plain) is None
    assert read_module(tmp_path / "a.ko").signature is None


def test_truncated_signature_is_an_error_not_unsigned(tmp_path: Path) -> None:
    plain = craft_module(tmp_path / "a.ko", (f"vermagic={CLOUD_VERMAGIC}",)).read_bytes()
    claims_too_much = plain + struct.pack(">BBBBB3xI", 0, 0, 2, 0, 0, 10**6) + SIGNATURE_MARKER

    with pytest.raises(InputError, match="damaged module signature"):
        find_signature(claims_too_much)
    with pytest.raises(InputError, match="no room"):
        find_signature(SIGNATURE_MARKER)


def test_read_module_sees_the_signature_of_a_compressed_module(tmp_path: Path) -> None:
    plain = craft_module(tmp_path / "a.ko", (f"vermagic={CLOUD_VERMAGIC}",)).read_bytes()
    path = tmp_path / "dm-mod.ko.xz"
    path.write_bytes(lzma.compress(_signed_by_hand(plain, b"\x30" * 64, id_type=1)))

    info = read_module(path)

    assert info.compressed
    assert info.signature is not None
    assert info.signature.kind == "X.509"
    assert info.signature.length == 64


# --- signing for real -----------------------------------------------------------------------------


@needs_sign_file
def test_sign_with_a_throwaway_key_and_modinfo_names_the_signer(tmp_path: Path) -> None:
    key, cert = throwaway_key(tmp_path / "key", "patchsmith test signer")
    headers = signing_headers(tmp_path / "headers")
    module = _module(tmp_path)
    unsigned = module.read_bytes()

    signer = prepare_signer(key, cert, kernel_dir=headers)
    signed = sign_module(module, signer)

    assert signer.hash == "sha256"
    assert signer.subject is not None
    assert "patchsmith test signer" in signer.subject
    assert not signed.resigned
    data = module.read_bytes()
    assert data.startswith(unsigned)
    assert data.endswith(SIGNATURE_MARKER)
    assert signed.signature.kind == "PKCS#7"
    assert signed.signature.unsigned_size == len(unsigned)
    assert modinfo_field(module, "signer") == "patchsmith test signer"
    assert modinfo_field(module, "sig_hashalgo") == "sha256"
    assert modinfo_field(module, "vermagic") == CLOUD_VERMAGIC.strip()


@needs_sign_file
def test_signing_again_replaces_the_signature(tmp_path: Path) -> None:
    first_key, first_cert = throwaway_key(tmp_path / "first", "first key")
    second_key, second_cert = throwaway_key(tmp_path / "second", "second key")
    headers = signing_headers(tmp_path / "headers")
    module = _module(tmp_path)
    unsigned_size = module.stat().st_size

    sign_module(module, prepare_signer(first_key, first_cert, kernel_dir=headers))
    again = sign_module(module, prepare_signer(second_key, second_cert, kernel_dir=headers))

    assert again.resigned
    assert again.signature.unsigned_size == unsigned_size
    # One block: the file is the module plus exactly one signature, and it names the second key.
    size = module.stat().st_size
    assert size == unsigned_size + again.signature.length + 12 + len(SIGNATURE_MARKER)
    assert modinfo_field(module, "signer") == "second key"


@needs_sign_file
def test_hash_comes_from_the_target_config(tmp_path: Path) -> None:
    key, cert = throwaway_key(tmp_path / "key")
    headers = signing_headers(tmp_path / "headers", hash_name="sha512")
    modules = [_module(tmp_path, "a.ko"), _module(tmp_path, "b.ko")]

    signed = sign_modules(modules, prepare_signer(key, cert, kernel_dir=headers))

    assert len(signed) == 2
    assert {modinfo_field(path, "sig_hashalgo") for path in modules} == {"sha512"}


@needs_sign_file
def test_key_that_does_not_match_the_certificate_fails_and_leaves_the_file(
    tmp_path: Path,
) -> None:
    key, _cert = throwaway_key(tmp_path / "one")
    _key, other_cert = throwaway_key(tmp_path / "two")
    headers = signing_headers(tmp_path / "headers")
    module = _module(tmp_path)
    good = prepare_signer(key, _cert, kernel_dir=headers)
    sign_module(module, good)  # signed already: a failure must not lose the old signature
    before = module.read_bytes()

    # Found before anything is built: prepare_signer signs a scratch file.
    with pytest.raises(InputError, match=r"cannot sign with .*sign-file exited"):
        prepare_signer(key, other_cert, kernel_dir=headers)
    with pytest.raises(InputError, match="sign-file exited"):
        sign_module(module, dataclasses.replace(good, cert=other_cert))

    assert module.read_bytes() == before


@needs_sign_file
def test_prepare_signer_refuses_what_cannot_sign(tmp_path: Path) -> None:
    key, cert = throwaway_key(tmp_path / "key")
    no_sig = signing_headers(tmp_path / "nosig", module_sig=False)
    no_sign_file = tmp_path / "bare"
    no_sign_file.mkdir()
    (no_sign_file / ".config").write_text('CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_HASH="sha256"\n')

    with pytest.raises(InputError, match="does not check module signatures"):
        prepare_signer(key, cert, kernel_dir=no_sig)
    with pytest.raises(InputError, match="sign-file: not found"):
        prepare_signer(key, cert, kernel_dir=no_sign_file)
    with pytest.raises(InputError, match="no such file"):
        prepare_signer(tmp_path / "missing.priv", cert, kernel_dir=no_sig)
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03not a certificate")
    with pytest.raises(InputError, match=r"not an X\.509 certificate"):
        prepare_signer(key, junk, kernel_dir=signing_headers(tmp_path / "h"))


def test_prepare_signer_refuses_a_missing_certificate_before_anything_else(
    tmp_path: Path,
) -> None:
    key = tmp_path / "k.priv"
    key.write_text("not really a key\n")

    with pytest.raises(InputError, match=r"--sign-cert .*: no such file"):
        prepare_signer(key, tmp_path / "missing.der", kernel_dir=tmp_path)


def test_compressed_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dm-mod.ko.xz"
    path.write_bytes(lzma.compress(b"\x7fELF..."))
    signer = Signer(Path("/nonexistent"), "sha256", "k", Path("c"), None)

    with pytest.raises(InputError, match="not an uncompressed ELF module") as raised:
        sign_module(path, signer)
    assert "before compressing" in (raised.value.hint or "")


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl_fingerprint(cert: Path, form: str) -> str:
    printed = subprocess.run(
        ["openssl", "x509", "-inform", form, "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return printed.strip().split("=", 1)[1].replace(":", "").lower()


@needs_openssl
def test_certificate_fingerprint_is_openssls_in_either_form(tmp_path: Path) -> None:
    _key, der = throwaway_key(tmp_path / "key")
    pem = tmp_path / "signing.pem"
    subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(der), "-out", str(pem)], check=True
    )
    expected = _openssl_fingerprint(der, "DER")

    assert certificate_fingerprint(der.read_bytes()) == expected
    # The same certificate in PEM, with text before it as `openssl x509 -text` leaves: one
    # certificate, one fingerprint, whichever form the file holds.
    assert certificate_fingerprint(b"Certificate: ...\n" + pem.read_bytes()) == expected
    assert _openssl_fingerprint(pem, "PEM") == expected
    assert certificate_fingerprint(b"not a certificate\n") is None
    assert certificate_fingerprint(pem.read_bytes().replace(b"M", b"!", 1)) is None


def test_manifest_names_the_certificate_not_the_build_machines_paths() -> None:
    signer = Signer(
        Path("/home/builder/linux-headers/scripts/sign-file"),
        "sha512",
        "/home/builder/keys/MOK.priv",
        Path("/home/builder/keys/MOK.der"),
        None,
        cert_sha256="ab" * 32,
    )

    manifest = signer.manifest_json()

    assert manifest == {"hash": "sha512", "subject": None, "cert_sha256": "ab" * 32}
    assert "/home/builder" not in str(manifest)
    assert signer.described() == f"the certificate with SHA-256 fingerprint {'ab' * 32}"
    # The build's own report still says which files were used.
    assert signer.to_json()["cert"] == "/home/builder/keys/MOK.der"


# --- does the target demand signatures? -----------------------------------------------------------

DEBIAN_CLOUD = """\
CONFIG_MODULE_SIG=y
# CONFIG_MODULE_SIG_FORCE is not set
CONFIG_MODULE_SIG_HASH="sha256"
CONFIG_SECURITY_LOCKDOWN_LSM=y
CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y
CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y
"""


@pytest.mark.parametrize(
    ("config", "cmdline", "secure_boot", "enforced"),
    [
        # Debian's cloud kernel: it depends on Secure Boot, which only the target knows.
        (DEBIAN_CLOUD, None, None, "secure-boot"),
        (DEBIAN_CLOUD, None, True, "yes"),
        (DEBIAN_CLOUD, None, False, "no"),
        (DEBIAN_CLOUD, "ro quiet module.sig_enforce=1", False, "yes"),
        (DEBIAN_CLOUD, "ro quiet module.sig_enforce", False, "yes"),
        (DEBIAN_CLOUD, "ro module.sig_enforce=0", False, "no"),
        # Enable-only: a later =0 does not undo an earlier =1.
        (DEBIAN_CLOUD, "module.sig_enforce=1 module.sig_enforce=0", False, "yes"),
        (DEBIAN_CLOUD, "ro lockdown=integrity", False, "yes"),
        (DEBIAN_CLOUD, "ro lockdown=none", False, "no"),
        # A name that merely contains the parameter is not it.
        (DEBIAN_CLOUD, "ro xmodule.sig_enforce=1", False, "no"),
        # SIG_FORCE cannot be undone on the command line.
        (
            "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n",
            "module.sig_enforce=0",
            False,
            "yes",
        ),
        (
            "CONFIG_MODULE_SIG=y\nCONFIG_SECURITY_LOCKDOWN_LSM=y\n"
            "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\n",
            None,
            False,
            "yes",
        ),
        # No signature checking at all: the command line cannot change that.
        ("# CONFIG_MODULE_SIG is not set\n", "module.sig_enforce=1", True, "no"),
        # Lockdown needs the LSM to exist.
        ("CONFIG_MODULE_SIG=y\nCONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT=y\n", None, True, "no"),
    ],
)
def test_signature_policy(
    config: str, cmdline: str | None, secure_boot: bool | None, enforced: str
) -> None:
    policy = signature_policy(
        parse_config(config, "config"),
        cmdline_words(cmdline) if cmdline is not None else None,
        secure_boot=secure_boot,
    )

    assert policy.enforced == enforced, policy.reasons
    assert policy.reasons


def test_policy_says_when_the_command_line_was_not_looked_at() -> None:
    policy = signature_policy(parse_config(DEBIAN_CLOUD, "c"), None, secure_boot=False)

    assert any("command line was not given" in reason for reason in policy.reasons)
    assert any("taint" in reason for reason in policy.reasons)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-cloud-amd64 root=UUID=1 ro module.sig_enforce=1\n",
            ("BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-cloud-amd64", "root=UUID=1", "ro"),
        ),
        (
            '# /etc/default/grub\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
            'GRUB_CMDLINE_LINUX="console=ttyS0 module.sig_enforce=1"\n',
            ("quiet", "console=ttyS0"),
        ),
        (
            "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-57-cloud-amd64 root=UUID=1 ro "
            "module.sig_enforce=1\n\tinitrd\t/boot/initrd.img\n}\n",
            ("root=UUID=1", "ro"),
        ),
        (
            "title Debian\nlinux /vmlinuz\noptions root=UUID=1 module.sig_enforce=1\n",
            ("root=UUID=1",),
        ),
    ],
)
def test_cmdline_words_from_the_places_a_command_line_is_kept(
    text: str, words: tuple[str, ...]
) -> None:
    found = cmdline_words(text)

    assert found[: len(words)] == words
    assert "module.sig_enforce=1" in found

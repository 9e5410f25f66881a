"""The Debian package of the modules: names, dependency, layout, lintian, and dpkg installing and
removing it in a scratch root; its maintainer scripts' reload run against fake module tools.

The package is built by the real dpkg-deb and checked by the real lintian; dpkg installs it with
``--root`` and ``--force-script-chrootless`` (the maintainer scripts run here with ``DPKG_ROOT``
set, and run the real depmod on the scratch root), so nothing outside ``tmp_path`` changes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.errors import InputError
from patchsmith.ship.debian import (
    DebianOptions,
    check_maintainer,
    debian_architecture,
    debian_version,
    image_packages,
    module_label,
    package_deb,
    package_name,
    sub_release_of_patch,
)
from patchsmith.ship.elfinfo import find_signature
from patchsmith.ship.package import Provenance, ResolutionNote, collect_modules
from patchsmith.ship.signing import prepare_signer
from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module, fake_command
from tests.ship.real_tools import (
    fake_module_tools,
    needs_sign_file,
    signing_headers,
    throwaway_key,
    tool,
)

RELEASE = "6.1.0-56-cloud-amd64"
PACKAGE = f"patchsmith-dm-modules-{RELEASE}"
MAINTAINER = "Jane Admin <jane@example.org>"
OPTIONS = DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187")
PROVENANCE = Provenance(
    patch_name="patch-6.1.187",
    patch_sha256="ab" * 32,
    sub_release="6.1.187",
    counts={"clean": 3, "conflict": 1, "accepted": 1, "open": 0},
    resolutions=(
        ResolutionNote("drivers/md/dm.c#2", "conflict", "accepted", None, "jane", "2025-01-01"),
    ),
)

needs_dpkg = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None or shutil.which("dpkg") is None,
    reason="dpkg and dpkg-deb are Debian's; not installed here",
)


def _tree(root: Path, vermagic: str = CLOUD_VERMAGIC) -> list[Path]:
    (root / "drivers/md").mkdir(parents=True)
    return [
        craft_module(
            root / "drivers/md/dm-mod.ko",
            ("name=dm_mod", "srcversion=AAAA1111", f"vermagic={vermagic}"),
        ),
        craft_module(
            root / "drivers/md/dm-snapshot.ko",
            ("name=dm_snapshot", "depends=dm-mod", "srcversion=BBBB2222", f"vermagic={vermagic}"),
        ),
    ]


def _deb(tmp_path: Path, options: DebianOptions = OPTIONS, **kwargs: object) -> Path:
    tree = tmp_path / "worktree"
    modules = _tree(tree)
    (tmp_path / "out").mkdir(exist_ok=True)
    result = package_deb(
        modules,
        tmp_path / "out",
        options,
        base=tree,
        provenance=PROVENANCE,
        mtime=1_700_000_000,
        **kwargs,  # type: ignore[arg-type]
    )
    return result.output


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def _contents(deb: Path) -> dict[str, str]:
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    rows = {}
    for line in listing.splitlines():
        parts = line.split()
        rows[parts[-1].removeprefix(".")] = parts[1]
    return rows


def _control_file(deb: Path, name: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(into)], check=True)
    return into / name


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "packages"),
    [
        (
            "6.1.0-57-cloud-amd64",
            ("linux-image-6.1.0-57-cloud-amd64", "linux-image-6.1.0-57-cloud-amd64-unsigned"),
        ),
        (
            "5.15.0-91-generic",
            ("linux-image-5.15.0-91-generic", "linux-image-5.15.0-91-generic-unsigned"),
        ),
        ("6.1.187", ()),  # a vanilla build: no package we could know
        ("2.6.16-xenU", ()),
        ("6.1.0-57", ()),  # an ABI without a flavour names no Debian image
        ("6.1.187-rt-custom", ()),
    ],
)
def test_image_package_only_when_the_release_names_one(
    release: str, packages: tuple[str, ...]
) -> None:
    assert image_packages(release) == packages


def test_architecture_from_the_elf_machine() -> None:
    assert debian_architecture("EM_X86_64", 64) == "amd64"
    assert debian_architecture("EM_386", 32) == "i386"
    assert debian_architecture("EM_AARCH64", 64) == "arm64"
    with pytest.raises(InputError, match="no Debian architecture"):
        debian_architecture("EM_VAX", 32)


def test_label_from_the_modules(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    dm = _tree(tree)
    (tree / "drivers/md/raid0.ko").write_bytes((tree / "drivers/md/dm-mod.ko").read_bytes())
    (tree / "fs/ext4").mkdir(parents=True)
    ext4 = craft_module(tree / "fs/ext4/ext4.ko", (f"vermagic={CLOUD_VERMAGIC}", "name=ext4"))

    def label(paths: list[Path]) -> str:
        return module_label(collect_modules(paths, base=tree))

    assert label(dm) == "dm"  # dm-mod, dm-snapshot share "dm"
    assert label([*dm, tree / "drivers/md/raid0.ko"]) == "md"  # one folder
    assert label([ext4]) == "ext4"
    assert label([*dm, ext4]) == "kernel"  # nothing in common but the tree


def test_names_and_versions_debian_refuses(tmp_path: Path) -> None:
    assert package_name("dm", RELEASE) == PACKAGE
    assert debian_version("6.1.187", 2) == "6.1.187-2"
    with pytest.raises(InputError, match="not a version"):
        debian_version("v6.1.187", 1)
    with pytest.raises(InputError, match="build-number"):
        debian_version("6.1.187", 0)
    with pytest.raises(InputError, match="not a valid Debian package name"):
        package_name("dm", "6.1.0_57")
    assert check_maintainer(" Jane Admin <jane@example.org> ") == MAINTAINER
    with pytest.raises(InputError, match="Full Name"):
        check_maintainer("jane@example.org")


MAKEFILE_DIFF = b"""\
diff --git a/drivers/md/Makefile b/drivers/md/Makefile
--- a/drivers/md/Makefile
+++ b/drivers/md/Makefile
@@ -1,3 +1,3 @@
 VERSION = 9
 PATCHLEVEL = 9
-SUBLEVEL = 1
+SUBLEVEL = 2
diff --git a/Makefile b/Makefile
index ea4eefa..615ec0a 100644
--- a/Makefile
+++ b/Makefile
@@ -1,7 +1,7 @@
 # SPDX-License-Identifier: GPL-2.0
 VERSION = 6
 PATCHLEVEL = 1
-SUBLEVEL = 180
+SUBLEVEL = 187
 EXTRAVERSION =
 NAME = Curry Ramen
"""


def test_sub_release_from_the_name_or_the_top_makefile() -> None:
    assert sub_release_of_patch("patch-6.1.187") == "6.1.187"
    assert sub_release_of_patch("/x/patch-2.6.16.29.bz2") == "2.6.16.29"
    assert sub_release_of_patch("upstream.patch") is None
    # The top-level Makefile's post-image, not a sub-folder's look-alike lines.
    assert sub_release_of_patch("upstream.patch", MAKEFILE_DIFF) == "6.1.187"
    only_a_subfolder = MAKEFILE_DIFF.split(b"diff --git a/Makefile")[0]
    assert sub_release_of_patch("upstream.patch", only_a_subfolder) is None
    # A quilt-style patch with a tree folder prefix.
    quilt = b"--- linux-6.1.180/Makefile\n+++ linux-6.1.187/Makefile\n@@ -1,4 +1,4 @@\n"
    quilt += b" VERSION = 6\n PATCHLEVEL = 1\n-SUBLEVEL = 180\n+SUBLEVEL = 187\n"
    assert sub_release_of_patch("fix.diff", quilt) == "6.1.187"


# --- the package ----------------------------------------------------------------------------------


@needs_dpkg
def test_control_fields_and_layout(tmp_path: Path) -> None:
    deb = _deb(tmp_path)

    assert deb.name == f"{PACKAGE}_6.1.187-1_amd64.deb"
    assert _field(deb, "Package") == PACKAGE
    assert _field(deb, "Version") == "6.1.187-1"
    assert _field(deb, "Architecture") == "amd64"
    assert _field(deb, "Maintainer") == MAINTAINER
    assert _field(deb, "Depends") == (f"linux-image-{RELEASE} | linux-image-{RELEASE}-unsigned")
    contents = _contents(deb)
    updates = f"/lib/modules/{RELEASE}/updates/drivers/md"
    assert f"{updates}/dm-mod.ko" in contents
    assert f"{updates}/dm-snapshot.ko" in contents
    assert set(contents.values()) == {"root/root"}
    doc = f"/usr/share/doc/{PACKAGE}"
    for name in ("copyright", "changelog.Debian.gz", "MANIFEST.json"):
        assert f"{doc}/{name}" in contents
    assert _control_file(deb, "postinst", tmp_path / "control").stat().st_mode & 0o111


@needs_dpkg
def test_manifest_inside_traces_the_package_back(tmp_path: Path) -> None:
    deb = _deb(tmp_path)
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)

    manifest = json.loads((unpacked / f"usr/share/doc/{PACKAGE}/MANIFEST.json").read_text())

    assert manifest["patch"] == {"name": "patch-6.1.187", "sha256": "ab" * 32}
    assert manifest["counts"]["accepted"] == 1
    assert manifest["resolutions"][0]["hunk"] == "drivers/md/dm.c#2"
    assert manifest["vermagic"] == [CLOUD_VERMAGIC.strip()]
    assert manifest["compiler"] == ["GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"]
    import hashlib

    for module in manifest["modules"]:
        shipped = (unpacked / module["path"]).read_bytes()
        assert module["sha256"] == hashlib.sha256(shipped).hexdigest()


@needs_dpkg
def test_same_input_same_package(tmp_path: Path) -> None:
    first = _deb(tmp_path / "a")
    second = _deb(tmp_path / "b")

    assert first.read_bytes() == second.read_bytes()


@needs_dpkg
@pytest.mark.parametrize("where", ["device", "under-a-file"])
def test_deb_refuses_an_output_it_cannot_write(tmp_path: Path, where: str) -> None:
    tree = tmp_path / "worktree"
    modules = _tree(tree)
    (tmp_path / "a-file").write_text("x")
    fifo = tmp_path / "device"
    os.mkfifo(fifo)  # stands in for /dev/null: renaming over it would replace the device
    output = {"device": fifo, "under-a-file": tmp_path / "a-file/p.deb"}[where]

    with pytest.raises(InputError, match=re.escape(str(output))):
        package_deb(modules, output, OPTIONS, base=tree, mtime=0)

    assert fifo.exists() and not fifo.is_file()
    assert list(tmp_path.rglob("*.part")) == []


@needs_dpkg
def test_vanilla_release_has_no_image_dependency(tmp_path: Path) -> None:
    tree = tmp_path / "worktree"
    modules = _tree(tree, vermagic="6.1.187 SMP mod_unload ")

    result = package_deb(modules, tmp_path / "p.deb", OPTIONS, base=tree, mtime=0)

    assert _field(result.output, "Depends") == ""
    assert _field(result.output, "Package") == "patchsmith-dm-modules-6.1.187"


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed")
@needs_dpkg
def test_lintian_reports_no_errors(tmp_path: Path) -> None:
    deb = _deb(tmp_path, DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187", reload=True))

    checked = subprocess.run(
        ["lintian", "--allow-root", str(deb)], capture_output=True, text=True, check=False
    )

    tags = checked.stdout.splitlines()
    assert not [tag for tag in tags if tag.startswith("E:")], checked.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@needs_dpkg
def test_maintainer_scripts_are_shellcheck_clean(tmp_path: Path) -> None:
    deb = _deb(tmp_path, DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187", reload=True))
    control = tmp_path / "control"
    _control_file(deb, "postinst", control)

    for name in ("postinst", "postrm"):
        checked = subprocess.run(
            ["shellcheck", "--shell=sh", str(control / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout


@pytest.mark.skipif(tool("depmod") is None, reason="depmod (kmod) is not installed")
@needs_dpkg
def test_dpkg_installs_into_a_scratch_root_and_removes_it(tmp_path: Path) -> None:
    deb = _deb(tmp_path)
    root = tmp_path / "scratch root"
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir()
    (root / "var/lib/dpkg/status").touch()
    dpkg = [
        "dpkg",
        f"--root={root}",
        "--force-script-chrootless",
        f"--log={tmp_path / 'dpkg.log'}",
    ]
    modules = root / f"lib/modules/{RELEASE}"

    # The image package is not in the scratch root: that dependency is what --force-depends skips.
    installed = subprocess.run(
        [*dpkg, "--force-depends", "-i", str(deb)], capture_output=True, text=True, check=False
    )

    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (modules / "updates/drivers/md/dm-mod.ko").is_file()
    # postinst ran the real depmod on the scratch root, and only there.
    index = (modules / "modules.dep").read_text()
    assert "updates/drivers/md/dm-mod.ko:" in index
    assert "updates/drivers/md/dm-snapshot.ko:" in index
    assert "the running kernel is left alone" not in installed.stdout  # made without --reload
    status = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status}", PACKAGE],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "install ok installed"

    removed = subprocess.run([*dpkg, "-r", PACKAGE], capture_output=True, text=True, check=False)

    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert list(root.rglob("*.ko")) == []
    assert "dm-mod.ko" not in (modules / "modules.dep").read_text()
    assert not (root / f"usr/share/doc/{PACKAGE}").exists()


@needs_sign_file
@needs_dpkg
def test_signed_package_carries_signed_modules(tmp_path: Path) -> None:
    key, cert = throwaway_key(tmp_path / "key", "deb signer")
    signer = prepare_signer(key, cert, kernel_dir=signing_headers(tmp_path / "headers"))
    tree = tmp_path / "worktree"
    modules = _tree(tree)
    before = [path.read_bytes() for path in modules]

    result = package_deb(modules, tmp_path / "p.deb", OPTIONS, base=tree, signer=signer, mtime=0)

    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(result.output), str(unpacked)], check=True)
    for module in result.modules:
        data = (unpacked / module.path).read_bytes()
        signature = find_signature(data)
        assert signature is not None
        assert signature.kind == "PKCS#7"
        assert module.signed
    # The build's own files are left as they were.
    assert [path.read_bytes() for path in modules] == before
    manifest = json.loads((unpacked / f"usr/share/doc/{result.name}/MANIFEST.json").read_text())
    assert manifest["signing"]["hash"] == "sha256"
    assert "deb signer" in manifest["signing"]["subject"]
    # The target compares the certificate with what it has enrolled: by fingerprint, not by a
    # path on the machine that built the package (which names nothing there).
    assert manifest["signing"]["cert_sha256"] == signer.cert_sha256
    assert str(tmp_path) not in json.dumps(manifest)


# --- postinst and postrm on a running kernel (fake module tools) ----------------------------------


# A release no machine has: postrm's "is the kernel still there?" must answer no.
GONE = "6.1.0-999-patchsmith-test-amd64"


class Scripts:
    """The package's maintainer scripts, run as dpkg would on the running system (for the
    release GONE), with fake rmmod/modprobe/depmod/uname/ischroot and a made-up /proc/modules."""

    def __init__(self, tmp_path: Path, reload: bool) -> None:
        assert not Path(f"/lib/modules/{GONE}").exists()
        tree = tmp_path / "worktree"
        modules = _tree(tree, vermagic=f"{GONE} SMP preempt mod_unload modversions ")
        options = DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187", reload=reload)
        deb = package_deb(modules, tmp_path / "p.deb", options, base=tree, mtime=0).output
        self.control = tmp_path / "control"
        _control_file(deb, "postinst", self.control)
        bindir = fake_module_tools(tmp_path / "bin")
        fake_command(bindir / "uname", f"echo {GONE}\n")
        fake_command(bindir / "ischroot", "exit 1\n")
        self.calls = tmp_path / "calls"
        self.proc = tmp_path / "proc-modules"
        self.proc.write_text("")
        (tmp_path / "sys").mkdir()
        script = self.control / "postinst"
        # The scripts read the real /proc/modules and /sys/module; point them at made-up ones.
        for name in ("postinst", "postrm"):
            text = (self.control / name).read_text()
            text = text.replace("PROC_MODULES=/proc/modules", f"PROC_MODULES='{self.proc}'")
            text = text.replace("SYS_MODULE=/sys/module", f"SYS_MODULE='{tmp_path / 'sys'}'")
            (self.control / name).write_text(text)
        assert script.read_text().count(str(self.proc)) == 1
        self.env = {"PATH": f"{bindir}:/usr/bin:/bin", "CALLS": str(self.calls)}

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(self.control / name), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def take_calls(self) -> list[str]:
        if not self.calls.exists():
            return []
        lines = self.calls.read_text().splitlines()
        self.calls.unlink()
        return lines


@needs_dpkg
def test_postinst_with_reload_replaces_the_loaded_modules(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=True)
    scripts.proc.write_text(
        "dm_snapshot 57344 0 - Live 0x0\ndm_mod 184320 1 dm_snapshot, Live 0x0\n"
    )

    run = scripts.run("postinst", "configure")

    assert run.returncode == 0, run.stderr
    assert scripts.take_calls() == [
        f"depmod -a {GONE}",
        "rmmod dm_snapshot",
        "rmmod dm_mod",
        "modprobe dm_mod",
        "modprobe dm_snapshot",
    ]
    assert "reloaded: dm_snapshot dm_mod" in run.stdout


@needs_dpkg
def test_postinst_leaves_modules_in_use_and_still_succeeds(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=True)
    scripts.proc.write_text("dm_mod 184320 2 - Live 0x0\n")

    run = scripts.run("postinst", "configure")

    assert run.returncode == 0, run.stderr
    assert scripts.take_calls() == [f"depmod -a {GONE}"]
    assert "not reloaded, the modules are in use" in run.stdout
    assert "dm_mod is in use: refcount 2" in run.stdout


@needs_dpkg
def test_postinst_loads_back_after_a_failed_rmmod(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=True)
    scripts.proc.write_text(
        "dm_snapshot 57344 0 - Live 0x0\ndm_mod 184320 1 dm_snapshot, Live 0x0\n"
    )
    scripts.env["FAIL_RMMOD"] = "dm_mod"

    run = scripts.run("postinst", "configure")

    assert run.returncode == 0, run.stderr
    assert scripts.take_calls()[1:] == ["rmmod dm_snapshot", "rmmod dm_mod", "modprobe dm_snapshot"]
    assert "loading again what was unloaded: dm_snapshot" in run.stderr


@needs_dpkg
def test_without_reload_only_the_index_is_updated(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=False)
    scripts.proc.write_text("dm_mod 184320 0 - Live 0x0\n")

    assert scripts.run("postinst", "configure").returncode == 0
    assert scripts.take_calls() == [f"depmod -a {GONE}"]
    # postrm: the kernel is gone (no /lib/modules/GONE), so there is no index to update.
    assert scripts.run("postrm", "remove").returncode == 0
    assert scripts.take_calls() == []


@needs_dpkg
def test_postrm_reloads_only_this_packages_build(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=True)
    scripts.proc.write_text("dm_mod 184320 0 - Live 0x0\ndm_snapshot 1 0 - Live 0x0\n")
    sys_module = tmp_path / "sys"
    (sys_module / "dm_mod").mkdir()
    (sys_module / "dm_mod/srcversion").write_text("AAAA1111\n")  # ours
    (sys_module / "dm_snapshot").mkdir()
    (sys_module / "dm_snapshot/srcversion").write_text("KERNEL00\n")  # the kernel's own

    run = scripts.run("postrm", "remove")

    assert run.returncode == 0, run.stderr
    assert scripts.take_calls() == ["rmmod dm_mod", "modprobe dm_mod"]


@needs_dpkg
def test_postinst_in_another_root_never_touches_the_running_kernel(tmp_path: Path) -> None:
    scripts = Scripts(tmp_path, reload=True)
    scripts.proc.write_text("dm_mod 184320 0 - Live 0x0\n")
    scripts.env["DPKG_ROOT"] = str(tmp_path / "image root")
    (tmp_path / f"image root/lib/modules/{GONE}").mkdir(parents=True)

    run = scripts.run("postinst", "configure")

    assert run.returncode == 0, run.stderr
    assert scripts.take_calls() == [f"depmod -b {tmp_path / 'image root'} -a {GONE}"]
    assert "the running kernel is left alone" in run.stdout

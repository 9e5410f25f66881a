"""DKMS: the source tree (which files, dkms.conf), its Debian package, and the real ``dkms add`` and
``dkms build`` of it against Debian's cloud headers.

The real part builds ``fixtures/module-dm-tiny`` (a device-mapper-shaped folder: two objects
sharing a private header, a subfolder with a module and header of its own) with
``patchsmith.ship.build``, packages it, and lets DKMS build it again from the package. DKMS runs
with a scratch ``--dkmstree`` and ``--sourcetree`` under ``tmp_path`` and signs with a throwaway
key given through its ``mok_signing_key``/``mok_certificate`` settings, so it never writes
``/var/lib/dkms`` or ``/usr/src`` (the test checks both are unchanged). It needs root, dkms and
the headers (CI has them), and skips with a message elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchsmith.errors import InputError
from patchsmith.ship.build import BuildRequest, run_build
from patchsmith.ship.debian import DebianOptions
from patchsmith.ship.dkms import (
    FORCE_INSTALL_DIR,
    MANIFEST_NAME,
    package_dkms,
    package_dkms_deb,
    source_files,
    top_dirs,
)
from patchsmith.ship.elfinfo import read_module
from patchsmith.ship.package import Provenance
from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module
from tests.ship.real_tools import HEADERS, SIGN_FILE, modinfo_field, throwaway_key, tool
from tests.support.paths import FIXTURES

RELEASE = "6.1.0-56-cloud-amd64"
MAINTAINER = "Jane Admin <jane@example.org>"


def _built_tiny(root: Path, vermagic: str = CLOUD_VERMAGIC) -> list[Path]:
    """The fixture as a build leaves it: sources, and next to them what Kbuild made."""
    shutil.copytree(FIXTURES / "module-dm-tiny/drivers", root / "drivers")
    md = root / "drivers/md"
    modules = [
        craft_module(md / "dm-tiny.ko", ("name=dm_tiny", f"vermagic={vermagic}")),
        craft_module(
            md / "tiny-data/dm-tiny-data.ko", ("name=dm_tiny_data", f"vermagic={vermagic}")
        ),
    ]
    for name in (
        "dm-tiny-core.o",
        "dm-tiny.mod",
        "dm-tiny.mod.c",
        "dm-tiny.mod.o",
        ".dm-tiny-core.o.cmd",
        "modules.order",
        "Module.symvers",
        "tiny-data/built-in.a",
        "tiny-data/.dm-tiny-data.o.d",
        "dm-tiny-core.s",  # a made assembler listing (.S would be a source)
    ):
        (md / name).write_text("made by the build\n")
    return modules


# --- which files ----------------------------------------------------------------------------------


def test_sources_are_the_files_kbuild_did_not_make(tmp_path: Path) -> None:
    _built_tiny(tmp_path)
    (tmp_path / "drivers/md/dm-tiny-entry.S").write_text("/* assembler source */\n")
    (tmp_path / "drivers/md/.gitignore").write_text("*.o\n")

    assert source_files(tmp_path, ["drivers/md"]) == (
        "drivers/md/Makefile",
        "drivers/md/dm-tiny-core.c",
        "drivers/md/dm-tiny-entry.S",
        "drivers/md/dm-tiny-table.c",
        "drivers/md/dm-tiny.h",
        "drivers/md/tiny-data/Makefile",
        "drivers/md/tiny-data/dm-tiny-data.c",
        "drivers/md/tiny-data/tiny-data.h",
    )


def test_links_inside_the_tree_are_followed_and_links_out_refused(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _built_tiny(tree)
    (tree / "include").mkdir()
    (tree / "include/shared.h").write_text("#define SHARED 1\n")
    (tree / "drivers/md/shared.h").symlink_to("../../include/shared.h")

    assert "drivers/md/shared.h" in source_files(tree, ["drivers/md"])

    (tmp_path / "elsewhere.h").write_text("#define OUTSIDE 1\n")
    (tree / "drivers/md/outside.h").symlink_to(tmp_path / "elsewhere.h")
    with pytest.raises(InputError, match="outside the tree"):
        source_files(tree, ["drivers/md"])


def test_top_dirs_keep_the_outermost_folders() -> None:
    assert top_dirs(["drivers/md/persistent-data", "drivers/md", "/fs/ext4/", "."]) == (
        "drivers/md",
        "fs/ext4",
    )
    # drivers/mdx is not inside drivers/md.
    assert top_dirs(["drivers/md", "drivers/mdx"]) == ("drivers/md", "drivers/mdx")


# --- the tree -------------------------------------------------------------------------------------


def test_tree_layout_dkms_conf_and_manifest(tmp_path: Path) -> None:
    modules = _built_tiny(tmp_path / "worktree")

    result = package_dkms(
        modules,
        tmp_path / "out",
        base=tmp_path / "worktree",
        dirs=["drivers/md"],
        sub_release="6.1.187",
        provenance=Provenance(patch_name="patch-6.1.187", patch_sha256="cd" * 32),
    )

    folder = tmp_path / "out/patchsmith-dm-6.1.187-1"
    assert result.output == folder
    assert (result.name, result.version) == ("patchsmith-dm", "6.1.187-1")
    assert (folder / "Kbuild").read_text().splitlines()[-1] == "obj-y += drivers/md/"
    conf = (folder / "dkms.conf").read_text().splitlines()
    for line in (
        'PACKAGE_NAME="patchsmith-dm"',
        'PACKAGE_VERSION="6.1.187-1"',
        'BUILT_MODULE_NAME[0]="dm-tiny"',
        'BUILT_MODULE_LOCATION[0]="drivers/md/"',
        'DEST_MODULE_LOCATION[0]="/updates/drivers/md"',
        'BUILT_MODULE_NAME[1]="dm-tiny-data"',
        'BUILT_MODULE_LOCATION[1]="drivers/md/tiny-data/"',
        'DEST_MODULE_LOCATION[1]="/updates/drivers/md/tiny-data"',
        'BUILD_EXCLUSIVE_KERNEL="^6\\.1\\.0-56-cloud-amd64$"',
        'AUTOINSTALL="yes"',
    ):
        assert line in conf
    assert not list(folder.rglob("*.ko"))
    assert not list(folder.rglob("*.o"))
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["patch"]["sha256"] == "cd" * 32
    assert manifest["dkms"]["module_dirs"] == ["drivers/md"]
    for entry in manifest["sources"]:
        copied = (folder / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(copied).hexdigest()
        assert copied == (tmp_path / "worktree" / entry["path"]).read_bytes()


@pytest.mark.skipif(shutil.which("bash") is None, reason="DKMS matches with bash's =~")
@pytest.mark.parametrize(
    ("kernel", "matches"),
    [
        ("6.1.0-56-cloud-amd64", True),
        ("6.1.0-56-cloud-amd64x", False),  # anchored at the end
        ("6.1.0-56-cloud-amd64-unsigned", False),
        ("6x1x0-56-cloud-amd64", False),  # dots are dots, not any character
        ("6.1.0-57-cloud-amd64", False),  # the next ABI: another kernel's sources
        ("x6.1.0-56-cloud-amd64", False),
    ],
)
def test_build_exclusive_kernel_matches_that_release_only(
    tmp_path: Path, kernel: str, matches: bool
) -> None:
    modules = _built_tiny(tmp_path / "worktree")
    result = package_dkms(
        modules, tmp_path / "out", base=tmp_path / "worktree", dirs=["drivers/md"], sub_release="1"
    )
    conf = (result.output / "dkms.conf").read_text()
    # DKMS sources dkms.conf with bash and tests [[ $kernelver =~ $BUILD_EXCLUSIVE_KERNEL ]].
    matched = subprocess.run(
        ["bash", "-c", f'{conf}\n[[ "$1" =~ $BUILD_EXCLUSIVE_KERNEL ]]', "dkms.conf", kernel],
        capture_output=True,
        check=False,
    )
    assert (matched.returncode == 0) == matches


def test_refuses_modules_from_elsewhere_and_an_existing_folder(tmp_path: Path) -> None:
    modules = _built_tiny(tmp_path / "worktree")
    stray = craft_module(tmp_path / "worktree/dm-stray.ko", (f"vermagic={CLOUD_VERMAGIC}",))

    with pytest.raises(InputError, match="not below the module folders"):
        package_dkms(
            [*modules, stray],
            tmp_path / "out",
            base=tmp_path / "worktree",
            dirs=["drivers/md"],
            sub_release="6.1.187",
        )
    assert not (tmp_path / "out/patchsmith-dm-6.1.187-1").exists()
    package_dkms(
        modules,
        tmp_path / "out",
        base=tmp_path / "worktree",
        dirs=["drivers/md"],
        sub_release="6.1.187",
    )
    with pytest.raises(InputError, match="already exists"):
        package_dkms(
            modules,
            tmp_path / "out",
            base=tmp_path / "worktree",
            dirs=["drivers/md"],
            sub_release="6.1.187",
        )
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["patchsmith-dm-6.1.187-1"]


# --- the Debian package of the tree ---------------------------------------------------------------

needs_dpkg = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None, reason="dpkg-deb is Debian's; not installed here"
)


@needs_dpkg
def test_dkms_deb_layout(tmp_path: Path) -> None:
    modules = _built_tiny(tmp_path / "worktree")

    result = package_dkms_deb(
        modules,
        tmp_path / "p.deb",
        DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187"),
        base=tmp_path / "worktree",
        dirs=["drivers/md"],
        mtime=0,
    )

    listing = subprocess.run(
        ["dpkg-deb", "-c", str(result.output)], capture_output=True, text=True, check=True
    ).stdout
    paths = {line.split()[-1].removeprefix(".") for line in listing.splitlines()}
    source = "/usr/src/patchsmith-dm-6.1.187-1"
    for name in ("dkms.conf", "Kbuild", "drivers/md/dm-tiny.h", "drivers/md/tiny-data/tiny-data.h"):
        assert f"{source}/{name}" in paths
    assert f"/{FORCE_INSTALL_DIR}/patchsmith-dm" in paths
    assert not [path for path in paths if path.endswith((".ko", ".o"))]
    field = subprocess.run(
        ["dpkg-deb", "-f", str(result.output), "Package", "Architecture", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert field.splitlines() == [
        "Package: patchsmith-dm-dkms",
        "Architecture: all",
        "Depends: dkms",
    ]


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed")
@needs_dpkg
def test_dkms_deb_lintian_reports_no_errors(tmp_path: Path) -> None:
    modules = _built_tiny(tmp_path / "worktree")
    result = package_dkms_deb(
        modules,
        tmp_path / "p.deb",
        DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187"),
        base=tmp_path / "worktree",
        dirs=["drivers/md"],
    )

    checked = subprocess.run(
        ["lintian", "--allow-root", str(result.output)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert not [t for t in checked.stdout.splitlines() if t.startswith("E:")], checked.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- for real: dkms add and dkms build ------------------------------------------------------------

DKMS = tool("dkms")
needs_dkms = pytest.mark.skipif(
    HEADERS is None
    or DKMS is None
    or SIGN_FILE is None
    or shutil.which("openssl") is None
    or os.geteuid() != 0,
    reason="the real DKMS build needs root, dkms, openssl and the cloud headers "
    "(.ci/run installs them; run as root)",
)


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The fixture built for real against the cloud headers, once for this module's tests."""
    assert HEADERS is not None
    worktree = tmp_path_factory.mktemp("tiny") / "worktree"
    shutil.copytree(FIXTURES / "module-dm-tiny/drivers", worktree / "drivers")
    result = run_build(
        BuildRequest(
            worktree=worktree,
            module_dirs=("drivers/md",),
            log_path=worktree.parent / "build.log",
            kernel_dir=HEADERS,
        )
    )
    assert result.ok, result.log_path.read_text()[-3000:]
    return worktree, list(result.modules)


def _listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def _dkms(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dkms with every tree it writes in tmp_path, signing with a throwaway key."""
    assert DKMS is not None and SIGN_FILE is not None
    keys = tmp_path / "mok"
    if not keys.exists():
        throwaway_key(keys, "patchsmith DKMS test MOK")
    env = dict(
        os.environ,
        PATH=f"{os.environ.get('PATH', '/usr/bin:/bin')}:/usr/sbin:/sbin",
        sign_file=str(SIGN_FILE),
        mok_signing_key=str(keys / "signing.priv"),
        mok_certificate=str(keys / "signing.der"),
        TMPDIR=str(tmp_path),
    )
    return subprocess.run(
        [
            DKMS,
            *args,
            "--dkmstree",
            str(tmp_path / "dkms-tree"),
            "--sourcetree",
            str(tmp_path / "source-tree"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def system_dkms_state() -> Iterator[None]:
    """Fails the test if /var/lib/dkms or /usr/src changed while it ran."""
    before = (_listing(Path("/var/lib/dkms")), _listing(Path("/usr/src")))
    yield
    assert (_listing(Path("/var/lib/dkms")), _listing(Path("/usr/src"))) == before


def _dkms_add_and_build(tmp_path: Path, source: Path, name: str, version: str) -> Path:
    assert HEADERS is not None
    release = HEADERS.name.removeprefix("linux-headers-")
    (tmp_path / "dkms-tree").mkdir(parents=True)
    (tmp_path / "source-tree").mkdir()

    added = _dkms(tmp_path, "add", str(source))
    assert added.returncode == 0, added.stdout + added.stderr
    assert (tmp_path / f"source-tree/{name}-{version}/dkms.conf").is_file()
    built = _dkms(
        tmp_path,
        "build",
        "-m",
        name,
        "-v",
        version,
        "-k",
        release,
        "--kernelsourcedir",
        str(HEADERS),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return tmp_path / f"dkms-tree/{name}/{version}/{release}"


@needs_dkms
@pytest.mark.usefixtures("system_dkms_state")
def test_real_dkms_add_and_build_of_the_tree(
    tmp_path: Path, tiny_build: tuple[Path, list[Path]]
) -> None:
    worktree, modules = tiny_build
    assert HEADERS is not None
    result = package_dkms(
        modules, tmp_path / "out", base=worktree, dirs=["drivers/md"], sub_release="6.1.187"
    )

    built = _dkms_add_and_build(tmp_path / "dkms", result.output, result.name, "6.1.187-1")

    made = sorted(built.rglob("module/*.ko"))
    assert [p.name for p in made] == ["dm-tiny-data.ko", "dm-tiny.ko"]
    release = HEADERS.name.removeprefix("linux-headers-")
    for path in made:
        info = read_module(path)
        assert info.vermagic is not None
        assert info.vermagic.release == release
        assert info.signature is not None  # DKMS signed them with the MOK key it was given
        assert modinfo_field(path, "signer") == "patchsmith DKMS test MOK"


@needs_dkms
@pytest.mark.usefixtures("system_dkms_state")
def test_real_dkms_build_of_the_packaged_tree(
    tmp_path: Path, tiny_build: tuple[Path, list[Path]]
) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    worktree, modules = tiny_build
    result = package_dkms_deb(
        modules,
        tmp_path / "p.deb",
        DebianOptions(maintainer=MAINTAINER, sub_release="6.1.187", build_number=3),
        base=worktree,
        dirs=["drivers/md"],
    )
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(result.output), str(unpacked)], check=True)

    built = _dkms_add_and_build(
        tmp_path / "dkms",
        unpacked / "usr/src/patchsmith-dm-6.1.187-3",
        "patchsmith-dm",
        "6.1.187-3",
    )

    assert sorted(p.name for p in built.rglob("module/*.ko")) == ["dm-tiny-data.ko", "dm-tiny.ko"]

"""Packaging: the tarball's layout and manifest, and install.sh run in a sandbox root.

install.sh never loads anything here: rmmod, modprobe and depmod on its PATH are the fakes of
tests/ship/real_tools.py (they record their arguments and fail on request), PROC_MODULES points
at a made-up /proc/modules and SYS_MODULE at a made-up /sys/module.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.errors import InputError
from patchsmith.ship.elfinfo import find_signature
from patchsmith.ship.package import package_modules, read_manifest
from tests.ship.elf_factory import (
    CLOUD_VERMAGIC,
    XEN_VERMAGIC,
    compile_module,
    craft_module,
    gcc_supports,
)
from tests.ship.real_tools import (
    fake_module_tools,
    needs_sign_file,
    signing_headers,
    throwaway_key,
)

RELEASE = "6.1.0-56-cloud-amd64"
FOLDER = f"patchsmith-modules-{RELEASE}"


def _built_tree(root: Path) -> Path:
    """A worktree after a build: two device-mapper modules, dm_snapshot needing dm_mod."""
    (root / "drivers/md").mkdir(parents=True)
    craft_module(
        root / "drivers/md/dm-mod.ko",
        ("name=dm_mod", "depends=", "srcversion=AAAA1111", f"vermagic={CLOUD_VERMAGIC}"),
    )
    craft_module(
        root / "drivers/md/dm-snapshot.ko",
        ("name=dm_snapshot", "depends=dm-mod", "srcversion=BBBB2222", f"vermagic={CLOUD_VERMAGIC}"),
    )
    return root


def _modules(tree: Path) -> list[Path]:
    return [tree / "drivers/md/dm-mod.ko", tree / "drivers/md/dm-snapshot.ko"]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    tree = _built_tree(tmp_path / "worktree")
    (tmp_path / "out").mkdir()  # a directory: the archive is named for its folder
    result = package_modules(_modules(tree), tmp_path / "out", base=tree, mtime=0)
    return result.archive


class Sandbox:
    """An unpacked package, a target root, fake commands and a made-up /proc/modules."""

    def __init__(self, tmp_path: Path, archive: Path, root: str = "root") -> None:
        self.base = tmp_path / "sandbox"
        self.base.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(self.base, filter="data")
        self.script = self.base / FOLDER / "install.sh"
        self.root = self.base / root
        self.root.mkdir(parents=True)
        self.calls = self.base / "calls"
        self.proc = self.base / "proc-modules"
        self.proc.write_text("")
        self.sys = self.base / "sys-module"
        self.sys.mkdir()
        bindir = fake_module_tools(self.base / "bin")
        self.env = {
            "PATH": f"{bindir}:/usr/bin:/bin",
            "CALLS": str(self.calls),
            "PROC_MODULES": str(self.proc),
            "SYS_MODULE": str(self.sys),
        }

    def loaded(self, *lines: str) -> None:
        self.proc.write_text("".join(line + "\n" for line in lines))

    def run(self, *args: str, shell: str = "sh") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [shell, "-e", str(self.script), "--root", str(self.root), *args],
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
        self.argv.unlink(missing_ok=True)
        return lines

    @property
    def argv(self) -> Path:
        return self.calls.with_name(self.calls.name + ".argv")

    def take_argv(self) -> list[list[str]]:
        """Each call's argument vector, exactly as the fake received it."""
        calls: list[list[str]] = []
        current: list[str] = []
        for line in self.argv.read_text().splitlines():
            if line == "--":
                calls.append(current)
                current = []
            else:
                current.append(line)
        self.take_calls()
        return calls

    def installed(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*.ko") if p.is_file()
        )


@pytest.fixture
def sandbox(tmp_path: Path, package: Path) -> Sandbox:
    return Sandbox(tmp_path, package)


UPDATES = f"lib/modules/{RELEASE}/updates/drivers/md"


# --- the tarball ----------------------------------------------------------------------------------


def test_tarball_layout(package: Path) -> None:
    with tarfile.open(package) as tar:
        names = tar.getnames()
        members = {m.name: m for m in tar.getmembers()}

    assert package.name == f"{FOLDER}.tgz"
    assert all(name == FOLDER or name.startswith(FOLDER + "/") for name in names)
    assert f"{FOLDER}/{UPDATES}/dm-mod.ko" in names
    assert f"{FOLDER}/{UPDATES}/dm-snapshot.ko" in names
    for name in ("install.sh", "MANIFEST", "MANIFEST.json", "SHA256SUMS"):
        assert f"{FOLDER}/{name}" in names
    assert members[f"{FOLDER}/install.sh"].mode == 0o755
    assert {m.uid for m in members.values()} == {0}


def test_manifest_matches_the_files(tmp_path: Path, package: Path) -> None:
    manifest = read_manifest(package)
    with tarfile.open(package) as tar:
        text = tar.extractfile(f"{FOLDER}/MANIFEST").read().decode()  # type: ignore[union-attr]
        files = {
            m.name.removeprefix(FOLDER + "/"): tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.endswith(".ko")
        }

    assert manifest["release"] == RELEASE
    assert manifest["subdir"] == "updates"
    assert [m["path"] for m in manifest["modules"]] == sorted(files)
    for entry in manifest["modules"]:
        assert entry["sha256"] == hashlib.sha256(files[entry["path"]]).hexdigest()
        assert entry["vermagic"] == CLOUD_VERMAGIC.strip()
        assert f"{entry['path']}\t{entry['sha256']}\t{entry['vermagic']}" in text.splitlines()
    source = tmp_path / "worktree/drivers/md/dm-mod.ko"
    assert files[f"{UPDATES}/dm-mod.ko"] == source.read_bytes()
    assert {m["name"]: m["depends"] for m in manifest["modules"]} == {
        "dm_mod": [],
        "dm_snapshot": ["dm-mod"],
    }


def test_same_modules_give_the_same_archive(tmp_path: Path) -> None:
    tree = _built_tree(tmp_path / "worktree")
    first = package_modules(_modules(tree), tmp_path / "a.tgz", base=tree, mtime=0)
    second = package_modules(_modules(tree), tmp_path / "b.tgz", base=tree, mtime=0)

    with tarfile.open(first.archive) as a, tarfile.open(second.archive) as b:
        assert [(m.name, m.size, m.mtime) for m in a] == [(m.name, m.size, m.mtime) for m in b]


def test_extra_subdir_and_flat_layout_without_base(tmp_path: Path) -> None:
    tree = _built_tree(tmp_path / "worktree")

    result = package_modules(_modules(tree), tmp_path / "p.tgz", subdir="extra")

    assert [m.path for m in result.modules] == [
        f"lib/modules/{RELEASE}/extra/dm-mod.ko",
        f"lib/modules/{RELEASE}/extra/dm-snapshot.ko",
    ]


def test_refuses_mixed_releases_non_modules_and_collisions(tmp_path: Path) -> None:
    tree = _built_tree(tmp_path / "worktree")
    xen = craft_module(tmp_path / "xen.ko", (f"vermagic={XEN_VERMAGIC}",), bits=32)
    plain = craft_module(tmp_path / "plain.o", ("license=GPL",))
    (tmp_path / "other").mkdir()
    twin = shutil.copy(tree / "drivers/md/dm-mod.ko", tmp_path / "other/dm-mod.ko")

    with pytest.raises(InputError, match="different kernels"):
        package_modules([*_modules(tree), xen], tmp_path / "p.tgz")
    with pytest.raises(InputError, match="not a kernel module"):
        package_modules([plain], tmp_path / "p.tgz")
    with pytest.raises(InputError, match="both be installed"):
        package_modules([tree / "drivers/md/dm-mod.ko", Path(twin)], tmp_path / "p.tgz")
    with pytest.raises(InputError, match=r"not 6\.1\.0-1-amd64"):
        package_modules(_modules(tree), tmp_path / "p.tgz", release="6.1.0-1-amd64")
    with pytest.raises(InputError):
        package_modules([], tmp_path / "p.tgz")


# --- install.sh -----------------------------------------------------------------------------------


def test_install_unloads_installs_depmods_and_loads(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_snapshot 57344 0 - Live 0x0", "dm_mod 184320 1 dm_snapshot, Live 0x0")

    run = sandbox.run("--reload")

    assert run.returncode == 0, run.stdout + run.stderr
    root = str(sandbox.root)
    assert sandbox.take_calls() == [
        "rmmod dm_snapshot",  # the user before what it uses
        "rmmod dm_mod",
        f"depmod -b {root} -a {RELEASE}",
        f"modprobe -d {root} dm_mod",
        f"modprobe -d {root} dm_snapshot",
    ]
    assert sandbox.installed() == [f"{UPDATES}/dm-mod.ko", f"{UPDATES}/dm-snapshot.ko"]
    assert "done: installed 2 of 2" in run.stdout
    assert "reloaded: dm_snapshot dm_mod" in run.stdout


def test_second_run_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 0 - Live 0x0")
    assert sandbox.run("--reload").returncode == 0
    sandbox.take_calls()
    before = {p: p.stat().st_mtime_ns for p in sandbox.root.rglob("*.ko")}

    run = sandbox.run("--reload")

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls() == []
    assert {p: p.stat().st_mtime_ns for p in sandbox.root.rglob("*.ko")} == before
    assert "nothing to do" in run.stdout


def test_dry_run_does_nothing(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 0 - Live 0x0")

    run = sandbox.run("--reload", "--dry-run")

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls() == []
    assert sandbox.installed() == []
    assert list(sandbox.root.iterdir()) == []
    assert "would unload dm_mod" in run.stdout
    assert f"would install {sandbox.root}/{UPDATES}/dm-mod.ko" in run.stdout
    assert "would run depmod" in run.stdout
    assert "would load dm_mod" in run.stdout


def test_module_in_use_stops_before_any_change(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 3 - Live 0x0")  # three open dm devices

    run = sandbox.run("--reload")

    assert run.returncode == 1
    assert "dm_mod is in use: refcount 3" in run.stdout
    assert "nothing was changed" in run.stdout
    assert sandbox.take_calls() == []
    assert sandbox.installed() == []


def test_module_held_by_a_module_outside_the_package_stops(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 1 dm_thin_pool, Live 0x0", "dm_thin_pool 1 0 - Live 0x0")

    run = sandbox.run("--reload")

    assert run.returncode == 1
    assert "dm_mod is used by dm_thin_pool" in run.stdout
    assert sandbox.take_calls() == []


def test_modules_not_loaded_are_installed_not_loaded(sandbox: Sandbox) -> None:
    run = sandbox.run("--reload")

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls() == [f"depmod -b {sandbox.root} -a {RELEASE}"]
    assert len(sandbox.installed()) == 2


def test_root_without_reload_leaves_the_running_kernel_alone(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 5 - Live 0x0")  # in use, but we do not touch it

    run = sandbox.run()

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls() == [f"depmod -b {sandbox.root} -a {RELEASE}"]
    assert "not reloaded" in run.stdout


def test_running_module_from_another_build_is_reloaded(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 0 - Live 0x0")
    assert sandbox.run("--reload").returncode == 0
    sandbox.take_calls()
    (sandbox.sys / "dm_mod").mkdir()
    (sandbox.sys / "dm_mod/srcversion").write_text("OLD0000\n")  # the old module still runs

    run = sandbox.run("--reload")

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls() == ["rmmod dm_mod", f"modprobe -d {sandbox.root} dm_mod"]


def test_damaged_package_is_refused(sandbox: Sandbox) -> None:
    module = sandbox.base / FOLDER / UPDATES / "dm-mod.ko"
    module.write_bytes(module.read_bytes() + b"tampered")

    run = sandbox.run("--reload")

    assert run.returncode == 1
    assert "checksum mismatch" in run.stderr
    assert sandbox.installed() == []


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
def test_install_runs_under_dash(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_mod 184320 0 - Live 0x0")

    run = sandbox.run("--reload", shell="dash")

    assert run.returncode == 0, run.stderr
    assert sandbox.take_calls()[0] == "rmmod dm_mod"


def test_root_with_a_space_reaches_depmod_and_modprobe_as_one_word(
    tmp_path: Path, package: Path
) -> None:
    sandbox = Sandbox(tmp_path, package, root="x/root dir")
    sandbox.loaded("dm_mod 184320 0 - Live 0x0")

    run = sandbox.run("--reload")

    assert run.returncode == 0, run.stdout + run.stderr
    root = str(sandbox.root)
    assert sandbox.take_argv() == [
        ["rmmod", "dm_mod"],
        ["depmod", "-b", root, "-a", RELEASE],
        ["modprobe", "-d", root, "dm_mod"],
    ]
    assert sandbox.installed() == [f"{UPDATES}/dm-mod.ko", f"{UPDATES}/dm-snapshot.ko"]
    assert (sandbox.root / f"lib/modules/{RELEASE}/modules.dep").is_file()


def test_failed_rmmod_after_the_in_use_check_loads_back_what_was_unloaded(
    sandbox: Sandbox,
) -> None:
    # Nothing holds dm_mod when the script looks; by the time it gets there, something does.
    sandbox.loaded("dm_snapshot 57344 0 - Live 0x0", "dm_mod 184320 1 dm_snapshot, Live 0x0")
    sandbox.env["FAIL_RMMOD"] = "dm_mod"

    run = sandbox.run("--reload")

    assert run.returncode == 1
    assert sandbox.take_calls() == [
        "rmmod dm_snapshot",
        "rmmod dm_mod",
        f"modprobe -d {sandbox.root} dm_snapshot",
    ]
    assert "rmmod dm_mod failed" in run.stderr
    assert "failed before any module file was installed" in run.stderr
    assert "loading again what was unloaded: dm_snapshot" in run.stderr
    assert "loaded again" in run.stderr
    assert sandbox.installed() == []


def test_failed_depmod_loads_back_and_says_the_files_are_in(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_snapshot 57344 0 - Live 0x0", "dm_mod 184320 1 dm_snapshot, Live 0x0")
    sandbox.env["FAIL_DEPMOD"] = "1"

    run = sandbox.run("--reload")

    assert run.returncode == 1
    root = sandbox.root
    assert sandbox.take_calls() == [
        "rmmod dm_snapshot",
        "rmmod dm_mod",
        f"depmod -b {root} -a {RELEASE}",
        f"modprobe -d {root} dm_mod",  # the last unloaded first
        f"modprobe -d {root} dm_snapshot",
    ]
    assert "depmod failed" in run.stderr
    assert "failed after installing 2 module files; run install.sh again" in run.stderr
    assert "loaded again" in run.stderr

    # A second run finishes the job: the files are there, the index is not.
    del sandbox.env["FAIL_DEPMOD"]
    again = sandbox.run("--reload")
    assert again.returncode == 0, again.stderr
    assert sandbox.take_calls() == [f"depmod -b {root} -a {RELEASE}"]


def test_module_that_does_not_load_again_is_named(sandbox: Sandbox) -> None:
    sandbox.loaded("dm_snapshot 57344 0 - Live 0x0", "dm_mod 184320 1 dm_snapshot, Live 0x0")
    sandbox.env["FAIL_MODPROBE"] = "dm_snapshot"

    run = sandbox.run("--reload")

    assert run.returncode == 1
    assert "could not load: dm_snapshot" in run.stderr
    assert sandbox.take_calls()[-2:] == [
        f"modprobe -d {sandbox.root} dm_mod",
        f"modprobe -d {sandbox.root} dm_snapshot",
    ]
    assert len(sandbox.installed()) == 2


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_install_script_is_shellcheck_clean(sandbox: Sandbox) -> None:
    checked = subprocess.run(
        ["shellcheck", "--shell=sh", "--severity=style", str(sandbox.script)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout


def test_help_and_bad_option(sandbox: Sandbox) -> None:
    assert "--dry-run" in sandbox.run("--help").stdout
    bad = sandbox.run("--frobnicate")
    assert bad.returncode == 1
    assert "unknown option" in bad.stderr


# --- the command line -----------------------------------------------------------------------------


def test_cli_package_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _built_tree(tmp_path / "worktree")
    out = tmp_path / "dm.tgz"

    code = main(
        ["package", *map(str, _modules(tree)), "--base", str(tree), "-o", str(out), "--json"]
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["archive"] == str(out)
    assert document["release"] == RELEASE
    assert read_manifest(out)["modules"] == document["modules"]


def test_cli_package_without_modules_or_session_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    code = main(["package"])

    assert code == 2
    assert "no module files given" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sign-key", "k.priv"], "--sign-key and --sign-cert go together"),
        (
            ["--format", "dkms", "--sign-key", "k", "--sign-cert", "c"],
            "DKMS builds and signs on the target",
        ),
        (["--reload"], "--reload is for --format deb"),
        (["--dir", "drivers/md"], "--dir is for --format dkms"),
        (["--format", "deb", "--name", "x"], "--name is for --format tgz"),
        (["--format", "deb"], "needs the sub-release"),
        (["--format", "dkms", "--sub-release", "6.1.187"], "needs the module folders"),
    ],
)
def test_cli_package_option_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    tree = _built_tree(tmp_path / "worktree")

    code = main(["package", *map(str, _modules(tree)), "--base", str(tree), *extra])

    assert code == 2
    assert message in capsys.readouterr().err


@needs_sign_file
def test_cli_package_signs_copies_and_records_the_signer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _built_tree(tmp_path / "worktree")
    key, cert = throwaway_key(tmp_path / "key", "package signer")
    headers = signing_headers(tmp_path / "headers")
    before = [path.read_bytes() for path in _modules(tree)]
    out = tmp_path / "dm.tgz"

    code = main(
        [
            "package",
            *map(str, _modules(tree)),
            "--base",
            str(tree),
            "-o",
            str(out),
            "--sign-key",
            str(key),
            "--sign-cert",
            str(cert),
            "--kernel-dir",
            str(headers),
            "--json",
        ]
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["signing"]["hash"] == "sha256"
    assert "package signer" in document["signing"]["subject"]
    assert [m["signed"] for m in document["modules"]] == [True, True]
    with tarfile.open(out) as tar:
        for module in document["modules"]:
            data = tar.extractfile(f"{FOLDER}/{module['path']}").read()  # type: ignore[union-attr]
            assert find_signature(data) is not None
            assert hashlib.sha256(data).hexdigest() == module["sha256"]
    assert [path.read_bytes() for path in _modules(tree)] == before


# --- --strip-debug --------------------------------------------------------------------------------

needs_gcc_and_strip = pytest.mark.skipif(
    not gcc_supports(64) or shutil.which("strip") is None,
    reason="needs gcc (64-bit objects) and strip (binutils)",
)


def _debug_sections(data: bytes) -> list[str]:
    import io

    from elftools.elf.elffile import ELFFile

    return [s.name for s in ELFFile(io.BytesIO(data)).iter_sections() if ".debug" in s.name]


def _debug_tree(root: Path) -> list[Path]:
    """Two modules compiled with -g, as a CONFIG_DEBUG_INFO kernel's build leaves them."""
    (root / "drivers/md").mkdir(parents=True)
    return [
        compile_module(
            root / f"drivers/md/{name}.ko",
            (f"name={name.replace('-', '_')}", "depends=", f"vermagic={CLOUD_VERMAGIC}"),
            debug=True,
        )
        for name in ("dm-mod", "dm-snapshot")
    ]


@needs_gcc_and_strip
def test_strip_debug_ships_copies_without_debug_information(tmp_path: Path) -> None:
    tree = tmp_path / "worktree"
    modules = _debug_tree(tree)
    before = [path.read_bytes() for path in modules]
    assert all(_debug_sections(data) for data in before)  # the input can fail the test

    result = package_modules(modules, tmp_path / "dm.tgz", base=tree, strip_debug=True)

    manifest = read_manifest(result.archive)
    assert manifest["debug_stripped"] is True
    with tarfile.open(result.archive) as tar:
        for module, built in zip(manifest["modules"], before, strict=True):
            data = tar.extractfile(f"{FOLDER}/{module['path']}").read()  # type: ignore[union-attr]
            assert _debug_sections(data) == []
            assert len(data) < len(built) and module["size"] == len(data)
            assert hashlib.sha256(data).hexdigest() == module["sha256"]
    assert [path.read_bytes() for path in modules] == before  # the build's files stay
    unstripped = package_modules(modules, tmp_path / "full.tgz", base=tree)
    assert read_manifest(unstripped.archive)["debug_stripped"] is False


@needs_gcc_and_strip
@needs_sign_file
def test_strip_debug_signs_after_stripping_and_refuses_to_drop_a_signature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from patchsmith.ship.signing import prepare_signer, sign_module

    tree = tmp_path / "worktree"
    modules = _debug_tree(tree)
    key, cert = throwaway_key(tmp_path / "key", "strip signer")
    headers = signing_headers(tmp_path / "headers")
    # Signed after stripping: the signature covers the bytes shipped.
    common = [*map(str, modules), "--base", str(tree), "--strip-debug", "--json"]
    signing = ["--sign-key", str(key), "--sign-cert", str(cert), "--kernel-dir", str(headers)]
    out = tmp_path / "signed.tgz"
    assert main(["package", *common, *signing, "-o", str(out)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["debug_stripped"] is True
    with tarfile.open(out) as tar:
        for module in document["modules"]:
            data = tar.extractfile(f"{FOLDER}/{module['path']}").read()  # type: ignore[union-attr]
            assert find_signature(data) is not None and _debug_sections(data) == []
    # A module the build signed loses its signature to strip: refused without a key.
    sign_module(modules[0], prepare_signer(key, cert, kernel_dir=headers))
    assert main(["package", *common, "-o", str(tmp_path / "refused.tgz")]) == 2
    err = capsys.readouterr().err
    assert "stripping its debug information would drop the signature" in err
    assert "--sign-key" in err
    assert not (tmp_path / "refused.tgz").exists()
    # DKMS ships sources: nothing to strip, said so.
    assert main(["package", *common, "--format", "dkms", "-o", str(tmp_path / "d")]) == 2
    assert "nothing to strip" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("build_json", "message"),
    [
        (None, "no build result in this session"),
        ("[]", "is not a build result patchsmith wrote"),
        ('{"ok": true, "modules": "dm-mod.ko"}', "is not a build result patchsmith wrote"),
        ('{"ok": true, "modules": [], "steps": ["drivers/md"]}', "is not a build result"),
        ('{"ok": true, "modules": [], "worktree": 7}', "is not a build result"),
        ("{not json", "is not a build result patchsmith wrote"),
        ("a folder", "cannot read the session's build result"),
    ],
    ids=[
        "missing",
        "a-list",
        "modules-a-string",
        "steps-strings",
        "worktree-number",
        "garbage",
        "folder",
    ],
)
def test_cli_package_a_session_whose_build_result_cannot_be_used_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], build_json: str | None, message: str
) -> None:
    # A damaged build.json was an internal error (exit 3: 'list' object has no attribute
    # 'get'), and a module list given as a string packaged one "module" per character.
    session = tmp_path / "session"
    session.mkdir()
    (session / "session.json").write_text("{}")
    if build_json == "a folder":
        (session / "build.json").mkdir()
    elif build_json is not None:
        (session / "build.json").write_text(build_json)

    code = main(["package", "--session", str(session / "session.json"), "-o", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "hint:" in err
    assert list(tmp_path.glob("*.tgz")) == []

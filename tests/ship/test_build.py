"""The build gate and the build runner: fake make for the mechanics, real Kbuild when it is here.

The real part builds ``fixtures/module-hello`` against Debian's cloud headers (installed by
``.ci/install-kernel-headers``), then checks preflight passes against the built ``hello.ko`` and
that a package of it has a manifest matching the file. Without the headers it is skipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from patchsmith.cli import main
from patchsmith.errors import GateError, InputError, TreeError
from patchsmith.ship.build import (
    BuildProgress,
    BuildRequest,
    HunkSpan,
    build_session,
    check_gate,
    collect_modules,
    module_dirs_for,
    parse_diagnostic,
    plan_build,
    run_build,
)
from patchsmith.ship.elfinfo import find_signature
from patchsmith.ship.package import package_modules, read_manifest
from patchsmith.ship.preflight import run_preflight
from tests.ship.elf_factory import CLOUD_VERMAGIC, craft_module, fake_command
from tests.ship.real_tools import (
    HEADERS,
    modinfo_field,
    needs_headers,
    needs_sign_file,
    signing_headers,
    throwaway_key,
)
from tests.support.paths import CHECK, FIXTURES


class FakeSession:
    """Stands in for the workspace's SessionStore: only what the gate asks."""

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def open_items(self) -> list[str]:
        return self.items


def _module_tree(root: Path) -> Path:
    (root / "drivers/md/persistent-data").mkdir(parents=True)
    (root / "drivers/md/Makefile").write_text("obj-m += dm-mod.o\n")
    (root / "drivers/md/dm.c").write_text("int x;\n")
    (root / "drivers/md/persistent-data/Makefile").write_text("obj-m += dm-pd.o\n")
    (root / "drivers/md/persistent-data/dm-btree.c").write_text("int y;\n")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/dm-io.h").write_text("\n")
    (root / "Makefile").write_text("VERSION = 6\n")
    return root


def _fake_headers(tmp_path: Path) -> Path:
    headers = tmp_path / "headers"
    headers.mkdir(exist_ok=True)
    (headers / "Makefile").write_text("all:\n")
    return headers


def _request(worktree: Path, tmp_path: Path, **changes: object) -> BuildRequest:
    fields: dict[str, object] = {
        "worktree": worktree,
        "module_dirs": ("drivers/md",),
        "log_path": tmp_path / "session" / "build.log",
        "kernel_dir": None,
        "jobs": 2,
    }
    fields.update(changes)
    return BuildRequest(**fields)  # type: ignore[arg-type]


# --- the gate -------------------------------------------------------------------------------------


def test_gate_refuses_with_the_open_items() -> None:
    items = [
        "hunk: drivers/md/dm.c#2: conflict: no safe location",
        "reject: drivers/md/dm.c.rej: reject file left in the worktree",
        "marker: drivers/md/dm-table.c: conflict marker at line 120",
    ]

    with pytest.raises(GateError) as caught:
        check_gate(FakeSession(items))

    assert caught.value.open_items == items
    assert caught.value.exit_code == 1
    assert "3 items" in caught.value.message
    assert caught.value.hint is not None


def test_gate_open_does_not_raise() -> None:
    check_gate(FakeSession([]))


def test_build_session_does_not_run_make_while_the_gate_is_closed(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    calls = tmp_path / "calls"
    make = fake_command(tmp_path / "make", f'echo "$@" >> {calls}\n')

    with pytest.raises(GateError):
        build_session(
            FakeSession(["hunk: drivers/md/dm.c#1: conflict"]),
            _request(worktree, tmp_path, make=str(make), kernel_dir=tmp_path),
        )

    assert not calls.exists()
    assert not (tmp_path / "session" / "build.log").exists()


# --- planning -------------------------------------------------------------------------------------


def test_module_dirs_for_touched_files(tmp_path: Path) -> None:
    tree = _module_tree(tmp_path / "t")

    dirs = module_dirs_for(
        [
            "drivers/md/dm.c",
            "drivers/md/persistent-data/dm-btree.c",  # built from drivers/md already
            "include/linux/dm-io.h",  # only the top-level Makefile above it: no module dir
            "drivers/md/dm-core.h",
        ],
        tree,
    )

    assert dirs == ("drivers/md",)


def test_plan_out_of_tree(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    kernel_dir = tmp_path / "headers"

    steps = plan_build(_request(worktree, tmp_path, kernel_dir=kernel_dir, cc="gcc-12"))

    assert [step.argv for step in steps] == [
        (
            "make",
            "-C",
            str(kernel_dir.resolve()),
            f"M={worktree.resolve()}/drivers/md",
            "-j2",
            "CC=gcc-12",
            "modules",
        )
    ]


def test_plan_in_tree_prepares_an_unprepared_tree(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    (worktree / ".config").write_text("CONFIG_MODULES=y\n")

    steps = plan_build(_request(worktree, tmp_path, targets=("modules", "W=1")))

    assert [step.argv[-1] for step in steps] == ["olddefconfig", "modules_prepare", "W=1"]
    assert steps[-1].argv[:4] == (
        "make",
        "-C",
        str(worktree.resolve()),
        f"M={worktree.resolve()}/drivers/md",
    )
    assert steps[-1].directory == "drivers/md"


def test_plan_in_tree_needs_a_config(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")

    with pytest.raises(TreeError) as caught:
        plan_build(_request(worktree, tmp_path))

    assert "--config" in (caught.value.hint or "")


def test_plan_refuses_missing_and_empty_dirs(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    with pytest.raises(TreeError):
        plan_build(_request(worktree, tmp_path, kernel_dir=tmp_path, module_dirs=("drivers/nope",)))
    with pytest.raises(InputError):
        plan_build(_request(worktree, tmp_path, kernel_dir=tmp_path, module_dirs=()))


# --- diagnostics ----------------------------------------------------------------------------------


def test_diagnostics_map_to_worktree_paths_and_hunks(tmp_path: Path) -> None:
    worktree = tmp_path.resolve()
    spans = {
        "drivers/md/dm.c": [
            HunkSpan("drivers/md/dm.c#1", 10, 20),
            HunkSpan("drivers/md/dm.c#2", 40, 50),
        ]
    }

    error = parse_diagnostic(
        f"{worktree}/drivers/md/dm.c:45:12: error: expected ';' before '}}' token", worktree, spans
    )
    warning = parse_diagnostic("drivers/md/dm.c:5: warning: unused variable 'x'", worktree, spans)
    modpost = parse_diagnostic(
        'ERROR: modpost: "dm_bufio_new" [drivers/md/dm-snapshot.ko] undefined!', worktree
    )

    assert error is not None
    assert (error.severity, error.path, error.line, error.column) == (
        "error",
        "drivers/md/dm.c",
        45,
        12,
    )
    assert error.hunks == ("drivers/md/dm.c#2",)
    assert warning is not None
    assert (warning.severity, warning.line, warning.column, warning.hunks) == (
        "warning",
        5,
        None,
        (),
    )
    assert modpost is not None
    assert modpost.severity == "error"
    assert modpost.location == "modpost"
    assert parse_diagnostic("  CC [M]  drivers/md/dm.o", worktree) is None


# --- running (a fake make) ------------------------------------------------------------------------

FAILING_MAKE = """\
for arg in "$@"; do case $arg in M=*) dir=${arg#M=} ;; esac; done
echo "make: Entering directory '$PWD'"
echo "  CC [M]  $dir/dm.o"
echo "$dir/dm.c:3:1: error: expected ';' before '}' token" >&2
echo "make[2]: *** [scripts/Makefile.build:250: $dir/dm.o] Error 1" >&2
exit 2
"""

WORKING_MAKE = """\
for arg in "$@"; do case $arg in M=*) dir=${arg#M=} ;; esac; done
echo "  CC [M]  $dir/dm.o"
echo "  CC [M]  $dir/dm-table.o"
echo "  LD [M]  $dir/dm-mod.ko"
: > "$dir/dm-mod.ko"
echo "$dir/dm-mod.ko" > "$dir/modules.order"
"""


def test_failed_build_keeps_log_and_maps_errors(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    make = fake_command(tmp_path / "make", FAILING_MAKE)
    events: list[BuildProgress] = []
    spans = {"drivers/md/dm.c": [HunkSpan("drivers/md/dm.c#1", 1, 4)]}

    result = run_build(
        _request(worktree, tmp_path, make=str(make), kernel_dir=_fake_headers(tmp_path)),
        progress=events.append,
        hunk_map=spans,
    )

    assert not result.ok
    assert result.modules == ()
    assert [(e.path, e.line, e.hunks) for e in result.errors] == [
        ("drivers/md/dm.c", 3, ("drivers/md/dm.c#1",))
    ]
    assert result.steps[-1].returncode == 2
    log = result.log_path.read_text()
    assert "error: expected ';'" in log
    assert "# exit 2" in log
    assert events[-1].compiled == 1
    assert "make exited 2" in result.message
    assert "drivers/md/dm.c:3" in result.message


def test_successful_build_collects_modules_from_modules_order(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")
    (worktree / "drivers/md/stale.ko").write_bytes(b"")  # not in modules.order: not this build's
    make = fake_command(tmp_path / "make", WORKING_MAKE)

    result = run_build(
        _request(worktree, tmp_path, make=str(make), kernel_dir=_fake_headers(tmp_path))
    )

    assert result.ok
    assert result.modules == (worktree.resolve() / "drivers/md/dm-mod.ko",)
    assert result.relative_modules() == ("drivers/md/dm-mod.ko",)
    document = result.to_json()
    assert document["ok"] is True
    assert document["modules_relative"] == ["drivers/md/dm-mod.ko"]
    assert document["errors"] == []


# A make that "builds" a crafted module (a real ELF with .modinfo) and says it ran.
SIGNABLE_MAKE = """\
echo "make $*" >> "$CALLS"
for arg in "$@"; do case $arg in M=*) dir=${arg#M=} ;; esac; done
cp "$CRAFTED_KO" "$dir/dm-mod.ko"
echo "$dir/dm-mod.ko" > "$dir/modules.order"
"""


def _signable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    worktree = _module_tree(tmp_path / "wt")
    headers = signing_headers(tmp_path / "headers")
    (headers / "Makefile").write_text("all:\n")
    make = fake_command(tmp_path / "make", SIGNABLE_MAKE)
    crafted = craft_module(tmp_path / "crafted.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))
    monkeypatch.setenv("CRAFTED_KO", str(crafted))
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    return worktree, headers, make


@needs_sign_file
def test_build_signs_every_module_with_the_given_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree, headers, make = _signable(tmp_path, monkeypatch)
    key, cert = throwaway_key(tmp_path / "key", "build signer")

    result = run_build(
        _request(
            worktree,
            tmp_path,
            make=str(make),
            kernel_dir=headers,
            sign_key=str(key),
            sign_cert=cert,
        )
    )

    assert result.ok
    (module,) = result.modules
    signature = find_signature(module.read_bytes())
    assert signature is not None
    assert modinfo_field(module, "signer") == "build signer"
    assert result.signer is not None
    assert result.to_json()["signing"]["hash"] == "sha256"
    assert "and signed them" in result.message


@needs_sign_file
def test_a_key_that_cannot_sign_stops_before_make_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree, headers, make = _signable(tmp_path, monkeypatch)
    key, _cert = throwaway_key(tmp_path / "one")
    _key, other_cert = throwaway_key(tmp_path / "two")

    with pytest.raises(InputError, match="cannot sign"):
        run_build(
            _request(
                worktree,
                tmp_path,
                make=str(make),
                kernel_dir=headers,
                sign_key=str(key),
                sign_cert=other_cert,
            )
        )
    with pytest.raises(InputError, match="go together"):
        run_build(_request(worktree, tmp_path, make=str(make), kernel_dir=headers, sign_key="k"))

    assert not (tmp_path / "calls").exists()


def test_collect_modules_without_modules_order_globs(tmp_path: Path) -> None:
    (tmp_path / "m/sub").mkdir(parents=True)
    (tmp_path / "m/a.ko").write_bytes(b"")
    (tmp_path / "m/sub/b.ko").write_bytes(b"")

    assert collect_modules(tmp_path, ["m"]) == (tmp_path / "m/a.ko", tmp_path / "m/sub/b.ko")


def test_missing_make_is_an_input_error(tmp_path: Path) -> None:
    worktree = _module_tree(tmp_path / "wt")

    with pytest.raises(InputError):
        run_build(_request(worktree, tmp_path, make=str(tmp_path / "no-make"), kernel_dir=tmp_path))


def test_cli_worktree_build_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worktree = _module_tree(tmp_path / "wt")
    headers = _fake_headers(tmp_path)
    make = fake_command(tmp_path / "fake-make", WORKING_MAKE)
    # --make-arg cannot replace make itself; point PATH at a directory whose make is the fake.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "make").symlink_to(make)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
        code = main(
            [
                "build",
                "--worktree",
                str(worktree),
                "--dir",
                "drivers/md",
                "--kernel-dir",
                str(headers),
                "--json",
            ]
        )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["modules_relative"] == ["drivers/md/dm-mod.ko"]
    assert Path(document["log"]).is_file()


# --- for real: Debian's cloud headers -------------------------------------------------------------


@needs_headers
def test_real_out_of_tree_build_then_preflight_then_package(tmp_path: Path) -> None:
    assert HEADERS is not None
    worktree = tmp_path / "worktree"
    shutil.copytree(FIXTURES / "module-hello", worktree / "hello")

    result = run_build(
        BuildRequest(
            worktree=worktree,
            module_dirs=("hello",),
            log_path=tmp_path / "build.log",
            kernel_dir=HEADERS,
        )
    )

    assert result.ok, result.log_path.read_text()[-3000:]
    assert result.relative_modules() == ("hello/hello.ko",)
    ko = result.modules[0]

    # Debian's cloud kernel refuses unsigned modules under Secure Boot: say it is off here.
    report = run_preflight(ko=ko, kernel_dir=HEADERS, secure_boot=False)
    assert report.ok, report.failures
    vermagic = report.module.vermagic
    assert vermagic is not None
    assert vermagic.release == HEADERS.name.removeprefix("linux-headers-")

    package = package_modules(result.modules, tmp_path / "hello.tgz", base=worktree)
    manifest = read_manifest(package.archive)
    (entry,) = manifest["modules"]
    assert entry["path"] == f"lib/modules/{vermagic.release}/updates/hello/hello.ko"
    assert entry["sha256"] == hashlib.sha256(ko.read_bytes()).hexdigest()
    assert entry["vermagic"] == vermagic.text
    assert entry["name"] == "hello"


@needs_headers
def test_real_compile_error_maps_to_file_line_and_hunk(tmp_path: Path) -> None:
    assert HEADERS is not None
    worktree = tmp_path / "worktree"
    shutil.copytree(FIXTURES / "module-hello", worktree / "hello")
    source = worktree / "hello/hello.c"
    lines = source.read_text().splitlines()
    broken = next(i for i, line in enumerate(lines) if "return 0;" in line)
    lines[broken] = "\treturn 0"  # missing ';'
    source.write_text("\n".join(lines) + "\n")

    result = run_build(
        BuildRequest(
            worktree=worktree,
            module_dirs=("hello",),
            log_path=tmp_path / "build.log",
            kernel_dir=HEADERS,
        ),
        hunk_map={"hello/hello.c": [HunkSpan("hello/hello.c#1", broken, broken + 2)]},
    )

    assert not result.ok
    assert result.errors, result.log_path.read_text()[-3000:]
    first = result.errors[0]
    assert first.path == "hello/hello.c"
    assert first.line is not None
    assert broken + 1 <= first.line <= broken + 2
    assert first.hunks == ("hello/hello.c#1",)


@needs_headers
@needs_sign_file
def test_real_build_signs_with_the_headers_sign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert HEADERS is not None
    worktree = tmp_path / "hello"
    shutil.copytree(FIXTURES / "module-hello", worktree)
    key, cert = throwaway_key(tmp_path / "key", "hello signer")

    code = main(
        [
            "build",
            "--worktree",
            str(worktree),
            "--kernel-dir",
            str(HEADERS),
            "--sign-key",
            str(key),
            "--sign-cert",
            str(cert),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert "signed with CN = hello signer (sha256)" in out
    assert modinfo_field(worktree / "hello.ko", "signer") == "hello signer"
    assert modinfo_field(worktree / "hello.ko", "sig_hashalgo") == "sha256"


@needs_headers
def test_real_build_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert HEADERS is not None
    worktree = tmp_path / "hello"
    shutil.copytree(FIXTURES / "module-hello", worktree)

    code = main(["build", "--worktree", str(worktree), "--kernel-dir", str(HEADERS), "--json"])

    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
    assert document["modules_relative"] == ["hello.ko"]


def test_fake_module_sanity(tmp_path: Path) -> None:
    """The hand-made modules the package tests use carry the cloud vermagic."""
    path = craft_module(tmp_path / "a.ko", (f"vermagic={CLOUD_VERMAGIC}",))
    assert path.read_bytes().startswith(b"\x7fELF")


# --- with a real session (the workspace's SessionStore behind the gate) ---------------------------

FIXTURE_MAKE = """\
for arg in "$@"; do case $arg in M=*) dir=${arg#M=} ;; esac; done
echo "  CC [M]  $dir/dm-stripe.o"
cp "$CRAFTED_KO" "$dir/dm-mod.ko"
echo "$dir/dm-mod.ko" > "$dir/modules.order"
"""


def test_session_gate_then_build_then_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from patchsmith.cli.common import read_index
    from patchsmith.model import Resolution
    from patchsmith.patchfile.select import Selection, select
    from patchsmith.workspace import git
    from patchsmith.workspace.apply import ApplyOptions, apply_patch
    from patchsmith.workspace.session import SessionStore, session_path

    tree = tmp_path / "vendor"
    shutil.copytree(CHECK / "conflict/tree", tree)
    index = read_index([str(CHECK / "conflict/patch.diff")])
    session = apply_patch(index, select(index, Selection()), tree, ApplyOptions())
    worktree = Path(session.worktree)
    headers = _fake_headers(tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_command(bindir / "make", FIXTURE_MAKE)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv(
        "CRAFTED_KO",
        str(craft_module(tmp_path / "dm-mod.ko", ("name=dm_mod", f"vermagic={CLOUD_VERMAGIC}"))),
    )
    build = [
        "build",
        "--session",
        str(worktree),
        "--dir",
        "drivers/md",
        "--kernel-dir",
        str(headers),
    ]

    closed = main([*build, "--json"])

    document = json.loads(capsys.readouterr().out)
    assert closed == 1
    assert document["gate"] == "closed"
    assert any(item.startswith("hunk: drivers/md/dm-stripe.c#") for item in document["open_items"])
    assert any(item.startswith("reject: ") for item in document["open_items"])

    store = SessionStore(session_path(git.git_dir_of(worktree)))
    for hunk in store.load().open_hunks:
        store.resolve(hunk.id, Resolution.DROPPED, reason="the vendor's code stays")

    opened = main(build)

    out = capsys.readouterr().out
    assert opened == 0, out
    assert "drivers/md/dm-mod.ko" in out
    assert (store.path.parent / "build.json").is_file()
    assert (store.path.parent / "build.log").is_file()

    monkeypatch.chdir(tmp_path)
    packaged = main(["package", "--session", str(worktree), "--json"])

    manifest = json.loads(capsys.readouterr().out)
    assert packaged == 0
    assert [m["path"] for m in manifest["modules"]] == [
        "lib/modules/6.1.0-56-cloud-amd64/updates/drivers/md/dm-mod.ko"
    ]
    assert Path(manifest["archive"]).parent == tmp_path
    # The manifest traces the package back to the session: the patch and every resolution.
    session_now = store.load()
    assert manifest["patch"] == {"name": session_now.patch.name, "sha256": session_now.patch.sha256}
    assert manifest["commit"] == git.head(worktree)
    dropped = [r for r in manifest["resolutions"] if r["resolution"] == "dropped"]
    assert dropped
    assert {r["reason"] for r in dropped} == {"the vendor's code stays"}
    assert manifest["counts"]["dropped"] == len(dropped)

    # deb and dkms need the version: patch.diff names no sub-release and has no Makefile diff.
    unknown = main(["package", "--session", str(worktree), "--format", "deb"])
    assert unknown == 2
    assert "--sub-release" in capsys.readouterr().err

    (tmp_path / "out").mkdir()
    dkms = main(
        [
            "package",
            "--session",
            str(worktree),
            "--format",
            "dkms",
            "--sub-release",
            "6.1.999",
            "-o",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert dkms == 0, document
    tree = Path(document["package"]["output"])
    assert tree == tmp_path / "out/patchsmith-dm-mod-6.1.999-1"  # one module: its name
    # The sources are the worktree's: the resolved file, not the vendor tree's.
    assert (tree / "drivers/md/dm-stripe.c").read_bytes() == (
        worktree / "drivers/md/dm-stripe.c"
    ).read_bytes()
    assert 'BUILT_MODULE_NAME[0]="dm-mod"' in (tree / "dkms.conf").read_text()


def test_cli_build_without_a_session_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    code = main(["build"])

    assert code == 2
    assert "--worktree" in capsys.readouterr().err

"""End to end, for real: build a vendor tree's ``drivers/md`` against Debian's cloud headers,
sign it, and ship it the three ways.

    .venv/bin/python benchmarks/e2e_drivers_md.py SCENARIO_DIR [--kernel-dir DIR] [-j N]
        [--image DIR] [--package OUT.tgz] [--apply] [--ship] [--json]

SCENARIO_DIR is what ``../shared/realdata/make-scenario`` writes; its ``vendor-old/`` is the
Debian-patched tree. The vendor tree is never written to: ``drivers/md`` is copied into a
scratch worktree (the same shape as the sparse worktree ``patchsmith apply --only drivers/md``
makes), then built through :func:`patchsmith.ship.build.run_build` out of tree, which runs
``make -C /usr/src/linux-headers-RELEASE M=WORKTREE/drivers/md modules``. It prints the number of
modules (about 36 with the cloud config, ``dm-mod.ko`` among them), the time, and whether every
module's vermagic equals the cloud kernel's (the headers' ``utsrelease.h``, and with ``--image``
a real module of the extracted ``linux-image-*-cloud-amd64``). ``--package`` also packages them.

``--ship`` does the shipping end as a user would, and checks each result with the tools the
target uses:

* the build signs every module with a throwaway key (made with openssl now) through the headers'
  own ``scripts/sign-file``; every module must end in a PKCS#7 block and ``modinfo`` must name
  the key as signer;
* ``package`` writes the ``.tgz`` (its install.sh is run with ``--dry-run`` into a scratch
  root), the ``.deb`` (``dpkg --contents`` must list every module under
  ``/lib/modules/RELEASE/updates/``, ``lintian`` must report no error) and the DKMS tree, which
  the real ``dkms add`` and ``dkms build`` build again in scratch trees (never ``/var/lib/dkms``
  or ``/usr/src``) into as many modules, signed by DKMS with the same throwaway key.

With ``--apply`` the manifests carry the session's patch, commit and resolutions; the sub-release
(the Debian and DKMS version) is read from ``upstream.patch``'s top-level Makefile diff.

Two ways to get the worktree (:func:`prepare_worktree` is the hook):

* default: ``drivers/md`` of ``vendor-old/`` as it is (what the vendor ships today);
* ``--apply``: the whole pipeline. ``apply --only drivers/md`` of ``upstream.patch`` on
  ``vendor-old/`` (a worktree of patchsmith's own), every open hunk settled the way a hurried
  person would in the TUI (a clean proposal is accepted, anything else dropped with a reason;
  a real run resolves by hand), the build gate asked, the worktree filled in, then the same
  build. The counts of each are printed.

Opt-in: needs the headers package (``.ci/install-kernel-headers``) and a scenario; about 80 s on
2 cores (``--ship`` about twice that: DKMS builds again). Never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hermetic import isolate

from patchsmith.ship.build import BuildProgress, BuildRequest, run_build
from patchsmith.ship.elfinfo import read_module
from patchsmith.ship.package import package_modules
from patchsmith.ship.preflight import pick_module, preflight, probe_compiler, read_tree

MODULE_DIR = "drivers/md"


def find_cloud_headers() -> Path | None:
    """The newest ``/usr/src/linux-headers-*-cloud-amd64`` (install-kernel-headers puts it)."""
    candidates = sorted(
        Path("/usr/src").glob("linux-headers-*-cloud-amd64"),
        key=lambda path: [
            int(p) if p.isdigit() else p for p in path.name.replace("-", ".").split(".")
        ],
    )
    return candidates[-1] if candidates else None


def prepare_worktree(
    scenario: Path, scratch: Path, apply: bool
) -> tuple[Path, dict[str, Any], Any]:
    """The worktree to build, what it took to get there, and the session's provenance (for the
    manifests; ``None`` without --apply)."""
    source = scenario / "vendor-old" / MODULE_DIR
    if not source.is_dir():
        raise SystemExit(f"{source}: not found; is {scenario} a make-scenario directory?")
    if apply:
        return apply_and_resolve(scenario, scratch)
    worktree = scratch / "worktree"
    shutil.copytree(source, worktree / MODULE_DIR, symlinks=True)
    return worktree, {"mode": "vendor tree as is"}, None


def apply_and_resolve(scenario: Path, scratch: Path) -> tuple[Path, dict[str, Any], Any]:
    """apply --only drivers/md, settle every open hunk, pass the gate, fill in the worktree."""
    from patchsmith.cli.common import read_index
    from patchsmith.cli.package import session_provenance
    from patchsmith.model import Resolution
    from patchsmith.patchfile.select import Selection, select
    from patchsmith.ship.build import check_gate
    from patchsmith.workspace import git
    from patchsmith.workspace.apply import ApplyOptions, apply_patch, materialise
    from patchsmith.workspace.session import SessionStore, session_path

    # patchsmith keeps its repository of a plain tree under XDG_DATA_HOME: keep it in scratch.
    os.environ["XDG_DATA_HOME"] = str(scratch / "data")
    started = time.monotonic()
    index = read_index([str(scenario / "upstream.patch")])
    selection = select(index, Selection(only=(MODULE_DIR,)))
    session = apply_patch(
        index,
        selection,
        scenario / "vendor-old",
        ApplyOptions(worktree=scratch / "worktree", name="e2e-drivers-md", use_memory=False),
    )
    applied = time.monotonic() - started
    worktree = Path(session.worktree)
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    accepted = dropped = 0
    for hunk in store.load().open_hunks:
        if hunk.proposal is not None and not hunk.proposal_conflicts:
            store.resolve(hunk.id, Resolution.ACCEPTED, remember=False)
            accepted += 1
        else:
            store.resolve(
                hunk.id,
                Resolution.DROPPED,
                reason="benchmark: no clean proposal; a person would resolve this",
                remember=False,
            )
            dropped += 1
    check_gate(store)  # raises GateError if anything is still open
    started = time.monotonic()
    materialised = materialise(store.load())
    counts = store.load().counts
    provenance = session_provenance(store, worktree)
    return (
        worktree,
        {
            "mode": "apply --only drivers/md, resolve, gate, materialise",
            "hunks": len(session.hunks),
            "statuses": {k: v for k, v in counts.items() if k not in ("open",)},
            "accepted": accepted,
            "dropped": dropped,
            "apply_seconds": round(applied, 1),
            "materialise_seconds": round(time.monotonic() - started, 1),
            "files_materialised": materialised,
        },
        provenance,
    )


def _timed(report: dict[str, Any], name: str, started: float) -> None:
    report.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)


def ship(
    scenario: Path,
    scratch: Path,
    kernel_dir: Path,
    worktree: Path,
    modules: tuple[Path, ...],
    provenance: Any,
    key: Path,
    cert: Path,
) -> dict[str, Any]:
    """Package the signed modules three ways and check each with the target's own tools."""
    from patchsmith.ship.debian import DebianOptions, package_deb, sub_release_of_patch
    from patchsmith.ship.dkms import package_dkms
    from patchsmith.ship.elfinfo import find_signature
    from patchsmith.ship.package import Provenance
    from patchsmith.ship.signing import module_signer

    report: dict[str, Any] = {}
    patch = scenario / "upstream.patch"
    sub_release = sub_release_of_patch(patch.name, patch.read_bytes())
    if sub_release is None:
        raise SystemExit(f"{patch}: no top-level Makefile diff to read the sub-release from")
    report["sub_release"] = sub_release
    provenance = provenance or Provenance(patch_name=patch.name, sub_release=sub_release)
    signed = [path for path in modules if find_signature(path.read_bytes()) is not None]
    signers = {module_signer(path) for path in modules}
    report["signed"] = f"{len(signed)} of {len(modules)}"
    report["signers"] = sorted(str(name) for name in signers)
    out = scratch / "out"
    out.mkdir()

    started = time.monotonic()
    tgz = package_modules(modules, out, base=worktree, provenance=provenance)
    _timed(report, "package_tgz", started)
    unpacked = scratch / "tgz"
    unpacked.mkdir()
    subprocess.run(["tar", "xzf", str(tgz.output), "-C", str(unpacked)], check=True)
    (scratch / "target root").mkdir()
    dry = subprocess.run(
        [
            "sh",
            "-e",
            str(unpacked / tgz.name / "install.sh"),
            "--dry-run",
            "--root",
            str(scratch / "target root"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report["tgz"] = {
        "file": tgz.output.name,
        "bytes": tgz.output.stat().st_size,
        "modules": len(tgz.modules),
        "install_dry_run": dry.stdout.strip().splitlines()[-1]
        if dry.returncode == 0
        else dry.stderr,
    }

    started = time.monotonic()
    deb = package_deb(
        modules,
        out,
        DebianOptions(maintainer="patchsmith e2e <e2e@example.org>", sub_release=sub_release),
        base=worktree,
        provenance=provenance,
    )
    _timed(report, "package_deb", started)
    contents = subprocess.run(
        ["dpkg", "--contents", str(deb.output)], capture_output=True, text=True, check=True
    ).stdout
    listed = [line.split()[-1] for line in contents.splitlines() if line.endswith(".ko")]
    updates = f"./lib/modules/{deb.release}/updates/{MODULE_DIR}/"
    depends = subprocess.run(
        ["dpkg-deb", "-f", str(deb.output), "Depends"], capture_output=True, text=True, check=True
    ).stdout.strip()
    report["deb"] = {
        "file": deb.output.name,
        "bytes": deb.output.stat().st_size,
        "modules_listed": len(listed),
        "all_under_updates": bool(listed) and all(path.startswith(updates) for path in listed),
        "depends": depends,
    }
    if shutil.which("lintian"):
        started = time.monotonic()
        lintian = subprocess.run(
            ["lintian", "--allow-root", str(deb.output)],
            capture_output=True,
            text=True,
            check=False,
        )
        _timed(report, "lintian", started)
        tags = lintian.stdout.splitlines()
        report["deb"]["lintian_errors"] = [t for t in tags if t.startswith("E:")]
        report["deb"]["lintian_warnings"] = [t for t in tags if t.startswith("W:")]

    started = time.monotonic()
    tree = package_dkms(
        modules,
        out,
        base=worktree,
        dirs=(MODULE_DIR,),
        sub_release=sub_release,
        provenance=provenance,
    )
    _timed(report, "package_dkms", started)
    report["dkms"] = {
        "folder": tree.output.name,
        **dkms_build(scratch, tree, kernel_dir, key, cert),
    }
    _timed(report, "dkms_build", started)
    report["dkms"]["modules_expected"] = len(modules)
    return report


def dkms_build(scratch: Path, tree: Any, kernel_dir: Path, key: Path, cert: Path) -> dict[str, Any]:
    """The real dkms add and build of the tree, every tree DKMS writes under ``scratch``."""
    from patchsmith.ship.elfinfo import read_module

    dkms = shutil.which("dkms") or "/usr/sbin/dkms"
    release = kernel_dir.name.removeprefix("linux-headers-")
    trees = ["--dkmstree", str(scratch / "dkms-tree"), "--sourcetree", str(scratch / "dkms-src")]
    (scratch / "dkms-tree").mkdir()
    (scratch / "dkms-src").mkdir()
    env = dict(
        os.environ,
        sign_file=str(kernel_dir / "scripts/sign-file"),
        mok_signing_key=str(key),
        mok_certificate=str(cert),
        TMPDIR=str(scratch),
    )
    added = subprocess.run(
        [dkms, "add", str(tree.output), *trees], env=env, capture_output=True, text=True
    )
    if added.returncode != 0:
        return {"added": False, "output": added.stdout + added.stderr}
    built = subprocess.run(
        [
            dkms,
            "build",
            "-m",
            tree.name,
            "-v",
            tree.version,
            "-k",
            release,
            "--kernelsourcedir",
            str(kernel_dir),
            *trees,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    made = sorted((scratch / "dkms-tree").rglob("module/*.ko"))
    signed = sum(1 for path in made if read_module(path).signature is not None)
    return {
        "added": True,
        "built": built.returncode == 0,
        "modules_built": len(made),
        "modules_signed": signed,
        "output": "" if built.returncode == 0 else (built.stdout + built.stderr)[-2000:],
    }


def throwaway_key(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "e2e.priv", directory / "e2e.der"
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
            "1",
            "-subj",
            "/CN=patchsmith e2e throwaway key/",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--kernel-dir", type=Path, help="default: newest cloud-amd64 headers")
    parser.add_argument("-j", "--jobs", type=int, default=None)
    parser.add_argument("--image", type=Path, help="extracted linux-image package, to compare")
    parser.add_argument("--package", type=Path, help="also write the module package here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--apply", action="store_true", help="apply upstream.patch first (the whole pipeline)"
    )
    parser.add_argument(
        "--ship",
        action="store_true",
        help="sign with a throwaway key, package as tgz, deb and DKMS, check each (dpkg "
        "--contents, lintian, dkms build)",
    )
    args = parser.parse_args(argv)

    kernel_dir = args.kernel_dir or find_cloud_headers()
    if kernel_dir is None:
        print(
            "no /usr/src/linux-headers-*-cloud-amd64; run .ci/install-kernel-headers",
            file=sys.stderr,
        )
        return 2
    tree = read_tree(kernel_dir, kind="kernel-dir")
    with tempfile.TemporaryDirectory(prefix="patchsmith-e2e-") as scratch_name:
        scratch = Path(scratch_name)
        worktree, pipeline, provenance = prepare_worktree(args.scenario, scratch, args.apply)
        key = cert = None
        if args.ship:
            key, cert = throwaway_key(scratch)
        last = [0]

        def progress(event: BuildProgress) -> None:
            if event.compiled != last[0] and event.compiled % 25 == 0 and not args.json:
                print(f"  compiled {event.compiled} objects", file=sys.stderr)
            last[0] = event.compiled

        result = run_build(
            BuildRequest(
                worktree=worktree,
                module_dirs=(MODULE_DIR,),
                log_path=scratch / "build.log",
                kernel_dir=kernel_dir,
                jobs=args.jobs,
                sign_key=str(key) if key else None,
                sign_cert=cert,
            ),
            progress=progress,
        )
        vermagics = {path.name: read_module(path).vermagic for path in result.modules}
        releases = {v.release for v in vermagics.values() if v is not None}
        texts = {v.text for v in vermagics.values() if v is not None}
        image_vermagic = None
        image_ok = None
        if args.image is not None:
            modules_dir = next((args.image / "lib/modules").iterdir())
            target = read_module(pick_module(modules_dir, name="dm-mod"))
            image_vermagic = target.vermagic.text if target.vermagic else None
            image_ok = texts == {image_vermagic}
            check = preflight(target, tree, probe_compiler(tree.default_cc))
            preflight_ok = check.ok
        else:
            preflight_ok = None
        package = None
        if args.package is not None and result.modules:
            package = package_modules(result.modules, args.package, base=worktree)
        shipped = None
        if args.ship and result.ok and key is not None and cert is not None:
            shipped = ship(
                args.scenario,
                scratch,
                kernel_dir,
                worktree,
                result.modules,
                provenance,
                key,
                cert,
            )
        if not result.ok:
            sys.stderr.write(result.log_path.read_text(errors="replace")[-4000:])
        report = {
            "ok": result.ok,
            "pipeline": pipeline,
            "kernel_dir": str(kernel_dir),
            "kernel_release": tree.release,
            "modules": len(result.modules),
            "dm_mod": any(path.name == "dm-mod.ko" for path in result.modules),
            "seconds": round(result.duration, 1),
            "errors": len(result.errors),
            "warnings": len(result.warnings),
            "vermagic": sorted(texts),
            "vermagic_matches_headers": releases == {tree.release},
            "image_vermagic": image_vermagic,
            "vermagic_matches_image": image_ok,
            "preflight_ok": preflight_ok,
            "package": str(package.archive) if package else None,
            "module_names": sorted(vermagics),
            "ship": shipped,
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['modules']} modules built in {report['seconds']} s against {kernel_dir} "
            f"(dm-mod.ko: {'yes' if report['dm_mod'] else 'no'}; errors {report['errors']}, "
            f"warnings {report['warnings']})"
        )
        print(f"worktree: {json.dumps(pipeline)}")
        print(f"vermagic: {', '.join(report['vermagic'])}")
        print(f"matches the headers' release: {report['vermagic_matches_headers']}")
        if image_vermagic is not None:
            print(f"matches the cloud image's dm-mod.ko ({image_vermagic}): {image_ok}")
            print(f"preflight against the image: {'pass' if preflight_ok else 'FAIL'}")
        if shipped is not None:
            print(f"shipped: {json.dumps(shipped, indent=2)}")
    ok = result.ok and report["vermagic_matches_headers"]
    if shipped is not None:
        ok = ok and shipped_ok(shipped, len(result.modules))
    return 0 if ok else 1


def shipped_ok(shipped: dict[str, Any], count: int) -> bool:
    """Every check of --ship held."""
    deb = shipped["deb"]
    dkms = shipped["dkms"]
    return (
        shipped["signed"] == f"{count} of {count}"
        and shipped["signers"] == ["patchsmith e2e throwaway key"]
        and shipped["tgz"]["modules"] == count
        and deb["modules_listed"] == count
        and deb["all_under_updates"]
        and not deb.get("lintian_errors")
        and dkms.get("built") is True
        and dkms["modules_built"] == count
        and dkms["modules_signed"] == count
    )


if __name__ == "__main__":
    isolate()
    sys.exit(main())

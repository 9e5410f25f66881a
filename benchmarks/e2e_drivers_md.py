"""End to end, for real: build a vendor tree's ``drivers/md`` against Debian's cloud headers.

    .venv/bin/python benchmarks/e2e_drivers_md.py SCENARIO_DIR [--kernel-dir DIR] [-j N]
        [--image DIR] [--package OUT.tgz] [--apply] [--json]

SCENARIO_DIR is what ``../shared/realdata/make-scenario`` writes; its ``vendor-old/`` is the
Debian-patched tree. The vendor tree is never written to: ``drivers/md`` is copied into a
scratch worktree (the same shape as the sparse worktree ``patchsmith apply --only drivers/md``
makes), then built through :func:`patchsmith.kernel.build.run_build` out of tree, which runs
``make -C /usr/src/linux-headers-RELEASE M=WORKTREE/drivers/md modules``. It prints the number of
modules (about 36 with the cloud config, ``dm-mod.ko`` among them), the time, and whether every
module's vermagic equals the cloud kernel's (the headers' ``utsrelease.h``, and with ``--image``
a real module of the extracted ``linux-image-*-cloud-amd64``). ``--package`` also packages them.

Two ways to get the worktree (:func:`prepare_worktree` is the hook):

* default: ``drivers/md`` of ``vendor-old/`` as it is (what the vendor ships today);
* ``--apply``: the whole pipeline. ``apply --only drivers/md`` of ``upstream.patch`` on
  ``vendor-old/`` (a worktree of patchsmith's own), every open hunk settled the way a hurried
  person would in the TUI (a clean proposal is accepted, anything else dropped with a reason;
  a real run resolves by hand), the build gate asked, the worktree filled in, then the same
  build. The counts of each are printed.

Opt-in: needs the headers package (``.ci/install-kernel-headers``) and a scenario; about 80 s on
2 cores. Never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from patchsmith.kernel.build import BuildProgress, BuildRequest, run_build
from patchsmith.kernel.elfinfo import read_module
from patchsmith.kernel.package import package_modules
from patchsmith.kernel.preflight import pick_module, preflight, probe_compiler, read_tree

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


def prepare_worktree(scenario: Path, scratch: Path, apply: bool) -> tuple[Path, dict[str, Any]]:
    """The worktree to build, and what it took to get there."""
    source = scenario / "vendor-old" / MODULE_DIR
    if not source.is_dir():
        raise SystemExit(f"{source}: not found; is {scenario} a make-scenario directory?")
    if apply:
        return apply_and_resolve(scenario, scratch)
    worktree = scratch / "worktree"
    shutil.copytree(source, worktree / MODULE_DIR, symlinks=True)
    return worktree, {"mode": "vendor tree as is"}


def apply_and_resolve(scenario: Path, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """apply --only drivers/md, settle every open hunk, pass the gate, fill in the worktree."""
    from patchsmith.cli.common import read_index
    from patchsmith.kernel.build import check_gate
    from patchsmith.model import Resolution
    from patchsmith.patchfile.select import Selection, select
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
    return worktree, {
        "mode": "apply --only drivers/md, resolve, gate, materialise",
        "hunks": len(session.hunks),
        "statuses": {k: v for k, v in counts.items() if k not in ("open",)},
        "accepted": accepted,
        "dropped": dropped,
        "apply_seconds": round(applied, 1),
        "materialise_seconds": round(time.monotonic() - started, 1),
        "files_materialised": materialised,
    }


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
        worktree, pipeline = prepare_worktree(args.scenario, scratch, args.apply)
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
    return 0 if result.ok and report["vermagic_matches_headers"] else 1


if __name__ == "__main__":
    sys.exit(main())

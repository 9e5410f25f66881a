"""Where ``patchsmith demo`` finds its scenario: the checkout's ``fixtures/demo``, or the copy an
installed patchsmith carries.

A wheel has no ``fixtures/`` folder. ``setup.py`` packs the scenario into one archive inside the
package at build time (:func:`write_archive`, ``patchsmith/demo-scenario.tar.gz``): one file of
package data rather than a tree of C sources and Makefiles spread over data folders, and
``fixtures/demo`` stays the only copy in the repository. :func:`copy_scenario` takes the
checkout's folder when there is one (a developer's edits show at once), the archive otherwise.

Only ``patchsmith demo`` and the build hook use this module.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from importlib import resources
from pathlib import Path, PurePosixPath

from patchsmith.errors import InputError

CHECKOUT = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
ARCHIVE = "demo-scenario.tar.gz"
"""The archive's name inside the ``patchsmith`` package."""
ENTRIES = ("vendor", "vanilla", "patch-6.1.999.diff", "config", "README.md")
"""What the demo copies: the two trees, the patch, the .config and the scenario's README."""


def copy_scenario(work: Path) -> str:
    """Put the scenario's :data:`ENTRIES` into ``work``; say where they came from.

    Raises :class:`InputError` when neither the checkout's folder nor the archive is there, and
    lets ``OSError`` through for the caller to report (a folder it may not write).
    """
    if CHECKOUT.is_dir():
        for name in ENTRIES:
            source = CHECKOUT / name
            if source.is_dir():
                shutil.copytree(source, work / name, dirs_exist_ok=True, symlinks=True)
            else:
                shutil.copy2(source, work / name)
        return str(CHECKOUT)
    archive = resources.files("patchsmith") / ARCHIVE
    if not archive.is_file():
        raise InputError(
            "the demo scenario is missing: neither fixtures/demo of a checkout nor "
            f"patchsmith/{ARCHIVE} of an installed package is there",
            hint="reinstall patchsmith from its wheel or sdist, or run 'make demo' in a checkout",
        )
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as bundle:
        _extract(bundle, work)
    return f"patchsmith/{ARCHIVE}"


def _extract(bundle: tarfile.TarFile, work: Path) -> None:
    """Extract regular files and folders under ``work`` only (Python's "data" filter, or the
    same rule by hand where this Python's tarfile has no filters)."""
    members = bundle.getmembers()
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise InputError(
                f"patchsmith/{ARCHIVE} holds {member.name!r}, which a demo scenario never does",
                hint="the installed package is damaged: reinstall patchsmith",
            )
    if hasattr(tarfile, "data_filter"):
        bundle.extractall(work, members=members, filter="data")
    else:  # Python 3.11 before 3.11.4; every member was checked above
        bundle.extractall(work, members=members)


def write_archive(source: Path, target: Path) -> None:
    """Pack :data:`ENTRIES` of ``source`` into ``target`` (gzip'd tar), the same bytes on every
    build: names sorted, times, owners and the gzip header fixed, modes as in the checkout."""

    def normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    paths: list[Path] = []
    for name in ENTRIES:
        top = source / name
        paths.append(top)
        if top.is_dir():
            paths.extend(sorted(top.rglob("*")))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as bundle:
        for path in paths:
            arcname = path.relative_to(source).as_posix()
            bundle.add(path, arcname=arcname, recursive=False, filter=normalised)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as packed:
        packed.write(buffer.getvalue())

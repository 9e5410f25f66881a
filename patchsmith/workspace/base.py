"""The vanilla base: reading the files of the tree a patch was made against (``--base``).

A base is a directory (an unpacked vanilla tree), a tarball (``linux-6.1.180.tar.xz``) or a git
ref in the tree's own repository (``v6.1.180``). Apply reads from it the vanilla version of the
files the patch touches, for true 3-way proposals and for clearing flags the engine raised on a
vendor's neighbourhood that is vanilla's. It is only ever read, and a directory is read as the
engine reads the tree (:mod:`patchsmith.engine.tree`: no symlink followed).

Depends on :mod:`patchsmith.workspace.git`, :mod:`patchsmith.engine.tree` and
:mod:`patchsmith.errors`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path

from patchsmith.engine.tree import Tree
from patchsmith.errors import UsageError
from patchsmith.workspace import git


class VanillaBase:
    """Reads files of the vanilla tree named by ``--base``: a directory, a tarball, a git ref."""

    def __init__(self, spec: str, tree_repo: Path | None) -> None:
        self.spec = spec
        self.directory: Path | None = None
        self.tarball: Path | None = None
        self.ref: str | None = None
        self.repo = tree_repo
        path = Path(spec)
        if path.is_dir():
            self.directory = path
        elif path.is_file():
            self.tarball = path
        elif tree_repo is not None and _ref_ok(tree_repo, spec):
            self.ref = spec
        else:
            raise UsageError(
                f"--base {spec}: not a directory, a tarball, or a git ref of the tree",
                hint="pass the unpacked vanilla tree, its tarball (linux-6.1.180.tar.xz) or a "
                "ref like v6.1.180 when --tree is a git repository",
            )
        self._members: dict[str, bytes] | None = None

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """The vanilla bytes of each path (``None`` when the vanilla tree lacks it)."""
        if self.directory is not None:
            # As the engine reads it: no link followed, so nothing from outside the vanilla
            # tree ends up in a proposal or a report.
            view = Tree(self.directory, what="the vanilla tree", option="--base")
            return {path: view.read(path) for path in paths}
        if self.ref is not None:
            assert self.repo is not None
            return {p: git.show_file(self.repo, self.ref, p) for p in paths}
        return self._from_tarball(paths)

    def _from_tarball(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        assert self.tarball is not None
        wanted = set(paths)
        found: dict[str, bytes | None] = dict.fromkeys(paths)
        try:
            with tarfile.open(self.tarball, "r:*") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    name = member.name.lstrip("./")
                    relative = name.split("/", 1)[1] if "/" in name else name
                    for candidate in (relative, name):
                        if candidate in wanted and found[candidate] is None:
                            handle = archive.extractfile(member)
                            if handle is not None:
                                found[candidate] = handle.read()
        except (tarfile.TarError, OSError) as error:
            raise UsageError(f"--base {self.spec}: cannot read the tarball: {error}") from error
        return found


def _ref_ok(repo: Path, ref: str) -> bool:
    return git.run_git(["rev-parse", "--verify", "--quiet", ref], cwd=repo, check=False).code == 0

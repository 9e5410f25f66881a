"""The vanilla base: reading the files of the tree a patch was made against (``--base``).

A base is a directory (an unpacked vanilla tree), a tarball (``linux-6.1.180.tar.xz``) or a git
ref in the tree's own repository (``v6.1.180``). Apply reads from it the vanilla version of the
files the patch touches, for true 3-way proposals and for clearing flags the engine raised on a
vendor's neighbourhood that is vanilla's. It is only ever read, and a directory is read as the
engine reads the tree (:mod:`patchsmith.engine.tree`: no symlink followed).

A tarball is read as a stream (:func:`patchsmith.patchfile.source.open_decompressed`): never
whole in memory, and refused once it decompresses past the size limit a compressed patch has
(``--max-size`` raises it), so a small file that expands without end is a bad input, not an
exhausted machine. What :class:`VanillaBase` is given is checked when it is made, before apply
creates anything: a path that is missing, unreadable or not a tar archive is bad input (exit 2).
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Sequence
from pathlib import Path

from patchsmith.engine.tree import Tree
from patchsmith.errors import InputError, UsageError
from patchsmith.patchfile.source import human_size, open_decompressed, size_limit
from patchsmith.paths import path_error, readable_folder
from patchsmith.workspace import git

_HINT = (
    "pass the unpacked vanilla tree, its tarball (linux-6.1.180.tar.xz) or a ref like "
    "v6.1.180 when --tree is a git repository"
)


class VanillaBase:
    """Reads files of the vanilla tree named by ``--base``: a directory, a tarball, a git ref.

    ``max_size`` is the most a compressed tarball may expand to (``None``: the rule of
    :func:`patchsmith.patchfile.source.size_limit`).
    """

    def __init__(self, spec: str, tree_repo: Path | None, max_size: int | None = None) -> None:
        self.spec = spec
        self.directory: Path | None = None
        self.tarball: Path | None = None
        self.ref: str | None = None
        self.repo = tree_repo
        self.max_size = max_size
        path = Path(spec)
        option = f"--base {spec}"
        try:
            info: os.stat_result | None = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            info = None  # not a path: a git ref, perhaps
        except OSError as error:
            raise path_error(f"{option}: cannot read", error, path, _HINT) from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            readable_folder(path, option, hint=_HINT)
            self.directory = path
        elif info is not None and stat.S_ISREG(info.st_mode):
            self.tarball = path
            self._check_tarball()
        elif info is None and tree_repo is not None and _ref_ok(tree_repo, spec):
            self.ref = spec
        else:
            raise UsageError(
                f"{option}: not a directory, a tarball, or a git ref of the tree", hint=_HINT
            )

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

    def _open(self) -> tarfile.TarFile:
        """The tarball as a stream of members (``r|``: read once, front to back)."""
        assert self.tarball is not None
        try:
            stream = open_decompressed(str(self.tarball), self.max_size)
        except OSError as error:
            raise path_error(f"--base {self.spec}: cannot read", error, self.tarball) from None
        try:
            return tarfile.open(fileobj=stream, mode="r|")
        except tarfile.TarError as error:
            stream.close()
            raise self._not_a_tarball(error) from None
        except BaseException:
            stream.close()
            raise

    def _not_a_tarball(self, error: Exception) -> UsageError:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return UsageError(f"--base {self.spec}: not a tar archive ({reason})", hint=_HINT)

    def _check_tarball(self) -> None:
        """Read the first member's header: a file that is no tarball is refused now."""
        with self._open() as archive:
            try:
                archive.next()
            except tarfile.TarError as error:
                raise self._not_a_tarball(error) from None
            except (OSError, EOFError) as error:
                raise self._damaged(error) from None

    def _damaged(self, error: Exception) -> InputError:
        return InputError(
            f"--base {self.spec}: cannot read the tarball: {error}",
            hint="the file may be truncated or damaged; check it with tar -tf",
        )

    def _from_tarball(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        assert self.tarball is not None
        wanted = set(paths)
        found: dict[str, bytes | None] = dict.fromkeys(paths)
        limit = size_limit(self.tarball.stat().st_size, self.max_size)
        try:
            with self._open() as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    name = member.name.lstrip("./")
                    relative = name.split("/", 1)[1] if "/" in name else name
                    for candidate in (relative, name):
                        if candidate in wanted and found[candidate] is None:
                            if member.size > limit:
                                # A sparse member is made of holes, not of the stream's bytes:
                                # the stream's limit does not see it.
                                raise InputError(
                                    f"--base {self.spec}: {member.name} is "
                                    f"{human_size(member.size)}, more than "
                                    f"{human_size(limit)}: refused",
                                    hint="no kernel source file is that large: check that it "
                                    "is the tarball you meant",
                                )
                            handle = archive.extractfile(member)
                            if handle is not None:
                                found[candidate] = handle.read()
        except tarfile.TarError as error:
            raise self._damaged(error) from None
        except (OSError, EOFError) as error:
            raise self._damaged(error) from None
        return found


def _ref_ok(repo: Path, ref: str) -> bool:
    return git.run_git(["rev-parse", "--verify", "--quiet", ref], cwd=repo, check=False).code == 0

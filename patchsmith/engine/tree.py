"""The tree as the engine sees it: every path read without following a symbolic link.

A path a patch names is looked up one component at a time with ``lstat``/``O_NOFOLLOW``. What the
engine gets for it is an :class:`Entry`: a regular file (its bytes and git mode), a symlink (its
target, as text: never where it points), a directory, something else (a FIFO, a device), or
nothing; and, when a folder on the way is not a folder (a symlink, a file), the
:class:`Obstacle` that stops the path there.

Why never follow: a link in a vendor tree makes the path the patch names and the file the
compiler reads two different things. Read through the link, a diff for ``in.c -> x.c`` would be
judged on ``x.c`` and then either written over the link (the link silently becomes a file) or
through it (``x.c`` changes, and a second diff of ``x.c`` in the same patch is judged on stale
bytes). A link made by the patch itself (``drivers/evil -> /tmp``) followed by a diff of
``drivers/evil/x.c`` is how a patch writes outside the worktree. GNU patch refuses a symlinked
file ("not a regular file -- refusing to patch") and git apply a path "beyond a symbolic link";
the engine turns both into an item with the reason, and the workspace writes only what the
engine settled, through the same rule (:mod:`patchsmith.workspace.confined`).

The names a patch gives are checked first (:func:`check_relative`): an absolute path, a ``..``
component or a path into a ``.git`` folder is refused as a whole, before anything is read.
"""

from __future__ import annotations

import enum
import errno
import os
import posixpath
import stat
from collections.abc import Collection, Mapping
from pathlib import Path

from patchsmith.errors import TreeError
from patchsmith.model import SYMLINK, git_mode
from patchsmith.paths import path_error, readable_folder
from patchsmith.record import record


class Kind(enum.StrEnum):
    """What is at a path, seen without following links."""

    ABSENT = "absent"
    FILE = "file"
    LINK = "link"
    DIRECTORY = "directory"
    OTHER = "other"
    """A FIFO, a socket, a device: nothing a patch can change."""


@record
class Obstacle:
    """A folder on the way to a path that is not a folder: the path lies beyond it."""

    path: str
    """The component, relative to the tree (``drivers/evil``)."""
    kind: Kind
    """``link``, ``file`` or ``other``."""
    target: bytes | None = None
    """A link's target as stored (never followed)."""
    made_by_patch: bool = False
    """The link or file is one an earlier diff of the same patch creates (or changes)."""
    changed: bool = False
    """With ``made_by_patch``: the path was already there and the earlier diff changed it (a
    link re-targeted, a file made a link), so the target shown is the new one."""

    def describe(self) -> str:
        """Why the path cannot be reached, in words for a reason column."""
        where = "in the tree"
        if self.made_by_patch:
            verb = "changed" if self.changed else "created"
            where = f"{verb} by an earlier diff of this patch"
        if self.kind == Kind.LINK:
            target = (self.target or b"").decode("utf-8", "replace")
            outside = " (outside the tree)" if points_outside(self.path, self.target or b"") else ""
            return f"{self.path} is a symlink {where} (→ {target}{outside})"
        if self.kind == Kind.FILE:
            return f"{self.path} is a file {where}, not a folder"
        return f"{self.path} is not a folder ({where})"


@record
class Entry:
    """What is at one path of the tree."""

    kind: Kind
    data: bytes | None = None
    """A file's bytes, or a link's target."""
    mode: str | None = None
    """git's mode (``100644``, ``100755``, ``120000``), for a file or a link."""
    obstacle: Obstacle | None = None
    """Set when a folder on the way is not a folder; ``kind`` is then ``absent``."""


ABSENT = Entry(Kind.ABSENT)


# --- the names a patch gives ----------------------------------------------------------------------


def strip_path(name: str, strip: int) -> str:
    """``name`` without its first ``strip`` components (``-p``); raises if it has too few.

    A ``.`` component counts for ``-p`` as GNU patch counts it (``a/./x.c`` with ``-p1`` is
    ``./x.c``), and is then dropped: ``./x.c`` and ``x.c`` are one file, and the engine, the
    worktree (git names it ``x.c``) and the session must call it by one name (check settled
    ``./x.c`` while apply refused it as not the tree's).
    """
    if name and name[0] != "/" and name[-1] != "/" and "//" not in name:
        # The common name, no empty component: one split, at most strip + 1 pieces.
        pieces = name.split("/", strip)
        if len(pieces) > strip:
            rest = pieces[-1]
            if rest != "." and not rest.startswith("./") and "/." not in rest:
                return rest
            return _without_dots(name, rest)
    parts = [p for p in name.split("/") if p]
    if name.startswith("/") and strip == 0:
        raise TreeError(
            f"the patch names an absolute path: {name}",
            hint="patchsmith only reads inside the tree; check the -p level",
        )
    if len(parts) <= strip:
        raise TreeError(
            f"cannot strip {strip} component(s) from {name!r}",
            hint="lower the -p level (git diffs want -p1)",
        )
    return _without_dots(name, "/".join(parts[strip:]))


def _without_dots(name: str, rest: str) -> str:
    """``rest`` (``name`` stripped) without its ``.`` components; refused when nothing is
    left (a patch naming the tree itself)."""
    kept = "/".join(part for part in rest.split("/") if part != ".")
    if not kept:
        raise TreeError(
            f"the patch names the tree itself, not a file: {name!r}",
            hint="check the -p level and the names in the patch",
        )
    return kept


def check_relative(path: str) -> None:
    """Refuse a tree path that leaves the tree or reaches into git's own folder."""
    # Split only when a component could be "..": the common path has no ".." at all (and this
    # is asked several times for each of a kernel patch's thousand files).
    if path.startswith("/") or (".." in path and ".." in path.split("/")):
        raise TreeError(
            f"the patch names a path outside the tree: {path}",
            hint="a patch must not reach outside the tree (no '..', no absolute paths)",
        )
    if ".git" in path.lower() and any(part.lower() == ".git" for part in path.split("/")):
        # git refuses these too ("invalid path"): a worktree's .git is the link to its
        # repository, and a file under it would be git's state, not the tree's.
        raise TreeError(
            f"the patch names a path in a .git folder: {path}",
            hint="patchsmith does not write git's own files; remove that diff from the patch",
        )
    if "\0" in path:
        raise TreeError(f"the patch names a path with a NUL byte: {path!r}")


def points_outside(link: str, target: bytes) -> bool:
    """Whether a symlink at tree path ``link`` with ``target`` names a place outside the tree
    (read as text: absolute, or more ``..`` than the link is deep), or one its text cannot show
    is inside, or git's own folder.

    Reading ``..`` as text is right only where the name before it is a folder: ``up/..`` from a
    link ``up`` to ``..`` is the folder above the tree, though ``posixpath.normpath`` makes it
    ``.``. The text cannot tell a folder from a link (the vendor's, or one the same patch makes),
    so a ``..`` after a name counts as outside; the leading ``..`` climb the link's own folders,
    which are folders (a diff of a path beyond a link is refused before this is asked). Real
    trees' links climb first and then descend (``../../../arch/arm/boot/dts``). A link into a
    ``.git`` folder counts as outside too: what is there is git's state, not the tree (a path
    the patch names there is refused by :func:`check_relative`).
    """
    text = os.fsdecode(target)
    if text.startswith("/"):
        return True
    named = False
    for part in text.split("/"):
        if part == "..":
            if named:
                return True
        elif part not in ("", "."):
            named = True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link), text))
    if joined == ".." or joined.startswith("../"):
        return True
    return ".git" in joined.lower() and any(part.lower() == ".git" for part in joined.split("/"))


# --- reading ------------------------------------------------------------------------------------

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK: opening a FIFO a hostile tree holds must not hang; on a regular file it does
# nothing.
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_all(descriptor: int, size: int) -> bytes:
    """The whole file behind ``descriptor``: a read of ``size`` (what ``fstat`` gave), then
    reads until the end (a file may grow while it is read)."""
    first = os.read(descriptor, size + 1)
    if len(first) <= size:
        return first  # a short read of a regular file is its end: no second read to see it
    chunks = [first]
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


class Tree:
    """Reads paths under ``root`` without following links (see the module doc)."""

    def __init__(self, root: Path, what: str = "the tree", option: str = "--tree") -> None:
        try:
            info = os.stat(root)
        except FileNotFoundError:
            raise TreeError(f"{what} {root} does not exist", hint=f"pass {option} DIR") from None
        except OSError as error:
            raise path_error(
                f"{what} {root}: cannot read", error, root, f"pass {option} DIR", TreeError
            ) from None
        if not stat.S_ISDIR(info.st_mode):
            raise TreeError(f"{what} {root} is not a directory", hint=f"pass {option} DIR")
        # A folder it cannot list or enter would read as a tree without files: every hunk a
        # missing file. Said now instead.
        readable_folder(root, f"{what} {root}", hint=f"pass {option} DIR that you may read")
        self.root = root
        self.what = what
        # The root itself is the user's choice: a link to it is taken as given.
        self.real = os.path.realpath(root)
        self._folders: dict[str, Obstacle | None] = {}
        self._remembered: dict[str, Entry] = {}

    def remember(self, entries: Mapping[str, Entry]) -> None:
        """Answer for these paths with these entries (read by this tree) from now on, without
        reading them again: what a caller that has read them judges the tree by is then what
        it read, even if the tree changes meanwhile (apply's one pass; the folders on the way
        are this tree's, checked once already)."""
        self._remembered.update(entries)

    def _full(self, relative: str) -> str:
        return os.path.join(self.real, relative)

    def _unreadable(self, relative: str, error: OSError) -> TreeError:
        if error.errno == errno.ENAMETOOLONG:
            hint = (
                "the patch names a file or folder longer than this file system takes (255 "
                "bytes a name on most): no tree here can hold it; leave that file out "
                "(-x GLOB) or work on a file system that takes the name"
            )
        else:
            hint = "check the permissions of the files and folders the patch touches"
        return TreeError(
            f"cannot read {relative} in {self.what} {self.root}: {error.strerror or error}",
            hint=hint,
        )

    def obstacle(self, relative: str) -> Obstacle | None:
        """The first folder on the way to ``relative`` that is not a folder, if any."""
        check_relative(relative)
        return self._folder(relative.rpartition("/")[0])

    def _folder(self, folder: str) -> Obstacle | None:
        """What stops the path at ``folder`` (a folder to pass through), checked once each:
        one ``lstat`` per new folder, however many files a patch touches in it."""
        if not folder or folder == ".":
            return None
        if folder in self._folders:
            return self._folders[folder]
        found = self._folder(folder.rpartition("/")[0])
        if found is None:
            try:
                info = os.lstat(self._full(folder))
            except FileNotFoundError:
                info = None
            except NotADirectoryError:
                info = None  # a race with the parent's check: nothing here to pass through
            except OSError as error:
                raise self._unreadable(folder, error) from error
            if info is None or stat.S_ISDIR(info.st_mode):
                found = None
            elif stat.S_ISLNK(info.st_mode):
                found = Obstacle(folder, Kind.LINK, os.readlink(os.fsencode(self._full(folder))))
            elif stat.S_ISREG(info.st_mode):
                found = Obstacle(folder, Kind.FILE)
            else:
                found = Obstacle(folder, Kind.OTHER)
        self._folders[folder] = found
        return found

    def entry(self, relative: str) -> Entry:
        """What is at ``relative`` (a file is read whole)."""
        remembered = self._remembered.get(relative)
        if remembered is not None:
            return remembered
        blocked = self.obstacle(relative)
        if blocked is not None:
            return Entry(Kind.ABSENT, obstacle=blocked)
        full = self._full(relative)
        try:
            # The common file costs one open and one fstat; a symlink fails with ELOOP.
            descriptor = os.open(full, _READ_FLAGS)
        except FileNotFoundError:
            return ABSENT
        except OSError as error:
            if error.errno == errno.ELOOP:
                return Entry(Kind.LINK, os.readlink(os.fsencode(full)), SYMLINK)
            if error.errno == errno.ENXIO:
                return Entry(Kind.OTHER)  # a socket
            raise self._unreadable(relative, error) from error
        try:
            info = os.fstat(descriptor)
            if stat.S_ISDIR(info.st_mode):
                return Entry(Kind.DIRECTORY)
            if not stat.S_ISREG(info.st_mode):
                return Entry(Kind.OTHER)
            return Entry(Kind.FILE, _read_all(descriptor, info.st_size), git_mode(info.st_mode))
        except OSError as error:
            raise self._unreadable(relative, error) from error
        finally:
            os.close(descriptor)

    def same_content_beside(
        self, relative: str, data: bytes, skip: Collection[str] = ()
    ) -> str | None:
        """The tree path of a regular file in ``relative``'s folder (not a link, not
        ``relative`` itself, none in ``skip``) whose bytes are exactly ``data``, or ``None``:
        where a file the vendor renamed went. Only files of ``data``'s size are read."""
        if self.obstacle(relative) is not None:
            return None
        folder, _, own = relative.rpartition("/")
        try:
            with os.scandir(self._full(folder) if folder else self.real) as listing:
                names = sorted(
                    item.name
                    for item in listing
                    if item.name != own
                    and item.is_file(follow_symlinks=False)
                    and item.stat(follow_symlinks=False).st_size == len(data)
                )
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise self._unreadable(folder or ".", error) from error
        for name in names:
            path = f"{folder}/{name}" if folder else name
            if path not in skip and self.read(path) == data:
                return path
        return None

    def read(self, relative: str) -> bytes | None:
        """A regular file's bytes; ``None`` for anything else (absent, a link, a folder, a
        path beyond a link)."""
        found = self.entry(relative)
        return found.data if found.kind == Kind.FILE else None

    def kind(self, relative: str) -> Entry:
        """What is at ``relative``, without reading a file's bytes (a link's target is read)."""
        remembered = self._remembered.get(relative)
        if remembered is not None:
            if remembered.kind == Kind.FILE:
                return Entry(Kind.FILE, None, remembered.mode)
            return remembered
        blocked = self.obstacle(relative)
        if blocked is not None:
            return Entry(Kind.ABSENT, obstacle=blocked)
        full = self._full(relative)
        try:
            info = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return ABSENT
        except OSError as error:
            raise self._unreadable(relative, error) from error
        if stat.S_ISLNK(info.st_mode):
            return Entry(Kind.LINK, os.readlink(os.fsencode(full)), SYMLINK)
        if stat.S_ISDIR(info.st_mode):
            return Entry(Kind.DIRECTORY)
        if stat.S_ISREG(info.st_mode):
            return Entry(Kind.FILE, None, git_mode(info.st_mode))
        return Entry(Kind.OTHER)

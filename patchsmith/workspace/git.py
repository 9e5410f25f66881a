"""The one module that runs git: scrubbed environment, explicit paths, nothing left running.

Every git command patchsmith runs goes through :func:`run_git`. It

- drops every ``GIT_*`` variable a hook or a shell may have leaked (``GIT_DIR``,
  ``GIT_WORK_TREE``, ``GIT_INDEX_FILE``, ``GIT_OBJECT_DIRECTORY``...), keeping only the identity
  variables (``GIT_AUTHOR_NAME`` and friends) a user sets on purpose;
- ignores the system and global config (``GIT_CONFIG_NOSYSTEM=1``, ``GIT_CONFIG_GLOBAL=/dev/null``)
  and overrides what a repository's own config could do to us (``-c core.hooksPath=/dev/null``,
  ``-c color.ui=never``, ``--no-ext-diff`` on every diff, no gpg signing, no auto gc);
- names the repository explicitly (``-C``, ``--git-dir``, ``--work-tree``) and never changes the
  process's working directory.

Why ``subprocess`` and not GitPython's ``Git.execute``: GitPython builds the child's environment
as ``os.environ.copy()`` updated with ours, so it can add variables but cannot remove a leaked
``GIT_DIR``; and its ``Repo`` objects keep ``git cat-file --batch`` children alive until closed.
Running git directly with a complete environment of our own fixes the first and makes the second
impossible (a test checks that no ``cat-file`` process outlives a command). GitPython is a test
dependency instead: ``tests/workspace/test_git_oracle.py`` reads what apply and abort did
through it, a second git client, so a mistake shared by this module and its tests cannot hide.

The user's identity is read once from their real global config (``user.name``/``user.email``)
and passed as ``GIT_AUTHOR_*``/``GIT_COMMITTER_*``; without one, ``$USER`` is used.

Two kinds of trees (see :func:`prepare_worktree`):

- a git repository: a worktree on a new branch from ``HEAD`` (or from a snapshot of the dirty
  state, with ``allow_dirty``), created with ``--no-checkout`` and populated with only the paths
  the patch touches (the other index entries are marked skip-worktree);
- a plain directory: a repository of patchsmith's own outside the tree
  (``$XDG_DATA_HOME/patchsmith/trees/<hash of the real path>``) whose base commit holds the
  touched files, read straight from the tree and given to ``git fast-import`` without a filter
  (so the tree's ``.gitignore`` cannot hide anything and nothing is written to it).

Many objects at once go into one pack (the base snapshot, apply's commit of a thousand files),
not a loose file each: on a busy disk, making a file per object cost more than the hashing. A
new apply to a plain tree writes its two commits as a pack of its own making
(:func:`snapshot_and_results`, :class:`_Pack`): git's own writers hashed each byte four times.

Either way :func:`materialise_full` later fills in the rest of the tree for a build, with
progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import secrets
import shutil
import stat
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from patchsmith.engine.tree import Kind, Tree
from patchsmith.errors import GitError, InputError, TreeError
from patchsmith.model import SYMLINK
from patchsmith.record import record
from patchsmith.workspace import confined, staging

GIT = "git"

_KEEP = frozenset(
    {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
)
"""The only ``GIT_*`` variables passed through: identity, which users set on purpose."""

_OVERRIDES: tuple[str, ...] = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "color.ui=never",
    "-c",
    "core.autocrlf=false",
    "-c",
    "core.safecrlf=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotePath=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "gc.auto=0",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "advice.detachedHead=false",
)
"""Settings a repository's own config might have that would change what we read or run."""

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) while a long operation runs."""


def _user_config() -> dict[str, list[str]]:
    """``user.name``, ``user.email`` and ``safe.directory`` from the user's real global config
    (each key's values in order), read without hooks by one git, once per home (the global
    config is ``$XDG_CONFIG_HOME/git/config`` or ``~/.gitconfig``)."""
    key = (os.environ.get("HOME"), os.environ.get("XDG_CONFIG_HOME"))
    cached = _user_config_cache.get(key)
    if cached is not None:
        return cached
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    pattern = r"^(user\.name|user\.email|safe\.directory)$"
    found: dict[str, list[str]] = {}
    try:
        result = subprocess.run(
            [GIT, "config", "--global", "-z", "--get-regexp", pattern],
            env=env,
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        result = None
    if result is not None and result.returncode == 0:
        # -z: "key\nvalue\0" for each value (a key set without "=" has no newline).
        for item in result.stdout.split(b"\0"):
            if not item:
                continue
            name, _newline, value = item.partition(b"\n")
            found.setdefault(name.decode("ascii", "replace"), []).append(
                value.decode("utf-8", "surrogateescape")
            )
    _user_config_cache[key] = found
    return found


_user_config_cache: dict[tuple[str | None, str | None], dict[str, list[str]]] = {}


def _trusted_directories() -> list[str]:
    """``-c safe.directory=...`` for each value the user's real global config trusts, in order
    (an empty one, which clears the list before it, included: git reads them as it would).

    git ignores the global config we give it (``GIT_CONFIG_GLOBAL=/dev/null``), so a repository
    owned by another user that the user has declared safe would be refused; the setting is
    only honoured from protected config, which the command line is.
    """
    values = _user_config().get("safe.directory", [])
    return [word for value in values for word in ("-c", f"safe.directory={value}")]


def identity() -> tuple[str, str]:
    """(name, email) for commits and for "who resolved this": env, then git config, then $USER."""
    name = os.environ.get("GIT_AUTHOR_NAME") or os.environ.get("GIT_COMMITTER_NAME")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or os.environ.get("GIT_COMMITTER_EMAIL")
    if not (name and email):
        config = _user_config()
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "patchsmith"
        # The last value wins, as git config --get gives it.
        name = name or (config.get("user.name") or [""])[-1].strip() or user
        email = email or (config.get("user.email") or [""])[-1].strip() or f"{user}@localhost"
    return name, email


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git child gets: ours, with nothing leaked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP}
    name, email = identity()
    env.setdefault("GIT_AUTHOR_NAME", name)
    env.setdefault("GIT_AUTHOR_EMAIL", email)
    env.setdefault("GIT_COMMITTER_NAME", name)
    env.setdefault("GIT_COMMITTER_EMAIL", email)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
            "LANGUAGE": "C",
        }
    )
    env.pop("GIT_EDITOR", None)
    if extra:
        env.update(extra)
    return env


@record
class GitResult:
    """What a git command returned when the caller looks at the exit code itself."""

    code: int
    stdout: bytes
    stderr: bytes


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> GitResult:
    """Run one git command; raise :class:`GitError` when it fails and ``check`` is set.

    ``cwd`` becomes ``-C``; ``git_dir``/``work_tree`` become ``--git-dir``/``--work-tree``.
    """
    command = _command(args, cwd, git_dir, work_tree)
    try:
        result = subprocess.run(
            command,
            input=input,
            capture_output=True,
            env=git_env(env),
            check=False,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as error:
        raise GitError(
            "git is not installed", hint="install git (Debian: apt install git)"
        ) from error
    if check and result.returncode != 0:
        raise _failure(args, command, result.stderr)
    return GitResult(result.returncode, result.stdout, result.stderr)


def _command(
    args: Sequence[str], cwd: Path | None, git_dir: Path | None, work_tree: Path | None
) -> list[str]:
    """The whole command line :func:`run_git` runs for ``args``."""
    command: list[str] = [GIT]
    if cwd is not None:
        command += ["-C", os.fspath(cwd)]
    if git_dir is not None:
        command.append(f"--git-dir={os.fspath(git_dir)}")
    if work_tree is not None:
        command.append(f"--work-tree={os.fspath(work_tree)}")
    # Every path patchsmith names is a file's name, never a pattern: a patch may well name
    # "drivers/*.c" or ":(top)x", and git must not read that as a glob or as pathspec magic.
    command.append("--literal-pathspecs")
    command += list(_OVERRIDES)
    command += _trusted_directories()
    command += list(args)
    return command


def _failure(args: Sequence[str], command: Sequence[str], stderr: bytes) -> GitError:
    said = stderr.decode("utf-8", "replace").strip()
    named = list(args)
    while named[:1] == ["-c"]:  # "git fast-import failed", not "git -c pack.depth=0 failed"
        named = named[2:]
    failure = GitError(
        f"git {' '.join(named[:2])} failed: {said.splitlines()[-1] if said else 'no output'}",
        hint="that is the last line git wrote; run again with --debug for the whole git "
        "command and all it wrote",
        output=said,
    )
    # Shown under the traceback with --debug (the message carries git's last line only).
    failure.add_note("git command: " + " ".join(os.fsdecode(word) for word in command))
    if said:
        failure.add_note("git wrote:\n" + said)
    return failure


def _feed_git(args: Sequence[str], chunks: Iterable[bytes], *, git_dir: Path) -> None:
    """Run a git command that reads its standard input, feeding it ``chunks`` as they are made
    (a stream of a tree's files, too large to hold twice); its output is not kept. Raises
    :class:`GitError` when it fails, as :func:`run_git`."""
    command = _command(args, None, git_dir, None)
    with tempfile.TemporaryFile() as said:
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=said,
                env=git_env(),
            )
        except FileNotFoundError as error:
            raise GitError(
                "git is not installed", hint="install git (Debian: apt install git)"
            ) from error
        assert child.stdin is not None
        try:
            try:
                for chunk in chunks:
                    child.stdin.write(chunk)
                child.stdin.close()
            except BrokenPipeError:
                pass  # git stopped reading: its exit status and message say why
            code = child.wait()
        except BaseException:
            child.kill()  # a chunk could not be made (a file unreadable): git must not finish
            child.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                child.stdin.close()
        if code != 0:
            said.seek(0)
            raise _failure(args, command, said.read())


def _out(result: GitResult) -> str:
    return result.stdout.decode("utf-8", "surrogateescape").strip()


# --- facts about a directory -------------------------------------------------------------------


def repository_root(path: Path) -> Path | None:
    """The top of the git repository whose top ``path`` is, or ``None``.

    A directory *inside* someone else's repository (an unpacked tarball under a repo) is a plain
    directory for patchsmith: snapshotting the enclosing repository would be wrong.
    """
    result = run_git(["rev-parse", "--show-toplevel"], cwd=path, check=False)
    if result.code != 0:
        _refuse_dubious(path, result.stderr)
        return None
    top = Path(_out(result))
    if os.path.realpath(top) != os.path.realpath(path):
        return None
    return top


# git's refusal of a repository another user owns (safe.directory, git 2.35.2 and later):
#   fatal: detected dubious ownership in repository at '/srv/linux'
_DUBIOUS = re.compile(rb"detected dubious ownership in repository at '([^\n]*)'")


def _refuse_dubious(path: Path, stderr: bytes) -> None:
    """Raise when git refused ``path`` itself as a repository owned by someone else: treated
    as a plain folder, its commits, branches and ignored files would silently not count."""
    match = _DUBIOUS.search(stderr)
    if match is None:
        return
    repository = os.fsdecode(match.group(1))
    if os.path.realpath(repository) != os.path.realpath(path):
        return  # a folder inside someone else's repository: a plain tree, as always
    raise TreeError(
        f"the tree {path} is a git repository owned by another user, and git refuses to "
        "use it (safe.directory)",
        hint=f"if you trust it: git config --global --add safe.directory {repository} "
        "(patchsmith honours your global safe.directory); or run as its owner, or apply to "
        "a copy",
    )


def git_dir_of(path: Path) -> Path:
    """The git directory of the worktree or repository at ``path`` (absolute).

    Asked of git once per ``.git`` at ``path`` as it is (an apply asks three times for the
    worktree it made): the answer is kept with that entry's identity and dates, and asked
    again when they change (a worktree removed and added again) or the answer is gone."""
    try:
        info = os.lstat(os.path.join(path, ".git"))
        key: tuple[object, ...] | None = (
            os.path.abspath(path),
            info.st_dev,
            info.st_ino,
            info.st_mtime_ns,
            info.st_ctime_ns,
            info.st_size,
        )
    except OSError:
        key = None
    if key is not None:
        known = _git_dirs.get(key)
        if known is not None and os.path.isdir(known):
            return known
    result = run_git(["rev-parse", "--absolute-git-dir"], cwd=path, check=False)
    if result.code != 0:
        raise GitError(
            f"{path} is not inside a git worktree",
            hint="run from inside a patchsmith worktree, or pass --session PATH",
        )
    found = Path(_out(result))
    if key is not None:
        _git_dirs[key] = found
    return found


_git_dirs: dict[tuple[object, ...], Path] = {}


def rev_parse(path: Path, rev: str) -> str:
    return _out(run_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=path))


def ref_exists(git_dir: Path, ref: str) -> bool:
    result = run_git(["rev-parse", "--verify", "--quiet", ref], git_dir=git_dir, check=False)
    return result.code == 0


def dirty_paths(root: Path) -> list[str]:
    """Tracked changes and untracked (not ignored) files of a repository's working tree."""
    result = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=root)
    entries = [e for e in result.stdout.decode("utf-8", "surrogateescape").split("\0") if e]
    return [e[3:] for e in entries if len(e) > 3]


def snapshot_dirty(root: Path) -> str:
    """A commit of the working tree as it is (tracked and untracked), parented on HEAD.

    Built with a temporary index, so the user's index, working tree and branches stay as they
    were; only objects are added to the repository.
    """
    with tempfile.TemporaryDirectory(prefix="patchsmith-index-") as scratch:
        env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        run_git(["read-tree", "HEAD"], cwd=root, env=env)
        run_git(["add", "-A", "--", "."], cwd=root, env=env)
        tree = _out(run_git(["write-tree"], cwd=root, env=env))
    head = rev_parse(root, "HEAD")
    message = b"patchsmith: snapshot of the uncommitted state (--allow-dirty)\n"
    return _out(run_git(["commit-tree", tree, "-p", head], cwd=root, input=message))


# --- the repository patchsmith keeps for a plain directory --------------------------------------


def data_home() -> Path:
    """``$XDG_DATA_HOME/patchsmith`` (default ``~/.local/share/patchsmith``)."""
    base = os.environ.get("XDG_DATA_HOME")
    if not base:
        try:
            base = os.path.join(Path.home(), ".local", "share")
        except RuntimeError as error:
            raise InputError(
                "cannot tell where patchsmith keeps its data: XDG_DATA_HOME and HOME are unset",
                hint="set XDG_DATA_HOME (or HOME) to a directory you can write",
            ) from error
    return Path(base) / "patchsmith"


def data_home_error(folder: Path, error: OSError) -> InputError:
    """The error for a data directory patchsmith cannot write (exit 2, never a traceback)."""
    return InputError(
        f"cannot write patchsmith's data in {folder}: {error.strerror or error}",
        hint="set XDG_DATA_HOME to a directory you can write (patchsmith keeps the "
        "repositories of plain trees, default worktrees and resolution memory there)",
    )


def writable_data_dir(*parts: str) -> Path:
    """A folder under :func:`data_home`, created if needed, that patchsmith can write."""
    return writable_folder(data_home().joinpath(*parts))


def writable_folder(folder: Path) -> Path:
    """``folder`` (in the data home), created if needed; a typed error when it cannot be
    written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(folder))
    except OSError as error:
        raise data_home_error(folder, error) from error
    return folder


def tree_key(tree: Path) -> str:
    """A short, stable name for a tree: a hash of its real path plus its last component."""
    real = os.path.realpath(tree)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(real))
    return f"{name or 'root'}-{digest}"


def tree_repository(tree: Path) -> Path:
    """The git directory patchsmith keeps for a plain directory, created on first use."""
    git_dir = writable_data_dir("trees", tree_key(tree)) / "repo.git"
    if (git_dir / "HEAD").exists() and not os.access(git_dir / "objects", os.W_OK | os.X_OK):
        raise data_home_error(git_dir, PermissionError(13, "Permission denied"))
    if not (git_dir / "HEAD").exists():
        run_git(["init", "--quiet", "--bare", os.fspath(git_dir)])
        # Our own repository: make checkouts byte-exact whatever .gitattributes a tree carries.
        info = git_dir / "info"
        info.mkdir(exist_ok=True)
        (info / "attributes").write_text("* -text -filter -ident\n", encoding="ascii")
        run_git(["config", "core.bare", "false"], git_dir=git_dir)
        run_git(["config", "core.logAllRefUpdates", "true"], git_dir=git_dir)
        (git_dir.parent / "TREE").write_text(os.path.realpath(tree) + "\n", encoding="utf-8")
    return git_dir


def set_mode(path: Path, mode: str) -> None:
    """Give the file at ``path`` git's mode ``mode`` on disk: ``100755`` sets the execute bits
    where the read bits are, ``100644`` clears them (symlinks and others are left alone)."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return
    current = stat.S_IMODE(info.st_mode)
    if mode == "100755":
        os.chmod(path, current | ((current & 0o444) >> 2))
    elif mode == "100644":
        os.chmod(path, current & ~0o111)


def tree_entries(tree: Path, paths: Iterable[str]) -> dict[str, tuple[str, bytes | None]]:
    """What git should hold for ``paths`` of ``tree`` to show them as the engine sees them
    (:mod:`patchsmith.engine.tree`, links never followed): path -> (mode, a link's target).

    A regular file or a link at a path is listed with its mode; a path beyond a link or a file
    (``evil/x.c`` with ``evil -> /tmp``) lists that link or file instead, so a worktree made
    from it shows the same obstacle; an absent path, a folder or a device lists nothing.
    """
    view = Tree(tree)
    found: dict[str, tuple[str, bytes | None]] = {}
    for path in sorted(set(paths)):
        entry = view.kind(path)
        if entry.obstacle is not None:
            blocker = entry.obstacle
            if blocker.kind == Kind.LINK:
                found[blocker.path] = (SYMLINK, blocker.target)
            elif blocker.kind == Kind.FILE:
                mode = view.kind(blocker.path).mode
                if mode is not None:
                    found[blocker.path] = (mode, None)
        elif entry.kind == Kind.LINK:
            found[path] = (SYMLINK, entry.data)
        elif entry.kind == Kind.FILE and entry.mode is not None:
            found[path] = (entry.mode, None)
    return found


def _hashed(
    git_dir: Path, tree: Path, entries: Mapping[str, tuple[str, bytes | None]]
) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob) for ``entries`` (see :func:`tree_entries`), the blobs written to
    the repository, hashed from the tree without filters (so neither ``.gitattributes`` nor
    ``.gitignore`` can change or hide what is there)."""
    real = os.path.realpath(tree)
    files = [p for p, (mode, _target) in entries.items() if mode != SYMLINK]
    found: dict[str, tuple[str, str]] = {}
    if files:
        listing = b"".join(
            os.path.join(real, p).encode("utf-8", "surrogateescape") + b"\n" for p in files
        )
        hashed = _out(
            run_git(
                ["hash-object", "-w", "--no-filters", "--stdin-paths"],
                git_dir=git_dir,
                input=listing,
            )
        ).split()
        found = {p: (entries[p][0], sha) for p, sha in zip(files, hashed, strict=True)}
    for path, (mode, target) in entries.items():
        if mode == SYMLINK:
            sha = _out(
                run_git(["hash-object", "-w", "--stdin"], git_dir=git_dir, input=target or b"")
            )
            found[path] = (mode, sha)
    return found


def _held(git_dir: Path, commit: str, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob) of exactly ``paths`` in ``commit`` (absent ones left out)."""
    wanted = sorted(set(paths))
    if not wanted:
        return {}
    listing = run_git(["ls-tree", "-r", "-z", commit, "--", *wanted], git_dir=git_dir).stdout
    exact = set(wanted)
    held: dict[str, tuple[str, str]] = {}
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        info, _tab, name = entry.partition(b"\t")
        path = name.decode("utf-8", "surrogateescape")
        if path in exact:
            mode, _kind, sha = info.decode("ascii").split(" ")
            held[path] = (mode, sha)
    return held


def _imported_tree(
    git_dir: Path, tree: Path, entries: Mapping[str, tuple[str, bytes | None]]
) -> str:
    """The id of a git tree holding ``entries`` (see :func:`tree_entries`) as ``tree`` has
    them, its blobs and folders written as one pack by ``git fast-import``.

    For a plain tree's base snapshot of a stable patch's thousand files: ``hash-object -w``
    wrote a loose object per file and ``write-tree`` one per folder, each a file made and
    renamed, which on a busy disk waits on the journal (2-5 s for 1,300 files, against about
    1 s of hashing and compressing). The bytes are read here as ``hash-object --no-filters``
    reads them: whole, no filter, no attribute, the last component not followed (a link is
    its target's text). fast-import makes a commit to hold the tree; it goes on a ref of its
    own, removed at once, and only the tree is used (the caller's ``commit-tree`` makes the
    commit, with the identity and dates every other commit gets).
    """
    real = os.path.realpath(tree)
    ref = f"refs/patchsmith/import-{os.getpid()}-{secrets.token_hex(4)}"

    def stream() -> Iterator[bytes]:
        yield b"commit %s\ncommitter patchsmith <patchsmith> 0 +0000\ndata 0\n" % ref.encode()
        for path, (mode, target) in sorted(entries.items()):
            data = target or b"" if mode == SYMLINK else _read_regular(os.path.join(real, path))
            name = path.encode("utf-8", "surrogateescape")
            yield b"M %s inline %s\ndata %d\n" % (mode.encode(), _fast_import_path(name), len(data))
            yield data
            yield b"\n"
        yield b"\ndone\n"

    # No deltas (kernel files are not versions of each other, and looking costs most of the
    # time); the loose objects' compression level.
    options = ["-c", "pack.depth=0", "-c", "pack.compression=1"]
    _feed_git([*options, "fast-import", "--quiet", "--done"], stream(), git_dir=git_dir)
    try:
        return _out(run_git(["rev-parse", "--verify", f"{ref}^{{tree}}"], git_dir=git_dir))
    finally:
        run_git(["update-ref", "-d", ref], git_dir=git_dir)


def _read_regular(path: str) -> bytes:
    """The bytes of the regular file at ``path``, its last component not followed."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    handle = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise TreeError(
                f"{path} is no longer a regular file",
                hint="the tree changed while apply ran; run it again on a quiet tree",
            )
        chunks = []
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)


def _fast_import_path(name: bytes) -> bytes:
    """A path as fast-import reads it: as it is, or C-quoted when it starts with a quote or
    holds a newline (or a backslash, which a quoted name needs escaped)."""
    if not name.startswith(b'"') and b"\n" not in name:
        return name
    escaped = bytearray(b'"')
    for byte in name:
        if byte in (0x22, 0x5C):  # " and \
            escaped += b"\\" + bytes([byte])
        elif byte < 0x20 or byte >= 0x7F:
            escaped += b"\\%03o" % byte
        else:
            escaped.append(byte)
    return bytes(escaped + b'"')


def snapshot_and_results(
    git_dir: Path,
    base: Mapping[str, tuple[str, bytes]],
    results: Mapping[str, tuple[str, bytes]],
    messages: tuple[str, str],
    blobs: dict[str, bytes] | None = None,
) -> tuple[str, str]:
    """Two commits written as one pack: a parentless snapshot whose tree is ``base`` (path ->
    (mode, a file's bytes or a link's target)), then on top of it a commit whose tree is
    ``results``; return (snapshot, results) commit ids. No ref names them yet (the caller's
    ``git worktree add -b`` does).

    What apply's step-by-step path made with four passes of git over a stable patch's
    thousand files (the snapshot imported, checked out, the results written and ``git
    add``-ed), from bytes apply already holds. The pack is written here (:class:`_Pack`), not
    by ``git fast-import``: fast-import hashed every byte four to five times (the object, the
    pack as written, the pack again twice to fix up its header) with git's collision-detecting
    SHA-1, 2.5 s for the 120 MB of a stable patch's snapshot and results on this machine's
    load, against 0.5 s here with one hash per object and one for the pack, and the objects
    stored uncompressed (they are a session's, read a few times). The ids are SHA-1 as git
    computes them for any input that is not a crafted SHA-1 collision (which git's own hash
    would tell apart); ``git fsck --strict`` accepts the pack (a test runs it).

    The messages are stored as ``commit-tree`` and ``git commit`` store them (the second
    cleaned up as ``git commit -F`` does), with the identity and dates every other commit gets
    (``git var``). ``blobs``, when given, gets each result's blob id (path -> binary id).
    """
    author, committer = _idents(git_dir)
    pack = _Pack()
    commits: list[bytes] = []
    for tree, message, parents, named in (
        (base, messages[0] + "\n", [], None),
        (results, stripspace(messages[1]), commits, blobs),
    ):
        body = b"tree %s\n" % pack.tree(tree, named).hex().encode()
        body += b"".join(b"parent %s\n" % parent.hex().encode() for parent in parents)
        body += b"author %s\ncommitter %s\n\n" % (author, committer)
        commits.append(pack.add(_COMMIT, body + message.encode("utf-8")))
    folder = git_dir / "objects" / "pack"
    if any(folder.glob("*.idx")):
        # Applied before (an abort, then the same apply again): what the repository has
        # already is not stored again, so it grows by what is new.
        pack.leave_out(_present(git_dir, list(pack.objects)))
    pack.write(folder)
    return commits[0].hex(), commits[1].hex()


def _idents(git_dir: Path) -> tuple[bytes, bytes]:
    """``GIT_AUTHOR_IDENT`` and ``GIT_COMMITTER_IDENT`` as ``git var`` gives them (name, email,
    date), asked of one git (``git var -l``, which lists them among the config it reads)."""
    listed = run_git(["var", "-l"], git_dir=git_dir).stdout
    found: dict[bytes, bytes] = {}
    for line in listed.splitlines():
        name, equals, value = line.partition(b"=")
        if equals and name in (b"GIT_AUTHOR_IDENT", b"GIT_COMMITTER_IDENT"):
            found[name] = value
    for name in (b"GIT_AUTHOR_IDENT", b"GIT_COMMITTER_IDENT"):
        if name not in found:  # not expected: git var -l lists both whenever git var NAME can
            found[name] = run_git(["var", name.decode()], git_dir=git_dir).stdout.strip()
    return found[b"GIT_AUTHOR_IDENT"], found[b"GIT_COMMITTER_IDENT"]


_COMMIT, _TREE, _BLOB = 1, 2, 3
"""git's object types, as a pack numbers them."""
_TYPE_NAMES = {_COMMIT: b"commit", _TREE: b"tree", _BLOB: b"blob"}
_STORED_BLOCK = 65535
"""The most a stored (uncompressed) deflate block holds."""
LARGE_OFFSET = 1 << 31
"""From this offset in the pack on, the index holds an object's place in its 64-bit table."""


class _Pack:
    """Objects made in memory, written as one pack file (version 2) and its index (version 2),
    as ``git index-pack`` would write them. Each object is stored once (by id); its data is
    kept as given, never copied, until :meth:`write`."""

    def __init__(self) -> None:
        self.objects: dict[bytes, tuple[int, bytes]] = {}

    def add(self, kind: int, data: bytes) -> bytes:
        """The object's id (binary SHA-1 of git's header and the data)."""
        digest = hashlib.sha1(b"%s %d\0" % (_TYPE_NAMES[kind], len(data)))
        digest.update(data)
        name = digest.digest()
        self.objects.setdefault(name, (kind, data))
        return name

    def tree(
        self, entries: Mapping[str, tuple[str, bytes]], blobs: dict[str, bytes] | None = None
    ) -> bytes:
        """The id of a tree of ``entries`` (path -> (mode, data)), its blobs and folders
        added; each path's blob id put in ``blobs`` when given."""
        named = {path.encode("utf-8", "surrogateescape"): value for path, value in entries.items()}
        found: dict[bytes, bytes] | None = {} if blobs is not None else None
        made = self._tree(named, b"", found)
        if blobs is not None and found is not None:
            blobs.update(
                (path.decode("utf-8", "surrogateescape"), name) for path, name in found.items()
            )
        return made

    def _tree(
        self,
        entries: Mapping[bytes, tuple[str, bytes]],
        prefix: bytes,
        blobs: dict[bytes, bytes] | None,
    ) -> bytes:
        listed: list[tuple[bytes, bytes, bytes]] = []
        folders: dict[bytes, dict[bytes, tuple[str, bytes]]] = {}
        for path, (mode, data) in entries.items():
            head, slash, rest = path.partition(b"/")
            if slash:
                folders.setdefault(head, {})[rest] = (mode, data)
            else:
                name = self.add(_BLOB, data)
                listed.append((head, mode.encode(), name))
                if blobs is not None:
                    blobs[prefix + head] = name
        listed += [
            (name, b"40000", self._tree(inner, prefix + name + b"/", blobs))
            for name, inner in folders.items()
        ]
        # git's order: a folder sorts as its name followed by "/" ("a-b", "a/", "a.c" is
        # wrong; "a-b", "a.c", "a/" is right), else a reader's search misses entries.
        listed.sort(key=lambda item: item[0] + b"/" if item[1] == b"40000" else item[0])
        return self.add(_TREE, b"".join(b"%s %s\0%s" % (m, n, i) for n, m, i in listed))

    def leave_out(self, names: Iterable[bytes]) -> None:
        """Do not write these objects (the repository has them)."""
        for name in names:
            self.objects.pop(name, None)

    def write(self, folder: Path) -> None:
        """``pack-<id>.pack`` and ``pack-<id>.idx`` in ``folder``, each written whole under a
        temporary name and renamed, the index last (git finds a pack by its index)."""
        names = sorted(self.objects)
        if not names:
            return  # all there already
        head = b"PACK" + struct.pack(">II", 2, len(names))
        pieces: list[bytes | memoryview] = [head]
        digest = hashlib.sha1(head)
        offsets: list[int] = []
        checks: list[int] = []
        offset = len(head)
        for name in names:
            kind, data = self.objects[name]
            offsets.append(offset)
            check = 0
            for piece in (_entry_header(kind, len(data)), *_stored(data)):
                check = zlib.crc32(piece, check)
                digest.update(piece)
                pieces.append(piece)
                offset += len(piece)
            checks.append(check)
        pack_id = digest.digest()
        pieces.append(pack_id)
        counts = [0] * 256
        for name in names:
            counts[name[0]] += 1
        fanout = list(itertools.accumulate(counts))
        small: list[int] = []
        large: list[int] = []
        for place in offsets:
            if place < LARGE_OFFSET:
                small.append(place)
            else:
                small.append(0x80000000 | len(large))
                large.append(place)
        index = b"".join(
            (
                b"\377tOc",
                struct.pack(">I", 2),
                struct.pack(">256I", *fanout),
                b"".join(names),
                struct.pack(f">{len(checks)}I", *checks),
                struct.pack(f">{len(small)}I", *small),
                struct.pack(f">{len(large)}Q", *large),
                pack_id,
            )
        )
        index += hashlib.sha1(index).digest()
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"pack-{pack_id.hex()}"
        for suffix, content in ((".pack", pieces), (".idx", [index])):
            temporary = folder / f"tmp_{stem}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
            try:
                with open(temporary, "wb") as handle:
                    handle.writelines(content)
                os.chmod(temporary, 0o444)  # as git leaves its packs
                os.replace(temporary, folder / f"{stem}{suffix}")
            except BaseException:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise


def _present(git_dir: Path, names: Sequence[bytes]) -> list[bytes]:
    """Which of the objects ``names`` the repository has (one ``cat-file --batch-check``)."""
    request = b"".join(name.hex().encode() + b"\n" for name in names)
    answer = run_git(["cat-file", "--batch-check=%(objectname)"], git_dir=git_dir, input=request)
    return [
        bytes.fromhex(line.decode())
        for line in answer.stdout.splitlines()
        if line and not line.endswith(b" missing")
    ]


def _entry_header(kind: int, size: int) -> bytes:
    """A pack entry's header: the type and the size, 4 bits then 7 bits a byte."""
    first = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(first | 0x80)
        first = size & 0x7F
        size >>= 7
    out.append(first)
    return bytes(out)


def _stored(data: bytes) -> list[bytes | memoryview]:
    """``data`` as a zlib stream of stored deflate blocks (no compression: for objects read a
    few times, compressing cost more than writing the bytes), views of ``data``, not copies."""
    pieces: list[bytes | memoryview] = [b"\x78\x01"]
    view = memoryview(data)
    size = len(data)
    if not size:
        pieces.append(b"\x01\x00\x00\xff\xff")
    for start in range(0, size, _STORED_BLOCK):
        block = view[start : start + _STORED_BLOCK]
        final = 1 if start + _STORED_BLOCK >= size else 0
        pieces.append(struct.pack("<BHH", final, len(block), 0xFFFF ^ len(block)))
        pieces.append(block)
    pieces.append(struct.pack(">I", zlib.adler32(data)))
    return pieces


def stripspace(message: str) -> str:
    """``message`` as ``git commit -F`` stores it (``--cleanup=whitespace``): trailing blanks
    of each line and leading and trailing empty lines gone, runs of empty lines made one, one
    final newline."""
    lines = [line.rstrip() for line in message.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n" if kept else ""


def settle_index(worktree: Path, git_dir: Path) -> None:
    """Have the index of a worktree whose files git checked out record them as clean, once a
    second has passed since it was written; before that, leave it.

    git keeps file times to the second: a file as new as the index could have changed after
    the index was written without its size or time showing it ("racily clean"), so every
    ``git status`` hashes such files again, and a status that may not write the index
    (``GIT_OPTIONAL_LOCKS=0``, as here) does so each time: 0.2 s for a stable patch's
    thousand files, on every ``patchsmith status`` until a resolution commits. A refresh in a
    later second hashes them once and writes an index newer than all of them. In the same
    second it would write one as racy as before, so it is not run.
    """
    try:
        written = os.stat(git_dir / "index").st_mtime
    except FileNotFoundError:
        return
    if int(time.time()) <= int(written):
        return
    # Exit 1 when a file differs from the index (a conflict block apply wrote): its entry is
    # left as it is, and the others are refreshed all the same.
    run_git(["update-index", "-q", "--refresh"], cwd=worktree, check=False)


_CONVERTING_KEYS = (b"core.eol", b"core.attributesfile", b"core.worktree")
"""Config keys under which a checkout could write, or ``git status`` compare, a file other
than byte for byte (or somewhere else), whatever their value."""
_CONVERTING_SWITCHES = (
    b"core.autocrlf",
    b"core.ignorecase",
    b"core.precomposeunicode",
    b"core.sparsecheckout",
)
"""Config keys that do so unless they are off."""
_CONVERTING_ATTRIBUTES = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")


def checkout_is_verbatim(worktree: Path, paths: Sequence[str]) -> bool:
    """Whether git wrote each of ``paths`` in ``worktree`` as its blob's bytes, and ``git
    status`` compares them so: no config key and no attribute (from a ``.gitattributes`` of
    the worktree, the repository's ``info/attributes``, the user's or the system's attributes
    file, none of which the scrubbed environment turns off) converts line ends, filters,
    expands ``$Id$``, re-encodes, folds case or leaves paths out. ``False`` when git says any
    could."""
    listed = run_git(["config", "--list", "-z"], cwd=worktree).stdout
    for entry in listed.split(b"\0"):
        key, _newline, value = entry.partition(b"\n")
        key = key.lower()
        if key.startswith(b"filter.") or key in _CONVERTING_KEYS:
            return False
        if key in _CONVERTING_SWITCHES and value.strip().lower() not in (
            b"false",
            b"no",
            b"off",
            b"0",
        ):
            return False
    if not paths:
        return True
    answer = run_git(
        ["check-attr", "-z", "--stdin", *_CONVERTING_ATTRIBUTES],
        cwd=worktree,
        input=b"".join(path.encode("utf-8", "surrogateescape") + b"\0" for path in paths),
    ).stdout
    values = answer.split(b"\0")[2::3]  # path, attribute, value for each pair
    # Unset is what patchsmith's own repository gives every path (tree_repository).
    return all(value in (b"unspecified", b"unset") for value in values)


CHECKOUT_AGE_NS = 2_000_000_000
"""How far back the files :func:`checkout_files` writes are dated: enough that they are older
than the index by a whole second, so git never takes them for racily clean."""


def checkout_files(
    git_dir: Path,
    worktree: Path,
    branch: str,
    commit: str,
    files: Mapping[str, tuple[str, bytes]],
    blobs: Mapping[str, bytes],
    staged: staging.Staging | None = None,
) -> bool:
    """A worktree at ``worktree`` on a new ``branch`` at ``commit``, whose tree is ``files``
    (path -> (mode, bytes); ``blobs``: their blob ids): git makes the branch and the worktree
    without checking anything out, and the files and the index are written here; ``True``.
    Where git's own checkout could write other bytes than these (a link, a ``.gitattributes``
    among them, an attribute or a config key that converts), or a file system could fold two
    of the names into one, git checks it out instead (``git worktree add``, or ``git reset
    --hard`` in the worktree once made); ``False``.

    ``git worktree add`` wrote the files, then an index as new as them, so that each later
    ``git status`` hashed them all again (0.1-0.2 s for a stable patch), and a refresh a
    second later hashed them once more. Here each file is written, dated two seconds back
    (older than the index by a whole second: git trusts its stat data from then on) and
    ``fstat``-ed for the index entry git would write for it. A file of other bytes later
    (a conflict block apply writes, a person's edit) has a new date, so git reads it.

    With ``staged`` (:mod:`patchsmith.workspace.staging`: the folders and empty files made
    while apply worked), that folder becomes the worktree and its files are filled in; where
    it cannot be used, it is removed and the files are created here.
    """
    names = set(files) | {
        path[:at] for path in files for at, char in enumerate(path) if char == "/"
    }
    if (
        any(mode not in ("100644", "100755") for mode, _data in files.values())
        or not all(name.isascii() for name in names)
        or len({name.lower() for name in names}) != len(names)
        or any(path.rpartition("/")[2] == ".gitattributes" for path in files)
    ):
        checkout_branch(git_dir, worktree, branch, commit)
        return False
    worktree.parent.mkdir(parents=True, exist_ok=True)
    command = ["worktree", "add", "--quiet", "--no-checkout", "-b", branch]
    run_git([*command, os.fspath(worktree), commit], git_dir=git_dir)
    if not checkout_is_verbatim(worktree, sorted(files)):
        run_git(["reset", "--quiet", "--hard"], cwd=worktree)
        return False
    admin = Path(git_dir_of(worktree))
    made = _swap_in(worktree, files, staged) if staged is not None else {}
    when = time.time_ns() - CHECKOUT_AGE_NS
    entries: list[tuple[bytes, bytes]] = []
    folders: set[str] = set()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    refill = os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    for path in sorted(files):
        mode, data = files[path]
        if made.get(path) == mode:
            handle = os.open(worktree / path, refill)
        else:
            folder = path.rpartition("/")[0]
            if folder and folder not in folders:
                os.makedirs(worktree / folder, exist_ok=True)
                folders.add(folder)
            handle = os.open(worktree / path, flags, 0o777 if mode == "100755" else 0o666)
        try:
            written = os.write(handle, data)
            if written != len(data):
                _write_rest(handle, data, written)
            os.utime(handle, ns=(when, when))
            info = os.fstat(handle)
        finally:
            os.close(handle)
        name = path.encode("ascii")
        entries.append((name, _index_entry(info, mode, blobs[path], name)))
    _write_index(admin / "index", entries)
    return True


def _swap_in(
    worktree: Path, files: Mapping[str, tuple[str, bytes]], staged: staging.Staging
) -> dict[str, str]:
    """Put ``staged``'s folder (its folders and empty files made while apply worked, see
    :mod:`patchsmith.workspace.staging`) where the ``worktree`` git just added is, with that
    worktree's ``.git`` file; the empty files left that ``files`` needs (path -> mode), the
    others and the folders only they needed removed. ``{}``, the worktree as git left it and
    the staging folder removed, when the child failed or the worktree holds more than ``.git``.
    """
    folder = staged.take()
    if folder is None:
        return {}
    try:
        entries = os.listdir(worktree)
    except OSError:
        entries = []
    if entries != [".git"] or not stat.S_ISREG(os.lstat(worktree / ".git").st_mode):
        staged.discard()
        return {}
    os.rename(worktree / ".git", folder / ".git")
    try:
        os.rmdir(worktree)
        os.rename(folder, worktree)
    except OSError:
        # Put it back as git made it; the files are then created one by one.
        with contextlib.suppress(OSError):
            os.mkdir(worktree)
        os.rename(folder / ".git", worktree / ".git")
        staged.discard()
        return {}
    staged.used = True
    needed = {path[:at] for path in files for at, char in enumerate(path) if char == "/"}
    stale: set[str] = set()
    kept: dict[str, str] = {}
    for path, mode in staged.files.items():
        if files.get(path, ("", b""))[0] == mode:
            kept[path] = mode
            continue
        os.unlink(worktree / path)
        stale.update(path[:at] for at, char in enumerate(path) if char == "/")
    # Deepest first: a folder only a removed file needed holds nothing once they are gone.
    for folder_path in sorted(stale - needed, key=lambda name: name.count("/"), reverse=True):
        os.rmdir(worktree / folder_path)
    return kept


def _write_rest(handle: int, data: bytes, written: int) -> None:
    view = memoryview(data)
    while written < len(data):
        written += os.write(handle, view[written:])


def _index_entry(info: os.stat_result, mode: str, blob: bytes, name: bytes) -> bytes:
    """One entry of a version 2 index, as git writes it for a file it checked out: the stat
    data (32 bits each, as git keeps them), the mode, the blob id, the flags (stage 0, the
    name's length), the name and 1-8 NULs to a multiple of 8 bytes."""
    mask = 0xFFFFFFFF
    head = struct.pack(
        ">10I20sH",
        (info.st_ctime_ns // 1_000_000_000) & mask,
        info.st_ctime_ns % 1_000_000_000,
        (info.st_mtime_ns // 1_000_000_000) & mask,
        info.st_mtime_ns % 1_000_000_000,
        info.st_dev & mask,
        info.st_ino & mask,
        0o100755 if mode == "100755" else 0o100644,
        info.st_uid & mask,
        info.st_gid & mask,
        info.st_size & mask,
        blob,
        min(len(name), 0xFFF),
    )
    size = len(head) + len(name)
    return head + name + b"\0" * (8 - size % 8)


def _write_index(path: Path, entries: list[tuple[bytes, bytes]]) -> None:
    """A version 2 index of ``entries`` (name, entry), in git's order (names as bytes), no
    extension, and its SHA-1; written under git's lock name and renamed into place."""
    entries.sort()
    body = b"DIRC" + struct.pack(">II", 2, len(entries)) + b"".join(e for _n, e in entries)
    lock = path.with_name(path.name + ".lock")
    with open(lock, "xb") as handle:
        handle.write(body + hashlib.sha1(body).digest())
    os.replace(lock, path)


def checkout_branch(git_dir: Path, worktree: Path, branch: str, commit: str) -> None:
    """A worktree at ``worktree`` on a new ``branch`` at ``commit``, checked out whole (a
    plain tree's commits hold only the touched files)."""
    worktree.parent.mkdir(parents=True, exist_ok=True)
    command = ["worktree", "add", "--quiet", "-b", branch, os.fspath(worktree), commit]
    run_git(command, git_dir=git_dir)


def snapshot_paths(
    git_dir: Path,
    tree: Path,
    paths: Iterable[str],
    message: str,
    parent: str | None = None,
) -> str:
    """A commit holding ``paths`` of ``tree`` exactly as they are (see :func:`tree_entries`);
    nothing is written to ``tree``.

    Without ``parent``, a parentless commit of those paths only (its objects written as one
    pack: :func:`_imported_tree`). With it, ``parent``'s tree with those paths replaced by the
    tree's (removed where the tree lacks them), committed on top of ``parent``; ``parent``
    itself when that changes nothing (the common case, seen without building an index of the
    whole parent).
    """
    listed = sorted(set(paths))
    entries = tree_entries(tree, listed)
    if parent is None:
        tree_sha = _imported_tree(git_dir, tree, entries)
        return _out(
            run_git(
                ["commit-tree", tree_sha], git_dir=git_dir, input=message.encode("utf-8") + b"\n"
            )
        )
    wanted = _hashed(git_dir, tree, entries)
    if _held(git_dir, parent, [*listed, *entries]) == wanted:
        return parent
    with tempfile.TemporaryDirectory(prefix="patchsmith-index-") as scratch:
        env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        run_git(["read-tree", parent], git_dir=git_dir, env=env)
        held = run_git(["ls-files", "-z", "--", *listed], git_dir=git_dir, env=env).stdout
        exact = set(listed)
        # Exactly the listed paths: a listed path that is a folder in the parent (the
        # patch treats it as a file) names the files below it too, and those stay.
        gone = [p for p in held.split(b"\0") if p and p.decode("utf-8", "surrogateescape") in exact]
        if gone:
            run_git(
                ["update-index", "-z", "--force-remove", "--stdin"],
                git_dir=git_dir,
                env=env,
                input=b"\0".join(gone) + b"\0",
            )
        # A link, or the link or file a path lies beyond: it replaces whatever the parent
        # held below it.
        folders = [p for p, (mode, _t) in entries.items() if mode == SYMLINK or p not in exact]
        if folders:
            inside = run_git(["ls-files", "-z", "--", *folders], git_dir=git_dir, env=env).stdout
            below = [
                p
                for p in inside.split(b"\0")
                if p and p.decode("utf-8", "surrogateescape") not in entries
            ]
            if below:
                run_git(
                    ["update-index", "-z", "--force-remove", "--stdin"],
                    git_dir=git_dir,
                    env=env,
                    input=b"\0".join(below) + b"\0",
                )
        lines = [
            f"{mode} {sha}\t{path}".encode("utf-8", "surrogateescape") + b"\0"
            for path, (mode, sha) in sorted(wanted.items())
        ]
        if lines:
            run_git(
                ["update-index", "-z", "--add", "--replace", "--index-info"],
                git_dir=git_dir,
                env=env,
                input=b"".join(lines),
            )
        tree_sha = _out(run_git(["write-tree"], git_dir=git_dir, env=env))
    if tree_sha == _out(run_git(["rev-parse", f"{parent}^{{tree}}"], git_dir=git_dir)):
        return parent
    command = ["commit-tree", tree_sha, "-p", parent]
    return _out(run_git(command, git_dir=git_dir, input=message.encode("utf-8") + b"\n"))


# --- worktrees ------------------------------------------------------------------------------------


def add_worktree(
    git_dir: Path, worktree: Path, branch: str, commit: str, paths: Iterable[str] | None
) -> None:
    """A worktree at ``worktree`` on a new ``branch`` at ``commit``, with only ``paths`` checked
    out (all of them when ``None``); the other files are marked skip-worktree."""
    worktree.parent.mkdir(parents=True, exist_ok=True)
    run_git(
        ["worktree", "add", "--quiet", "--no-checkout", "-b", branch, os.fspath(worktree), commit],
        git_dir=git_dir,
    )
    run_git(["read-tree", commit], cwd=worktree)
    if paths is None:
        run_git(["checkout-index", "-a", "-f"], cwd=worktree)
        return
    wanted = set(paths)
    # The folders on the way to a touched path too: where the index holds one of them as a
    # link or a file, the worktree must show it, as the tree does, or a path beyond it would
    # look merely absent.
    for path in list(wanted):
        folder = path.rpartition("/")[0]
        while folder and folder not in wanted:
            wanted.add(folder)
            folder = folder.rpartition("/")[0]
    listed = run_git(["ls-files", "-z"], cwd=worktree).stdout.split(b"\0")
    skip = [p for p in listed if p and p.decode("utf-8", "surrogateescape") not in wanted]
    if skip:
        run_git(
            ["update-index", "-z", "--skip-worktree", "--stdin"],
            cwd=worktree,
            input=b"\0".join(skip) + b"\0",
        )
    present = [p for p in listed if p and p.decode("utf-8", "surrogateescape") in wanted]
    if present:
        run_git(
            ["checkout-index", "-f", "-z", "--stdin"],
            cwd=worktree,
            input=b"\0".join(present) + b"\0",
        )


def remove_worktree(git_dir: Path, worktree: Path) -> None:
    """Remove a worktree (its files and its administrative directory)."""
    if worktree.exists():
        run_git(["worktree", "remove", "--force", "--force", os.fspath(worktree)], git_dir=git_dir)
    run_git(["worktree", "prune"], git_dir=git_dir, check=False)
    if worktree.exists():
        shutil.rmtree(worktree)


def delete_branch(git_dir: Path, branch: str) -> None:
    run_git(["branch", "-D", "--quiet", branch], git_dir=git_dir, check=False)


def common_dir(worktree: Path) -> Path:
    """The repository's shared git directory (where branches live) for a worktree."""
    result = run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=worktree)
    return Path(_out(result))


def worktrees(git_dir: Path) -> list[Path]:
    """Every worktree of the repository at ``git_dir``, as ``git worktree list`` gives them."""
    listing = _out(run_git(["worktree", "list", "--porcelain"], git_dir=git_dir))
    prefix = "worktree "
    return [Path(line[len(prefix) :]) for line in listing.splitlines() if line.startswith(prefix)]


def repositories_for(start: Path) -> list[Path]:
    """The git directories where sessions made from the tree holding ``start`` live: the
    repository ``start`` is in (a git tree's sessions are its worktrees), and the repository
    patchsmith keeps for the nearest enclosing plain tree it has worked on."""
    found: list[Path] = []
    result = run_git(["rev-parse", "--show-toplevel"], cwd=start, check=False)
    if result.code == 0:
        found.append(common_dir(Path(_out(result))))
    real = Path(os.path.realpath(start))
    for folder in (real, *real.parents):
        kept = data_home() / "trees" / tree_key(folder) / "repo.git"
        if (kept / "HEAD").exists():
            found.append(kept)
            break
    return found


def worktree_of_branch(git_dir: Path, branch: str) -> Path | None:
    """The worktree that has ``branch`` checked out, if any."""
    listing = _out(run_git(["worktree", "list", "--porcelain"], git_dir=git_dir))
    current: Path | None = None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree ") :])
        elif line == f"branch refs/heads/{branch}" and current is not None:
            return current
    return None


def commit_paths(
    worktree: Path, paths: Iterable[str], message: str, modes: Mapping[str, str] | None = None
) -> str:
    """Stage ``paths`` (added, changed or deleted) and commit them; return HEAD.

    ``modes`` gives paths whose git mode (``100644``/``100755``) is recorded as given, whatever
    ``core.fileMode`` says: a user's repository may ignore executable bits.

    Commits even when nothing changed (``--allow-empty``), so the branch's story always has the
    step. Hooks never run (``core.hooksPath=/dev/null`` and ``--no-verify``).
    """
    listed = _stageable(worktree, paths)
    if listed:
        run_git(
            [
                *_bulk_objects(len(listed)),
                *("add", "-f", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"),
            ],
            cwd=worktree,
            input=b"\0".join(p.encode("utf-8", "surrogateescape") for p in listed) + b"\0",
        )
    # Only files still there: a later diff of the same patch may have deleted the file whose
    # mode an earlier one changed.
    view = Tree(worktree)
    kept_modes = {p: m for p, m in (modes or {}).items() if view.kind(p).kind == Kind.FILE}
    for flag in ("+x", "-x"):
        chosen = sorted(p for p, m in kept_modes.items() if (m == "100755") == (flag == "+x"))
        if chosen:
            run_git(["update-index", f"--chmod={flag}", "--", *chosen], cwd=worktree)
    run_git(
        ["commit", "--quiet", "--no-verify", "--allow-empty", "--no-edit", "-F", "-"],
        cwd=worktree,
        input=message.encode("utf-8") + b"\n",
    )
    return rev_parse(worktree, "HEAD")


BULK_OBJECTS = 64
"""From this many files on, ``git add`` writes their objects as one pack (:func:`_bulk_objects`)."""


def _bulk_objects(count: int) -> list[str]:
    """Options that make ``git add`` of ``count`` files write one pack instead of a loose object
    per file, for many files (apply's commit of a stable patch's thousand results).

    Each loose object is a file made, written and renamed: on a busy disk that waits on the
    file system's journal, 1-4 ms a file, more than hashing and compressing it. Files above
    ``core.bigFileThreshold`` are streamed into one pack for the whole ``git add`` (git's bulk
    check-in), at the loose objects' compression level (1); a file a filter converts still
    takes the usual way, so what is stored is what ``git add`` always stores. A few files
    (one resolution) stay loose: a pack for each would leave hundreds of tiny packs.
    """
    if count < BULK_OBJECTS:
        return []
    return ["-c", "core.bigFileThreshold=1", "-c", "pack.compression=1"]


def _stageable(worktree: Path, paths: Iterable[str]) -> list[str]:
    """The ``paths`` ``git add -A`` can take: those in the worktree (reached without passing a
    link) or in the index (a deletion to stage). Anything else (a file the tree lacks, one
    beyond a link) would stop git with "pathspec did not match" or "beyond a symbolic link"."""
    wanted = sorted(set(paths))
    if not wanted:
        return []
    view = Tree(worktree)
    present: list[str] = []
    missing: set[str] = set()
    for path in wanted:
        entry = view.kind(path)
        if entry.kind in (Kind.FILE, Kind.LINK):
            present.append(path)
        elif entry.kind == Kind.ABSENT and entry.obstacle is None:
            missing.add(path)
    if missing:
        tracked = {
            p.decode("utf-8", "surrogateescape")
            for p in run_git(["ls-files", "-z"], cwd=worktree).stdout.split(b"\0")
            if p
        }
        present += [p for p in missing if p in tracked]
    return sorted(present)


def head(worktree: Path) -> str:
    return rev_parse(worktree, "HEAD")


def last_message(worktree: Path) -> str:
    return _out(run_git(["log", "-1", "--format=%B"], cwd=worktree))


def show_file(worktree: Path, commit: str, path: str) -> bytes | None:
    """A file's bytes at ``commit``, or ``None`` when it is not there."""
    result = run_git(["cat-file", "blob", f"{commit}:{path}"], cwd=worktree, check=False)
    return result.stdout if result.code == 0 else None


def show_files(worktree: Path, commit: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """Many files' bytes at ``commit`` from one ``git cat-file --batch`` (``None``: not there)."""
    wanted = list(dict.fromkeys(paths))
    found: dict[str, bytes | None] = {}
    batch = [p for p in wanted if "\n" not in p and "\r" not in p]
    for path in wanted:
        if path not in batch:
            found[path] = show_file(worktree, commit, path)  # a name the batch cannot carry
    if not batch:
        return found
    request = "".join(f"{commit}:{path}\n" for path in batch).encode("utf-8", "surrogateescape")
    output = run_git(["cat-file", "--batch"], cwd=worktree, input=request).stdout
    at = 0
    for path in batch:
        end = output.index(b"\n", at)
        header = output[at:end].split(b" ")
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = output[at : at + size]
            at += size + 1
        else:
            found[path] = None  # missing, or not a file (a tree, a submodule)
            if len(header) == 3:
                at += int(header[2]) + 1
    return found


def modes_at(worktree: Path, commit: str, paths: Sequence[str]) -> dict[str, str]:
    """The git modes (``100644``, ``100755``, ``120000``) of ``paths`` at ``commit``; a path
    not there is left out."""
    if not paths:
        return {}
    listing = run_git(["ls-tree", "-z", commit, "--", *paths], cwd=worktree).stdout
    modes: dict[str, str] = {}
    for entry in listing.split(b"\0"):
        if entry:
            info, _tab, name = entry.partition(b"\t")
            modes[name.decode("utf-8", "surrogateescape")] = info.split(b" ", 1)[0].decode()
    return modes


def diff(worktree: Path, base: str, tip: str) -> bytes:
    """``git diff base..tip`` as bytes, in the form ``patch -p1`` reads (a/ b/, no renames)."""
    return run_git(
        [
            "diff",
            "--no-ext-diff",
            "--no-color",
            "--no-renames",
            "--no-textconv",
            "--binary",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            f"{base}..{tip}",
        ],
        cwd=worktree,
    ).stdout


def changed_paths(worktree: Path) -> list[str]:
    """Paths with uncommitted changes in a worktree (tracked or untracked, not ignored)."""
    return dirty_paths(worktree)


def merge_file(
    ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]
) -> tuple[bytes, int]:
    """``git merge-file -p --diff3``: the merged text and the number of conflicts (0 = clean)."""
    with tempfile.TemporaryDirectory(prefix="patchsmith-merge-") as scratch:
        names = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(scratch, name)
            with open(path, "wb") as handle:
                handle.write(data)
            names.append(path)
        result = run_git(
            [
                "merge-file",
                "-p",
                "--diff3",
                "-L",
                labels[0],
                "-L",
                labels[1],
                "-L",
                labels[2],
                *names,
            ],
            check=False,
        )
    if result.code < 0 or result.code > 127:
        raise GitError(
            "git merge-file failed",
            output=result.stderr.decode("utf-8", "replace"),
        )
    return result.stdout, result.code


# --- the full tree, for a build -----------------------------------------------------------------


def skipped_paths(worktree: Path) -> list[str]:
    """Index entries marked skip-worktree: what a sparse worktree has not materialised."""
    listed = run_git(["ls-files", "-t", "-z"], cwd=worktree).stdout.split(b"\0")
    return [e[2:].decode("utf-8", "surrogateescape") for e in listed if e.startswith(b"S ")]


def materialise_full(
    worktree: Path,
    source: Path | None = None,
    progress: ProgressCallback | None = None,
    batch: int = 2000,
    leave: Iterable[str] = (),
) -> int:
    """Fill in the files a sparse worktree left out; return how many were written.

    For a git repository's worktree the skip-worktree entries are checked out from the index.
    For a plain directory (``source`` given) the files of ``source`` that the worktree does not
    hold are copied from it (the base commit only holds the touched files); ``source`` is only
    read; the paths in ``leave`` (what the patch touched: the worktree holds them as the
    session left them, a deleted file deleted) are never copied. ``progress`` gets (done,
    total) after each batch.

    Nothing is written outside the worktree. A plain tree's files are copied through the
    confined writer (:func:`patchsmith.workspace.confined.copy_in`: folders walked without
    following a link, a rename over each name): a link on the way is
    :class:`~patchsmith.workspace.confined.Blocked`, never passed. A git worktree is filled by
    ``git checkout-index``, which cannot write beyond a link either: the index cannot hold both
    a link and a path below it, and git replaces a link it finds on the way to an entry with
    the folder the entry needs (a test puts one there by hand).
    """
    if source is None:
        skipped = skipped_paths(worktree)
        total = len(skipped)
        for start in range(0, total, batch):
            chunk = skipped[start : start + batch]
            data = b"\0".join(p.encode("utf-8", "surrogateescape") for p in chunk) + b"\0"
            run_git(
                ["update-index", "-z", "--no-skip-worktree", "--stdin"], cwd=worktree, input=data
            )
            run_git(["checkout-index", "-f", "-z", "--stdin"], cwd=worktree, input=data)
            if progress is not None:
                progress(min(start + batch, total), total)
        return total
    tracked = {
        p.decode("utf-8", "surrogateescape")
        for p in run_git(["ls-files", "-z"], cwd=worktree).stdout.split(b"\0")
        if p
    }
    tracked.update(leave)
    real = os.path.realpath(source)
    # Per folder of the tree: the names the worktree lacks. The worktree is walked as the
    # confined writer walks it (no link followed), so a link there (a patch's own, or one
    # put by hand) is never passed: Blocked, a TreeError that stops the build.
    todo: list[tuple[str, list[str]]] = []
    for directory, subdirs, files in os.walk(real):
        relative_dir = os.path.relpath(directory, real)
        if relative_dir == ".":
            subdirs[:] = [d for d in subdirs if d != ".git"]
            relative_dir = ""
        names = [
            name
            for name in files + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
            if (f"{relative_dir}/{name}" if relative_dir else name) not in tracked
        ]
        if names:
            missing = _absent_from(worktree, relative_dir, names)
            if missing:
                todo.append((relative_dir, missing))
    total = sum(len(names) for _folder, names in todo)
    done = 0
    for relative_dir, names in todo:
        with confined.folder(worktree, relative_dir, create=True) as folder:
            for name in names:
                confined.copy_in(folder, name, os.path.join(real, relative_dir, name))
                done += 1
                if progress is not None and (done % batch == 0 or done == total):
                    progress(done, total)
    return total


def _absent_from(worktree: Path, relative_dir: str, names: list[str]) -> list[str]:
    """Which of ``names`` the worktree's folder ``relative_dir`` lacks (all, if it is missing)."""
    try:
        with confined.folder(worktree, relative_dir) as folder:
            return [name for name in names if not confined.exists_in(folder, name)]
    except FileNotFoundError:
        return names

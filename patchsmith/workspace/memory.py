"""Resolution memory: a decision made once is replayed where it was made, for a person to confirm.

Carrying the next sub-release onto the same vendor tree meets many of the same conflicts. Each
decision a person makes (``resolve``) is stored as one :class:`Entry` under
``$XDG_DATA_HOME/patchsmith/memory/``; the next ``apply`` replays it only where it was made:

- the same file path, upstream's exact pre- and post-image and the hunk's status;
- the same place: the vendor's region exactly, the :data:`NEIGHBOURHOOD` lines above and below
  it, and the definition line above it (the enclosing function), all in the file as ``apply``
  left it (clean hunks applied, no conflict markers); and that window must be found exactly
  once in the file, so that of two identical functions the one decided on is the only one a
  decision is replayed at;
- the same vanilla base file (its SHA-256) when the decision was made with ``--base``;
- by default, the same vendor tree lineage (:func:`lineage_of`).

Anything weaker (the same change meeting the same vendor lines elsewhere, on another tree, in
another place) is only a *suggestion*, shown beside the hunk and never applied. A replayed
decision is not an approval either: the session marks it ``reused: confirm`` until a person
confirms it (or ``apply --trust-memory`` says so up front).

This module needs a small record of a hunk (:class:`Situation`) and of a decision
(:class:`Decision`), never the session's classes: :mod:`patchsmith.workspace.session` imports it,
not the other way round. Records are JSON files written atomically; an unreadable one is
skipped, never a reason to stop.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from patchsmith.engine.filelines import enclosing_function
from patchsmith.engine.tree import check_relative
from patchsmith.errors import InputError, TreeError, UsageError
from patchsmith.model import Resolution
from patchsmith.record import record
from patchsmith.workspace import git

SCHEMA = "patchsmith.memory/1"
EXPORT_SCHEMA = "patchsmith.memory-export/1"
NEIGHBOURHOOD = 3
"""Lines above and below the vendor's region that must be the same for a replay (diff's own
context size)."""
LEGACY_FOLDER = "resolutions"
"""Where patchsmith kept decisions before they had a scope: never read, removed by ``forget``."""


# --- what memory knows of a hunk and a decision ----------------------------------------------


@record
class Situation:
    """What a hunk meets in a session: the part of a session hunk memory looks at."""

    hunk_id: str
    path: str
    status: str
    pre_image: str
    post_image: str
    vendor: str | None
    """The vendor's region (``None``: the hunk has no place in the file)."""
    vendor_start: int
    """Its 1-based first line in the file as ``apply`` left it (for an empty region: the line
    it sits before)."""


@record
class Place:
    """Where in the vendor's file a decision was made, beyond the region itself."""

    function: str
    """The definition line above the region (what git names in a hunk header), or ``""``."""
    before: str
    """Up to :data:`NEIGHBOURHOOD` lines right above the region."""
    after: str
    """Up to :data:`NEIGHBOURHOOD` lines right below it."""
    file: str | None
    """For a hunk without a region (a missing file, a file that exists): the SHA-256 of the
    file as ``apply`` left it, or ``absent``; ``None`` for a hunk with a region."""
    base: str | None
    """The SHA-256 of the vanilla file (``absent`` when the vanilla tree lacks it) when the
    session had ``--base``; ``None`` without a base."""


@record
class Decision:
    """What a person decided, and what it wrote in place of the vendor's region."""

    resolution: Resolution
    reason: str | None
    written: str | None
    """The text that replaced the region (``None``: nothing was written)."""
    by: str
    at: str


@record
class Entry:
    """One remembered decision with everything that scopes it."""

    lineage: str
    path: str
    status: str
    pre_image: str
    post_image: str
    vendor: str | None
    place: Place
    decision: Decision
    patch: str = ""
    """The patch the decision was made on (for people reading the memory)."""
    hunk_id: str = ""
    """The hunk's id in that session."""
    tree: str = ""
    """The tree it was made on."""

    @property
    def id(self) -> str:
        """The SHA-256 of the scope: one entry per situation and place (a new decision in the
        same place replaces the old one)."""
        return _digest(
            self.lineage,
            self.path,
            self.status,
            self.pre_image,
            self.post_image,
            "\0none" if self.vendor is None else self.vendor,
            self.place.function,
            self.place.before,
            self.place.after,
            self.place.file or "",
            self.place.base or "",
        )

    @property
    def situation(self) -> str:
        return situation_key(self.pre_image, self.post_image, self.vendor, self.status)


@record
class Verdict:
    """What memory says about one hunk: a decision to replay, or only a suggestion."""

    hunk_id: str
    entry: Entry
    reuse: bool
    why_not: str = ""
    """Why it is only a suggestion (empty for a reuse)."""
    closeness: int = 0
    """How many of :func:`judge`'s checks it passed: of several suggestions, the closest is
    shown."""

    @property
    def note(self) -> str:
        decision = self.entry.decision
        said = f"{decision.resolution} by {decision.by or 'someone'} at {decision.at or '?'}"
        made = f"on {self.entry.patch}" if self.entry.patch else "earlier"
        if self.reuse:
            return f"remembered: {said}, {made} (memory {self.entry.id[:12]})"
        return (
            f"suggestion: {said}, {made}; not reused: {self.why_not} (memory {self.entry.id[:12]})"
        )


# --- keys -------------------------------------------------------------------------------------


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _normalise(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def key_for(pre_image: str, post_image: str, vendor: str) -> str:
    """The loose key of a situation: upstream's change and the vendor's code it meets, with
    whitespace runs collapsed and blank lines dropped. It only finds candidates (and
    suggestions); a reuse compares everything exactly."""
    return _digest(_normalise(pre_image), _normalise(post_image), _normalise(vendor))


def situation_key(pre_image: str, post_image: str, vendor: str | None, status: str) -> str:
    return key_for(pre_image, post_image, ("" if vendor is None else vendor) + "\0" + status)


def sha256_of(data: bytes | None) -> str:
    return "absent" if data is None else hashlib.sha256(data).hexdigest()


# --- the place of a region ----------------------------------------------------------------------


def _split(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _text(lines: Sequence[bytes]) -> str:
    return b"".join(lines).decode("utf-8", "surrogateescape")


def place_of(situation: Situation, file: bytes | None, base: str | None) -> tuple[Place, int]:
    """The place of ``situation`` in ``file`` (the file as ``apply`` left it) and how many
    places in the file look the same (its window of neighbourhood and region, under the same
    definition line); a replay needs exactly one."""
    if situation.vendor is None:
        return Place("", "", "", sha256_of(file), base), 1
    lines = _split(file or b"")
    region = _split(situation.vendor.encode("utf-8", "surrogateescape"))
    start = max(situation.vendor_start - 1, 0)
    if lines[start : start + len(region)] != region:
        # The region is not where the session says: no place can be vouched for.
        return Place("", "", "", None, base), 0
    top = max(start - NEIGHBOURHOOD, 0)
    end = start + len(region)
    before, after = lines[top:start], lines[end : end + NEIGHBOURHOOD]
    found = enclosing_function(lines, start)
    function = found[1] if found is not None else b""
    window = before + region + after
    same = 0
    if window:
        for index in range(len(lines) - len(window) + 1):
            if lines[index] != window[0] or lines[index : index + len(window)] != window:
                continue
            other = enclosing_function(lines, index + len(before))
            if (other[1] if other is not None else b"") == function:
                same += 1
    else:
        same = 1  # an empty file: there is only one place
    place = Place(
        function.decode("utf-8", "surrogateescape"), _text(before), _text(after), None, base
    )
    return place, same


# --- lineage ----------------------------------------------------------------------------------

# The version lines of a kernel's top-level Makefile:
#   VERSION = 6
#   SUBLEVEL = 180
_VERSION_LINE = re.compile(rb"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION|NAME)\s*=.*$", re.M)


def lineage_of(tree: Path, kind: str, name: str | None = None) -> str:
    """The vendor tree's lineage, recorded with every decision made on it.

    - ``name:NAME`` when the user names it (``apply --lineage``): a team sharing memory, a copy
      of a tree, a vendor that rebases its branch.
    - ``git:COMMIT`` for a repository: its ``HEAD``. A decision is replayed on a tree whose
      ``HEAD`` is that commit or descends from it (the vendor's later commits), never on a
      fork it is not an ancestor of. (The root commit would not do: every kernel repository
      shares Linus's.)
    - ``dir:DIGEST`` for a plain directory, which carries no history: nothing in it proves
      where it came from, a path can be replaced in place and a tree can be copied. The digest
      is of its real path, its root directory's inode (a tree unpacked again at the same path
      is another tree) and the version lines of its top-level ``Makefile`` (another release at
      the same path is another tree). A copy or a new release is therefore another lineage:
      its decisions are suggestions until it is named with ``--lineage``.
    """
    if name:
        return f"name:{name}"
    if kind == "git":
        root = git.repository_root(tree)
        if root is not None:
            return f"git:{git.rev_parse(root, 'HEAD')}"
    real = os.path.realpath(tree)
    try:
        inode = os.stat(real).st_ino
    except OSError:
        inode = 0
    try:
        with open(os.path.join(real, "Makefile"), "rb") as handle:
            head = handle.read(4096)
    except OSError:
        head = b""
    version = b"\n".join(m.group(0).strip() for m in _VERSION_LINE.finditer(head))
    return "dir:" + _digest(real, str(inode), version.decode("utf-8", "replace"))[:32]


class LineageCheck:
    """Whether a recorded lineage covers the current one (git ancestry asked once per pair)."""

    def __init__(self, current: str, repository: Path | None) -> None:
        self.current = current
        self.repository = repository
        self._known: dict[str, bool] = {}

    def covers(self, recorded: str) -> bool:
        if recorded == self.current:
            return True
        if not (recorded.startswith("git:") and self.current.startswith("git:")):
            return False
        if recorded not in self._known:
            answer = False
            if self.repository is not None:
                result = git.run_git(
                    ["merge-base", "--is-ancestor", recorded[4:], self.current[4:]],
                    git_dir=self.repository,
                    check=False,
                )
                answer = result.code == 0
            self._known[recorded] = answer
        return self._known[recorded]


def judge(
    entry: Entry, situation: Situation, place: Place, same: int, lineage: LineageCheck
) -> Verdict:
    """Replay ``entry`` at this hunk, or only suggest it (and say why)."""

    passed = 0

    def suggest(why: str) -> Verdict:
        return Verdict(situation.hunk_id, entry, reuse=False, why_not=why, closeness=passed)

    if entry.path != situation.path:
        return suggest(f"it was made on {entry.path}")
    passed += 1
    if (entry.pre_image, entry.post_image, entry.vendor, entry.status) != (
        situation.pre_image,
        situation.post_image,
        situation.vendor,
        situation.status,
    ):
        return suggest("upstream's change or the vendor's lines differ (beyond whitespace)")
    passed += 1
    if not lineage.covers(entry.lineage):
        return suggest(f"it was made on another tree ({entry.tree or entry.lineage})")
    passed += 1
    if entry.place.base != place.base:
        if entry.place.base is None:
            return suggest("it was made without --base")
        if place.base is None:
            return suggest("it was made with --base")
        passed += 1  # a base on both sides is closer than a base on one
        return suggest("it was made with another vanilla base file")
    passed += 2
    if entry.place.file != place.file:
        return suggest("the file differs from the one it was made on")
    passed += 1
    if entry.place.function != place.function:
        shown = entry.place.function.strip() or "no function"
        return suggest(f"it was made in another place ({shown})")
    passed += 1
    if (entry.place.before, entry.place.after) != (place.before, place.after):
        return suggest("the lines around the vendor's region differ")
    passed += 1
    if same != 1:
        return suggest(
            "the place cannot be told apart"
            + (f": it appears {same} times in the file" if same else "")
        )
    return Verdict(situation.hunk_id, entry, reuse=True)


# --- storage ----------------------------------------------------------------------------------


def directory() -> Path:
    return git.data_home() / "memory"


def _encode(entry: Entry) -> str:
    place = entry.place
    data = {
        "schema": SCHEMA,
        "id": entry.id,
        "situation": entry.situation,
        "lineage": entry.lineage,
        "path": entry.path,
        "status": entry.status,
        "pre_image": entry.pre_image,
        "post_image": entry.post_image,
        "vendor": entry.vendor,
        "function": place.function,
        "before": place.before,
        "after": place.after,
        "file": place.file,
        "base": place.base,
        "resolution": str(entry.decision.resolution),
        "reason": entry.decision.reason,
        "written": entry.decision.written,
        "by": entry.decision.by,
        "at": entry.decision.at,
        "patch": entry.patch,
        "hunk": entry.hunk_id,
        "tree": entry.tree,
    }
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _decode(text: str) -> Entry:
    data: Any = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError("not a patchsmith memory record")
    entry = Entry(
        lineage=_string(data, "lineage"),
        path=_string(data, "path"),
        status=_string(data, "status"),
        pre_image=_string(data, "pre_image"),
        post_image=_string(data, "post_image"),
        vendor=_optional(data, "vendor"),
        place=Place(
            function=_string(data, "function"),
            before=_string(data, "before"),
            after=_string(data, "after"),
            file=_optional(data, "file"),
            base=_optional(data, "base"),
        ),
        decision=Decision(
            resolution=Resolution(data["resolution"]),
            reason=_optional(data, "reason"),
            written=_optional(data, "written"),
            by=_optional(data, "by") or "",
            at=_optional(data, "at") or "",
        ),
        patch=_optional(data, "patch") or "",
        hunk_id=_optional(data, "hunk") or "",
        tree=_optional(data, "tree") or "",
    )
    if data.get("id") != entry.id:
        raise ValueError("the record's id does not match its content")
    return entry


def _unusable(folder: Path, error: OSError) -> InputError:
    return InputError(
        f"cannot write the resolution memory in {folder}: {error.strerror or error}",
        hint="set XDG_DATA_HOME to a directory you can write (patchsmith keeps its resolution "
        "memory, worktrees and the repositories of plain trees there), or resolve with "
        "--no-remember",
    )


class Memory:
    """The remembered decisions in one folder (the user's, or a demo's own)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else directory()

    def _name(self, entry_id: str, situation: str) -> str:
        return f"{situation[:16]}-{entry_id}.json"

    def _files(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.folder) if n.endswith(".json"))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return []

    def _read(self, name: str) -> Entry | None:
        try:
            return _decode((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def entries(self) -> list[Entry]:
        """Every readable entry, by path, function and id (a stable order)."""
        found = [e for e in (self._read(n) for n in self._files()) if e is not None]
        return sorted(found, key=lambda e: (e.path, e.place.function, e.id))

    def candidates(self, situations: Iterable[str]) -> dict[str, list[Entry]]:
        """The entries for each situation key (one directory listing, then only their files)."""
        wanted = {s[:16]: s for s in situations}
        out: dict[str, list[Entry]] = {}
        for name in self._files():
            key = wanted.get(name[:16])
            if key is None:
                continue
            entry = self._read(name)
            if entry is not None and entry.situation == key:
                out.setdefault(key, []).append(entry)
        return out

    def entry(self, entry_id: str, situation: str) -> Entry | None:
        """The entry with this id for this situation, if it is remembered and readable."""
        return self._read(self._name(entry_id, situation))

    def raw(self, entry_id: str, situation: str) -> str | None:
        try:
            return (self.folder / self._name(entry_id, situation)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def require_writable(self) -> None:
        """Raise a typed error (exit 2) now, before a resolution, when nothing can be stored."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / f".probe.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise _unusable(self.folder, error) from error

    def _write(self, name: str, text: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.folder / name)
        except OSError as error:
            raise _unusable(self.folder, error) from error

    def put(self, entry: Entry) -> None:
        self._write(self._name(entry.id, entry.situation), _encode(entry))

    def put_raw(self, entry_id: str, situation: str, text: str) -> None:
        self._write(self._name(entry_id, situation), text)

    def remove(self, entry_id: str, situation: str) -> bool:
        try:
            (self.folder / self._name(entry_id, situation)).unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as error:
            raise _unusable(self.folder, error) from error

    def restore(self, entry_id: str, situation: str, previous: str | None) -> None:
        """Take back what one resolution added: the entry it replaced, or nothing."""
        if previous is None:
            self.remove(entry_id, situation)
        else:
            self.put_raw(entry_id, situation, previous)

    def legacy(self) -> Path | None:
        """The folder of records an older patchsmith kept without a scope (never read)."""
        old = self.folder.parent / LEGACY_FOLDER
        return old if old.is_dir() else None

    def clear(self) -> int:
        """Forget everything (and the unscoped records of an older patchsmith); the count."""
        count = 0
        for entry in self.entries():
            count += self.remove(entry.id, entry.situation)
        old = self.legacy()
        if old is not None:
            for name in os.listdir(old):
                (old / name).unlink()
            old.rmdir()
        return count

    def find(self, prefix: str) -> Entry:
        """The entry whose id starts with ``prefix`` (at least 6 hex digits)."""
        if len(prefix) < 6 or not re.fullmatch(r"[0-9a-f]+", prefix):
            raise UsageError(
                f"{prefix!r} is neither a hunk id (path#N) nor a memory id",
                hint="'patchsmith memory list' shows the ids (12 hex digits are enough)",
            )
        found = [e for e in self.entries() if e.id.startswith(prefix)]
        if len(found) != 1:
            raise UsageError(
                f"{'no' if not found else len(found)} remembered decision(s) with id {prefix}",
                hint="'patchsmith memory list' shows the ids",
            )
        return found[0]


# --- export and import ------------------------------------------------------------------------

# The export is text a team reviews in a merge request: one block per decision, scalar fields as
# JSON strings on ``key: value`` lines, texts as lines prefixed with "| " (their bytes exactly;
# "\ no newline" after a last line without one), "none" for an absent text. For example:
#   decision 5e1f0c3a9d2b...
#   path: "drivers/md/dm-snap.c"
#   written:
#   | 	if (!s->store)
#   end
_SCALARS = (
    "path",
    "status",
    "lineage",
    "tree",
    "patch",
    "hunk",
    "resolution",
    "reason",
    "by",
    "at",
    "file",
    "base",
)
_TEXTS = ("function", "before", "vendor", "after", "pre-image", "post-image", "written")
_NO_NEWLINE = b"\\ no newline\n"


def _fields(entry: Entry) -> dict[str, str | None]:
    return {
        "path": entry.path,
        "status": entry.status,
        "lineage": entry.lineage,
        "tree": entry.tree,
        "patch": entry.patch,
        "hunk": entry.hunk_id,
        "resolution": str(entry.decision.resolution),
        "reason": entry.decision.reason,
        "by": entry.decision.by,
        "at": entry.decision.at,
        "file": entry.place.file,
        "base": entry.place.base,
        "function": entry.place.function,
        "before": entry.place.before,
        "vendor": entry.vendor,
        "after": entry.place.after,
        "pre-image": entry.pre_image,
        "post-image": entry.post_image,
        "written": entry.decision.written,
    }


def export_text(entries: Sequence[Entry]) -> bytes:
    """The entries as reviewable text, in a stable order (the same memory: the same bytes)."""
    ordered = sorted(entries, key=lambda e: (e.path, e.place.function, e.id))
    out = [
        f"# patchsmith resolution memory: {len(ordered)} decision(s) ({EXPORT_SCHEMA})\n".encode(),
        b"# 'patchsmith memory import FILE' adds them to a memory; each is replayed only on its\n",
        b"# lineage, in its place, and waits for a person to confirm it.\n",
    ]
    for entry in ordered:
        out.append(f"\ndecision {entry.id}\n".encode())
        values = _fields(entry)
        for key in _SCALARS:
            value = values[key]
            out.append(f"{key}: {'none' if value is None else json.dumps(value)}\n".encode())
        for key in _TEXTS:
            value = values[key]
            if value is None:
                out.append(f"{key}: none\n".encode())
                continue
            out.append(f"{key}:\n".encode())
            data = value.encode("utf-8", "surrogateescape")
            for chunk in _chunks(data):
                out.append(b"| " + chunk)
                if not chunk.endswith(b"\n"):
                    out.append(b"\n" + _NO_NEWLINE)
        out.append(b"end\n")
    return b"".join(out)


def _chunks(data: bytes) -> Iterator[bytes]:
    """``data`` cut after each ``\\n`` only (a lone ``\\r`` stays inside its chunk)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end]
        start = end


def _entry_from(values: Mapping[str, str | None]) -> Entry:
    def need(key: str) -> str:
        value = values[key]
        if value is None:
            raise ValueError(f"{key} cannot be none")
        return value

    try:
        resolution = Resolution(need("resolution"))
    except ValueError as error:
        raise ValueError(f"unknown resolution {values['resolution']!r}") from error
    return Entry(
        lineage=need("lineage"),
        path=need("path"),
        status=need("status"),
        pre_image=need("pre-image"),
        post_image=need("post-image"),
        vendor=values["vendor"],
        place=Place(
            function=need("function"),
            before=need("before"),
            after=need("after"),
            file=values["file"],
            base=values["base"],
        ),
        decision=Decision(
            resolution=resolution,
            reason=values["reason"],
            written=values["written"],
            by=values["by"] or "",
            at=values["at"] or "",
        ),
        patch=values["patch"] or "",
        hunk_id=values["hunk"] or "",
        tree=values["tree"] or "",
    )


def import_text(data: bytes, source: str) -> list[Entry]:
    """The entries of an export; a malformed one stops with its line number (exit 2)."""
    lines = list(_chunks(data))
    entries: list[Entry] = []
    index = 0

    def fail(message: str) -> InputError:
        return InputError(
            f"{source}:{index + 1}: {message}",
            hint="the file must be what 'patchsmith memory export' wrote (edited only inside "
            "a decision's values)",
        )

    while index < len(lines):
        line = lines[index]
        if line.startswith(b"#") or not line.strip():
            index += 1
            continue
        if not line.startswith(b"decision "):
            raise fail("expected 'decision ID'")
        index += 1
        values: dict[str, str | None] = {}
        while True:
            if index >= len(lines):
                raise fail("the decision has no 'end' line")
            line = lines[index]
            if line == b"end\n" or line == b"end":
                index += 1
                break
            key, _, rest = line.rstrip(b"\r\n").partition(b":")
            name = key.decode("ascii", "replace")
            if name in _SCALARS:
                value = rest.strip()
                if value == b"none":
                    values[name] = None
                else:
                    try:
                        parsed = json.loads(value)
                    except ValueError as error:
                        raise fail(f"{name}: not a JSON string") from error
                    if not isinstance(parsed, str):
                        raise fail(f"{name}: not a JSON string")
                    values[name] = parsed
                index += 1
            elif name in _TEXTS:
                index += 1
                if rest.strip() == b"none":
                    values[name] = None
                    continue
                if rest.strip():
                    raise fail(f"{name}: expected the text on the lines below, or 'none'")
                chunks: list[bytes] = []
                while index < len(lines) and lines[index].startswith(b"| "):
                    chunk = lines[index][2:]
                    index += 1
                    if index < len(lines) and lines[index] == _NO_NEWLINE:
                        chunk = chunk[:-1]
                        index += 1
                    chunks.append(chunk)
                values[name] = b"".join(chunks).decode("utf-8", "surrogateescape")
            else:
                raise fail(f"unknown field {name!r}")
        missing = [k for k in (*_SCALARS, *_TEXTS) if k not in values]
        if missing:
            raise fail(f"the decision lacks {', '.join(missing)}")
        try:
            entry = _entry_from(values)
        except ValueError as error:
            raise fail(str(error)) from error
        try:
            # A decision is replayed only on a hunk of the same path, and no hunk's path leaves
            # the tree or enters .git: an entry naming one is crafted or damaged, not a decision.
            check_relative(entry.path)
        except TreeError as error:
            raise fail(f"path: {error.message}") from error
        entries.append(entry)
    return entries

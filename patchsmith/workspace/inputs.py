"""What decided a session's selection, recorded when ``apply`` runs.

A report of a session made days later, or ``finish`` writing the description of the carried
patch, must say which patch, which ``.config`` and which options chose the hunks, and what was
left out and why, without the patch, the config or the command line at hand: the config may
have changed since, and the command line is gone. :func:`selection_inputs` takes it all from
the :class:`~patchsmith.patchfile.select.SelectionResult` ``apply`` used (the rules as a user
would type them, the strip level, each file diff's decision and reason, the Kbuild class the
rule gave it, the mail or series member each diff came from) and reads the config once for its
SHA-256. The session keeps it (:attr:`Session.inputs <patchsmith.workspace.session.Session>`).

The session imports this module, so it never imports the session.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from patchsmith.patchfile.select import SelectionResult, describe, strip_components
from patchsmith.paths import file_sha256
from patchsmith.record import record

__all__ = ["FileChoice", "MailInfo", "SelectionInputs", "SourceInfo", "selection_inputs"]


@record
class SourceInfo:
    """One input file (a series has several): what a reviewer checks against the published one."""

    name: str
    """The path as given (``<stdin>``, or ``dir/0001-x.patch`` inside a series)."""
    size: int
    """Bytes after decompression."""
    sha256: str
    """SHA-256 of those bytes."""
    compression: str | None = None


@record
class MailInfo:
    """A mail of an mbox or ``git format-patch`` input: ``finish --series`` writes one patch
    per mail, under its subject and author."""

    source: int
    """Index into :attr:`SelectionInputs.sources`."""
    subject: str
    author: str
    date: str


@record
class FileChoice:
    """What the selection did with one file diff of the patch, and why."""

    entry: int
    """The file diff's 1-based number in the whole input (``--files`` numbering)."""
    path: str
    """Tree path (the patch's name with ``strip`` components removed)."""
    hunks: int
    """Hunks the file diff has."""
    kept: tuple[int, ...]
    """The hunk numbers kept (all of them for a kept file without hunk rules; none when the
    file was left out)."""
    reason: str | None
    """Why the whole file was left out (``None``: kept)."""
    hunk_reasons: tuple[tuple[int, str], ...] = ()
    """(hunk number, why) for each hunk of a kept file that was left out."""
    kbuild_class: str | None = None
    """The Kbuild class the class rule gave it, when that rule looked at it."""
    source: int = 0
    """Index into :attr:`SelectionInputs.sources`."""
    mail: int | None = None
    """Index into :attr:`SelectionInputs.mails`, when the diff came from a mail."""
    old_path: str | None = None
    """The tree path of the old side of a rename or copy, when it differs from :attr:`path`."""

    @property
    def selected(self) -> bool:
        return self.reason is None


@record
class SelectionInputs:
    """The inputs that decided a selection, and its decisions."""

    rules: tuple[str, ...]
    """The selection options as a user would type them (``--only drivers/md``,
    ``--modules-only``, ``-x '*/dm-verity.h'``); empty when everything was kept."""
    strip: int
    """The ``-p`` level that made the patch's names tree paths."""
    config: str | None
    """The ``.config`` the Kbuild class rule read (absolute path), when there was one."""
    config_sha256: str | None
    """Its SHA-256 when ``apply`` ran (``None`` without a config, or when it could not be read
    again)."""
    sources: tuple[SourceInfo, ...]
    mails: tuple[MailInfo, ...]
    files: tuple[FileChoice, ...]
    """Every file diff of the input, in patch order, kept or not."""

    @property
    def kept(self) -> tuple[FileChoice, ...]:
        return tuple(f for f in self.files if f.selected)

    @property
    def hunks_total(self) -> int:
        return sum(f.hunks for f in self.files)

    @property
    def hunks_kept(self) -> int:
        return sum(len(f.kept) for f in self.files if f.selected)

    def to_json(self) -> dict[str, Any]:
        return {
            "rules": list(self.rules),
            "strip": self.strip,
            "config": self.config,
            "config_sha256": self.config_sha256,
            "sources": [
                {"name": s.name, "size": s.size, "sha256": s.sha256, "compression": s.compression}
                for s in self.sources
            ],
            "mails": [
                {"source": m.source, "subject": m.subject, "author": m.author, "date": m.date}
                for m in self.mails
            ],
            "files": [
                {
                    "entry": f.entry,
                    "path": f.path,
                    "hunks": f.hunks,
                    "kept": list(f.kept),
                    "reason": f.reason,
                    "hunk_reasons": [list(pair) for pair in f.hunk_reasons],
                    "class": f.kbuild_class,
                    "source": f.source,
                    "mail": f.mail,
                    "old_path": f.old_path,
                }
                for f in self.files
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SelectionInputs:
        """The inverse of :meth:`to_json` (``KeyError``/``TypeError``/``ValueError`` on damage,
        which the session turns into its own error)."""
        return cls(
            rules=tuple(str(r) for r in data["rules"]),
            strip=int(data["strip"]),
            config=data.get("config"),
            config_sha256=data.get("config_sha256"),
            sources=tuple(
                SourceInfo(str(s["name"]), int(s["size"]), str(s["sha256"]), s.get("compression"))
                for s in data["sources"]
            ),
            mails=tuple(
                MailInfo(int(m["source"]), str(m["subject"]), str(m["author"]), str(m["date"]))
                for m in data["mails"]
            ),
            files=tuple(
                FileChoice(
                    entry=int(f["entry"]),
                    path=str(f["path"]),
                    hunks=int(f["hunks"]),
                    kept=tuple(int(n) for n in f["kept"]),
                    reason=f.get("reason"),
                    hunk_reasons=tuple((int(n), str(why)) for n, why in f["hunk_reasons"]),
                    kbuild_class=f.get("class"),
                    source=int(f.get("source", 0)),
                    mail=f.get("mail"),
                    old_path=f.get("old_path"),
                )
                for f in data["files"]
            ),
        )


def selection_inputs(result: SelectionResult, config_path: str | None = None) -> SelectionInputs:
    """Everything that decided ``result``, and what it decided for every file diff.

    ``config_path`` is the ``.config`` read beside the selection (``--only DIR --config F``
    reads it for the selection warnings, which keep the gate closed): it decided something
    too, so it is recorded even when no Kbuild class rule used it."""
    from patchsmith.kernel.selection import ClassRule  # here: sessions load without Kbuild

    index = result.index
    class_rules = [r for r in result.selection.file_rules if isinstance(r, ClassRule)]
    if class_rules:
        config_path = class_rules[0].classifier.config_path
    config = os.path.abspath(config_path) if config_path is not None else None
    seen = class_rules[0].classifier.seen if class_rules else {}
    files: list[FileChoice] = []
    for decision in result.decisions:
        entry = decision.entry
        path = decision.tree_path
        found = seen.get(path)
        old = strip_components(entry.old_name, result.strip) if entry.old_name else None
        files.append(
            FileChoice(
                entry=entry.number,
                path=path,
                hunks=len(entry.hunks),
                kept=tuple(decision.kept) if decision.reason is None else (),
                reason=decision.reason,
                hunk_reasons=tuple(decision.hunk_reasons),
                kbuild_class=str(found.kind) if found is not None else None,
                source=entry.source,
                mail=entry.mail,
                old_path=old if old != path else None,
            )
        )
    return SelectionInputs(
        rules=describe(result.selection),
        strip=result.strip,
        config=config,
        config_sha256=file_sha256(config) if config is not None else None,
        sources=tuple(
            SourceInfo(
                name=source.name,
                size=len(source.data),
                sha256=hashlib.sha256(source.data).hexdigest(),
                compression=source.compression,
            )
            for source in index.sources
        ),
        mails=tuple(MailInfo(m.source, m.subject, m.author, m.date) for m in index.mails),
        files=tuple(files),
    )

"""Resolution memory: a decision made once is offered again on the next run.

Carrying the next sub-release onto the same vendor tree meets many of the same conflicts. Each
resolution is stored per user under ``$XDG_DATA_HOME/patchsmith/resolutions/<key>.json``, where
the key is a SHA-256 over the hunk's pre-image, its post-image and the vendor's region, each
normalised (whitespace runs collapsed, blank lines dropped) so that a re-indented or re-numbered
copy of the same situation still matches. ``apply`` looks every open hunk up and, on a hit, applies
the stored decision as a resolution marked ``reused`` (shown as such in status and reports; a
person can still undo it).

Only the decision and the text it wrote are stored, never paths: the key says everything about
the situation. Files are written atomically. Depends on :mod:`patchsmith.workspace.git` (for
the data directory) and on the session's hunk type only through duck typing, to avoid a cycle.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchsmith.model import Resolution
from patchsmith.record import record
from patchsmith.workspace import git

if TYPE_CHECKING:
    from patchsmith.workspace.session import SessionHunk

SCHEMA = "patchsmith.resolution/1"


@record
class Remembered:
    """A stored decision."""

    key: str
    resolution: Resolution
    reason: str | None
    text: str | None
    """What the resolution wrote in place of the vendor's region (``None``: nothing)."""
    by: str
    at: str


def directory() -> Path:
    return git.data_home() / "resolutions"


def _normalise(text: str) -> bytes:
    lines = (
        b" ".join(line.split()) for line in text.encode("utf-8", "surrogateescape").split(b"\n")
    )
    return b"\n".join(line for line in lines if line)


def key_for(pre_image: str, post_image: str, vendor: str) -> str:
    """The memory key of a situation: upstream's change and the vendor's code it meets."""
    digest = hashlib.sha256()
    for part in (pre_image, post_image, vendor):
        data = _normalise(part)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _hunk_key(hunk: SessionHunk) -> str | None:
    vendor = hunk.vendor.text if hunk.vendor is not None else ""
    if hunk.vendor is None and not hunk.status.value.startswith(("missing", "file-exists")):
        return None
    return key_for(hunk.pre_image, hunk.post_image, vendor + "\0" + str(hunk.status))


def remember(hunk: SessionHunk) -> None:
    """Store a resolved hunk's decision (a no-op for one without a resolution or a region)."""
    if hunk.resolution is None:
        return
    key = _hunk_key(hunk)
    if key is None:
        return
    record = {
        "schema": SCHEMA,
        "key": key,
        "resolution": str(hunk.resolution),
        "reason": hunk.resolution_reason,
        "text": hunk.written,
        "by": hunk.resolved_by,
        "at": hunk.resolved_at,
    }
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.json"
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def forget(hunk: SessionHunk) -> None:
    """Drop what is stored for this situation (after an undo)."""
    key = _hunk_key(hunk)
    if key is not None:
        (directory() / f"{key}.json").unlink(missing_ok=True)


def recall(hunk: SessionHunk) -> Remembered | None:
    """The stored decision for this hunk's situation, if any (unreadable records are ignored:
    memory is a convenience, never a reason to stop)."""
    key = _hunk_key(hunk)
    if key is None:
        return None
    try:
        data: Any = json.loads((directory() / f"{key}.json").read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA or data.get("key") != key:
            return None
        return Remembered(
            key=key,
            resolution=Resolution(data["resolution"]),
            reason=data.get("reason"),
            text=data.get("text"),
            by=str(data.get("by") or ""),
            at=str(data.get("at") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

"""Domain types shared by every stage: statuses, resolutions and their vocabulary.

The names here are the ones users see in tables, JSON, the TUI and reports, so they are defined
once (docs/DESIGN.md, "Status vocabulary", says where each is decided).
"""

from __future__ import annotations

import enum


class HunkStatus(enum.StrEnum):
    """What a hunk becomes on the target tree; exactly one per hunk."""

    CLEAN = "clean"
    """Pre-image found exactly at the stated line."""
    OFFSET = "offset"
    """Found exactly, N lines away."""
    WHITESPACE = "whitespace"
    """Found only when whitespace differences are ignored."""
    FUZZ = "fuzz"
    """Found only after dropping N leading/trailing context lines."""
    ALREADY_APPLIED = "already-applied"
    """The post-image is already there: the vendor carries the fix."""
    PARTIALLY_APPLIED = "partially-applied"
    """Some of the hunk's changes are there, some are not."""
    CONFLICT = "conflict"
    """No safe location; needs a resolution."""
    MISSING_FILE = "missing-file"
    """The file to patch does not exist in the tree."""
    FILE_EXISTS = "file-exists"
    """The patch creates a file that already exists."""
    EXCLUDED = "excluded"
    """Left out by the selection."""


SEVERITY: tuple[HunkStatus, ...] = (
    HunkStatus.CONFLICT,
    HunkStatus.PARTIALLY_APPLIED,
    HunkStatus.MISSING_FILE,
    HunkStatus.FILE_EXISTS,
    HunkStatus.FUZZ,
    HunkStatus.WHITESPACE,
    HunkStatus.ALREADY_APPLIED,
    HunkStatus.OFFSET,
    HunkStatus.CLEAN,
    HunkStatus.EXCLUDED,
)
"""Statuses worst first: a file's one-line status is the first of these any of its hunks has."""


class Resolution(enum.StrEnum):
    """How a person (or a remembered decision) settled a hunk that did not apply cleanly."""

    ACCEPTED = "accepted"
    EDITED = "edited"
    UPSTREAM = "upstream"
    DROPPED = "dropped"


class ExitCode(enum.IntEnum):
    """The process exit codes of the command line (docs/DESIGN.md, "Exit codes")."""

    OK = 0
    ATTENTION = 1
    BAD_INPUT = 2
    INTERNAL = 3
    INTERRUPTED = 130


# --- git's file modes ---------------------------------------------------------------------------

SYMLINK = "120000"
"""git's mode of a symbolic link: the file's content is the link's target."""


def git_mode(st_mode: int) -> str | None:
    """The mode git records for a file with this ``stat`` mode (``100644``, ``100755``,
    :data:`SYMLINK`), or ``None`` for what git cannot hold (a directory...). Only the owner's
    execute bit makes a regular file ``100755``, as in git."""
    if st_mode & 0o170000 == 0o120000:
        return SYMLINK
    if st_mode & 0o170000 == 0o100000:
        return "100755" if st_mode & 0o100 else "100644"
    return None

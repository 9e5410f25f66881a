"""The error types of patchsmith: what it means when the library cannot continue.

A conflict, a fuzzed hunk or a missing file is an *outcome* and is returned as data; an exception
here means "cannot continue". Each error carries a message (what went wrong) and a hint (what the
user can do about it). The CLI maps them to exit codes in one place (``patchsmith.cli``) and the TUI
shows the same message.

A hint is written for the command line (it may name a flag: "pass --reason TEXT"). Where the way
out is one a front end offers in its own terms, the error also carries :attr:`remedies`, from a
small vocabulary (:class:`Remedy`): the CLI prints the hint, the TUI names its keys. The library
knows nothing about either front end.
"""

from __future__ import annotations

import enum


class Remedy(enum.StrEnum):
    """A way out of a refusal, named once for every front end (machine-readable)."""

    EDIT = "edit"
    """Write the hunk's lines by hand."""
    UPSTREAM = "upstream"
    """Take upstream's post-image as is."""
    DROP = "drop"
    """Keep the vendor's code, giving a reason."""
    PICK = "pick"
    """Choose a side for each conflict block of the proposal."""
    UNDO = "undo"
    """Take the hunk's resolution back."""
    LIST = "list"
    """Look at what is open (hunk ids, reused resolutions, warning numbers)."""
    WAIT = "wait"
    """Another process holds the session: try again once it is done."""
    RESTORE = "restore"
    """The worktree file was changed by hand: put the hunk's lines back as the session left
    them (or commit and drop), then try again."""
    REAPPLY = "reapply"
    """The session cannot go on as it is: run ``apply`` again (or ``abort``)."""
    CONFIRM = "confirm"
    """The hunk is written already (``apply --accept-fuzz``): read it, then confirm it."""


class PatchsmithError(Exception):
    """Base of every error patchsmith raises on purpose.

    ``exit_code`` is what the command line exits with: 2 for bad usage or bad input (the default),
    1 where the job stopped on something a person must look at.
    """

    exit_code = 2

    def __init__(
        self, message: str, hint: str | None = None, *, remedies: tuple[Remedy, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.remedies = remedies
        """What a person can do about it, for front ends that say it their own way (empty:
        only the hint says it)."""

    def details(self) -> str:
        """The message and, on its own line, the hint: what the CLI prints and the TUI shows."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(PatchsmithError):
    """The command line asked for something that does not make sense."""


class InputError(PatchsmithError):
    """An input (patch, tree, config) cannot be read: missing, unreadable, wrong kind of file."""


class PatchParseError(InputError):
    """The patch is malformed. ``line`` is the 1-based input line where reading stopped."""

    def __init__(self, message: str, *, source: str, line: int, hint: str | None = None) -> None:
        super().__init__(f"{source}:{line}: {message}", hint)
        self.source = source
        self.line = line


class TreeError(InputError):
    """The target tree is missing, not a directory, or holds something unsafe (a symlink out)."""


class ConfigError(InputError):
    """A kernel ``.config`` or a Kbuild file cannot be used."""


class OutputError(PatchsmithError):
    """An output cannot be written: a file named with ``-o``, or standard output (closed, on a
    full disk). Bad environment, not a bug: exit 2 like bad input."""


class SessionError(PatchsmithError):
    """There is no session, it is from another version, or it is locked by another process."""


class NotRemembered(PatchsmithError):
    """A resolution is recorded and committed, but resolution memory could not keep it (the
    data home filled up or went away after the check made before the resolution). The work
    is done and stays done; the error says so, and that the next apply will ask again."""

    exit_code = 1


class GitError(PatchsmithError):
    """A git command failed; ``output`` carries what git said."""

    exit_code = 3

    def __init__(self, message: str, hint: str | None = None, output: str = "") -> None:
        super().__init__(message, hint)
        self.output = output


class GateError(PatchsmithError):
    """The build gate is closed: something is unresolved. ``open_items`` lists what."""

    exit_code = 1

    def __init__(self, message: str, open_items: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.open_items = open_items

"""What the TUI says about a library error: the keys to press, never a command-line flag.

The library's errors carry a hint written for the command line ("resolve it with --edit") and,
where the way out is one the TUI offers too, machine-readable :attr:`remedies
<patchsmith.errors.PatchsmithError.remedies>`. The TUI names those in its own keys
(:data:`REMEDY_KEYS`). An error without remedies is about something outside the TUI (a data
home that cannot be written, a session from another version): its hint is shown as what to do
at the shell, once the TUI is closed.

It never imports Textual (a contract in ``pyproject.toml``), so it is testable on its own.
"""

from __future__ import annotations

from patchsmith.errors import PatchsmithError, Remedy

SHELL = "at the shell"
"""How words for the command line are introduced: what to do once the TUI is closed."""

REMEDY_KEYS: dict[Remedy, str] = {
    Remedy.EDIT: "e edits the result here (E in $EDITOR)",
    Remedy.UPSTREAM: "t takes upstream's lines",
    Remedy.DROP: "d drops it (keeps the vendor's code) with a reason",
    Remedy.PICK: "1-4 pick a side per conflict block (] [ move between them, A settles the "
    "one-sided ones)",
    Remedy.UNDO: "u undoes the resolution",
    Remedy.LIST: "f open lists what is open, n and p go through it",
    Remedy.WAIT: "another patchsmith is writing this session: press r in a moment, or try again",
    Remedy.RESTORE: "the file was changed by hand in the worktree: put the hunk's lines back "
    "there (git diff shows the change), then r reloads",
    Remedy.REAPPLY: "q quits; then, at the shell, run the same patchsmith apply again (or "
    "patchsmith abort)",
    Remedy.CONFIRM: "it is in the worktree already, written with fuzz: read it in the panes, "
    "then c confirms it (to change it instead, edit the file in the worktree and commit)",
}
"""Each remedy in the TUI's words (a test checks every :class:`Remedy` has one)."""


def advice(error: PatchsmithError, fallback: str = "") -> str:
    """What to do about ``error`` in the TUI: its remedies as keys; else its hint, labelled as
    a shell command; else ``fallback`` (what the screen knows to suggest)."""
    if error.remedies:
        return "; ".join(REMEDY_KEYS[remedy] for remedy in error.remedies) + "."
    if error.hint:
        return f"{SHELL}: {error.hint}"
    return fallback


def explain(error: PatchsmithError, fallback: str = "") -> str:
    """The error's message and, on the next line, :func:`advice`."""
    said = advice(error, fallback)
    return f"{error.message}\n{said}" if said else error.message

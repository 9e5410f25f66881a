"""Messages the TUI's workers and widgets post; the screen handles them on the UI thread."""

from __future__ import annotations

from textual.message import Message

from .render import RenderedView


class ViewRendered(Message):
    """A worker finished aligning and highlighting one hunk's view."""

    def __init__(self, view: RenderedView) -> None:
        super().__init__()
        self.view = view


class SessionChanged(Message):
    """The session file changed on disk (another terminal ran a CLI verb): reload it."""

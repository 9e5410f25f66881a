"""The patchsmith TUI application, and the two ways in: :func:`make_app` and :func:`run`.

``patchsmith resolve`` (no arguments) and ``patchsmith tui`` call :func:`run`; tests and the
screenshot script call :func:`make_app` and drive the app with Pilot. The app itself only picks
the first screen: the resolve screen on a session, or an error screen with the library's
message when there is no session or it cannot be read. Nothing here raises on a bad
session; a bug still raises (it is not a user's problem to hide).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType

from patchsmith.errors import PatchsmithError

from .collector import CHECK_SECONDS, IdleCollector
from .model import SessionBackend
from .screens.error import ErrorScreen
from .screens.resolve import ResolveScreen, palette_for

_INPUT = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
"""Events a person makes: while they come, no collection runs unless too much has piled up."""


class PatchsmithApp(App[int]):
    """The resolve TUI over one session."""

    CSS_PATH = "app.tcss"
    TITLE = "patchsmith resolve"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [  # type: ignore[misc]
        (0, "-narrow"),
        (110, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app-quit"),
    ]

    def __init__(
        self, backend: SessionBackend | None, error: PatchsmithError | None = None
    ) -> None:
        super().__init__()
        # Scrolling and screen changes never animate: an animated PageDown takes about a second.
        self.animation_level = "none"
        self.backend = backend
        self.error = error
        self.collector = IdleCollector()
        """Garbage collection between key presses, not during them."""

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _INPUT):
            self.collector.touch()
        await super().on_event(event)

    async def action_quit(self) -> None:
        # ctrl+c and ctrl+q quit from any screen, a dialog included, with the code q gives
        # there: never a 0 (nothing left to do) while something is open or nothing was opened.
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ResolveScreen | ErrorScreen):
                self.exit(return_code=screen.exit_code())
                return
        self.exit()

    def on_unmount(self) -> None:
        self.collector.stop()

    def on_mount(self) -> None:
        self.collector.start()
        self.set_interval(CHECK_SECONDS, self.collector.tick)
        if self.backend is not None and self.error is None:
            try:
                self.backend.load()
            except PatchsmithError as error:
                self.error = error
        if self.error is not None or self.backend is None:
            shown = self.error or PatchsmithError("no session to resolve")
            self.push_screen(ErrorScreen(shown))
            return
        self.push_screen(
            ResolveScreen(
                self.backend, palette=palette_for(self.no_color), collector=self.collector
            )
        )


def make_app(
    session_path: Path | None = None, *, backend: SessionBackend | None = None
) -> PatchsmithApp:
    """The app on the session at ``session_path`` (or found from the current directory).

    ``backend`` replaces the library-backed one (tests of a single widget use a fake). Errors
    opening the session are shown by the app, never raised.
    """
    if backend is not None:
        return PatchsmithApp(backend)
    from .backend import LibraryBackend

    try:
        return PatchsmithApp(LibraryBackend.open(session_path))
    except PatchsmithError as error:
        return PatchsmithApp(None, error)


def run(session_path: Path | None = None) -> int:
    """Run the TUI in this terminal; the exit code is the CLI's (docs/DESIGN.md, "Exit codes"):
    0 when nothing is left."""
    app = make_app(session_path)
    result = app.run()
    if app.return_code is not None:
        return int(app.return_code)
    return result if isinstance(result, int) else 0

"""Helpers shared by the TUI tests: run a coroutine test, wait until a hunk is drawn."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec

from patchsmith_tui.screens.resolve import ResolveScreen
from textual.pilot import Pilot


async def settle(pilot: Pilot[int]) -> None:
    """Let pending workers finish and their messages be handled."""
    for _ in range(50):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        if not isinstance(screen, ResolveScreen) or screen.selected is None:
            return
        if screen.current is not None:
            return
    raise AssertionError("the selected hunk was never drawn")


def resolve_screen(pilot: Pilot[int]) -> ResolveScreen:
    """The resolve screen (fails the test if another screen is on top)."""
    screen = pilot.app.screen
    assert isinstance(screen, ResolveScreen), f"expected the resolve screen, got {screen!r}"
    return screen


P = ParamSpec("P")


def asynctest(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an ``async def`` test in a fresh event loop (the project has no asyncio plugin)."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run

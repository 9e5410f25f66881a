"""Write ``docs/tui.svg``: the resolve TUI on the bundled demo scenario, for the README.

    .venv/bin/python docs/make_screenshot.py [OUTPUT]

Applies ``fixtures/demo`` in a scratch folder (HOME and XDG dirs there too, so nothing of the
user's is touched), opens the TUI on the session at 120x36, selects the conflict in
``drivers/md/dm-snap.c`` and saves Textual's SVG screenshot.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


async def shoot(output: Path) -> None:
    sys.path.insert(0, str(REPO))
    from patchsmith_tui.app import make_app
    from patchsmith_tui.screens.resolve import ResolveScreen

    from tests.tui.demo_session import demo_session

    with tempfile.TemporaryDirectory(prefix="patchsmith-shot-") as scratch:
        os.environ["HOME"] = scratch
        os.environ["XDG_DATA_HOME"] = str(Path(scratch) / "data")
        os.environ.pop("NO_COLOR", None)
        store = demo_session(Path(scratch))
        app = make_app(store.path)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.screen
            assert isinstance(screen, ResolveScreen)
            await pilot.press("right_square_bracket")
            while screen.current is None or screen.current.key[0] != "drivers/md/dm-snap.c#3":
                await pilot.pause(0.05)
            await pilot.press("n")
            await pilot.pause()
            app.save_screenshot(filename=output.name, path=str(output.parent))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "tui.svg"
    asyncio.run(shoot(target.resolve()))
    sys.stdout.write(f"{target}\n")

"""Write ``docs/tui.svg`` and ``docs/tui-file.svg``: the resolve TUI on the bundled demo
scenario, in the merge view and in the file view, for the README.

    .venv/bin/python docs/make_screenshot.py [FOLDER]

Applies ``fixtures/demo`` in a scratch folder, ``$TMPDIR/patchsmith-demo`` so the title bar shows
a tidy path rather than a random one (HOME and XDG dirs there too, so nothing of the user's is
touched; the folder is removed afterwards) with ``--base`` (so the merge base has a pane), opens
the TUI on the session at 160x45, selects the conflict in ``drivers/md/dm-snap.c`` (its conflict
block in view) and saves Textual's SVG screenshot; then ``v`` for the file view, and another.

The SVG gets ``xml:space="preserve"``: without it librsvg (``rsvg-convert``, some image viewers)
drops the leading spaces of each text run and draws neighbouring spans run together.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRATCH = Path(tempfile.gettempdir()) / "patchsmith-demo"
MARKER = ".made-by-make_screenshot"
"""Left in the scratch folder, so a folder of the same name made by anything else is never
deleted."""


def fresh_scratch() -> Path:
    if SCRATCH.exists():
        if not (SCRATCH / MARKER).exists():
            sys.exit(f"{SCRATCH} exists and was not made by this script: move it away first")
        shutil.rmtree(SCRATCH)
    SCRATCH.mkdir()
    (SCRATCH / MARKER).touch()
    return SCRATCH


async def shoot(folder: Path) -> None:
    sys.path.insert(0, str(REPO))
    from patchsmith_tui.app import make_app
    from patchsmith_tui.render import ViewKind
    from patchsmith_tui.screens.resolve import ResolveScreen

    from tests.tui.demo_session import demo_session

    scratch = fresh_scratch()
    try:
        os.environ["HOME"] = str(scratch)
        for name in ("DATA", "CONFIG", "CACHE", "STATE"):
            os.environ[f"XDG_{name}_HOME"] = str(scratch / name.lower())
        os.environ.pop("NO_COLOR", None)
        store = demo_session(scratch, base=True)
        app = make_app(store.path)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, ResolveScreen)
            while screen.current is None:
                await pilot.pause(0.05)
            while screen.selected != "drivers/md/dm-snap.c#3":
                await pilot.press("J")
                await pilot.pause(0.05)
            while screen.current is None or screen.current.key[0] != "drivers/md/dm-snap.c#3":
                await pilot.pause(0.05)
            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            shots = {"tui.svg": app.export_screenshot()}
            await pilot.press("v")
            while screen.current is None or screen.current.key[1] is not ViewKind.FILE:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            shots["tui-file.svg"] = app.export_screenshot()
    finally:
        shutil.rmtree(scratch)
    for name, svg in shots.items():
        svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
        (folder / name).write_text(svg, encoding="utf-8")
        sys.stdout.write(f"{folder / name}\n")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs"
    asyncio.run(shoot(target.resolve()))

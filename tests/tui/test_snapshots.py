"""Snapshots of every view at 80x24, 160x45 and 220x60 (pytest-textual-snapshot).

The baselines under ``__snapshots__/`` were each looked at (rendered to PNG) before they were
accepted; they depend on the Textual version, which pyproject pins to one minor release.
Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` only after looking at
the new images. To look with librsvg, add ``xml:space="preserve"`` first, or it draws
neighbouring spans run together (it drops each text run's leading spaces)::

    sed 's/<svg /<svg xml:space="preserve" /' X.svg | rsvg-convert -o /tmp/X.png

The session is the literal sample (no clock, no user name), so the pictures are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from patchsmith_tui.app import make_app
from textual.pilot import Pilot

from patchsmith.errors import SessionError
from tests.tui.helpers import settle
from tests.tui.sample import FakeBackend, warning_session

SnapCompare = Callable[..., bool]

SIZES = {"80x24": (80, 24), "160x45": (160, 45), "220x60": (220, 60)}

VIEWS: dict[str, tuple[str, ...]] = {
    "merge": (),
    "file": ("v",),
    "reject": ("v", "v"),
    "drop_dialog": ("d",),
    "inline_edit": ("e",),
    "help": ("question_mark",),
    "resolved": ("J", "J"),
    "applied": ("f", "f", "f", "f", "J", "J", "J"),
}
"""Each view and the keys that lead to it from the first screen."""

GATE_VIEWS: dict[str, tuple[str, ...]] = {
    "warning": ("n", "n", "n"),
    "acknowledge_dialog": ("n", "n", "n", "c"),
    "reject_item": ("n", "n"),
    "inputs": ("i",),
}
"""The views of the gate's other items and of the session's inputs, on the sample with a
warning to read, one acknowledged and a ``.rej`` left (:func:`warning_session`)."""


def _keys(*keys: str) -> Callable[[Pilot[int]], object]:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause()

    return run


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(snap_compare: SnapCompare, view: str, size: str) -> None:
    app = make_app(backend=FakeBackend())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_keys(*VIEWS[view]))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("view", list(GATE_VIEWS))
def test_gate_view(snap_compare: SnapCompare, view: str, size: str) -> None:
    app = make_app(backend=FakeBackend(warning_session()))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_keys(*GATE_VIEWS[view]))


@pytest.mark.parametrize("size", list(SIZES))
def test_merge_view_with_a_base(snap_compare: SnapCompare, size: str) -> None:
    backend = FakeBackend()
    backend.session = replace(backend.session, has_base=True)
    app = make_app(backend=backend)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_keys())


def test_session_error(snap_compare: SnapCompare) -> None:
    error = SessionError(
        "no patchsmith session here", hint="run `patchsmith apply PATCH --tree DIR` first"
    )
    app = make_app(backend=FakeBackend(error=error))
    assert snap_compare(app, terminal_size=(80, 24))

"""Snapshots of the main views at fixed sizes (pytest-textual-snapshot).

The baselines under ``__snapshots__/`` were looked at before they were accepted; they depend on
the Textual version, which pyproject pins to one minor release. Regenerate with
``pytest tests/tui/test_snapshots.py --snapshot-update`` only after looking at the new images.
To look with librsvg, add ``xml:space="preserve"`` first, or it draws neighbouring spans run
together (it drops each text run's leading spaces)::

    sed 's/<svg /<svg xml:space="preserve" /' X.svg | rsvg-convert -o /tmp/X.png
The session is the literal sample (no clock, no user name), so the pictures are stable.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from patchsmith_tui.app import make_app
from textual.pilot import Pilot

from patchsmith.errors import SessionError
from tests.tui.helpers import settle
from tests.tui.sample import FakeBackend

SnapCompare = Callable[..., bool]


async def _ready(pilot: Pilot[int]) -> None:
    await settle(pilot)


def _keys(*keys: str) -> Callable[[Pilot[int]], object]:
    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_merge_view(snap_compare: SnapCompare) -> None:
    app = make_app(backend=FakeBackend())
    assert snap_compare(app, terminal_size=(120, 36), run_before=_ready)


def test_drift_view(snap_compare: SnapCompare) -> None:
    app = make_app(backend=FakeBackend())
    assert snap_compare(app, terminal_size=(120, 36), run_before=_keys("v"))


def test_resolved_hunk_shows_the_result(snap_compare: SnapCompare) -> None:
    # Makefile#1 was accepted: the right half is what the worktree holds, titled as such.
    app = make_app(backend=FakeBackend())
    keys = _keys("right_square_bracket", "right_square_bracket")
    assert snap_compare(app, terminal_size=(120, 36), run_before=keys)


def test_small_terminal(snap_compare: SnapCompare) -> None:
    app = make_app(backend=FakeBackend())
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready)


def test_help_screen(snap_compare: SnapCompare) -> None:
    app = make_app(backend=FakeBackend())
    assert snap_compare(app, terminal_size=(120, 36), run_before=_keys("question_mark"))


def test_session_error(snap_compare: SnapCompare) -> None:
    error = SessionError(
        "no patchsmith session here", hint="run `patchsmith apply PATCH --tree DIR` first"
    )
    app = make_app(backend=FakeBackend(error=error))
    assert snap_compare(app, terminal_size=(80, 24))

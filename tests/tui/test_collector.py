"""Garbage collection between key presses: automatic collection is off while the app runs,
a pause collects, a burst collects only past the limit, and the process gets its collector back
as it was (the suite runs many apps in one process). No clock is asserted: the clock is a fake.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from patchsmith_tui.app import make_app
from patchsmith_tui.collector import IdleCollector

from tests.tui.helpers import asynctest, settle
from tests.tui.sample import FakeBackend


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()


def garbage(count: int) -> None:
    """``count`` reference cycles, left for the collector."""
    for _ in range(count):
        cycle: list[object] = []
        cycle.append(cycle)


@pytest.mark.usefixtures("enabled")
def test_a_pause_collects_and_a_burst_waits_for_the_limit() -> None:
    clock = Clock()
    collector = IdleCollector(idle=0.25, limit=5_000, clock=clock)
    collector.start()
    try:
        assert not gc.isenabled()
        collector.touch()
        garbage(1_000)
        clock.now += 0.1  # keys still coming
        assert not collector.tick()
        assert gc.get_count()[0] >= 1_000  # nothing was collected
        clock.now += 0.2  # a pause
        assert collector.tick()
        assert gc.get_count()[0] < 100
        assert not collector.tick()  # nothing new to collect
        collector.touch()
        garbage(6_000)  # a held-down key: past the limit, collected without a pause
        assert collector.tick()
        assert collector.collections == 2
    finally:
        collector.stop()
    assert gc.isenabled()


@pytest.mark.usefixtures("enabled")
def test_stop_restores_what_start_found_and_unfreezes() -> None:
    gc.disable()
    collector = IdleCollector()
    collector.start()
    collector.settle()
    assert gc.get_freeze_count() > 0
    collector.stop()
    assert not gc.isenabled()  # it was off before: still off
    assert gc.get_freeze_count() == 0
    assert not collector.tick()  # stopped: does nothing


@asynctest
async def test_the_app_turns_automatic_collection_off_only_while_it_runs() -> None:
    was = gc.isenabled()
    gc.enable()
    try:
        app = make_app(backend=FakeBackend())
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            assert not gc.isenabled()
            assert app.collector.collections >= 1  # the load was settled
            before = app.collector.last_input
            await pilot.press("J")
            assert app.collector.last_input > before  # a key is not a pause
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        if not was:
            gc.disable()

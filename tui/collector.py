"""When the garbage collector runs while the TUI is up: between key presses, not during them.

Each key press leaves cyclic garbage behind that only a collection frees: Textual caches the
crops and styles of every line it draws on the line itself (seven caches per line), and a crop
of a whole line is the line, a reference cycle; the scroll bars alone leave some 35 such lines
per press. Python's automatic collector then runs a full collection every 35 presses or so,
inside whichever press crosses its threshold: 10-20 ms on top of a 15-25 ms press
(``benchmarks/bench_tui.py``, the slowest presses were the ones with a collection).

So while the app runs, automatic collection is off and :class:`IdleCollector` collects when no
key or mouse event has come for :data:`IDLE_SECONDS` (a person reading the screen), which keeps
each collection small too. Holding a key down never pauses that long: after :data:`LIMIT`
objects have piled up it collects anyway, so memory stays bounded. After the session is loaded
:meth:`IdleCollector.settle` freezes what is alive (``gc.freeze``), so the collections that do
run walk only what the presses made. What the collector found on start is restored on stop
(tests run many apps in one process).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_SECONDS = 0.25
"""No input for this long counts as a pause (key repeat sends a key every 30-50 ms)."""

CHECK_SECONDS = 0.1
"""How often the app asks :meth:`IdleCollector.tick` whether to collect."""

MINIMUM = 700
"""A pause collects only once this many more container objects are alive than at the last
collection (the automatic collector's own first threshold): an idle app ticking its timers
does not collect ten times a second."""

LIMIT = 200_000
"""Collect even without a pause once this many more container objects are alive than at the
last collection (about 200 key presses of garbage, a few tens of MB)."""


class IdleCollector:
    """Turns automatic collection off for its lifetime and collects in the pauses."""

    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        limit: int = LIMIT,
        minimum: int = MINIMUM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle
        self.limit = limit
        self.minimum = minimum
        self.clock = clock
        self.last_input = clock()
        self.collections = 0
        """Collections made so far (for tests and the benchmark)."""
        self._was_enabled: bool | None = None

    def start(self) -> None:
        """Turn automatic collection off (remembering whether it was on)."""
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
            gc.disable()

    def stop(self) -> None:
        """Put automatic collection back as :meth:`start` found it, and hand what was frozen
        back to the collector (the app's objects become garbage once it has gone)."""
        if self._was_enabled is not None:
            gc.unfreeze()
            if self._was_enabled:
                gc.enable()
            self._was_enabled = None

    def settle(self) -> None:
        """After a load: collect, then move everything alive out of the collector's reach
        (``gc.freeze``), so a collection walks only what key presses made since. The session's
        objects hold no cycles: a later reload frees the old ones by reference counting."""
        if self._was_enabled is None:
            return
        gc.collect()
        gc.freeze()
        self.collections += 1

    def touch(self) -> None:
        """A key or mouse event came in: not a pause."""
        self.last_input = self.clock()

    def tick(self) -> bool:
        """Collect if this is a pause with something to collect, or too much has piled up;
        return whether it did."""
        if self._was_enabled is None:
            return False
        pending = gc.get_count()[0]
        paused = self.clock() - self.last_input >= self.idle
        if (paused and pending >= self.minimum) or pending >= self.limit:
            gc.collect()
            self.collections += 1
            return True
        return False

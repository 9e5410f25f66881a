"""``@record``: the project's value classes, frozen where it is checked and cheap where it runs.

A record is a slotted dataclass that hashes and compares by its fields, like a frozen one, and
that mypy treats as frozen (:func:`typing.dataclass_transform` with ``frozen_default``): an
assignment to a field anywhere in the code base fails ``make types``. What it leaves out is
the run-time guard. A frozen dataclass's ``__init__`` sets every field through
``object.__setattr__`` (six times the cost of a plain store: 0.83 µs against 0.14 µs for
eleven fields), and the class takes about twice as long to create, with its ``__setattr__``,
``__delattr__`` and pickling methods. ``check`` on a kernel stable patch makes five records per
hunk (about 18,000 objects) and creates some twenty record classes at start-up, and the guard
cost 8% of its wall time (256 ms against 238 ms on Debian's 6.1.180→6.1.187 update, best of
40 runs each; ``benchmarks/bench_check.py`` measures the command).

Change a record with :func:`dataclasses.replace`, as for a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field

from patchsmith.typing_shim import dataclass_transform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_T], /) -> type[_T]:
    """Make ``cls`` a record: ``@dataclass(frozen=True, slots=True)`` to mypy, without the
    run-time guard against assignment. A class that defines ``__init__`` keeps its own."""
    return dataclass(slots=True, unsafe_hash=True)(cls)

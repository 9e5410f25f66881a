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

Only ``__init__`` is written by :mod:`dataclasses` when the class is made. The dataclass
writes the source of each method it adds and compiles it, about 0.35 ms of a record class's
0.6 ms, and ``filter`` makes nine record classes in a start-up of 40 ms: ``__eq__`` and
``__hash__`` are compiled from the same source on their first call instead, and ``__repr__``
reads the fields by name. They answer as the dataclass's do (``tests/test_record.py`` compares
them on records with ``compare``, ``hash`` and ``repr`` set per field).
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from reprlib import recursive_repr

from patchsmith.typing_shim import dataclass_transform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    _T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_T], /) -> type[_T]:
    """Make ``cls`` a record: ``@dataclass(frozen=True, slots=True)`` to mypy, without the
    run-time guard against assignment. A class that defines ``__init__`` keeps its own."""
    made = dataclass(slots=True, eq=False, repr=False)(cls)
    own = cls.__dict__
    every = fields(made)  # type: ignore[arg-type]
    if "__eq__" not in own:
        compared = _values(f.name for f in every if f.compare)
        _compiled_on_first_call(
            made,
            "__eq__",
            "def __eq__(self, other):\n"
            "    if other.__class__ is self.__class__:\n"
            f"        return {compared.format('self')} == {compared.format('other')}\n"
            "    return NotImplemented\n",
        )
    # As the dataclass decides: a __hash__ the class wrote is kept (None, set by Python for a
    # class that writes __eq__ without one, is not written).
    written_hash = own.get("__hash__", None) is not None or (
        "__hash__" in own and "__eq__" not in own
    )
    if not written_hash:
        hashed = _values(f.name for f in every if (f.compare if f.hash is None else f.hash))
        _compiled_on_first_call(
            made, "__hash__", f"def __hash__(self):\n    return hash({hashed.format('self')})\n"
        )
    if "__repr__" not in own:
        _method(made, "__repr__", _representation(tuple(f.name for f in every if f.repr)))
    return made


def _values(names: Iterable[str]) -> str:
    """The source of a tuple of the values of ``names`` of ``{}``, as the dataclass writes it."""
    return "(" + "".join(f"{{0}}.{name}," for name in names) + ")"


def _compiled_on_first_call(cls: type, name: str, source: str) -> None:
    """Give ``cls`` a method ``name`` that compiles ``source`` (which defines it) the first time
    it is called, and puts that in its own place: a class whose records are never compared or
    hashed never pays for it, and one whose are pays once, for the same code the dataclass
    writes (a method reading the fields through ``operator.attrgetter`` instead took three
    times as long to compare two records)."""

    def first_call(self: object, *arguments: object) -> object:
        namespace: dict[str, Callable[..., object]] = {}
        exec(source, namespace)  # built above from the class's own field names
        method = namespace[name]
        _method(cls, name, method)
        return method(self, *arguments)

    _method(cls, name, first_call)


def _method(cls: type, name: str, function: Callable[..., object]) -> None:
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, function)


def _representation(names: tuple[str, ...]) -> Callable[[object], str]:
    @recursive_repr()
    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__

"""``overload`` and ``dataclass_transform`` for the type checker, without importing ``typing``.

Importing :mod:`typing` costs about 1.6 ms of every command's start-up, and ``filter`` and
``check`` are measured against C tools. mypy reads ``TYPE_CHECKING`` as true and sees typing's
own decorators; at run time ``overload`` returns its function (the last definition of an
overloaded function is the one that runs) and ``dataclass_transform`` returns a decorator that
changes nothing.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import dataclass_transform as dataclass_transform
    from typing import overload as overload
else:

    def overload(function):  # never seen by the type checker
        return function

    def dataclass_transform(**_options):  # never seen by the type checker
        return lambda function: function

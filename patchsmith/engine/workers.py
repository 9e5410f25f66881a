"""Work shared among forked processes, chunk by chunk, with the results brought back.

:func:`share` runs one piece of work in this process and in ``workers - 1`` children forked
from it. The work is cut into numbered chunks, and each process asks for the next one no other
process has taken (:data:`Claim`) whenever it is done with its last: a process the machine's
other load slows down takes fewer chunks, so the wall time is that of the slowest chunk, not of
the slowest fixed half. Chunks are handed out in increasing order, so each process sees its own
in order.

A child's result comes back pickled through a pipe, with its length in front: a child that dies,
or raises, sends nothing whole, and :func:`share` says so (``None``) instead of guessing, so the
caller can do the work in this process alone. A child never returns into the caller's code: it
leaves with ``os._exit`` whatever happens, without flushing the buffers it inherited and without
running ``atexit`` handlers. Every child is waited for before :func:`share` returns or raises.

Only for a process that has no other thread (:func:`can_fork`): a child forked while another
thread holds a lock would wait for it forever. Nothing here knows what the work is.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    Result = TypeVar("Result")
    Packed = TypeVar("Packed")

Claim = Callable[[], int | None]
"""The next chunk for the calling process, ``None`` once every chunk is taken."""

MAX_CHUNKS = 255
"""Chunks are handed out as one byte each through a pipe."""

_LENGTH = 8


def can_fork() -> bool:
    """Whether :func:`share` can fork here: a POSIX ``fork`` and no thread but this one."""
    if not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def share(
    chunks: int,
    workers: int,
    here: Callable[[Claim], Result],
    there: Callable[[Claim], Packed],
    *,
    static: bool = False,
) -> tuple[Result, list[Packed]] | None:
    """``here(claim)`` in this process and ``there(claim)`` in each of ``workers - 1`` forked
    children; every chunk from 0 to ``chunks - 1`` is claimed by exactly one of them.

    ``there`` is the same work as ``here``, its result made plain for pickling. Returns this
    process's result and each child's, in the order they were forked; ``None`` when a child
    failed (raised, was killed, or sent something short). An exception in this process's own
    work is raised once every child is gone.

    ``static`` hands chunk ``k`` to process ``k % workers`` instead of to whoever asks first (so a
    test can be sure every process gets some).
    """
    if not 1 <= chunks <= MAX_CHUNKS:
        raise ValueError(f"chunks must be 1 to {MAX_CHUNKS}, not {chunks}")
    import pickle  # only here: the common small run never forks

    tokens: int | None = None
    if not static:
        tokens, filling = os.pipe()
        try:
            os.write(filling, bytes(range(chunks)))  # far below a pipe's buffer
        finally:
            os.close(filling)

    def claims(number: int) -> Claim:
        if static:
            mine = iter(range(number, chunks, workers))
            return lambda: next(mine, None)
        assert tokens is not None

        def claim() -> int | None:
            token = os.read(tokens, 1)  # one byte: no two processes share a read
            return token[0] if token else None

        return claim

    children: list[int] = []  # their result pipes' reading ends, in order
    waiting: set[int] = set()
    opened: set[int] = set()  # the result pipes' reading ends not yet closed
    try:
        for number in range(1, workers):
            reading, writing = os.pipe()
            opened.add(reading)
            try:
                child = os.fork()
            except BaseException:
                os.close(writing)
                raise
            if child == 0:  # pragma: no cover (a forked child; coverage does not follow it)
                status = 1
                try:
                    os.close(reading)
                    data = pickle.dumps(there(claims(number)), protocol=pickle.HIGHEST_PROTOCOL)
                    with open(writing, "wb") as stream:
                        stream.write(len(data).to_bytes(_LENGTH, "little"))
                        stream.write(data)
                    status = 0
                except BaseException:  # noqa: BLE001 (the parent sees the missing result)
                    pass
                finally:
                    os._exit(status)
            waiting.add(child)
            os.close(writing)
            children.append(reading)
        own = here(claims(0))
        results: list[Packed] = []
        failed = False
        for reading in children:
            opened.discard(reading)
            with open(reading, "rb") as results_stream:  # closes it
                data = results_stream.read()
            if failed:
                continue
            length = int.from_bytes(data[:_LENGTH], "little")
            if len(data) != _LENGTH + length or length == 0:
                failed = True
                continue
            results.append(pickle.loads(data[_LENGTH:]))
        return None if failed else (own, results)
    finally:
        for reading in opened:
            os.close(reading)
        for child in waiting:
            try:
                os.kill(child, signal.SIGKILL)  # done already unless this process raised
            except ProcessLookupError:
                pass
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass  # reaped already: SIGCHLD ignored by the process that embeds this
        if tokens is not None:
            os.close(tokens)

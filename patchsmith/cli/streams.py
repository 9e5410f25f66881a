"""The standard streams while one command runs: what a closed, full or vanished output means.

A command writes its results with ``sys.stdout.write`` (or ``sys.stdout.buffer`` for patch
bytes) in a dozen places. :func:`guarded_streams` puts stand-ins there for the length of the
command, so that every one of those writes fails the same way when the environment is at
fault, and the error boundary in :mod:`patchsmith.cli` reports it as a bad environment (exit 2)
rather than a crash:

- standard output closed (``>&-``: Python starts with ``sys.stdout`` set to ``None``) or on a
  full disk (``> /dev/full``): :class:`~patchsmith.errors.OutputError`, with a hint;
- the reader went away (``| head``): :class:`BrokenPipeError` passes through unchanged, for the
  boundary to end the command quietly, as other tools do;
- a name that is not UTF-8 (a Latin-1 file name, kept as surrogates) on a stream that cannot
  encode it: written as ``\\xNN``, never an exception.

Standard error only carries messages: if it is closed or full they are lost and the command
goes on (the exit code still tells).

Only :mod:`patchsmith.cli` uses this; it depends on :mod:`patchsmith.errors` only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from patchsmith.errors import OutputError

TYPE_CHECKING = False  # mypy reads it as true; typing's import would slow every run's start-up
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TextIO

_HINT = "write the output somewhere that takes it (> FILE, or -o FILE where the command has it)"


def closed_error() -> OutputError:
    return OutputError(
        "standard output is closed: there is nowhere to write the result",
        hint="redirect it instead of closing it (> FILE, or > /dev/null to throw it away), or "
        "use -o FILE where the command has it",
    )


def _write_error(error: OSError | ValueError) -> Exception:
    """What a failed write to standard output becomes."""
    if isinstance(error, BrokenPipeError):
        return error
    if isinstance(error, ValueError):  # "I/O operation on closed file"
        return closed_error()
    reason = error.strerror or str(error)
    return OutputError(f"cannot write to standard output: {reason}", hint=_HINT)


def _displayable(text: str, encoding: str | None) -> str:
    """``text`` with what ``encoding`` cannot hold (a non-UTF-8 name's surrogates, or any
    non-ASCII text on an ASCII stream) written as ``\\xNN`` escapes of its bytes."""
    raw = text.encode("utf-8", "surrogateescape")
    return raw.decode(encoding or "utf-8", "backslashreplace")


class GuardedBinary:
    """Stands in for ``sys.stdout.buffer``: write errors as :func:`_write_error` says."""

    def __init__(self, stream: BinaryIO | None, owner: GuardedText) -> None:
        self._stream = stream
        self._owner = owner

    def write(self, data: bytes) -> int:
        if self._stream is None:
            raise closed_error()
        try:
            return self._stream.write(data)
        except (OSError, ValueError) as error:
            self._owner.failed = True
            raise _write_error(error) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as error:
            self._owner.failed = True
            raise _write_error(error) from None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise closed_error()
        return getattr(self._stream, name)


class GuardedText:
    """Stands in for ``sys.stdout``: write errors as :func:`_write_error` says; text it cannot
    encode as ``\\xNN``."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.failed = False
        """A write failed: what is still buffered can never be written."""
        self.buffer = GuardedBinary(getattr(stream, "buffer", None), self)

    @property
    def closed_at_start(self) -> bool:
        return self._stream is None

    def write(self, text: str) -> int:
        if self._stream is None:
            raise closed_error()
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                return self._stream.write(_displayable(text, self._stream.encoding))
        except (OSError, ValueError) as error:
            self.failed = True
            raise _write_error(error) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as error:
            self.failed = True
            raise _write_error(error) from None

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except ValueError:
            return False

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise closed_error()
        return getattr(self._stream, name)


class QuietText:
    """Stands in for ``sys.stderr``: messages that cannot be written are dropped."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            return len(text)
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                return self._stream.write(_displayable(text, self._stream.encoding))
        except (OSError, ValueError):
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except ValueError:
            return False

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


@contextmanager
def guarded_streams() -> Iterator[GuardedText]:
    """``sys.stdout`` and ``sys.stderr`` replaced by the stand-ins above until the block ends.

    If a write to standard output failed, file descriptor 1 is pointed at ``/dev/null`` on the
    way out: what is still buffered can never be written, and Python's own flush at exit would
    otherwise print "Exception ignored" and exit 120.
    """
    stdout, stderr = sys.stdout, sys.stderr
    guard = GuardedText(stdout)
    sys.stdout = guard
    sys.stderr = QuietText(stderr)
    try:
        yield guard
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        if guard.failed:
            silence_stdout()


def silence_stdout() -> None:
    """Point standard output's descriptor at ``/dev/null`` (after a broken pipe or a failed
    write). Only a real file descriptor: under a test's captured stdout there is none."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError, OutputError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)
    except OSError:
        pass


def sanitize_descriptors() -> None:
    """Open ``/dev/null`` on file descriptors 0, 1 and 2 if they are closed (as git does).

    Otherwise the first file patchsmith opens gets descriptor 1, and a child process (git, make)
    would write its output into it. ``sys.stdout`` stays ``None``, so a command that has
    something to say still knows standard output was closed.
    """
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                return
            if opened != descriptor:
                os.dup2(opened, descriptor)
                os.close(opened)


def prepare_stdout() -> None:
    """Standard output as the commands need it, in the real process (not under tests).

    - A non-UTF-8 file name's bytes are written as they are, as ``lsdiff`` and ``filterdiff``
      do: names are read with ``surrogateescape``, which Python's streams use only in the C
      locale, so in a UTF-8 locale a Latin-1 name could not be written at all.
    - With ``PYTHONUNBUFFERED`` (common in containers), ``sys.stdout.buffer`` is the raw file,
      and a short write (a pipe whose reader left, a disk that filled) drops the rest of the
      text without an error. A buffered writer on top retries short writes and raises when
      nothing more can be written; line buffering keeps the output as prompt.
    """
    import io

    stream = sys.stdout
    if not isinstance(stream, io.TextIOWrapper):
        return
    errors = "surrogateescape" if stream.errors == "strict" else stream.errors
    raw = stream.buffer
    if isinstance(raw, io.FileIO):
        # A second file object on descriptor 1 that never closes it: the original keeps it.
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(raw.fileno(), "w", closefd=False)),
            encoding=stream.encoding,
            errors=errors,
            line_buffering=True,
        )
    elif errors != stream.errors:
        try:
            stream.reconfigure(errors=errors)
        except (OSError, ValueError):
            pass

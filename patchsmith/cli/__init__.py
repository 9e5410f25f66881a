"""The command line: one error boundary, one module per subcommand.

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int``; this module wires
them up and maps errors to exit codes in one place (docs/DESIGN.md, "Exit codes"): 0 nothing left
to do, 1 conflicts or review items remain, 2 bad usage or bad input, 3 internal error, 130
interrupted, 141 the reader of standard output went away. A traceback is shown only with
``--debug``.

The CLI is the only place that prints.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from patchsmith import __version__
from patchsmith.cli.streams import (
    GuardedText,
    closed_error,
    guarded_streams,
    prepare_stdout,
    sanitize_descriptors,
    silence_stdout,
)
from patchsmith.errors import PatchsmithError
from patchsmith.model import ExitCode

# Subcommands in the order ``--help`` lists them (the pipeline's order), each with the one-line
# help shown there: the only place it is written (each module's add_parser takes it from here,
# and tests/cli/test_help.py holds them to it). A subcommand's module is imported only when that
# subcommand runs, so ``patchsmith filter`` does not pay for the TUI, the report renderers or the
# ELF reader.
COMMANDS: dict[str, str] = {
    "ls": "list the files and hunks of a patch",
    "filter": "write the selected part of a patch, byte-exact",
    "check": "predict every hunk's fate on the vendor tree, without writing",
    "apply": "apply in a git worktree: clean hunks written, conflicts as .rej with proposals",
    "status": "show the session: every hunk's fate and what is open",
    "resolve": "settle a hunk (--accept, --upstream, --drop, --edit), or open the TUI",
    "tui": "open the resolution TUI (the same as 'resolve' with no hunk)",
    "memory": "list, show, forget, export or import remembered resolutions",
    "abort": "throw the session away: worktree, branch and state",
    "finish": "write the carried patch (and a quilt series) once nothing is open",
    "report": "write a review report of the session (md, html or json)",
    "preflight": "check the build will produce modules the target kernel loads",
    "build": "build the kept module directories, once nothing is left to resolve",
    "package": "package the built modules: .tgz with install.sh, .deb, DKMS, signed on request",
    "demo": "run the whole job on the bundled example scenario",
    "completion": "print the shell completion script for bash or zsh",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as exit code 2 with a hint, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"patchsmith: error: {message}\nhint: see '{self.prog} --help'\n")
        raise SystemExit(ExitCode.BAD_INPUT)

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter for every add_argument (to check the metavar), and without a
        # width the formatter imports shutil (and with it bz2, lzma and zlib) for the terminal's:
        # 1.6 ms of every run's start-up. The same width, read without shutil.
        # (typeshed types formatter_class as taking prog only; ours are all HelpFormatters.)
        return self.formatter_class(prog=self.prog, width=_help_width())  # type: ignore[call-arg]


def _help_width() -> int:
    """argparse's default help width: ``shutil.get_terminal_size().columns - 2``."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"patchsmith.cli.{name.replace('-', '_')}")


def build_parser(command: str | None = None, listing: bool = True) -> argparse.ArgumentParser:
    """The whole parser, or with ``command`` one whose other subcommands are bare names (or,
    without ``listing``, left out).

    Each subcommand module imports what it needs (the engine, git, reports); ``filter`` on a
    40 MB patch should not wait for modules it never calls, so ``main`` loads only the one run.
    The bare names serve only the top-level ``--help`` (``patchsmith --help check`` lists them
    all); making a parser for each cost 2 ms of every run, so ``main`` leaves them out when the
    command is the first word and no top-level option can ask for that listing.
    """
    parser = _Parser(
        prog="patchsmith",
        description=(
            "Carry an upstream sub-release patch into a vendor-modified source tree: select the "
            "hunks that matter, predict each hunk's fate, apply in a git worktree, resolve "
            "conflicts, build and package the modules."
        ),
        epilog="Exit codes: 0 nothing left to do, 1 conflicts or review items remain, "
        "2 bad usage or input, 3 internal error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"patchsmith {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback when something goes wrong"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, summary in COMMANDS.items():
        if command is None or name == command:
            _load(name).add_parser(subparsers)
        elif listing:
            subparsers.add_parser(name, help=summary)
    return parser


def _command_in(args: Sequence[str]) -> str | None:
    """The subcommand named in ``args`` (the first word that is not an option), if it is one."""
    word = next((a for a in args if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code. Tests call this directly."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list or os.environ.get("PATCHSMITH_DEBUG") == "1"
    with guarded_streams() as stdout:
        code = _run(args_list, debug, stdout)
        return code if stdout.failed else _flush(code, debug)


def _flush(code: int, debug: bool) -> int:
    """Write out what standard output still buffers, inside the boundary: a full disk shows only
    here for a short output (``--help`` too), and Python's own flush at exit would report it as
    "Exception ignored" with exit 120."""
    try:
        sys.stdout.flush()
    except PatchsmithError as error:
        _traceback(debug)
        sys.stderr.write(f"patchsmith: {error.details()}\n")
        return error.exit_code
    except BrokenPipeError:
        silence_stdout()
        return BROKEN_PIPE
    return code


def _run(args_list: list[str], debug: bool, stdout: GuardedText) -> int:
    try:
        command = _command_in(args_list)
        parser = build_parser(command, listing=args_list[:1] != [command])
        args = parser.parse_args(args_list)
        _resume_collector()
        if args.command is None:
            parser.print_help(sys.stderr)
            return int(ExitCode.BAD_INPUT)
        if stdout.closed_at_start and _writes_to_stdout(args):
            # Refused before any work: an apply whose summary cannot be shown is worse than none.
            raise closed_error()
        code: int = args.run(args)
        return code
    except PatchsmithError as error:
        _traceback(debug)
        from patchsmith.cli.table import visible_lines

        # A message may quote the patch (a name, a line): shown, never obeyed by the terminal.
        sys.stderr.write(visible_lines(f"patchsmith: {error.details()}\n"))
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("patchsmith: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # `patchsmith filter ... | head`: the reader left. Like other tools killed by SIGPIPE,
        # end quietly with 128 + SIGPIPE, so `set -o pipefail` still sees the output was cut.
        silence_stdout()
        return BROKEN_PIPE
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(ExitCode.BAD_INPUT)
    except MemoryError:
        _traceback(debug)
        sys.stderr.write(
            "patchsmith: out of memory\n"
            "hint: a compressed patch may expand to --max-size at most (default: the larger of "
            "1 GiB and 64x its size); otherwise run it where more memory is available\n"
        )
        return int(ExitCode.BAD_INPUT)
    except OSError as error:
        if error.errno not in _environment_errors():
            return _internal(debug)
        _traceback(debug)
        where = f"{error.filename}: " if error.filename else ""
        sys.stderr.write(
            f"patchsmith: cannot continue: {where}{error.strerror}\n"
            f"hint: {_environment_hint(error.errno)}\n"
        )
        return int(ExitCode.BAD_INPUT)
    except Exception:  # noqa: BLE001 - the one boundary that turns a bug into exit code 3
        return _internal(debug)


BROKEN_PIPE = 141
"""The exit code after the reader of standard output went away: 128 + SIGPIPE, as a shell
reports a tool the signal ended (``cat``, ``git log``)."""


def _environment_hint(number: int | None) -> str:
    """What to do about an error the system raised (one of :func:`_environment_errors`)."""
    import errno  # only on the way out

    if number == errno.ENAMETOOLONG:
        return (
            "a name there is longer than the file system takes (255 bytes a name on most): "
            "use a shorter path, or a file system that takes the name"
        )
    if number in (errno.ENOSPC, errno.EDQUOT):
        return "the file system is full (or the quota is used up): free some space and run it again"
    return (
        "the system refused what patchsmith needed (permissions, free space, limits); "
        "fix that and run the command again"
    )


def _environment_errors() -> frozenset[int]:
    """errno values that mean the system refused, not that patchsmith asked for nonsense."""
    import errno  # only on the way out

    return frozenset(
        {
            errno.ENOSPC,
            errno.EDQUOT,
            errno.EROFS,
            errno.EACCES,
            errno.EPERM,
            errno.EIO,
            errno.EFBIG,
            errno.EMFILE,
            errno.ENFILE,
            errno.ENOMEM,
            errno.ENAMETOOLONG,
        }
    )


def _writes_to_stdout(args: argparse.Namespace) -> bool:
    """Whether the command has something to say on standard output.

    ``abort`` reports on standard error; ``filter`` and ``report`` with ``-o FILE`` write
    nothing else. Every other command shows its result there.
    """
    if args.command == "abort":
        return False
    output = getattr(args, "output", None)
    return args.command not in ("filter", "report") or output in (None, "-")


def _traceback(debug: bool) -> None:
    if debug:
        import traceback  # only on the way out: its import costs start-up on every run

        traceback.print_exc()


def _internal(debug: bool) -> int:
    import traceback

    if debug:
        traceback.print_exc()
    else:
        last = traceback.format_exc().strip().splitlines()[-1]
        sys.stderr.write(
            f"patchsmith: internal error: {last}\n"
            "hint: this is a bug in patchsmith; run again with --debug and report the "
            "traceback\n"
        )
    return int(ExitCode.INTERNAL)


class _Deferred(ModuleType):
    """A stand-in for a standard module in ``sys.modules`` that imports the real one when one
    of its attributes is first read, then takes on all of them (:func:`_defer_imports`)."""

    def __getattr__(self, attribute: str) -> object:
        # Only called for attributes the stand-in lacks: the first one read loads the module.
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def _defer_imports(*names: str) -> None:
    """Import the standard modules ``names`` when they are first used, not when imported.

    The records (:mod:`patchsmith.record`) are dataclasses, and :mod:`dataclasses` imports
    :mod:`inspect` (with ast, dis, tokenize, linecache: 8 ms, a sixth of ``filter``'s start-up on
    a one-file patch) and :mod:`copy` for two things no command's start-up does (the signature
    of a class without a docstring, ``asdict``). A stand-in in ``sys.modules`` answers the
    ``import`` statements; reading any attribute of it imports the real module, so whatever
    uses one gets it. (:class:`importlib.util.LazyLoader` cannot do this on Python 3.11: the
    next ``import`` statement reads ``__spec__`` and that loads the module.) Only the
    command-line process does this (:func:`console_main`); a module already imported is left as
    it is.
    """
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = _Deferred(name)


_collector_paused = False
"""Whether :func:`console_main` paused the garbage collector for start-up."""


def _resume_collector() -> None:
    """Turn the garbage collector back on once the command's modules are loaded and its
    arguments parsed (:func:`console_main` turned it off): the commands run with it on."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.enable()


def console_main() -> None:
    """Entry point of the ``patchsmith`` console script and ``python -m patchsmith``.

    Start-up (the command's modules, its parser) makes tens of thousands of objects and no
    garbage, and the garbage collector walked them some twenty times on the way (2-3 ms of a
    40 ms start): it is off until the arguments are parsed. ``filter`` and ``check`` end
    without the interpreter's teardown (:func:`_end`).
    """
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True
    _defer_imports("inspect", "copy")
    sanitize_descriptors()
    prepare_stdout()
    code = main()
    _resume_collector()
    if _command_in(sys.argv[1:]) in _ENDS_AT_ONCE:
        _end(code)
    sys.exit(code)


_ENDS_AT_ONCE = frozenset({"filter", "check"})
"""The commands measured against C tools (``filterdiff``, ``patch --dry-run``) that need no
teardown: they write their output files whole and rename them before returning, leave no
temporary file, register nothing to run at exit, and have waited for every process they
started (``check``'s workers, :func:`patchsmith.engine.workers.share`). Freeing a kernel
patch's prediction object by object costs ``check`` 4-8 ms of its 290."""


def _end(code: int) -> None:
    """End the process with ``code`` at once, once what it wrote is flushed: without the
    interpreter's teardown (freeing every module and object one by one), which the commands
    of :data:`_ENDS_AT_ONCE` do not need. If a flush fails, the ordinary exit reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        return
    os._exit(code)

"""The build gate and the build runner: compile the kept module directories, keep the log.

The gate comes first: nothing compiles while a hunk is unresolved, a ``.rej`` is left or a file
holds a conflict marker. What is open is the session's business (``patchsmith.workspace``); this
module sees it only through the small :class:`GateSource` protocol, because the ship package
must not import the workspace (the import contracts in ``pyproject.toml``). The CLI adapts the
session to it.

The runner then runs Kbuild once per kept module directory:

* in the tree (the default): ``make -C WORKTREE M=WORKTREE/DIR modules``, after copying the
  session's config in and running ``olddefconfig modules_prepare`` when the tree is not prepared;
* out of tree (``kernel_dir``): ``make -C KERNEL_DIR M=WORKTREE/DIR modules`` against a prepared
  build directory such as Debian's ``/usr/src/linux-headers-RELEASE``; this needs only the
  touched directories checked out.

Output streams line by line to a progress callback and into the full log; make runs in the C
locale so compiler diagnostics (``drivers/md/dm.c:12:5: error: ...``) can be read back, mapped to
worktree paths and, given the lines each hunk wrote, to the hunks that changed those lines.

With a key (``sign_key``/``sign_cert``) every built module is signed afterwards with the build
directory's own ``scripts/sign-file``, as ``modules_install`` would sign it
(:mod:`patchsmith.ship.signing`). Out of tree the key is checked before make runs; in the tree,
``sign-file`` exists only once the tree is prepared, so it is checked after.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, Protocol

from patchsmith.errors import GateError, InputError, TreeError
from patchsmith.paths import path_error, readable_folder
from patchsmith.record import record
from patchsmith.ship.signing import Signer, check_key_files, prepare_signer, sign_modules

# drivers/md/dm.c:12:5: error: expected ';' before '}' token
# /abs/hello.c:7: warning: ...          (no column: older gcc, or the linker)
# drivers/md/dm.c:12:5: fatal error: linux/nope.h: No such file or directory
_DIAGNOSTIC = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>fatal error|error|warning):\s*(?P<message>.*)$"
)

# ERROR: modpost: "dm_bufio_new" [drivers/md/dm-snapshot.ko] undefined!
_MODPOST = re.compile(r"^(?P<severity>ERROR|WARNING): modpost: (?P<message>.*)$")

#   CC [M]  /work/wt/drivers/md/dm.o        the Kbuild quiet line for one compiled object
_COMPILE_LINE = re.compile(r"^\s+CC \[M\]\s+(\S+)")

Severity = Literal["error", "warning"]


class GateSource(Protocol):
    """What the gate needs from a session: the list of what is still open.

    ``patchsmith.workspace.session.SessionStore`` fits as it is: its ``OpenItem`` values print
    as ``hunk: drivers/md/dm.c#2: conflict: ...``.
    """

    def open_items(self) -> Sequence[object]:
        """One item per open thing (unresolved hunk, leftover ``.rej``, conflict marker);
        ``str()`` of each is what the user sees."""
        ...


@record
class HunkSpan:
    """The lines of a worktree file a hunk wrote: lets a compiler error name its hunk."""

    hunk_id: str
    """The hunk's id as the session and the report show it (``drivers/md/dm.c#3``)."""
    first_line: int
    """First line (1-based) of the hunk's post-image in the worktree file."""
    last_line: int
    """Last line, inclusive."""


@record
class Diagnostic:
    """One compiler or modpost message, mapped back to the worktree."""

    severity: Severity
    message: str
    path: str | None
    """Worktree-relative when the file is in the worktree, else as the compiler wrote it."""
    line: int | None
    column: int | None
    hunks: tuple[str, ...] = ()
    """Ids of the hunks whose written lines include :attr:`line`."""
    raw: str = ""
    """The log line it was read from."""

    @property
    def location(self) -> str:
        if self.path is None:
            return "modpost"
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "hunks": list(self.hunks),
        }


@record
class BuildStep:
    """One make invocation."""

    argv: tuple[str, ...]
    directory: str | None
    """The kept module directory this step builds; ``None`` for preparation steps."""


@record
class BuildRequest:
    """What to build and how."""

    worktree: Path
    """The tree the modules' sources are in (the session's worktree)."""
    module_dirs: tuple[str, ...]
    """Worktree-relative directories of the kept hunks (``drivers/md``)."""
    log_path: Path
    """Where the full log goes (the session directory by default; see the CLI)."""
    kernel_dir: Path | None = None
    """A prepared kernel build directory for out-of-tree builds; ``None`` builds in the tree."""
    cc: str | None = None
    """``CC=`` for make (``gcc-4.0``); ``None`` keeps the Makefile's choice."""
    jobs: int | None = None
    """``-j``; ``None`` uses the number of CPUs."""
    targets: tuple[str, ...] = ("modules",)
    """The make goals (``--target``)."""
    config: Path | None = None
    """A ``.config`` to copy into the worktree before an in-tree build (the session's)."""
    make: str = "make"
    """The make program."""
    extra_args: tuple[str, ...] = ()
    """More ``VAR=value`` arguments for make (``ARCH=i386``)."""
    sign_key: str | None = None
    """A private key (PEM file or ``pkcs11:`` URI) to sign the built modules with."""
    sign_cert: Path | None = None
    """Its X.509 certificate."""


@record
class BuildProgress:
    """One line of make output, with where the build is."""

    line: str
    step: int
    """1-based index of the running step."""
    steps: int
    directory: str | None
    compiled: int
    """Objects compiled so far (Kbuild ``CC [M]`` lines), over all steps."""


@record
class StepResult:
    """One command of a build as it ran: what, where, its exit status and its wall time."""

    argv: tuple[str, ...]
    directory: str | None
    returncode: int
    duration: float


@record
class BuildResult:
    """What a build produced."""

    ok: bool
    """Every step exited 0 and at least one module was built."""
    modules: tuple[Path, ...]
    """The built ``.ko`` files."""
    log_path: Path
    duration: float
    """Seconds, all steps."""
    diagnostics: tuple[Diagnostic, ...]
    steps: tuple[StepResult, ...] = field(default=())
    kernel_dir: Path | None = None
    worktree: Path | None = None
    signer: Signer | None = None
    """The key the modules were signed with, when they were."""

    @property
    def command(self) -> str:
        """The last make command run (the one that failed, when one did)."""
        return " ".join(self.steps[-1].argv) if self.steps else ""

    @property
    def message(self) -> str:
        """One line for a summary or a report."""
        if self.ok:
            signed = " and signed them" if self.signer is not None else ""
            return f"built {len(self.modules)} modules{signed} in {self.duration:.1f} s"
        if self.steps and self.steps[-1].returncode != 0:
            first = self.errors[0] if self.errors else None
            where = f": {first.location}: {first.message}" if first else ""
            return f"make exited {self.steps[-1].returncode} ({len(self.errors)} errors){where}"
        return "make succeeded but built no module"

    def relative_modules(self) -> tuple[str, ...]:
        """The modules as worktree-relative paths (absolute when outside the worktree)."""
        out: list[str] = []
        for path in self.modules:
            if self.worktree is not None:
                try:
                    out.append(path.relative_to(self.worktree).as_posix())
                    continue
                except ValueError:
                    pass
            out.append(str(path))
        return tuple(out)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if item.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(item for item in self.diagnostics if item.severity == "warning")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "command": self.command,
            "modules": [str(path) for path in self.modules],
            "modules_relative": list(self.relative_modules()),
            "worktree": str(self.worktree) if self.worktree else None,
            "log": str(self.log_path),
            "duration": round(self.duration, 3),
            "kernel_dir": str(self.kernel_dir) if self.kernel_dir else None,
            "signing": self.signer.to_json() if self.signer else None,
            "steps": [
                {
                    "argv": list(step.argv),
                    "directory": step.directory,
                    "returncode": step.returncode,
                    "duration": round(step.duration, 3),
                }
                for step in self.steps
            ],
            "errors": [item.to_json() for item in self.errors],
            "warnings": [item.to_json() for item in self.warnings],
        }


ProgressCallback = Callable[[BuildProgress], None]


def check_gate(source: GateSource) -> None:
    """Raise :class:`GateError` listing what is open; return if nothing is."""
    items = [str(item) for item in source.open_items()]
    if items:
        noun = "item is" if len(items) == 1 else "items are"
        raise GateError(
            f"the build gate is closed: {len(items)} {noun} still open",
            open_items=items,
            hint="resolve them (patchsmith status; patchsmith resolve) and build again",
        )


def module_dirs_for(paths: Sequence[str], tree: Path) -> tuple[str, ...]:
    """The directories to build for the touched ``paths``: each file's nearest directory with a
    ``Kbuild`` or ``Makefile``, without the ones inside another (Kbuild descends by itself).

    A file whose nearest Kbuild file is the top-level one (``include/linux/dm-io.h``) names no
    module directory and is left out: building "everything" is not a module build.
    """
    found: list[str] = []
    for path in paths:
        parts = list(Path(path.strip("/")).parts[:-1])
        while parts:
            candidate = tree.joinpath(*parts)
            if (candidate / "Kbuild").is_file() or (candidate / "Makefile").is_file():
                break
            parts.pop()
        if parts:
            directory = "/".join(parts)
            if directory not in found:
                found.append(directory)
    kept = [
        d for d in found if not any(d != other and d.startswith(other + "/") for other in found)
    ]
    return tuple(sorted(kept))


def plan_build(request: BuildRequest) -> tuple[BuildStep, ...]:
    """The make invocations, in order. Raises :class:`InputError` for an unusable request."""
    if not request.module_dirs:
        raise InputError(
            "nothing to build: no module directory was kept",
            hint="the selection kept no module code; check patchsmith status",
        )
    worktree = request.worktree.resolve()
    common: list[str] = []
    if request.jobs is not None:
        if request.jobs < 1:
            raise InputError("-j needs a positive number of jobs")
        common.append(f"-j{request.jobs}")
    else:
        common.append(f"-j{os.cpu_count() or 1}")
    if request.cc:
        common.append(f"CC={request.cc}")
    common.extend(request.extra_args)
    build_root = request.kernel_dir.resolve() if request.kernel_dir else worktree
    steps: list[BuildStep] = []
    if request.kernel_dir is None and needs_prepare(worktree):
        if request.config is None and not (worktree / ".config").is_file():
            raise TreeError(
                f"{worktree}: the tree is not configured (no .config) and no config was given",
                hint="pass --config FILE (the target's /boot/config-RELEASE), or build out of "
                "tree with --kernel-dir /usr/src/linux-headers-RELEASE",
            )
        base = (request.make, "-C", str(worktree), *common)
        steps.append(BuildStep((*base, "olddefconfig"), None))
        steps.append(BuildStep((*base, "modules_prepare"), None))
    for directory in request.module_dirs:
        relative = directory.strip("/")
        source = worktree / relative
        if not source.is_dir():
            raise TreeError(
                f"{source}: module directory not in the worktree",
                hint="a sparse worktree must have the kept directories checked out",
            )
        steps.append(
            BuildStep(
                (
                    request.make,
                    "-C",
                    str(build_root),
                    f"M={source}",
                    *common,
                    *request.targets,
                ),
                relative,
            )
        )
    return tuple(steps)


def needs_prepare(tree: Path) -> bool:
    """An in-tree build needs ``modules_prepare`` when the generated headers are missing."""
    return not (tree / "include/generated/autoconf.h").is_file()


def run_build(
    request: BuildRequest,
    *,
    progress: ProgressCallback | None = None,
    hunk_map: Mapping[str, Sequence[HunkSpan]] | None = None,
) -> BuildResult:
    """Run the build (no gate here: see :func:`build_session`). A failed compile is a result
    (``ok=False`` with diagnostics); :class:`InputError` only when make cannot be started."""
    if shutil.which(request.make) is None:
        raise InputError(
            f"{request.make}: command not found",
            hint="install make and a compiler (Debian: apt-get install build-essential)",
        )
    # The paths first: one that cannot be used is bad input before make is started.
    if request.kernel_dir is not None:
        readable_folder(request.kernel_dir, f"--kernel-dir {request.kernel_dir}", hint=_HEADERS)
    _prepare_log(request.log_path)
    if request.kernel_dir is not None and not (request.kernel_dir / "Makefile").is_file():
        raise TreeError(
            f"{request.kernel_dir}: not a kernel build directory (no Makefile)",
            hint=_HEADERS,
        )
    if (request.sign_key is None) != (request.sign_cert is None):
        raise InputError(
            "--sign-key and --sign-cert go together",
            hint="the private key (PEM) and its certificate (PEM or DER)",
        )
    signer: Signer | None = None
    if request.sign_key is not None and request.sign_cert is not None:
        check_key_files(request.sign_key, request.sign_cert)  # before the build, not after
    if request.sign_key is not None and request.sign_cert is not None and request.kernel_dir:
        signer = prepare_signer(request.sign_key, request.sign_cert, kernel_dir=request.kernel_dir)
    if request.kernel_dir is None and request.config is not None:
        _install_config(request.config, request.worktree)
    steps = plan_build(request)
    worktree = request.worktree.resolve()
    env = _make_environment()
    started = time.monotonic()
    results: list[StepResult] = []
    diagnostics: list[Diagnostic] = []
    compiled = 0
    with request.log_path.open("w", encoding="utf-8", errors="replace") as log:
        for index, step in enumerate(steps, start=1):
            log.write(f"$ {' '.join(step.argv)}\n")
            log.flush()
            step_started = time.monotonic()
            process = subprocess.Popen(
                step.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,
            )
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    line = raw.rstrip("\n")
                    log.write(raw if raw.endswith("\n") else raw + "\n")
                    if _COMPILE_LINE.match(line):
                        compiled += 1
                    diagnostic = parse_diagnostic(line, worktree, hunk_map)
                    if diagnostic is not None:
                        diagnostics.append(diagnostic)
                    if progress is not None:
                        progress(BuildProgress(line, index, len(steps), step.directory, compiled))
                returncode = process.wait()
            except BaseException:
                # ^C or a failing callback: stop make and its children, then let it propagate.
                _stop(process)
                raise
            results.append(
                StepResult(step.argv, step.directory, returncode, time.monotonic() - step_started)
            )
            log.write(f"# exit {returncode}\n")
            if returncode != 0:
                break
    modules = collect_modules(worktree, request.module_dirs)
    ok = all(step.returncode == 0 for step in results) and len(results) == len(steps)
    if ok and modules and request.sign_key is not None and request.sign_cert is not None:
        if signer is None:
            signer = prepare_signer(request.sign_key, request.sign_cert, kernel_dir=worktree)
        sign_modules(modules, signer)
    else:
        signer = None
    return BuildResult(
        ok=ok and bool(modules),
        modules=modules,
        log_path=request.log_path,
        duration=time.monotonic() - started,
        diagnostics=tuple(_unique(diagnostics)),
        steps=tuple(results),
        kernel_dir=request.kernel_dir,
        worktree=worktree,
        signer=signer,
    )


def build_session(
    session: GateSource,
    request: BuildRequest,
    *,
    progress: ProgressCallback | None = None,
    hunk_map: Mapping[str, Sequence[HunkSpan]] | None = None,
) -> BuildResult:
    """The gate, then the build: what ``patchsmith build`` does for a session."""
    check_gate(session)
    return run_build(request, progress=progress, hunk_map=hunk_map)


def parse_diagnostic(
    line: str,
    worktree: Path,
    hunk_map: Mapping[str, Sequence[HunkSpan]] | None = None,
) -> Diagnostic | None:
    """A :class:`Diagnostic` if ``line`` is a compiler or modpost error or warning."""
    match = _DIAGNOSTIC.match(line)
    if match:
        severity: Severity = "warning" if match.group("severity") == "warning" else "error"
        path = _worktree_relative(match.group("path"), worktree)
        number = int(match.group("line"))
        column = int(match.group("column")) if match.group("column") else None
        hunks: tuple[str, ...] = ()
        if hunk_map is not None:
            hunks = tuple(
                span.hunk_id
                for span in hunk_map.get(path, ())
                if span.first_line <= number <= span.last_line
            )
        return Diagnostic(severity, match.group("message"), path, number, column, hunks, line)
    match = _MODPOST.match(line)
    if match:
        modpost_severity: Severity = "error" if match.group("severity") == "ERROR" else "warning"
        return Diagnostic(modpost_severity, match.group("message"), None, None, None, (), line)
    return None


def collect_modules(worktree: Path, module_dirs: Sequence[str]) -> tuple[Path, ...]:
    """The ``.ko`` files a build left in the module directories.

    ``modules.order`` (which Kbuild writes in each ``M=`` directory) says which modules this build
    made; without it every ``.ko`` under the directory counts.
    """
    found: list[Path] = []
    for directory in module_dirs:
        root = worktree / directory.strip("/")
        order = root / "modules.order"
        listed: list[Path] = []
        if order.is_file():
            for entry in order.read_text(encoding="utf-8", errors="replace").splitlines():
                entry = entry.strip()
                if not entry:
                    continue
                name = entry[: -len(".o")] + ".ko" if entry.endswith(".o") else entry
                # Paths are relative to the M= directory (6.x) or to the tree (in-tree lists).
                for candidate in (root / name, worktree / name):
                    if candidate.is_file():
                        listed.append(candidate)
                        break
        if not listed:
            listed = sorted(root.rglob("*.ko"))
        for path in listed:
            if path not in found:
                found.append(path)
    return tuple(found)


_HEADERS = (
    "install the headers (linux-headers-RELEASE) and pass /usr/src/linux-headers-RELEASE, or "
    "/lib/modules/RELEASE/build"
)


def _prepare_log(log: Path) -> None:
    """Make the log's folder and open the log once, so a log that cannot be written is bad
    input before the build, not a crash after it."""
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise path_error(
            f"the build log {log}: cannot write",
            error,
            log,
            hint="pass --log FILE in a folder you may write to",
        ) from None


def _install_config(config: Path, worktree: Path) -> None:
    target = worktree / ".config"
    try:
        data = config.read_bytes()
    except OSError as error:
        raise path_error(
            f"{config}: cannot read the config",
            error,
            config,
            hint="give the target's config (/boot/config-RELEASE) with --config FILE",
        ) from None
    if target.is_symlink():
        # A link the patch or the tree put there: writing through it writes outside the tree.
        raise TreeError(
            f"{target} is a symbolic link: the config is not written through it",
            hint="remove the link from the worktree, or build out of tree with --kernel-dir",
        )
    if not target.is_file() or target.read_bytes() != data:
        target.write_bytes(data)


def _make_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Diagnostics must be in English to be read back; a leaked MAKEFLAGS/ARCH from the caller's
    # shell would change what is built.
    env.update(LC_ALL="C", LANG="C")
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "KBUILD_OUTPUT", "KBUILD_EXTMOD"):
        env.pop(name, None)
    return env


def _worktree_relative(path: str, worktree: Path) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(worktree).as_posix()
        except ValueError:
            return path
    return path.removeprefix("./")


def _stop(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


def _unique(items: list[Diagnostic]) -> list[Diagnostic]:
    # make -j repeats nothing, but a header error shows once per object including it.
    seen: set[tuple[str, str | None, int | None, int | None, str]] = set()
    unique: list[Diagnostic] = []
    for item in items:
        key = (item.severity, item.path, item.line, item.column, item.message)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique

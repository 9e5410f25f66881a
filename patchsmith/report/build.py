"""The report's section about a module build (``patchsmith build``): from the build's result,
or from the ``build.json`` the session keeps."""

from __future__ import annotations

from collections.abc import Mapping

from patchsmith.report.model import BuildReport
from patchsmith.ship.build import BuildResult

__all__ = ["from_build_json", "from_build_result"]


def from_build_result(result: BuildResult) -> BuildReport:
    """The report's view of a :class:`~patchsmith.ship.build.BuildResult`."""
    tail = "\n".join(f"{d.location}: {d.message}" for d in result.errors[:20])
    return BuildReport(
        ok=result.ok,
        command=result.command,
        message=result.message,
        modules=result.relative_modules(),
        log_tail=tail,
    )


def from_build_json(data: Mapping[str, object]) -> BuildReport:
    """The report's view of a stored ``build.json`` (``BuildResult.to_json``)."""
    errors = data.get("errors")
    lines: list[str] = []
    if isinstance(errors, list):
        for error in errors[:20]:
            if isinstance(error, dict):
                where = str(error.get("path") or "modpost")
                if error.get("line") is not None:
                    where += f":{error['line']}"
                lines.append(f"{where}: {error.get('message', '')}")
    modules = data.get("modules_relative") or data.get("modules") or []
    return BuildReport(
        ok=bool(data.get("ok")),
        command=str(data.get("command", "")),
        message=str(data.get("message", "")),
        modules=tuple(str(m) for m in modules) if isinstance(modules, list) else (),
        log_tail="\n".join(lines),
    )

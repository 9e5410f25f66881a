"""One entry point for front ends: a report model, or a prediction, to text in a format.

Renderers are imported on demand, so ``check --report json`` never loads Pygments.

Depends on the rest of :mod:`patchsmith.report`.
"""

from __future__ import annotations

from patchsmith.engine.predict import Prediction
from patchsmith.errors import UsageError
from patchsmith.patchfile.index import PatchIndex
from patchsmith.patchfile.select import SelectionResult
from patchsmith.report.builders import ReportContext, from_prediction
from patchsmith.report.model import Report

__all__ = ["FORMATS", "render", "render_prediction_report"]

FORMATS = ("md", "html", "json")
"""The formats every report command accepts, as ``--format`` and ``--report`` take them."""


def render(report: Report, fmt: str, attention_only: bool = False) -> str:
    """``report`` as Markdown (``md``), HTML (``html``) or JSON (``json``) text.

    ``attention_only`` shortens the Markdown and HTML to the files with something to look at;
    JSON, read by programs, always has everything."""
    if fmt == "md":
        from patchsmith.report.markdown import render_markdown

        return render_markdown(report, attention_only)
    if fmt == "html":
        from patchsmith.report.html import render_html

        return render_html(report, attention_only)
    if fmt == "json":
        from patchsmith.report.jsonreport import render_json

        return render_json(report)
    raise UsageError(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")


def render_prediction_report(
    prediction: Prediction,
    index: PatchIndex,
    fmt: str,
    context: ReportContext,
    selection: SelectionResult | None = None,
    attention_only: bool = False,
) -> str:
    """The report of a ``check`` run, for ``patchsmith check ... --report FORMAT``."""
    return render(from_prediction(prediction, index, context, selection), fmt, attention_only)

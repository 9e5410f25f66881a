"""One entry point for front ends: a report model, or a prediction, to text in a format.

Renderers are imported on demand, so ``check --report json`` never loads Pygments.
"""

from __future__ import annotations

from patchsmith.engine.predict import Prediction
from patchsmith.errors import UsageError
from patchsmith.patchfile.index import PatchIndex
from patchsmith.patchfile.select import SelectionResult
from patchsmith.report.model import Report
from patchsmith.report.parts import ReportContext
from patchsmith.report.prediction import from_prediction

__all__ = ["FORMATS", "render", "render_prediction_report"]

FORMATS = ("md", "html", "json")
"""The formats every report command accepts, as ``--format`` and ``--report`` take them."""


def render(report: Report, fmt: str, attention_only: bool = False) -> str:
    """``report`` as Markdown (``md``), HTML (``html``) or JSON (``json``) text.

    ``attention_only`` shortens the Markdown and HTML to the files with something to look at;
    JSON, read by programs, always has everything. The text encodes as UTF-8 whatever the
    patch's names are (see :func:`_encodable`)."""
    if fmt == "md":
        from patchsmith.report.markdown import render_markdown

        return _encodable(render_markdown(report, attention_only), fmt)
    if fmt == "html":
        from patchsmith.report.html import render_html

        return _encodable(render_html(report, attention_only), fmt)
    if fmt == "json":
        from patchsmith.report.jsonreport import render_json

        return _encodable(render_json(report), fmt)
    raise UsageError(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")


def _encodable(text: str, fmt: str) -> str:
    """``text`` without the surrogates a byte that is not UTF-8 is read into (``caf\\xe9.c`` in
    Latin-1): as ``\\udcNN`` escapes in JSON, which read back into the same bytes, as
    ``check --json``, ``status --json`` and the session file carry them. The Markdown and HTML
    renderers show names and code lines themselves (:mod:`patchsmith.quoting`); what is left
    here is prose that quotes the patch (a reason naming a file), shown as ``\\ooo``.
    JSON is written with ``ensure_ascii=False`` for readable names, so surrogates are the only
    characters escaped here."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    import re

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if fmt != "json" and 0xDC80 <= code <= 0xDCFF:
            return f"\\{code - 0xDC00:03o}"  # the byte surrogateescape kept
        return f"\\u{code:04x}"

    return re.sub("[\ud800-\udfff]", escape, text)


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

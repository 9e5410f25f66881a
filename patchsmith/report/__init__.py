"""Review reports: Markdown, HTML and JSON from one model.

:mod:`patchsmith.report.model` holds the report as frozen data; it is made from one of three
sources, each a module of its own (:mod:`~patchsmith.report.prediction`,
:mod:`~patchsmith.report.session`, and :mod:`~patchsmith.report.build` for the build section),
from pieces they share (:mod:`~patchsmith.report.parts`); one module per format lays it out.
Front ends call :func:`patchsmith.report.render.render` or :func:`render_prediction_report`.
"""

"""Review reports: Markdown, HTML and JSON from one model.

:mod:`patchsmith.report.model` holds the report as frozen data, :mod:`patchsmith.report.builders`
makes it from a prediction or a session, and one module per format lays it out. Front ends call
:func:`patchsmith.report.render.render` or :func:`render_prediction_report`.
"""

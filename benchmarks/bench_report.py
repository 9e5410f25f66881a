"""How long a review report of a whole stable patch takes, and how big the HTML is.

Usage: ``bench_report.py SCENARIO_DIR [--runs N] [--config]``. Predicts ``upstream.patch`` on
``vendor-old/`` (as ``check`` does, every file kept), then builds the report model and renders
Markdown, HTML and JSON. Printed: the rendering alone (model + each format, best of ``--runs``),
the end-to-end time (read, index, select, predict, model, render), and each output's size.
Targets from issue 7: a report in at most 2 s, the HTML under 5 MB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hermetic import isolate

from patchsmith.engine.predict import predict
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.select import Selection, select
from patchsmith.patchfile.source import read_sources
from patchsmith.report.html import render_html
from patchsmith.report.jsonreport import render_json
from patchsmith.report.markdown import render_markdown
from patchsmith.report.parts import ReportContext
from patchsmith.report.prediction import from_prediction

TARGET_SECONDS = 2.0
TARGET_HTML_BYTES = 5 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scenario: Path = args.scenario
    patch = scenario / "upstream.patch"
    tree = scenario / "vendor-old"

    started = time.perf_counter()
    index = index_sources(read_sources([str(patch)]))
    result = select(index, Selection())
    kept = {d.entry.number: frozenset(d.kept) for d in result.kept}
    prediction = predict(index, [d.entry for d in result.kept], tree, result.strip, kept=kept)
    predicted = time.perf_counter()
    context = ReportContext(tree=str(tree))
    report = from_prediction(prediction, index, context, result)
    modelled = time.perf_counter()
    outputs = {"md": render_markdown(report), "html": render_html(report), "json": ""}
    outputs["json"] = render_json(report)
    finished = time.perf_counter()

    best: dict[str, float] = {}
    renderers = {"md": render_markdown, "html": render_html, "json": render_json}
    for _ in range(args.runs):
        begin = time.perf_counter()
        report = from_prediction(prediction, index, context, result)
        best["model"] = min(best.get("model", 1e9), time.perf_counter() - begin)
        for name, renderer in renderers.items():
            begin = time.perf_counter()
            renderer(report)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - begin)

    hunks = sum(len(f.hunks) for f in report.files)
    detailed = sum(1 for f in report.files for h in f.hunks if h.detailed)
    print(f"scenario {scenario}: {len(report.files)} files, {hunks} hunks, {detailed} with diffs")
    print(f"predict (read, index, select, predict): {predicted - started:6.3f} s")
    print(f"report model:                           {best['model']:6.3f} s")
    for name in ("md", "html", "json"):
        size = len(outputs[name].encode("utf-8"))
        print(
            f"render {name:<4}  model + render {best['model'] + best[name]:6.3f} s"
            f"   size {size / 1024 / 1024:6.2f} MB"
        )
    end_to_end = (predicted - started) + (modelled - predicted) + (finished - modelled)
    print(f"end to end (first run, all three formats): {end_to_end:6.3f} s")
    html_size = len(outputs["html"].encode("utf-8"))
    worst = best["model"] + max(best[n] for n in renderers)
    ok = worst <= TARGET_SECONDS and html_size < TARGET_HTML_BYTES
    print(
        f"targets: report <= {TARGET_SECONDS} s ({worst:.3f} s), "
        f"HTML < 5 MB ({html_size / 1024 / 1024:.2f} MB): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    isolate()
    raise SystemExit(main())

"""Shared set-up of the report tests: the bundled demo scenario, predicted with a fixed clock.

Reports are built with paths relative to ``fixtures/demo`` (the test changes into it), a fixed
date and a fixed version, so the golden files hold nothing that depends on the machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patchsmith.engine.predict import predict
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.select import Selection, select
from patchsmith.patchfile.source import read_sources
from patchsmith.report.model import Report
from patchsmith.report.parts import ReportContext
from patchsmith.report.prediction import from_prediction
from tests.support.paths import DEMO, REPO

GOLDEN = Path(__file__).resolve().parent / "golden"
SCHEMA_FILE = REPO / "patchsmith" / "schemas" / "report-1.json"
FIXED_NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
VERSION = "0.0.0-test"


def fixed_context(**changes: object) -> ReportContext:
    values: dict[str, object] = {"tree": "vendor", "version": VERSION, "now": lambda: FIXED_NOW}
    values.update(changes)
    return ReportContext(**values)  # type: ignore[arg-type]


def demo_report(selection: Selection | None = None) -> Report:
    """The demo patch predicted on the demo vendor tree (cwd must be ``fixtures/demo``)."""
    index = index_sources(read_sources(["patch-6.1.999.diff"]))
    result = select(index, selection or Selection())
    kept = {d.entry.number: frozenset(d.kept) for d in result.kept}
    prediction = predict(
        index, [d.entry for d in result.kept], Path("vendor"), result.strip, kept=kept
    )
    return from_prediction(prediction, index, fixed_context(), result)


@pytest.fixture
def in_demo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(DEMO)
    return DEMO


@pytest.fixture
def make_demo_report(in_demo: Path) -> Callable[..., Report]:
    return demo_report


def check_golden(name: str, text: str) -> None:
    """Compare with ``golden/NAME``; ``PATCHSMITH_UPDATE_GOLDEN=1`` rewrites it (then read the
    diff before committing: a golden file is only worth what its review was)."""
    path = GOLDEN / name
    if os.environ.get("PATCHSMITH_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (see the module docstring)"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    return check_golden


@pytest.fixture
def context() -> Callable[..., ReportContext]:
    return fixed_context


@pytest.fixture
def report_schema() -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data

"""The JSON report: golden file, schema validation, and field names shared with ``check --json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from patchsmith.cli import main
from patchsmith.kernel.deps import DependencyWarning, WarningKind
from patchsmith.patchfile.select import Selection
from patchsmith.report.jsonreport import render_json, to_json
from patchsmith.report.model import SCHEMA, BuildReport, Report
from patchsmith.report.parts import ReportContext


def _validate(document: object, schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator(schema).validate(document)


def test_demo_matches_golden(
    make_demo_report: Callable[..., Report], golden: Callable[[str, str], None]
) -> None:
    golden("demo-check.json", render_json(make_demo_report()))


def test_demo_reports_validate_against_the_schema(
    make_demo_report: Callable[..., Report], report_schema: dict[str, object]
) -> None:
    for selection in (Selection(), Selection(only=("drivers/md",)), Selection(hunks=None)):
        document = json.loads(render_json(make_demo_report(selection)))
        _validate(document, report_schema)
        assert document["schema"] == SCHEMA == "patchsmith.report/1"


def test_the_schema_is_a_valid_2020_12_schema(report_schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator.check_schema(report_schema)


def test_schema_rejects_an_unknown_status(
    make_demo_report: Callable[..., Report], report_schema: dict[str, object]
) -> None:
    document = to_json(make_demo_report())
    files = document["files"]
    assert isinstance(files, list)
    files[0]["hunks"][0]["status"] = "probably-fine"
    with pytest.raises(jsonschema.ValidationError):
        _validate(document, report_schema)


def test_build_and_warnings_validate(
    in_demo: Path,
    context: Callable[..., ReportContext],
    report_schema: dict[str, object],
) -> None:
    from patchsmith.engine.predict import predict
    from patchsmith.patchfile.index import index_sources
    from patchsmith.patchfile.select import select
    from patchsmith.patchfile.source import read_sources
    from patchsmith.report.prediction import from_prediction

    index = index_sources(read_sources(["patch-6.1.999.diff"]))
    result = select(index, Selection())
    prediction = predict(index, [d.entry for d in result.kept], Path("vendor"), result.strip)
    warning = DependencyWarning(
        kind=WarningKind.BUILTIN_HEADER,
        path="include/linux/device-mapper.h",
        hunk=1,
        message="include/linux/device-mapper.h hunk #1 changes a header built-in code includes",
    )
    build = BuildReport(False, "make M=drivers/md", "make exited 2 (1 errors)", (), "x.c:1: e")
    report = from_prediction(prediction, index, context(warnings=(warning,), build=build), result)
    document = to_json(report)
    _validate(document, report_schema)
    assert document["build"] == {
        "ok": False,
        "command": "make M=drivers/md",
        "message": "make exited 2 (1 errors)",
        "modules": [],
        "log_tail": "x.c:1: e",
    }
    summary = document["summary"]
    assert isinstance(summary, dict)
    assert summary["warnings"] == 1
    assert summary["safe_to_build"] is False


def test_field_names_are_those_of_check_json(
    in_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "patch-6.1.999.diff", "--tree", "vendor", "--json"]) == 1
    check = json.loads(capsys.readouterr().out)
    report_path = tmp_path / "report.json"
    code = main(
        [
            "check",
            "patch-6.1.999.diff",
            "--tree",
            "vendor",
            "--report",
            "json",
            "-o",
            str(report_path),
        ]
    )
    assert code == 1
    capsys.readouterr()
    report = json.loads(report_path.read_text(encoding="utf-8"))
    by_path = {f["path"]: f for f in report["files"]}
    for file in check["files"]:
        mine = by_path[file["path"]]
        for key in ("path", "entry", "kind", "status", "needs_review", "reason"):
            assert mine[key] == file[key], (file["path"], key)
        for theirs, ours in zip(file["hunks"], mine["hunks"], strict=True):
            for key in (
                "index",
                "status",
                "expected_line",
                "found_line",
                "offset",
                "fuzz",
                "needs_review",
                "reason",
            ):
                assert ours[key] == theirs[key], (file["path"], theirs["index"], key)
    assert report["summary"]["counts"] == check["counts"]


def test_check_report_to_stdout_replaces_the_table(
    in_demo: Path, capsys: pytest.CaptureFixture[str], report_schema: dict[str, object]
) -> None:
    code = main(["check", "patch-6.1.999.diff", "--tree", "vendor", "--report", "json"])
    assert code == 1
    _validate(json.loads(capsys.readouterr().out), report_schema)

"""Reports of an apply session: resolutions, who and when, and the build gate's open items."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from patchsmith.cli import main
from patchsmith.model import Resolution
from patchsmith.patchfile.index import index_sources
from patchsmith.patchfile.select import Selection, select
from patchsmith.patchfile.source import read_sources
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.session import SessionStore

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
EDITED = (
    "\tstruct dm_snapshot *s = ti->private;\n\tint r = DM_MAPIO_REMAPPED;\n\n"
    "\tif (!s->valid || s->merge_failed || dm_suspended(ti))\n\t\treturn DM_MAPIO_KILL;\n\n"
    "\tif (bio_data_dir(bio) == WRITE)\n"
)


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(DEMO, work)
    index = index_sources(read_sources([str(work / "patch-6.1.999.diff")]))
    result = select(index, Selection(only=("drivers/md",)))
    options = ApplyOptions(
        base=str(work / "vanilla"),
        worktree=tmp_path / "worktree",
        selection_summary="--only drivers/md",
    )
    apply_patch(index, result, work / "vendor", options)
    return tmp_path / "worktree"


def test_open_session_is_not_safe_to_build(
    session_dir: Path, capsys: pytest.CaptureFixture[str], report_schema: dict[str, object]
) -> None:
    assert main(["report", "--format", "json", "--session", str(session_dir)]) == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(report_schema).validate(document)
    assert document["kind"] == "session"
    # The build gate's own list: the open hunk, and the .rej file apply left beside it.
    assert document["summary"]["unresolved"] == [
        "drivers/md/dm-snap.c#3",
        "drivers/md/dm-snap.c.rej (reject)",
    ]
    assert document["summary"]["open_counts"] == {"conflict": 1, "reject": 1}
    assert document["summary"]["safe_to_build"] is False
    hunk = document["files"][0]["hunks"][2]
    assert hunk["open"] is True
    assert hunk["result"]["new_label"] == "proposal"


def test_resolved_session_shows_who_when_and_why(
    session_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = SessionStore.open(session_dir)
    store.resolve(
        "drivers/md/dm-snap.c#3",
        Resolution.EDITED,
        reason="keep the vendor's check too",
        text=EDITED,
        by="Reviewer One",
        at="2025-01-02T03:04:05+00:00",
    )
    output = tmp_path / "report.md"
    assert main(["report", "--format", "md", "-o", str(output), "--session", str(session_dir)]) == 0
    text = output.read_text(encoding="utf-8")
    assert "**Safe to build: yes**" in text
    assert (
        "edited by Reviewer One, 2025-01-02T03:04:05+00:00: keep the vendor\\'s check too" in text
        or "edited by Reviewer One, 2025-01-02T03:04:05+00:00: keep the vendor's check too" in text
    )
    assert "+\tif (!s->valid || s->merge_failed || dm_suspended(ti))" in text
    assert " drivers/md/dm-snap.c |" in text  # the diffstat of the worktree's combined change


def test_a_reused_resolution_is_shown_until_someone_confirms_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report_schema: dict[str, object]
) -> None:
    work = tmp_path / "demo"
    shutil.copytree(DEMO, work)
    index = index_sources(read_sources([str(work / "patch-6.1.999.diff")]))
    result = select(index, Selection(only=("drivers/md",)))

    def session(name: str, trust: bool = False) -> SessionStore:
        options = ApplyOptions(
            base=str(work / "vanilla"), worktree=tmp_path / name, trust_memory=trust
        )
        done = apply_patch(index, result, work / "vendor", options)
        return SessionStore.open(Path(done.worktree))

    first = session("first")
    first.resolve("drivers/md/dm-snap.c#3", Resolution.EDITED, text=EDITED)
    assert main(["abort", "--session", str(tmp_path / "first")]) == 0
    second = session("second")
    assert main(["report", "--format", "json", "--session", str(tmp_path / "second")]) == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(report_schema).validate(document)
    assert document["summary"]["unresolved"] == ["drivers/md/dm-snap.c#3 (reused: confirm)"]
    assert "1 reused resolution to confirm" in document["summary"]["verdict"]
    resolution = document["files"][0]["hunks"][2]["resolution"]
    assert resolution["reused"] is True and resolution["confirmed_by"] == ""
    assert resolution["by"] == "Patchsmith Test <test@patchsmith.invalid>"
    assert main(["report", "--format", "md", "--session", str(tmp_path / "second")]) == 1
    assert "edited (reused: confirm) by Patchsmith Test" in capsys.readouterr().out
    second.confirm()
    assert main(["report", "--format", "html", "--session", str(tmp_path / "second")]) == 0
    assert "reused, confirmed by Patchsmith Test" in capsys.readouterr().out
    assert main(["abort", "--session", str(tmp_path / "second")]) == 0
    session("third", trust=True)
    assert main(["report", "--format", "md", "--session", str(tmp_path / "third")]) == 0
    assert "reused, trusted (apply --trust-memory)" in capsys.readouterr().out

"""The summary and the gate cannot disagree.

Over generated sessions (hypothesis: mixes of statuses, review flags, applied hunks,
resolutions, reused ones waiting for a person, confirmed or trusted, selection warnings read or
not, ``.rej`` files, conflict markers,
uncommitted edits, an interrupted apply), the report's "safe to build" is the build gate's own
verdict (:func:`patchsmith.ship.build.check_gate` over the real store, on a real worktree),
everything open is counted once and listed first, and no line of the summary is green while
anything is open. For predictions, over every hand-made fixture: "safe to build" is ``check``'s
exit status.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patchsmith.cli import main
from patchsmith.errors import GateError
from patchsmith.model import HunkStatus, Resolution
from patchsmith.report.jsonreport import to_json
from patchsmith.report.parts import ReportContext
from patchsmith.report.render import render
from patchsmith.report.session import from_session
from patchsmith.ship.build import check_gate
from patchsmith.workspace.session import (
    OPEN_STATUSES,
    PatchInfo,
    Phase,
    Session,
    SessionFile,
    SessionHunk,
    SessionStore,
    SessionWarning,
)
from tests.support.paths import check_cases

PATHS = ("drivers/md/dm-a.c", "drivers/md/dm-b.c")
ORIGINAL = b"int a;\nint b;\nint c;\n"
WRITABLE = (HunkStatus.CLEAN, HunkStatus.OFFSET, HunkStatus.FUZZ, HunkStatus.WHITESPACE)
STATUSES = [s for s in HunkStatus if s != HunkStatus.EXCLUDED]


def _hunk(number: int, status: HunkStatus, *, review: bool, applied: bool) -> SessionHunk:
    return SessionHunk(
        id=f"{PATHS[number % 2]}#{number + 1}",
        path=PATHS[number % 2],
        file_number=number % 2 + 1,
        number=number + 1,
        status=status,
        needs_review=review,
        reason="generated",
        expected_line=1,
        found_line=1,
        offset=0,
        fuzz=2 if status == HunkStatus.FUZZ else 0,
        applied=applied,
        upstream="@@ -1,1 +1,1 @@ int f(void)\n-int a;\n+int A;\n",
        pre_image="int a;\n",
        post_image="int A;\n",
    )


def _confirmed(hunk: SessionHunk) -> SessionHunk:
    """Written by apply --accept-fuzz (fuzz, whitespace or a flag) and read by a person."""
    return replace(hunk, confirmed_by="R <r@example.org>", confirmed_at="2025-01-03T00:00:00+00:00")


def _resolved(hunk: SessionHunk, resolution: Resolution, confirmed: str) -> SessionHunk:
    """``confirmed``: "" (a person's own resolution), or for a reused one "waiting" (for a
    person: confirm), "person" (confirmed by one) or "trusted" (apply --trust-memory)."""
    settled = confirmed not in ("", "waiting")
    return replace(
        hunk,
        resolution=resolution,
        resolution_reason="generated" if resolution == Resolution.DROPPED else None,
        resolved_by="A <a@example.org>",
        resolved_at="2025-01-01T00:00:00+00:00",
        reused=confirmed != "",
        confirmed_by="C <c@example.org>" if settled else None,
        confirmed_at="2025-01-02T00:00:00+00:00" if settled else None,
        trusted=confirmed == "trusted",
    )


@st.composite
def hunks(draw: st.DrawFn, number: int) -> SessionHunk:
    status = draw(st.sampled_from(STATUSES))
    review = draw(st.booleans())
    applied = status in WRITABLE and draw(st.booleans())
    hunk = replace(
        _hunk(number, status, review=review, applied=applied),
        found_line=draw(st.none() | st.integers(1, 3)),
        offset=draw(st.integers(-3, 3)),
    )
    if hunk.written_unproven and draw(st.booleans()):
        hunk = _confirmed(hunk)
    if hunk.needs_resolution and draw(st.booleans()):
        resolution = draw(st.sampled_from(list(Resolution)))
        reused = draw(st.booleans())
        confirmed = draw(st.sampled_from(["waiting", "person", "trusted"])) if reused else ""
        hunk = _resolved(hunk, resolution, confirmed)
    return hunk


def _warning(number: int, acknowledged_by: str | None) -> SessionWarning:
    return SessionWarning(
        number=number + 1,
        key=f"k{number}",
        kind="uses-left-out",
        path=PATHS[number % 2],
        message=f"warning {number}",
        hunk=1,
        acknowledged_by=acknowledged_by,
        acknowledged_at="2025-01-01T00:00:00+00:00",
    )


# Every kind of open item at once (an interrupted apply in a second example: edits not
# committed are not asked about while apply is still writing), and an --accept-fuzz hunk both
# read and not read. The generated sessions reach them too, almost always; these make the
# coverage the test asserts at its end a certainty (a run once drew no reused resolution).
EVERY_KIND: dict[str, object] = {
    "hunks": (
        _hunk(0, HunkStatus.CONFLICT, review=False, applied=False),
        _resolved(
            _hunk(1, HunkStatus.CONFLICT, review=False, applied=False),
            Resolution.ACCEPTED,
            "waiting",
        ),
        _hunk(2, HunkStatus.FUZZ, review=False, applied=True),
        _confirmed(_hunk(3, HunkStatus.FUZZ, review=False, applied=True)),
    ),
    "warnings": (_warning(0, None),),
    "phase": Phase.READY,
    "rejects": {PATHS[0]},
    "markers": {PATHS[0]},
    "edited": {PATHS[1]},
}


@st.composite
def sessions(draw: st.DrawFn) -> dict[str, object]:
    count = draw(st.integers(1, 6))
    made = tuple(draw(hunks(n)) for n in range(count))
    warnings = tuple(
        _warning(n, draw(st.sampled_from([None, "B <b@example.org>"])))
        for n in range(draw(st.integers(0, 3)))
    )
    return {
        "hunks": made,
        "warnings": warnings,
        "phase": draw(st.sampled_from([Phase.READY] * 5 + [Phase.APPLYING])),
        "rejects": draw(st.sets(st.sampled_from(PATHS))),
        "markers": draw(st.sets(st.sampled_from(PATHS))),
        "edited": draw(st.sets(st.sampled_from(PATHS))),
    }


def _repository(root: Path) -> tuple[Path, str]:
    worktree = root / "worktree"
    (worktree / "drivers" / "md").mkdir(parents=True)
    for path in PATHS:
        (worktree / path).write_bytes(ORIGINAL)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *command], cwd=worktree, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=worktree, check=True, capture_output=True, text=True
    ).stdout.strip()
    return worktree, head


def _prepare(worktree: Path, spec: dict[str, object]) -> None:
    """The worktree as the spec says: .rej files, conflict markers, edits not committed."""
    for path in PATHS:
        data = ORIGINAL
        if path in spec["markers"]:  # type: ignore[operator]
            data = b"<<<<<<< vendor\nint a;\n=======\nint A;\n>>>>>>> upstream-after\n"
        elif path in spec["edited"]:  # type: ignore[operator]
            data = ORIGINAL + b"int d;\n"
        (worktree / path).write_bytes(data)
        reject = worktree / (path + ".rej")
        if path in spec["rejects"]:  # type: ignore[operator]
            reject.write_bytes(b"--- a\n+++ b\n@@ -1 +1 @@\n-int a;\n+int A;\n")
        elif reject.exists():
            reject.unlink()


def test_safe_to_build_is_the_gate_verdict_and_nothing_green_shows_while_anything_is_open(
    tmp_path: Path, report_schema: dict[str, object]
) -> None:
    worktree, head = _repository(tmp_path)
    validator = jsonschema.Draft202012Validator(report_schema)
    store = SessionStore(tmp_path / "session" / "session.json")
    seen: set[tuple[bool, frozenset[str]]] = set()
    reviewed_seen: set[bool] = set()

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sessions())
    @example(EVERY_KIND)
    @example({**EVERY_KIND, "phase": Phase.APPLYING})
    def check(spec: dict[str, object]) -> None:
        session = Session(
            patch=PatchInfo("generated", ("generated.patch",), 10, "0" * 64),
            tree=str(tmp_path / "tree"),
            tree_kind="plain",
            worktree=str(worktree),
            branch="patchsmith/generated",
            git_dir=str(worktree / ".git"),
            snapshot_commit=head,
            strip=1,
            fuzz=2,
            selection="",
            accept_fuzz=True,
            merge=False,
            base=None,
            created="2025-01-01T00:00:00+00:00",
            phase=Phase(str(spec["phase"])),
            files=tuple(SessionFile(path, "modified") for path in PATHS),
            hunks=spec["hunks"],  # type: ignore[arg-type]
            warnings=spec["warnings"],  # type: ignore[arg-type]
        )
        with store.locked():
            store.write(session)
        _prepare(worktree, spec)
        items = store.open_items()
        try:
            check_gate(store)
            gate_opens = True
        except GateError:
            gate_opens = False
        report = from_session(store.load(), items, ReportContext(tree="tree"))
        summary = report.summary
        assert summary.safe_to_build is gate_opens
        assert len(summary.open) == len(items) == sum(n for _kind, n in summary.open_counts)
        open_hunks = [i for i in items if i.kind == "hunk"]
        kinds = dict(summary.open_counts)
        assert kinds.get("conflict", 0) + kinds.get("review", 0) == len(open_hunks)
        assert kinds.get("conflict", 0) == sum(
            1
            for i in open_hunks
            if session.hunk(i.hunk_id or "").status
            in (
                HunkStatus.CONFLICT,
                HunkStatus.PARTIALLY_APPLIED,
                HunkStatus.MISSING_FILE,
                HunkStatus.FILE_EXISTS,
            )
        )
        assert kinds.get("warning", 0) == sum(1 for w in session.warnings if w.open)
        assert kinds.get("confirm", 0) == sum(1 for h in session.hunks if h.to_confirm)
        # What apply --accept-fuzz wrote is a review item until a person confirms it: asking
        # for fuzz to be written is not a review of where it went.
        waiting = {h.id for h in session.hunks if h.written_unproven and h.confirmed_at is None}
        assert waiting <= {i.hunk_id for i in open_hunks}
        assert not summary.silently_fuzzed
        reviewed = [
            row
            for row in report.attention
            if row.hunk is not None and row.hunk.written_by_accept_fuzz and not row.open
        ]
        assert all(row.hunk.reviewed_by for row in reviewed if row.hunk is not None)
        assert len(summary.trusted) == sum(
            1 for h in session.hunks if h.trusted and h.needs_resolution
        )
        # Most severe first, every open item once, open rows before every settled one.
        ranks = [row.severity.rank for row in report.attention]
        assert ranks == sorted(ranks)
        assert [row.order for row in report.attention] == list(range(1, len(ranks) + 1))
        assert sum(1 for row in report.attention if row.open) == len(items)
        opened = [row.open for row in report.attention]
        assert opened == sorted(opened, reverse=True)
        # What a reader sees.
        markdown = render(report, "md")
        html = render(report, "html")
        head_md = markdown.split("## Needs attention")[0]
        head_html = html.split('<section id="attention">')[0]
        if items:
            assert "✅" not in markdown and "Safe to build: yes" not in markdown
            assert f"🔴 **Open ({len(items)})**" in head_md
            assert 'class="verdict yes"' not in html and 'class="good"' not in head_html
            assert f"<b>Open ({len(items)})</b>" in head_html
        else:
            assert "> ✅ **Safe to build: yes**: nothing is open" in head_md
            assert "🔴" not in head_md and 'class="openitems"' not in head_html
        document = json.loads(render(report, "json"))
        validator.validate(document)
        assert document["summary"]["safe_to_build"] is gate_opens
        assert document == to_json(report)
        seen.add((gate_opens, frozenset(i.kind for i in items)))
        reviewed_seen.update(
            h.confirmed_at is not None for h in session.hunks if h.written_unproven
        )

    check()
    # The generated sessions did reach both verdicts and every kind of open item.
    assert {verdict for verdict, _kinds in seen} == {True, False}
    reached = set().union(*(kinds for _verdict, kinds in seen))
    assert reviewed_seen == {True, False}
    assert {"hunk", "confirm", "reject", "marker", "uncommitted", "warning", "interrupted"} <= (
        reached
    )


def test_open_statuses_here_are_the_session_s() -> None:
    # The generator leans on the session's rule of what needs a person; if the session's set
    # grows, this test says so rather than silently generating fewer open hunks.
    assert {
        HunkStatus.CONFLICT,
        HunkStatus.PARTIALLY_APPLIED,
        HunkStatus.MISSING_FILE,
        HunkStatus.FILE_EXISTS,
        HunkStatus.FUZZ,
        HunkStatus.WHITESPACE,
    } == set(OPEN_STATUSES)


CHECK_FIXTURES = [p for p in check_cases() if (p / "patch.diff").exists()]


@pytest.mark.parametrize("fixture", CHECK_FIXTURES, ids=lambda p: p.name)
def test_a_prediction_is_safe_to_build_exactly_when_check_exits_0(
    fixture: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(fixture)
    code = main(["check", "patch.diff", "--tree", "tree"])
    capsys.readouterr()
    output = tmp_path / "report.json"
    assert (
        main(["check", "patch.diff", "--tree", "tree", "--report", "json", "-o", str(output)])
        == code
    )
    capsys.readouterr()
    summary = json.loads(output.read_text(encoding="utf-8"))["summary"]
    assert summary["safe_to_build"] is (code == 0)
    assert (summary["open"] == []) is (code == 0)

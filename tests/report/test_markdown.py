"""The Markdown report: golden files on the demo scenario, and text that must not break it."""

from __future__ import annotations

from collections.abc import Callable

from patchsmith.model import HunkStatus
from patchsmith.patchfile.select import Selection
from patchsmith.report.markdown import code_span, fence, render_markdown
from patchsmith.report.model import (
    Diff,
    DiffLine,
    FileReport,
    HunkReport,
    Inputs,
    OpenItemReport,
    PatchInput,
    Report,
    ReportKind,
    Summary,
)
from patchsmith.report.parts import attention_rows


def test_demo_whole_patch_matches_golden(
    make_demo_report: Callable[..., Report], golden: Callable[[str, str], None]
) -> None:
    golden("demo-check.md", render_markdown(make_demo_report()))


def test_demo_only_drivers_md_matches_golden(
    make_demo_report: Callable[..., Report], golden: Callable[[str, str], None]
) -> None:
    report = make_demo_report(Selection(only=("drivers/md",)))
    golden("demo-check-only-md.md", render_markdown(report))


def test_summary_comes_first_and_says_what_matters(make_demo_report: Callable[..., Report]) -> None:
    text = render_markdown(make_demo_report())
    head = text.split("## Needs attention")[0]
    assert "**Safe to build: no**" in head
    # What is open comes first, counted by kind and named; nothing is said to be fine.
    assert "🔴 **Open (2)**: **2 conflicts**: `Makefile#1`, `drivers/md/dm-snap.c#3`" in head
    assert "✅" not in head and "Nothing silently fuzzed" not in head
    assert "fuzzy hunks: none" in head
    assert "| conflict | 2 |" in head


def test_every_file_is_one_closed_details_block(make_demo_report: Callable[..., Report]) -> None:
    text = render_markdown(make_demo_report())
    assert text.count("<details>") == 5
    assert text.count("</details>") == 5
    assert "<details open" not in text


def test_code_span_outgrows_backticks_and_escapes_pipes() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("a|b") == "`a\\|b`"
    assert code_span("a|b", in_table=False) == "`a|b`"


def test_fence_is_longer_than_any_backtick_run_inside() -> None:
    assert fence("x\n", "diff") == "```diff\nx\n```\n"
    assert fence("```\n````\n").startswith("`````\n")
    assert fence("no newline").endswith("no newline\n```\n")


def _hostile_report() -> Report:
    nasty = 's = "```"; /* </details> | <b>x</b> */'
    diff = Diff(
        "upstream", "vanilla", "upstream", 1, 1, (DiffLine("-", nasty), DiffLine("+", nasty + "!"))
    )
    hunk = HunkReport(
        id="a/`odd`|name.c#1",
        index=1,
        header=f"@@ -1 +1 @@ {nasty}",
        status=HunkStatus.CONFLICT,
        expected_line=1,
        found_line=None,
        offset=0,
        fuzz=0,
        needs_review=True,
        reason="closest region <here> | there",
        added=1,
        removed=1,
        open=True,
        upstream=diff,
        result_missing="none yet",
        vendor_missing="nothing alike",
    )
    file = FileReport(
        path="a/`odd`|name.c",
        entry=1,
        kind="modified",
        status=HunkStatus.CONFLICT,
        selected=True,
        needs_review=True,
        reason="",
        added=1,
        removed=1,
        hunks=(hunk,),
        open=False,
    )
    summary = Summary(1, 1, (), (OpenItemReport("conflict", hunk.id),), (), (), 0, 0)
    inputs = Inputs((PatchInput("p.diff", 1, 1, "0" * 64),), "t", None, None, (), 1, 2, "v", "d")
    rows = attention_rows((file,), (), summary.open)
    return Report(ReportKind.PREDICTION, "p on t", inputs, summary, (file,), (), attention=rows)


def test_text_from_the_patch_cannot_break_the_layout() -> None:
    text = render_markdown(_hostile_report())
    # The only </details> outside a code block is the one closing the file's block.
    outside = [part for index, part in enumerate(text.split("````")) if index % 2 == 0]
    assert sum(part.count("</details>") for part in outside) == 1
    assert "````diff\n" in text  # the diff holds ``` so the fence is four backticks long
    assert "<code>a/`odd`|name.c</code>" in text
    assert "closest region &lt;here&gt; \\| there" in text
    assert "``a/`odd`\\|name.c#1``" in text


def test_attention_only_keeps_what_a_person_must_read(
    make_demo_report: Callable[..., Report],
) -> None:
    # The demo: Makefile#1 and dm-snap.c#3 conflict, dm-snap.c#2 is an offset, dm-table.c#1 is
    # already applied; device-mapper.h and kernel/sched/core.c go in clean.
    report = make_demo_report()
    full = render_markdown(report)
    short = render_markdown(report, attention_only=True)
    assert len(short) < len(full)
    files = short.split("## Files")[1].split("## Diffstat")[0]
    assert "2 more kept file(s), 2 hunk(s), went in clean" in files
    for listed in ("<code>Makefile</code>", "drivers/md/dm-snap.c", "drivers/md/dm-table.c"):
        assert listed in files
    assert "device-mapper.h" not in files and "kernel/sched/core.c" not in files
    # Evidence only for the hunks a person has to look at; the offset keeps its table row.
    assert "#### `drivers/md/dm-snap.c#3`" in files and "#### `Makefile#1`" in files
    assert "#### `drivers/md/dm-snap.c#2`" not in files
    assert "#### `drivers/md/dm-snap.c#2`" in full
    assert "line 44 (offset +5)" in files
    # The summary and the attention table are the full report's; the diffstat is its totals.
    assert short.split("## Files")[0] == full.split("## Files")[0]
    stat = short.split("## Diffstat")[1]
    assert " files changed, " in stat and " | " not in stat

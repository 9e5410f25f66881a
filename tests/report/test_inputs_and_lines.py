"""A session report's inputs (recorded by apply, not remembered) and its one numbering.

The selection's inputs are taken when ``apply`` runs: a ``.config`` changed afterwards must not
change what the report says decided the selection. Line numbers are the vendor tree's, as
``check`` gives them; the worktree's appear only where named so, and an open hunk is never said
to be anywhere it was not written.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.cli import main
from patchsmith.workspace.lines import line_maps
from patchsmith.workspace.session import SessionStore
from tests.support.paths import FIXTURES

DEMO = FIXTURES / "demo"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(DEMO, work)
    monkeypatch.chdir(work)
    return work


def _apply(capsys: pytest.CaptureFixture[str], *options: str) -> SessionStore:
    code = main(["apply", "patch-6.1.999.diff", "--tree", "vendor", *options, "--json"])
    assert code == 1
    return SessionStore.open(Path(json.loads(capsys.readouterr().out)["worktree"]))


def _report(capsys: pytest.CaptureFixture[str], store: SessionStore, fmt: str) -> str:
    main(["report", "--format", fmt, "--session", str(store.path)])
    return capsys.readouterr().out


def test_apply_records_what_decided_the_selection_and_the_report_shows_it(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _apply(capsys, "--modules-only", "--config", "config", "--base", "vanilla")
    inputs = store.load().inputs
    assert inputs is not None
    config_digest = hashlib.sha256((demo / "config").read_bytes()).hexdigest()
    patch_digest = hashlib.sha256((demo / "patch-6.1.999.diff").read_bytes()).hexdigest()
    assert inputs.rules == ("--modules-only",)
    assert inputs.strip == 1
    assert inputs.config == str(demo / "config")
    assert inputs.config_sha256 == config_digest
    assert [(s.name, s.sha256) for s in inputs.sources] == [("patch-6.1.999.diff", patch_digest)]
    decided = {f.path: (f.reason or "kept", f.kbuild_class) for f in inputs.files}
    assert decided["drivers/md/dm-snap.c"] == ("kept", "module")
    assert decided["kernel/sched/core.c"][0].startswith("class builtin: ")
    assert decided["Makefile"][1] == "build-system"
    # The config changes after apply: the report says what decided the selection then.
    (demo / "config").write_text("CONFIG_BLK_DEV_DM=y\n", encoding="utf-8")
    markdown = _report(capsys, store, "md")
    assert f"| config | `{demo / 'config'}`, sha256 `{config_digest}` |" in markdown
    assert "| selection | `--modules-only` |" in markdown
    assert "Rules: `--modules-only`." in markdown
    assert "Kept **2** of 5 files and **4** of 7 hunks; left out 3 files and 3 hunks." in markdown
    assert "| `kernel/sched/core.c` | `Kbuild class: builtin` |" in markdown
    assert "| module | 2 | 4 | 0 | 0 |" in markdown
    assert "Not recorded" not in markdown
    document = json.loads(_report(capsys, store, "json"))
    assert document["inputs"]["config_sha256"] == config_digest
    assert document["inputs"]["recorded"] is True
    assert document["selection"]["files_left_out"] == 3
    html = _report(capsys, store, "html")
    assert config_digest in html and "<code>kernel/sched/core.c</code>" in html


def test_a_config_read_only_for_the_selection_warnings_is_recorded_too(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --only decides the files, but the .config decides the selection warnings (open items of
    # the gate): the report must not say "config —" for a config apply read.
    store = _apply(capsys, "--only", "drivers/md", "--config", "config")
    inputs = store.load().inputs
    assert inputs is not None
    digest = hashlib.sha256((demo / "config").read_bytes()).hexdigest()
    assert (inputs.config, inputs.config_sha256) == (str(demo / "config"), digest)
    assert inputs.rules == ("--only drivers/md",)
    markdown = _report(capsys, store, "md")
    assert f"| config | `{demo / 'config'}`, sha256 `{digest}` |" in markdown
    # Without --config nothing was read, and nothing is claimed.
    main(["abort", "--session", str(store.path)])
    capsys.readouterr()
    bare = _apply(capsys, "--only", "drivers/md").load().inputs
    assert bare is not None and bare.config is None and bare.config_sha256 is None


def test_a_session_of_an_older_patchsmith_says_its_selection_was_not_recorded(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _apply(capsys, "--only", "drivers/md")
    data = json.loads(store.path.read_text(encoding="utf-8"))
    del data["inputs"]  # as a session of an older patchsmith has it
    store.path.write_text(json.dumps(data), encoding="utf-8")
    markdown = _report(capsys, store, "md")
    assert "Not recorded: this session was made by a patchsmith that kept only" in markdown
    assert "| selection | `--only drivers/md` |" in markdown
    document = json.loads(_report(capsys, store, "json"))
    assert document["inputs"]["recorded"] is False and document["selection"] is None


def _check_line(capsys: pytest.CaptureFixture[str], hunk: str, *options: str) -> int:
    """The line ``check`` names for a hunk: its found line, or its closest region."""
    main(["check", "patch-6.1.999.diff", "--tree", "vendor", "--json", *options])
    document = json.loads(capsys.readouterr().out)
    path, number = hunk.split("#")
    for file in document["files"]:
        if file["path"] == path:
            found = file["hunks"][int(number) - 1]
            if found["found_line"] is not None:
                return int(found["found_line"])
            match = re.search(r"closest region at line (\d+)", found["reason"])
            assert match is not None, found["reason"]
            return int(match.group(1))
    raise AssertionError(hunk)


@pytest.mark.parametrize("base", [False, True], ids=["hunk-local", "3-way"])
def test_one_numbering_the_vendor_tree_s_as_check_gives_it(
    demo: Path, capsys: pytest.CaptureFixture[str], base: bool
) -> None:
    # dm-snap.c#2 adds a line above #3 when apply writes it: in the worktree, #3's region is
    # one line lower than in the vendor's tree.
    expected = _check_line(capsys, "drivers/md/dm-snap.c#3")
    assert expected == 53
    store = _apply(capsys, *(["--base", "vanilla"] if base else []))
    session = store.load()
    hunk = session.hunk("drivers/md/dm-snap.c#3")
    assert hunk.vendor is not None and hunk.vendor.start == expected + 1  # the worktree's
    document = json.loads(_report(capsys, store, "json"))
    snap = next(f for f in document["files"] if f["path"] == "drivers/md/dm-snap.c")
    third = snap["hunks"][2]
    kind = "3-way region" if base else "region"
    assert third["region_line"] == expected
    assert third["place"] == f"not written; {kind} at line {expected}"
    assert (third["vendor"]["new_start"], third["vendor"]["new_numbering"]) == (
        expected,
        "vendor tree",
    )
    result = third["result"]
    assert (result["old_start"], result["old_numbering"]) == (expected, "vendor tree")
    assert (result["new_start"], result["new_numbering"]) == (expected + 1, "worktree")
    offset = snap["hunks"][1]
    assert (
        offset["place"]
        == "line 44 (offset +5)"
        == "line {} (offset +5)".format(_check_line(capsys, "drivers/md/dm-snap.c#2"))
    )
    markdown = _report(capsys, store, "md")
    assert "landed" not in markdown
    assert f"vendor has, vendor tree line {expected} → proposal, worktree line {expected + 1}" in (
        markdown
    )
    # Every open hunk says it was not written, whatever else it says.
    for file in document["files"]:
        for item in file["hunks"]:
            if item["open"]:
                assert item["place"].startswith("not written"), item["place"]


def test_a_resolved_hunk_keeps_the_vendor_tree_s_line_and_names_the_worktree_s(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _apply(capsys, "--base", "vanilla")
    main(["resolve", "drivers/md/dm-snap.c#3", "--upstream", "--session", str(store.path)])
    main(["resolve", "Makefile#1", "--upstream", "--session", str(store.path)])
    capsys.readouterr()
    document = json.loads(_report(capsys, store, "json"))
    third = next(f for f in document["files"] if f["path"] == "drivers/md/dm-snap.c")["hunks"][2]
    assert third["place"] == "upstream; 3-way region at line 53"
    assert third["severity"] == "resolved"
    assert (third["result"]["new_start"], third["result"]["new_numbering"]) == (54, "worktree")


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A file of repetitive lines (the kind that fools line matching) and an edit of it."""
    words = st.sampled_from(["}", "x++;", "return 0;", "", "{", "int a;"])
    old = draw(st.lists(words, max_size=30))
    new = list(old)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(new)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            new[at:at] = draw(st.lists(words, min_size=1, max_size=3))
        elif at < len(new):
            span = draw(st.integers(1, 3))
            new[at : at + span] = [] if action == "delete" else [draw(words)]
    return old, new


def test_line_maps_agree_with_git_on_every_unchanged_line(tmp_path: Path) -> None:
    repository = tmp_path / "repository"
    repository.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)

    def commit(lines: list[str]) -> str:
        (repository / "f.c").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        subprocess.run(["git", "add", "-A"], cwd=repository, check=True)
        subprocess.run(
            ["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repository, check=True
        )
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True
        ).stdout.strip()

    @settings(max_examples=60, deadline=None)
    @given(edits())
    def check(pair: tuple[list[str], list[str]]) -> None:
        old, new = pair
        before, after = commit(old), commit(new)
        maps = line_maps(repository, before, after)
        assert maps is not None
        moved = maps.get("f.c")
        if moved is None:
            assert old == new
            return
        changed_new: set[int] = set()
        for _old_start, _old_count, new_start, new_count in moved.changes:
            first = new_start if new_count else new_start + 1
            changed_new.update(range(first, first + new_count))
        for line in range(1, len(new) + 1):
            if line in changed_new:
                continue
            back = moved.to_old(line)
            assert old[back - 1] == new[line - 1]
            assert moved.to_new(back) == line

    check()
    assert line_maps(repository, "0" * 40, "HEAD") is None  # unknown is not "unmoved"


def test_check_report_names_the_config_by_its_digest_as_apply_does(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # check --report reads the .config for the selection just as apply does; a reviewer given
    # only the check report must be able to tell which config decided it.
    digest = hashlib.sha256((demo / "config").read_bytes()).hexdigest()
    options = ["--tree", "vendor", "--modules-only", "--config", "config", "--report"]
    main(["check", "patch-6.1.999.diff", *options, "md", "-o", "check.md"])
    capsys.readouterr()
    markdown = (demo / "check.md").read_text(encoding="utf-8")
    assert f"| config | `config`, sha256 `{digest}` |" in markdown
    main(["check", "patch-6.1.999.diff", *options, "json", "-o", "check.json"])
    capsys.readouterr()
    document = json.loads((demo / "check.json").read_text(encoding="utf-8"))
    assert document["inputs"]["config_sha256"] == digest
    # Without --config nothing was read, and nothing is claimed.
    main(["check", "patch-6.1.999.diff", "--tree", "vendor", "--report", "json", "-o", "bare.json"])
    capsys.readouterr()
    assert (
        json.loads((demo / "bare.json").read_text(encoding="utf-8"))["inputs"]["config_sha256"]
        is None
    )

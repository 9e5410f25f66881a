"""Resolution memory: a decision is replayed only where it was made, and only for a person to
confirm; undo forgets it; another tree, another place or an ambiguous place gets a suggestion."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace import git, memory
from patchsmith.workspace.session import SessionStore
from tests.support.paths import DEMO, DEMO_PATCH
from tests.support.sessions import abort, apply_file, store_of
from tests.support.trees import git as run

TWINS = Path(__file__).resolve().parents[2] / "fixtures" / "memory-twin-functions"
TWIN = "drivers/md/dm-twin.c"
SNAP = "drivers/md/dm-snap.c#3"


def _apply(
    tree: Path, patch: Path = DEMO_PATCH, worktree: Path | None = None, **options: Any
) -> SessionStore:
    return apply_file(patch, tree, worktree=worktree, **options)


def _remembered() -> list[memory.Entry]:
    return memory.Memory().entries()


def test_a_decision_is_replayed_for_a_person_to_confirm(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve(SNAP, Resolution.DROPPED, reason="vendor's check covers it")
    assert len(_remembered()) == 2
    assert str(memory.directory()).startswith(str(git.data_home()))
    made = store.load()
    decided = {h.id: h for h in made.hunks if h.resolution is not None}
    abort(store)

    second = _apply(demo_tree)
    session = second.load()
    replayed = [session.hunk("Makefile#1"), session.hunk(SNAP)]
    for hunk in replayed:
        original = decided[hunk.id]
        assert hunk.reused and hunk.to_confirm and hunk.open
        assert (hunk.resolution, hunk.resolved_by, hunk.resolved_at) == (
            original.resolution,
            original.resolved_by,
            original.resolved_at,
        )
        assert hunk.written == original.written
        assert hunk.memory_note is not None and hunk.memory_note.startswith("remembered:")
    assert session.hunk(SNAP).resolution_reason == "vendor's check covers it"
    # The gate stays closed until a person confirms, and says why.
    items = second.open_items()
    assert [(i.kind, i.hunk_id) for i in items] == [("confirm", "Makefile#1"), ("confirm", SNAP)]
    assert "reused: confirm" in str(items[0])
    assert session.counts["to-confirm"] == 2
    # The files hold the decisions, the .rej files are gone, and it took one commit.
    worktree = Path(session.worktree)
    assert not (worktree / "Makefile.rej").exists()
    assert (worktree / "Makefile").read_text().count(decided["Makefile#1"].written or "?") == 1
    log = run(worktree, "log", "--format=%s", f"{session.applied_commit}..HEAD").splitlines()
    assert log == ["patchsmith: replay 2 remembered resolution(s) (to confirm)"]

    after, confirmed = second.confirm(["Makefile#1"])
    assert confirmed == ["Makefile#1"] and after.hunk("Makefile#1").confirmed_by
    assert [h.id for h in after.open_hunks] == [SNAP]
    with pytest.raises(SessionError, match="no reused resolution to confirm"):
        second.confirm(["Makefile#1"])
    after, confirmed = second.confirm()
    assert confirmed == [SNAP] and after.open_hunks == () and second.open_items() == []


def test_trust_memory_settles_replayed_decisions_and_says_so(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    session = _apply(demo_tree, trust_memory=True).load()
    hunk = session.hunk(SNAP)
    assert hunk.reused and hunk.trusted and not hunk.open and hunk.confirmed_by
    assert session.trust_memory
    assert session.to_json()["trust_memory"] is True


def test_undo_forgets_what_the_resolution_remembered(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.DROPPED, reason="test")
    assert len(_remembered()) == 1
    store.undo(SNAP)
    assert _remembered() == []
    # Deciding again replaces the decision in memory; undo then leaves nothing either.
    store.resolve(SNAP, Resolution.UPSTREAM)
    store.resolve(SNAP, Resolution.DROPPED, reason="second thoughts")
    assert [e.decision.resolution for e in _remembered()] == [Resolution.DROPPED]
    store.undo(SNAP)
    assert _remembered() == []
    abort(store)
    hunk = _apply(demo_tree).load().hunk(SNAP)
    assert hunk.open and hunk.resolution is None and not hunk.reused
    assert hunk.memory_note is None


def test_undoing_a_new_decision_on_a_reused_hunk_puts_the_old_one_back(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    second = _apply(demo_tree)
    assert second.load().hunk(SNAP).reused
    second.resolve(SNAP, Resolution.DROPPED, reason="not for this tree")
    assert [e.decision.resolution for e in _remembered()] == [Resolution.DROPPED]
    second.undo(SNAP)
    assert [e.decision.resolution for e in _remembered()] == [Resolution.UPSTREAM]
    # Deciding without remembering leaves memory as it is.
    second.resolve(SNAP, Resolution.UPSTREAM, remember=False)
    assert [e.decision.resolution for e in _remembered()] == [Resolution.UPSTREAM]


@pytest.mark.parametrize("confirmed", [False, True], ids=["waiting", "confirmed"])
def test_undoing_a_replayed_decision_forgets_it_so_no_apply_replays_it_again(
    demo_tree: Path, confirmed: bool
) -> None:
    # The person who undoes a replay says the remembered decision is wrong here, in the very
    # place it was remembered for. Kept, the next apply would replay it, and --trust-memory
    # would settle it unread.
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    second = _apply(demo_tree)
    assert second.load().hunk(SNAP).reused
    if confirmed:
        second.confirm([SNAP])
    second.undo(SNAP)
    assert _remembered() == []
    hunk = second.load().hunk(SNAP)
    assert hunk.open and hunk.resolution is None and not hunk.reused
    abort(second)
    for trust in (False, True):
        third = _apply(demo_tree, trust_memory=trust)
        hunk = third.load().hunk(SNAP)
        assert hunk.open and hunk.resolution is None and not hunk.reused and not hunk.trusted
        abort(third)


def test_undoing_a_replay_keeps_a_newer_decision_made_for_that_place(demo_tree: Path) -> None:
    # Memory changed under the session: another session decided the same place anew after
    # this one replayed the old decision. That newer decision is not what is undone here.
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    second = _apply(demo_tree)
    assert second.load().hunk(SNAP).reused
    [old] = _remembered()
    newer = memory.Entry(
        **{
            **{name: getattr(old, name) for name in old.__dataclass_fields__},
            "decision": memory.Decision(
                Resolution.DROPPED, "elsewhere", None, "N <n@example.org>", "2030-01-01T00:00:00"
            ),
        }
    )
    assert newer.id == old.id  # the same place: the newer decision replaces the old one
    memory.Memory().put(newer)
    second.undo(SNAP)
    assert [e.decision for e in _remembered()] == [newer.decision]


def test_a_copy_of_the_tree_elsewhere_gets_a_suggestion_not_a_reuse(
    demo_tree: Path, tmp_path: Path
) -> None:
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    copy = tmp_path / "copy"
    shutil.copytree(demo_tree, copy, symlinks=True)
    session = _apply(copy).load()
    hunk = session.hunk(SNAP)
    assert hunk.open and hunk.resolution is None and not hunk.reused
    assert hunk.memory_note is not None
    assert hunk.memory_note.startswith("suggestion:") and "another tree" in hunk.memory_note
    # Naming the lineage is how a copy (or a team) shares decisions.
    abort(store)
    named = _apply(demo_tree, lineage="cloud-6.1")
    named.resolve(SNAP, Resolution.UPSTREAM)
    again = _apply(copy, worktree=tmp_path / "named", lineage="cloud-6.1", branch="patchsmith/n")
    assert again.load().hunk(SNAP).reused


def test_a_git_tree_reuses_on_its_descendants_only(demo_repo: Path, tmp_path: Path) -> None:
    store = _apply(demo_repo, worktree=tmp_path / "first")
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    # The vendor's next commit (elsewhere in the tree): the same lineage.
    (demo_repo / "README.vendor").write_text("release notes\n")
    run(demo_repo, "add", "README.vendor")
    run(demo_repo, "commit", "-q", "-m", "vendor: notes")
    later = _apply(demo_repo, worktree=tmp_path / "later")
    assert later.load().hunk(SNAP).reused
    # The same files in a repository with a history of its own: another tree.
    other = tmp_path / "other"
    shutil.copytree(DEMO / "vendor", other, symlinks=True)
    run(other, "init", "-q")
    run(other, "add", "-A")
    run(other, "commit", "-q", "-m", "another vendor")
    hunk = _apply(other, worktree=tmp_path / "other-wt").load().hunk(SNAP)
    assert not hunk.reused and hunk.open
    assert hunk.memory_note is not None and "another tree" in hunk.memory_note


def test_changed_lines_around_the_region_make_it_a_suggestion(
    demo_repo: Path, tmp_path: Path
) -> None:
    store = _apply(demo_repo, worktree=tmp_path / "first")
    store.resolve(SNAP, Resolution.UPSTREAM)
    region = store.load().hunk(SNAP).vendor
    abort(store)
    # The vendor's next commit changes the line right below the region, in the same function.
    path = demo_repo / "drivers/md/dm-snap.c"
    text = path.read_text()
    assert text.count("r = snapshot_write(s, bio);") == 1
    path.write_text(
        text.replace("r = snapshot_write(s, bio);", "r = snapshot_write_vendor(s, bio);")
    )
    run(demo_repo, "commit", "-q", "-am", "vendor: own write path")
    hunk = _apply(demo_repo, worktree=tmp_path / "later").load().hunk(SNAP)
    assert hunk.vendor == region  # the premise: the same region, the same function
    assert hunk.open and not hunk.reused
    assert hunk.memory_note is not None and "lines around" in hunk.memory_note


def test_a_decision_is_replayed_only_with_the_base_it_was_made_with(
    demo_tree: Path, tmp_path: Path
) -> None:
    store = _apply(demo_tree)
    store.resolve(SNAP, Resolution.UPSTREAM)
    region = store.load().hunk(SNAP).vendor
    abort(store)
    based = _apply(demo_tree, base=str(DEMO / "vanilla")).load().hunk(SNAP)
    assert based.vendor == region  # the premise: the same region
    assert based.open and not based.reused
    assert based.memory_note is not None and "made without --base" in based.memory_note
    # And a decision made with one vanilla file is not replayed with another.
    abort(store_of(Path(store.read().worktree)))
    vanilla = tmp_path / "vanilla"
    shutil.copytree(DEMO / "vanilla", vanilla)
    first = _apply(demo_tree, base=str(vanilla))
    first.resolve(SNAP, Resolution.UPSTREAM)
    abort(first)
    with (vanilla / "drivers/md/dm-snap.c").open("a") as handle:
        handle.write("/* another vanilla release */\n")
    other = _apply(demo_tree, base=str(vanilla)).load().hunk(SNAP)
    assert other.vendor == region and not other.reused
    assert other.memory_note is not None and "another vanilla base" in other.memory_note


def _twin_tree(tmp_path: Path, name: str) -> Path:
    tree = tmp_path / name
    shutil.copytree(TWINS / name, tree)
    return tree


def test_a_decision_made_with_a_base_is_not_replayed_at_the_other_twin(tmp_path: Path) -> None:
    """The issue's case: the base put the region in twin_write(); a later session without one
    is offered twin_read()'s identical lines. Nothing may be settled there."""
    tree = _twin_tree(tmp_path, "vendor")
    patch = TWINS / "patch-no-function.diff"
    first = _apply(tree, patch, tmp_path / "based", base=str(TWINS / "base"))
    hunk = first.load().hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 22  # twin_write()
    first.resolve(hunk.id, Resolution.UPSTREAM)
    abort(first)
    second = _apply(tree, patch, tmp_path / "plain").load()
    hunk = second.hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 12  # twin_read(): the premise
    assert hunk.open and hunk.resolution is None
    assert hunk.memory_note is not None and hunk.memory_note.startswith("suggestion:")
    written = (Path(second.worktree) / TWIN).read_text()
    assert "t->frozen" not in written


def test_a_decision_is_not_replayed_at_the_other_twin_on_a_later_commit(tmp_path: Path) -> None:
    """No base either time: the vendor's next commit moves the nearest candidate from
    twin_read() to twin_write(). Same lineage, same lines, another place: a suggestion."""
    repo = _twin_tree(tmp_path, "vendor")
    run(repo, "init", "-q")
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "vendor")
    patch = TWINS / "patch-no-function.diff"
    first = _apply(repo, patch, tmp_path / "first")
    hunk = first.load().hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 12  # twin_read()
    first.resolve(hunk.id, Resolution.UPSTREAM)
    abort(first)
    shutil.copy(TWINS / "vendor-later" / TWIN, repo / TWIN)
    run(repo, "commit", "-q", "-am", "vendor: the tuning block at the end")
    second = _apply(repo, patch, tmp_path / "second").load()
    hunk = second.hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 15  # twin_write(): the premise
    assert hunk.open and not hunk.reused
    assert hunk.memory_note is not None and "another place" in hunk.memory_note


def test_a_place_that_appears_twice_is_never_replayed() -> None:
    """Repetitive code: the region, its neighbourhood and its function the same at two places
    (the second and third of four identical blocks). The place cannot be told apart, even
    where the decision was made."""
    block = "\tlock(t);\n\tif (!t->ready)\n\t\treturn -EAGAIN;\n\tunlock(t);\n"
    head = "static int twin_io(struct twin *t)\n{\n"
    file = (head + block * 4 + "}\n").encode()
    situation = memory.Situation(
        hunk_id="x#1",
        path="x.c",
        status="conflict",
        pre_image="\tif (!t->ready)\n",
        post_image="\tif (!t->ready || t->frozen)\n",
        vendor="\tif (!t->ready)\n",
        vendor_start=8,
    )
    place, same = memory.place_of(situation, file, None)
    assert same == 2 and place.function.startswith("static int twin_io")
    entry = memory.Entry(
        lineage="name:x",
        path="x.c",
        status="conflict",
        pre_image=situation.pre_image,
        post_image=situation.post_image,
        vendor=situation.vendor,
        place=place,
        decision=memory.Decision(Resolution.UPSTREAM, None, situation.post_image, "a", "t"),
    )
    verdict = memory.judge(entry, situation, place, same, memory.LineageCheck("name:x", None))
    assert not verdict.reuse and "appears 2 times" in verdict.why_not
    unique, once = memory.place_of(situation, (head + block * 3 + "}\n").encode(), None)
    assert once == 1 and unique == place
    assert memory.judge(entry, situation, unique, once, memory.LineageCheck("name:x", None)).reuse


def test_reuse_writes_the_session_once_whatever_it_replays(
    demo_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    original = SessionStore.write

    def counting(self: SessionStore, session: object, encoded: bytes | None = None) -> None:
        writes.append(str(self.path))
        original(self, session, encoded)  # type: ignore[arg-type]

    monkeypatch.setattr(SessionStore, "write", counting)
    store = _apply(demo_tree)
    without = len(writes)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve(SNAP, Resolution.UPSTREAM)
    abort(store)
    writes.clear()
    second = _apply(demo_tree)
    assert second.load().counts["to-confirm"] == 2
    assert len(writes) == without


def test_a_damaged_record_is_ignored(demo_tree: Path) -> None:
    store = _apply(demo_tree)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    for path in memory.directory().iterdir():
        path.write_text("{not json")
    assert _remembered() == []
    abort(store)
    assert not _apply(demo_tree).load().hunk("Makefile#1").reused


def test_export_and_import_round_trip(demo_tree: Path, tmp_path: Path) -> None:
    store = _apply(demo_tree)
    store.resolve("Makefile#1", Resolution.ACCEPTED)
    store.resolve(SNAP, Resolution.DROPPED, reason='vendor\'s check "covers" it')
    entries = _remembered()
    text = memory.export_text(entries)
    assert memory.export_text(list(reversed(entries))) == text  # a deterministic order
    assert b'reason: "vendor\'s check \\"covers\\" it"' in text
    memory.Memory().clear()
    assert _remembered() == []
    for entry in memory.import_text(text, "memory.txt"):
        memory.Memory().put(entry)
    assert _remembered() == entries
    abort(store)
    assert _apply(demo_tree).load().counts["to-confirm"] == 2


# Pieces an export must not mistake for its own structure, and bytes it must keep.
_TEXT = st.lists(
    st.sampled_from(
        [
            "a",
            " ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "| ",
            "end",
            "\\ no newline\n",
            "decision 1",
            "reason: none",
            "é",
            "\udcff",
            "#",
            "\x00",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    vendor=st.none() | _TEXT,
    written=st.none() | _TEXT,
    function=_TEXT,
    reason=st.none() | _TEXT,
)
def test_export_keeps_every_byte_of_every_text(
    vendor: str | None, written: str | None, function: str, reason: str | None
) -> None:
    entry = memory.Entry(
        lineage="git:abc",
        path="drivers/md/d m.c",
        status="conflict",
        pre_image="\\ no newline\n| end\n",
        post_image="end",
        vendor=vendor,
        place=memory.Place(function, "before\r\n", "", None, "absent"),
        decision=memory.Decision(Resolution.EDITED, reason, written, "A <a@b>", "now"),
        patch="p",
        hunk_id="x#1",
        tree="/t",
    )
    assert memory.import_text(memory.export_text([entry]), "f") == [entry]


def test_a_malformed_export_names_its_line() -> None:
    with pytest.raises(Exception, match=r"memory.txt:3: unknown field 'colour'") as raised:
        memory.import_text(b'# x\ndecision 1\ncolour: "red"\nend\n', "memory.txt")
    assert getattr(raised.value, "exit_code", None) == 2


def _baseline() -> tuple[memory.Entry, memory.Situation, memory.Place]:
    situation = memory.Situation(
        hunk_id="drivers/md/dm.c#2",
        path="drivers/md/dm.c",
        status="conflict",
        pre_image="\tif (!md)\n",
        post_image="\tif (!md || md->dead)\n",
        vendor="\tif (!md || !md->disk)\n",
        vendor_start=10,
    )
    place = memory.Place("static int dm_open(struct dm *md)\n", "{\n", "}\n", None, "abc")
    entry = memory.Entry(
        lineage="git:1111",
        path=situation.path,
        status=situation.status,
        pre_image=situation.pre_image,
        post_image=situation.post_image,
        vendor=situation.vendor,
        place=place,
        decision=memory.Decision(Resolution.EDITED, None, "\tif (!md || md->dead)\n", "a", "t"),
    )
    return entry, situation, place


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"path": "drivers/md/dm-core.c"}, "made on drivers/md/dm.c"),
        ({"vendor": "\tif (!md ||  !md->disk)\n"}, "differ (beyond whitespace)"),
        ({"lineage": "git:2222"}, "another tree"),
        ({"base": None}, "made with --base"),
        ({"base": "def"}, "another vanilla base"),
        ({"file": "absent"}, "the file differs"),
        ({"function": "static int dm_close(struct dm *md)\n"}, "another place"),
        ({"before": "{\n\tmutex_lock(&md->lock);\n"}, "lines around"),
        ({"same": 2}, "appears 2 times"),
        ({"same": 0}, "cannot be told apart"),
    ],
)
def test_each_part_of_the_scope_is_required(change: dict[str, object], why: str) -> None:
    entry, situation, place = _baseline()
    check = memory.LineageCheck("git:1111", None)
    assert memory.judge(entry, situation, place, 1, check).reuse
    if "path" in change or "vendor" in change:
        situation = memory.Situation(
            **{**{f: getattr(situation, f) for f in situation.__dataclass_fields__}, **change}
        )
        # A whitespace-only difference still finds the entry (the loose key) ...
        assert (
            memory.situation_key(
                situation.pre_image, situation.post_image, situation.vendor, situation.status
            )
            == entry.situation
            or "path" in change
        )
    if "lineage" in change:
        check = memory.LineageCheck(str(change["lineage"]), None)
    fields = {k: v for k, v in change.items() if k in ("base", "file", "function", "before")}
    if fields:
        place = memory.Place(
            **{**{f: getattr(place, f) for f in place.__dataclass_fields__}, **fields}
        )
    same = int(change.get("same", 1))  # type: ignore[call-overload]
    verdict = memory.judge(entry, situation, place, same, check)
    # ... but only an exact match in every part is replayed.
    assert not verdict.reuse and why in verdict.why_not


def test_show_files_reads_many_files_in_one_batch(demo_repo: Path) -> None:
    (demo_repo / "data.bin").write_bytes(b"\x00\n\nend\n\xff")
    (demo_repo / "odd name.c").write_text("int x;\n")
    run(demo_repo, "add", "-A")
    run(demo_repo, "commit", "-q", "-m", "more")
    head = git.head(demo_repo)
    paths = ["data.bin", "drivers", "missing.c", "odd name.c", "drivers/md/dm-snap.c"]
    found = git.show_files(demo_repo, head, paths)
    assert found == {p: git.show_file(demo_repo, head, p) for p in paths}
    assert found["data.bin"] == b"\x00\n\nend\n\xff"
    assert found["missing.c"] is None and found["drivers"] is None


def test_the_function_the_header_names_is_found_without_a_base(tmp_path: Path) -> None:
    """With the header naming twin_write(), the region is there with a base or without, and on
    the vendor's next commit too: the twin nearer to the stated line is never offered. The
    decision made there on the first commit is the one suggested at the same function later."""
    repo = _twin_tree(tmp_path, "vendor")
    run(repo, "init", "-q")
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "vendor")
    patch = TWINS / "patch.diff"
    based = _apply(repo, patch, tmp_path / "based", base=str(TWINS / "base"))
    hunk = based.load().hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 22  # twin_write()
    abort(based)
    first = _apply(repo, patch, tmp_path / "first")
    hunk = first.load().hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 22  # twin_write(), not twin_read()
    first.resolve(hunk.id, Resolution.UPSTREAM)
    abort(first)
    shutil.copy(TWINS / "vendor-later" / TWIN, repo / TWIN)
    run(repo, "commit", "-q", "-am", "vendor: the tuning block at the end")
    second = _apply(repo, patch, tmp_path / "second").load()
    hunk = second.hunk(f"{TWIN}#1")
    assert hunk.vendor is not None and hunk.vendor.start == 15  # twin_write() again
    assert hunk.memory_note is not None and hunk.memory_note.startswith("suggestion: upstream")

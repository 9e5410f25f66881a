"""The draft store: picks kept beside the session, given back only to the proposal they were
made on, and every draft it will not give back named (never applied, never dropped silently).

Inputs that would fool it: hunk ids that differ only in characters a file name cannot hold,
Latin-1 bytes in the text, a damaged or truncated file, a file renamed by hand to another
hunk's name, a proposal that changed under the draft, a hunk resolved meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace.drafts import DraftStore, Pick
from patchsmith.workspace.session import SessionStore, to_text
from tests.tui.two_blocks import HUNK, two_block_session


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return two_block_session(tmp_path)


def proposal(store: SessionStore) -> str:
    text = store.load().hunk(HUNK).proposal
    assert text is not None
    return text


def test_round_trip_keeps_every_byte(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    latin = to_text("\t/* caf\xe9 */\r\n".encode("latin-1"))  # not UTF-8, and CRLF
    picks = [Pick(latin + "x\n", "block 1: took the vendor's lines"), Pick("y\n", "block 2")]
    drafts.save(HUNK, proposal(store), picks)
    restored = drafts.restore(store.load())
    assert restored.set_aside == ()
    assert restored.drafts == {HUNK: tuple(picks)}
    # beside session.json, in the worktree's git dir: never in the tree
    assert drafts.folder == store.path.parent / "drafts"
    assert not any(Path(store.load().worktree).rglob("*.json"))


def test_no_picks_removes_the_draft(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save(HUNK, proposal(store), [Pick("x\n", "one")])
    drafts.save(HUNK, proposal(store), [])
    assert list(drafts.folder.iterdir()) == []
    drafts.discard(HUNK)  # nothing to forget is fine


def test_ids_that_differ_in_unsafe_characters_get_their_own_files(tmp_path: Path) -> None:
    drafts = DraftStore(tmp_path / "session.json")
    names = {drafts.path_for(i) for i in ("a/b#1", "a_b#1", "a_b_1", "a b#1", "a/b#10")}
    assert len(names) == 5
    assert all(path.parent == drafts.folder for path in names)


def test_a_draft_on_another_proposal_is_set_aside(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save(HUNK, proposal(store) + "one more line\n", [Pick("x\n", "one")])
    restored = drafts.restore(store.load())
    assert restored.drafts == {}
    assert restored.set_aside == (
        f"{HUNK}: your draft (1 pick) was set aside: its proposal is not the one the picks "
        "were made on",
    )
    assert list(drafts.folder.iterdir()) == []


def test_a_draft_of_a_resolved_or_missing_hunk_is_set_aside(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save(HUNK, proposal(store), [Pick("x\n", "one"), Pick("y\n", "two")])
    store.resolve(HUNK, Resolution.UPSTREAM)
    restored = drafts.restore(store.load())
    assert restored.drafts == {}
    assert restored.set_aside == (
        f"{HUNK}: your draft (2 picks) was set aside: the hunk was resolved meanwhile (upstream)",
    )
    drafts.save("drivers/md/gone.c#1", "z\n", [Pick("x\n", "one")])
    restored = drafts.restore(store.load())
    assert restored.set_aside == (
        "drivers/md/gone.c#1: your draft (1 pick) was set aside: the session has no such hunk",
    )


@pytest.mark.parametrize(
    "content",
    [
        b"{",  # truncated
        b"[]",
        json.dumps({"schema": "patchsmith.draft/0", "hunk_id": HUNK}).encode(),
        json.dumps(
            {"schema": "patchsmith.draft/1", "hunk_id": HUNK, "start_sha256": "0", "picks": []}
        ).encode(),
        json.dumps(
            {
                "schema": "patchsmith.draft/1",
                "hunk_id": HUNK,
                "start_sha256": "0",
                "picks": [{"text": 7, "label": "x"}],
            }
        ).encode(),
    ],
)
def test_a_damaged_draft_is_named_and_removed(store: SessionStore, content: bytes) -> None:
    drafts = DraftStore(store.path)
    target = drafts.path_for(HUNK)
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    restored = drafts.restore(store.load())
    assert restored.drafts == {}
    (note,) = restored.set_aside
    assert note.startswith(f"a draft file could not be read and was removed ({target.name}: ")
    assert not target.exists()


def test_a_draft_renamed_to_another_hunks_name_is_not_applied(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save("drivers/md/other.c#1", proposal(store), [Pick("x\n", "one")])
    drafts.path_for("drivers/md/other.c#1").rename(drafts.path_for(HUNK))
    restored = drafts.restore(store.load())
    assert restored.drafts == {}
    assert "it is named for another hunk than drivers/md/other.c#1" in restored.set_aside[0]


def test_an_unwritable_folder_is_a_session_error(store: SessionStore, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the session's folder would be")
    drafts = DraftStore(blocked / "session.json")
    with pytest.raises(SessionError) as caught:
        drafts.save(HUNK, "a\n", [Pick("x\n", "one")])
    assert caught.value.message.startswith(f"cannot keep the draft of {HUNK} in ")


def test_a_hunk_without_a_proposal_gets_no_draft(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save(HUNK, proposal(store), [Pick("x\n", "one")])
    session = store.load()
    hunks = tuple(replace(h, proposal=None) if h.id == HUNK else h for h in session.hunks)
    restored = drafts.restore(replace(session, hunks=hunks))
    assert restored.drafts == {}
    assert "nothing left to pick" in restored.set_aside[0]


def test_a_write_a_crash_interrupted_is_ignored(store: SessionStore) -> None:
    drafts = DraftStore(store.path)
    drafts.save(HUNK, proposal(store), [Pick("x\n", "one")])
    leftover = drafts.folder / f".{drafts.path_for(HUNK).name}.4242.tmp"
    leftover.write_bytes(b'{"schema": "patchsmith.draft/1", "hunk_id": "x", "picks": [')
    restored = drafts.restore(store.load())
    assert restored.drafts == {HUNK: (Pick("x\n", "one"),)}
    assert restored.set_aside == ()

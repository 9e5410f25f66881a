"""Session storage: versioned JSON, atomic writes, the lock, crash recovery of a resolution."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from patchsmith.errors import SessionError
from patchsmith.model import Resolution
from patchsmith.workspace import git
from patchsmith.workspace.session import (
    Pending,
    Session,
    SessionStore,
    to_bytes,
    to_text,
)
from tests.support.paths import DEMO_PATCH
from tests.support.sessions import apply_file


@pytest.fixture
def store(demo_tree: Path) -> SessionStore:
    return apply_file(DEMO_PATCH, demo_tree)


def test_session_lives_in_the_worktree_git_dir_and_round_trips(store: SessionStore) -> None:
    session = store.load()
    assert store.path.parent.parent == git.git_dir_of(Path(session.worktree))
    data = json.loads(store.path.read_text())
    assert data["schema"] == "patchsmith.session/1"
    assert Session.from_json(data) == session
    assert SessionStore.find(Path(session.worktree) / "drivers").path == store.path
    assert (
        "session.json" not in git.run_git(["ls-files"], cwd=Path(session.worktree)).stdout.decode()
    )


def test_another_schema_is_refused_with_a_hint(store: SessionStore) -> None:
    data = json.loads(store.path.read_text())
    data["schema"] = "patchsmith.session/2"
    store.path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as caught:
        store.load()
    assert caught.value.hint is not None and "abort" in caught.value.hint


def _hold_lock(path: str, ready: object, release: object) -> None:
    other = SessionStore(Path(path))
    with other.locked():
        ready.set()  # type: ignore[attr-defined]
        release.wait(10)  # type: ignore[attr-defined]


def test_a_second_process_is_locked_out(store: SessionStore) -> None:
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(store.path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(SessionError) as caught, store.locked(timeout=0.2):
            pass
        assert "another patchsmith process" in caught.value.message
    finally:
        release.set()
        holder.join()


def test_a_resolution_written_but_not_committed_is_finished_by_load(
    store: SessionStore,
) -> None:
    session = store.load()
    hunk = session.hunk("Makefile#1")
    assert hunk.current is not None and hunk.proposal is not None
    target = Path(session.worktree) / "Makefile"
    before = target.read_bytes()
    after = before.replace(to_bytes(hunk.current.text), to_bytes(hunk.proposal))
    import hashlib

    pending = Pending(
        op="deadbeef",
        hunk_id=hunk.id,
        action=str(Resolution.ACCEPTED),
        reason=None,
        before_sha=hashlib.sha256(before).hexdigest(),
        after_sha=hashlib.sha256(after).hexdigest(),
        written=hunk.proposal,
        by="someone",
        at="2024-01-01T00:00:00+00:00",
    )
    store.write(replace(session, pending=pending))
    target.write_bytes(after)  # ...and then the process was killed
    recovered = store.load()
    assert recovered.pending is None
    assert recovered.hunk("Makefile#1").resolution == Resolution.ACCEPTED
    message = git.last_message(Path(session.worktree))
    assert "Patchsmith-Op: deadbeef" in message


def test_an_intent_never_written_is_forgotten(store: SessionStore) -> None:
    session = store.load()
    pending = Pending("op1", "Makefile#1", "accepted", None, "x", "y", "t", "me", "now")
    store.write(replace(session, pending=pending))
    recovered = store.load()
    assert recovered.pending is None
    assert recovered.hunk("Makefile#1").resolution is None


def test_resolve_rules(store: SessionStore) -> None:
    with pytest.raises(SessionError):
        store.resolve("Makefile#1", Resolution.DROPPED)  # no reason
    with pytest.raises(SessionError):
        store.resolve("drivers/md/dm-snap.c#3", Resolution.ACCEPTED)  # proposal has markers
    with pytest.raises(SessionError):
        store.resolve("drivers/md/dm-snap.c#1", Resolution.ACCEPTED)  # applied: nothing to do
    with pytest.raises(SessionError):
        store.resolve("no/such#9", Resolution.ACCEPTED)
    session = store.resolve("drivers/md/dm-snap.c#3", Resolution.EDITED, text="\tmine\n")
    hunk = session.hunk("drivers/md/dm-snap.c#3")
    assert hunk.resolution == Resolution.EDITED and hunk.resolved_by
    worktree = Path(session.worktree)
    assert b"\tmine\n" in (worktree / "drivers/md/dm-snap.c").read_bytes()
    assert not (worktree / "drivers/md/dm-snap.c.rej").exists()
    session = store.undo("drivers/md/dm-snap.c#3")
    assert session.hunk("drivers/md/dm-snap.c#3").open
    assert (worktree / "drivers/md/dm-snap.c.rej").exists()
    assert b"\tmine\n" not in (worktree / "drivers/md/dm-snap.c").read_bytes()


def test_latin1_survives_the_json_round_trip() -> None:
    data = b"caf\xe9 \xff\n"
    assert to_bytes(to_text(data)) == data
    assert to_bytes(json.loads(json.dumps(to_text(data)))) == data


def test_a_restructuredtext_underline_is_not_a_conflict_marker() -> None:
    from patchsmith.workspace.session import has_markers

    assert not has_markers(b"Title\n=======\n\ntext\n")
    assert has_markers(b"a\n<<<<<<< vendor\nb\n=======\nc\n>>>>>>> upstream-after\n")
    assert has_markers(b"<<<<<<< vendor\r\nb\r\n")


def test_a_refused_resolution_leaves_the_previous_one_in_place(store: SessionStore) -> None:
    session = store.resolve("drivers/md/dm-snap.c#3", Resolution.EDITED, text="\tmine\n")
    worktree = Path(session.worktree)
    before = (worktree / "drivers/md/dm-snap.c").read_bytes()
    with pytest.raises(SessionError, match="still has conflict markers"):
        store.resolve("drivers/md/dm-snap.c#3", Resolution.ACCEPTED)
    hunk = store.load().hunk("drivers/md/dm-snap.c#3")
    assert hunk.resolution == Resolution.EDITED
    assert (worktree / "drivers/md/dm-snap.c").read_bytes() == before
    assert not (worktree / "drivers/md/dm-snap.c.rej").exists()

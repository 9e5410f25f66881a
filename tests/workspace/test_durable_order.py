"""apply's flush and the session's JSON are made at once, and "ready" is still written last.

The one write that marks a session ``ready`` must follow the flush that puts every file,
object and ref apply made on disk: a power cut in between would leave a ready session whose
files were never there. apply now makes the session's JSON while another thread flushes;
these tests hold it to the order (the flush done before the ready session is written) and to
a failing flush (raised, the session left ``applying`` for the next apply to continue).
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import apply as apply_module
from patchsmith.workspace import confined
from patchsmith.workspace.apply import ApplyOptions, apply_patch
from patchsmith.workspace.records import Phase, Session
from patchsmith.workspace.session import SessionStore
from tests.support.paths import DEMO_PATCH


def _apply(tree: Path) -> Session:
    index = read_index([str(DEMO_PATCH)])
    return apply_patch(index, select(index, Selection()), tree, ApplyOptions())


def test_the_ready_session_is_written_after_the_flush_ends(
    demo_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    flush = confined.make_durable

    def slow_flush(paths: list[Path]) -> None:
        events.append("flush starts")
        time.sleep(0.3)  # longer than making the demo session's JSON
        flush(paths)
        events.append("flush ends")

    write = SessionStore.write

    def recorded_write(self: SessionStore, session: Session, encoded: bytes | None = None) -> None:
        events.append(f"write {session.phase}")
        write(self, session, encoded)

    monkeypatch.setattr(confined, "make_durable", slow_flush)
    monkeypatch.setattr(SessionStore, "write", recorded_write)
    session = _apply(demo_tree)
    assert session.phase == Phase.READY
    assert events[-3:] == ["flush starts", "flush ends", f"write {Phase.READY}"]


def test_a_failing_flush_leaves_the_session_applying(
    demo_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_flush(paths: list[Path]) -> None:
        raise OSError(errno.EIO, "Input/output error", str(paths[0]))

    flush = confined.make_durable
    monkeypatch.setattr(confined, "make_durable", failing_flush)
    with pytest.raises(OSError, match="Input/output error"):
        _apply(demo_tree)
    monkeypatch.setattr(confined, "make_durable", flush)
    # The next apply finds the interrupted one and continues it to the end.
    assert apply_module.ONE_PASS
    session = _apply(demo_tree)
    assert session.phase == Phase.READY

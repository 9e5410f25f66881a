"""Side picks survive a quit: each pick is kept on disk at once (the session's ``drafts/``), a
reopened TUI starts from them, the last pick resolves the hunk in one commit and removes the
draft, and a draft the session no longer fits (its hunk resolved in another terminal) is set
aside, said so, never applied.

A real session on disk whose conflict has two blocks (:mod:`tests.tui.two_blocks`); what is
kept is read back through the library's :class:`DraftStore`, as another process would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from patchsmith_tui.app import make_app

from patchsmith.engine.blocks import Side, find_blocks, pick
from patchsmith.model import Resolution
from patchsmith.workspace import git
from patchsmith.workspace.drafts import DraftStore
from patchsmith.workspace.session import SessionStore
from tests.tui.helpers import asynctest, resolve_screen, settle
from tests.tui.two_blocks import HUNK, two_block_session

SIZE = (120, 36)


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return two_block_session(tmp_path)


def kept(store: SessionStore) -> list[str]:
    """The labels of the picks on disk for the hunk."""
    drafts = DraftStore(store.path).restore(store.load()).drafts
    return [p.label for p in drafts.get(HUNK, ())]


def notices(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


@asynctest
async def test_a_pick_survives_quitting_and_the_last_one_resolves(store: SessionStore) -> None:
    proposal = store.load().hunk(HUNK).proposal
    assert proposal is not None and len(find_blocks(proposal)) == 2
    worktree = Path(store.load().worktree)
    before = git.last_message(worktree)
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resolve_screen(pilot).selected == HUNK
        await pilot.press("1")  # block 1: the vendor's lines; one block left
        await settle(pilot)
        # on disk at once, before any quit: a crash here loses nothing
        assert kept(store) == ["block 1: took the vendor's lines"]
        await pilot.press("q")
    assert store.load().hunk(HUNK).resolution is None  # a draft is not a resolution...
    assert git.last_message(worktree) == before  # ...and makes no commit

    again = make_app(store.path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.selected == HUNK
        assert [label for _, label in screen.drafts[HUNK]] == ["block 1: took the vendor's lines"]
        header = str(screen.query_one("#hunk-header").render())
        assert "draft: 1 pick(s)" in header
        assert screen.current is not None and screen.current.conflicts == 1
        await pilot.press("2")  # the last block: upstream's lines; resolves the hunk
        await settle(pilot)
    hunk = store.load().hunk(HUNK)
    assert hunk.resolution is Resolution.EDITED
    once = pick(proposal, 0, Side.VENDOR)
    assert hunk.written == pick(once, 0, Side.UPSTREAM)
    assert hunk.resolution_reason == (
        "picked: block 1: took the vendor's lines; block 1: took upstream's lines"
    )
    assert kept(store) == []
    assert list(DraftStore(store.path).folder.iterdir()) == []


@asynctest
async def test_u_takes_a_pick_back_on_disk_too(store: SessionStore) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert len(kept(store)) == 1
        await pilot.press("u")
        await settle(pilot)
        assert kept(store) == []
        assert HUNK not in resolve_screen(pilot).drafts
    again = make_app(store.path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resolve_screen(pilot).drafts == {}


@asynctest
async def test_a_draft_of_a_hunk_resolved_elsewhere_is_set_aside_and_said(
    store: SessionStore,
) -> None:
    app = make_app(store.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
    store.resolve(HUNK, Resolution.UPSTREAM)  # another terminal, while the TUI was closed
    again = make_app(store.path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = resolve_screen(pilot)
        assert screen.drafts == {}
        said = notices(again)
        assert any(
            f"{HUNK}: your draft (1 pick) was set aside: the hunk was resolved meanwhile" in message
            for message in said
        ), said
        hunk = screen.session.find(HUNK)
        assert hunk is not None and hunk.resolution is Resolution.UPSTREAM
        assert screen.current is not None and screen.current.conflicts == 0
    assert store.load().hunk(HUNK).resolution is Resolution.UPSTREAM
    assert kept(store) == []


@asynctest
async def test_a_draft_picked_up_by_a_second_tui_while_the_first_runs(store: SessionStore) -> None:
    # the first TUI picks; a second one opened meanwhile (or its reload) sees the same draft
    first = make_app(store.path)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        second = make_app(store.path)
        async with second.run_test(size=SIZE) as other:
            await settle(other)
            assert [label for _, label in resolve_screen(other).drafts[HUNK]] == [
                "block 1: took upstream's lines"
            ]

"""A small, literal session for the TUI tests that do not need the library's session on disk.

Three hunks of a device-mapper file, named for what they show: a conflict the proposal could
only partly merge, a fuzz hunk that needs review, and a hunk already resolved. Plus a
:class:`FakeBackend` that records calls, for the widget-level tests and the snapshots (whose
content must not depend on the clock or the user name).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from patchsmith_tui.model import HunkView, SessionView

from patchsmith.errors import SessionError
from patchsmith.model import HunkStatus, Resolution

VENDOR_DRIFTED_PRE = """\
static int dm_snapshot_init(struct dm_snapshot *s)
{
\tint r;

\tr = dm_exception_store_create(s->store);
\tif (r)
\t\treturn r;
\treturn 0;
}
"""

VENDOR_DRIFTED_REGION = """\
static int dm_snapshot_init(struct dm_snapshot *s)
{
\tint r;
\tunsigned long flags; /* vendor: xen */

\tr = dm_exception_store_create(s->store, GFP_NOIO);
\tif (r)
\t\treturn r;
\treturn 0;
}
"""

VENDOR_DRIFTED_POST = """\
static int dm_snapshot_init(struct dm_snapshot *s)
{
\tint r;

\tr = dm_exception_store_create(s->store);
\tif (r) {
\t\tDMERR("cannot create exception store");
\t\treturn r;
\t}
\treturn 0;
}
"""

VENDOR_DRIFTED_PROPOSAL = """\
static int dm_snapshot_init(struct dm_snapshot *s)
{
\tint r;
\tunsigned long flags; /* vendor: xen */

<<<<<<< vendor
\tr = dm_exception_store_create(s->store, GFP_NOIO);
\tif (r)
\t\treturn r;
||||||| upstream-before
\tr = dm_exception_store_create(s->store);
\tif (r)
\t\treturn r;
=======
\tr = dm_exception_store_create(s->store);
\tif (r) {
\t\tDMERR("cannot create exception store");
\t\treturn r;
\t}
>>>>>>> upstream-after
\treturn 0;
}
"""

FUZZ_PRE = "\tif (!s->valid)\n\t\tgoto out;\n\tdown_write(&s->lock);\n"
FUZZ_REGION = "\tif (!s->valid || s->merge_failed)\n\t\tgoto out;\n\tdown_write(&s->lock);\n"
FUZZ_POST = "\tif (!s->valid)\n\t\tgoto out;\n\tdown_read(&s->lock);\n"
FUZZ_PROPOSAL = "\tif (!s->valid || s->merge_failed)\n\t\tgoto out;\n\tdown_read(&s->lock);\n"

MAKEFILE_PRE = "obj-$(CONFIG_DM_SNAPSHOT)\t+= dm-snapshot.o\n"
MAKEFILE_POST = "obj-$(CONFIG_DM_SNAPSHOT)\t+= dm-snapshot.o\nobj-$(CONFIG_DM_ERA)\t\t+= dm-era.o\n"


def sample_session() -> SessionView:
    """Three hunks: open conflict, open fuzz review, resolved (accepted) Makefile hunk."""
    return SessionView(
        title="patch-6.1.187 onto vendor",
        hunks=(
            HunkView(
                hunk_id="drivers/md/dm-snap.c#1",
                path="drivers/md/dm-snap.c",
                status=HunkStatus.CONFLICT,
                needs_review=True,
                is_open=True,
                reason="pre-image not found; best candidate at line 214 is 78% similar",
                expected_line=200,
                found_line=214,
                upstream_pre=VENDOR_DRIFTED_PRE,
                upstream_post=VENDOR_DRIFTED_POST,
                vendor_region=VENDOR_DRIFTED_REGION,
                proposal=VENDOR_DRIFTED_PROPOSAL,
            ),
            HunkView(
                hunk_id="drivers/md/dm-snap.c#2",
                path="drivers/md/dm-snap.c",
                status=HunkStatus.FUZZ,
                needs_review=True,
                is_open=True,
                reason="applies with fuzz 1: the first context line differs",
                expected_line=420,
                found_line=436,
                upstream_pre=FUZZ_PRE,
                upstream_post=FUZZ_POST,
                vendor_region=FUZZ_REGION,
                proposal=FUZZ_PROPOSAL,
            ),
            HunkView(
                hunk_id="drivers/md/Makefile#1",
                path="drivers/md/Makefile",
                status=HunkStatus.CONFLICT,
                needs_review=True,
                is_open=False,
                reason="pre-image not found",
                expected_line=12,
                found_line=12,
                upstream_pre=MAKEFILE_PRE,
                upstream_post=MAKEFILE_POST,
                vendor_region=MAKEFILE_PRE,
                proposal=MAKEFILE_POST,
                resolution=Resolution.ACCEPTED,
                resolved_by="alice",
                result=MAKEFILE_POST,
            ),
            HunkView(
                hunk_id="drivers/md/dm.c#1",
                path="drivers/md/dm.c",
                status=HunkStatus.CLEAN,
                needs_review=False,
                is_open=False,
                reason="pre-image found at line 88",
                expected_line=88,
                found_line=88,
                upstream_pre="\treturn 0;\n",
                upstream_post="\treturn -EIO;\n",
                vendor_region="\treturn 0;\n",
                proposal="\treturn -EIO;\n",
            ),
        ),
    )


class FakeBackend:
    """An in-memory session; records each call so a test can check what the screen asked for."""

    def __init__(self, session: SessionView | None = None, error: SessionError | None = None):
        self.session = session or sample_session()
        self.error = error
        self.calls: list[tuple[str, ...]] = []

    def load(self) -> SessionView:
        if self.error is not None:
            raise self.error
        return self.session

    def watched_path(self) -> Path | None:
        return None

    def _hunk(self, hunk_id: str) -> HunkView:
        hunk = self.session.find(hunk_id)
        assert hunk is not None, hunk_id
        return hunk

    def _settle(self, hunk_id: str, **changes: object) -> None:
        hunks = tuple(
            replace(hunk, **changes) if hunk.hunk_id == hunk_id else hunk  # type: ignore[arg-type]
            for hunk in self.session.hunks
        )
        self.session = replace(self.session, hunks=hunks)

    def accept(self, hunk_id: str) -> None:
        self.calls.append(("accept", hunk_id))
        result = self._hunk(hunk_id).proposal
        self._settle(hunk_id, resolution=Resolution.ACCEPTED, is_open=False, result=result)

    def take_upstream(self, hunk_id: str) -> None:
        self.calls.append(("upstream", hunk_id))
        result = self._hunk(hunk_id).upstream_post
        self._settle(hunk_id, resolution=Resolution.UPSTREAM, is_open=False, result=result)

    def drop(self, hunk_id: str, reason: str) -> None:
        self.calls.append(("drop", hunk_id, reason))
        result = self._hunk(hunk_id).vendor_region
        self._settle(
            hunk_id,
            resolution=Resolution.DROPPED,
            is_open=False,
            drop_reason=reason,
            result=result,
        )

    def edit(self, hunk_id: str, text: str) -> None:
        self.calls.append(("edit", hunk_id, text))
        self._settle(hunk_id, resolution=Resolution.EDITED, is_open=False, result=text)

    def undo(self, hunk_id: str) -> None:
        self.calls.append(("undo", hunk_id))
        self._settle(hunk_id, resolution=None, is_open=True, result=None, drop_reason="")

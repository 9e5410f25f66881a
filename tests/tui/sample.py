"""A small, literal session for the TUI tests that do not need the library's session on disk.

Three hunks of a device-mapper file, named for what they show: a conflict the proposal could
only partly merge, a fuzz hunk that needs review, and a hunk already resolved (and a clean one).
:func:`warning_session` adds two selection warnings (one open, one acknowledged) and a ``.rej``
file the gate lists. Plus a :class:`FakeBackend` that records calls, for the widget-level tests
and the snapshots (whose content must not depend on the clock or the user name); its gate list
is built the way the library's is (open hunks, then file items, then open warnings), because
the screen takes it as given.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from patchsmith_tui.model import (
    EvidenceView,
    GateItem,
    HunkView,
    InputFile,
    SessionInfo,
    SessionView,
    WarningView,
)

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
<<<<<<< vendor
\treturn 0;
||||||| upstream-before
\treturn 0;
=======
\treturn 0; /* the store is ready */
>>>>>>> upstream-after
}
"""

FUZZ_PRE = "\tif (!s->valid)\n\t\tgoto out;\n\tdown_write(&s->lock);\n"
FUZZ_REGION = "\tif (!s->valid || s->merge_failed)\n\t\tgoto out;\n\tdown_write(&s->lock);\n"
FUZZ_POST = "\tif (!s->valid)\n\t\tgoto out;\n\tdown_read(&s->lock);\n"
FUZZ_PROPOSAL = "\tif (!s->valid || s->merge_failed)\n\t\tgoto out;\n\tdown_read(&s->lock);\n"

MAKEFILE_PRE = "obj-$(CONFIG_DM_SNAPSHOT)\t+= dm-snapshot.o\n"
MAKEFILE_POST = "obj-$(CONFIG_DM_SNAPSHOT)\t+= dm-snapshot.o\nobj-$(CONFIG_DM_ERA)\t\t+= dm-era.o\n"


def gate_of(
    hunks: tuple[HunkView, ...],
    warnings: tuple[WarningView, ...] = (),
    files: tuple[GateItem, ...] = (),
) -> tuple[GateItem, ...]:
    """The gate's list as ``SessionStore.open_items`` orders it: open hunks (reused ones to
    confirm), the file items, the open warnings."""
    items = [
        GateItem("confirm" if h.to_confirm else "hunk", h.path, h.reason, h.hunk_id)
        for h in hunks
        if h.is_open
    ]
    items.extend(files)
    items.extend(
        GateItem(
            "warning",
            w.path,
            f"selection warning [{w.number}]: {w.message}",
            warning=w.number,
        )
        for w in warnings
        if w.is_open
    )
    return tuple(items)


def sample_session() -> SessionView:
    """Three hunks: open conflict, open fuzz review, resolved (accepted) Makefile hunk."""
    hunks = _sample_hunks()
    return SessionView(hunks=hunks, gate=gate_of(hunks), title="patch-6.1.187 onto vendor")


DM_TABLE_WARNING = WarningView(
    number=1,
    kind="uses-left-out",
    path="drivers/md/dm-snap.c",
    hunk=1,
    message="left-out include/linux/dm-io.h hunk #1 changes DM_IO_NOWAIT (macro), which kept "
    "code uses: drivers/md/dm-snap.c hunk #1",
    other_path="include/linux/dm-io.h",
    kept_line="\tr = dm_io(&io_req, 1, &region, NULL, DM_IO_NOWAIT);",
    other_line="#define DM_IO_NOWAIT\t(1U << 3)",
)

ACKNOWLEDGED_WARNING = WarningView(
    number=2,
    kind="uses-left-out",
    path="drivers/md/dm.c",
    hunk=1,
    message="left-out include/linux/blkdev.h hunk #4 changes bdev_nowait() (function), which "
    "kept code uses: drivers/md/dm.c hunk #1",
    other_path="include/linux/blkdev.h",
    kept_line="\tif (!bdev_nowait(md->disk->part0))",
    other_line="static inline bool bdev_nowait(struct block_device *bdev)",
    acknowledged_by="Reviewer One <one@example.org>",
    acknowledged_at="2025-09-02T08:10:00+00:00",
)

SNAP_REJECT = GateItem("reject", "drivers/md/dm-snap.c.rej", "reject file left in the worktree")


def warning_session() -> SessionView:
    """The sample with a warning to read, one acknowledged, and the ``.rej`` of dm-snap.c."""
    session = sample_session()
    warnings = (DM_TABLE_WARNING, ACKNOWLEDGED_WARNING)
    return replace(
        session,
        warnings=warnings,
        gate=gate_of(session.hunks, warnings, (SNAP_REJECT,)),
    )


SAMPLE_INFO = SessionInfo(
    patches=(
        InputFile(
            "patch-6.1.187.xz",
            1906830,
            "afc74d6f0b2c5e93b1a2d8c7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b",
            "xz",
        ),
    ),
    tree="/src/vendor",
    tree_kind="plain",
    worktree="/src/wt",
    branch="patchsmith/patch-6.1.187",
    base="/src/vanilla",
    created="2025-09-02T08:00:00+00:00",
    config="/src/config",
    config_sha256="b43b8a9d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
    rules=("--modules-only",),
    strip=1,
    fuzz=2,
    accept_fuzz=False,
    merge=False,
    recorded=True,
    files_kept=3,
    files_left_out=3,
    hunks_kept=4,
    hunks_total=7,
    left_out=(
        ("Makefile", "class build-system: the top-level Makefile"),
        ("include/linux/dm-io.h", "class header: included by built-in code (block/bio.c)"),
        ("kernel/sched/core.c", "class builtin: kernel/sched/Makefile:12 obj-y += core.o"),
    ),
    warnings=2,
    warnings_open=1,
)


def _sample_hunks() -> tuple[HunkView, ...]:
    return (
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
            proposal_conflicts=True,
            proposal_source="3way",
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
            applied=True,
            has_place=False,
        ),
    )


def vendor_file(hunk: HunkView) -> tuple[str, int]:
    """A made-up vendor file around the hunk's region, and the region's first line: a
    definition above it, filler lines numbered so a test can tell where it is."""
    start = hunk.found_line or hunk.expected_line
    above = [f"/* vendor line {n} */" for n in range(1, start - 3)]
    above += ["static void dm_snap_helper(void)", "{", "\tmight_sleep();"]
    region = hunk.vendor_region
    below = ["}", ""] + [f"/* vendor line {n} */" for n in range(1, 40)]
    return "\n".join(above) + "\n" + region + "\n".join(below) + "\n", len(above) + 1


class FakeBackend:
    """An in-memory session; records each call so a test can check what the screen asked for."""

    def __init__(self, session: SessionView | None = None, error: SessionError | None = None):
        self.session = session or sample_session()
        self.error = error
        self.calls: list[tuple[str, ...]] = []
        self.files: tuple[GateItem, ...] = tuple(
            item
            for item in self.session.gate or ()
            if item.kind not in ("hunk", "confirm", "warning")
        )
        """The gate's items that are not hunks or warnings (kept as given)."""
        self.kept_drafts: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        """What :meth:`save_draft` keeps: hunk id -> (start text, picks); survives the app."""
        self.refuse: SessionError | None = None
        """Raised by the next call that changes the session (then cleared)."""

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
        self._refused()
        hunks = tuple(
            replace(hunk, **changes) if hunk.hunk_id == hunk_id else hunk  # type: ignore[arg-type]
            for hunk in self.session.hunks
        )
        self._regate(hunks, self.session.warnings)

    def _refused(self) -> None:
        if self.refuse is not None:
            error, self.refuse = self.refuse, None
            raise error

    def _regate(self, hunks: tuple[HunkView, ...], warnings: tuple[WarningView, ...]) -> None:
        gate = gate_of(hunks, warnings, self.files)
        self.session = replace(self.session, hunks=hunks, warnings=warnings, gate=gate)

    def acknowledge_warning(self, number: int) -> None:
        self.calls.append(("acknowledge_warning", str(number)))
        self._refused()
        warnings = tuple(
            replace(w, acknowledged_by="tester", acknowledged_at="now") if w.number == number else w
            for w in self.session.warnings
        )
        self._regate(self.session.hunks, warnings)

    def info(self) -> SessionInfo:
        return SAMPLE_INFO

    def drafts(self) -> tuple[dict[str, list[tuple[str, str]]], tuple[str, ...]]:
        kept: dict[str, list[tuple[str, str]]] = {}
        notes: list[str] = []
        for hunk_id, (start, picks) in list(self.kept_drafts.items()):
            hunk = self.session.find(hunk_id)
            if hunk is not None and hunk.resolution is None and hunk.proposal == start:
                kept[hunk_id] = list(picks)
            else:
                notes.append(f"{hunk_id}: your draft was set aside")
                del self.kept_drafts[hunk_id]
        return kept, tuple(notes)

    def save_draft(self, hunk_id: str, start: str, picks: list[tuple[str, str]]) -> None:
        if picks:
            self.kept_drafts[hunk_id] = (start, list(picks))
        else:
            self.kept_drafts.pop(hunk_id, None)

    def discard_draft(self, hunk_id: str) -> None:
        self.kept_drafts.pop(hunk_id, None)

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

    def edit(self, hunk_id: str, text: str, reason: str | None = None) -> None:
        self.calls.append(
            ("edit", hunk_id, text) if reason is None else ("edit", hunk_id, text, reason)
        )
        self._settle(
            hunk_id,
            resolution=Resolution.EDITED,
            is_open=False,
            result=text,
            drop_reason=reason or "",
        )

    def evidence(self, hunk_id: str) -> EvidenceView:
        hunk = self._hunk(hunk_id)
        text, start = vendor_file(hunk)
        return EvidenceView(
            hunk_id=hunk_id,
            vendor_file=text,
            found="pre-image" if hunk.applied else "region",
            region_start=start,
            region_text=hunk.vendor_region,
            function_line=start - 3,
            function_text="static void dm_snap_helper(void)",
            worktree_line=start + 1,
            worktree_text=hunk.upstream_post if hunk.applied else hunk.vendor_region,
            reject=""
            if hunk.applied
            else f"--- {hunk.path}\n+++ {hunk.path}\n@@ -1 +1 @@\n-a\n+b\n",
            reject_present=hunk.is_open,
            base_text=hunk.upstream_pre if self.session.has_base else None,
            base_line=hunk.expected_line if self.session.has_base else None,
        )

    def prepare_file_edit(self, hunk_id: str, text: str) -> tuple[bytes, int, object]:
        self.calls.append(("prepare_file_edit", hunk_id))
        return ("head\n" + text + "tail\n").encode(), 2, hunk_id

    def region_from_file_edit(self, handle: object, edited: bytes) -> str:
        data = edited.decode()
        if not data.startswith("head\n") or not data.endswith("tail\n"):
            raise SessionError("line 1 of the file changed, above the region")
        middle = data[len("head\n") : -len("tail\n")]
        if "<<<<<<<" in middle:
            raise SessionError("conflict markers are left at line 7 of the file")
        return middle

    def confirm(self, hunk_ids: list[str]) -> None:
        self.calls.append(("confirm", *hunk_ids))
        for hunk_id in hunk_ids:
            self._settle(hunk_id, to_confirm=False, is_open=False)

    def undo(self, hunk_id: str) -> None:
        self.calls.append(("undo", hunk_id))
        self._settle(hunk_id, resolution=None, is_open=True, result=None, drop_reason="")

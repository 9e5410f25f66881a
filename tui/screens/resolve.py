"""The resolve screen: hunk list on the left, the selected hunk side by side on the right.

It keeps only view state (the filter, the selected hunk, which view is shown); the session is
read from and written to the library through a :class:`~patchsmith_tui.model.SessionBackend`, and
reloaded when its file changes on disk (another terminal may run ``patchsmith resolve`` too).
Alignment and highlighting run in a worker thread that posts :class:`ViewRendered` back.

Depends on Textual and the rest of :mod:`patchsmith_tui`; on :mod:`patchsmith` only for the error
types and the status vocabulary.
"""

from __future__ import annotations

import gc
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from patchsmith.errors import PatchsmithError
from patchsmith.model import Resolution

from ..messages import ViewRendered
from ..model import HunkView, SessionBackend, SessionView, StatusFilter
from ..render import DARK, PLAIN, Palette, RenderedView, ViewKind, render_view
from ..screens.dialogs import DropDialog, EditScreen
from ..screens.help import HelpScreen, describe
from ..widgets.hunk_list import HunkList, badge, decision
from ..widgets.side_by_side import SideBySide

POLL_SECONDS = 1.0
"""How often the session file's modification time is checked."""

FREEZE_ROWS = 2000
"""A rendered view this many rows long is moved out of the garbage collector's reach."""

RENDER_CACHE = 64
"""Rendered views kept, so going back to a hunk is instant."""

_TEXTAREA_LANGUAGES = {".py": "python", ".sh": "bash", ".c": "c", ".h": "c"}

_RESULT_TITLES = {
    Resolution.ACCEPTED: "result (proposal accepted",
    Resolution.EDITED: "result (edited",
    Resolution.UPSTREAM: "result (upstream's lines",
    Resolution.DROPPED: "result (dropped: vendor's code kept",
}
"""The merge view's right-hand title once a hunk is resolved; `` by NAME)`` follows."""


class ResolveScreen(Screen[None]):
    """Where a person resolves a session's hunks, one keystroke per decision."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="accept", tooltip="Accept the proposal"),
        Binding(
            "t", "upstream", "Upstream", id="upstream", tooltip="Take upstream's post-image as is"
        ),
        Binding(
            "d",
            "drop",
            "Drop",
            id="drop",
            tooltip="Drop the hunk: keep the vendor's code (asks for a reason)",
        ),
        Binding("e", "edit", "Edit", id="edit", tooltip="Edit the result in an inline editor"),
        Binding(
            "E",
            "edit_external",
            "$EDITOR",
            id="edit-external",
            show=False,
            tooltip="Edit the result in $EDITOR (the app is suspended)",
        ),
        Binding("u", "undo", "Undo", id="undo", tooltip="Undo the hunk's resolution"),
        Binding(
            "n",
            "next_conflict",
            "Next",
            id="next-conflict",
            tooltip="Next conflict (or difference) in the view",
        ),
        Binding(
            "p",
            "previous_conflict",
            "Prev",
            id="previous-conflict",
            tooltip="Previous conflict (or difference) in the view",
        ),
        Binding(
            "v",
            "switch_view",
            "View",
            id="switch-view",
            tooltip="Switch between the drift view and the merge view",
        ),
        Binding(
            "right_square_bracket",
            "next_hunk",
            "Next hunk",
            id="next-hunk",
            show=False,
            tooltip="Next hunk in the list",
        ),
        Binding(
            "left_square_bracket",
            "previous_hunk",
            "Prev hunk",
            id="previous-hunk",
            show=False,
            tooltip="Previous hunk in the list",
        ),
        Binding(
            "f",
            "cycle_filter",
            "Filter",
            id="filter",
            tooltip="Cycle the list filter: review, open, conflict, resolved, all",
        ),
        Binding(
            "s",
            "toggle_list",
            "List",
            id="toggle-list",
            show=False,
            tooltip="Show or hide the hunk list (more room on a small terminal)",
        ),
        Binding(
            "r", "reload", "Reload", id="reload", show=False, tooltip="Reload the session from disk"
        ),
        Binding("question_mark", "help", "Help", id="help", tooltip="Show this help"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit (every action is already saved)"),
    ]

    def __init__(self, backend: SessionBackend, *, palette: Palette = DARK) -> None:
        super().__init__()
        self.backend = backend
        self.palette = palette
        self.session = SessionView(hunks=())
        self.status_filter = StatusFilter.REVIEW
        self.view_kind = ViewKind.MERGE
        self.selected: str | None = None
        self.current: RenderedView | None = None
        self._rendered: dict[tuple[str, ViewKind, int], RenderedView] = {}
        self._stop = -1
        self._mtime: int | None = None

    # Layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Progress and gate on the left at their natural width; the title takes what is left and
        # is the part cut (with an ellipsis) on a narrow terminal, never overlapped.
        with Horizontal(id="topbar"):
            yield Static(id="progress")
            yield Static(id="session-title")
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Static(id="filter-bar")
                yield HunkList(id="hunks")
                yield Static(id="counts")
            with Vertical(id="detail"):
                yield Static(id="hunk-header")
                yield SideBySide(id="view")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(POLL_SECONDS, self.check_for_changes)
        self.query_one(HunkList).focus()

    # Session state -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the session through the library and redraw everything that depends on it."""
        try:
            session = self.backend.load()
        except PatchsmithError as error:
            self.notify(error.details(), title="cannot read the session", severity="error")
            return
        self._mtime = self._stat()
        self.session = session
        self._refresh_list()
        self._refresh_topbar()

    def _stat(self) -> int | None:
        path = self.backend.watched_path()
        if path is None:
            return None
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return None

    def check_for_changes(self) -> None:
        """Reload when the session file changed since it was last read."""
        if self._stat() != self._mtime:
            self.reload()

    def visible_hunks(self) -> list[HunkView]:
        """The hunks the list shows under the current filter."""
        return [hunk for hunk in self.session.hunks if self.status_filter.keeps(hunk)]

    def _refresh_list(self, prefer_index: int | None = None) -> None:
        hunks = self.visible_hunks()
        hunk_list = self.query_one(HunkList)
        selected = self.selected
        ids = [hunk.hunk_id for hunk in hunks]
        if selected not in ids and hunks:
            index = prefer_index if prefer_index is not None else 0
            selected = ids[min(max(index, 0), len(ids) - 1)]
        with self.prevent(OptionList.OptionHighlighted):
            hunk_list.show(hunks, selected)
        total = len(self.session.hunks)
        # "review: 2 of 7 · f filter". Separators end the span before them (see
        # _refresh_topbar); the key hint goes last, so it is what a narrow sidebar cuts.
        self.query_one("#filter-bar", Static).update(
            Text.assemble(
                (self.status_filter.value, "bold"),
                (f": {len(hunks)} of {total} · ", "dim"),
                ("f ", "bold"),
                ("filter", "dim"),
                no_wrap=True,
                overflow="ellipsis",
            )
        )
        counts = self.session.status_counts()
        summary = Text()
        for status, count in sorted(counts.items(), key=lambda item: -item[1]):
            if summary:
                summary.append("  ")
            summary.append(f"{status.value} {count}")
        self.query_one("#counts", Static).update(summary)
        self.select(selected)

    def _refresh_topbar(self) -> None:
        # Spaces between spans end the span before them rather than start the next: librsvg
        # (rsvg-convert) drops a text run's leading spaces when it draws Textual's SVG
        # screenshots, which made "2 unresolved" and the title look run together.
        session = self.session
        progress = Text(no_wrap=True)
        progress.append(f"{session.decided_count} of {session.decision_count} resolved ", "bold")
        progress.append("· ")
        if session.ready:
            progress.append("ready to build", "bold green")
        else:
            progress.append(f"{session.open_count} unresolved", "bold red")
        title = Text("patchsmith resolve", style="dim", no_wrap=True, overflow="ellipsis")
        if session.title:
            title.append(f" · {session.title}")
        self.query_one("#progress", Static).update(progress)
        self.query_one("#session-title", Static).update(title)

    # Selection and rendering ---------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#hunks")
    def _on_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.select(event.option_id)

    @on(OptionList.OptionSelected, "#hunks")
    def _on_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one(SideBySide).focus()

    def select(self, hunk_id: str | None) -> None:
        """Show ``hunk_id`` (or nothing) in the header and the side-by-side view."""
        self.selected = hunk_id
        hunk = self.session.find(hunk_id) if hunk_id is not None else None
        self._refresh_header(hunk)
        view = self.query_one(SideBySide)
        if hunk is None:
            self.current = None
            message = "Nothing to show under this filter: press f for another one."
            if self.session.ready:
                message = "Nothing is unresolved: ready to build. Press q to quit, f to browse."
            view.show(None, message)
            return
        key = self._key(hunk)
        if self.current is not None and self.current.key == key:
            # Same texts, but the titles may differ (an accepted proposal is the result).
            view.set_titles(self._titles(hunk))
            return
        cached = self._rendered.get(key)
        if cached is not None:
            self._display(cached)
            return
        self.current = None
        view.show(None, "Aligning and highlighting…")
        self.render_hunk(hunk, self.view_kind, key, self.palette)

    def _key(self, hunk: HunkView) -> tuple[str, ViewKind, int]:
        texts = self._texts(hunk, self.view_kind)
        return (hunk.hunk_id, self.view_kind, hash((hunk.path, *texts[:2])))

    @staticmethod
    def _texts(hunk: HunkView, kind: ViewKind) -> tuple[str, str, int, int]:
        found = hunk.found_line or hunk.expected_line
        if kind is ViewKind.DRIFT:
            return hunk.upstream_pre, hunk.vendor_region, hunk.expected_line, found
        proposal_line = hunk.proposal_line or found
        if hunk.resolution is not None and hunk.result is not None:
            # What is in the worktree now, not the proposal it replaced (which may have markers).
            result_line = hunk.result_line or proposal_line
            return hunk.upstream_post, hunk.result, hunk.expected_line, result_line
        return hunk.upstream_post, hunk.proposal, hunk.expected_line, proposal_line

    def _titles(self, hunk: HunkView) -> tuple[str, str]:
        """The column titles over the two halves of the view."""
        if self.view_kind is ViewKind.DRIFT:
            return "upstream expects (pre-image)", "vendor tree has"
        if hunk.resolution is not None and hunk.result is not None:
            # "Name <email>" as git identities come: the name is enough in a column title.
            who = hunk.resolved_by.split(" <", 1)[0]
            by = f" by {who}" if who else ""
            reused = ", reused" if hunk.reused else ""
            return "upstream result (post-image)", f"{_RESULT_TITLES[hunk.resolution]}{by}{reused})"
        return "upstream result (post-image)", "proposal"

    @work(thread=True, exclusive=True, exit_on_error=False, group="render")
    def render_hunk(
        self, hunk: HunkView, kind: ViewKind, key: tuple[str, ViewKind, int], palette: Palette
    ) -> None:
        """Align and highlight one view of a hunk off the UI thread."""
        left, right, left_first, right_first = self._texts(hunk, kind)
        view = render_view(key, hunk.path, left, right, left_first, right_first, palette)
        self.post_message(ViewRendered(view))

    def on_view_rendered(self, message: ViewRendered) -> None:
        view = message.view
        if len(self._rendered) >= RENDER_CACHE:
            self._rendered.clear()
        self._rendered[view.key] = view
        if len(view.rows) >= FREEZE_ROWS:
            # A full collection walks every strip of a big view: a 300-400 ms stall on some
            # key press. The rows hold no cycles, so freezing them costs no memory when the view
            # is dropped (reference counting still frees them).
            gc.freeze()
        hunk = self.session.find(self.selected) if self.selected else None
        if hunk is not None and self._key(hunk) == view.key:
            self._display(view)

    def _display(self, view: RenderedView) -> None:
        self.current = view
        self._stop = -1
        hunk = self.session.find(view.key[0])
        titles = self._titles(hunk) if hunk is not None else ("", "")
        self.query_one(SideBySide).show(view, titles=titles)
        self._refresh_header(hunk)

    def _refresh_header(self, hunk: HunkView | None) -> None:
        header = self.query_one("#hunk-header", Static)
        if hunk is None:
            header.update("")
            return
        # Most important first (a narrow terminal cuts the end of each line): which hunk, its
        # status, what was decided, then where it is. Spaces end the span before them.
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{hunk.hunk_id}  ", style="bold")
        line.append_text(badge(hunk))
        state = decision(hunk)
        if state:
            line.append("  ")
            line.append_text(state)
            if hunk.resolved_by:
                line.append(f" by {hunk.resolved_by}", style="dim")
            if hunk.drop_reason:
                line.append(f": {hunk.drop_reason}", style="dim")
        where = f"expected line {hunk.expected_line}"
        if hunk.found_line is not None:
            offset = hunk.found_line - hunk.expected_line
            where += f", found {hunk.found_line}" + (f" ({offset:+d})" if offset else "")
        line.append("  · ")
        line.append(where, style="dim")
        line.append(f"\n{hunk.reason or 'no reason recorded'}", style="italic")
        view = self.current
        position = f"{self.view_kind.value} view"
        if view is not None and view.key[0] == hunk.hunk_id:
            noun = "conflict" if view.conflicts else "difference"
            count = len(view.stops)
            plural = "" if count == 1 else "s"
            position += f" · {count} {noun}{plural}"
            if self._stop >= 0:
                position = f"{self.view_kind.value} view · {noun} {self._stop + 1} of {count}"
        line.append(f"\n{position}  (v switches)", style="dim")
        header.update(line)

    # Navigation ----------------------------------------------------------------------------

    def action_switch_view(self) -> None:
        self.view_kind = self.view_kind.other()
        self.current = None
        self.select(self.selected)

    def _goto_stop(self, step: int) -> None:
        view = self.current
        if view is None or not view.stops:
            self.notify("No conflicts or differences in this view.", severity="information")
            return
        self._stop = (
            (self._stop + step) % len(view.stops)
            if self._stop >= 0
            else (0 if step > 0 else len(view.stops) - 1)
        )
        self.query_one(SideBySide).goto_row(view.stops[self._stop])
        self._refresh_header(self.session.find(view.key[0]))

    def action_next_conflict(self) -> None:
        self._goto_stop(1)

    def action_previous_conflict(self) -> None:
        self._goto_stop(-1)

    def _move(self, step: int) -> None:
        hunk_list = self.query_one(HunkList)
        if hunk_list.option_count == 0:
            return
        current = hunk_list.highlighted or 0
        hunk_list.highlighted = min(max(current + step, 0), hunk_list.option_count - 1)

    def action_next_hunk(self) -> None:
        self._move(1)

    def action_previous_hunk(self) -> None:
        self._move(-1)

    def action_cycle_filter(self) -> None:
        self.status_filter = self.status_filter.next()
        self._refresh_list()

    def action_toggle_list(self) -> None:
        sidebar = self.query_one("#sidebar")
        sidebar.toggle_class("hidden")
        if sidebar.has_class("hidden"):
            self.query_one(SideBySide).focus()
        else:
            self.query_one(HunkList).focus()

    def action_reload(self) -> None:
        self.reload()
        self.notify("Session reloaded.")

    def action_help(self) -> None:
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        self.app.push_screen(HelpScreen(describe(bindings)))

    async def action_quit(self) -> None:
        self.app.exit(return_code=0 if self.session.ready else 1)

    # Actions on the hunk -------------------------------------------------------------------

    def _hunk_or_warn(self) -> HunkView | None:
        hunk = self.session.find(self.selected) if self.selected else None
        if hunk is None:
            self.notify("No hunk selected.", severity="warning")
        return hunk

    def _apply(self, label: str, call: Callable[[], None], advance: bool = True) -> None:
        """Run one library call, reload the session and move on to the next open hunk."""
        index = self.query_one(HunkList).highlighted
        try:
            call()
        except PatchsmithError as error:
            self.notify(error.details(), title=f"{label} failed", severity="error")
            return
        self.reload()
        if advance:
            self._advance(index)
        self.notify(label, timeout=2)

    def _advance(self, index: int | None) -> None:
        """Highlight the next open hunk after ``index`` (wrapping), if any is listed."""
        hunks = self.visible_hunks()
        if not hunks:
            return
        start = (index or 0) + (0 if self.selected not in [h.hunk_id for h in hunks] else 1)
        order = hunks[start:] + hunks[:start]
        for hunk in order:
            if hunk.is_open:
                self.query_one(HunkList).highlighted = hunks.index(hunk)
                return

    def action_accept(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is not None:
            backend = self.backend
            self._apply(f"{hunk.hunk_id}: accepted", lambda: backend.accept(hunk.hunk_id))

    def action_upstream(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is not None:
            backend = self.backend
            self._apply(
                f"{hunk.hunk_id}: took upstream", lambda: backend.take_upstream(hunk.hunk_id)
            )

    def action_undo(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        if hunk.resolution is None:
            self.notify(f"{hunk.hunk_id} has no resolution to undo.", severity="warning")
            return
        backend = self.backend
        self._apply(f"{hunk.hunk_id}: undone", lambda: backend.undo(hunk.hunk_id), advance=False)

    def action_drop(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        backend = self.backend

        def dropped(reason: str | None) -> None:
            if reason is not None:
                self._apply(f"{hunk.hunk_id}: dropped", lambda: backend.drop(hunk.hunk_id, reason))

        self.app.push_screen(DropDialog(hunk.hunk_id), dropped)

    def _save_edit(self, hunk: HunkView, text: str | None) -> None:
        if text is None:
            return
        backend = self.backend
        self._apply(f"{hunk.hunk_id}: edited", lambda: backend.edit(hunk.hunk_id, text))

    def action_edit(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        language = _TEXTAREA_LANGUAGES.get(PurePosixPath(hunk.path).suffix)
        self.app.push_screen(
            EditScreen(hunk.hunk_id, hunk.start_text, language),
            lambda text: self._save_edit(hunk, text),
        )

    def action_edit_external(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        suffix = PurePosixPath(hunk.path).suffix or ".txt"
        with tempfile.TemporaryDirectory(prefix="patchsmith-edit-") as folder:
            path = Path(folder) / f"hunk{suffix}"
            path.write_text(hunk.start_text, encoding="utf-8", errors="surrogateescape")
            try:
                with self.app.suspend():
                    completed = subprocess.run([*shlex.split(editor), str(path)], check=False)
            except (OSError, SuspendNotSupported) as error:
                self.notify(f"cannot run {editor}: {error}", severity="error")
                return
            if completed.returncode != 0:
                self.notify(
                    f"{editor} exited with {completed.returncode}: nothing saved.",
                    severity="warning",
                )
                return
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if text == hunk.start_text:
            if hunk.resolution is None:
                self.notify("Unchanged: nothing saved (use a to accept the proposal).")
            else:
                self.notify("Unchanged: nothing saved.")
            return
        self._save_edit(hunk, text)


def palette_for(no_color: bool) -> Palette:
    """The row colours, or underline/reverse only when NO_COLOR is set."""
    return PLAIN if no_color else DARK

"""The resolve screen: the list of what the gate waits for on the left, the selection's panes on
the right.

It keeps only view state (the filter, the selected entry, the view, the file view's context);
the session is read from and written to the library through a
:class:`~patchsmith_tui.model.SessionBackend`, and reloaded when its file changes on disk
(another terminal may run ``patchsmith resolve`` too). What is open, and whether the session is
ready to build, is the build gate's own list (:attr:`SessionView.gate`), never counted here; its
items that are not hunks (selection warnings, ``.rej`` files left...) are entries of the list,
and ``c`` acknowledges a warning once a person has read it. Reading the evidence around a hunk,
aligning and highlighting run in a worker thread that posts :class:`ViewRendered` back. Picking
a side for a conflict block is the library's (:mod:`patchsmith.engine.blocks`); the picks of a
hunk not yet resolved, its *draft*, are kept on disk at each pick (the backend's drafts), so a
quit or a crash loses none; the last pick resolves the hunk, one commit.
"""

from __future__ import annotations

import gc
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static, TextArea

from patchsmith.engine.blocks import Side, find_blocks, pick, pick_one_sided
from patchsmith.errors import NotRemembered, PatchsmithError, Remedy
from patchsmith.model import HunkStatus, Resolution
from patchsmith.quoting import quote_name

from ..advice import REMEDY_KEYS, SHELL, explain
from ..collector import IdleCollector
from ..messages import ViewRendered
from ..model import (
    EvidenceView,
    HunkView,
    ItemView,
    SessionBackend,
    SessionView,
    StatusFilter,
    WarningView,
)
from ..render import (
    DARK,
    PLAIN,
    FileTexts,
    MergeTexts,
    Palette,
    RenderedView,
    ViewKind,
    render_file,
    render_merge,
    render_message,
    render_note,
    render_reject,
    render_warning,
    upstream_lines,
)
from ..screens.dialogs import AckDialog, DropDialog, indent_type
from ..screens.help import HelpScreen, describe
from ..screens.info import InfoScreen
from ..widgets.hunk_list import HunkList, badge, decision, entry_id, item_badge, item_state
from ..widgets.panes import PaneView

POLL_SECONDS = 1.0
"""How often the session file's modification time is checked."""

FREEZE_ROWS = 2000
"""A rendered view this many rows long is moved out of the garbage collector's reach."""

RENDER_CACHE = 64
"""Rendered views kept, so going back to a hunk is instant."""

NARROW = 100
"""Below this many columns the hunk list starts hidden (``s`` shows it)."""

CONTEXT_STEPS: tuple[int | None, ...] = (8, 20, 50, 150, 500, None)
"""The file view's lines of context above and below the region; ``None`` is the whole file."""

CONTEXT_DELAY = 0.15
"""Seconds after the last + or - before the file view is drawn again."""

_TEXTAREA_LANGUAGES = {".py": "python", ".sh": "bash", ".c": "c", ".h": "c"}

_SIDES = {
    "1": (Side.VENDOR, "took the vendor's lines"),
    "2": (Side.UPSTREAM, "took upstream's lines"),
    "3": (Side.VENDOR_FIRST, "took both, the vendor's first"),
    "4": (Side.UPSTREAM_FIRST, "took both, upstream's first"),
}

_RESULT_TITLES = {
    Resolution.ACCEPTED: "result: proposal accepted",
    Resolution.EDITED: "result: edited",
    Resolution.UPSTREAM: "result: upstream's lines",
    Resolution.DROPPED: "result: dropped, vendor's code kept",
}

_FOUND_TITLES = {
    "region": "vendor tree, line {line}",
    "pre-image": "vendor tree: pre-image found at line {line}",
    "post-image": "vendor tree: already has it at line {line}",
}

_GOTO_LINE_FLAGS = {"code": "--goto", "codium": "--goto", "subl": "", "gedit": ""}
"""Editors that take ``FILE:LINE`` (with this flag before it) instead of ``+LINE FILE``."""


def editor_command(editor: str, path: Path, line: int) -> list[str]:
    """The command that opens ``path`` at ``line`` in ``editor`` (``$VISUAL``/``$EDITOR``)."""
    words = shlex.split(editor) or ["vi"]
    name = PurePosixPath(words[0]).name
    if name in _GOTO_LINE_FLAGS:
        flag = _GOTO_LINE_FLAGS[name]
        return [*words, *([flag] if flag else []), f"{path}:{line}"]
    return [*words, f"+{line}", str(path)]


class InlineEditor(TextArea):
    """The result pane as an editor: ``ctrl+s`` saves, ``escape`` puts the pane back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="editor-save", tooltip="Save the edit (one commit)"),
        Binding("escape", "cancel", "Cancel", id="editor-cancel", tooltip="Leave the editor"),
    ]

    def action_save(self) -> None:
        screen = self.screen
        if isinstance(screen, ResolveScreen):
            screen.finish_inline_edit(self.text)

    def action_cancel(self) -> None:
        screen = self.screen
        if isinstance(screen, ResolveScreen):
            screen.finish_inline_edit(None)


class ResolveScreen(Screen[None]):
    """Where a person resolves a session's hunks, one keystroke per decision."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="accept", tooltip="Accept the proposal (or draft)"),
        Binding(
            "t", "upstream", "Upstream", id="upstream", tooltip="Take upstream's post-image as is"
        ),
        Binding(
            "d",
            "drop",
            "Drop",
            id="drop",
            tooltip="Drop the hunk: keep the vendor's code (asks why)",
        ),
        Binding("e", "edit", "Edit", id="edit", tooltip="Edit the result pane, evidence beside it"),
        Binding(
            "E",
            "edit_external",
            "$EDITOR",
            id="edit-external",
            show=False,
            tooltip="Edit the whole file in $EDITOR, at the hunk's region",
        ),
        Binding("u", "undo", "Undo", id="undo", tooltip="Undo the last pick, or the resolution"),
        Binding(
            "c",
            "confirm",
            "Confirm",
            id="confirm",
            show=False,
            tooltip="Confirm, once read, the hunk's reused (remembered) resolution or what "
            "apply --accept-fuzz wrote; on a selection warning: acknowledge it (asks first)",
        ),
        Binding(
            "C",
            "confirm_shown",
            "Confirm all",
            id="confirm-shown",
            show=False,
            tooltip="Confirm every reused resolution the list shows (never a warning: each "
            "is read and acknowledged on its own)",
        ),
        Binding(
            "1",
            "pick('1')",
            "Vendor",
            id="pick-vendor",
            show=False,
            tooltip="This conflict block: take the vendor's lines",
        ),
        Binding(
            "2",
            "pick('2')",
            "Upstream",
            id="pick-upstream",
            show=False,
            tooltip="This conflict block: take upstream's lines",
        ),
        Binding(
            "3",
            "pick('3')",
            "Both",
            id="pick-both",
            show=False,
            tooltip="This conflict block: take both, the vendor's first",
        ),
        Binding(
            "4",
            "pick('4')",
            "Both (up first)",
            id="pick-both-upstream",
            show=False,
            tooltip="This conflict block: take both, upstream's first",
        ),
        Binding(
            "A",
            "pick_one_sided",
            "One-sided",
            id="pick-one-sided",
            show=False,
            tooltip="Resolve every block only one side changed",
        ),
        Binding("n", "next_open", "Next open", id="next-open", tooltip="Next open item (wraps)"),
        Binding(
            "p",
            "previous_open",
            "Prev open",
            id="previous-open",
            show=False,
            tooltip="Previous open item (wraps)",
        ),
        Binding(
            "right_square_bracket",
            "next_stop",
            "Next block",
            id="next-block",
            show=False,
            tooltip="Next conflict block (or change) in the view",
        ),
        Binding(
            "left_square_bracket",
            "previous_stop",
            "Prev block",
            id="previous-block",
            show=False,
            tooltip="Previous conflict block (or change) in the view",
        ),
        Binding(
            "J",
            "next_hunk",
            "Next hunk",
            id="next-hunk",
            show=False,
            tooltip="Next entry in the list (a hunk or another item)",
        ),
        Binding(
            "K",
            "previous_hunk",
            "Prev hunk",
            id="previous-hunk",
            show=False,
            tooltip="Previous entry in the list",
        ),
        Binding(
            "v",
            "switch_view",
            "View",
            id="switch-view",
            tooltip="Cycle the views: merge panes, whole file, .rej",
        ),
        Binding(
            "plus",
            "context(1)",
            "More",
            id="wider",
            show=False,
            tooltip="File view: more lines around the region (up to the whole file)",
        ),
        Binding(
            "minus",
            "context(-1)",
            "Less",
            id="narrower",
            show=False,
            tooltip="File view: fewer lines around the region",
        ),
        Binding(
            "left_curly_bracket",
            "function_start",
            "Function",
            id="function-start",
            show=False,
            tooltip="File view: go to the start of the function",
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
        Binding(
            "i",
            "info",
            "Inputs",
            id="info",
            show=False,
            tooltip="What decided this session: patch, tree, base, config (with SHA-256s), "
            "selection rules, what was left out",
        ),
        Binding("question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit (every action is already saved)"),
    ]

    def __init__(
        self,
        backend: SessionBackend,
        *,
        palette: Palette = DARK,
        collector: IdleCollector | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.collector = collector
        self.palette = palette
        self.session = SessionView(hunks=(), gate=None)
        self.status_filter = StatusFilter.REVIEW
        self.view_kind = ViewKind.MERGE
        self.selected: str | None = None
        self.current: RenderedView | None = None
        self.context_step = 0
        self.drafts: dict[str, list[tuple[str, str]]] = {}
        """Per hunk, the picks so far: (text after the pick, what was picked); the backend
        keeps the same on disk at every pick, and a reload reads them back from there."""
        self.block = 0
        """The conflict block the pick keys act on (0-based)."""
        self.editing: str | None = None
        """The hunk whose result pane is the inline editor."""
        self.evidence: dict[str, EvidenceView] = {}
        self._rendered: dict[tuple[Any, ...], RenderedView] = {}
        self._stop = -1
        self._mtime: int | None = None
        self._external: dict[str, tuple[Path, object]] = {}
        """Per hunk, an edited copy $EDITOR left unsaved (reopened by the next ``E``)."""

    # Layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
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
                with Horizontal(id="work"):
                    yield PaneView(id="view")
                    yield InlineEditor(
                        id="editor", show_line_numbers=True, soft_wrap=False, classes="hidden"
                    )
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(POLL_SECONDS, self.check_for_changes)
        if self.app.size.width < NARROW:
            # The panes need the width more than the list does; s shows it, n/p still move.
            self.query_one("#sidebar").add_class("hidden")
            self.query_one(PaneView).focus()
        else:
            self.query_one(HunkList).focus()

    # Session state -------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the session (and the gate's list) through the library and redraw everything
        that depends on it; the drafts are read back from disk, and one that no longer
        applies (its hunk was resolved in another terminal) is said to be set aside."""
        try:
            session = self.backend.load()
            drafts, set_aside = self.backend.drafts()
        except PatchsmithError as error:
            self.notify(explain(error), title="cannot read the session", severity="error")
            return
        self._mtime = self._stat()
        self.session = session
        self.evidence.clear()
        self.drafts = drafts
        for note in set_aside:
            self.notify(note, title="draft set aside", severity="warning", timeout=10)
        self._refresh_list()
        self._refresh_topbar()
        if self.collector is not None:
            self.collector.settle()  # the session just read is long-lived: out of the way

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
        if self.editing is None and self._stat() != self._mtime:
            self.reload()

    def visible_entries(self) -> list[HunkView | ItemView]:
        """What the list shows under the current filter: hunks and the gate's other items."""
        return self.session.entries(self.status_filter)

    def visible_hunks(self) -> list[HunkView]:
        """The hunks the list shows under the current filter."""
        return [entry for entry in self.visible_entries() if isinstance(entry, HunkView)]

    def _refresh_list(self, prefer_index: int | None = None) -> None:
        entries = self.visible_entries()
        hunk_list = self.query_one(HunkList)
        selected = self.selected
        ids = [entry_id(entry) for entry in entries]
        if selected not in ids:
            index = prefer_index if prefer_index is not None else 0
            selected = ids[min(max(index, 0), len(ids) - 1)] if ids else None
        with self.prevent(OptionList.OptionHighlighted):
            hunk_list.show(entries, selected)
        total = len(self.session.hunks) + len(self.session.items)
        self.query_one("#filter-bar", Static).update(
            Text.assemble(
                (self.status_filter.value, "bold"),
                (f": {len(entries)} of {total} · ", "dim"),
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
        # drops a text run's leading spaces when it draws Textual's SVG screenshots.
        # Every count of what is open is the gate's list, as build and finish see it.
        session = self.session
        gate = session.gate_entries
        progress = Text(no_wrap=True)
        if session.gate is None:
            progress.append("the gate's list could not be read (r reloads) ", "bold red")
        elif self.selected in gate:
            progress.append(f"{gate.index(self.selected) + 1} of {len(gate)} open ", "bold")
        elif gate:
            progress.append(f"{len(gate)} open ", "bold")
        progress.append("· ")
        if session.ready:
            progress.append("ready to build ", "bold green")
        else:
            if session.decision_count:
                progress.append(f"{session.decided_count} of {session.decision_count} resolved ")
            else:
                progress.append("no hunk to decide ")
            if session.confirm_count:
                progress.append(f"· {session.confirm_count} reused to confirm (c) ", "yellow")
            if session.review_count:
                progress.append(
                    f"· {session.review_count} written with fuzz to review (c) ", "yellow"
                )
            if session.warnings_open:
                plural = "s" if session.warnings_open != 1 else ""
                progress.append(
                    f"· {session.warnings_open} warning{plural} to read (c) ", "#d19a66"
                )
        progress.append("· n/p next/prev open", "dim")
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
        self.query_one(PaneView).focus()

    def selected_hunk(self) -> HunkView | None:
        return self.session.find(self.selected) if self.selected else None

    def selected_item(self) -> ItemView | None:
        """The selected entry when it is not a hunk (a warning, a .rej file left...)."""
        found = self.session.find_entry(self.selected) if self.selected else None
        return found if isinstance(found, ItemView) else None

    def select(self, hunk_id: str | None) -> None:
        """Show the entry ``hunk_id`` (a hunk, another item, or nothing) in the header and
        the panes."""
        if hunk_id != self.selected:
            self.block = 0
            self._stop = -1
            if self.editing is not None:
                self.finish_inline_edit(None)
        self.selected = hunk_id
        entry = self.session.find_entry(hunk_id) if hunk_id is not None else None
        self._refresh_header(entry)
        self._refresh_topbar()
        view = self.query_one(PaneView)
        if isinstance(entry, ItemView):
            item_view = self._item_view(entry)
            if self.current is None or self.current.key != item_view.key:
                self._display(item_view)
            return
        hunk = entry
        if hunk is None:
            self.current = None
            message = "Nothing to show under this filter: press f for another one."
            if self.session.ready:
                message = "Nothing is unresolved: ready to build. Press q to quit, f to browse."
            view.show(None, message)
            return
        key = self._key(hunk)
        if self.current is not None and self.current.key == key:
            return
        cached = self._rendered.get(key)
        if cached is not None:
            self._display(cached)
            return
        self.current = None
        view.show(None, "Reading the file, aligning and highlighting…")
        self.render_hunk(hunk, key)

    def _key(self, hunk: HunkView) -> tuple[Any, ...]:
        draft = self.drafts.get(hunk.hunk_id)
        context = CONTEXT_STEPS[self.context_step] if self.view_kind is ViewKind.FILE else 0
        return (
            hunk.hunk_id,
            self.view_kind,
            hash(hunk),
            draft[-1][0] if draft else None,
            context,
            self.session.has_base,
        )

    def working_text(self, hunk: HunkView) -> str | None:
        """What the result pane holds: the draft, the result, or the proposal (None: none)."""
        draft = self.drafts.get(hunk.hunk_id)
        if draft:
            return draft[-1][0]
        if hunk.resolution is not None and hunk.result is not None:
            return hunk.result
        if hunk.is_open and hunk.has_place:
            return hunk.proposal
        return None

    @work(thread=True, exclusive=True, exit_on_error=False, group="render")
    def render_hunk(self, hunk: HunkView, key: tuple[Any, ...]) -> None:
        """Read the evidence and build one view of a hunk off the UI thread."""
        evidence = self.evidence.get(hunk.hunk_id)
        if evidence is None:
            try:
                evidence = self.backend.evidence(hunk.hunk_id)
            except PatchsmithError as error:
                self.post_message(ViewRendered(render_message(key, "error", explain(error))))
                return
            self.evidence[hunk.hunk_id] = evidence
        view = build_view(hunk, key, evidence, self, self.palette)
        self.post_message(ViewRendered(view))

    def on_view_rendered(self, message: ViewRendered) -> None:
        view = message.view
        if len(self._rendered) >= RENDER_CACHE:
            self._rendered.clear()
        self._rendered[view.key] = view
        if len(view.rows) >= FREEZE_ROWS:
            # A full collection walks every strip of a big view: a 300-400 ms stall on some key
            # press. The rows hold no cycles, so freezing them costs no memory once dropped.
            gc.freeze()
        hunk = self.selected_hunk()
        if hunk is not None and self._key(hunk) == view.key:
            self._display(view)

    def _display(self, view: RenderedView) -> None:
        self.current = view
        self._stop = -1
        self.query_one(PaneView).show(view)
        if self._pending_goto is not None:
            self._goto_line(self._pending_goto)
        self._refresh_header(self.session.find_entry(view.key[0]))

    def _item_view(self, item: ItemView) -> RenderedView:
        """The panes of an item that is not a hunk (drawn at once: a few lines of text)."""
        key = (item.entry_id, "item", hash(item))
        warning = item.warning
        if warning is not None:
            evidence = []
            if warning.kept_line:
                evidence.append(
                    (
                        f"kept: {warning.path} hunk #{warning.hunk} uses it",
                        warning.path,
                        warning.kept_line,
                    )
                )
            if warning.other_line:
                evidence.append(
                    (
                        f"left out: {warning.other_path} changes it",
                        warning.other_path or "",
                        warning.other_line,
                    )
                )
            state = "open" if item.is_open else f"acknowledged by {warning.acknowledged_by}"
            return render_warning(
                key,
                warning.message,
                evidence,
                self._warning_advice(warning, item.is_open),
                f"selection warning [{warning.number}]: {state}",
                self.palette,
            )
        return render_note(key, f"{item.path}: {item.kind}", self._item_advice(item))

    @staticmethod
    def _warning_advice(warning: WarningView, is_open: bool) -> str:
        if not is_open:
            when = f" at {warning.acknowledged_at}" if warning.acknowledged_at else ""
            return (
                f"Acknowledged by {warning.acknowledged_by}{when}: it no longer keeps the "
                "build gate closed; the report says who acknowledged it."
            )
        return (
            "The kept code needs what the left-out hunk changes: built as selected, the "
            "module may not compile, or may use the running kernel's old definition. Read "
            "both lines; then c acknowledges the warning (it asks first). To keep the "
            f"left-out change instead, {SHELL}: apply again with a selection that keeps it."
        )

    def _item_advice(self, item: ItemView) -> str:
        """What the gate says about an item, and what to do about it from here."""
        said = f"The build gate lists it: {item.detail}."
        if item.kind == "reject":
            path = item.path.removesuffix(".rej")
            waiting = [h.hunk_id for h in self.session.hunks if h.path == path and h.is_open]
            if waiting:
                return (
                    f"{said}\napply wrote the hunks of {path} it could not place into it; "
                    f"open ones of that file: {', '.join(waiting)}. Resolving a hunk takes it "
                    "out of the .rej, and the file goes with the last one (n goes to the "
                    "next open item)."
                )
            return (
                f"{said}\nNo hunk of {path} is open: the file was left or made by hand. "
                f"{SHELL}: remove it from the worktree, then r reloads."
            )
        if item.kind == "marker":
            return (
                f"{said}\nA conflict-marker line is in the file. Resolving the file's open "
                "hunks replaces the blocks patchsmith wrote; a marker put there by hand must "
                f"be edited out {SHELL} (then commit), and r reloads."
            )
        if item.kind == "uncommitted":
            return (
                f"{said}\nThe file differs from the session's branch: {SHELL}, commit the "
                "change in the worktree (or restore the file), then r reloads."
            )
        if item.kind == "interrupted":
            return (
                f"{said}\nq quits; {SHELL}: run the same patchsmith apply again to continue "
                "(or patchsmith abort)."
            )
        return f"{said}\nr reloads once it is dealt with."

    def _refresh_header(self, entry: HunkView | ItemView | None) -> None:
        header = self.query_one("#hunk-header", Static)
        if entry is None:
            header.update("")
            return
        if isinstance(entry, ItemView):
            header.update(self._item_header(entry))
            return
        hunk = entry
        # Most important first (a narrow terminal cuts the end of each line): which hunk, its
        # status, what was decided, then where it is. Spaces end the span before them.
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{quote_name(hunk.hunk_id)}  ", style="bold")
        line.append_text(badge(hunk))
        state = decision(hunk)
        if state:
            line.append("  ")
            line.append_text(state)
            if hunk.who:
                line.append(f" by {hunk.who}", style="dim")
            if hunk.reused and hunk.resolved_at:
                line.append(f" at {hunk.resolved_at}", style="dim")
            if hunk.drop_reason:
                line.append(f": {hunk.drop_reason}", style="bold")
        draft = self.drafts.get(hunk.hunk_id)
        if draft:
            line.append(f"  draft: {len(draft)} pick(s), u takes the last back", style="italic")
        evidence = self.evidence.get(hunk.hunk_id)
        where = f"patch line {hunk.expected_line}"
        if evidence is not None and evidence.region_start is not None:
            where += f" · vendor tree line {evidence.region_start}"
            if evidence.worktree_line is not None:
                where += f" · worktree line {evidence.worktree_line}"
        elif hunk.found_line is not None:
            where += f" · vendor tree line {hunk.found_line}"
        line.append("\n")
        line.append(f"{where}  ", style="dim")
        line.append(hunk.reason or "no reason recorded", style="italic")
        if hunk.memory_note:
            # Where a reused decision came from, or a suggestion memory did not replay.
            line.append(f" · {hunk.memory_note}", style="yellow")
        line.append("\n")
        line.append_text(self._position_line(hunk))
        header.update(line)

    def _item_header(self, item: ItemView) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        title = (
            f"warning [{item.warning.number}]"
            if item.warning is not None
            else quote_name(item.path)
        )
        line.append(f"{title}  ", style="bold")
        line.append_text(item_badge(item))
        line.append("  ")
        line.append_text(item_state(item))
        line.append("\n")
        if item.warning is not None:
            line.append(f"{quote_name(item.warning.path)} hunk #{item.warning.hunk}  ", style="dim")
            line.append(item.warning.message, style="italic")
        else:
            line.append(item.detail, style="italic")
        line.append("\n")
        if item.warning is not None:
            if item.is_open:
                line.append("c acknowledges it once read (asks first) · ", style="bold")
            line.append("] [ the kept and left-out lines · ", style="dim")
        line.append("n/p next/prev open · i inputs · ? keys", style="dim")
        return line

    def _position_line(self, hunk: HunkView) -> Text:
        view = self.current
        text = Text(f"{self.view_kind.value} view", style="dim")
        if view is not None and view.key[0] == hunk.hunk_id:
            if view.conflicts:
                index = min(self.block, view.conflicts - 1)
                text.append(f" · conflict block {index + 1} of {view.conflicts}  ", style="bold")
                text.append("1 vendor 2 upstream 3/4 both A one-sided ", style="dim")
            elif view.stops:
                count = len(view.stops)
                at = f"{self._stop + 1} of {count}" if self._stop >= 0 else f"{count}"
                noun = "change" if count == 1 and self._stop < 0 else "changes"
                text.append(f" · {at} {noun} ", style="dim")
        if self.view_kind is ViewKind.FILE:
            context = CONTEXT_STEPS[self.context_step]
            shown = "whole file" if context is None else f"±{context} lines"
            text.append(f"· {shown} (+/-) {{ function ", style="dim")
        text.append("· ] [ move · v view · ? keys", style="dim")
        return text

    # Navigation ----------------------------------------------------------------------------

    def _rerender(self) -> None:
        self.current = None
        self.select(self.selected)

    def action_switch_view(self) -> None:
        self.view_kind = self.view_kind.next()
        self._rerender()

    def action_context(self, step: int) -> None:
        if self.view_kind is not ViewKind.FILE:
            self.view_kind = ViewKind.FILE
        else:
            self.context_step = min(max(self.context_step + step, 0), len(CONTEXT_STEPS) - 1)
        self._refresh_header(self.selected_hunk())
        # Drawn once the keys stop: a thread rendering a view that a later + replaced cannot
        # be stopped, and six of them at once would take the CPU the keys need.
        if self._context_timer is not None:
            self._context_timer.stop()
        self._context_timer = self.set_timer(CONTEXT_DELAY, self._rerender)

    def action_function_start(self) -> None:
        hunk = self.selected_hunk()
        evidence = self.evidence.get(hunk.hunk_id) if hunk else None
        if evidence is None or evidence.function_line is None:
            self.notify("No function start found above this hunk.", severity="information")
            return
        if self.view_kind is not ViewKind.FILE:
            self.view_kind = ViewKind.FILE
            self._rerender()
        self._pending_goto = evidence.function_line
        self._goto_line(evidence.function_line)

    _pending_goto: int | None = None
    _context_timer: Timer | None = None

    def _goto_line(self, number: int) -> None:
        view = self.current
        if view is None or view.key[1] is not ViewKind.FILE:
            return  # drawn later: on_view_rendered is followed by this again through _display
        for index, row in enumerate(view.rows):
            cell = row.cells[0]
            if cell is not None and cell.number == number:
                self.query_one(PaneView).goto_row(index + 2)
                self._pending_goto = None
                return

    def _goto_stop(self, step: int) -> None:
        view = self.current
        if view is None or not view.stops:
            self.notify("No conflict blocks or changes in this view.", severity="information")
            return
        count = len(view.stops)
        if self._stop >= 0:
            self._stop = (self._stop + step) % count
        else:
            self._stop = 0 if step > 0 else count - 1
        if view.conflicts:
            self.block = self._stop
        self.query_one(PaneView).goto_row(view.stops[self._stop])
        self._refresh_header(self.session.find_entry(view.key[0]))

    def action_next_stop(self) -> None:
        self._goto_stop(1)

    def action_previous_stop(self) -> None:
        self._goto_stop(-1)

    def _goto_open(self, step: int) -> None:
        """Go to the gate's next (or previous) item, in the gate's order, wrapping."""
        gate = self.session.gate_entries
        if not gate:
            if self.session.ready:
                self.notify("Nothing is open: ready to build.", severity="information")
            else:
                self.notify("The gate's list could not be read: r reloads.", severity="warning")
            return
        if self.selected in gate:
            target = gate[(gate.index(self.selected) + step) % len(gate)]
        else:
            # From an entry the gate does not list: the nearest gate item after (or before)
            # it in the list's order.
            order = [entry_id(e) for e in self.session.entries(StatusFilter.ALL)]
            here = order.index(self.selected) if self.selected in order else -1
            rank = {entry: order.index(entry) if entry in order else -1 for entry in gate}
            if step > 0:
                target = next((g for g in gate if rank[g] > here), gate[0])
            else:
                target = next((g for g in reversed(gate) if rank[g] < here), gate[-1])
        ids = [entry_id(entry) for entry in self.visible_entries()]
        if target not in ids:
            # "review" lists every hunk a person decides and every other item of the gate.
            self.status_filter = StatusFilter.REVIEW
            self._refresh_list()
            ids = [entry_id(entry) for entry in self.visible_entries()]
        if target in ids:
            self.query_one(HunkList).highlighted = ids.index(target)

    def action_next_open(self) -> None:
        self._goto_open(1)

    def action_previous_open(self) -> None:
        self._goto_open(-1)

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
            self.query_one(PaneView).focus()
        else:
            self.query_one(HunkList).focus()

    def action_reload(self) -> None:
        self.reload()
        self.notify("Session reloaded.")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(help_sections()))

    async def action_quit(self) -> None:
        self.app.exit(return_code=self.exit_code())

    def exit_code(self) -> int:
        """0 when the build gate's list is empty, 1 while anything on it is open
        (docs/DESIGN.md, "Exit codes")."""
        return 0 if self.session.ready else 1

    # Actions on the hunk -------------------------------------------------------------------

    def _hunk_or_warn(self) -> HunkView | None:
        """The selected hunk; when another item (or nothing) is selected, say what can be
        done with it instead and return None."""
        hunk = self.selected_hunk()
        if hunk is not None:
            return hunk
        item = self.selected_item()
        if item is None:
            self.notify("No hunk selected.", severity="warning")
        elif item.warning is not None:
            what = "c acknowledges it once read" if item.is_open else "it is acknowledged"
            self.notify(
                f"Selection warning [{item.warning.number}] is not a hunk: {what}. n goes to "
                "the next open item.",
                severity="information",
            )
        else:
            self.notify(
                f"{item.path} is not a hunk ({item.kind}): its pane says what settles it. n "
                "goes to the next open item.",
                severity="information",
            )
        return None

    def _apply(
        self,
        label: str,
        call: Callable[[], None],
        hint: str,
        advance: bool = True,
        settles: str | None = None,
    ) -> bool:
        """Run one library call, reload the session and move on to the next open item. A
        refusal shows the library's message and what to press here (:func:`explain`: the
        error's remedies as keys, else ``hint``). ``settles`` names the hunk the call
        resolves: its draft is then done with."""
        index = self.query_one(HunkList).highlighted
        said: NotRemembered | None = None
        try:
            call()
        except NotRemembered as error:
            # Done and committed; only the memory for the next apply failed: not a refusal.
            said = error
        except PatchsmithError as error:
            self.notify(explain(error, hint), title=f"{label}: refused", severity="error")
            return False
        if settles is not None:
            self._discard_draft(settles)
        self.reload()
        if advance:
            self._advance(index)
        if said is not None:
            self.notify(
                f"{said.message}\nIt stands. The next apply onto this tree will ask about this "
                "hunk again; to have it remembered, make the data home writable (at the shell), "
                "then u undoes it and you resolve it again.",
                title=f"{label}: done, not remembered",
                severity="warning",
                timeout=15,
            )
        else:
            self.notify(label, timeout=2)
        return True

    def _advance(self, index: int | None) -> None:
        """Highlight the next open entry after ``index`` (wrapping), if any is listed."""
        entries = self.visible_entries()
        if not entries:
            return
        ids = [entry_id(entry) for entry in entries]
        start = (index or 0) + (0 if self.selected not in ids else 1)
        order = entries[start:] + entries[:start]
        for entry in order:
            if entry.is_open:
                self.query_one(HunkList).highlighted = entries.index(entry)
                return

    def _settled_warning(self, hunk: HunkView) -> bool:
        """Warn (and return True) when the hunk needs no decision at all, or only the one
        ``c`` makes (a hunk ``apply --accept-fuzz`` wrote: it has no proposal to take)."""
        if hunk.to_review:
            self.notify(f"{hunk.hunk_id}: {REMEDY_KEYS[Remedy.CONFIRM]}.", severity="warning")
            return True
        if hunk.is_open or hunk.resolution is not None:
            return False
        self.notify(
            f"{hunk.hunk_id} is {hunk.status.value}: nothing to decide. n goes to the next "
            "open item.",
            severity="information",
        )
        return True

    def _conflict_hint(self, blocks: int) -> str:
        plural = "s" if blocks != 1 else ""
        return (
            f"The proposal still has {blocks} conflict block{plural}: pick a side per block "
            "with 1-4 (] [ move between blocks, A settles the one-sided ones), edit with e or "
            "E, or take upstream's lines with t."
        )

    def action_accept(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None or self._settled_warning(hunk):
            return
        backend = self.backend
        draft = self.drafts.get(hunk.hunk_id)
        if draft:
            text = draft[-1][0]
            left = len(find_blocks(text))
            if left:
                self.notify(self._conflict_hint(left), severity="warning")
                return
        if hunk.proposal_conflicts and not draft:
            self.notify(self._conflict_hint(len(find_blocks(hunk.proposal))), severity="warning")
            return
        if not hunk.has_place:
            self.notify(
                f"{hunk.hunk_id} has no place in the file to write to: d drops it with a "
                "reason (change the file by hand in the worktree first if it needs one).",
                severity="warning",
            )
            return
        hint = "t takes upstream's lines, e or E edits, d drops it with a reason."
        self._apply(
            f"{hunk.hunk_id}: accepted",
            lambda: backend.accept(hunk.hunk_id),
            hint,
            settles=hunk.hunk_id,
        )

    def action_upstream(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None or self._settled_warning(hunk):
            return
        backend = self.backend
        hint = "d drops it with a reason; e or E edits the result."
        self._apply(
            f"{hunk.hunk_id}: took upstream",
            lambda: backend.take_upstream(hunk.hunk_id),
            hint,
            settles=hunk.hunk_id,
        )

    def action_undo(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        draft = self.drafts.get(hunk.hunk_id)
        if draft:
            _, picked = draft.pop()
            if not draft:
                del self.drafts[hunk.hunk_id]
            self._keep_draft(hunk)
            self.notify(f'{hunk.hunk_id}: took back "{picked}"', timeout=2)
            self._rerender()
            return
        if hunk.resolution is None:
            self.notify(
                f"{hunk.hunk_id} has no resolution to undo: a, t, d, e or 1-4 decide it.",
                severity="warning",
            )
            return
        backend = self.backend
        hint = "r reloads the session; the file may have been changed by hand."
        self._apply(
            f"{hunk.hunk_id}: undone", lambda: backend.undo(hunk.hunk_id), hint, advance=False
        )

    def action_confirm(self) -> None:
        item = self.selected_item()
        if item is not None and item.warning is not None:
            self._acknowledge(item, item.warning)
            return
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        if not (hunk.to_confirm or hunk.to_review):
            self.notify(
                f"{hunk.hunk_id} has no reused resolution to confirm, and nothing apply "
                "--accept-fuzz wrote to review.",
                severity="warning",
            )
            return
        backend = self.backend
        hint = "r reloads the session."
        self._apply(f"{hunk.hunk_id}: confirmed", lambda: backend.confirm([hunk.hunk_id]), hint)

    def _acknowledge(self, item: ItemView, warning: WarningView) -> None:
        """Acknowledge a selection warning once a person says so in the dialog."""
        if not item.is_open:
            self.notify(
                f"Selection warning [{warning.number}] is already acknowledged, by "
                f"{warning.acknowledged_by}.",
                severity="information",
            )
            return
        backend = self.backend
        number = warning.number

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(
                    f"selection warning [{number}] acknowledged",
                    lambda: backend.acknowledge_warning(number),
                    "r reloads the session.",
                )

        self.app.push_screen(AckDialog(warning), answered)

    def action_info(self) -> None:
        try:
            info = self.backend.info()
        except PatchsmithError as error:
            self.notify(explain(error), title="cannot read the session", severity="error")
            return
        self.app.push_screen(InfoScreen(info))

    def action_confirm_shown(self) -> None:
        shown = [hunk.hunk_id for hunk in self.visible_hunks() if hunk.to_confirm]
        if not shown:
            self.notify("The list shows no reused resolution to confirm.", severity="warning")
            return
        backend = self.backend
        hint = "r reloads the session."
        self._apply(
            f"{len(shown)} reused resolution(s) confirmed", lambda: backend.confirm(shown), hint
        )

    def action_drop(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None or self._settled_warning(hunk):
            return
        backend = self.backend

        def dropped(reason: str | None) -> None:
            if reason is not None:
                self._apply(
                    f"{hunk.hunk_id}: dropped ({reason})",
                    lambda: backend.drop(hunk.hunk_id, reason),
                    "Undo the hunk with u first if the file was changed by hand.",
                    settles=hunk.hunk_id,
                )

        self.app.push_screen(DropDialog(hunk.hunk_id), dropped)

    # Picking sides -------------------------------------------------------------------------

    def _blocks_text(self, hunk: HunkView) -> str | None:
        """The text the pick keys work on, or None (with a message) when there is none."""
        if self._settled_warning(hunk):
            return None
        text = self.working_text(hunk)
        if text is None or not find_blocks(text):
            self.notify(
                "No conflict blocks in this hunk's result: a accepts it, t takes upstream's "
                "lines, e edits it.",
                severity="information",
            )
            return None
        return text

    def _keep_draft(self, hunk: HunkView) -> None:
        """Write the hunk's picks to disk (what a quit or a crash must not lose)."""
        try:
            self.backend.save_draft(hunk.hunk_id, hunk.proposal, self.drafts.get(hunk.hunk_id, []))
        except PatchsmithError as error:
            self.notify(
                explain(error) + "\nThe picks are kept until you quit.",
                title="draft not saved",
                severity="error",
            )

    def _discard_draft(self, hunk_id: str) -> None:
        self.drafts.pop(hunk_id, None)
        try:
            self.backend.discard_draft(hunk_id)
        except (PatchsmithError, OSError) as error:
            self.notify(f"the draft of {hunk_id} stays on disk: {error}", severity="warning")

    def _picked(self, hunk: HunkView, text: str, what: str) -> None:
        """Record a pick: resolve the hunk when no block is left, else keep it as the draft
        (on disk at once)."""
        draft = self.drafts.setdefault(hunk.hunk_id, [])
        draft.append((text, what))
        left = len(find_blocks(text))
        if left:
            self._keep_draft(hunk)
            self.block = min(self.block, left - 1)
            self.notify(f"{what}; {left} block{'s' if left != 1 else ''} left", timeout=2)
            self._rerender()
            return
        reason = "picked: " + "; ".join(picked for _, picked in draft)
        backend = self.backend
        done = self._apply(
            f"{hunk.hunk_id}: resolved ({what})",
            lambda: backend.edit(hunk.hunk_id, text, reason),
            "u takes the last pick back; e edits the result.",
            settles=hunk.hunk_id,
        )
        if done:
            self.block = 0
        else:
            draft.pop()  # the last pick was not recorded: the draft is as it was before it
            if not draft:
                del self.drafts[hunk.hunk_id]

    def action_pick(self, key: str) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        text = self._blocks_text(hunk)
        if text is None:
            return
        side, label = _SIDES[key]
        index = min(self.block, len(find_blocks(text)) - 1)
        self._picked(hunk, pick(text, index, side), f"block {index + 1}: {label}")

    def action_pick_one_sided(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None:
            return
        text = self._blocks_text(hunk)
        if text is None:
            return
        new_text, count = pick_one_sided(text)
        if not count:
            self.notify(
                "Every block has changes on both sides: pick one with 1-4, or edit with e.",
                severity="information",
            )
            return
        plural = "s" if count != 1 else ""
        self._picked(hunk, new_text, f"{count} one-sided block{plural} settled")

    # Editing -------------------------------------------------------------------------------

    def action_edit(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None or self._settled_warning(hunk):
            return
        if not hunk.has_place:
            self.notify(f"{hunk.hunk_id} has no place in the file: d drops it.", severity="warning")
            return
        if self.view_kind is not ViewKind.MERGE:
            self.view_kind = ViewKind.MERGE
            self._rerender()
        text = self.working_text(hunk) or ""
        editor = self.query_one(InlineEditor)
        editor.load_text(text)
        editor.language = _TEXTAREA_LANGUAGES.get(PurePosixPath(hunk.path).suffix)
        # Tab inserts what the file uses: kernel C and Makefiles indent with tabs.
        editor.indent_type = indent_type(text)
        editor.indent_width = 8  # a tab is drawn 8 wide, as in the panes and the kernel
        editor.border_title = f"result of {hunk.hunk_id}: ctrl+s saves, esc cancels"
        editor.remove_class("hidden")
        view = self.query_one(PaneView)
        if view.view is not None:
            view.hide_panes([view.view.panes - 1])
        self.editing = hunk.hunk_id
        editor.focus()

    def finish_inline_edit(self, text: str | None) -> None:
        """Leave the inline editor; save ``text`` as the hunk's resolution unless None."""
        hunk_id = self.editing
        self.editing = None
        editor = self.query_one(InlineEditor)
        editor.add_class("hidden")
        self.query_one(PaneView).hide_panes([])
        self.query_one(PaneView).focus()
        if hunk_id is None or text is None:
            return
        hunk = self.session.find(hunk_id)
        if hunk is None:
            return
        if text == self.working_text(hunk) and hunk.resolution is not None:
            self.notify("Unchanged: nothing saved.")
            return
        self._save_edit(hunk, text)

    def _save_edit(self, hunk: HunkView, text: str) -> None:
        backend = self.backend
        if find_blocks(text):
            self.notify(
                "Conflict markers are left in the text: nothing saved. Pick sides with 1-4 or "
                "edit them away (e or E).",
                severity="warning",
            )
            return
        self._apply(
            f"{hunk.hunk_id}: edited",
            lambda: backend.edit(hunk.hunk_id, text),
            "Remove the conflict markers, or take upstream's lines with t.",
            settles=hunk.hunk_id,
        )

    def action_edit_external(self) -> None:
        hunk = self._hunk_or_warn()
        if hunk is None or self._settled_warning(hunk):
            return
        text = self.working_text(hunk) or ""
        try:
            data, line, handle = self.backend.prepare_file_edit(hunk.hunk_id, text)
        except PatchsmithError as error:
            self.notify(explain(error, "d drops it with a reason."), severity="error")
            return
        kept = self._external.pop(hunk.hunk_id, None)
        if kept is not None and kept[0].exists():
            path = kept[0]  # the last edit was refused: go on from it, not from the start
        else:
            folder = Path(tempfile.mkdtemp(prefix="patchsmith-edit-"))
            path = folder / PurePosixPath(hunk.path).name
            path.write_bytes(data)
        before = path.read_bytes()
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.app.suspend():
                completed = subprocess.run(editor_command(editor, path, line), check=False)
        except (OSError, SuspendNotSupported) as error:
            self.notify(f"cannot run {editor}: {error}", severity="error")
            return
        if completed.returncode != 0:
            self.notify(
                f"{editor} exited with {completed.returncode}: nothing saved.", severity="warning"
            )
            return
        edited = path.read_bytes()
        if edited == before and edited == data:
            self._forget(path)
            if hunk.proposal_conflicts or find_blocks(text):
                self.notify(
                    "Unchanged: nothing saved. " + self._conflict_hint(len(find_blocks(text)))
                )
            elif hunk.resolution is None:
                self.notify("Unchanged: nothing saved (a accepts the proposal as it is).")
            else:
                self.notify("Unchanged: nothing saved.")
            return
        try:
            new_text = self.backend.region_from_file_edit(handle, edited)
        except PatchsmithError as error:
            self._external[hunk.hunk_id] = (path, handle)
            self.notify(
                f"{error.message}: nothing saved. E opens your edited file again.",
                title="edit refused",
                severity="error",
            )
            return
        self._forget(path)
        self._save_edit(hunk, new_text)

    @staticmethod
    def _forget(path: Path) -> None:
        try:
            path.unlink()
            path.parent.rmdir()
        except OSError:
            pass


def build_view(
    hunk: HunkView,
    key: tuple[Any, ...],
    evidence: EvidenceView,
    screen: ResolveScreen,
    palette: Palette,
) -> RenderedView:
    """One view of a hunk from its texts and evidence (runs in the render worker)."""
    kind: ViewKind = key[1]
    result = screen.working_text(hunk)
    if kind is ViewKind.REJECT:
        if evidence.reject:
            where = "in the worktree" if evidence.reject_present else "gone from the worktree"
            return render_reject(key, evidence.reject, f"{hunk.path}.rej ({where})", palette)
        return render_reject(
            key,
            hunk.upstream_hunk,
            f"no .rej for this hunk ({hunk.status.value}): the patch's hunk",
            palette,
        )
    if kind is ViewKind.FILE:
        if evidence.vendor_file is None:
            return render_message(
                key, hunk.path, evidence.note or "The vendor tree has no such file."
            )
        replacement = _replacement(hunk, evidence, result)
        context = key[4]
        shown = "whole file" if context is None else f"±{context} lines"
        return render_file(
            key,
            FileTexts(
                path=hunk.path,
                file=evidence.vendor_file,
                region_start=evidence.region_start,
                region_text=evidence.region_text,
                replacement=replacement,
                context=context,
                title=f"{hunk.path}: vendor tree line numbers, {shown}"
                + (f"; {evidence.note}" if evidence.note else ""),
                function_line=evidence.function_line,
            ),
            palette,
        )
    upstream = upstream_lines(hunk.upstream_hunk) if hunk.upstream_hunk else _diff_ops(hunk)
    region_title = _FOUND_TITLES.get(evidence.found, "vendor tree: {line}")
    vendor_text = evidence.region_text
    if evidence.region_start is None:
        vendor_title = f"vendor tree: {evidence.note or 'no place found'}"
        vendor_text = hunk.vendor_region
    else:
        vendor_title = region_title.format(line=evidence.region_start)
    result_text, result_title = _result(hunk, evidence, result, screen)
    base = evidence.base_text if screen.session.has_base else None
    texts = MergeTexts(
        path=hunk.path,
        upstream=upstream,
        upstream_first=hunk.expected_line,
        vendor=vendor_text,
        vendor_first=evidence.region_start,
        result=result_text,
        result_first=evidence.worktree_line,
        titles=(
            f"upstream: pre → post, vanilla line {hunk.expected_line}",
            vendor_title,
            result_title,
        ),
        base=base,
        base_first=evidence.base_line,
        base_title=f"base: vanilla line {evidence.base_line}",
    )
    return render_merge(key, texts, palette)


def _replacement(hunk: HunkView, evidence: EvidenceView, result: str | None) -> str | None:
    """What the file view shows in place of the region."""
    if result is not None:
        return result
    if hunk.applied and evidence.worktree_text is not None:
        return evidence.worktree_text
    return None


def _result(
    hunk: HunkView, evidence: EvidenceView, result: str | None, screen: ResolveScreen
) -> tuple[str, str]:
    """The result pane's text and title."""
    where = f", worktree line {evidence.worktree_line}" if evidence.worktree_line else ""
    draft = screen.drafts.get(hunk.hunk_id)
    if draft and result is not None:
        left = len(find_blocks(result))
        return result, f"draft: {len(draft)} pick(s), {left} block(s) left{where}"
    if hunk.resolution is not None and result is not None:
        who = f" by {hunk.who}" if hunk.who else ""
        reused = ", reused: confirm" if hunk.to_confirm else ", reused" if hunk.reused else ""
        return result, f"{_RESULT_TITLES[hunk.resolution]}{who}{reused}{where}"
    if result is not None:
        blocks = len(find_blocks(result))
        state = f"{blocks} conflict block{'s' if blocks != 1 else ''}" if blocks else "merged"
        source = hunk.proposal_source or "proposal"
        return result, f"proposal ({source}, {state}){where}"
    if hunk.applied:
        state = "applied with fuzz, unreviewed: c confirms it" if hunk.to_review else "applied"
        return evidence.worktree_text or hunk.upstream_post, f"worktree: {state}{where}"
    if hunk.status is HunkStatus.ALREADY_APPLIED:
        return evidence.region_text, f"worktree: unchanged, already there{where}"
    return "", f"worktree: nothing written ({hunk.status.value})"


def _diff_ops(hunk: HunkView) -> list[tuple[str, str]]:
    """Upstream's change as (op, line) pairs when the hunk text is not at hand."""
    import difflib

    from ..render import split_text

    pre, post = split_text(hunk.upstream_pre), split_text(hunk.upstream_post)
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, pre, post, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend((" ", line) for line in pre[i1:i2])
            continue
        out.extend(("-", line) for line in pre[i1:i2])
        out.extend(("+", line) for line in post[j1:j2])
    return out


def palette_for(no_color: bool) -> Palette:
    """The row colours, or underline/reverse only when NO_COLOR is set."""
    return PLAIN if no_color else DARK


TEXTUAL_KEYS: list[tuple[str, str]] = [
    ("Tab, shift+Tab", "Move between the list and the panes (in a dialog: between its parts)"),
    ("Enter", "In a dialog: press the focused button (the drop dialog: Tab to Drop, Enter)"),
    ("ctrl+c, ctrl+q", "Quit, as q does (every action is already saved)"),
]
"""Keys Textual itself binds (focus, buttons, quitting) that a person needs to know."""


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """What the ``?`` screen lists: every part of the resolve screen's bindings, then Textual's
    own keys. The README's key table is checked against these rows by a test."""
    sections: list[tuple[str, list[BindingType]]] = [
        ("Deciding and moving", ResolveScreen.BINDINGS),
        ("Scrolling the panes", PaneView.BINDINGS),
        ("The hunk list", HunkList.BINDINGS),
        ("The inline editor", InlineEditor.BINDINGS),
        ("The drop dialog", DropDialog.BINDINGS),
        ("The acknowledge dialog (c on a selection warning)", AckDialog.BINDINGS),
        ("The inputs screen (i)", InfoScreen.BINDINGS),
        ("This screen (?)", HelpScreen.BINDINGS),
    ]
    rows = [
        (name, describe([binding for binding in keys if isinstance(binding, Binding)]))
        for name, keys in sections
    ]
    return [*rows, ("Anywhere", TEXTUAL_KEYS)]

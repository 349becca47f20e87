"""The Timeloom app: browse the threads and checkpoints of a checkpoint database.

The app is a shell around its parts: the selection and the panes
(:mod:`~timeloom.tui.selection`), the database workers (:mod:`~timeloom.tui.loaders`)
and what is done with their results (:mod:`~timeloom.tui.results`), the jumps and
the back stack (:mod:`~timeloom.tui.navigation`), the checkpoint and write actions
(:mod:`~timeloom.tui.writing`), the keys (:mod:`~timeloom.tui.bindings`). Here: the
layout, the filters, the other actions, and the routing of a failed worker to the
user through exactly one of three channels, chosen by its group in
:meth:`TimeloomApp._worker_failed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Final

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Select, Static
from textual.worker import Worker, WorkerState

from timeloom.core.checkpoint import THREAD_STATUSES, ThreadStatus
from timeloom.core.errors import TimeloomError
from timeloom.core.namespaces import NS_SEP
from timeloom.tui import investigating
from timeloom.tui.bindings import BINDINGS
from timeloom.tui.commands import (
    PaletteCommand,
    TimeloomCommands,
    help_sections,
    palette_commands,
)
from timeloom.tui.loaders import DIALOG_GROUPS, FATAL_GROUP, while_running
from timeloom.tui.messages import DatabaseOpened
from timeloom.tui.navigation import Navigation
from timeloom.tui.ops.errors import describe_error
from timeloom.tui.ops.safetext import safe, safe_lines
from timeloom.tui.ops.subgraphs import breadcrumb, root_of
from timeloom.tui.results import ResultHandlers
from timeloom.tui.screens.confirm import ConfirmScreen
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.help import HelpScreen
from timeloom.tui.selection import LIVE_WINDOW
from timeloom.tui.settings import load_settings, save_setting
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.detail import TABS, DetailPane
from timeloom.tui.widgets.formatting import (
    STATUS_ICONS,
    STATUS_NAMES,
    glyph,
    status_icon,
)
from timeloom.tui.widgets.labels import label
from timeloom.tui.widgets.thread_list import ThreadList
from timeloom.tui.writing import WriteActions

__all__ = ["LIVE_WINDOW", "TimeloomApp"]

NARROW_BELOW: Final = 110
"""Terminal widths below which two panes are shown instead of three."""


class TimeloomApp(ResultHandlers, Navigation, WriteActions):
    """Browse a checkpoint database: threads, their checkpoint trees, and details.

    | Key | Action |
    | :- | :- |
    | / | Filter threads by id prefix. |
    | s | Cycle the status filter. |
    | f | Follow: show new checkpoints as they are written, track the head. |
    | o | Jump to the fork of this checkpoint, or back to a fork's origin. |
    | i | Into the subgraph this checkpoint ran, or out; threads pane: subgraphs. |
    | p | Jump to the parent checkpoint (in any thread). |
    | backspace | Go back to where the last jump started. |
    | m | Mark the checkpoint (the diff compares with the mark). |
    | d | Diff: what changed since the parent (or the marked checkpoint). |
    | e | Edit the values: writes an update checkpoint. |
    | b | Branch into a new thread (a fork). |
    | r | Resume the run from this checkpoint (needs ``--graph``). |
    | x | Stop the running resume. |
    | ctrl+f | Search the thread with a JMESPath query. |
    | n / N | The next / previous checkpoint the search found. |
    | w | Who changed the value under the State tab's cursor. |
    | u | Storage: what the thread costs, per key. |
    | 1 2 3 | State, Writes, Metadata tab. |
    | ctrl+r | Reload. |
    | ? | Help. |
    | ctrl+p | Command palette. |
    | q / ctrl+q | Quit (asks first while a run is going). |
    """

    CSS_PATH = "app.tcss"
    TITLE = "Timeloom"
    COMMANDS: ClassVar = App.COMMANDS | {TimeloomCommands}
    BINDINGS: ClassVar[list[BindingType]] = BINDINGS

    _theme_loaded = False
    """Whether the saved theme is applied (a theme chosen after it is saved)."""

    # -- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static("Timeloom", id="brand")
            yield Static(label(self.location), id="location")
            yield Static("", id="selected-thread", markup=False)
            yield Static("", id="counts")
            yield Static("", id="mark-badge")
            yield Static(f"{STATUS_ICONS['running']} RUNNING", id="run-badge")
            yield Static(f"{glyph('●', '*')} FOLLOWING", id="follow-badge")
            yield Static("NO GRAPH", id="nograph-badge")
            yield Static("READ-ONLY", id="readonly-badge")
        with Horizontal(id="main"):
            with Vertical(id="threads-pane") as threads:
                threads.border_title = "Threads"
                with Horizontal(id="thread-filters"):
                    yield Input(
                        placeholder="/ filter by id",
                        id="thread-filter",
                        compact=True,
                    )
                    yield Select(
                        [
                            (f"{status_icon(s)} {STATUS_NAMES[s]}", s)
                            for s in THREAD_STATUSES
                        ],
                        prompt="any status",
                        id="status-filter",
                        compact=True,
                    )
                yield ThreadList(id="thread-list")
            with Vertical(id="tree-pane") as tree:
                tree.border_title = "Checkpoints"
                yield CheckpointTree(id="checkpoint-tree")
            yield DetailPane(id="detail")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Two panes instead of three on a narrow terminal, and a footer that keeps
        every key (ctrl+p still opens the palette; the help lists it)."""
        narrow = width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        self.query_one(Footer).show_command_palette = not narrow

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        pane = self.query_one("#threads-pane")
        self.set_class(
            event.widget is pane or pane in event.widget.ancestors, "-in-threads"
        )

    def on_mount(self) -> None:
        self._fit(self.size.width)
        theme = load_settings().get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        self._theme_loaded = True
        self._show_write_state()
        if self.runner.notice:
            self.notify(self.runner.notice, title="Writing with your graph")
        self.sub_title = safe(self.location)
        self.detail.show_nothing("Opening the database…")
        self.thread_list.focus()
        self._open_database()

    async def on_unmount(self) -> None:
        # The checkpointer is closed by LoaderApp's handler, which Textual runs too.
        await self.runner.aclose()

    # -- errors and startup --------------------------------------------------------

    @on(Worker.StateChanged)
    @while_running
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        title, message, details = describe_error(error)
        if worker.group == FATAL_GROUP:
            self.fatal_error = (
                error
                if isinstance(error, TimeloomError)
                else TimeloomError(message, title)
            )
            self.exit(
                return_code=2,
                message=Text.assemble(
                    ("timeloom: ", "bold"),
                    (f"{title}: ", "bold"),
                    safe_lines(message),
                    f"\n  (while opening {safe(self.location)})",
                ),
            )
        elif worker.group in DIALOG_GROUPS:
            self.push_screen(ErrorModal(title, message, details))
        else:
            if worker.group == "detail":
                self._stop_loading_notice()
                self.detail.show_error(title, message)
            if worker.group == "follow":
                self.following = False
            self.notify(message, title=title, severity="error", timeout=8)

    @on(DatabaseOpened)
    @while_running
    def _database_opened(self, message: DatabaseOpened) -> None:
        self._show_write_state()
        for warning in self.checkpointer.warnings:
            self.notify(warning, title="Opened with a warning", severity="warning")
        if message.thread_count == 0:
            self.detail.show_nothing("This database has no threads yet.")
        else:
            self.detail.show_nothing("Select a thread.")
        self._show_threads(message.thread_count)  # counted already: no filter yet

    # -- filters and follow --------------------------------------------------------

    @on(Input.Changed, "#thread-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()

    @on(Input.Submitted, "#thread-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.thread_list.focus()

    @on(Select.Changed, "#status-filter")
    def _status_changed(self, event: Select.Changed) -> None:
        value = event.value
        self.status_filter = value if value in THREAD_STATUSES else None

    def watch_search(self) -> None:
        self.refresh_threads(select=self._still_matching())

    def watch_status_filter(self) -> None:
        self.refresh_threads(select=self._still_matching())

    def _still_matching(self) -> str | None:
        """The open thread, if the filter keeps it: the cursor stays on it (and
        does not jump to whatever thread now has its row). A thread still
        loading (a jump just opened it) is kept unless the id filter drops it."""
        thread_id = self.selected_thread
        if thread_id is None:
            return None
        # i in the threads pane lists the open thread's subgraph timelines
        # ("thread|"): the thread stays open until the user picks one.
        listing_its_subgraphs = self.search == root_of(thread_id) + NS_SEP
        if (
            self.search
            and not thread_id.startswith(self.search)
            and not listing_its_subgraphs
        ):
            return None
        info = self.thread_info
        status = info.status if info is not None else None
        if self.status_filter is not None and status not in (None, self.status_filter):
            return None
        return thread_id

    def watch_following(self, following: bool) -> None:
        self.set_class(following, "-following")
        if following:
            self._follow(self.selected_thread)
            tree = self.checkpoint_tree
            if tree.head_id is not None:
                tree.select(tree.head_id)
        else:
            self.workers.cancel_group(self, "follow")

    def watch_selected_thread(self, thread_id: str | None) -> None:
        # Whole, whatever the panes' widths: ids that differ in the middle stay
        # told apart.
        # A subgraph's timeline by its path (task ids shortened), not its raw id.
        self.query_one("#selected-thread", Static).update(
            safe(breadcrumb(thread_id) if thread_id else "")
        )
        if self.following:
            self._follow(thread_id)

    # -- other actions -------------------------------------------------------------

    def watch_theme(self, theme: str) -> None:
        if self._theme_loaded:  # the user chose it: keep it for the next run
            problem = save_setting("theme", theme)
            if problem is not None:
                self.notify(problem, title="Theme not saved", severity="warning")

    def action_quit_app(self) -> None:
        """Quit; while a run is going, ask first (stopping it keeps whole steps)."""
        if not self.run_active:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmScreen(
                "A run is going",
                "Quitting stops the run. The steps it committed stay; r runs on "
                "from there later.",
                yes="Stop it and quit",
                no="Keep running",
            ),
            answered,
        )

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(self.help_sections()))

    def action_filter(self) -> None:
        """Focus the thread filter."""
        self.query_one("#thread-filter", Input).focus()

    def action_escape(self) -> None:
        """Leave the filter (clearing it) or go back to the threads list."""
        field = self.query_one("#thread-filter", Input)
        if field.value:  # from the field or the list, as the help says
            field.value = ""
        self.thread_list.focus()

    def action_cycle_status(self) -> None:
        """Show only running, paused, done, failed threads, then all again."""
        order: list[ThreadStatus | None] = [None, *THREAD_STATUSES]
        self.show_status(order[(order.index(self.status_filter) + 1) % len(order)])

    def show_status(self, status: ThreadStatus | None) -> None:
        """Show only threads with ``status`` (``None``: any status)."""
        select: Select[ThreadStatus] = self.query_one("#status-filter", Select)
        if status is None:
            select.clear()
        else:
            select.value = status

    def action_toggle_follow(self) -> None:
        """Turn follow mode on or off."""
        self.following = not self.following
        if self.following:
            self.notify(
                "New checkpoints appear as they are written.", title="Following"
            )

    def action_find(self) -> None:
        """Search the open thread with a JMESPath query."""
        investigating.ask_query(self)

    def action_next_match(self, direction: int) -> None:
        """Select the next (1) or previous (-1) checkpoint the search found."""
        investigating.next_match(self, direction)

    def action_who_changed(self) -> None:
        """List the checkpoints where the value under the State cursor changed."""
        investigating.who_changed(self)

    def action_storage(self) -> None:
        """Show what the open thread costs in storage, per key."""
        investigating.storage(self)

    def action_tab(self, tab: str) -> None:
        """Show a tab of the detail pane."""
        if tab in TABS:
            self.detail.tabs.active = tab

    def action_reload(self) -> None:
        """Reload the threads list and the selected thread."""
        self.refresh_threads(select=self.selected_thread)
        meta = self.selected_meta
        if self.selected_thread is not None:
            self.open_thread(self.selected_thread, select=meta.id if meta else None)

    # -- help and palette ----------------------------------------------------------

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The key tables the help screen shows."""
        return help_sections(self)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Every action of the app, for the command palette."""
        return palette_commands(self)

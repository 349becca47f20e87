"""The Timeloom app: browse the threads and checkpoints of a checkpoint database.

The app owns the checkpointer and the selection; widgets render what they are given
and post messages up. Every database call runs in an async worker whose result comes
back as a message (:mod:`timeloom.tui.messages`); a failed worker reaches the user
through exactly one of three channels, chosen by its group in :meth:`_worker_failed`.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import ClassVar, Final

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Footer, Input, Select, Static
from textual.worker import Worker, WorkerState

from timeloom.core.checkpoint import (
    THREAD_STATUSES,
    CheckpointMeta,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.tui.commands import (
    PaletteCommand,
    TimeloomCommands,
    help_sections,
    palette_commands,
)
from timeloom.tui.loaders import FATAL_GROUP, LoaderApp, while_running
from timeloom.tui.messages import (
    CheckpointCommitted,
    CheckpointLoaded,
    DatabaseOpened,
    ForksFound,
    HistoryPage,
    ThreadOpened,
    ThreadsCounted,
    ThreadsPage,
)
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.help import HelpScreen
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.detail import TABS, DetailPane
from timeloom.tui.widgets.formatting import FORK_MARK, STATUS_ICONS
from timeloom.tui.widgets.thread_list import ThreadList

LOADING_NOTICE_DELAY: Final = 0.3
"""Seconds a checkpoint may take to load before the detail pane says it is loading."""

DIALOG_GROUPS: Final = frozenset({"threads", "history", "action"})
"""Worker groups whose failure interrupts the user with a dialog; others notify."""


class TimeloomApp(LoaderApp):
    """Browse a checkpoint database: threads, their checkpoint trees, and details.

    | Key | Action |
    | :- | :- |
    | / | Filter threads by id prefix. |
    | s | Cycle the status filter. |
    | f | Follow: show new checkpoints as they are written, track the head. |
    | o | Jump to the fork of this checkpoint, or back to a fork's origin. |
    | p | Jump to the parent checkpoint (in any thread). |
    | backspace | Go back to where the last jump started. |
    | 1 2 3 | State, Writes, Metadata tab. |
    | ctrl+r | Reload. |
    | ? | Help. |
    | ctrl+p | Command palette. |
    | ctrl+q | Quit. |
    """

    CSS_PATH = "app.tcss"
    TITLE = "Timeloom"
    COMMANDS: ClassVar = App.COMMANDS | {TimeloomCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter threads by id prefix (enter: back to the list)",
        ),
        Binding(
            "s",
            "cycle_status",
            "Status",
            tooltip="Only running / paused / done / failed",
        ),
        Binding(
            "f",
            "toggle_follow",
            "Follow",
            tooltip="Show checkpoints as other processes write them; track the head",
        ),
        Binding(
            "o",
            "jump_fork",
            "Fork↔origin",
            tooltip="Jump into this checkpoint's fork, or back to this fork's origin",
        ),
        Binding(
            "p", "jump_parent", "Parent", tooltip="Jump to the parent (in any thread)"
        ),
        Binding(
            "backspace",
            "go_back",
            "Back",
            key_display="⌫",
            tooltip="Return to where the last jump started",
        ),
        Binding("1", "tab('state')", "State", show=False, tooltip="State tab"),
        Binding("2", "tab('writes')", "Writes", show=False, tooltip="Writes tab"),
        Binding("3", "tab('meta')", "Metadata", show=False, tooltip="Metadata tab"),
        Binding(
            "ctrl+r,f5", "reload", "Reload", show=False, tooltip="Read everything again"
        ),
        Binding(
            "escape",
            "escape",
            "Back to the list",
            show=False,
            tooltip="Back to the threads list (clears the filter)",
        ),
    ]

    selected_thread: reactive[str | None] = reactive(None, init=False)
    """The thread shown in the checkpoint tree."""
    selected_checkpoint: reactive[str | None] = reactive(
        None, init=False, always_update=True
    )
    """The checkpoint shown in the detail pane."""
    following: reactive[bool] = reactive(False, init=False)
    """Whether new checkpoints are watched for and the head tracked."""

    def __init__(
        self, checkpointer: BaseCheckpointer, *, close_on_exit: bool = True
    ) -> None:
        """Args:
        checkpointer: what to browse; the app calls its ``setup()``.
        close_on_exit: call the checkpointer's ``aclose()`` when the app ends.
        """
        super().__init__(checkpointer, close_on_exit=close_on_exit)
        self.thread_info: ThreadInfo | None = None
        """The summary of the selected thread."""
        self.selected_meta: CheckpointMeta | None = None
        """The summary of the selected checkpoint."""
        self._history: list[tuple[str, str]] = []
        self._refresh_timer_armed = False
        self._loading_timer: Timer | None = None

    # -- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static("⧗ Timeloom", id="brand")
            yield Static(self.checkpointer.url, id="location")
            yield Static("", id="counts")
            yield Static("● FOLLOWING", id="follow-badge")
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
                        [(f"{STATUS_ICONS[s]} {s}", s) for s in THREAD_STATUSES],
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

    def on_mount(self) -> None:
        self.set_class(self.checkpointer.read_only, "-read-only")
        self.sub_title = self.checkpointer.url
        self.detail.show_nothing("Opening the database…")
        self.thread_list.focus()
        self._open_database()

    @property
    def thread_list(self) -> ThreadList:
        """The threads pane's list."""
        return self.query_one("#thread-list", ThreadList)

    @property
    def checkpoint_tree(self) -> CheckpointTree:
        """The checkpoint tree."""
        return self.query_one("#checkpoint-tree", CheckpointTree)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one("#detail", DetailPane)

    # -- errors --------------------------------------------------------------------

    @on(Worker.StateChanged)
    @while_running
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        if isinstance(error, TimeloomError):
            title, message = error.title, error.msg
        else:  # a bug of ours or a backend's: say what it was, keep running
            title = "Unexpected error"
            message = f"{type(error).__name__}: {error}"
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
                    message,
                    f"\n  (while opening {self.checkpointer.url})",
                ),
            )
        elif worker.group in DIALOG_GROUPS:
            details = "".join(traceback.format_exception(error))
            self.push_screen(
                ErrorModal(
                    title, message, "" if isinstance(error, TimeloomError) else details
                )
            )
        else:
            if worker.group == "detail":
                self._stop_loading_notice()
                self.detail.show_error(title, message)
            if worker.group == "follow":
                self.following = False
            self.notify(message, title=title, severity="error", timeout=8)

    # -- results -------------------------------------------------------------------

    @on(DatabaseOpened)
    @while_running
    def _database_opened(self, message: DatabaseOpened) -> None:
        self.set_class(self.checkpointer.read_only, "-read-only")
        if message.thread_count == 0:
            self.detail.show_nothing("This database has no threads yet.")
        else:
            self.detail.show_nothing("Select a thread.")
        self._show_threads(message.thread_count)  # counted already: no filter yet

    @on(ThreadsCounted)
    @while_running
    def _threads_counted(self, message: ThreadsCounted) -> None:
        self._show_threads(message.total, keep=message.selected)

    def _show_threads(self, total: int, keep: str | None = None) -> None:
        """Restart the threads list at ``total`` rows (pages load as they show)."""
        self.thread_list.reset(total, keep=keep)
        noun = "thread" if total == 1 else "threads"
        filtered = " matching" if self.search or self.status_filter else ""
        self.query_one("#counts", Static).update(f"{total:,}{filtered} {noun}")

    @on(ThreadsPage)
    @while_running
    def _threads_page(self, message: ThreadsPage) -> None:
        self.thread_list.set_page(message.generation, message.offset, message.threads)

    @on(ThreadList.PageNeeded)
    @while_running
    def _page_needed(self, message: ThreadList.PageNeeded) -> None:
        self._load_thread_page(message.generation, message.offset)

    @on(ThreadList.Highlighted)
    @while_running
    def _thread_highlighted(self, message: ThreadList.Highlighted) -> None:
        info = message.info
        if info.thread_id != self.selected_thread:
            self.open_thread(info.thread_id)
        elif self.thread_info is not None:
            self.thread_info = info
            self._update_tree_title()
        if message.opened:
            self.checkpoint_tree.focus()

    @on(ThreadOpened)
    @while_running
    def _thread_opened(self, message: ThreadOpened) -> None:
        tree = self.checkpoint_tree
        if message.generation != tree.generation:
            return
        self.thread_info = message.info
        tree.head_id = message.info.head_id
        self._update_tree_title()
        tree.add_page(message.generation, message.metas, message.exhausted)
        if message.select is not None and not tree.select(message.select):
            self.notify(
                f"Checkpoint {message.select} is not in {message.info.thread_id!r}.",
                title="Checkpoint not found",
                severity="warning",
            )

    @on(CheckpointTree.MoreNeeded)
    @while_running
    def _more_needed(self, message: CheckpointTree.MoreNeeded) -> None:
        self._load_more(message.thread_id, message.generation, message.before)

    @on(HistoryPage)
    @while_running
    def _history_page(self, message: HistoryPage) -> None:
        tree = self.checkpoint_tree
        if message.thread_id != tree.thread_id:
            return
        tree.add_page(message.generation, message.metas, message.exhausted)
        if message.select is not None:
            tree.select(message.select)

    @on(CheckpointTree.ForksNeeded)
    @while_running
    def _forks_needed(self, message: CheckpointTree.ForksNeeded) -> None:
        self._load_forks(message.thread_id, message.ids)

    @on(ForksFound)
    @while_running
    def _forks_found(self, message: ForksFound) -> None:
        if message.thread_id != self.checkpoint_tree.thread_id:
            return
        self.checkpoint_tree.set_forks(message.forks)
        meta = self.selected_meta
        if meta is not None and message.forks.get(meta.id):
            self.detail.show_forks(meta, message.forks[meta.id])

    @on(CheckpointTree.Highlighted)
    @while_running
    def _checkpoint_highlighted(self, message: CheckpointTree.Highlighted) -> None:
        self.selected_meta = message.meta
        self.selected_checkpoint = message.meta.id
        # The detail pane keeps the previous checkpoint until the new one is read;
        # it says "loading" only if that takes long enough to notice.
        self._stop_loading_notice()
        self._loading_timer = self.set_timer(LOADING_NOTICE_DELAY, self._loading_notice)

    def _stop_loading_notice(self) -> None:
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None

    @while_running
    def _loading_notice(self) -> None:
        shown = self.detail.checkpoint
        meta = self.selected_meta
        if meta is not None and (shown is None or shown.id != meta.id):
            self.detail.show_loading(meta)

    def watch_selected_checkpoint(self, checkpoint_id: str | None) -> None:
        meta = self.selected_meta
        if checkpoint_id is not None and meta is not None:
            self._load_checkpoint(meta.thread_id, checkpoint_id)

    @on(CheckpointLoaded)
    @while_running
    def _checkpoint_loaded(self, message: CheckpointLoaded) -> None:
        checkpoint = message.checkpoint
        if checkpoint.id != self.selected_checkpoint:
            return
        self._stop_loading_notice()
        meta = self.selected_meta
        self.detail.show_checkpoint(checkpoint, meta)
        forks = self.checkpoint_tree.forks_of(checkpoint.id)
        if forks and meta is not None:
            self.detail.show_forks(meta, forks)

    @on(CheckpointCommitted)
    @while_running
    def _checkpoint_committed(self, message: CheckpointCommitted) -> None:
        meta = message.meta
        tree = self.checkpoint_tree
        if meta.thread_id == tree.thread_id:
            tree.add_new([meta], head_id=max(meta.id, tree.head_id or ""))
            if self.following and tree.head_id is not None:
                tree.select(tree.head_id)
        if not self._refresh_timer_armed:
            # A burst of commits refreshes the threads list once.
            self._refresh_timer_armed = True
            self.set_timer(0.3, self._refresh_after_commits)

    @while_running
    def _refresh_after_commits(self) -> None:
        self._refresh_timer_armed = False
        self.refresh_threads(select=self.selected_thread)

    # -- filters -------------------------------------------------------------------

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
        self.refresh_threads()

    def watch_status_filter(self) -> None:
        self.refresh_threads()

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
        if self.following:
            self._follow(thread_id)

    # -- navigation ----------------------------------------------------------------

    def open_thread(self, thread_id: str, select: str | None = None) -> None:
        """Show a thread in the tree, its head selected (or ``select``)."""
        self.selected_thread = thread_id
        self.thread_info = None
        self.selected_meta = None
        tree = self.checkpoint_tree
        generation = tree.show_thread(thread_id, None)
        self.query_one("#tree-pane").border_title = thread_id
        self.query_one("#tree-pane").border_subtitle = "loading…"
        self.detail.show_nothing("Loading…")
        self._load_thread(thread_id, generation, select)

    def goto_checkpoint(
        self, thread_id: str, checkpoint_id: str, *, remember: bool = True
    ) -> None:
        """Select a checkpoint in any thread; ``backspace`` comes back here.

        Args:
            thread_id: the checkpoint's thread.
            checkpoint_id: the checkpoint.
            remember: push the current position on the back stack.
        """
        current = self.selected_meta
        if remember and current is not None:
            self._history.append((current.thread_id, current.id))
            del self._history[:-100]
        tree = self.checkpoint_tree
        if thread_id == tree.thread_id:
            if not tree.select(checkpoint_id):
                oldest = tree.oldest_id
                if oldest is None or tree.exhausted:
                    self.notify(
                        f"Checkpoint {checkpoint_id} is not in {thread_id!r}.",
                        title="Checkpoint not found",
                        severity="warning",
                    )
                else:
                    self._load_more(thread_id, tree.generation, oldest, checkpoint_id)
        else:
            self.open_thread(thread_id, select=checkpoint_id)
            index = self.thread_list.index_of(thread_id)
            if index is not None:
                self.thread_list.cursor = index
        tree.focus()

    def action_goto_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        """Jump to a checkpoint (used by links in the metadata tab)."""
        self.goto_checkpoint(thread_id, checkpoint_id)

    def action_jump_fork(self) -> None:
        """Jump into the fork of this checkpoint, or back to this fork's origin."""
        meta = self.checkpoint_tree.highlighted()
        if meta is None:
            return
        forks = self.checkpoint_tree.forks_of(meta.id)
        if forks:
            self.goto_checkpoint(forks[0].thread_id, forks[0].id)
        elif meta.is_fork_root and meta.parent_id and meta.parent_thread_id:
            self.goto_checkpoint(meta.parent_thread_id, meta.parent_id)
        elif self.thread_info is not None and self.thread_info.forked_from is not None:
            self.goto_checkpoint(*self.thread_info.forked_from)
        else:
            self.notify(
                "This checkpoint has no fork, and this thread is not a fork.",
                title="Nothing to jump to",
            )

    def action_jump_parent(self) -> None:
        """Jump to the parent of the highlighted checkpoint."""
        meta = self.checkpoint_tree.highlighted()
        if meta is None or meta.parent_id is None:
            self.notify("This checkpoint has no parent.", title="Nothing to jump to")
            return
        self.goto_checkpoint(meta.parent_thread_id or meta.thread_id, meta.parent_id)

    def action_go_back(self) -> None:
        """Return to where the last jump started."""
        if not self._history:
            self.notify("No earlier position.", title="Back")
            return
        thread_id, checkpoint_id = self._history.pop()
        self.goto_checkpoint(thread_id, checkpoint_id, remember=False)

    # -- other actions -------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        self.push_screen(HelpScreen(self.help_sections()))

    def action_filter(self) -> None:
        """Focus the thread filter."""
        self.query_one("#thread-filter", Input).focus()

    def action_escape(self) -> None:
        """Leave the filter (clearing it) or go back to the threads list."""
        field = self.query_one("#thread-filter", Input)
        if field.has_focus and field.value:
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

    # -- helpers -------------------------------------------------------------------

    def _update_tree_title(self) -> None:
        info = self.thread_info
        pane = self.query_one("#tree-pane")
        if info is None:
            return
        pane.border_title = info.thread_id
        parts = [
            f"{STATUS_ICONS[info.status]} {info.status}",
            f"{info.checkpoint_count:,} checkpoints",
        ]
        if info.forked_from is not None:
            parts.append(f"{FORK_MARK} from {info.forked_from[0]}")
        pane.border_subtitle = " · ".join(parts)

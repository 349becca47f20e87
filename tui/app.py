"""The Timeloom app: browse the threads and checkpoints of a checkpoint database.

The app owns the checkpointer and the selection; widgets render what they are given
and post messages up. Every database call runs in an async worker whose result comes
back as a message (:mod:`timeloom.tui.messages`); a failed worker reaches the user
through exactly one of three channels, chosen by its group in :meth:`_worker_failed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import ClassVar, Final

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Footer, Input, Select, Static
from textual.worker import Worker, WorkerState

from timeloom.backends.urls import sqlite_path
from timeloom.core.checkpoint import (
    THREAD_STATUSES,
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.core.runtime import CompiledGraph
from timeloom.tui import actions, investigating
from timeloom.tui.actions import Answer, WriteAction
from timeloom.tui.commands import (
    PaletteCommand,
    TimeloomCommands,
    help_sections,
    palette_commands,
)
from timeloom.tui.loaders import (
    DIALOG_GROUPS,
    FATAL_GROUP,
    RUN_GROUP,
    LoaderApp,
    while_running,
)
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
from timeloom.tui.runners.base import BranchOptions, Runner
from timeloom.tui.runners.native import TimeloomRunner
from timeloom.tui.safetext import safe, safe_lines
from timeloom.tui.screens.branch import BranchScreen
from timeloom.tui.screens.confirm import ConfirmScreen
from timeloom.tui.screens.diff import DiffScreen
from timeloom.tui.screens.editor import EditorScreen, EditRequest
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.help import HelpScreen
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.settings import load_settings, save_setting
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree, node_label
from timeloom.tui.widgets.detail import TABS, DetailPane
from timeloom.tui.widgets.formatting import (
    FORK_MARK,
    MARKED,
    STATUS_ICONS,
    STATUS_NAMES,
    glyph,
    status_icon,
    status_name,
)
from timeloom.tui.widgets.labels import label
from timeloom.tui.widgets.thread_list import ThreadList

LOADING_NOTICE_DELAY: Final = 0.3
"""Seconds a checkpoint may take to load before the detail pane says it is loading."""
NARROW_BELOW: Final = 110
"""Terminal widths below which two panes are shown instead of three."""
LIVE_WINDOW: Final = 10.0
"""Seconds a followed thread counts as running after its last new checkpoint."""

WRITE_KEYS: Final[dict[str, WriteAction]] = {"e": "edit", "b": "branch", "r": "resume"}
"""The actions that write (refused read-only; resume also needs the graph), by key:
pressed while refused, they say why instead of doing nothing."""
WRITE_ACTIONS: Final[frozenset[str]] = frozenset(WRITE_KEYS.values())
CHECKPOINT_ACTIONS: Final = frozenset({"mark", "diff", *WRITE_ACTIONS})
"""Actions on the selected checkpoint (off until one is selected)."""


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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            show=False,  # the filter field says "/ filter by id"
            tooltip="Filter threads by id prefix (enter: back to the list)",
        ),
        Binding(
            "s",
            "cycle_status",
            "Status",
            show=False,
            tooltip="Only idle / paused / done / failed threads",
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
            "Fork",
            tooltip="Jump into this checkpoint's fork, or back to this fork's origin",
        ),
        Binding(
            "p",
            "jump_parent",
            "Parent",
            show=False,
            tooltip="Jump to the parent (in any thread)",
        ),
        Binding(
            "backspace",
            "go_back",
            "Back",
            key_display="⌫",
            show=False,
            tooltip="Return to where the last jump started",
        ),
        Binding(
            "m",
            "mark",
            "Mark",
            tooltip="Mark this checkpoint: d then diffs against it (m again: unmark)",
        ),
        Binding(
            "d",
            "diff",
            "Diff",
            tooltip="What changed since the parent (or the marked checkpoint)",
        ),
        Binding(
            "e", "edit", "Edit", tooltip="Edit the values; saving writes an update"
        ),
        Binding("b", "branch", "Branch", tooltip="Fork into a new thread"),
        Binding(
            "r",
            "resume",
            "Resume",
            tooltip="Run on from this checkpoint, answering interrupts",
        ),
        Binding("x", "stop_run", "Stop run", tooltip="Cancel the running resume"),
        Binding(
            "ctrl+f",
            "find",
            "Find",
            show=False,
            tooltip="Search this thread with a JMESPath query (n / N step through)",
        ),
        Binding("n", "next_match(1)", "Next match", show=False, tooltip="Next match"),
        Binding(
            "N",
            "next_match(-1)",
            "Previous match",
            show=False,
            tooltip="Previous match",
        ),
        Binding(
            "w",
            "who_changed",
            "Who changed",
            show=False,
            tooltip="The checkpoints where the value under the State cursor changed",
        ),
        Binding(
            "u",
            "storage",
            "Storage",
            show=False,
            tooltip="What this thread costs in storage, per key, and how it grew",
        ),
        Binding("1", "tab('state')", "State", show=False, tooltip="State tab"),
        Binding("2", "tab('writes')", "Writes", show=False, tooltip="Writes tab"),
        Binding("3", "tab('meta')", "Metadata", show=False, tooltip="Metadata tab"),
        Binding(
            "ctrl+r,f5", "reload", "Reload", show=False, tooltip="Read everything again"
        ),
        Binding(
            "q",
            "quit_app",
            "Quit",
            show=False,
            tooltip="Quit (asks first while a run is going)",
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
    marked: reactive[str | None] = reactive(None, init=False)
    """The id of the marked checkpoint (``d`` diffs against it), in any thread."""

    def __init__(
        self,
        checkpointer: BaseCheckpointer,
        *,
        graph: CompiledGraph | None = None,
        runner: Runner | None = None,
        close_on_exit: bool = True,
    ) -> None:
        """Args:
        checkpointer: what to browse; the app calls its ``setup()``.
        graph: the Timeloom graph loaded with ``--graph``, bound to
            ``checkpointer``; resuming needs it, editing and branching use its
            schema and reducers.
        runner: who carries out edit, branch and resume (default: Timeloom's
            runtime with ``graph``); see :mod:`timeloom.tui.runners`.
        close_on_exit: call the checkpointer's ``aclose()`` when the app ends.
        """
        super().__init__(checkpointer, close_on_exit=close_on_exit)
        self.runner: Runner = runner or TimeloomRunner(checkpointer, graph)
        self.marked_meta: CheckpointMeta | None = None
        """The summary of the marked checkpoint."""
        self.thread_info: ThreadInfo | None = None
        """The summary of the selected thread."""
        self.selected_meta: CheckpointMeta | None = None
        """The summary of the selected checkpoint."""
        self._history: list[tuple[str, str]] = []
        self._refresh_timer_armed = False
        self._loading_timer: Timer | None = None
        self._run_thread: str | None = None
        self._theme_loaded = False
        self._seen_live: dict[str, float] = {}
        """Followed threads and when follow last saw a new checkpoint in them."""

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

    @property
    def graph(self) -> CompiledGraph | None:
        """The Timeloom graph behind the write actions, if any."""
        runner = self.runner
        return runner.graph if isinstance(runner, TimeloomRunner) else None

    async def on_unmount(self) -> None:
        # The checkpointer is closed by LoaderApp's handler, which Textual runs too.
        await self.runner.aclose()

    @property
    def location(self) -> str:
        """What is open, as the user would type it: a SQLite file as its plain path
        (not ``sqlite:////tmp/x.db``), other databases by their (masked) URL."""
        url = self.checkpointer.url
        return sqlite_path(url) or url

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
        title, message, details = actions.describe_error(error)
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

    @on(Worker.StateChanged)
    def _run_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group == RUN_GROUP:
            self.set_class(self.run_active, "-running")
            if not self.run_active:
                self._run_thread = None
            self._show_live()
            self.refresh_bindings()

    def live_threads(self) -> frozenset[str]:
        """The threads a run is known to be advancing: this app's own run, and
        followed threads that got a new checkpoint in the last :data:`LIVE_WINDOW`
        seconds. Any other thread with nodes due is idle."""
        now = time.monotonic()
        live = {t for t, seen in self._seen_live.items() if now - seen < LIVE_WINDOW}
        if self._run_thread is not None and self.run_active:
            live.add(self._run_thread)
        return frozenset(live)

    def _show_live(self) -> None:
        self.thread_list.set_live(self.live_threads())
        self._update_tree_title()

    # -- results -------------------------------------------------------------------

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

    @on(ThreadsCounted)
    @while_running
    def _threads_counted(self, message: ThreadsCounted) -> None:
        self._show_threads(message.total, keep=message.selected)
        if message.total == 0 and self.selected_thread is not None:
            self._close_thread("No thread matches the filter.")

    def _close_thread(self, notice: str) -> None:
        """Show no thread: what is on screen would not match what the list says."""
        self.selected_thread = None
        self.thread_info = None
        self.selected_meta = None
        self.checkpoint_tree.show_thread(None, None)
        pane = self.query_one("#tree-pane")
        pane.border_title = "Checkpoints"
        pane.border_subtitle = ""
        self.detail.show_nothing(notice)
        self.refresh_bindings()

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
        tree.add_page(message.generation, message.metas, message.exhausted)
        self._update_tree_title()  # the head's summary is loaded: where it stands
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
        self.refresh_bindings()
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
        if not message.select:  # follow saw another process write it
            self._seen_live[meta.thread_id] = time.monotonic()
            self.set_timer(LIVE_WINDOW, self._show_live)
            self._show_live()
        if meta.thread_id == tree.thread_id:
            tree.add_new([meta], head_id=max(meta.id, tree.head_id or ""))
            if message.select:
                tree.select(meta.id)
            elif self.following and tree.head_id is not None:
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
        self.refresh_threads(select=self._still_matching())

    def watch_status_filter(self) -> None:
        self.refresh_threads(select=self._still_matching())

    def _still_matching(self) -> str | None:
        """The open thread, if the filter keeps it: the cursor stays on it (and
        does not jump to whatever thread now has its row)."""
        info = self.thread_info
        if info is None:
            return None
        if self.search and not info.thread_id.startswith(self.search):
            return None
        if self.status_filter is not None and info.status != self.status_filter:
            return None
        return info.thread_id

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
        self.query_one("#selected-thread", Static).update(safe(thread_id or ""))
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
        self.query_one("#tree-pane").border_title = label(thread_id)
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

    # -- checkpoint actions (part 2) -----------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim the write actions that cannot run here (the help says why), and the
        checkpoint actions until a checkpoint is selected; hide "stop run" when no
        run is going."""
        if action in self._browse_actions and not self._on_main_screen:
            return False  # the diff and editor screens have keys of their own
        if action == "stop_run":
            return True if self.run_active else False
        if action in WRITE_ACTIONS and self.write_refusal(action) is not None:
            return None
        if action in CHECKPOINT_ACTIONS and self.selected_meta is None:
            return None
        return True

    def write_refusal(self, action: str) -> str | None:
        """Why the write ``action`` (edit, branch, resume) cannot run, or None."""
        for write_action in WRITE_KEYS.values():
            if write_action == action:
                return self.runner.refusal(write_action)
        return None

    def write_refusals(self) -> list[tuple[str, str]]:
        """``(action, why it is off)`` for each write action that cannot run."""
        found = []
        for key, action in WRITE_KEYS.items():
            reason = self.write_refusal(action)
            if reason is not None:
                found.append((f"{key} {action}", reason))
        return found

    @property
    def _on_main_screen(self) -> bool:
        return len(self.screen_stack) <= 1

    @property
    def _browse_actions(self) -> frozenset[str]:
        """The actions of the app's own keys (except help), by name."""
        return frozenset(
            b.action.split("(")[0]
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.action != "help"
        )

    @property
    def run_active(self) -> bool:
        """Whether a resumed run is going."""
        return any(w.group == RUN_GROUP and not w.is_finished for w in self.workers)

    def on_key(self, event: events.Key) -> None:
        # A refused write key is not bound (check_action); say why it did nothing.
        action = WRITE_KEYS.get(event.key)
        if (
            action is not None
            and self.selected_meta is not None
            and self._on_main_screen
        ):
            if self._refused(action):
                event.stop()

    def _refused(self, action: WriteAction) -> bool:
        reason = self.write_refusal(action)
        if reason is not None:
            self.notify(reason, title="Not available", severity="warning")
            return True
        return False

    def _needs_checkpoint(self) -> CheckpointMeta | None:
        meta = self.selected_meta
        if meta is None:
            self.notify("Select a checkpoint first.", title="No checkpoint")
        return meta

    async def _load_selected(self, meta: CheckpointMeta) -> Checkpoint:
        shown = self.detail.checkpoint
        if shown is not None and shown.id == meta.id:
            return shown
        checkpoint = await self.checkpointer.get(meta.thread_id, meta.id)
        if checkpoint is None:
            raise TimeloomError(
                f"Checkpoint {meta.id} is gone from {meta.thread_id!r}.",
                title="Checkpoint not found",
            )
        return checkpoint

    def action_mark(self) -> None:
        """Mark the selected checkpoint (or unmark it); the diff compares with it."""
        meta = self._needs_checkpoint()
        if meta is None:
            return
        if self.marked == meta.id:
            self.marked_meta = None
            self.marked = None
            self.notify("Mark cleared: d diffs against the parent again.")
            return
        self.marked_meta = meta
        self.marked = meta.id
        self.notify(
            f"{meta.thread_id} @ step {meta.step}: select another checkpoint "
            f"(in any thread) and press d to diff against it.",
            title="Marked",
        )

    def watch_marked(self, marked: str | None) -> None:
        badge = self.query_one("#mark-badge", Static)
        meta = self.marked_meta
        if marked is None or meta is None:
            badge.update("")
            badge.display = False
        else:
            badge.update(
                label(f"{MARKED} {meta.thread_id} @ {meta.step} {node_label(meta)}")
            )
            badge.tooltip = f"Marked checkpoint {meta.id}: d diffs against it"
            badge.display = True
        self.query_one(CheckpointTree).set_marked(marked)
        self._update_tree_title()

    def action_diff(self) -> None:
        """Diff the selected checkpoint against its parent or the marked one."""
        meta = self._needs_checkpoint()
        if meta is not None:
            self._open_diff(meta)

    @work(group="action", exit_on_error=False)
    async def _open_diff(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        against = self.marked if self.marked and self.marked != meta.id else None
        await self.push_screen(
            DiffScreen(checkpoint, checkpointer=self.checkpointer, against=against)
        )

    def action_edit(self) -> None:
        """Edit the selected checkpoint's values; saving writes an update."""
        if self._refused("edit"):
            return
        meta = self._needs_checkpoint()
        if meta is not None:
            self._edit(meta)

    def _editor(
        self, checkpoint: Checkpoint, *, confirm: str = "Save", text: str | None = None
    ) -> EditorScreen:
        runner = self.runner
        return EditorScreen(
            checkpoint,
            schema=runner.schema,
            nodes=list(runner.nodes),
            default_as_node=runner.default_as_node(checkpoint),
            reducers=runner.reducer_keys(),
            confirm=confirm,
            text=text,
        )

    @work(group="action", exit_on_error=False)
    async def _edit(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        text: str | None = None
        while True:
            request: EditRequest | None = await self.push_screen_wait(
                self._editor(checkpoint, text=text)
            )
            if request is None:
                return
            try:
                saved = await self.runner.edit(
                    checkpoint, request.edit, as_node=request.as_node
                )
                break
            except TimeloomError as error:
                # Writing failed (the head moved, the database refused...): the
                # editor opens again on the user's text; nothing typed is lost.
                title, message, _ = actions.describe_error(error)
                self.notify(message, title=f"{title}: nothing was saved", timeout=10)
                text = request.text
        self.post_message(CheckpointCommitted(saved.summary(), select=True))
        self.notify(
            f"Step {saved.step} of {saved.thread_id!r} holds the edited values; "
            f"step {checkpoint.step} is kept.",
            title="Edit saved",
        )

    def action_branch(self) -> None:
        """Fork the selected checkpoint into a new thread."""
        if self._refused("branch"):
            return
        meta = self._needs_checkpoint()
        if meta is not None:
            self._branch(meta)

    @work(group="action", exit_on_error=False)
    async def _branch(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        name = await actions.suggest_branch_name(self.checkpointer, meta.thread_id)
        request = await self.push_screen_wait(
            BranchScreen(checkpoint, name, offer_ancestry=self.runner.supports_ancestry)
        )
        if request is None:
            return
        edit: EditRequest | None = None
        if request.edit_first:
            edit = await self.push_screen_wait(
                self._editor(checkpoint, confirm="Branch")
            )
            if edit is None:
                self.notify("Nothing was branched.", title="Branch cancelled")
                return
        root = await self.runner.branch(
            checkpoint,
            request.thread_id,
            BranchOptions(
                edit=edit.edit if edit is not None else None,
                as_node=edit.as_node if edit is not None else None,
                ancestry=request.ancestry,
            ),
        )
        self.open_thread(root.thread_id, select=root.id)
        self.refresh_threads(select=root.thread_id)
        self.checkpoint_tree.focus()
        self.notify(
            f"{root.thread_id!r} starts at step {root.step}, a fork of "
            f"{meta.thread_id!r} step {meta.step}. Press r to run it on.",
            title="Branched",
        )

    def action_resume(self) -> None:
        """Run on from the selected checkpoint, asking for interrupt answers."""
        if self._refused("resume"):
            return
        meta = self._needs_checkpoint()
        if meta is None:
            return
        if self.run_active:
            self.notify("A run is going: x stops it.", title="Already running")
            return
        if not meta.next and not meta.has_interrupt and not meta.has_error:
            self.notify(
                f"Step {meta.step} of {meta.thread_id!r} has no nodes left to run: "
                f"the run finished there. Select an earlier checkpoint to run on "
                f"from it.",
                title="Nothing to resume",
            )
            return
        self._run_thread = meta.thread_id
        self._resume(meta)

    async def _ask(
        self, at: Checkpoint, interrupts: tuple[PendingWrite, ...]
    ) -> Answer | None:
        screen = ResumeScreen(at, interrupts)
        try:
            answer: Answer | None = await self.push_screen_wait(screen)
        except asyncio.CancelledError:  # "stop run" while the question is open
            if screen.is_active:
                screen.dismiss(None)
            raise
        return answer

    def _committed(self, checkpoint: Checkpoint) -> None:
        self.post_message(CheckpointCommitted(checkpoint.summary(), select=True))

    @work(group=RUN_GROUP, exclusive=True, exit_on_error=False)
    async def _resume(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        self.notify(f"Running {meta.thread_id!r} from step {meta.step}…")
        outcome = await self.runner.resume(
            checkpoint,
            ask=self._ask,
            on_checkpoint=self._committed,
        )
        count = len(outcome.committed)
        wrote = f"{count} new checkpoint{'' if count == 1 else 's'}"
        last = outcome.last
        if outcome.status == "done":
            self.notify(f"{wrote}; the run finished.", title="Done")
        elif outcome.status == "paused":
            waiting = ", ".join(w.node for w in last.interrupts) or "an interrupt"
            self.notify(
                f"{wrote}; paused at step {last.step}, waiting for {waiting}. "
                f"Press r to answer.",
                title="Paused",
            )
        else:
            self.notify(f"{wrote}; the run stopped at step {last.step}.")
        self._thread_changed(last.thread_id)
        if last.thread_id == self.selected_thread:
            # The run answered interrupts (or retried errors) of rows already drawn.
            self.open_thread(last.thread_id, select=last.id)

    def _thread_changed(self, thread_id: str) -> None:
        """Show the thread's new status and counts (after a run)."""
        self.refresh_threads(select=thread_id)
        self._reload_info(thread_id)

    @work(group="thread-info", exit_on_error=False)
    async def _reload_info(self, thread_id: str) -> None:
        info = await self.checkpointer.get_thread(thread_id)
        if info is not None and info.thread_id == self.selected_thread:
            self.thread_info = info
            self.checkpoint_tree.head_id = info.head_id
            self._update_tree_title()

    def action_stop_run(self) -> None:
        """Cancel the running resume (whole steps stay committed)."""
        if not self.run_active:
            self.notify("No run is going.")
            return
        self.workers.cancel_group(self, RUN_GROUP)
        self.notify(
            "Stopped. Steps already committed stay; r runs on from here.",
            title="Run stopped",
        )
        thread_id = self.selected_thread
        if thread_id is not None:
            self._thread_changed(thread_id)

    # -- help and palette ----------------------------------------------------------

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The key tables the help screen shows."""
        return help_sections(self)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Every action of the app, for the command palette."""
        return palette_commands(self)

    # -- helpers -------------------------------------------------------------------

    def _show_write_state(self) -> None:
        """Badges for what cannot be written (their tooltips say why)."""
        locked = self.write_refusal("edit") is not None
        self.set_class(locked, "-read-only")
        self.query_one("#readonly-badge").tooltip = self.write_refusal("edit")
        no_graph = not locked and self.write_refusal("resume") is not None
        self.set_class(no_graph, "-no-graph")
        self.query_one("#nograph-badge").tooltip = self.write_refusal("resume")
        self.refresh_bindings()

    def _update_tree_title(self) -> None:
        info = self.thread_info
        pane = self.query_one("#tree-pane")
        if info is None:
            return
        pane.border_title = label(info.thread_id)
        live = info.thread_id in self.live_threads()
        head = self.checkpoint_tree.meta_of(info.head_id)
        where = status_name(
            info.status, live=live, next_nodes=head.next if head is not None else ()
        )
        count = info.checkpoint_count
        parts = [
            f"{status_icon(info.status, live=live)} {where}",
            f"{count:,} checkpoint{'' if count == 1 else 's'}",
        ]
        if info.forked_from is not None:
            parts.append(f"{FORK_MARK} from {info.forked_from[0]}")
        mark = self.marked_meta
        if mark is not None and mark.thread_id == info.thread_id:
            parts.append(f"{MARKED} marked step {mark.step}")
        pane.border_subtitle = label(" · ".join(parts))

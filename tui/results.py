"""What the app does with its workers' results and its lists' requests.

The loaders (:mod:`timeloom.tui.loaders`) post what they read as messages; these
handlers put it on screen: the threads list's pages, a thread's checkpoint pages and
forks, the selected checkpoint, and new checkpoints (written by this app or, when
following, by another process).
"""

from __future__ import annotations

import time

from textual import on
from textual.timer import Timer
from textual.widgets import Static

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui import subgraphing
from timeloom.tui.loaders import LOADING_NOTICE_DELAY, while_running
from timeloom.tui.messages import (
    CheckpointCommitted,
    CheckpointLoaded,
    ForksFound,
    HistoryPage,
    ThreadOpened,
    ThreadsCounted,
    ThreadsPage,
)
from timeloom.tui.ops.plural import counted
from timeloom.tui.selection import LIVE_WINDOW, SelectionApp
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.thread_list import ThreadList


class ResultHandlers(SelectionApp):
    """Shows what the loaders read, and asks them for the next page."""

    _loading_timer: Timer | None = None
    """Shows "loading" in the detail pane if the selected checkpoint is slow."""
    _refresh_timer_armed = False
    """Whether the threads list refreshes soon (once for a burst of commits)."""

    @on(ThreadsCounted)
    @while_running
    def _threads_counted(self, message: ThreadsCounted) -> None:
        self._show_threads(message.total, keep=message.selected)
        if message.total == 0 and self.selected_thread is not None:
            self._close_thread("No thread matches the filter.")

    def _show_threads(self, total: int, keep: str | None = None) -> None:
        """Restart the threads list at ``total`` rows (pages load as they show)."""
        self.thread_list.reset(total, keep=keep)
        filtered = "matching " if self.search or self.status_filter else ""
        self.query_one("#counts", Static).update(counted(total, f"{filtered}thread"))

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
        subgraphing.load(self, message.info.thread_id)
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

    def watch_selected_meta(self, meta: CheckpointMeta | None) -> None:
        if meta is not None:
            self._load_checkpoint(meta.thread_id, meta.id)

    @on(CheckpointLoaded)
    @while_running
    def _checkpoint_loaded(self, message: CheckpointLoaded) -> None:
        checkpoint = message.checkpoint
        if checkpoint.id != self.selected_checkpoint:
            return
        self._stop_loading_notice()
        meta = self.selected_meta
        self.detail.show_checkpoint(checkpoint, meta)
        subgraphing.note(self, checkpoint)
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

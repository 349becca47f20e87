"""What the app has selected and the panes that show it: the base of the app's parts.

:class:`SelectionApp` holds the selection (the open thread, the selected checkpoint's
summary, the mark, follow mode), the runner behind the write actions, which threads
are live, and the three panes. The app's parts (:mod:`~timeloom.tui.results`,
:mod:`~timeloom.tui.navigation`, :mod:`~timeloom.tui.writing`) build on it, and
:class:`~timeloom.tui.app.TimeloomApp` puts them together.
"""

from __future__ import annotations

import time
from typing import Final

from textual.reactive import reactive

from timeloom.backends.urls import sqlite_path
from timeloom.core.checkpoint import CheckpointMeta, ThreadInfo
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.runtime import CompiledGraph
from timeloom.tui.loaders import RUN_GROUP, LoaderApp
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.runners.base import Runner
from timeloom.tui.ops.runners.native import TimeloomRunner
from timeloom.tui.ops.subgraphs import breadcrumb, is_subgraph
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.detail import DetailPane
from timeloom.tui.widgets.formatting import (
    FORK_MARK,
    MARKED,
    SUBGRAPH_MARK,
    status_icon,
    status_name,
)
from timeloom.tui.widgets.labels import label
from timeloom.tui.widgets.thread_list import ThreadList

LIVE_WINDOW: Final = 10.0
"""Seconds a followed thread counts as running after its last new checkpoint."""


class SelectionApp(LoaderApp):
    """An app around a checkpointer with a selected thread and checkpoint."""

    selected_thread: reactive[str | None] = reactive(None, init=False)
    """The thread shown in the checkpoint tree."""
    selected_meta: reactive[CheckpointMeta | None] = reactive(
        None, init=False, always_update=True
    )
    """The summary of the checkpoint shown in the detail pane (the detail pane
    loads the checkpoint when this is set)."""
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
            runtime with ``graph``); see :mod:`timeloom.tui.ops.runners`.
        close_on_exit: call the checkpointer's ``aclose()`` when the app ends.
        """
        super().__init__(checkpointer, close_on_exit=close_on_exit)
        self.runner: Runner = runner or TimeloomRunner(checkpointer, graph)
        self.marked_meta: CheckpointMeta | None = None
        """The summary of the marked checkpoint."""
        self.thread_info: ThreadInfo | None = None
        """The summary of the selected thread."""
        self._run_thread: str | None = None
        self._seen_live: dict[str, float] = {}
        """Followed threads and when follow last saw a new checkpoint in them."""

    @property
    def selected_checkpoint(self) -> str | None:
        """The id of the selected checkpoint, if any."""
        meta = self.selected_meta
        return meta.id if meta is not None else None

    @property
    def graph(self) -> CompiledGraph | None:
        """The Timeloom graph behind the write actions, if any."""
        runner = self.runner
        return runner.graph if isinstance(runner, TimeloomRunner) else None

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

    @property
    def run_active(self) -> bool:
        """Whether a resumed run is going."""
        return any(w.group == RUN_GROUP and not w.is_finished for w in self.workers)

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

    def open_thread(self, thread_id: str, select: str | None = None) -> None:
        """Show a thread in the tree, its head selected (or ``select``)."""
        self.selected_thread = thread_id
        self.thread_info = None
        self.selected_meta = None
        tree = self.checkpoint_tree
        generation = tree.show_thread(thread_id, None)
        self.query_one("#tree-pane").border_title = label(breadcrumb(thread_id))
        self.query_one("#tree-pane").border_subtitle = "loading…"
        self.detail.show_nothing("Loading…")
        self._load_thread(thread_id, generation, select)

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

    def _update_tree_title(self) -> None:
        info = self.thread_info
        pane = self.query_one("#tree-pane")
        if info is None:
            return
        pane.border_title = label(breadcrumb(info.thread_id))
        live = info.thread_id in self.live_threads()
        head = self.checkpoint_tree.meta_of(info.head_id)
        where = status_name(
            info.status, live=live, next_nodes=head.next if head is not None else ()
        )
        count = info.checkpoint_count
        parts = [
            f"{status_icon(info.status, live=live)} {where}",
            counted(count, "checkpoint"),
        ]
        if info.forked_from is not None:
            parts.append(f"{FORK_MARK} from {info.forked_from[0]}")
        if is_subgraph(info.thread_id):
            parts.append(f"{SUBGRAPH_MARK} i: out")
        mark = self.marked_meta
        if mark is not None and mark.thread_id == info.thread_id:
            parts.append(f"{MARKED} marked step {mark.step}")
        pane.border_subtitle = label(" · ".join(parts))

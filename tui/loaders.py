"""The app's database side: the checkpointer and the workers that read it.

:class:`LoaderApp` is the base of the Timeloom app. Every database call is an async
worker here; each posts its result as a message (:mod:`timeloom.tui.messages`) that
the app turns into what is on screen. Workers are grouped, and the app routes a
failed worker to the user by its group (startup-fatal, dialog or notification).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Final, TypeVar

from textual import work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.reactive import reactive

from timeloom.core.checkpoint import CheckpointMeta, ThreadStatus
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import CheckpointNotFound, TimeloomError
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
from timeloom.tui.ops.safetext import safe, safe_lines
from timeloom.tui.widgets.thread_list import PAGE_SIZE

HISTORY_PAGE: Final = 500
"""Checkpoint summaries fetched per request."""

FIRST_PAGE: Final = 100
"""Summaries fetched when a thread opens: a few screens, so it shows at once; the
rest pages in as the cursor goes down."""

LOADING_NOTICE_DELAY: Final = 0.3
"""Seconds a checkpoint may take to load before the detail pane says it is loading."""

FATAL_GROUP: Final = "startup"
RUN_GROUP: Final = "run"
"""The worker group of a resumed run (one at a time; "stop run" cancels it)."""
DIALOG_GROUPS: Final = frozenset({"threads", "history", "action", RUN_GROUP})
"""Worker groups whose failure interrupts the user with a dialog; others notify.
Write actions run in ``action`` (edit, branch, diff) and ``run`` (resume)."""


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def while_running(handler: _Handler) -> _Handler:
    """Drop results (and timers) that arrive while the app shuts down: its widgets
    are gone by then."""

    @wraps(handler)
    def guarded(self: App[None], *args: object) -> None:
        if self.is_running:
            handler(self, *args)

    return guarded  # type: ignore[return-value]


class LoaderApp(App[None]):
    """An app around a checkpointer, with a worker for every read the UI needs."""

    search: reactive[str] = reactive("", init=False)
    """The thread id prefix filter."""
    status_filter: reactive[ThreadStatus | None] = reactive(None, init=False)
    """Only threads with this status (``None``: all)."""

    def __init__(
        self, checkpointer: BaseCheckpointer, *, close_on_exit: bool = True
    ) -> None:
        """Args:
        checkpointer: what to browse; the app calls its ``setup()``.
        close_on_exit: call the checkpointer's ``aclose()`` when the app ends.
        """
        super().__init__()
        self.checkpointer = checkpointer
        self.close_on_exit = close_on_exit
        self.fatal_error: TimeloomError | None = None
        """Why the database could not be opened (the app then exits with code 2)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification; its text is shown as it is, never read as markup.

        Notifications carry data (thread ids, error messages from the database),
        so every one is made safe (:mod:`timeloom.tui.ops.safetext`), whoever sends it.
        """
        super().notify(
            safe_lines(message),
            title=safe(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    async def on_unmount(self) -> None:
        if self.close_on_exit:
            try:
                await self.checkpointer.aclose()
            except TimeloomError:
                pass  # closing a lost connection: nothing left to tell the user

    @work(exclusive=True, group=FATAL_GROUP, exit_on_error=False)
    async def _open_database(self) -> None:
        await self.checkpointer.setup()
        total = await self.checkpointer.count_threads()
        self.post_message(DatabaseOpened(total))

    @work(exclusive=True, group="threads", exit_on_error=False)
    async def refresh_threads(self, select: str | None = None) -> None:
        """Count the threads matching the filter and restart the list."""
        total = await self.checkpointer.count_threads(
            search=self.search or None, status=self.status_filter
        )
        self.post_message(ThreadsCounted(total, select))

    @work(group="thread-pages", exit_on_error=False)
    async def _load_thread_page(self, generation: int, offset: int) -> None:
        threads = await self.checkpointer.threads(
            search=self.search or None,
            status=self.status_filter,
            limit=PAGE_SIZE,
            offset=offset,
        )
        self.post_message(ThreadsPage(generation, offset, threads))

    @work(exclusive=True, group="history", exit_on_error=False)
    async def _load_thread(
        self, thread_id: str, generation: int, select: str | None
    ) -> None:
        info = await self.checkpointer.get_thread(thread_id)
        if info is None:
            raise CheckpointNotFound(
                f"There is no thread {thread_id!r} (it may have been deleted).",
                title="Thread not found",
            )
        metas, exhausted = await self._history_until(thread_id, None, select)
        self.post_message(ThreadOpened(info, generation, metas, exhausted, select))

    @work(exclusive=True, group="history-more", exit_on_error=False)
    async def _load_more(
        self, thread_id: str, generation: int, before: str, select: str | None = None
    ) -> None:
        metas, exhausted = await self._history_until(thread_id, before, select)
        self.post_message(HistoryPage(thread_id, generation, metas, exhausted, select))

    async def _history_until(
        self, thread_id: str, before: str | None, select: str | None
    ) -> tuple[list[CheckpointMeta], bool]:
        """Load one page older than ``before``; more pages until ``select`` is in."""
        metas: list[CheckpointMeta] = []
        limit = FIRST_PAGE if before is None and select is None else HISTORY_PAGE
        while True:
            page = [
                meta
                async for meta in self.checkpointer.summaries(
                    thread_id, before=before, limit=limit
                )
            ]
            metas += page
            exhausted = len(page) < limit
            # Ids are time-ordered: once past the target, it is loaded or absent.
            if exhausted or select is None or page[-1].id <= select:
                return metas, exhausted
            before = page[-1].id
            limit = HISTORY_PAGE

    @work(group="forks", exit_on_error=False)
    async def _load_forks(self, thread_id: str, ids: list[str]) -> None:
        forks: dict[str, list[CheckpointMeta]] = {}
        by_thread = getattr(self.checkpointer, "forks", None)
        if by_thread is not None:  # the LangGraph reader: one query per thread
            found: dict[str, list[CheckpointMeta]] = await by_thread(thread_id)
            self.post_message(ForksFound(thread_id, {i: found.get(i, []) for i in ids}))
            return
        for checkpoint_id in ids:
            children = await self.checkpointer.children(checkpoint_id)
            forks[checkpoint_id] = [c for c in children if c.thread_id != thread_id]
        self.post_message(ForksFound(thread_id, forks))

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def _load_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        checkpointer = self.checkpointer
        checkpoint = await checkpointer.with_subgraph_links(
            await checkpointer.get(thread_id, checkpoint_id)
        )
        if checkpoint is None:
            raise CheckpointNotFound(
                f"Checkpoint {checkpoint_id} is gone from {thread_id!r}.",
                title="Checkpoint not found",
            )
        self.post_message(CheckpointLoaded(checkpoint))

    @work(exclusive=True, group="follow", exit_on_error=False)
    async def _follow(self, thread_id: str | None) -> None:
        async for meta in self.checkpointer.watch(thread_id):
            self.post_message(CheckpointCommitted(meta))

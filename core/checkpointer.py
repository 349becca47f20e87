"""The checkpointer protocol: how the runtime and the TUI talk to storage.

Every backend (memory, SQLite, Postgres, the LangGraph reader) implements
:class:`BaseCheckpointer`, so every view and every runtime feature works on each.
All methods are ``async``; the runtime's sync API drives them from its own event loop
thread, so a backend must tolerate being awaited from more than one event loop over
its life (one at a time; e.g. a connection pool per loop).

Conventions:

- "Not found" returns ``None``; everything else raises a
  :class:`~timeloom.core.errors.TimeloomError` subclass, never a driver exception.
- Lists are newest first unless a method says otherwise.
- A read-only checkpointer raises :class:`~timeloom.core.errors.ReadOnlyError` from
  every write method, and is enforced by the database where the backend can.

LangGraph's saver API (``get_tuple``, ``list``, ``put_writes``, ``delete_thread``
and their async twins), which LangGraph programs and tests call on
``graph.checkpointer``, is written once here over the protocol, so every backend
answers it (see :mod:`timeloom.core.checkpoint_tuple` for the shapes).
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpoint_tuple import (
    CheckpointTuple,
    checkpoint_tuple,
    writes_of_task,
)
from timeloom.core.config import RunConfig
from timeloom.core.errors import CheckpointNotFound, ConfigError, ReadOnlyError
from timeloom.core.ids import id_floor_for_ms, id_time_ms, now_ms
from timeloom.core.namespaces import NS_SEP, PARENTS, SUBGRAPHS, split_timeline
from timeloom.core.sync import iterate_sync, run_sync

_ALL = 1_000_000
"""A page size that means "all" (a thread's subgraph timelines)."""


class BaseCheckpointer(ABC):
    """Stores checkpoints; the one interface between the runtime, the TUI and storage.

    Use it as an async context manager (``async with SqliteCheckpointer(p) as cp:``),
    or call :meth:`setup` and :meth:`aclose` yourself. The runtime calls ``setup()``
    on first use, so ``graph.compile(checkpointer=SqliteCheckpointer("x.db"))`` works
    without either.
    """

    read_only: bool = False
    """Whether writes are refused (and, where possible, enforced by the database)."""

    warnings: Sequence[str] = ()
    """What the user should know about how the database was opened (e.g. a read-only
    fallback that cannot see a live writer's changes). Shown by the TUI."""

    @property
    @abstractmethod
    def url(self) -> str:
        """What is open, safe to display: a path or a DSN with any password masked."""

    # -- lifecycle ---------------------------------------------------------------

    @abstractmethod
    async def setup(self) -> None:
        """Connect, and create or migrate the schema when writable. Idempotent."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections. Idempotent."""

    async def __aenter__(self) -> Self:
        await self.setup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def allow_types(self, types: Iterable[type]) -> None:  # noqa: B027 - optional hook
        """Let the codec revive these application classes when it reads them.

        Reading never imports anything named in the data: a class the codec has not
        been given decodes to an inert value that shows its type name and fields. The
        runtime passes the classes named in a graph's state schema at ``compile()``.
        """

    # -- writes --------------------------------------------------------------------

    @abstractmethod
    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        """Commit a checkpoint and move its thread's head to it, atomically.

        Args:
            checkpoint: the checkpoint; its ``pending_writes`` are ignored.
            expected_head: the head the writer last saw: ``None`` for a thread that
                must not exist yet.

        Raises:
            ConflictError: the thread's head is not ``expected_head`` (another writer
                advanced it); nothing was written.
            SerializationError: a value cannot be encoded (the error names its path).
            ReadOnlyError: the checkpointer is read-only.
        """

    def last_committed(self, thread_id: str) -> Checkpoint | None:
        """The thread's head as this checkpointer last committed it, read from
        memory (no database round trip), or ``None`` if it does not know.

        It may be stale: another writer may have moved the thread since. A run
        with a new input starts from it, commits its input checkpoint expecting it
        as the head before running any node, and on a conflict reads the real head
        and starts again. Its ``pending_writes`` are left empty (a new input does
        not use them). This default knows nothing, which is right where reading
        the head is cheap (SQLite reads it in microseconds, and starting without
        it would commit the input checkpoint on its own, one transaction more
        with ``durability="async"``); Postgres saves a round trip with it.
        """
        return None

    def stage(self, checkpoint: Checkpoint) -> Checkpoint:
        """Capture a checkpoint now, for a :meth:`put_many` that comes later.

        A run in ``durability="async"`` goes on while its checkpoints wait to be
        committed, and its nodes may change, in place, objects the values hold. The
        runtime calls this as it makes each checkpoint and later commits what it
        returns, which must not change with them. The backends encode the
        checkpoint here (and commit those bytes); this default takes a deep copy
        of the values.
        """
        return dataclasses.replace(
            checkpoint, values=copy.deepcopy(dict(checkpoint.values))
        )

    async def put_many(
        self, checkpoints: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        """Commit a chain of checkpoints of one thread: each the child of the one
        before, the first expecting ``expected_head``; the head ends on the last.

        What a run in ``durability="async"`` writes when steps got ahead of the
        commits. This default puts them one by one (a conflict stops it after the
        ones already committed); the SQL backends commit the whole chain at once,
        in one transaction (all or nothing) and one round trip.

        Raises:
            ConflictError: the thread's head is not ``expected_head``.
        """
        head = expected_head
        for checkpoint in checkpoints:
            await self.put(checkpoint, expected_head=head)
            head = checkpoint.id

    @abstractmethod
    async def put_pending(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[PendingWrite]
    ) -> None:
        """Record pending writes on an existing checkpoint (appended to earlier ones).

        Raises:
            CheckpointNotFound: no such checkpoint in that thread.
        """

    @abstractmethod
    async def adelete_thread(self, thread_id: str) -> None:
        """Delete a thread and its checkpoints with its subgraphs' timelines (every
        ``"thread|..."``), all or nothing, as LangGraph's ``adelete_thread`` deletes
        every namespace of the thread. Checkpoints forked from them elsewhere keep
        their values; their parent link then dangles (shown as such)."""

    def delete_thread(self, thread_id: str) -> None:
        """:meth:`adelete_thread`, from synchronous code (LangGraph's
        ``delete_thread``)."""
        run_sync(self.adelete_thread(thread_id))

    @abstractmethod
    async def prune(
        self,
        thread_id: str,
        *,
        keep_last: int | None = None,
        older_than: datetime | None = None,
    ) -> int:
        """Delete old checkpoints of a thread; return how many were deleted.

        A checkpoint is kept if it is among the ``keep_last`` newest, or not older
        than ``older_than``, or is the head, or is a fork point (another checkpoint,
        in any thread, has it as parent and is kept), or carries an unanswered
        interrupt. Everything a kept checkpoint needs to be read stays readable.
        """

    # -- reads ---------------------------------------------------------------------

    @abstractmethod
    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        """Return a checkpoint with its values and pending writes.

        Args:
            thread_id: the thread; ``None`` to find ``checkpoint_id`` in any thread.
            checkpoint_id: the checkpoint; ``None`` for the thread's head.
        """

    @abstractmethod
    def summaries(
        self,
        thread_id: str,
        *,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[CheckpointMeta]:
        """Yield a thread's checkpoint summaries (no values), newest first.

        Args:
            before: only checkpoints whose id sorts before this one (paging).
            limit: at most this many.
            filter: only checkpoints whose metadata has these key/value pairs;
                the keys ``source`` and ``step`` match those fields.
        """

    @abstractmethod
    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        """Return one thread's summary."""

    @abstractmethod
    async def threads(
        self,
        *,
        search: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[ThreadInfo]:
        """Return a page of threads, most recently updated first.

        Args:
            search: only threads whose id starts with this prefix. Subgraph
                timelines (``"thread|ns"``) are listed only by a search that
                names them (``"thread|"``); otherwise only root timelines.
            status: only threads with this status.
            metadata: only threads whose head metadata has these key/value pairs.
            limit: page size.
            offset: how many matching threads to skip.
        """

    @abstractmethod
    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        """Count the threads :meth:`threads` would page through."""

    async def subgraphs(self, thread_id: str) -> builtins.list[ThreadInfo]:
        """The subgraph timelines (``"thread|ns"``, nested ones too) of a thread,
        most recently updated first."""
        return await self.threads(search=f"{thread_id}{NS_SEP}", limit=_ALL)

    async def with_subgraph_links(
        self, checkpoint: Checkpoint | None
    ) -> Checkpoint | None:
        """``checkpoint`` with ``metadata["timeloom.subgraphs"]``: the timelines
        directly below its own whose checkpoints ran from it (their metadata
        ``parents``), as the LangGraph reader names them. Only a checkpoint with
        nodes due can have run any, and only a thread with subgraph timelines.

        Not part of :meth:`get`: it lists the thread's subgraph timelines, a
        query that would double the cost of every read; what shows a checkpoint
        to a person (the TUI's detail pane) asks for it."""
        if checkpoint is None or not checkpoint.next:
            return checkpoint
        own = checkpoint.thread_id
        ns = split_timeline(own)[1]
        ran = []
        for info in await self.subgraphs(own):
            rest = info.thread_id[len(own) + 1 :].split(NS_SEP)
            if info.head_id < checkpoint.id or not all(p.isdigit() for p in rest[1:]):
                continue  # older than it (ids sort by time), or not directly below
            async for meta in self.summaries(info.thread_id):
                if meta.id < checkpoint.id:
                    break
                if (meta.metadata.get(PARENTS) or {}).get(ns) == checkpoint.id:
                    ran.append(info.thread_id)
                    break
        if not ran:
            return checkpoint
        metadata = {**checkpoint.metadata, SUBGRAPHS: sorted(ran)}
        return dataclasses.replace(checkpoint, metadata=metadata)

    @abstractmethod
    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        """Return the checkpoints, in any thread, whose parent is ``checkpoint_id``."""

    @abstractmethod
    async def recent(
        self,
        *,
        after: str | None = None,
        thread_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[CheckpointMeta]:
        """Return checkpoints whose id sorts after ``after``, oldest first.

        The building block of live follow; ``after=None`` starts from the beginning.
        """

    # -- LangGraph's saver API: what programs and tests call on a saver ---------------

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """:meth:`aget_tuple`, from synchronous code (LangGraph's ``get_tuple``)."""
        return run_sync(self.aget_tuple(config))

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, in LangGraph's ``CheckpointTuple`` shape
        (see :mod:`timeloom.core.checkpoint_tuple`); ``None`` if there is none.

        Args:
            config: ``{"configurable": {"thread_id", "checkpoint_ns"?,
                "checkpoint_id"?}}``; without a checkpoint id, the thread's head.

        Raises:
            ConfigError: the config names no thread.
        """
        cfg = RunConfig.parse(config)
        checkpoint = await self.get(_thread_of(cfg), cfg.checkpoint_id)
        return None if checkpoint is None else checkpoint_tuple(checkpoint)

    async def aget(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """LangGraph's ``aget``: the ``checkpoint`` of :meth:`aget_tuple`."""
        found = await self.aget_tuple(config)
        return None if found is None else found.checkpoint

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """:meth:`aput_writes`, from synchronous code (LangGraph's ``put_writes``)."""
        run_sync(self.aput_writes(config, writes, task_id, task_path))

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Record one task's writes on the checkpoint ``config`` names, as
        LangGraph's ``aput_writes``: what the task would leave if its step did not
        complete (see :func:`~timeloom.core.checkpoint_tuple.writes_of_task`).

        Args:
            config: the checkpoint (``thread_id``, ``checkpoint_id``).
            writes: ``(channel, value)`` pairs.
            task_id: one of the checkpoint's tasks (``get_state(config).tasks``).
            task_path: LangGraph's task path; the task id already names it.

        Raises:
            ConfigError: no thread or checkpoint id, or a write Timeloom cannot
                record (see ``writes_of_task``).
            CheckpointNotFound: no such checkpoint in that thread.
        """
        cfg = RunConfig.parse(config)
        thread = _thread_of(cfg)
        if cfg.checkpoint_id is None:
            raise ConfigError(
                "put_writes needs the checkpoint's config, with its checkpoint_id",
                title="No checkpoint id",
            )
        checkpoint = await self.get(thread, cfg.checkpoint_id)
        if checkpoint is None:
            raise CheckpointNotFound(f"No checkpoint {cfg.checkpoint_id} in {thread!r}")
        pending = writes_of_task(checkpoint, task_id, writes)
        if pending:
            await self.put_pending(thread, checkpoint.id, pending)

    def list(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """:meth:`alist`, from synchronous code (LangGraph's ``list``)."""
        return iterate_sync(
            self.alist(config, filter=filter, before=before, limit=limit)
        )

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Yield checkpoints as LangGraph's ``CheckpointTuple``, newest first, as
        LangGraph's ``alist``.

        Args:
            config: a thread (``{"configurable": {"thread_id"}}``): its checkpoints
                and its subgraphs'; with ``checkpoint_ns``, that namespace's only;
                with ``checkpoint_id``, that checkpoint only. ``None``: every
                thread, most recently updated first, each newest first.
            filter: only checkpoints whose metadata has these key/value pairs.
            before: only checkpoints older than the one this config names.
            limit: at most this many.
        """
        before_id = RunConfig.parse(before).checkpoint_id if before else None
        only = RunConfig.parse(config).checkpoint_id if config else None
        count = 0
        async for timelines in self._listed_timelines(config):
            histories = [
                self.summaries(t, before=before_id, filter=filter) for t in timelines
            ]
            async for meta in _newest_first(histories):
                if limit is not None and count >= limit:
                    return
                if only is not None and meta.id != only:
                    continue
                checkpoint = await self.get(meta.thread_id, meta.id)
                if checkpoint is not None:
                    count += 1
                    yield checkpoint_tuple(checkpoint)

    async def _listed_timelines(
        self, config: Mapping[str, Any] | None
    ) -> AsyncIterator[builtins.list[str]]:
        """The timelines :meth:`alist` reads, a thread's together (its root and
        its subgraphs', whose checkpoints interleave in time)."""
        if config is not None:
            cfg = RunConfig.parse(config)
            thread = _thread_of(cfg)
            if "checkpoint_ns" in (config.get("configurable") or {}):
                yield [thread]
            else:
                yield [thread, *[i.thread_id for i in await self.subgraphs(thread)]]
            return
        offset = 0
        while page := await self.threads(limit=_THREAD_PAGE, offset=offset):
            for info in page:
                below = await self.subgraphs(info.thread_id)
                yield [info.thread_id, *[i.thread_id for i in below]]
            offset += len(page)

    async def watch(
        self, thread_id: str | None = None, *, poll_interval: float = 0.25
    ) -> AsyncIterator[CheckpointMeta]:
        """Yield checkpoints committed from now on (by any process), oldest first.

        One loop for every backend: look back a little (ids from different
        processes are only ordered to the millisecond), page through
        :meth:`recent`, skip what was already yielded, then wait for a change.
        The wait polls every ``poll_interval`` unless the backend is told of
        commits (see :meth:`_change_waiter`).
        """
        waiter = await self._change_waiter(thread_id, poll_interval)
        try:
            await waiter.arm()
            last = self._id_floor(now_ms())
            # What was committed just before the watch started is not "from now on".
            seen = {
                m.id: None async for m in self._since(self._lookback(last), thread_id)
            }
            while True:
                await waiter.wait()
                await waiter.arm()
                async for meta in self._since(self._lookback(last), thread_id):
                    if meta.id in seen:
                        continue
                    seen[meta.id] = None
                    last = max(last, meta.id)
                    yield meta
                while len(seen) > 10_000:
                    seen.pop(next(iter(seen)))
        finally:
            await waiter.aclose()

    _watch_page: int = 1000
    """Summaries per :meth:`recent` call while following."""

    async def _since(
        self, after: str, thread_id: str | None
    ) -> AsyncIterator[CheckpointMeta]:
        """Every checkpoint after ``after``, oldest first, fetched page by page (a
        burst pages on from its last id, never from the look-back point again)."""
        page = self._watch_page
        while True:
            batch = await self.recent(after=after, thread_id=thread_id, limit=page)
            for meta in batch:
                yield meta
            if len(batch) < page:
                return
            after = batch[-1].id

    async def _change_waiter(
        self, thread_id: str | None, poll_interval: float
    ) -> ChangeWaiter:
        """How :meth:`watch` waits between looks: this default sleeps
        ``poll_interval``; a backend told of commits wakes on them instead."""
        return ChangeWaiter(poll_interval)

    def _id_floor(self, ms: int) -> str:
        """The smallest id of a checkpoint created at ``ms`` (Unix milliseconds)."""
        return id_floor_for_ms(ms)

    def _lookback(self, checkpoint_id: str) -> str:
        """An id a little (2 s) before ``checkpoint_id``, to catch out-of-order
        commits."""
        return self._id_floor(id_time_ms(checkpoint_id) - _LOOKBACK_MS)

    def _check_writable(self) -> None:
        """Raise :class:`ReadOnlyError` if this checkpointer is read-only."""
        if self.read_only:
            raise ReadOnlyError(
                f"{self.url} is open read-only; reopen it without --read-only to write.",
                title="Read-only database",
            )


_LOOKBACK_MS = 2_000

_THREAD_PAGE = 100
"""Threads per :meth:`BaseCheckpointer.threads` call when listing every thread."""


def _thread_of(cfg: RunConfig) -> str:
    """The timeline a LangGraph-shaped config names (``"thread|ns"`` with a
    ``checkpoint_ns``)."""
    if cfg.thread_id is None:
        raise ConfigError(
            'The config names no thread: pass {"configurable": {"thread_id": ...}}',
            title="No thread id",
        )
    return cfg.thread_id


async def _newest_first(
    histories: Sequence[AsyncIterator[CheckpointMeta]],
) -> AsyncIterator[CheckpointMeta]:
    """Merge histories that are each newest first into one (ids sort by time)."""
    heads: dict[int, CheckpointMeta] = {}
    try:
        for i, history in enumerate(histories):
            if (first := await anext(history, None)) is not None:
                heads[i] = first
        while heads:
            i = max(heads, key=lambda k: heads[k].id)
            yield heads.pop(i)
            if (following := await anext(histories[i], None)) is not None:
                heads[i] = following
    finally:
        for history in histories:
            aclose = getattr(history, "aclose", None)
            if aclose is not None:
                await aclose()


class ChangeWaiter:
    """How a :meth:`BaseCheckpointer.watch` waits for commits: this one polls.

    The watch calls :meth:`arm` before each look at :meth:`~BaseCheckpointer.recent`
    (so a change announced during the look is not lost), :meth:`wait` between
    looks, and :meth:`aclose` when it ends.
    """

    def __init__(self, poll_interval: float) -> None:
        self.poll_interval = poll_interval

    async def arm(self) -> None:
        """Get ready to be told of commits made from now on."""

    async def wait(self) -> None:
        """Return when there may be something new to look at."""
        await asyncio.sleep(self.poll_interval)

    async def aclose(self) -> None:
        """Release what :meth:`arm` acquired."""

"""Reading and writing a thread's state outside a run: ``get_state``, history
(read by :mod:`timeloom.core.history`), ``update_state`` and ``fork``, and what
running and these share (loading a checkpoint, committing one).

:class:`StateAccess` is the half of :class:`~timeloom.core.runtime.CompiledGraph`
that does not run nodes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from timeloom.core.as_node import infer_writer
from timeloom.core.bulk_update import bulk_update
from timeloom.core.checkpoint import Checkpoint, PendingWrite, Source, new_checkpoint
from timeloom.core.config import RunConfig, make_config, merge_configs
from timeloom.core.constants import COPY, START, WAITING
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    InvalidUpdateError,
    SerializationError,
)
from timeloom.core.history import history, state_at
from timeloom.core.interrupts import Command
from timeloom.core.namespaces import NS_SEP, PARENTS
from timeloom.core.sends import Send, next_of, sends_of, with_sends
from timeloom.core.snapshot import StateSnapshot, to_snapshot
from timeloom.core.state import ROOT, grouped_writes, is_pairs, plain_overwrites
from timeloom.core.subgraphs import owner, timeline_configs
from timeloom.core.sync import iterate_sync, run_sync
from timeloom.core.untracked import stored, stored_writes
from timeloom.core.writer import RunState

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.graph import NodeSpec
    from timeloom.core.routing import Router
    from timeloom.core.state import StateSchema


class StateAccess:
    """State access and time travel of a compiled graph (set up by its ``__init__``)."""

    checkpointer: BaseCheckpointer | None
    schema: StateSchema
    nodes: dict[str, NodeSpec]
    config: dict[str, Any] | None
    _router: Router
    _ready: bool
    _untracked: frozenset[str]
    """The state's keys never stored (:mod:`timeloom.core.untracked`)."""

    def _bound(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """``config`` over the config :meth:`with_config` bound, if any."""
        return merge_configs(self.config, config) if self.config else config

    async def _ensure_ready(self) -> None:
        if not self._ready and self.checkpointer is not None:
            await self.checkpointer.setup()
            self._ready = True

    def _require_thread(self, cfg: RunConfig) -> str:
        if cfg.thread_id is None:
            raise ConfigError(
                'A graph with a checkpointer needs a thread id: pass config={"configurable": '
                '{"thread_id": "..."}} (or {"thread_id": "..."})',
                title="Missing thread_id",
            )
        return cfg.thread_id

    async def _load(self, thread_id: str, checkpoint_id: str) -> Checkpoint:
        assert self.checkpointer is not None
        found = await self.checkpointer.get(thread_id, checkpoint_id)
        if found is not None:
            return found
        elsewhere = await self.checkpointer.get(None, checkpoint_id)
        if elsewhere is not None:
            raise CheckpointNotFound(
                f"Checkpoint {checkpoint_id} belongs to thread {elsewhere.thread_id!r}, "
                f"not {thread_id!r}; to continue it in {thread_id!r}, fork it first "
                f"(update_state or fork with the new thread id)"
            )
        raise CheckpointNotFound(
            f"No checkpoint {checkpoint_id} in thread {thread_id!r}"
        )

    # -- state access and time travel --------------------------------------------------

    def get_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """The thread's state at its head, or at the config's checkpoint (a
        subgraph's, with ``checkpoint_ns``).

        As LangGraph's: the head is shown as of now (a paused or failed step's
        finished tasks' updates applied, ``next`` only the tasks still due, only
        unanswered questions); a checkpoint named by id as its step started.

        Args:
            subgraphs: give each task that ran a subgraph that subgraph's state
                in ``tasks[i].state`` (else a subgraph node's timeline config).
        """
        return run_sync(self.aget_state(config, subgraphs=subgraphs))

    async def aget_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """The async twin of :meth:`get_state`."""
        return await state_at(self, self._bound(config), subgraphs)

    def _snapshot(
        self, checkpoint: Checkpoint, results: Mapping[str, Any] | None = None
    ) -> StateSnapshot:
        snapshot = to_snapshot(checkpoint, results)
        if self.schema.kind == "root":  # a state of one value: the value itself
            return dataclasses.replace(snapshot, values=snapshot.values.get(ROOT))
        # As LangGraph's, in the schema's key order (a checkpoint's may differ),
        # which printing a snapshot shows.
        values = snapshot.values
        ordered = {k: values[k] for k in self.schema.channels if k in values}
        if list(ordered) == list(values):
            return snapshot
        ordered.update(values)  # keys the schema lacks keep their place, last
        return dataclasses.replace(snapshot, values=ordered)

    def _recorded(
        self, checkpoint: Checkpoint, results: Mapping[str, Any] | None = None
    ) -> StateSnapshot:
        """``checkpoint`` as the record of a step shows it (the history, the
        ``checkpoints`` chunks): its snapshot, a subgraph node's task with the
        config of the subgraph's timeline as its ``state``, as LangGraph's."""
        snapshot = self._snapshot(checkpoint, results)
        return timeline_configs(self, snapshot, checkpoint)  # type: ignore[arg-type]

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | str | None = None,
        limit: int | None = None,
    ) -> Generator[StateSnapshot, None, None]:
        """The thread's snapshots, newest first (all branches of the thread).

        Args:
            config: the thread (with ``checkpoint_ns``, a subgraph's timeline);
                with a ``checkpoint_id``, as in LangGraph, that checkpoint alone.
            filter: only checkpoints whose metadata (or ``source``/``step``) match.
            before: only checkpoints older than this config or checkpoint id.
            limit: at most this many.
        """
        return iterate_sync(
            self.aget_state_history(config, filter=filter, before=before, limit=limit)
        )

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """The async twin of :meth:`get_state_history`."""
        async for snapshot in history(self, self._bound(config), filter, before, limit):
            yield snapshot

    def update_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """Write a new checkpoint with ``values`` applied as if ``as_node`` wrote them.

        The new checkpoint's parent is the config's checkpoint (or the head), so
        editing an old checkpoint grows a new branch and moves the head to it. If the
        config names a checkpoint of *another* thread and a thread id that does not
        exist yet, the new thread is a fork of that checkpoint (``source="fork"``).

        Args:
            config: the thread, and optionally the checkpoint to start from.
            values: a partial update, applied through the reducers (``None``: none;
                for a state of one value, the update of that value).
            as_node: whose update this is: decides the reducers' writer and which
                nodes run next. By default the node that wrote the checkpoint.
                ``"__copy__"`` writes a ``fork`` copy of the checkpoint beside it
                (the same parent), as LangGraph does; ``values`` then is ``None``
                or a list of ``StateUpdate(values, as_node)`` applied to the copy
                as its tasks' results.

        Returns:
            The config of the new checkpoint (pass it to ``invoke(None, ...)``).
        """
        return run_sync(self.aupdate_state(config, values, as_node))

    async def aupdate_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """The async twin of :meth:`update_state`."""
        self._require_checkpointer()
        cfg = RunConfig.parse(self._bound(config))
        thread_id = self._require_thread(cfg)
        await self._ensure_ready()
        if NS_SEP in thread_id:  # a subgraph's: its own nodes and reducers
            sub = owner(self, thread_id)  # type: ignore[arg-type]
            if sub is None:
                raise InvalidUpdateError(
                    f"No subgraph node of this graph runs the timeline {thread_id!r}"
                )
            return await sub._update_here(cfg, thread_id, values, as_node)
        return await self._update_here(cfg, thread_id, values, as_node)

    async def _update_here(
        self, cfg: RunConfig, thread_id: str, values: Any, as_node: str | None
    ) -> dict[str, Any]:
        """:meth:`aupdate_state` on a timeline of this graph."""
        checkpointer = self._require_checkpointer()
        head = await checkpointer.get(thread_id)
        run = RunState(thread_id, head.id if head else None, dict(cfg.metadata))
        base = head
        if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
            base = await checkpointer.get(None, cfg.checkpoint_id)
            if base is None:
                raise CheckpointNotFound(f"No checkpoint {cfg.checkpoint_id}")
        source: Source = "update"
        if base is not None:
            require_readable(base)
            if PARENTS in base.metadata:  # a subgraph's: it ran from the same
                run.metadata.setdefault(PARENTS, base.metadata[PARENTS])
        if base is not None and base.thread_id != thread_id:
            if head is not None:
                raise ConfigError(
                    f"Cannot fork checkpoint {base.id} of {base.thread_id!r} into "
                    f"{thread_id!r}: that thread already exists; pick a new thread id",
                    title="Thread exists",
                )
            source = "fork"
        if as_node == COPY:
            checkpoint = await self._copy(run, base, values)
            return make_config(checkpoint.thread_id, checkpoint.id)
        checkpoint = await self._write_update(run, base, values, as_node, source)
        return make_config(checkpoint.thread_id, checkpoint.id)

    async def _copy(
        self, run: RunState, base: Checkpoint | None, updates: Any
    ) -> Checkpoint:
        """``as_node="__copy__"``, as LangGraph's: a ``fork`` copy of ``base``
        beside it (the same parent, values and due tasks); with ``updates``
        (``[StateUpdate(values, as_node), ...]``) those are then applied to the
        copy as its tasks' writes, in an ``update`` checkpoint (a task's result
        replaced: run on from there with ``invoke(None, config)``). Returns the
        last checkpoint written.

        Raises:
            InvalidUpdateError: no checkpoint to copy, ``updates`` neither
                ``None`` nor a list, or an update naming an unknown node.
        """
        if base is None or not (updates is None or isinstance(updates, list)):
            raise InvalidUpdateError(
                f'as_node="{COPY}" copies an existing checkpoint: pass a config '
                f"naming it, and values=None (a copy) or a list of "
                f"StateUpdate(values, as_node) (the copy's tasks' new results)"
            )
        parent = None
        if base.parent_id is not None:
            assert self.checkpointer is not None
            parent = await self.checkpointer.get(
                base.parent_thread_id or base.thread_id, base.parent_id
            )
        copy = await self._commit(
            run,
            parent=parent,
            source="fork",
            values=dict(base.values),
            next_nodes=base.next,
            writes={},
            waiting=waiting_of(base),
            sends=sends_of(base),
        )
        if not updates:
            return copy
        written = []
        for update in updates:
            values, as_node = update[0], update[1] if len(update) > 1 else None
            writer = await infer_writer(self.nodes, self.checkpointer, copy, as_node)
            written.append((writer, values))
        return await self._write_updates(run, copy, written, "update")

    def fork(
        self,
        config: Mapping[str, Any],
        thread_id: str,
        values: Any = None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """Branch the config's checkpoint into the new thread ``thread_id``.

        Returns:
            The config of the new thread's first checkpoint.
        """
        return run_sync(self.afork(config, thread_id, values, as_node))

    async def afork(
        self,
        config: Mapping[str, Any],
        thread_id: str,
        values: Any = None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """The async twin of :meth:`fork`."""
        cfg = RunConfig.parse(self._bound(config))
        source_thread = self._require_thread(cfg)
        checkpoint_id = cfg.checkpoint_id
        if checkpoint_id is None:
            head = await self._require_checkpointer().get(source_thread)
            if head is None:
                raise CheckpointNotFound(f"Thread {source_thread!r} has no checkpoints")
            checkpoint_id = head.id
        target = {
            "configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}
        }
        return await self.aupdate_state(target, values, as_node)

    async def _write_update(
        self,
        run: RunState,
        base: Checkpoint | None,
        values: Any,
        as_node: str | None,
        source: Source,
    ) -> Checkpoint:
        writer = await infer_writer(self.nodes, self.checkpointer, base, as_node)
        return await self._write_updates(run, base, [(writer, values)], source)

    async def _write_updates(
        self,
        run: RunState,
        base: Checkpoint | None,
        updates: Sequence[tuple[str | None, Any]],
        source: Source,
    ) -> Checkpoint:
        """Commit the child of ``base`` with ``updates`` applied, each as its
        writer's (``None``: no writer found, the update keeps ``base``'s next). A
        ``Command`` value is its ``update``, and its ``goto`` is due next."""
        written: list[tuple[str, dict[str, Any]]] = []
        gotos: list[Any] = []
        for writer, values in updates:
            if isinstance(values, Command):  # the node ran: it wrote, maybe nothing
                gotos.extend(values.goto_nodes)
                values = values.update or {}
            if values is not None and self.schema.kind != "root" and is_pairs(values):
                written.extend((writer or START, u) for u in grouped_writes(values))
            elif values is not None:
                written.append((writer or START, self._as_update(values)))
        new_values = self.schema.apply(base.values if base else {}, written)
        waiting = waiting_of(base) if base else {}
        sends: list[Send] | None = None  # None: the base's, with its next
        writers = [w for w, _ in updates if w is not None]
        if base is not None and (not written and not gotos or not writers):
            next_nodes = base.next
        else:
            pulls, sends, waiting = await self._router.next_after(
                writers or [START], new_values, gotos, waiting
            )
            next_nodes = next_of(pulls, sends)
        by_writer: dict[str, list[dict[str, Any]]] = {}
        for name, update in written:
            by_writer.setdefault(name, []).append(update)
        return await self._commit(
            run,
            parent=base,
            source=source,
            values=new_values,
            next_nodes=next_nodes,
            writes={n: u[0] if len(u) == 1 else u for n, u in by_writer.items()},
            waiting=waiting,
            sends=sends,
        )

    def _as_update(self, values: Any) -> dict[str, Any]:
        """An ``update_state`` value as an update of the state's keys."""
        return (
            {ROOT: values} if self.schema.kind == "root" else plain_overwrites(values)
        )

    def bulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """Write one checkpoint per superstep, as LangGraph's: each superstep a
        list of ``(values, as_node)`` updates (LangGraph's ``StateUpdate``)
        applied together, as if those nodes ran in one step.

        ``as_node="__input__"`` writes an input checkpoint (as a run's input
        does, with ``__start__`` next; a superstep ``as_node="__start__"`` then
        applies the input). Several updates of one superstep each need their
        ``as_node``.

        Returns:
            The config of the last checkpoint written.

        Raises:
            ValueError: no supersteps, or a superstep without updates.
            InvalidUpdateError: several updates of one superstep lack ``as_node``.
        """
        return run_sync(self.abulk_update_state(config, supersteps))

    async def abulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """The async twin of :meth:`bulk_update_state`."""
        return await bulk_update(self, self._bound(config), supersteps)

    def _require_checkpointer(self) -> BaseCheckpointer:
        if self.checkpointer is None:
            raise ConfigError(
                "This needs a graph compiled with a checkpointer",
                title="No checkpointer",
            )
        return self.checkpointer

    async def _commit(
        self,
        run: RunState,
        *,
        parent: Checkpoint | None,
        source: Source,
        values: dict[str, Any],
        next_nodes: tuple[str, ...],
        writes: dict[str, Any],
        waiting: Mapping[str, list[str]] | None = None,
        sends: Sequence[Send] | None = None,
    ) -> Checkpoint:
        """Make the child of ``parent`` and commit it for ``run``.

        ``waiting``: what the waiting edges wait for (see :func:`waiting_of`);
        ``sends``: the sends due, whose nodes ``next_nodes`` lists first (see
        :mod:`timeloom.core.sends`). ``None`` keeps the parent's (a copy).
        """
        if waiting is None:
            waiting = waiting_of(parent) if parent is not None else {}
        if sends is None:
            sends = sends_of(parent) if parent is not None else ()
        checkpoint = new_checkpoint(
            parent,
            thread_id=run.thread_id,
            source=source,
            values=values,
            next=next_nodes,
            writes=writes,
            metadata=with_sends(with_waiting(run.metadata, waiting), sends),
        )
        await run.commit(self.checkpointer, [self._stored(checkpoint)])
        return checkpoint

    def _stored(self, checkpoint: Checkpoint) -> Checkpoint:
        """``checkpoint`` as it is committed: without the state's untracked keys
        (the run goes on with the checkpoint as it is)."""
        if not self._untracked:  # the common case: as it is
            return checkpoint
        return stored(checkpoint, self._untracked)

    def _stored_writes(self, writes: Sequence[PendingWrite]) -> Sequence[PendingWrite]:
        """Pending ``writes`` as they are recorded: without untracked keys."""
        return stored_writes(writes, self._untracked) if self._untracked else writes


def waiting_of(checkpoint: Checkpoint) -> Mapping[str, list[str]]:
    """For each waiting edge some of whose starts have finished by ``checkpoint``,
    those starts (kept in its metadata: a checkpoint has no hidden channels)."""
    waiting: Mapping[str, list[str]] = checkpoint.metadata.get(WAITING, {})
    return waiting


def with_waiting(
    metadata: Mapping[str, Any], waiting: Mapping[str, list[str]]
) -> Mapping[str, Any]:
    """A run's metadata for a new checkpoint, with what its waiting edges wait for
    (the run's own metadata when they wait for nothing: the common case)."""
    return {**metadata, WAITING: dict(waiting)} if waiting else metadata


def require_readable(checkpoint: Checkpoint) -> None:
    if checkpoint.unreadable:
        raise SerializationError(
            f"Checkpoint {checkpoint.id} of thread {checkpoint.thread_id!r} has values "
            f"that could not be read back ({', '.join(checkpoint.unreadable)}); continue "
            f"from another checkpoint",
            title="Unreadable checkpoint",
        )

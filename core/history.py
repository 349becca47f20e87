"""Reading a thread's past: its state at a checkpoint, with what ran from there,
and its history newest first (``get_state`` and ``get_state_history``).

A snapshot's task results are what its due nodes wrote when they ran from it:
the writes of the step that followed it in its thread, else those of the
``update`` that did (``bulk_update_state`` writing a history as a run would,
which LangGraph shows the same way).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.config import RunConfig, make_config
from timeloom.core.namespaces import NS_SEP
from timeloom.core.snapshot import StateSnapshot, as_of_now, finished_updates
from timeloom.core.subgraphs import owner, task_states

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.state_access import StateAccess


async def state_at(
    graph: StateAccess, config: Mapping[str, Any], subgraphs: bool
) -> StateSnapshot:
    """``graph``'s state at the thread's head, or at the config's checkpoint
    (see :meth:`~timeloom.core.state_access.StateAccess.get_state`)."""
    cfg = RunConfig.parse(config)
    checkpointer = graph._require_checkpointer()
    thread_id = graph._require_thread(cfg)
    await graph._ensure_ready()
    if cfg.checkpoint_id:
        checkpoint: Checkpoint | None = await graph._load(thread_id, cfg.checkpoint_id)
    else:
        checkpoint = await checkpointer.get(thread_id)
    if checkpoint is None:
        return StateSnapshot(
            values={},
            next=(),
            config=make_config(thread_id, None),
            metadata={},
            created_at="",
            parent_config=None,
        )
    results = None
    if cfg.checkpoint_id and checkpoint.next:  # an older checkpoint: what ran
        results = await results_of(checkpointer, checkpoint)
    own = own_graph(graph, thread_id)
    if cfg.checkpoint_id:  # a record of the step: as it started, every task
        snapshot = own._snapshot(checkpoint, results)
    else:  # the head as of now, as LangGraph: a paused step's finished tasks count
        done = finished_updates(checkpoint)
        values = own.schema.apply(checkpoint.values, done) if done else None
        shown = checkpoint if values is None else replace(checkpoint, values=values)
        snapshot = as_of_now(own._snapshot(shown), checkpoint)
    if snapshot.tasks:
        # (subgraphs=True finds each task's subgraph from the root graph)
        shown_by = graph if subgraphs else own
        return await task_states(shown_by, snapshot, checkpoint, subgraphs)  # type: ignore[arg-type]
    return snapshot


def own_graph(graph: StateAccess, thread_id: str) -> StateAccess:
    """The graph a timeline of ``graph``'s thread is shown by: a subgraph's
    timeline by that subgraph (its nodes, its reducers), as LangGraph shows it;
    ``graph`` for its own timeline or one no subgraph node names."""
    if NS_SEP not in thread_id:
        return graph
    return owner(graph, thread_id) or graph  # type: ignore[arg-type]


async def results_of(
    checkpointer: BaseCheckpointer, checkpoint: Checkpoint
) -> Mapping[str, Any] | None:
    """What the due nodes of ``checkpoint`` wrote when they ran from it: the
    writes of the step that followed it in its thread (the newest, if several);
    with no step, of the ``update`` that did."""
    children = [
        meta
        for meta in await checkpointer.children(checkpoint.id)
        if meta.thread_id == checkpoint.thread_id
    ]
    steps = [m for m in children if m.source == "loop"] or [
        m for m in children if m.source == "update"
    ]
    if not steps:
        return None
    step = await checkpointer.get(checkpoint.thread_id, max(m.id for m in steps))
    return step.writes if step is not None else None


async def history(
    graph: StateAccess,
    config: Mapping[str, Any],
    filter: Mapping[str, Any] | None,
    before: Mapping[str, Any] | str | None,
    limit: int | None,
) -> AsyncIterator[StateSnapshot]:
    """``graph``'s snapshots of the thread, newest first (see
    :meth:`~timeloom.core.state_access.StateAccess.get_state_history`)."""
    checkpointer = graph._require_checkpointer()
    cfg = RunConfig.parse(config)
    thread_id = graph._require_thread(cfg)
    await graph._ensure_ready()
    before_id = (
        RunConfig.parse(before).checkpoint_id if isinstance(before, Mapping) else before
    )
    shown_by = own_graph(graph, thread_id)
    if cfg.checkpoint_id:  # as LangGraph's: that checkpoint alone, if it matches
        if limit != 0:
            only = await _one(
                checkpointer, thread_id, cfg.checkpoint_id, before_id, filter
            )
            if only is not None:
                yield shown_by._recorded(only, await results_of(checkpointer, only))
        return
    # Newest first, so the step that ran from a checkpoint comes before it: its
    # writes are that checkpoint's task results (as in results_of: a step's, else
    # an update's).
    results: dict[str, dict[str, Mapping[str, Any]]] = {"loop": {}, "update": {}}
    async for meta in checkpointer.summaries(
        thread_id, before=before_id, limit=limit, filter=filter
    ):
        checkpoint = await checkpointer.get(meta.thread_id, meta.id)
        if checkpoint is None:
            continue
        if checkpoint.source in results and checkpoint.parent_id:
            results[checkpoint.source].setdefault(
                checkpoint.parent_id, checkpoint.writes
            )
        ran = results["loop"].pop(checkpoint.id, None)
        edited = results["update"].pop(checkpoint.id, None)
        yield shown_by._recorded(checkpoint, ran if ran is not None else edited)


async def _one(
    checkpointer: BaseCheckpointer,
    thread_id: str,
    checkpoint_id: str,
    before: str | None,
    filter: Mapping[str, Any] | None,
) -> Checkpoint | None:
    """Checkpoint ``checkpoint_id`` of the thread, if it is older than ``before``
    and matches ``filter`` (read through the summaries, which apply both)."""
    async for meta in checkpointer.summaries(thread_id, before=before, filter=filter):
        if meta.id == checkpoint_id:
            return await checkpointer.get(thread_id, checkpoint_id)
        if meta.id < checkpoint_id:  # newest first: it is not there
            return None
    return None

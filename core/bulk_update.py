"""``bulk_update_state``: writing a thread's history superstep by superstep, as
LangGraph's (to import a conversation, or to build a test fixture), one
checkpoint per superstep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from timeloom.core.as_node import infer_writer
from timeloom.core.config import RunConfig, make_config
from timeloom.core.constants import INPUT, START
from timeloom.core.errors import InvalidUpdateError
from timeloom.core.writer import RunState

if TYPE_CHECKING:
    from timeloom.core.state_access import StateAccess


async def bulk_update(
    graph: StateAccess, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    """Apply ``supersteps`` (lists of ``(values, as_node)``) to ``graph``'s thread
    in order (see :meth:`StateAccess.bulk_update_state`); return the last config.

    Raises:
        ValueError: no supersteps, or a superstep without updates.
        InvalidUpdateError: several updates of one superstep lack ``as_node``.
    """
    if not supersteps:
        raise ValueError("No supersteps provided")
    current = dict(config)
    for superstep in supersteps:
        updates = [(u[0], u[1] if len(u) > 1 else None) for u in superstep]
        if not updates:
            raise ValueError("No updates provided")
        if len(updates) == 1 and updates[0][1] != INPUT:
            current = await graph.aupdate_state(current, *updates[0])
            continue
        if any(as_node is None for _, as_node in updates):
            raise InvalidUpdateError(
                "Several updates in one superstep each need their as_node"
            )
        current = await _superstep(
            graph, current, [(values, str(as_node)) for values, as_node in updates]
        )
    return current


async def _superstep(
    graph: StateAccess, config: Mapping[str, Any], updates: Sequence[tuple[Any, str]]
) -> dict[str, Any]:
    """Commit one superstep of several updates (or an input) on the head."""
    checkpointer = graph._require_checkpointer()
    cfg = RunConfig.parse(config)
    thread_id = graph._require_thread(cfg)
    await graph._ensure_ready()
    head = await checkpointer.get(thread_id)
    base = head
    if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
        base = await graph._load(thread_id, cfg.checkpoint_id)
    run = RunState(thread_id, head.id if head else None, dict(cfg.metadata))
    if updates[0][1] == INPUT:  # as a run's input checkpoint records it
        checkpoint = await graph._commit(
            run,
            parent=base,
            source="input",
            values=dict(base.values) if base else graph.schema.initial_values(),
            next_nodes=(START,),
            writes={},
        )
    else:
        for _, as_node in updates:
            # An unknown node raises.
            await infer_writer(graph.nodes, graph.checkpointer, base, as_node)
        checkpoint = await graph._write_updates(
            run, base, [(n, v) for v, n in updates], "update"
        )
    return make_config(checkpoint.thread_id, checkpoint.id)

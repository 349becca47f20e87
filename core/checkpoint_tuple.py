"""A checkpoint in the shape of LangGraph's ``CheckpointTuple``.

What ``get_tuple``, ``list`` and their async twins return (see
:class:`~timeloom.core.checkpointer.BaseCheckpointer`), so code written against
LangGraph's savers reads Timeloom's checkpoints unchanged, as far as the two models
meet:

- ``config`` / ``parent_config``: ``{"configurable": {"thread_id", "checkpoint_ns",
  "checkpoint_id"}}``; a fork's parent is in the thread it was forked from.
- ``checkpoint``: ``{"id", "ts", "channel_values"}``, the values being the state's
  keys. Timeloom keeps no channel versions, so ``channel_versions``,
  ``versions_seen`` and ``updated_channels`` are absent rather than made up.
- ``metadata``: ``source``, ``step``, ``parents`` and the checkpoint's own metadata,
  as LangGraph stores it (``get_state`` adds ``writes``).
- ``pending_writes``: ``(task_id, channel, value)`` triples, the task ids those of
  ``get_state().tasks``: a node's update key by key, ``"__error__"`` with the
  error's ``repr`` text (as LangGraph stores it; the full record, with its
  traceback, stays in :attr:`Checkpoint.pending_writes`), ``"__interrupt__"``
  with the task's ``interrupt()`` questions, ``"__resume__"`` with its answers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from timeloom.core.checkpoint import Checkpoint, error_text
from timeloom.core.config import make_config
from timeloom.core.interrupts import Interrupt
from timeloom.core.snapshot import stored_metadata, task_id

ERROR = "__error__"
INTERRUPT = "__interrupt__"
RESUME = "__resume__"


class CheckpointTuple(NamedTuple):
    """A checkpoint with its config, metadata, parent and pending writes (the
    fields of LangGraph's ``CheckpointTuple``)."""

    config: dict[str, Any]
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    parent_config: dict[str, Any] | None = None
    pending_writes: list[tuple[str, str, Any]] | None = None


def checkpoint_tuple(checkpoint: Checkpoint) -> CheckpointTuple:
    """The :class:`CheckpointTuple` of a checkpoint read with its values."""
    parent = None
    if checkpoint.parent_id is not None:
        thread = checkpoint.parent_thread_id or checkpoint.thread_id
        parent = make_config(thread, checkpoint.parent_id)
    return CheckpointTuple(
        config=make_config(checkpoint.thread_id, checkpoint.id),
        checkpoint={
            "id": checkpoint.id,
            "ts": checkpoint.created_at.isoformat(),
            "channel_values": dict(checkpoint.values),
        },
        metadata=stored_metadata(checkpoint),
        parent_config=parent,
        pending_writes=pending_write_triples(checkpoint),
    )


def pending_write_triples(checkpoint: Checkpoint) -> list[tuple[str, str, Any]]:
    """A checkpoint's pending writes as LangGraph's ``(task_id, channel, value)``,
    in the order they were recorded; a task's ``interrupt()`` questions (static
    breakpoints are not written, as in LangGraph) and its resume values each make
    one write, a list, where the task's first one was."""
    triples: list[tuple[str, str, Any]] = []
    grouped: dict[tuple[str, str], list[Any]] = {}
    for write in checkpoint.pending_writes:
        task = task_id(checkpoint.id, write.node)
        if write.kind == "update":
            triples.extend((task, ch, value) for ch, value in write.value.items())
        elif write.kind == "error":
            triples.append((task, ERROR, error_text(write.value)))
        elif (
            write.kind == "interrupt" and write.value.get("when", "during") != "during"
        ):
            continue
        else:
            channel = INTERRUPT if write.kind == "interrupt" else RESUME
            value = (
                Interrupt(value=write.value.get("value"), id=write.value["id"])
                if write.kind == "interrupt"
                else write.value.get("value")
            )
            if (task, channel) not in grouped:
                grouped[task, channel] = []
                triples.append((task, channel, grouped[task, channel]))
            grouped[task, channel].append(value)
    return triples

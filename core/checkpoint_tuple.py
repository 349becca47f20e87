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

from collections.abc import Sequence
from typing import Any, NamedTuple

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.config import make_config
from timeloom.core.error_records import error_from_text, error_record, error_text
from timeloom.core.errors import ConfigError
from timeloom.core.interrupts import Interrupt
from timeloom.core.sends import task_keys
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


def writes_of_task(
    checkpoint: Checkpoint, task: str, writes: Sequence[tuple[str, Any]]
) -> list[PendingWrite]:
    """LangGraph's ``(channel, value)`` writes of one task of ``checkpoint`` as
    Timeloom's pending writes (the inverse of :func:`pending_write_triples`).

    State keys make the task's update (a key written again starts another);
    ``"__error__"`` takes an exception or LangGraph's ``repr`` text;
    ``"__interrupt__"`` a list of interrupts (anything with ``value`` and ``id``);
    ``"__resume__"`` a list of answers to the task's questions, in order.

    Raises:
        ConfigError: ``task`` is not a task due from ``checkpoint``, a resume has
            no question to answer, or a channel is one of LangGraph's own.
    """
    keys = {task_id(checkpoint.id, key): key for key, _, _ in task_keys(checkpoint)}
    key = keys.get(task)
    if key is None:
        raise ConfigError(
            f"{task!r} is not a task of checkpoint {checkpoint.id}: its tasks are "
            f"{sorted(keys)} (get_state(config).tasks)",
            title="Unknown task",
        )
    asked = [
        w.value["id"]
        for w in checkpoint.pending_writes
        if w.kind == "interrupt" and w.node == key and w.value.get("when") == "during"
    ]
    out: list[PendingWrite] = []
    update: dict[str, Any] | None = None
    for channel, value in writes:
        if channel == ERROR:
            record = (
                error_record(value)
                if isinstance(value, BaseException)
                else error_from_text(value)
            )
            out.append(PendingWrite(key, "error", record))
        elif channel == INTERRUPT:
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                question = {"id": item.id, "value": item.value, "when": "during"}
                out.append(PendingWrite(key, "interrupt", {**question, "index": i}))
        elif channel == RESUME:
            answers = value if isinstance(value, list) else [value]
            if len(answers) > len(asked):
                raise ConfigError(
                    f"Task {task!r} asked {len(asked)} question(s); "
                    f"{len(answers)} answer(s) given",
                    title="Nothing to resume",
                )
            out.extend(
                PendingWrite(key, "resume", {"id": iid, "value": answer})
                for iid, answer in zip(asked, answers, strict=False)
            )
        elif channel.startswith("__") or ":" in channel:
            raise ConfigError(
                f"Channel {channel!r} is LangGraph's own bookkeeping: Timeloom "
                "records a task's state keys, __error__, __interrupt__ and __resume__",
                title="Unsupported write",
            )
        else:
            if update is None or channel in update:
                update = {}
                out.append(PendingWrite(key, "update", update))
            update[channel] = value
    return out

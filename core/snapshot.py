"""``StateSnapshot``: what ``get_state`` and ``get_state_history`` return.

The same fields as LangGraph's, so code written against LangGraph reads it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.chunk_shapes import merged_writes
from timeloom.core.config import make_config
from timeloom.core.constants import SENDS, WAITING
from timeloom.core.error_records import error_text
from timeloom.core.interrupts import Interrupt
from timeloom.core.namespaces import SUBGRAPHS
from timeloom.core.sends import task_keys, task_results


@dataclass(frozen=True, slots=True)
class StateTask:
    """A node due to run from a snapshot, with what stopped it, if anything."""

    id: str
    name: str
    path: tuple[Any, ...] = ()
    """As LangGraph's: ``("__pregel_pull", node)`` for a node an edge started,
    ``("__pregel_push", i, False)`` for the ``i``-th ``Send``."""
    error: str | None = None
    """If the node failed from this snapshot, its exception's ``repr``, as
    LangGraph shows it (the checkpoint's ``errors`` keep the whole record, with
    the traceback)."""
    interrupts: tuple[Interrupt, ...] = ()
    result: Mapping[str, Any] | None = None
    """The update the node wrote, if it succeeded while a sibling failed."""
    state: Any = None
    """A subgraph's: its :class:`StateSnapshot` (``get_state(...,
    subgraphs=True)``), else the config of its timeline."""


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The state of a thread at one checkpoint."""

    values: Any
    """The state: a dict of its keys (for a state of one value, the value)."""
    next: tuple[str, ...]
    config: dict[str, Any]
    """``{"configurable": {"thread_id", "checkpoint_id", "checkpoint_ns"}}``: pass it
    to ``invoke(None, config)`` to continue from this checkpoint."""
    metadata: Mapping[str, Any]
    """``source``, ``step``, ``parents`` and the checkpoint's free-form metadata,
    as LangGraph's (what the step wrote is its parent's tasks' ``result``)."""
    created_at: str
    """ISO-8601 UTC timestamp."""
    parent_config: dict[str, Any] | None
    tasks: tuple[StateTask, ...] = ()
    interrupts: tuple[Interrupt, ...] = field(default=())


def interrupts_of(writes: Sequence[PendingWrite]) -> tuple[Interrupt, ...]:
    """The interrupts among ``writes``, each id once."""
    found: dict[str, Interrupt] = {}
    for w in writes:
        if w.kind == "interrupt" and w.value["id"] not in found:
            found[w.value["id"]] = Interrupt(
                value=w.value.get("value"),
                id=w.value["id"],
                node=w.node,
                when=w.value.get("when", "during"),
            )
    return tuple(found.values())


def to_snapshot(
    checkpoint: Checkpoint, results: Mapping[str, Any] | None = None
) -> StateSnapshot:
    """The :class:`StateSnapshot` of a checkpoint, as ``get_state`` returns it.

    Args:
        checkpoint: the checkpoint.
        results: what its due nodes wrote when they ran from it (the ``writes`` of
            the step that followed it), for the tasks' ``result``, as LangGraph
            shows them.
    """
    parent = (
        make_config(
            checkpoint.parent_thread_id or checkpoint.thread_id, checkpoint.parent_id
        )
        if checkpoint.parent_id
        else None
    )
    config = make_config(checkpoint.thread_id, checkpoint.id)
    parents = checkpoint.metadata.get("parents")
    if parents:  # a subgraph's: the checkpoints of the graphs it runs in, as LangGraph
        for shown in (config, parent):  # (its parent's config names them too)
            if shown is not None:
                own = shown["configurable"]
                own["checkpoint_map"] = {
                    **parents,
                    own["checkpoint_ns"]: own["checkpoint_id"],
                }
    tasks = snapshot_tasks(checkpoint, results)
    return StateSnapshot(
        values=dict(checkpoint.values),
        next=checkpoint.next,
        config=config,
        metadata=stored_metadata(checkpoint),
        created_at=checkpoint.created_at.isoformat(),
        parent_config=parent,
        tasks=tasks,
        interrupts=tuple(i for t in tasks for i in t.interrupts),  # in task order
    )


def finished_updates(checkpoint: Checkpoint) -> list[tuple[str, dict[str, Any]]]:
    """The updates of the tasks that succeeded from ``checkpoint`` in a step that
    did not complete (its ``update`` pending writes), by task key, in the step's
    order (as a completed step would apply them)."""
    written = [w for w in checkpoint.pending_writes if w.kind == "update"]
    if not written:
        return []
    order = {key: i for i, (key, _, _) in enumerate(task_keys(checkpoint))}
    written.sort(key=lambda w: order.get(w.node, len(order)))
    return [(w.node, w.value) for w in written]


def as_of_now(snapshot: StateSnapshot, checkpoint: Checkpoint) -> StateSnapshot:
    """``snapshot`` (taken with the finished tasks' updates applied to its
    values) as LangGraph's ``get_state`` of a thread's head shows it: ``next``
    lists only the tasks still to run, and the questions are only those still
    waiting for an answer."""
    done = {w.node for w in checkpoint.pending_writes if w.kind == "update"}
    answered = {w.value["id"] for w in checkpoint.pending_writes if w.kind == "resume"}
    if not done and not answered:
        return snapshot
    return replace(
        snapshot,
        next=tuple(node for key, node, _ in task_keys(checkpoint) if key not in done),
        tasks=tuple(
            replace(
                t, interrupts=tuple(i for i in t.interrupts if i.id not in answered)
            )
            for t in snapshot.tasks
        ),
        interrupts=tuple(i for i in snapshot.interrupts if i.id not in answered),
    )


def stored_metadata(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint's metadata as LangGraph stores it: ``source``, ``step``,
    ``parents`` (the checkpoints of enclosing graphs; ``{}`` at the root) and the
    free-form metadata, without Timeloom's bookkeeping keys."""
    return {
        "source": checkpoint.source,
        "step": checkpoint.step,
        "parents": {},
        **{
            k: v
            for k, v in checkpoint.metadata.items()
            if k not in (WAITING, SENDS, SUBGRAPHS)
        },
    }


def task_id(checkpoint_id: str, key: str) -> str:
    """The id of the task ``key`` (a node, or ``node#i`` for a send) from a
    checkpoint."""
    return f"{checkpoint_id}:{key}"


def snapshot_tasks(
    checkpoint: Checkpoint, results: Mapping[str, Any] | None = None
) -> tuple[StateTask, ...]:
    """The tasks of a snapshot: each due node with its error, interrupts, result.

    A task's interrupts are those it raised last, answered or not, as LangGraph
    records them: a snapshot is a record of what happened from its checkpoint
    (``StateSnapshot.interrupts`` lists them too). Static breakpoints are not
    listed, as in LangGraph.
    """
    asked = _last_asked(checkpoint)
    written = task_results(checkpoint, results or {})
    tasks = []
    for key, node, path in task_keys(checkpoint):
        errors = [w.value for w in checkpoint.errors if w.node == key]
        done = [
            w.value
            for w in checkpoint.pending_writes
            if w.kind == "update" and w.node == key
        ]
        result: Any = written.get(key)
        if done or isinstance(result, list):  # a task's several updates: as one
            result = merged_writes(done or result)
        tasks.append(
            StateTask(
                id=task_id(checkpoint.id, key),
                name=node,
                path=path,
                error=error_text(errors[-1]) if errors else None,
                interrupts=tuple(asked.get(key, {}).values()),
                result=result,
            )
        )
    return tuple(tasks)


def _last_asked(checkpoint: Checkpoint) -> dict[str, dict[str, Interrupt]]:
    """The ``interrupt()`` questions each task raised the last time it ran from
    ``checkpoint``, answered or not, by task key then id.

    LangGraph keeps one interrupt write per task, replaced each time the task
    asks again: a node that asks a second question shows only that one, a
    subgraph's task the questions its subgraph asked last. Timeloom keeps every
    question (a resume answers each by id), so a task's questions answered before
    it asked a new one are the ones its later run replaced. As in LangGraph, a
    static breakpoint (``interrupt_before``/``after``) is not one: it shows as
    the thread's ``next``.
    """
    answered: set[str] = set()
    asked: dict[str, dict[str, Interrupt]] = {}
    for w in checkpoint.pending_writes:
        if w.kind == "resume":
            answered.add(w.value["id"])
        elif w.kind == "interrupt" and w.value.get("when", "during") == "during":
            iid = w.value["id"]
            mine = asked.setdefault(w.node, {})
            if iid not in mine:
                for old in [i for i in mine if i in answered]:
                    del mine[old]  # the task ran again after this one's answer
                mine[iid] = Interrupt(w.value.get("value"), iid, w.node)
    return asked

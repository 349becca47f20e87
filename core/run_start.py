"""How a run gets to the checkpoint its first super-step runs from.

A run starts from a base checkpoint (:func:`start` finds it), then, by what it was
given: a new input is committed as the input checkpoint and the step that applies
it (:func:`write_input_checked`); a ``Command`` updates the state
(:func:`update_then_carry`) and answers the pending interrupts (:func:`answer`);
time travel runs from a ``fork`` copy of the checkpoint named in the config
(:func:`replay_base`), and from an input checkpoint applies its input again
(:func:`replay_input`). Each takes the :class:`~timeloom.core.run.Run` it is a
step of.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from timeloom.core.checkpoint import Checkpoint, new_checkpoint
from timeloom.core.config import RunConfig
from timeloom.core.constants import START
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    ConflictError,
    InvalidUpdateError,
    ResumeError,
)
from timeloom.core.interrupts import Command, resume_writes
from timeloom.core.sends import next_of, with_sends
from timeloom.core.state import ROOT
from timeloom.core.state_access import require_readable, waiting_of, with_waiting
from timeloom.core.writer import RunState

if TYPE_CHECKING:
    from timeloom.core.run import Run
    from timeloom.core.runtime import CompiledGraph


async def start(
    graph: CompiledGraph,
    cfg: RunConfig,
    input: Any,
    fresh: bool = False,
    optimistic: bool = True,
) -> tuple[RunState, Checkpoint | None]:
    """Find the checkpoint a run starts from, and the head it must not lose
    (``fresh``: none, a new root on the thread; ``optimistic``: may start from
    the remembered head, see :func:`write_input_checked`)."""
    needs_saved = input is None or isinstance(input, Command)
    if graph.checkpointer is None:
        # A checkpoint id alone is ignored without a checkpointer, as in LangGraph
        # (it only shows in the tasks' metadata).
        if needs_saved:
            raise ConfigError(
                "Resuming, answering an interrupt or time travel needs a graph "
                "compiled with a checkpointer",
                title="No checkpointer",
            )
        return RunState(cfg.thread_id or "", None, dict(cfg.metadata)), None
    thread_id = graph._require_thread(cfg)
    await graph._ensure_ready()
    if fresh:
        head = await graph.checkpointer.get(thread_id)
        return RunState(thread_id, head.id if head else None, dict(cfg.metadata)), None
    if optimistic and not needs_saved and not cfg.checkpoint_id:
        remembered = graph.checkpointer.last_committed(thread_id)
        if remembered is not None:
            state = RunState(thread_id, remembered.id, dict(cfg.metadata))
            state.optimistic = True
            return state, remembered
    head = await graph.checkpointer.get(thread_id)
    base = head
    if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
        base = await graph._load(thread_id, cfg.checkpoint_id)
    if base is not None:
        require_readable(base)
    if needs_saved and base is None:
        raise CheckpointNotFound(
            f"Thread {thread_id!r} has no checkpoints to resume; invoke it with an "
            f"input first"
        )
    if isinstance(input, Command) and input.has_resume:
        assert base is not None
        if not base.interrupts:
            raise ResumeError(
                f"Checkpoint {base.id} of thread {thread_id!r} has no pending "
                f"interrupt to resume",
                title="Nothing to resume",
            )
    state = RunState(thread_id, head.id if head else None, dict(cfg.metadata))
    state.replaying = bool(cfg.checkpoint_id) and (
        input is None or (isinstance(input, Command) and not input.has_resume)
    )
    return state, base


async def replay_base(run: Run, base: Checkpoint) -> Checkpoint | None:
    """Commit the copy of ``base`` a replay runs from, or None to run from it.

    What was recorded from ``base`` (resume answers, interrupts, errors, a
    sibling's update) belongs to the branch it happened on. A replay from an
    earlier checkpoint asks its questions again and re-runs every due node,
    as LangGraph does: it starts from a ``fork`` copy of ``base`` in the same
    thread (step + 1, same values and ``next``), which has no pending writes.
    Only an ``update`` or ``fork`` checkpoint that is still the head with
    nothing recorded on it is run from directly (it is already a new branch).
    """
    if (
        base.source in ("update", "fork")
        and base.id == run.state.expected_head
        and not base.pending_writes
    ):
        return None
    return await run.graph._commit(
        run.state,
        parent=base,
        source="fork",
        values=dict(base.values),
        next_nodes=base.next,
        writes={},
    )


async def write_input_checked(
    run: Run, base: Checkpoint | None, input: Any
) -> tuple[Checkpoint, Checkpoint]:
    """Commit the input checkpoint; for an optimistic start, confirm the head.

    A run with a new input starts from the head this checkpointer committed
    last, without reading it back (one round trip less on a server). Its input
    checkpoint is committed before any node runs, expecting that head: if
    another writer moved the thread meanwhile, that commit conflicts and wrote
    nothing, so the run reads the real head and applies its input there.
    """
    state = run.state
    if not state.optimistic:
        return await _write_input(run, base, input)
    try:
        written = await _write_input(run, base, input)
        await run.flush()
        return written
    except ConflictError:
        assert run.graph.checkpointer is not None
        state.optimistic = False
        head = await run.graph.checkpointer.get(state.thread_id)
        if head is not None:
            require_readable(head)
        state.expected_head = head.id if head else None
        return await _write_input(run, head, input)


async def _write_input(
    run: Run, base: Checkpoint | None, input: Any
) -> tuple[Checkpoint, Checkpoint]:
    """Commit a run's input as LangGraph records it, in one commit: the input
    checkpoint (``base``'s values, ``next=("__start__",)``) and the step that
    applies the input (written by ``__start__``, ``next``: the first nodes)."""
    schema = run.graph._input
    if schema.kind == "root":
        update = {ROOT: input}
    elif isinstance(input, dict) or isinstance(input, Mapping):  # dict: no ABC check
        # As in LangGraph, keys that are not the input schema's are ignored.
        update = {k: v for k, v in input.items() if k in schema.channels}
    elif dataclasses.is_dataclass(input) and not isinstance(input, type):
        update = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
    elif hasattr(type(input), "model_fields") and hasattr(input, "model_dump"):
        update = {k: getattr(input, k) for k in type(input).model_fields}
    else:
        raise InvalidUpdateError(
            f"The input must be a dict of state values (or None to resume), got "
            f"{type(input).__name__}"
        )
    received = new_checkpoint(
        base,
        thread_id=run.state.thread_id,
        source="input",
        values=dict(base.values) if base else run.graph.schema.initial_values(),
        next=(START,),
        writes={},
        metadata=with_waiting(run.state.metadata, waiting_of(base) if base else {}),
    )
    applied = await _apply_input(run, received, update)
    stored = [run.graph._stored(received), run.graph._stored(applied)]
    await run.state.commit(run.graph.checkpointer, stored)
    return received, applied


async def _apply_input(
    run: Run, received: Checkpoint, update: dict[str, Any]
) -> Checkpoint:
    """The step that applies ``update`` to the input checkpoint (uncommitted)."""
    values = run.graph.schema.apply(received.values, [(START, update)])
    pulls, sends, waiting = await run.graph._router.next_after(
        [START], values, [], waiting_of(received)
    )
    return new_checkpoint(
        received,
        thread_id=run.state.thread_id,
        source="loop",
        values=values,
        next=next_of(pulls, sends),
        writes={START: update},
        metadata=with_sends(with_waiting(run.state.metadata, waiting), sends),
    )


async def replay_input(run: Run, received: Checkpoint) -> Checkpoint:
    """Replay from an input checkpoint: apply the input it received again.

    The input is recorded on the step that applied it, a child of the input
    checkpoint (of the one a ``fork`` copy copied).

    Raises:
        CheckpointNotFound: that step was deleted (pruned).
    """
    checkpointer = run.graph._require_checkpointer()
    origin: Checkpoint | None = received
    while origin is not None and origin.source == "fork" and origin.parent_id:
        origin = await checkpointer.get(
            origin.parent_thread_id or origin.thread_id, origin.parent_id
        )
    for meta in await checkpointer.children(origin.id if origin else ""):
        if START in meta.nodes:
            child = await checkpointer.get(meta.thread_id, meta.id)
            if child is not None:
                applied = await _apply_input(run, received, dict(child.writes[START]))
                await run.state.commit(checkpointer, [run.graph._stored(applied)])
                return applied
    raise CheckpointNotFound(
        f"The input checkpoint {received.id} of thread {received.thread_id!r} has "
        f"no recorded input to replay (the step that applied it was deleted)"
    )


async def update_then_carry(run: Run, base: Checkpoint, update: Any) -> Checkpoint:
    """Apply ``Command(update=...)`` as an ``update`` checkpoint, carrying over
    what is pending on ``base`` (interrupts and their answers, siblings'
    updates), so a resume in the same ``Command`` answers the same questions."""
    written = await run.graph._write_update(run.state, base, update, None, "update")
    carried = tuple(w for w in base.pending_writes if w.kind != "error")
    if carried and run.graph.checkpointer is not None:
        await run.flush()
        await run.graph.checkpointer.put_pending(written.thread_id, written.id, carried)
    return replace(written, pending_writes=carried)


async def answer(run: Run, base: Checkpoint, resume: Any) -> Checkpoint:
    """Record ``Command(resume=...)`` on ``base`` and return it with the answer."""
    writes = resume_writes(base, resume)
    if writes and run.graph.checkpointer is not None:
        await run.flush()
        await run.graph.checkpointer.put_pending(base.thread_id, base.id, writes)
    return replace(base, pending_writes=base.pending_writes + tuple(writes))

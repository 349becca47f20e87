"""Resuming a run from a checkpoint, asking a human at each interrupt.

Like the other write actions (:mod:`timeloom.tui.ops.actions`) it knows nothing of
widgets: the app passes callbacks for progress (``on_checkpoint``) and questions
(``ask``); the commands pass the one answer given on the command line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.config import make_config
from timeloom.core.interrupts import Command
from timeloom.core.runtime import CompiledGraph
from timeloom.tui.ops.actions import ActionRefused, read_back, require


@dataclass(frozen=True, slots=True)
class Answer:
    """The value a human gave to resume an interrupt (``None`` is a valid value)."""

    value: Any


AskFn: TypeAlias = Callable[
    [Checkpoint, tuple[PendingWrite, ...]], Awaitable["Answer | None"]
]
"""Asked for the resume value of the pending interrupts; None stops the run."""
ProgressFn: TypeAlias = Callable[[Checkpoint], None]
"""Told about every checkpoint the run commits, as it commits."""

ResumeStatus: TypeAlias = Literal["done", "paused", "stopped"]


@dataclass(frozen=True, slots=True)
class ResumeOutcome:
    """How a resumed run ended (a failing node raises instead)."""

    status: ResumeStatus
    """``done``: nothing left to run; ``paused``: waiting at an interrupt (the
    question was declined, or a static breakpoint); ``stopped``: neither."""
    last: Checkpoint
    """The checkpoint the run ended on (with its pending writes)."""
    committed: tuple[Checkpoint, ...] = field(default=())
    """Every checkpoint the run committed, oldest first."""


def parse_answer(text: str) -> Any:
    """A resume value typed by a human: JSON when it parses, else the text itself.

    ``yes`` is the string ``"yes"``, ``42`` the number, ``{"ok": true}`` an object.
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


RunFn: TypeAlias = Callable[[Any, Checkpoint], AsyncIterator[str]]
"""Runs the graph from a checkpoint with an input (``None`` or a ``Command``) and
yields the id of every checkpoint it commits in that thread, as it commits."""


async def resume(
    checkpointer: BaseCheckpointer,
    graph: CompiledGraph | None,
    checkpoint: Checkpoint,
    *,
    ask: AskFn | None = None,
    on_checkpoint: ProgressFn | None = None,
    answer: Answer | None = None,
) -> ResumeOutcome:
    """Continue the thread from ``checkpoint`` with Timeloom's runtime.

    See :func:`drive` for the arguments and what happens at interrupts.

    Raises:
        ActionRefused: read-only, no graph, or nothing to run from ``checkpoint``.
        Exception: what a node raised, as itself (``node_failure(exc)`` names the
            node; the error is stored on the checkpoint it ran from).
    """
    require(checkpointer, graph, "resume")
    assert graph is not None

    async def run(run_input: Any, current: Checkpoint) -> AsyncIterator[str]:
        config = make_config(current.thread_id, current.id)
        async for chunk in graph.astream(run_input, config, stream_mode="checkpoints"):
            cid = chunk["config"]["configurable"]["checkpoint_id"]
            if cid != current.id:  # a resume shows where it starts, as LangGraph
                yield cid

    return await drive(
        checkpointer,
        checkpoint,
        run,
        ask=ask,
        on_checkpoint=on_checkpoint,
        answer=answer,
    )


async def drive(
    checkpointer: BaseCheckpointer,
    checkpoint: Checkpoint,
    run: RunFn,
    *,
    ask: AskFn | None = None,
    on_checkpoint: ProgressFn | None = None,
    answer: Answer | None = None,
) -> ResumeOutcome:
    """Continue the thread from ``checkpoint`` until it ends or pauses.

    The first unanswered ``interrupt()`` is answered with ``answer``, later ones by
    ``ask`` (each time the run pauses at one); without an answer the run stops
    there. A static breakpoint (``interrupt_before``/``after``) stops the run; calling
    this again continues past it. Cancelling the task that awaits this leaves only
    whole steps committed: the runtimes commit a step atomically or not at all.

    Args:
        checkpointer: reads back what the run commits (it shows the checkpoints).
        checkpoint: where to continue from: the head, or an older checkpoint (the
            run then grows a new branch and moves the head).
        run: runs the graph once (Timeloom's runtime, or a LangGraph graph).
        ask: asked for a resume value when the run waits at an interrupt.
        on_checkpoint: told about each committed checkpoint, as it commits.
        answer: the resume value for the first question the run waits at (pending
            on ``checkpoint``, or raised on the way).

    Returns:
        Where the run ended and what it committed.

    Raises:
        ActionRefused: nothing to run from ``checkpoint``.
        Exception: what a node raised, as itself (``node_failure(exc)`` names the
            node; the error is stored on the checkpoint it ran from).
    """
    current = await checkpointer.get(checkpoint.thread_id, checkpoint.id) or checkpoint
    committed: list[Checkpoint] = []
    first = True
    while True:
        waiting = current.interrupts
        run_input: Any = None
        if _asks(waiting):
            given, answer = answer, None  # the given answer is for the first question
            if given is None and ask is not None:
                given = await ask(current, waiting)
            if given is None:
                return ResumeOutcome("paused", current, tuple(committed))
            run_input = Command(resume=given.value)
        elif waiting and not first:  # a breakpoint (interrupt_before/after)
            return ResumeOutcome("paused", current, tuple(committed))
        elif not current.next:
            if first:
                raise ActionRefused(
                    f"Nothing to resume: checkpoint {current.id} of "
                    f"{current.thread_id!r} has no nodes left to run.",
                    title="Nothing to resume",
                )
            return ResumeOutcome("done", current, tuple(committed))
        elif not first:  # the run ended without pausing or finishing
            return ResumeOutcome("stopped", current, tuple(committed))
        first = False
        last_id = current.id
        async for cid in run(run_input, current):
            written = await read_back(checkpointer, make_config(current.thread_id, cid))
            committed.append(written)
            last_id = cid
            if on_checkpoint is not None:
                on_checkpoint(written)
        # Re-read: an interrupt is recorded on the checkpoint the run stopped at.
        current = await read_back(checkpointer, make_config(current.thread_id, last_id))


def _asks(interrupts: tuple[PendingWrite, ...]) -> bool:
    """Whether any interrupt is a question (``interrupt(value)``), not a breakpoint."""
    return any(w.value.get("when", "during") == "during" for w in interrupts)

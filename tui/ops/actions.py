"""The TUI's write actions (edit, branch, resume) as plain async functions.

They know nothing of widgets: the app runs them in workers and passes callbacks for
progress (``on_checkpoint``) and questions (``ask``), so they are tested directly.

Every action first asks :func:`write_action_refusal`, which is also what the app uses
to disable a binding and say why: nothing is written to a read-only checkpointer,
and resuming needs the graph. Editing and branching work without a graph: the new
checkpoint is then written directly, the way the runtime writes an update.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from timeloom.core.checkpoint import Checkpoint, PendingWrite, Source, new_checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.config import make_config
from timeloom.core.errors import CheckpointNotFound, TimeloomError
from timeloom.core.interrupts import Command
from timeloom.core.runtime import CompiledGraph
from timeloom.tui.ops.editcheck import ParsedEdit, graph_update
from timeloom.tui.ops.jsonedit import JsonEditError

WriteAction: TypeAlias = Literal["edit", "branch", "resume"]

EDIT_WRITER: Final = "__edit__"
"""The pseudo-node recorded in ``writes`` by an edit saved without the graph."""
EDIT_METADATA: Final[Mapping[str, Any]] = {"edited_with": "timeloom"}
"""Metadata of the checkpoints the TUI writes, so they can be told apart."""

_VERBS: Final[Mapping[WriteAction, str]] = {
    "edit": "edit a checkpoint",
    "branch": "branch into a new thread",
    "resume": "resume a run",
}


class ActionRefused(TimeloomError):
    """A write action cannot run here; the message says why and what to do."""

    default_title = "Not available"


def write_action_refusal(
    checkpointer: BaseCheckpointer | None,
    graph: CompiledGraph | None,
    action: WriteAction,
) -> str | None:
    """Why ``action`` is unavailable, or None when it can run.

    Args:
        checkpointer: the open checkpointer (None: nothing is open).
        graph: the graph loaded with ``--graph``, if any.
        action: ``"edit"``, ``"branch"`` or ``"resume"``.

    Returns:
        A sentence to show in place of the action, or None.
    """
    verb = _VERBS[action]
    if checkpointer is None:
        return f"No database is open, so there is nothing to {verb.split()[0]}."
    if checkpointer.read_only:
        return (
            f"{checkpointer.url} is open read-only: reopen it without --read-only "
            f"to {verb}."
        )
    if action == "resume" and graph is None:
        return (
            f"resume needs the graph: timeloom open {checkpointer.url} "
            f"--graph package.module:attribute"
        )
    return None


def _require(
    checkpointer: BaseCheckpointer, graph: CompiledGraph | None, action: WriteAction
) -> None:
    reason = write_action_refusal(checkpointer, graph, action)
    if reason is not None:
        raise ActionRefused(reason, title=f"Cannot {_VERBS[action]}")


def check_thread_name(name: str) -> str | None:
    """Why ``name`` cannot name a new thread, or None when it can."""
    if not name.strip():
        return "Give the new thread a name."
    if name != name.strip():
        return "A thread name cannot start or end with spaces."
    if "@" in name:
        return "A thread name cannot contain '@' (it separates THREAD@CHECKPOINT)."
    if any(ord(ch) < 32 for ch in name):
        return "A thread name cannot contain control characters."
    return None


async def suggest_branch_name(checkpointer: BaseCheckpointer, thread_id: str) -> str:
    """``<thread>-b``, ``-c``... : the first that names no existing thread."""
    base = thread_id
    for letter in "bcdefghijklmnopqrstuvwxyz":
        candidate = f"{base}-{letter}"
        if await checkpointer.get_thread(candidate) is None:
            return candidate
    number = 2
    while await checkpointer.get_thread(f"{base}-{number}") is not None:
        number += 1
    return f"{base}-{number}"


def default_as_node(graph: CompiledGraph | None, checkpoint: Checkpoint) -> str | None:
    """The node an update of ``checkpoint`` is attributed to when none is chosen.

    What the runtime infers: the one graph node in ``checkpoint.writes``; None when
    there is no graph, no such node (the update then counts as input), or several.
    """
    if graph is None:
        return None
    writers = [name for name in checkpoint.writes if name in graph.nodes]
    return writers[0] if len(writers) == 1 else None


async def load_parent(
    checkpointer: BaseCheckpointer, checkpoint: Checkpoint
) -> Checkpoint | None:
    """The checkpoint ``checkpoint`` grew from (in its own or another thread)."""
    if checkpoint.parent_id is None:
        return None
    return await checkpointer.get(
        checkpoint.parent_thread_id or checkpoint.thread_id, checkpoint.parent_id
    )


async def load_diff_base(
    checkpointer: BaseCheckpointer, checkpoint: Checkpoint, against: str | None
) -> Checkpoint | None:
    """What ``checkpoint`` is diffed against: the checkpoint ``against`` (any thread)
    or, without one, its parent (None for a thread's first checkpoint).

    Raises:
        CheckpointNotFound: there is no checkpoint ``against``.
    """
    if against is None:
        return await load_parent(checkpointer, checkpoint)
    base = await checkpointer.get(None, against)
    if base is None:
        raise CheckpointNotFound(f"No checkpoint {against}")
    return base


# -- edit and branch -------------------------------------------------------------------


async def save_edit(
    checkpointer: BaseCheckpointer,
    graph: CompiledGraph | None,
    checkpoint: Checkpoint,
    edit: ParsedEdit,
    *,
    as_node: str | None = None,
) -> Checkpoint:
    """Write an ``update`` checkpoint with the edited values; return it.

    With a graph, the edit goes through ``aupdate_state`` (reducers, routing of
    ``next`` after ``as_node``). Without one, the new checkpoint is written directly:
    parent ``checkpoint``, step + 1, the edited values, ``checkpoint.next``, and the
    changed keys under ``writes["__edit__"]``. Either way the thread's head moves to
    the new checkpoint, a new branch when ``checkpoint`` was not the head.

    Args:
        checkpointer: a writable checkpointer.
        graph: the loaded graph, or None.
        checkpoint: the checkpoint that was edited.
        edit: what :func:`~timeloom.tui.ops.jsonedit.parse_edit` returned.
        as_node: whose update this is (graph only); None: what the runtime infers.

    Raises:
        ActionRefused: read-only, nothing changed, or an edit the graph's reducers
            cannot express.
        ConflictError: another writer moved the thread's head meanwhile.
    """
    _require(checkpointer, graph, "edit")
    if not edit.changed and not edit.removed:
        raise ActionRefused("The edit changes nothing; nothing was written.")
    if graph is not None:
        update = _graph_update(graph, checkpoint, edit)
        config = make_config(checkpoint.thread_id, checkpoint.id)
        config["metadata"] = dict(EDIT_METADATA)
        written = await graph.aupdate_state(config, update, as_node)
        return await read_back(checkpointer, written)
    head = await checkpointer.get_thread(checkpoint.thread_id)
    return await _put_direct(
        checkpointer,
        checkpoint,
        thread_id=checkpoint.thread_id,
        source="update",
        values=edit.values,
        writes={EDIT_WRITER: [*edit.changed, *edit.removed]},
        expected_head=head.head_id if head else None,
    )


async def branch(
    checkpointer: BaseCheckpointer,
    graph: CompiledGraph | None,
    checkpoint: Checkpoint,
    new_thread_id: str,
    edit: ParsedEdit | None = None,
    *,
    as_node: str | None = None,
) -> Checkpoint:
    """Fork ``checkpoint`` into the new thread ``new_thread_id``; return its root.

    The root is a ``fork`` checkpoint whose parent is ``checkpoint`` in its thread,
    with the same values (or the edited ones) and the same ``next``, so resuming the
    new thread continues where ``checkpoint`` stood.

    Raises:
        ActionRefused: read-only, a bad name, or a thread that already exists.
    """
    _require(checkpointer, graph, "branch")
    problem = check_thread_name(new_thread_id)
    if problem is None and await checkpointer.get_thread(new_thread_id) is not None:
        problem = f"A thread named {new_thread_id!r} already exists; pick another name."
    if problem is not None:
        raise ActionRefused(problem, title="Cannot branch")
    if graph is not None:
        update = _graph_update(graph, checkpoint, edit) if edit is not None else None
        config = make_config(checkpoint.thread_id, checkpoint.id)
        config["metadata"] = dict(EDIT_METADATA)
        written = await graph.afork(config, new_thread_id, update, as_node)
        return await read_back(checkpointer, written)
    writes: dict[str, Any] = {}
    if edit is not None and (edit.changed or edit.removed):
        writes[EDIT_WRITER] = [*edit.changed, *edit.removed]
    return await _put_direct(
        checkpointer,
        checkpoint,
        thread_id=new_thread_id,
        source="fork",
        values=edit.values if edit is not None else dict(checkpoint.values),
        writes=writes,
        expected_head=None,
    )


def _graph_update(
    graph: CompiledGraph, checkpoint: Checkpoint, edit: ParsedEdit
) -> dict[str, Any]:
    """The update to write for ``edit`` (see :func:`graph_update`)."""
    try:
        return graph_update(edit, checkpoint.values, graph.schema)
    except JsonEditError as exc:
        raise ActionRefused(
            "; ".join(exc.problems), title="Cannot save the edit"
        ) from exc


async def _put_direct(
    checkpointer: BaseCheckpointer,
    parent: Checkpoint,
    *,
    thread_id: str,
    source: Source,
    values: Mapping[str, Any],
    writes: dict[str, Any],
    expected_head: str | None,
) -> Checkpoint:
    checkpoint = new_checkpoint(
        parent,
        thread_id=thread_id,
        source=source,
        values=dict(values),
        next=parent.next,
        writes=writes,
        metadata=dict(EDIT_METADATA),
    )
    await checkpointer.put(checkpoint, expected_head=expected_head)
    return await read_back(checkpointer, make_config(thread_id, checkpoint.id))


async def read_back(
    checkpointer: BaseCheckpointer, config: Mapping[str, Any]
) -> Checkpoint:
    """The checkpoint ``config`` names, as ``checkpointer`` reads it."""
    configurable = config["configurable"]
    found = await checkpointer.get(
        configurable["thread_id"], configurable["checkpoint_id"]
    )
    if found is None:  # a backend that lost what it just committed
        raise TimeloomError(
            f"Checkpoint {configurable['checkpoint_id']} was written but cannot be "
            f"read back",
            title="Write not visible",
        )
    return found


# -- resume ---------------------------------------------------------------------------


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
    _require(checkpointer, graph, "resume")
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

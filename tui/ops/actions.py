"""The TUI's write actions (edit, branch; resume is in :mod:`~.resuming`) as plain
async functions.

They know nothing of widgets: the app runs them in workers and passes callbacks for
progress (``on_checkpoint``) and questions (``ask``), so they are tested directly.

Every action first asks :func:`write_action_refusal`, which is also what the app uses
to disable a binding and say why: nothing is written to a read-only checkpointer,
and resuming needs the graph. Editing and branching work without a graph: the new
checkpoint is then written directly, the way the runtime writes an update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

from timeloom.core.checkpoint import Checkpoint, Source, new_checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.config import make_config
from timeloom.core.errors import CheckpointNotFound, TimeloomError
from timeloom.core.namespaces import split_timeline
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


def require(
    checkpointer: BaseCheckpointer, graph: CompiledGraph | None, action: WriteAction
) -> None:
    """Raise :class:`ActionRefused` when ``action`` cannot run here (see
    :func:`write_action_refusal`)."""
    reason = write_action_refusal(checkpointer, graph, action)
    if reason is not None:
        raise ActionRefused(reason, title=f"Cannot {_VERBS[action]}")


def require_root(timeline: str, thread_id: str, ns: str) -> None:
    """Refuse to branch a checkpoint of a subgraph's ``timeline`` (namespace
    ``ns`` of ``thread_id``): a subgraph's state branches with its thread's (a
    copy of it alone would be a subgraph timeline with no thread above it, or a
    thread its root graph cannot resume).

    Raises:
        ActionRefused: ``ns`` is not the root's.
    """
    if ns:
        raise ActionRefused(
            f"{timeline!r} is a subgraph's timeline; it branches with its thread. "
            f"Branch the checkpoint of {thread_id!r} that ran it instead.",
            title="Cannot branch",
        )


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
    require(checkpointer, graph, "edit")
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
    require(checkpointer, graph, "branch")
    require_root(checkpoint.thread_id, *split_timeline(checkpoint.thread_id))
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

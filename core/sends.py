"""``Send``: map-reduce fan-out, one task per ``Send`` with its own input.

A router (or ``Command(goto=...)``) may return ``Send(node, arg)`` objects beside
node names. Each one is a task of the next step that calls ``node`` with ``arg``
instead of the state; its update joins the others' through the reducers. As in
LangGraph, a step's tasks are those its sends start (first, in the order they were
sent) and then the nodes its edges start; updates are applied edge-started tasks
first, then sends in their order.

Where they are kept: a checkpoint's ``next`` lists the sends' nodes first, then the
nodes its edges start; the sends themselves (node and input) are in its metadata
under :data:`~timeloom.core.constants.SENDS`, hidden from snapshots, so every
backend persists them with the checkpoint they are due from and a crash, a resume
or a replay runs exactly those sends again.

Each task has a key naming it in the pending writes of its checkpoint (the
``node`` of :class:`~timeloom.core.checkpoint.PendingWrite`): a node started by an
edge is keyed by its name, the ``i``-th send of a step by ``"node#i"``. Errors,
interrupts, resume answers and the updates a resume reuses are per task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from timeloom.core.constants import SENDS

if TYPE_CHECKING:
    from timeloom.core.checkpoint import Checkpoint
    from timeloom.core.graph import NodeSpec


class Send:
    """A task for the next step: call ``node`` with ``arg`` (not the state).

    Return a list of them from a conditional edge to fan out (map-reduce), mixed
    with node names if wanted, or give them to ``Command(goto=...)``.
    """

    __slots__ = ("arg", "node")

    def __init__(self, node: str, arg: Any) -> None:
        self.node = node
        self.arg = arg

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Send)
            and self.node == other.node
            and self.arg == other.arg
        )

    def __hash__(self) -> int:
        return hash((self.node, repr(self.arg)))


class Task(NamedTuple):
    """One task of a step: a node, and its input if a ``Send`` started it."""

    key: str
    """Names the task in pending writes: the node, or ``"node#i"`` for a send."""
    name: str
    """The node the task runs."""
    spec: NodeSpec
    send: Send | None = None


def sends_of(checkpoint: Checkpoint) -> tuple[Send, ...]:
    """The sends due from ``checkpoint``, in order."""
    stored: Sequence[Sequence[Any]] = checkpoint.metadata.get(SENDS, ())
    return tuple(Send(str(node), arg) for node, arg in stored)


def with_sends(metadata: Mapping[str, Any], sends: Sequence[Send]) -> Mapping[str, Any]:
    """``metadata`` recording ``sends`` as due (as plain data every backend stores);
    ``metadata`` itself when there are none to record or drop (the common case)."""
    if not sends:
        if SENDS not in metadata:
            return metadata
        return {k: v for k, v in metadata.items() if k != SENDS}
    return {**metadata, SENDS: [[s.node, s.arg] for s in sends]}


def next_of(pulls: Sequence[str], sends: Sequence[Send]) -> tuple[str, ...]:
    """A checkpoint's ``next``, as LangGraph lists it: the sends' nodes, then the
    nodes started by edges."""
    return (*(s.node for s in sends), *pulls) if sends else tuple(pulls)


def tasks_of(checkpoint: Checkpoint, nodes: Mapping[str, NodeSpec]) -> list[Task]:
    """The tasks due from ``checkpoint`` in the order their updates apply: the
    nodes edges started, by name (as LangGraph orders them, whatever the order
    they were added in), then the sends (nodes this graph lacks are skipped)."""
    if SENDS not in checkpoint.metadata:  # the common case, first
        return [
            Task(name, name, nodes[name])
            for name in sorted(checkpoint.next)
            if name in nodes
        ]
    sends = sends_of(checkpoint)
    pulls = [
        Task(name, name, nodes[name])
        for name in sorted(checkpoint.next[len(sends) :])
        if name in nodes
    ]
    pushes = [
        Task(f"{send.node}#{i}", send.node, nodes[send.node], send)
        for i, send in enumerate(sends)
        if send.node in nodes
    ]
    return pulls + pushes


def task_keys(checkpoint: Checkpoint) -> list[tuple[str, str, tuple[Any, ...]]]:
    """``(key, node, path)`` of each task due from ``checkpoint``, in ``next``'s
    order; ``path`` as LangGraph's task path (a send's by its index)."""
    count = len(checkpoint.metadata.get(SENDS, ()))
    return [
        (f"{node}#{i}", node, ("__pregel_push", i, False))
        if i < count
        else (node, node, ("__pregel_pull", node))
        for i, node in enumerate(checkpoint.next)
    ]


def with_gotos(
    checkpoint: Checkpoint,
    gotos: Sequence[str | Send],
    order: Callable[[Sequence[str]], tuple[str, ...]],
) -> Checkpoint:
    """``checkpoint`` with ``Command(goto=...)`` given as input added to what is
    due (as in LangGraph, beside what already was): names, in ``order``, and
    sends after its own."""
    sends = sends_of(checkpoint)
    added = [g for g in gotos if isinstance(g, Send)]
    names = [g for g in gotos if not isinstance(g, Send)]
    pulls = order([*checkpoint.next[len(sends) :], *names])
    return replace(
        checkpoint,
        next=next_of(pulls, [*sends, *added]),
        metadata=with_sends(checkpoint.metadata, [*sends, *added]),
    )


def writes_by_node(
    by_task: Mapping[str, Any], nodes: Mapping[str, str]
) -> dict[str, Any]:
    """What each node wrote in a step (a checkpoint's ``writes``) from what each
    task wrote, keyed as in :func:`tasks_of` and in the order the updates applied:
    a node's one task's write, or the list of its tasks' writes when several of
    its tasks ran (its sends, besides an edge's)."""
    grouped: dict[str, list[Any]] = {}
    for key, written in by_task.items():
        grouped.setdefault(nodes[key], []).append(written)
    return {node: ws[0] if len(ws) == 1 else ws for node, ws in grouped.items()}


def task_results(checkpoint: Checkpoint, writes: Mapping[str, Any]) -> dict[str, Any]:
    """What each task due from ``checkpoint`` wrote, by key, from the ``writes`` of
    the step that ran them (see :func:`writes_by_node`)."""
    keys = task_keys(checkpoint)
    applied = [k for k in keys if k[0] == k[1]] + [k for k in keys if k[0] != k[1]]
    by_node: dict[str, list[str]] = {}
    for key, node, _ in applied:
        by_node.setdefault(node, []).append(key)
    found: dict[str, Any] = {}
    for node, node_keys in by_node.items():
        written = writes.get(node)
        if len(node_keys) > 1 and isinstance(written, list):
            if len(written) == len(node_keys):
                found.update(zip(node_keys, written, strict=True))
                continue
        found.update(dict.fromkeys(node_keys, written))
    return found

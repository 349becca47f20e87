"""Whose update an ``update_state`` is: the node named, or the one LangGraph infers."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from timeloom.core.constants import START
from timeloom.core.errors import InvalidUpdateError

if TYPE_CHECKING:
    from timeloom.core.checkpoint import Checkpoint
    from timeloom.core.checkpointer import BaseCheckpointer


async def infer_writer(
    nodes: Collection[str],
    checkpointer: BaseCheckpointer | None,
    base: Checkpoint | None,
    as_node: str | None,
) -> str | None:
    """Whose update an ``update_state`` is: ``as_node``, else inferred.

    As LangGraph infers it: the node that wrote the checkpoint (``START`` for a
    run's input). A fork or an edit records no node of its own, so the
    inference looks through it to the checkpoint it copied. ``None`` when no
    writer can be found (e.g. the copied checkpoint was pruned): the update
    then keeps the checkpoint's ``next``.

    Args:
        nodes: the graph's nodes.
        checkpointer: where the checkpoints a fork or an edit copied are read.
        base: the checkpoint updated (None: a new thread).
        as_node: the node the caller named, if any.

    Raises:
        InvalidUpdateError: an unknown ``as_node``, or several nodes wrote it.
    """
    if as_node is not None:
        if as_node not in nodes and as_node != START:
            raise InvalidUpdateError(
                f"as_node={as_node!r} is not a node of this graph; nodes: "
                f"{', '.join(nodes)}"
            )
        return as_node
    current = base
    while current is not None:
        writers = [n for n in current.writes if n in nodes or n == START]
        if len(writers) > 1:
            raise InvalidUpdateError(
                f"Several nodes ({', '.join(writers)}) wrote checkpoint "
                f"{current.id}; pass as_node to say whose update this is"
            )
        if writers:
            return writers[0]
        if current.source not in ("update", "fork") or current.parent_id is None:
            return START
        assert checkpointer is not None
        current = await checkpointer.get(
            current.parent_thread_id or current.thread_id, current.parent_id
        )
    return None if base is not None else START

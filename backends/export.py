"""Copy a thread from one checkpointer into another (e.g. LangGraph -> Timeloom).

The typical use: a production LangGraph database is open read-only; copy one of its
threads into a local, writable Timeloom database, then fork, edit and replay it
there without touching production.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.decode import inert
from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import CheckpointNotFound, ConflictError

EXPORTED_FROM = "timeloom.exported_from"
"""Metadata key added to every copied checkpoint: ``{"url", "thread_id"}``."""

_SCALARS = (
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    dt.datetime,
    dt.date,
    dt.time,
    dt.timedelta,
    uuid.UUID,
    decimal.Decimal,
    Inert,
)


def storable(value: Any) -> Any:
    """``value`` with everything Timeloom's codec has no type for made inert.

    Containers are walked; a value of another type (a path, an IP address, a time
    zone...) becomes an inert value holding its ``repr``. A deque becomes a list and a
    bytearray bytes.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | collections.deque):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    if isinstance(value, set):
        return {storable(v) for v in value}
    if isinstance(value, frozenset):
        return frozenset(storable(v) for v in value)
    kind = type(value)
    return inert(f"{kind.__module__}.{kind.__qualname__}", {"repr": repr(value)})


async def read_history(source: BaseCheckpointer, thread_id: str) -> list[Checkpoint]:
    """A thread's checkpoints with values, newest first: in two queries from the
    LangGraph reader (``history()``), else one ``get()`` per checkpoint."""
    bulk = getattr(source, "history", None)
    if bulk is not None:  # the LangGraph reader reads a whole thread in two queries
        found: list[Checkpoint] = await bulk(thread_id)
        return found
    out = []
    async for meta in source.summaries(thread_id):
        checkpoint = await source.get(thread_id, meta.id)
        if checkpoint is not None:
            out.append(checkpoint)
    return out


def _parents_first(checkpoints: Iterable[Checkpoint]) -> list[Checkpoint]:
    """Oldest first, every parent before its children (ids alone may disagree)."""
    ordered = sorted(checkpoints, key=lambda c: c.id)
    by_id = {c.id: c for c in ordered}
    done: set[str] = set()
    out: list[Checkpoint] = []

    def visit(checkpoint: Checkpoint) -> None:
        chain = []
        while checkpoint.id not in done:
            chain.append(checkpoint)
            done.add(checkpoint.id)
            parent = by_id.get(checkpoint.parent_id or "")
            if parent is None:
                break
            checkpoint = parent
        out.extend(reversed(chain))

    for checkpoint in ordered:
        visit(checkpoint)
    return out


async def export_thread(
    source: BaseCheckpointer,
    thread_id: str,
    target: BaseCheckpointer,
    *,
    target_thread_id: str | None = None,
) -> int:
    """Copy a thread's checkpoints, with ids, parents and pending writes, into
    ``target``.

    Values are copied as the source decoded them; stored objects the source kept
    inert stay inert (and are stored as such). Checkpoints are put oldest first with
    every parent before its children, so the target's head ends on the newest one,
    as in the source. A first checkpoint whose parent is outside the thread (a
    subgraph timeline's) gets no parent.

    Args:
        source: where the thread is (any checkpointer; read-only is fine).
        thread_id: the thread (for the LangGraph reader, ``"thread|ns"`` names a
            subgraph timeline).
        target: a writable checkpointer.
        target_thread_id: the thread id in ``target`` (default: ``thread_id``).

    Returns:
        The number of checkpoints copied.

    Raises:
        CheckpointNotFound: ``source`` has no such thread.
        ConflictError: ``target`` already has a thread of that id.
        ReadOnlyError: ``target`` is read-only.
    """
    name = target_thread_id or thread_id
    checkpoints = _parents_first(await read_history(source, thread_id))
    if not checkpoints:
        raise CheckpointNotFound(f"No thread {thread_id!r} in {source.url}")
    if await target.get_thread(name) is not None:
        raise ConflictError(
            f"{target.url} already has a thread {name!r}: export into another "
            "database, or under another thread id (target_thread_id)."
        )
    ids = {c.id for c in checkpoints}
    origin = {"url": source.url, "thread_id": thread_id}
    head: str | None = None
    for checkpoint in checkpoints:
        inside = checkpoint.parent_id in ids
        copy = replace(
            checkpoint,
            thread_id=name,
            parent_id=checkpoint.parent_id if inside else None,
            parent_thread_id=name if inside else None,
            values=storable(dict(checkpoint.values)),
            writes=storable(dict(checkpoint.writes)),
            metadata=storable({**checkpoint.metadata, EXPORTED_FROM: origin}),
            pending_writes=(),
        )
        await target.put(copy, expected_head=head)
        head = copy.id
        if checkpoint.pending_writes:
            await target.put_pending(
                name,
                copy.id,
                [
                    PendingWrite(w.node, w.kind, storable(w.value))
                    for w in checkpoint.pending_writes
                ],
            )
    return len(checkpoints)

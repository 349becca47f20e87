"""Naming a checkpoint: ``THREAD@CHECKPOINT`` (the id, or a unique prefix of it of
at least :data:`MIN_PREFIX` characters), ``THREAD`` for the thread's head, or a
checkpoint id alone (ids are unique across threads). A subgraph's timeline is named
as it is typed: ``thread|node`` or ``thread|node:<start of its task id>`` is
enough when it names one timeline (:func:`resolve_thread`)."""

from __future__ import annotations

import shlex
from typing import Final

from timeloom.backends.urls import sqlite_path
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.namespaces import NS_SEP
from timeloom.tui.ops.errors import CommandError
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.safetext import unescaped
from timeloom.tui.ops.subgraphs import as_typed, is_subgraph, root_of, typed_as

MIN_PREFIX: Final = 6
"""The shortest id prefix that names a checkpoint."""

CANDIDATES_SHOWN: Final = 5
"""Timelines an ambiguous name lists (the rest are counted)."""


class NotFound(CommandError):
    """A thread or checkpoint named on the command line does not exist."""


def split_ref(ref: str) -> tuple[str, str | None]:
    """``THREAD@CHECKPOINT`` as ``(thread, checkpoint)``; ``THREAD`` as ``(thread, None)``."""
    thread_id, at, checkpoint_id = ref.rpartition("@")
    return (thread_id, checkpoint_id or None) if at else (ref, None)


async def resolve_thread(checkpointer: BaseCheckpointer, typed: str) -> str:
    """The thread (or subgraph timeline) id ``typed`` names: itself if it is
    one; for a subgraph timeline (``thread|...``), the one timeline of that
    thread it can mean (see :func:`~timeloom.tui.ops.subgraphs.typed_as`), so
    ``t|sub`` works without the task id.

    Raises:
        NotFound: no such thread; no subgraph timeline by that name (the message
            says how to list them), or several (the message lists them).
    """
    if await checkpointer.get_thread(typed) is not None:
        return typed
    raw = unescaped(typed)  # an id copied as shown, control characters escaped
    if raw != typed and await checkpointer.get_thread(raw) is not None:
        return raw
    shown = as_typed(typed)
    if not is_subgraph(shown):
        raise NotFound(f"No thread {typed!r}")
    root = root_of(shown)
    found = sorted(
        info.thread_id
        for info in await checkpointer.subgraphs(root)
        if typed_as(shown, info.thread_id)
    )
    if len(found) == 1:
        return found[0]
    where = sqlite_path(checkpointer.url) or checkpointer.url
    listing = (
        f"timeloom threads {shlex.quote(where)} --search "
        f"{shlex.quote(root + NS_SEP)} lists them"
    )
    if not found:
        raise NotFound(f"No subgraph timeline {typed!r} ({listing})")
    more = len(found) - CANDIDATES_SHOWN
    named = ", ".join(repr(t) for t in found[:CANDIDATES_SHOWN])
    raise NotFound(
        f"{typed!r} names {counted(len(found), 'subgraph timeline')}: {named}"
        f"{f' and {more} more' if more > 0 else ''}; give more of the task id "
        f"({listing})"
    )


async def resolve_ref(checkpointer: BaseCheckpointer, ref: str) -> Checkpoint:
    """The checkpoint ``THREAD@CHECKPOINT``, ``THREAD`` (its head) or ``CHECKPOINT`` names.

    A thread id is read as stored or as the commands show it (control characters
    escaped, :func:`~timeloom.tui.ops.safetext.unescaped`).

    Raises:
        NotFound: nothing by that name, or an ambiguous id prefix or timeline.
    """
    # A thread id first (one may hold "@"), as stored or as shown (escaped).
    for name in dict.fromkeys((ref, unescaped(ref))):
        head = await checkpointer.get(name)
        if head is not None:
            return head
    thread_id, at, checkpoint_id = ref.rpartition("@")
    if not at:
        if is_subgraph(as_typed(ref)):  # no checkpoint id has a "|"
            found = await checkpointer.get(await resolve_thread(checkpointer, ref))
        else:
            found = await checkpointer.get(None, ref)
        if found is None:
            raise NotFound(f"No thread or checkpoint {ref!r}")
        return found
    if not thread_id or not checkpoint_id:
        raise NotFound(f"{ref!r}: write THREAD@CHECKPOINT")
    thread_id = await resolve_thread(checkpointer, thread_id)
    found = await checkpointer.get(thread_id, checkpoint_id)
    if found is not None:
        return found
    if len(checkpoint_id) >= MIN_PREFIX:
        matches = [m.id async for m in checkpointer.summaries(thread_id)]
        matches = [cid for cid in matches if cid.startswith(checkpoint_id)]
        if len(matches) == 1:
            found = await checkpointer.get(thread_id, matches[0])
            if found is not None:
                return found
        if len(matches) > 1:
            raise NotFound(
                f"{checkpoint_id!r} is the start of {len(matches)} checkpoints of "
                f"{thread_id!r}; give more of the id"
            )
    raise NotFound(f"No checkpoint {checkpoint_id!r} in thread {thread_id!r}")

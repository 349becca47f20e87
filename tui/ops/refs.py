"""Naming a checkpoint: ``THREAD@CHECKPOINT`` (the id, or a unique prefix of it of
at least :data:`MIN_PREFIX` characters), ``THREAD`` for the thread's head, or a
checkpoint id alone (ids are unique across threads)."""

from __future__ import annotations

from typing import Final

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.ops.errors import CommandError

MIN_PREFIX: Final = 6
"""The shortest id prefix that names a checkpoint."""


class NotFound(CommandError):
    """A thread or checkpoint named on the command line does not exist."""


def split_ref(ref: str) -> tuple[str, str | None]:
    """``THREAD@CHECKPOINT`` as ``(thread, checkpoint)``; ``THREAD`` as ``(thread, None)``."""
    thread_id, at, checkpoint_id = ref.rpartition("@")
    return (thread_id, checkpoint_id or None) if at else (ref, None)


async def resolve_ref(checkpointer: BaseCheckpointer, ref: str) -> Checkpoint:
    """The checkpoint ``THREAD@CHECKPOINT``, ``THREAD`` (its head) or ``CHECKPOINT`` names.

    Raises:
        NotFound: nothing by that name, or an ambiguous id prefix.
    """
    thread_id, at, checkpoint_id = ref.rpartition("@")
    if not at:
        head = await checkpointer.get(ref)
        if head is not None:
            return head
        found = await checkpointer.get(None, ref)
        if found is None:
            raise NotFound(f"No thread or checkpoint {ref!r}")
        return found
    if not thread_id or not checkpoint_id:
        raise NotFound(f"{ref!r}: write THREAD@CHECKPOINT")
    found = await checkpointer.get(thread_id, checkpoint_id)
    if found is not None:
        return found
    if await checkpointer.get_thread(thread_id) is None:
        raise NotFound(f"No thread {thread_id!r}")
    if len(checkpoint_id) >= MIN_PREFIX:
        matches = [m.id async for m in checkpointer.list(thread_id)]
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

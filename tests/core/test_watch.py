"""The default watch(): polls recent() and yields each new checkpoint once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core.checkpoint import Checkpoint, CheckpointMeta
from timeloom.core.ids import new_checkpoint_id


def _checkpoint(thread_id: str, parent: str | None, step: int) -> Checkpoint:
    return Checkpoint(
        id=new_checkpoint_id(),
        thread_id=thread_id,
        parent_id=parent,
        parent_thread_id=thread_id if parent else None,
        step=step,
        source="loop",
        created_at=datetime.now(UTC),
        values={"step": step},
        next=(),
    )


async def test_watch_yields_only_new_checkpoints_even_in_bursts() -> None:
    store = MemoryCheckpointer()
    before = _checkpoint("t", None, 0)
    await store.put(before, expected_head=None)
    seen: list[CheckpointMeta] = []

    async def follow() -> None:
        async for meta in store.watch("t", poll_interval=0.01):
            seen.append(meta)
            if len(seen) == 1200:
                return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.05)  # the watch has started and seen what existed
    head = before.id
    written = []
    for step in range(1, 1201):  # more than one page of recent() per poll
        checkpoint = _checkpoint("t", head, step)
        await store.put(checkpoint, expected_head=head)
        head = checkpoint.id
        written.append(checkpoint.id)
    await asyncio.wait_for(watcher, timeout=10)
    assert [m.id for m in seen] == written, "each new one once, in order; none older"

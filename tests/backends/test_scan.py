"""Reading a thread's values in bulk: each distinct stored value decoded once, and
the same values as reading each checkpoint with get()."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from timeloom.backends.scan import HeaderDecoder, LaidOutStore, entry_tokens
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.ids import new_checkpoint_id


async def test_a_value_unchanged_across_a_thread_is_decoded_once(
    tmp_path: Path,
) -> None:
    order = {"id": 7, "items": [f"item {i}" for i in range(50)]}
    async with SqliteCheckpointer(tmp_path / "t.db") as cp:
        assert isinstance(cp, LaidOutStore)
        parent = None
        for step in range(100):
            checkpoint = Checkpoint(
                id=new_checkpoint_id(),
                thread_id="t",
                parent_id=parent,
                parent_thread_id="t" if parent else None,
                step=step,
                source="loop",
                created_at=datetime.now(UTC),
                values={
                    "order": order,
                    "log": [f"line {i}" for i in range(step)],
                    "n": step,
                },
                next=(),
            )
            await cp.put(checkpoint, expected_head=parent)
            parent = checkpoint.id
        headers = await cp.value_headers("t")
        assert len(headers) == 100
        decoder = HeaderDecoder(cp.serde, cp.blob_fetch())
        for checkpoint_id, header in headers:
            values = await decoder.values(header)
            stored = await cp.get("t", checkpoint_id)
            assert stored is not None
            assert values == stored.values
        # order: once; n and log: once per checkpoint (each changes every step).
        assert decoder.decoded == 1 + 100 + 100
        tokens = [entry_tokens(h) for _, h in headers]
        assert len({t["order"] for t in tokens}) == 1
        assert len({t["n"] for t in tokens}) == 100

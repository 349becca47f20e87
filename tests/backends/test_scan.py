"""Reading a thread's values in bulk: each distinct stored value decoded once, and
the same values as reading each checkpoint with get()."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path

import msgpack

from timeloom.backends.layout import CHUNK_ITEMS, HEADER_VERSION, blob_key, frame
from timeloom.backends.scan import HeaderDecoder, LaidOutStore, entry_tokens
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint, UnreadableValue
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
        listed = [m.id async for m in cp.summaries("t")]
        assert [m.id for m, _ in headers] == listed[::-1]
        for meta, header in headers:
            values = await decoder.values(header)
            stored = await cp.get("t", meta.id)
            assert stored is not None
            assert values == stored.values
        # order: once; n and log: once per checkpoint (each changes every step).
        assert decoder.decoded == 1 + 100 + 100
        tokens = [entry_tokens(h) for _, h in headers]
        assert len({t["order"] for t in tokens}) == 1
        assert len({t["n"] for t in tokens}) == 100


async def test_a_crafted_list_is_refused_as_when_reading_one_checkpoint() -> None:
    """A manifest naming one chunk 1,000 times (160 MB from 176 KB stored) reads
    as unreadable, the rest of the checkpoint as stored."""
    serde = Serializer()
    chunk = frame([serde.dumps("x" * 10_000)] * CHUNK_ITEMS)
    manifest = blob_key(chunk) * 1000
    blobs = {blob_key(chunk): chunk, blob_key(manifest): manifest}
    header = msgpack.packb(
        [
            HEADER_VERSION,
            {
                "list": ["l", 1000 * CHUNK_ITEMS, blob_key(manifest), []],
                "short": ["l", 5, blob_key(manifest), []],
                "other": ["i", serde.dumps(1)],
            },
        ]
    )

    async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
        return {k: blobs[k] for k in keys if k in blobs}

    values = await HeaderDecoder(serde, fetch).values(header)
    assert isinstance(values["list"], UnreadableValue)
    assert "refused" in values["list"].reason
    assert isinstance(values["short"], UnreadableValue)
    assert values["other"] == 1

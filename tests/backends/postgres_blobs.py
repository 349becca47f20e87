"""Which blobs a PostgreSQL store holds and which its checkpoints need, read with
plain SQL (not the checkpointer): for tests of garbage collection and crashes."""

from __future__ import annotations

from collections.abc import Collection

import asyncpg

from timeloom.backends.layout import referenced_keys
from timeloom.backends.postgres_sql import WRITES_LAYOUT_MARK


async def blob_keys(conn: asyncpg.Connection) -> tuple[set[bytes], set[bytes]]:
    """Return the blobs stored and the blobs the checkpoints' values and writes
    need (directly or through a manifest), read in one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch("SELECT hash FROM timeloom_blobs")
        stored = {bytes(r[0]) for r in rows}
        headers = []
        for header, writes in await conn.fetch(
            "SELECT values_header, writes FROM timeloom_checkpoints"
        ):
            headers.append(bytes(header))
            if bytes(writes).startswith(WRITES_LAYOUT_MARK):
                headers.append(bytes(writes)[len(WRITES_LAYOUT_MARK) :])

        async def fetch(keys: Collection[bytes]) -> dict[bytes, bytes]:
            found = await conn.fetch(
                "SELECT hash, data FROM timeloom_blobs WHERE hash = ANY($1)",
                list(keys),
            )
            return {bytes(r[0]): bytes(r[1]) for r in found}

        return stored, await referenced_keys(headers, fetch)

"""Storage accounting on LangGraph databases: what each checkpoint's writes take."""

from __future__ import annotations

import sqlite3
from collections import Counter

import asyncpg

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.langgraph.sizes import MeasuresStorage


async def _written_bytes(built: lgdb.Built, thread_id: str) -> Counter[str]:
    """Each checkpoint's write rows' value bytes, read straight from the tables."""
    found: Counter[str] = Counter()
    if built.url.startswith("postgres"):
        conn = await asyncpg.connect(built.url)
        try:
            rows = await conn.fetch(
                "SELECT checkpoint_id, blob FROM checkpoint_writes "
                "WHERE thread_id = $1 AND checkpoint_ns = ''",
                thread_id,
            )
        finally:
            await conn.close()
    else:
        with sqlite3.connect(built.url) as db:
            rows = db.execute(
                "SELECT checkpoint_id, value FROM writes "
                "WHERE thread_id = ? AND checkpoint_ns = ''",
                (thread_id,),
            ).fetchall()
    for checkpoint_id, value in rows:
        found[checkpoint_id] += len(value or b"")
    return found


async def test_each_checkpoint_counts_its_own_write_rows(source: lgdb.Built) -> None:
    reader = open_langgraph(source.url)
    assert isinstance(reader, MeasuresStorage)
    async with reader:
        for thread_id in ("hitl-1", "paused-1"):
            expected = await _written_bytes(source, thread_id)
            measured = {
                s.checkpoint_id: s.write_bytes
                async for s in reader.stored_sizes(thread_id)
            }
            ids = [m.id async for m in reader.summaries(thread_id)]
            assert set(measured) == set(ids)
            assert {cid: n for cid, n in measured.items() if n} == dict(expected)
            assert sum(expected.values()) > 0

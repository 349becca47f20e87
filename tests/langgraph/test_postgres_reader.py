"""Postgres specifics: nothing is written, and schemas the reader cannot use are
reported clearly. (The shared behaviour runs on Postgres in test_reader.py.)"""

from __future__ import annotations

import warnings
from typing import Any

import asyncpg
import psycopg
import pytest

from tests.langgraph import lgdb
from timeloom.backends.dsn import mask_dsn
from timeloom.backends.langgraph import (
    LANGGRAPH_PG_TABLES,
    LangGraphPostgres,
    open_langgraph,
)
from timeloom.core.errors import ReadOnlyError, SchemaError, StoreConnectionError

pytestmark = pytest.mark.postgres


def _fingerprint(dsn: str) -> dict[str, Any]:
    """Row count and a digest of every row version (xmin, ctid) of each table."""
    out: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        for table in LANGGRAPH_PG_TABLES:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(xmin::text || '/' || "
                f"ctid::text, ',' ORDER BY ctid), '')) FROM {table}"
            ).fetchone()
            out[table] = row
        out["tables"] = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        ).fetchone()
    return out


async def test_session_leaves_tables_unchanged(postgres_dsn: str) -> None:
    built = lgdb.build_postgres(postgres_dsn)
    before = _fingerprint(postgres_dsn)
    assert before["checkpoints"][0] > 0
    async with open_langgraph(postgres_dsn) as cp:
        assert isinstance(cp, LangGraphPostgres)
        for info in await cp.threads():
            for full in await cp.history(info.thread_id):
                assert await cp.get(info.thread_id, full.id) is not None
                await cp.children(full.id)
            _ = [m async for m in cp.summaries(info.thread_id)]
            await cp.subgraphs(info.thread_id)
        await cp.recent(limit=1000)
        head = await cp.get("chat-1")
        assert head is not None
        with pytest.raises(ReadOnlyError):
            await cp.put(head, expected_head=head.id)
        with pytest.raises(ReadOnlyError):
            await cp.put_pending("chat-1", head.id, head.pending_writes)
        with pytest.raises(ReadOnlyError):
            await cp.adelete_thread("chat-1")
        with pytest.raises(ReadOnlyError):
            await cp.prune("chat-1", keep_last=1)
        # The server itself refuses writes on the reader's connections.
        pool = await cp._pool()
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await pool.execute("DELETE FROM checkpoint_writes")
        assert cp.url == postgres_dsn  # no password in the test DSN
        assert len(await cp.threads()) == len({t for t, ns in built.history if not ns})
    assert _fingerprint(postgres_dsn) == before


async def test_shallow_saver_schema_is_refused(postgres_dsn: str) -> None:
    from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with ShallowPostgresSaver.from_conn_string(postgres_dsn) as saver:
            saver.setup()
            lgdb.chat_graph(saver).invoke(
                {"messages": []}, {"configurable": {"thread_id": "t"}}
            )
    with pytest.raises(SchemaError, match="ShallowPostgresSaver") as info:
        async with open_langgraph(postgres_dsn):
            pass
    assert info.value.title == "Shallow LangGraph database"


async def test_foreign_database_is_refused(postgres_dsn: str) -> None:
    with pytest.raises(SchemaError, match="no LangGraph"):
        async with open_langgraph(postgres_dsn):
            pass


async def test_unreachable_server_is_a_connection_error() -> None:
    dsn = "postgresql://someone:s3cret@127.0.0.1:1/nothing"
    reader = open_langgraph(dsn)
    assert "s3cret" not in reader.url
    assert mask_dsn(dsn) == "postgresql://someone:***@127.0.0.1:1/nothing"
    with pytest.raises(StoreConnectionError) as info:
        async with reader:
            pass
    assert "s3cret" not in str(info.value)
    # A password given in the query string is masked too.
    in_query = open_langgraph("postgresql://127.0.0.1:1/nothing?user=a&password=s3cret")
    assert "s3cret" not in in_query.url

"""open_checkpointer routes LangGraph databases to the read-only reader."""

from __future__ import annotations

import pytest

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.urls import open_checkpointer
from timeloom.core.errors import ReadOnlyError, StoreConnectionError


@pytest.mark.postgres
async def test_langgraph_postgres_opens_read_only_with_the_reader(
    pg_built: lgdb.Built,
) -> None:
    checkpointer = open_checkpointer(pg_built.url)  # not asked for read-only
    assert isinstance(checkpointer, LangGraphReader)
    assert checkpointer.read_only
    async with checkpointer:
        assert await checkpointer.count_threads() == len(
            {t for t, ns in pg_built.history if ns == ""}
        )


@pytest.mark.postgres
async def test_timeloom_postgres_and_empty_databases_open_with_the_backend(
    postgres_dsn: str,
) -> None:
    checkpointer = open_checkpointer(postgres_dsn)
    assert isinstance(checkpointer, PostgresCheckpointer)
    async with checkpointer:  # creates the schema
        pass
    again = open_checkpointer(postgres_dsn, read_only=True)
    assert isinstance(again, PostgresCheckpointer)
    assert again.read_only


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StoreConnectionError, match="Cannot connect") as raised:
        open_checkpointer("postgresql://ada:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(raised.value)


@pytest.mark.postgres
async def test_timeloom_tables_in_a_langgraph_database_on_request(
    postgres_dsn: str,
) -> None:
    lgdb.build_postgres(postgres_dsn)
    reader = open_checkpointer(postgres_dsn)
    assert isinstance(reader, LangGraphReader)
    async with reader:
        head = await reader.get((await reader.threads(limit=1))[0].thread_id)
        assert head is not None
        with pytest.raises(ReadOnlyError, match=r"\?timeloom=own"):
            await reader.put(head, expected_head=head.id)
    own = open_checkpointer(f"{postgres_dsn}?timeloom=own")
    assert isinstance(own, PostgresCheckpointer)
    assert "timeloom=own" not in own.url
    async with own:  # creates Timeloom's tables beside LangGraph's
        assert await own.count_threads() == 0
    # From now on the URL opens Timeloom's tables; LangGraph's are untouched and
    # still read with the reader.
    assert isinstance(open_checkpointer(postgres_dsn), PostgresCheckpointer)
    async with open_langgraph(postgres_dsn) as again:
        assert await again.count_threads() == await reader.count_threads()

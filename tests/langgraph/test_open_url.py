"""open_checkpointer routes LangGraph databases to the read-only reader."""

from __future__ import annotations

import pytest

from tests.langgraph import lgdb
from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.urls import open_checkpointer
from timeloom.core.errors import StoreConnectionError


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

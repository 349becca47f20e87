"""Read real LangGraph checkpoint databases (SQLite and Postgres), read-only.

``open_langgraph(url)`` returns a :class:`~timeloom.core.checkpointer.BaseCheckpointer`
that never writes: every write method raises
:class:`~timeloom.core.errors.ReadOnlyError`, and the database enforces it too. Stored
values are decoded without importing or calling anything the data names (see
:mod:`timeloom.backends.langgraph.decode`); how LangGraph's threads, namespaces and
writes map onto Timeloom's model is described in
:mod:`timeloom.backends.langgraph.mapping`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.langgraph.rows import compose_thread_id, split_thread_id

if TYPE_CHECKING:
    from timeloom.backends.langgraph.postgres import (
        LANGGRAPH_PG_TABLES,
        LangGraphPostgres,
        is_langgraph_postgres,
    )
from timeloom.backends.langgraph.sqlite import (
    LangGraphSqlite,
    is_langgraph_sqlite,
    is_legacy_langgraph_sqlite,
    sqlite_path,
)

__all__ = [
    "LANGGRAPH_PG_TABLES",
    "LangGraphPostgres",
    "is_langgraph_postgres",
    "Inert",
    "LangGraphReader",
    "LangGraphSqlite",
    "compose_thread_id",
    "is_langgraph_sqlite",
    "is_legacy_langgraph_sqlite",
    "open_langgraph",
    "split_thread_id",
]


def open_langgraph(url: str) -> LangGraphReader:
    """Open a LangGraph checkpoint database read-only.

    Nothing is connected until first use (``setup()``, ``async with``, or any read).

    Args:
        url: a file path or ``sqlite:///path`` for ``SqliteSaver`` databases, or a
            ``postgresql://`` (``postgres://``) DSN for ``PostgresSaver`` ones.

    Returns:
        The read-only checkpointer. Its ``warnings`` list says what the user should
        know about how it is open (e.g. SQLite immutable mode).
    """
    if url.startswith(("postgresql://", "postgres://")):
        from timeloom.backends.langgraph.postgres import LangGraphPostgres

        return LangGraphPostgres(url)
    return LangGraphSqlite(sqlite_path(url))


_POSTGRES = ("LANGGRAPH_PG_TABLES", "LangGraphPostgres", "is_langgraph_postgres")


def __getattr__(name: str) -> Any:
    # The Postgres reader (and asyncpg) load on first use: reading a SQLite file,
    # or decoding a value (the JSON editor imports the decoder), needs neither.
    if name in _POSTGRES:
        from timeloom.backends.langgraph import postgres

        return getattr(postgres, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Open a checkpointer from a URL or a path: what ``timeloom open URL`` accepts.

======================================  ==============================================
``memory:``                             a fresh in-memory checkpointer
``path/to/file.db`` (any path)          SQLite (a LangGraph database is recognised by
``sqlite:///relative.db``               its tables and opened with the LangGraph
``sqlite:////absolute.db``              reader)
``sqlite:///:memory:``                  a private in-memory SQLite database
``postgresql://...``, ``postgres://``   PostgreSQL (a LangGraph database, recognised by
                                        its tables, opens with the LangGraph reader)
``postgresql://...?timeloom=own``       Timeloom's own tables, even in a database that
                                        holds LangGraph's (they live side by side)
======================================  ==============================================

Opening a PostgreSQL URL connects once to look at its tables; the other forms do not
touch the network.
"""

from __future__ import annotations

import os
import re
import sqlite3
from urllib.parse import quote

from timeloom.backends.dsn import mask_dsn, parses, scrub
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import SchemaError, StoreConnectionError
from timeloom.core.sync import run_sync

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def open_checkpointer(url: str, *, read_only: bool = False) -> BaseCheckpointer:
    """Return the checkpointer for ``url`` (not yet connected: use ``async with``).

    Args:
        url: a URL or a SQLite file path (see the module docstring).
        read_only: open read-only, enforced by the database where it can be.

    Raises:
        SchemaError: the URL names something Timeloom cannot open (an unknown
            scheme, or a LangGraph database while the LangGraph reader is missing).
        StoreConnectionError: the backend the URL needs is not available.
    """
    # Each backend is imported when its URL is opened, so one backend never needs
    # the driver of another (asyncpg for a SQLite file).
    if url == "memory:":
        from timeloom.backends.memory import MemoryCheckpointer

        cp = MemoryCheckpointer()
        cp.read_only = read_only
        return cp
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme in ("postgresql", "postgres"):
        return _postgres(url, read_only)
    if scheme == "sqlite":
        if not url.startswith("sqlite:///"):
            raise SchemaError(
                f"Cannot open {url!r}: write sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db.",
                title="Unsupported URL",
            )
        path = url[len("sqlite:///") :]
    elif scheme is not None and len(scheme) > 1 and "://" in url:
        raise SchemaError(
            f"Cannot open {url!r}: Timeloom opens memory:, SQLite files (a path, "
            "sqlite:///relative/path.db or sqlite:////absolute/path.db) and "
            "PostgreSQL (postgresql://...).",
            title="Unsupported URL",
        )
    else:
        path = url  # a plain path; `C:\...` and `name:with:colons` included
    if path != ":memory:" and is_langgraph_sqlite(path):
        return _langgraph(url if scheme == "sqlite" else f"sqlite:///{path}", read_only)
    from timeloom.backends.sqlite import SqliteCheckpointer

    return SqliteCheckpointer(path, read_only=read_only)


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL or a plain path names; ``None`` for other URLs.

    Read as SQLAlchemy does: ``sqlite:///x.db`` is the relative path ``x.db``,
    ``sqlite:////tmp/x.db`` the absolute path ``/tmp/x.db``.
    """
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    match = _SCHEME.match(url)
    if url == "memory:" or (match and len(match.group(1)) > 1 and "://" in url):
        return None  # memory:, postgresql://... (a one-letter scheme is a drive)
    return url


def missing_file(url: str) -> str:
    """Says that the SQLite file ``url`` names does not exist, and which path that
    was when a URL's slashes decided it."""
    path = sqlite_path(url) or url
    text = f"There is no database at {path}"
    if url.startswith("sqlite:///") and not os.path.isabs(path):
        text += (
            f" (sqlite:/// with three slashes is relative to the current directory: "
            f"{os.path.abspath(path)}; four slashes, sqlite:////{path}, name "
            f"/{path})"
        )
    return text + "."


def is_langgraph_sqlite(path: str) -> bool:
    """Whether ``path`` is a SQLite database written by LangGraph's ``SqliteSaver``
    (its current schema or the one before August 2024).

    Reads the schema read-only (``mode=ro``) and never writes. A file that does not
    exist, or is not SQLite, is not LangGraph's: the caller reports that.
    """
    if not os.path.isfile(path):
        return False
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            if "timeloom_migrations" in tables or "checkpoints" not in tables:
                return False
            columns = {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM pragma_table_info(?)", ("checkpoints",)
                )
            }
            from timeloom.backends.sqlite_open import is_langgraph_schema

            return is_langgraph_schema(tables, columns)
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _langgraph(url: str, read_only: bool) -> BaseCheckpointer:
    from timeloom.backends.langgraph import open_langgraph

    # The reader only reads: LangGraph's data is never modified from Timeloom.
    return open_langgraph(url)


_PG_TABLES_SQL = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
"""


def _postgres(dsn: str, read_only: bool) -> BaseCheckpointer:
    from timeloom.backends.postgres import PostgresCheckpointer

    dsn, own = _own_tables(dsn)
    if not parses(dsn):
        raise StoreConnectionError(
            f"Not a valid PostgreSQL URL: {mask_dsn(dsn)} (expected "
            "postgresql://user@host:port/dbname, the port a number)",
            title="Could not open checkpoint database",
        )
    if not own and run_sync(_is_langgraph_postgres(dsn)):
        return _langgraph(dsn, read_only)
    return PostgresCheckpointer(dsn, read_only=read_only)


OWN_TABLES_OPTION = "timeloom=own"
"""The URL query option that opens Timeloom's own tables in a shared database."""


def _own_tables(dsn: str) -> tuple[str, bool]:
    """``dsn`` without the ``timeloom=own`` option (the server would reject it as
    an unknown setting), and whether it was given."""
    base, mark, query = dsn.partition("?")
    if not mark:
        return dsn, False
    options = query.split("&")
    own = OWN_TABLES_OPTION in options
    rest = "&".join(o for o in options if o != OWN_TABLES_OPTION)
    return (f"{base}?{rest}" if rest else base), own


async def _is_langgraph_postgres(dsn: str) -> bool:
    """Whether the database holds LangGraph's tables and none of Timeloom's."""
    import asyncpg

    from timeloom.backends.langgraph.postgres import LANGGRAPH_PG_TABLES

    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise StoreConnectionError(
            f"Cannot connect to {mask_dsn(dsn)}: {type(exc).__name__}: "
            f"{scrub(str(exc), dsn)}",
            title="Could not open checkpoint database",
        ) from exc
    try:
        tables = [*LANGGRAPH_PG_TABLES, "timeloom_migrations"]
        rows = await conn.fetch(_PG_TABLES_SQL, tables)
    except asyncpg.PostgresError as exc:
        raise StoreConnectionError(
            f"Cannot read the schema of {mask_dsn(dsn)}: {scrub(str(exc), dsn)}",
            title="Could not open checkpoint database",
        ) from exc
    finally:
        await conn.close()
    present = {row["table_name"] for row in rows}
    # The shallow LangGraph schema goes to the reader too, which explains it cannot.
    return (
        "timeloom_migrations" not in present
        and {
            "checkpoints",
            "checkpoint_blobs",
            "checkpoint_writes",
        }
        <= present
    )

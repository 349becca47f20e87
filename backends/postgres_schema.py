"""The Postgres checkpointer's schema: created and migrated when writable, checked
when read-only (the statements live in :mod:`timeloom.backends.postgres_sql`)."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from timeloom.backends import postgres_sql as q
from timeloom.core.errors import SchemaError

Conn = asyncpg.Connection | PoolConnectionProxy


async def migrate(conn: Conn, url: str) -> None:
    """Create or migrate the schema (several workers may start at once).

    Raises:
        SchemaError: the schema is newer than this Timeloom knows.
    """
    async with conn.transaction():
        # Several workers may start at once: one migrates, the others wait here
        # and then find the schema current.
        await conn.execute(q.SETUP_LOCK_SQL)
        await conn.execute(q.CREATE_MIGRATIONS_TABLE_SQL)
        version = await conn.fetchval(q.SCHEMA_VERSION_SQL)
        _check_version(version, url)
        for number in range(version + 1, len(q.MIGRATIONS) + 1):
            await conn.execute(q.MIGRATIONS[number - 1])
            await conn.execute(q.RECORD_MIGRATION_SQL, number)


async def check_schema(conn: Conn, url: str) -> None:
    """Check, touching nothing, that the database holds a schema this Timeloom reads.

    Raises:
        SchemaError: it does not (with what to do about it).
    """
    tables = {r[0] for r in await conn.fetch(q.INSPECT_TABLES_SQL)}
    if "timeloom_migrations" not in tables:
        if {"checkpoints", "checkpoint_writes"} <= tables:
            hint = (
                "it looks like a LangGraph database; open it with the LangGraph reader"
            )
        else:
            # Named by what the user can run: `threads` and `show` have no
            # --read-only flag to drop (they never write).
            hint = (
                "it is empty: `timeloom open URL` (without --read-only) or "
                "PostgresCheckpointer(url).setup() creates the tables"
            )
        raise SchemaError(
            f"{url} has no Timeloom schema ({hint}).",
            title="Not a Timeloom database",
        )
    version = await conn.fetchval(q.SCHEMA_VERSION_SQL)
    _check_version(version, url)
    if version < q.READABLE_FROM:
        raise SchemaError(
            f"{url} has schema version {version}; this Timeloom reads "
            f"versions {q.READABLE_FROM} to {len(q.MIGRATIONS)}. Open it once "
            "writable (`timeloom open URL` without --read-only) to migrate it.",
            title="Old schema",
        )


def _check_version(version: int, url: str) -> None:
    if version > len(q.MIGRATIONS):
        raise SchemaError(
            f"{url} has schema version {version}, newer than this Timeloom "
            f"knows ({len(q.MIGRATIONS)}). Upgrade Timeloom to open it.",
            title="Newer schema",
        )

"""Opening a SQLite checkpoint database: connect, check what the file is, migrate.

Everything that can be wrong with a file is found here, before any write: not
SQLite, truncated, another application's database, a LangGraph database, a schema
newer than this code. Read-only opens never write (no schema, no journal mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, NoReturn
from urllib.parse import quote

import aiosqlite

from timeloom.backends import sqlite_sql as sql
from timeloom.core.errors import (
    ReadOnlyError,
    SchemaError,
    StoreConnectionError,
    TimeloomError,
)


@dataclass(frozen=True, slots=True)
class OpenOptions:
    """How to open the database (see :class:`~timeloom.backends.sqlite.SqliteCheckpointer`)."""

    path: str
    read_only: bool
    synchronous: str
    busy_timeout: float


IMMUTABLE_WARNING: Final = (
    "Opened with SQLite immutable=1: this WAL database is in a directory you cannot "
    "write, so SQLite cannot create the files a normal read-only open needs. Only "
    "the main file is read: commits made while you browse are not seen, and if a "
    "process writes meanwhile what you see may be inconsistent. For an exact view, "
    "copy the database somewhere writable."
)
"""Added to a checkpointer's ``warnings`` when it had to open the file immutable."""


async def connect(
    opts: OpenOptions, warnings: list[str] | None = None
) -> aiosqlite.Connection:
    """Open the database, check it, and create or migrate the schema when writable.

    Read-only, a WAL database in a directory the user cannot write (so SQLite
    cannot create its ``-shm`` file) is opened with ``immutable=1`` instead, and
    :data:`IMMUTABLE_WARNING` is appended to ``warnings``.

    Raises:
        StoreConnectionError: the file is missing (read-only) or cannot be opened.
        SchemaError: the file is not a Timeloom database this code can use.
        sqlite3.Error: anything else the driver raised (the caller translates it).
    """
    memory = opts.path == ":memory:"
    if not opts.read_only:
        return await _connect(opts, opts.path)
    if memory:
        return await _connect(opts, "file::memory:?mode=ro")
    if _file_size(opts.path) is None:
        raise StoreConnectionError(
            f"No database file at {opts.path}", title="Database not found"
        )
    try:
        return await _connect(opts, _ro_uri(opts.path))
    except sqlite3.OperationalError as exc:
        # Without write access to the directory SQLite cannot create the -shm
        # file a WAL reader needs: "unable to open", or, for a normal user on a
        # cleanly closed database, SQLITE_READONLY_DIRECTORY ("readonly").
        text = str(exc).lower()
        if ("unable to open" not in text and "readonly" not in text) or not _is_wal(
            opts.path
        ):
            raise
    db = await _connect(opts, _ro_uri(opts.path) + "&immutable=1")
    if warnings is not None and IMMUTABLE_WARNING not in warnings:
        warnings.append(IMMUTABLE_WARNING)
        if _file_size(f"{opts.path}-wal"):
            warnings.append(
                f"{os.path.basename(opts.path)}-wal holds commits that immutable "
                "mode does not show: the newest checkpoints may be missing."
            )
    return db


async def _connect(opts: OpenOptions, target: str) -> aiosqlite.Connection:
    connector = aiosqlite.connect(
        target, uri=opts.read_only, timeout=opts.busy_timeout, isolation_level=None
    )
    # aiosqlite's worker thread is not a daemon: a script that never closes its
    # checkpointer would hang at exit. SQLite's journal makes an abandoned
    # transaction roll back on the next open, so a daemon thread is safe.
    thread = getattr(connector, "_thread", None)
    if thread is not None:
        thread.daemon = True
    db = await connector
    try:
        await _prepare(opts, db)
    except BaseException:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await db.close()
        raise
    return db


async def _prepare(opts: OpenOptions, db: aiosqlite.Connection) -> None:
    await _check_not_truncated(opts, db)
    tables = {r[0] for r in await db.execute_fetchall(sql.TABLES_SQL)}
    if "timeloom_migrations" not in tables and tables - {"sqlite_sequence"}:
        await _refuse_foreign(opts, db, tables)
    if opts.read_only:
        await db.execute("PRAGMA query_only = ON")  # a connection setting only
        version = await _version(opts, db) if "timeloom_migrations" in tables else None
        if version is None:
            raise SchemaError(
                f"{opts.path} has no Timeloom checkpoints yet (empty database); "
                "open it writable to create them.",
                title="Not a Timeloom database",
            )
        if version < sql.LATEST_VERSION:
            raise SchemaError(
                f"{opts.path} uses an older schema (v{version}); open it once "
                "writable (`timeloom open PATH` without --read-only) to upgrade it.",
                title="Old database schema",
            )
        return
    if "timeloom_migrations" in tables:
        await _version(opts, db)  # refuse a newer schema before touching the file
    if opts.path != ":memory:":
        await _use_wal(opts, db)
    await db.execute(f"PRAGMA synchronous = {opts.synchronous}")
    async with transaction_on(db, write=True):  # serializes setup across processes
        await db.execute(sql.CREATE_MIGRATIONS_TABLE_SQL)
        version = await _version(opts, db)
        for v in range(-1 if version is None else version + 1, sql.LATEST_VERSION + 1):
            if v < 0:
                continue
            for statement in sql.migration_statements(sql.MIGRATIONS[v]):
                await db.execute(statement)
            await db.execute(sql.RECORD_VERSION_SQL, (v,))


@contextlib.asynccontextmanager
async def transaction_on(
    db: aiosqlite.Connection, *, write: bool
) -> AsyncIterator[aiosqlite.Connection]:
    """One transaction on ``db``: committed if the block finishes, else rolled back.

    ``BEGIN IMMEDIATE`` to write takes the file's write lock up front, so
    concurrent writers queue instead of deadlocking; a read takes a snapshot.
    """
    try:
        await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        yield db
        await db.execute("COMMIT")
    except BaseException:
        # aiosqlite queues a statement before awaiting it, so this runs (after
        # whatever this task had queued) even if the task is being cancelled.
        with contextlib.suppress(sqlite3.Error):
            await db.execute("ROLLBACK")
        raise


async def _use_wal(opts: OpenOptions, db: aiosqlite.Connection) -> None:
    """Put the file in WAL mode (a persistent setting: usually already done).

    Switching needs the file to itself, and SQLite does not wait for that with
    the busy timeout: while other connections open the same new file at once it
    fails with "database is locked" straight away. So it is retried here, up to
    ``busy_timeout``.
    """
    rows = list(await db.execute_fetchall("PRAGMA journal_mode"))
    if rows and str(rows[0][0]).lower() == "wal":
        return
    deadline = time.monotonic() + opts.busy_timeout
    delay = 0.005
    while True:
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def _version(opts: OpenOptions, db: aiosqlite.Connection) -> int | None:
    rows = list(await db.execute_fetchall(sql.VERSION_SQL))
    version = rows[0][0] if rows else None
    if version is not None and version > sql.LATEST_VERSION:
        raise SchemaError(
            f"{opts.path} was written by a newer Timeloom (schema v{version}; this "
            f"version reads up to v{sql.LATEST_VERSION}). Upgrade Timeloom to open it.",
            title="Database from a newer Timeloom",
        )
    return None if version is None else int(version)


def is_langgraph_schema(tables: set[str], checkpoint_columns: set[str]) -> bool:
    """Whether a database's tables are LangGraph ``SqliteSaver``'s.

    Args:
        tables: the database's table names.
        checkpoint_columns: the columns of its ``checkpoints`` table.
    """
    current = "writes" in tables and "checkpoint_ns" in checkpoint_columns
    legacy = "thread_ts" in checkpoint_columns  # LangGraph before August 2024
    return "checkpoints" in tables and (current or legacy)


async def _refuse_foreign(
    opts: OpenOptions, db: aiosqlite.Connection, tables: set[str]
) -> NoReturn:
    if "checkpoints" in tables:
        columns = {
            r[0] for r in await db.execute_fetchall(sql.COLUMNS_SQL, ("checkpoints",))
        }
        if is_langgraph_schema(tables, columns):
            raise SchemaError(
                f"{opts.path} is a LangGraph database; open it with "
                "open_checkpointer() (or `timeloom open`), which reads LangGraph "
                "databases.",
                title="LangGraph database",
            )
    names = ", ".join(sorted(tables)[:5])
    raise SchemaError(
        f"{opts.path} is not a Timeloom database (it has other tables: {names}); "
        "Timeloom will not write into another application's database.",
        title="Not a Timeloom database",
    )


async def _check_not_truncated(opts: OpenOptions, db: aiosqlite.Connection) -> None:
    if opts.path == ":memory:":
        return
    pages = list(await db.execute_fetchall("PRAGMA page_count"))[0][0]
    page_size = list(await db.execute_fetchall("PRAGMA page_size"))[0][0]
    # Checked after counting the pages: another process may commit into the WAL in
    # between, and its pages live there until the next checkpoint.
    if _file_size(f"{opts.path}-wal"):
        return
    size = _file_size(opts.path) or 0
    if size < pages * page_size:
        raise SchemaError(
            f"{opts.path} is truncated: it should hold {pages * page_size} bytes "
            f"but has {size}.",
            title="Damaged database",
        )


def translate_error(
    exc: sqlite3.Error, opts: OpenOptions, action: str
) -> TimeloomError:
    """Turn a driver exception into the typed error a caller can show."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered:
        return SchemaError(
            f"{opts.path} is not a SQLite database ({text}).",
            # Not "Timeloom": a LangGraph database is welcome too, this is neither.
            title="Not a database",
        )
    if "malformed" in lowered or "corrupt" in lowered:
        error = SchemaError if action == "opening" else StoreConnectionError
        return error(
            f"{opts.path} is damaged ({text}) while {action}.",
            title="Damaged database",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return ReadOnlyError(f"{opts.path} is read-only ({text}).")
    if "locked" in lowered or "busy" in lowered:
        return StoreConnectionError(
            f"{opts.path} stayed locked by another process for more than "
            f"{opts.busy_timeout:g} s while {action}.",
            title="Database busy",
        )
    if "unable to open" in lowered:
        return StoreConnectionError(f"Cannot open {opts.path} ({text}).")
    return StoreConnectionError(f"Error while {action} in {opts.path}: {text}")


def _file_size(path: str) -> int | None:
    """The size of a regular file, or ``None`` if there is none."""
    try:
        return os.stat(path).st_size if os.path.isfile(path) else None
    except OSError:
        return None


def _is_wal(path: str) -> bool:
    """Whether the file's header says WAL mode (bytes 18-19 are 2 then)."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2


def _ro_uri(path: str) -> str:
    return f"file:{quote(os.path.abspath(path))}?mode=ro"

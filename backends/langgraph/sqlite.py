"""Read a LangGraph ``SqliteSaver`` database, strictly read-only.

The file is opened as ``file:PATH?mode=ro``, so SQLite itself refuses every write;
nothing here runs LangGraph's ``setup()`` (which switches the journal mode and alters
tables). A WAL database in a directory this user cannot write cannot be opened with
``mode=ro`` (SQLite must create the ``-shm`` file); it is then opened with
``immutable=1`` and a warning is added to :attr:`LangGraphSqlite.warnings`.
"""

from __future__ import annotations

import asyncio
import builtins
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import aiosqlite

from timeloom.backends.langgraph.decode import (
    decode_checkpoint,
    decode_metadata,
    stored_bytes,
    well_formed,
)
from timeloom.backends.langgraph.reader import keep_internal
from timeloom.backends.langgraph.rows import RawCheckpoint
from timeloom.backends.langgraph.shared import SharedDecoder
from timeloom.backends.langgraph.sizes import Restored, StoredCheckpoint
from timeloom.backends.langgraph.sql import Key, MeasurePage, Params, SqlReader
from timeloom.core.errors import SchemaError, StoreConnectionError

IMMUTABLE_WARNING: Final = (
    "Opened with SQLite immutable=1: this WAL database is in a directory you cannot "
    "write, so a normal read-only open is impossible. In this mode SQLite reads the "
    "main file only: commits still in the -wal file are not shown, changes made "
    "while you browse are not seen, and if a process is writing while you read, "
    "what you see may be inconsistent. For an exact view, copy the database with "
    "its -wal file somewhere writable, or stop the writer so it checkpoints."
)
"""Added to ``warnings`` when the database had to be opened immutable."""

_COLUMNS: Final = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
    "checkpoint, metadata"
)
_KEY_RE: Final = re.compile(r"[A-Za-z0-9_.-]+")
_CHUNK: Final = 300  # keys per IN (...) list; far below SQLite's variable limit
_WAL_HEADER_OFFSET: Final = 18  # file format version bytes: 2 means WAL


def is_langgraph_sqlite(conn: sqlite3.Connection) -> bool:
    """Whether an open SQLite database holds LangGraph's current checkpoint tables
    (``checkpoints`` and ``writes``, with a ``checkpoint_ns`` column)."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if not {"checkpoints", "writes"} <= tables:
            return False
        columns = {r[1] for r in conn.execute("PRAGMA table_info(checkpoints)")}
    except sqlite3.Error:
        return False
    return "checkpoint_ns" in columns


def is_legacy_langgraph_sqlite(conn: sqlite3.Connection) -> bool:
    """Whether an open SQLite database holds the pre-Aug-2024 LangGraph schema."""
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(checkpoints)")}
    except sqlite3.Error:
        return False
    return "thread_ts" in columns


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///path`` URL or plain path names."""
    for prefix in ("sqlite:///", "sqlite://"):
        if url.startswith(prefix):
            return Path(url[len(prefix) :] or ".")
    return Path(url)


def _wal_size(path: Path) -> int:
    try:
        return Path(f"{path}-wal").stat().st_size
    except OSError:
        return 0


def _is_wal(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            header = fh.read(_WAL_HEADER_OFFSET + 1)
    except OSError:
        return False
    return len(header) > _WAL_HEADER_OFFSET and header[_WAL_HEADER_OFFSET] == 2


class LangGraphSqlite(SqlReader):
    """A read-only checkpointer over a LangGraph SQLite database."""

    numbered = False
    keys_per_query = _CHUNK
    writes_table = "writes"
    write_value = "value"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.immutable = False
        self._conns: dict[asyncio.AbstractEventLoop, aiosqlite.Connection] = {}
        self._checked = False

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    async def setup(self) -> None:
        await self._conn()

    async def aclose(self) -> None:
        conns, self._conns = self._conns, {}
        loop = asyncio.get_running_loop()
        for owner, conn in conns.items():
            if owner is loop:
                await conn.close()
            elif not owner.is_closed():
                # aiosqlite runs its own thread; closing from another loop is safe.
                await conn.close()

    # -- connection ----------------------------------------------------------------

    async def _conn(self) -> aiosqlite.Connection:
        loop = asyncio.get_running_loop()
        conn = self._conns.get(loop)
        if conn is None:
            conn = await self._open()
            if not self._checked:
                try:
                    await self._check_schema(conn)
                except BaseException:
                    await conn.close()
                    raise
                self._checked = True
            self._conns[loop] = conn
        return conn

    async def _open(self) -> aiosqlite.Connection:
        try:
            exists = self.path.is_file()
        except OSError as exc:  # e.g. a directory on the way cannot be entered
            raise StoreConnectionError(
                f"Cannot open {self.path}: {exc}", title="Could not open database"
            ) from exc
        if not exists:
            raise StoreConnectionError(
                f"No database file at {self.path}", title="Could not open database"
            )
        target = quote(str(self.path.resolve()))
        try:
            return await self._connect(f"file:{target}?mode=ro")
        except sqlite3.Error as exc:
            if not _is_wal(self.path):
                raise StoreConnectionError(
                    f"Cannot open {self.path} read-only: {exc}",
                    title="Could not open database",
                ) from exc
        try:
            conn = await self._connect(f"file:{target}?mode=ro&immutable=1")
        except sqlite3.Error as exc:
            raise StoreConnectionError(
                f"Cannot open {self.path} read-only: {exc}",
                title="Could not open database",
            ) from exc
        self.immutable = True
        if IMMUTABLE_WARNING not in self.warnings:
            self.warnings.append(IMMUTABLE_WARNING)
            wal = _wal_size(self.path)
            if wal:
                self.warnings.append(
                    f"{self.path.name}-wal holds {wal} bytes of commits that "
                    "immutable mode does not show: the newest checkpoints may be "
                    "missing."
                )
        return conn

    @staticmethod
    async def _connect(uri: str) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(uri, uri=True)
        # sqlite3 takes any callable; aiosqlite types the attribute as a class.
        conn.row_factory = typed_row  # type: ignore[assignment]
        try:
            # The first read is where a WAL database without a -shm fails.
            await (await conn.execute("SELECT count(*) FROM sqlite_master")).fetchall()
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _check_schema(self, conn: aiosqlite.Connection) -> None:
        tables = {r[0] for r in await self._all(conn, "SELECT name FROM sqlite_master")}
        if "checkpoints" not in tables:
            raise SchemaError(
                f"{self.path} has no LangGraph 'checkpoints' table.",
                title="Not a LangGraph database",
            )
        columns = {
            r[1] for r in await self._all(conn, "PRAGMA table_info(checkpoints)")
        }
        if "thread_ts" in columns:
            raise SchemaError(
                f"{self.path} uses LangGraph's pre-August-2024 SQLite schema "
                "(checkpoints.thread_ts, langgraph <= 0.1), whose blobs may be pickle. "
                "Timeloom does not read it: open it with that LangGraph version and "
                "re-save the threads.",
                title="Legacy LangGraph database",
            )
        needed = {"thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint"}
        if not needed <= columns or "writes" not in tables:
            raise SchemaError(
                f"{self.path}: unrecognised LangGraph schema (checkpoints columns "
                f"{sorted(columns)}).",
                title="Unknown LangGraph schema",
            )
        writes = {r[1] for r in await self._all(conn, "PRAGMA table_info(writes)")}
        self.has_task_path = "task_path" in writes
        if not self.has_task_path:
            self.schema_notes.append(
                "writes has no task_path (langgraph-checkpoint-sqlite <= 3.1.1): "
                "node names of writes are shown as task ids."
            )

    @staticmethod
    async def _all(
        conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
    ) -> builtins.list[Any]:
        try:
            async with conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as exc:
            raise StoreConnectionError(
                f"Query failed: {exc}", title="Database read failed"
            ) from exc

    # -- decoding ------------------------------------------------------------------

    @staticmethod
    def _raw(
        row: Any, values: bool, shared: SharedDecoder | None = None
    ) -> RawCheckpoint:
        thread_id, ns, cid, parent, tag, blob, metadata = row
        data = stored_bytes(blob)
        if shared is not None:
            checkpoint = shared.checkpoint(cid, parent, tag, data)
        else:
            keep = None if values else keep_internal
            checkpoint = decode_checkpoint(tag, data, keep=keep)
        checkpoint = well_formed(checkpoint)
        return RawCheckpoint(
            thread_id=thread_id,
            ns=ns,
            id=cid,
            parent_id=parent,
            checkpoint=checkpoint,
            metadata=decode_metadata(metadata),
            size=len(data),
        )

    def _decode_rows(self, rows: Sequence[Any], values: bool) -> list[RawCheckpoint]:
        """Decode rows (newest first); several with values share one decoder."""
        if not values or len(rows) < 2:
            return [self._raw(r, values) for r in rows]
        shared = SharedDecoder()
        # Parents before children, so each can reuse what its parent decoded.
        decoded = [self._raw(r, True, shared) for r in sorted(rows, key=lambda r: r[2])]
        decoded.reverse()
        return decoded

    # -- the dialect -----------------------------------------------------------------

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[Any]:
        return await self._all(await self._conn(), sql, params)

    async def _select(
        self, where: str, params: Params, *, values: bool, tail: str = ""
    ) -> builtins.list[RawCheckpoint]:
        rows = await self._query(
            f"SELECT {_COLUMNS} FROM checkpoints c WHERE {where}{tail}", params.values
        )
        return self._decode_rows(rows, values)

    def _in(self, p: Params, column: str, values: Sequence[str]) -> str:
        return f"{column} IN ({', '.join(p(v) for v in values)})"

    def _keys_in(self, p: Params, columns: Sequence[str], keys: Sequence[Key]) -> str:
        marks = ", ".join(f"({', '.join(p(part) for part in key)})" for key in keys)
        return f"({', '.join(columns)}) IN (VALUES {marks})"

    def _json_text(self, p: Params, column: str, path: Sequence[str]) -> str:
        where = "$" + "".join(f'."{key}"' for key in path)
        return f"json_extract(CAST({column} AS TEXT), {p(where)})"

    def _starts_with(self, p: Params, column: str, prefix: str) -> str:
        # Not LIKE: it ignores case in SQLite.
        return f"substr({column}, 1, {p(len(prefix))}) = {p(prefix)}"

    def _metadata_where(
        self, p: Params, column: str, wanted: Mapping[str, Any]
    ) -> tuple[builtins.list[str], bool]:
        # A scalar under a plain key is compared by json_extract; anything else
        # is left to Python.
        clauses: list[str] = []
        exact = True
        for key, value in wanted.items():
            if not _KEY_RE.fullmatch(key) or not isinstance(value, str | int | float):
                exact = False
                continue
            clauses.append(
                f"json_extract(CAST({column} AS TEXT), '$.{key}') = {p(value)}"
            )
        return clauses, exact

    # -- storage accounting ----------------------------------------------------------

    def _measure_pages(self, thread_id: str, ns: str) -> MeasurePage:
        measure = Restored()

        async def page(after: str) -> list[StoredCheckpoint]:
            rows = await self._query(
                "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, "
                "metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                "AND checkpoint_id > ? ORDER BY checkpoint_id LIMIT ?",
                [thread_id, ns, after, _CHUNK],
            )
            out = []
            for cid, parent, tag, blob, metadata in rows:
                data = bytes(blob or b"")
                out.append(
                    StoredCheckpoint(
                        checkpoint_id=cid,
                        parent_id=parent,
                        row_bytes=len(data) + len(metadata or b""),
                        write_bytes=0,
                        channels=measure.measure(cid, parent, tag, data),
                    )
                )
            return out

        return page


_TEXT_COLUMNS: Final = frozenset(
    {
        "thread_id",
        "checkpoint_ns",
        "checkpoint_id",
        "parent_checkpoint_id",
        "type",
        "task_id",
        "task_path",
        "channel",
        "head",
        "first",
        "name",
    }
)


def typed_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row with its id and name columns as text and ``idx`` as an integer.

    SQLite stores whatever another program put in a column: an id stored as a
    number or as bytes would otherwise break every comparison and sort of the
    reader. Blob columns are left as they are (decoding copes with anything).
    """
    out = list(row)
    for i, (name, *_) in enumerate(cursor.description):
        value = out[i]
        if value is None or isinstance(value, str):
            continue
        if name in _TEXT_COLUMNS:
            out[i] = (
                value.decode("utf-8", "replace")
                if isinstance(value, bytes)
                else str(value)
            )
        elif name == "idx" and type(value) is not int:
            out[i] = 0
    return tuple(out)

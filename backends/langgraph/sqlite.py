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
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import aiosqlite

from timeloom.backends.filters import metadata_matches
from timeloom.backends.langgraph.decode import (
    decode_checkpoint,
    decode_metadata,
    stored_bytes,
    well_formed,
)
from timeloom.backends.langgraph.mapping import ORIGIN_KEY
from timeloom.backends.langgraph.reader import LangGraphReader, ThreadRow, keep_internal
from timeloom.backends.langgraph.rows import RawCheckpoint, RawWrite
from timeloom.backends.langgraph.shared import SharedDecoder
from timeloom.backends.langgraph.sizes import Restored, StoredCheckpoint
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
_SPECIAL_VALUES: Final = (
    "CASE WHEN channel IN ('__error__', '__interrupt__', '__resume__') THEN value END"
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


class LangGraphSqlite(LangGraphReader):
    """A read-only checkpointer over a LangGraph SQLite database."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.immutable = False
        self.has_task_path = True
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

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[Any]:
        return await self._all(await self._conn(), sql, params)

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

    # -- fetchers ------------------------------------------------------------------

    async def _rows(
        self,
        thread_id: str,
        ns: str,
        *,
        values: bool,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> builtins.list[RawCheckpoint]:
        where = ["thread_id = ?", "checkpoint_ns = ?"]
        params: list[Any] = [thread_id, ns]
        if before is not None:
            where.append("checkpoint_id < ?")
            params.append(before)
        exact = True
        for key, value in (filter or {}).items():
            clause = _json_clause(key, value)
            if clause is None:
                exact = False
                continue
            where.append(clause[0])
            params.extend(clause[1])
        sql = (
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {' AND '.join(where)} "
            "ORDER BY checkpoint_id DESC"
        )
        if limit is not None and exact:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._decode_rows(await self._query(sql, params), values)
        if filter:
            rows = [r for r in rows if metadata_matches(r.metadata, filter)]
        return rows[:limit] if limit is not None else rows

    async def _row(
        self, thread_id: str | None, ns: str | None, checkpoint_id: str | None
    ) -> RawCheckpoint | None:
        if thread_id is None:
            sql = f"SELECT {_COLUMNS} FROM checkpoints WHERE checkpoint_id = ? LIMIT 1"
            params: list[Any] = [checkpoint_id]
        elif checkpoint_id is None:
            sql = (
                f"SELECT {_COLUMNS} FROM checkpoints WHERE thread_id = ? AND "
                "checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1"
            )
            params = [thread_id, ns or ""]
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM checkpoints WHERE thread_id = ? AND "
                "checkpoint_ns = ? AND checkpoint_id = ?"
            )
            params = [thread_id, ns or "", checkpoint_id]
        rows = await self._query(sql, params)
        return self._raw(rows[0], True) if rows else None

    async def stored_sizes(self, timeline: str) -> AsyncIterator[StoredCheckpoint]:
        """What each checkpoint of a timeline stores, per channel, oldest first,
        measured on the stored bytes (nothing decoded), a page at a time; nothing
        if it does not exist."""
        resolved = await self._resolve(timeline)
        if resolved is None:
            return
        thread_id, ns = resolved
        measure = Restored()
        after = ""
        while True:
            rows = await self._query(
                "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, "
                "metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                "AND checkpoint_id > ? ORDER BY checkpoint_id LIMIT ?",
                [thread_id, ns, after, _CHUNK],
            )
            if not rows:
                return
            ids = [r[0] for r in rows]
            marks = ", ".join("?" for _ in ids)
            writes = dict(
                await self._query(
                    "SELECT checkpoint_id, SUM(LENGTH(value)) FROM writes "
                    "WHERE thread_id = ? AND checkpoint_ns = ? "
                    f"AND checkpoint_id IN ({marks}) GROUP BY checkpoint_id",
                    [thread_id, ns, *ids],
                )
            )
            for cid, parent, tag, blob, metadata in rows:
                data = bytes(blob or b"")
                yield StoredCheckpoint(
                    checkpoint_id=cid,
                    parent_id=parent,
                    row_bytes=len(data) + len(metadata or b""),
                    write_bytes=int(writes.get(cid) or 0),
                    channels=measure.measure(cid, parent, tag, data),
                )
            after = ids[-1]

    async def _subgraph_namespaces(
        self, thread_id: str, ns: str, checkpoint_id: str
    ) -> builtins.list[str]:
        rows = await self._query(
            "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ? AND "
            "checkpoint_ns != ? AND json_extract(CAST(metadata AS TEXT), ?) = ? "
            "ORDER BY checkpoint_ns",
            [thread_id, ns, f'$.parents."{ns}"', checkpoint_id],
        )
        return [r[0] for r in rows]

    async def _exists(self, thread_id: str, ns: str) -> bool:
        rows = await self._query(
            "SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? LIMIT 1",
            [thread_id, ns],
        )
        return bool(rows)

    async def _children_in(
        self, thread_id: str, ns: str, parent_id: str
    ) -> builtins.list[RawCheckpoint]:
        rows = await self._query(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE thread_id = ? AND "
            "checkpoint_ns = ? AND parent_checkpoint_id = ? ORDER BY checkpoint_id",
            [thread_id, ns, parent_id],
        )
        return [self._raw(r, False) for r in rows]

    async def _rows_forked_from(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> builtins.list[RawCheckpoint]:
        origin = f"json_extract(CAST(metadata AS TEXT), '$.{ORIGIN_KEY}"
        where = [
            f"{origin}.thread_id') = ?",
            f"COALESCE({origin}.checkpoint_ns'), '') = ?",
        ]
        params: list[Any] = [thread_id, ns]
        if checkpoint_id is not None:
            where.append(f"{origin}.checkpoint_id') = ?")
            params.append(checkpoint_id)
        rows = await self._query(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {' AND '.join(where)} "
            "ORDER BY checkpoint_id",
            params,
        )
        return [self._raw(r, False) for r in rows]

    async def _rows_by_key(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> builtins.list[RawCheckpoint]:
        out: list[RawCheckpoint] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ", ".join("(?, ?, ?)" for _ in chunk)
            rows = await self._query(
                f"SELECT {_COLUMNS} FROM checkpoints WHERE "
                f"(thread_id, checkpoint_ns, checkpoint_id) IN (VALUES {marks})",
                [part for key in chunk for part in key],
            )
            out.extend(self._raw(r, False) for r in rows)
        return out

    async def _recent_rows(
        self, after: str | None, thread_id: str | None, ns: str | None, limit: int
    ) -> builtins.list[RawCheckpoint]:
        where = ["checkpoint_id > ?"]
        params: list[Any] = [after or ""]
        if thread_id is not None:
            where += ["thread_id = ?", "checkpoint_ns = ?"]
            params += [thread_id, ns or ""]
        rows = await self._query(
            f"SELECT {_COLUMNS} FROM checkpoints WHERE {' AND '.join(where)} "
            "ORDER BY checkpoint_id LIMIT ?",
            [*params, limit],
        )
        return [self._raw(r, False) for r in rows]

    async def _writes(
        self, thread_id: str, ns: str, ids: Sequence[str] | None, *, values: bool
    ) -> dict[str, builtins.list[RawWrite]]:
        path = "task_path" if self.has_task_path else "''"
        value = "value" if values else _SPECIAL_VALUES
        base = (
            f"SELECT checkpoint_id, task_id, {path}, idx, channel, type, {value} "
            "FROM writes WHERE thread_id = ? AND checkpoint_ns = ?"
        )
        order = f" ORDER BY checkpoint_id, {path}, task_id, idx"
        batches: list[list[Any]] = []
        if ids is None:
            batches.append(await self._query(base + order, [thread_id, ns]))
        else:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                marks = ", ".join("?" for _ in chunk)
                batches.append(
                    await self._query(
                        f"{base} AND checkpoint_id IN ({marks}){order}",
                        [thread_id, ns, *chunk],
                    )
                )
        out: dict[str, list[RawWrite]] = {}
        for batch in batches:
            for cid, task_id, task_path, idx, channel, tag, blob in batch:
                out.setdefault(cid, []).append(
                    RawWrite(cid, task_id, task_path or "", idx, channel, tag, blob)
                )
        return out

    async def _special_writes(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], builtins.list[RawWrite]]:
        path = "task_path" if self.has_task_path else "''"
        out: dict[tuple[str, str, str], list[RawWrite]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ", ".join("(?, ?, ?)" for _ in chunk)
            rows = await self._query(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, "
                f"{path}, idx, channel, type, value FROM writes WHERE channel IN "
                "('__error__', '__interrupt__', '__resume__') AND "
                f"(thread_id, checkpoint_ns, checkpoint_id) IN (VALUES {marks}) "
                f"ORDER BY {path}, task_id, idx",
                [part for key in chunk for part in key],
            )
            for tid, ns, cid, task_id, task_path, idx, channel, tag, blob in rows:
                out.setdefault((tid, ns, cid), []).append(
                    RawWrite(cid, task_id, task_path or "", idx, channel, tag, blob)
                )
        return out

    async def _thread_rows(
        self,
        *,
        search: str | None,
        metadata: Mapping[str, Any] | None,
        limit: int | None,
        offset: int,
        thread_id: str | None = None,
    ) -> builtins.list[ThreadRow]:
        params: list[Any] = []
        if thread_id is None:
            where = ["checkpoint_ns = ''"]
        else:
            where = ["thread_id = ?", "checkpoint_ns != ''"]
            params.append(thread_id)
        if search:
            # Not LIKE: it ignores case in SQLite.
            where.append("substr(thread_id, 1, ?) = ?")
            params += [len(search), search]
        grouped = (
            "SELECT thread_id, checkpoint_ns, COUNT(*) AS n, MAX(checkpoint_id) AS head, "
            f"MIN(checkpoint_id) AS first FROM checkpoints WHERE {' AND '.join(where)} "
            "GROUP BY thread_id, checkpoint_ns"
        )
        outer: list[str] = []
        exact = True
        for key, value in (metadata or {}).items():
            clause = _json_clause(key, value, column="c.metadata")
            if clause is None:
                exact = False
                continue
            outer.append(clause[0])
            params.extend(clause[1])
        sql = (
            f"SELECT g.thread_id, g.checkpoint_ns, g.n, g.head, g.first, c.metadata "
            f"FROM ({grouped}) g JOIN checkpoints c ON c.thread_id = g.thread_id AND "
            "c.checkpoint_ns = g.checkpoint_ns AND c.checkpoint_id = g.head"
            if metadata
            else f"SELECT thread_id, checkpoint_ns, n, head, first, NULL FROM ({grouped})"
        )
        if outer:
            sql += " WHERE " + " AND ".join(outer)
        sql += " ORDER BY 4 DESC"
        if limit is not None and exact:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        rows = await self._query(sql, params)
        if not exact:
            rows = [
                r
                for r in rows
                if metadata_matches(decode_metadata(r[5]), metadata or {})
            ]
            end = None if limit is None else offset + limit
            rows = rows[offset:end]
        return [ThreadRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def _count_threads(self, search: str | None) -> int:
        sql = (
            "SELECT COUNT(DISTINCT thread_id) FROM checkpoints WHERE checkpoint_ns = ''"
        )
        params: list[Any] = []
        if search:
            sql += " AND substr(thread_id, 1, ?) = ?"
            params += [len(search), search]
        rows = await self._query(sql, params)
        return int(rows[0][0])


def _json_clause(
    key: str, value: Any, *, column: str = "metadata"
) -> tuple[str, list[Any]] | None:
    """A SQL condition for a scalar metadata filter, or None (filter in Python)."""
    if not _KEY_RE.fullmatch(key) or not isinstance(value, str | int | float):
        return None
    return f"json_extract(CAST({column} AS TEXT), '$.{key}') = ?", [value]


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

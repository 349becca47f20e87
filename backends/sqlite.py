"""The durable SQLite checkpointer: one file, many processes, linear growth.

Values are laid out by :mod:`timeloom.backends.layout` (content-addressed blobs,
list appends stored as deltas), so a long chat costs about what each step adds. The
schema and every statement live in :mod:`timeloom.backends.sqlite_sql`.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import aiosqlite

from timeloom.backends import sqlite_sql as sql
from timeloom.backends.layout import decode_mapping, unreferenced
from timeloom.backends.policy import (
    PruneCandidate,
    is_fork_point,
    pending_flags,
)
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite_conn import Connections
from timeloom.backends.sqlite_open import OpenOptions
from timeloom.backends.sqlite_rows import (
    CheckpointRow,
    StoredCheckpoint,
    blob_fetcher,
    load_pending_sync,
    meta_from_row,
    parse_ts,
    read_values_sync,
    thread_from_row,
)
from timeloom.backends.sqlite_scan import SqliteLayoutReads
from timeloom.backends.sqlstore import Select, SqlCheckpointer
from timeloom.backends.staging import Staged
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
    thread_status,
)
from timeloom.core.errors import (
    CheckpointNotFound,
    SerializationError,
)
from timeloom.core.namespaces import NS_SEP

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_ID_MAX = "~"  # sorts after every checkpoint id (ids are lowercase hex and dashes)


class _ParentGone(Exception):
    """The cached parent checkpoint was deleted meanwhile: re-encode from scratch."""


class SqliteCheckpointer(SqlCheckpointer[CheckpointRow], SqliteLayoutReads):
    """Stores checkpoints in a SQLite file (WAL mode), safe for several processes.

    Each step is one ``BEGIN IMMEDIATE`` transaction: the checkpoint row, its new
    blobs and the guarded move of the thread's head commit together or not at all,
    and two processes advancing the same thread serialize; the loser gets
    :class:`~timeloom.core.errors.ConflictError` with nothing written.

    Durability: ``synchronous="NORMAL"`` (the default) in WAL mode survives a crash
    or ``kill -9`` of any process without losing a committed step; after a power
    loss or OS crash the last few commits may be lost (the database stays
    consistent). Pass ``synchronous="FULL"`` to survive power loss as well, at the
    cost of an fsync per step.

    Read-only (``read_only=True``) opens the file with SQLite's ``mode=ro``: nothing
    is created, migrated or changed, and every write method raises
    :class:`~timeloom.core.errors.ReadOnlyError`. (SQLite itself may create its
    ``-wal``/``-shm`` coordination files next to a WAL database, and readers update
    read marks in ``-shm``; neither holds data.) In a directory the user cannot
    write, where SQLite cannot create those files, the file is opened
    ``immutable=1`` and :attr:`warnings` says what that means.

    Threads: aiosqlite gives each event loop a connection on a thread of its own.
    A step's commit (a few statements, tens of microseconds in WAL mode) costs less
    than handing it to that thread and back, so it runs on the caller's thread
    when blocking there is cheap: always from the sync API (its loop is private),
    and at ``synchronous="NORMAL"`` or ``"OFF"`` (no fsync per commit) from an
    application's loop, where it never waits for a lock (see
    :meth:`~timeloom.backends.sqlite_conn.Connections.run`).

    A checkpoint whose stored value is corrupt stays readable: the channel reads as
    an :class:`~timeloom.backends.layout.UnreadableValue` (only a checkpoint whose
    row itself is damaged raises :class:`~timeloom.core.errors.SerializationError`,
    naming it); the thread's history always lists.

    Args:
        path: the database file (created when writable); ``":memory:"`` for a
            private in-memory database.
        read_only: open read-only.
        synchronous: SQLite's ``synchronous`` level (see above).
        busy_timeout: seconds to wait for another process's write lock.
        serde: the value codec.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 10.0,
        serde: Serializer | None = None,
    ) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(
                f"synchronous must be OFF, NORMAL, FULL or EXTRA: {synchronous!r}"
            )
        self.path = os.fspath(path)
        self.read_only = read_only
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        super().__init__(serde)
        self._options = OpenOptions(self.path, read_only, synchronous, busy_timeout)
        self.warnings: list[str] = []
        """What the user should know about how the file is open (shown by the TUI)."""
        self._db = Connections(self._options, self.warnings)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def _encode_row(self, checkpoint: Checkpoint) -> CheckpointRow:
        return CheckpointRow.of(checkpoint, self.serde)

    # -- lifecycle ---------------------------------------------------------------

    async def setup(self) -> None:
        async with self._db.session("opening"):
            pass

    async def aclose(self) -> None:
        await self._db.aclose()

    # -- writes --------------------------------------------------------------------

    async def put_many(
        self, checkpoints: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        self._check_writable()
        if not checkpoints:
            return
        chain = self._staging.take(checkpoints)
        try:
            await self._put_chain(chain, expected_head)
        except _ParentGone:
            chain = self._staging.restage_without_parent(chain)
            await self._put_chain(chain, expected_head)
        self._recent.remember(checkpoints[-1], chain[-1].encoded.state)

    async def _put_chain(
        self, chain: Sequence[Staged[CheckpointRow]], expected_head: str | None
    ) -> None:
        def work(conn: sqlite3.Connection) -> None:
            head = expected_head
            for staged in chain:
                staged.row.insert(conn, head, staged.encoded)
                head = staged.checkpoint.id
            if chain[0].delta:
                parent = chain[0].checkpoint.parent_id
                found = conn.execute(sql.CHECKPOINT_EXISTS_SQL, (parent,))
                if found.fetchone() is None:
                    raise _ParentGone

        await self._db.run("saving a checkpoint", work, write=True, quick=True)

    async def put_pending(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[PendingWrite]
    ) -> None:
        self._check_writable()
        encoded = [(w.node, w.kind, self.serde.dumps(w.value)) for w in writes]
        serde = self.serde

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                sql.SELECT_CHECKPOINT_THREAD_SQL, (checkpoint_id,)
            ).fetchone()
            if row is None or row[0] != thread_id:
                raise CheckpointNotFound(
                    f"No checkpoint {checkpoint_id} in {thread_id!r}"
                )
            next_nodes = tuple(json.loads(row[1]))
            seq_row = conn.execute(sql.NEXT_WRITE_SEQ_SQL, (checkpoint_id,)).fetchone()
            seq = int(seq_row[0])
            conn.executemany(
                sql.INSERT_WRITE_SQL,
                [
                    (checkpoint_id, seq + i, node, kind, value)
                    for i, (node, kind, value) in enumerate(encoded)
                ],
            )
            pending = load_pending_sync(conn, checkpoint_id, serde)
            has_error, has_interrupt = pending_flags(pending)
            conn.execute(
                sql.UPDATE_FLAGS_SQL, (has_error, has_interrupt, checkpoint_id)
            )
            conn.execute(
                sql.UPDATE_STATUS_SQL,
                (
                    thread_status(next_nodes, has_error, has_interrupt),
                    thread_id,
                    checkpoint_id,
                ),
            )

        await self._db.run("saving pending writes", work, write=True, quick=True)

    async def adelete_thread(self, thread_id: str) -> None:
        self._check_writable()
        where, params = sql.threads_where(f"{thread_id}{NS_SEP}", None)
        async with self._db.transaction("deleting a thread", write=True) as db:
            below = await db.execute_fetchall(sql.select_thread_ids_sql(where), params)
            headers: builtins.list[bytes] = []
            for timeline in [thread_id, *(r[0] for r in below)]:
                rows = await db.execute_fetchall(
                    sql.SELECT_THREAD_HEADERS_SQL, (timeline,)
                )
                headers.extend(r[0] for r in rows)
                await db.execute(sql.DELETE_THREAD_WRITES_SQL, (timeline,))
                await db.execute(sql.DELETE_THREAD_CHECKPOINTS_SQL, (timeline,))
                await db.execute(sql.DELETE_THREAD_SQL, (timeline,))
            await _collect_garbage(db, headers)
        self._forget()

    async def _prune(self, thread_id: str, select: Select) -> int:
        async with self._db.transaction("pruning a thread", write=True) as db:
            rows = await db.execute_fetchall(
                sql.SELECT_PRUNE_CANDIDATES_SQL, (thread_id,)
            )
            heads = await db.execute_fetchall(sql.SELECT_HEAD_SQL, (thread_id,))
            head = next((r[0] for r in heads), None)
            children: dict[str, list[str]] = {}
            for parent_id, child_thread in await db.execute_fetchall(
                sql.SELECT_THREAD_CHILDREN_SQL, (thread_id,)
            ):
                children.setdefault(parent_id, []).append(child_thread)
            doomed = select(
                [
                    PruneCandidate(
                        cid,
                        parse_ts(created),
                        is_head=cid == head,
                        is_fork_point=is_fork_point(children.get(cid, []), thread_id),
                        has_interrupt=bool(has_interrupt),
                    )
                    for cid, created, has_interrupt in rows
                ]
            )
            if not doomed:
                return 0
            headers: builtins.list[bytes] = []
            for cid in doomed:
                headers.extend(
                    r[0]
                    for r in await db.execute_fetchall(sql.SELECT_HEADER_SQL, (cid,))
                )
            await db.executemany(sql.DELETE_WRITES_SQL, [(c,) for c in doomed])
            await db.executemany(sql.DELETE_CHECKPOINT_SQL, [(c,) for c in doomed])
            await db.execute(sql.DECREMENT_COUNT_SQL, (len(doomed), thread_id))
            await _collect_garbage(db, headers)
        return len(doomed)

    # -- reads ---------------------------------------------------------------------

    async def _head_pending(
        self, thread_id: str
    ) -> tuple[str, tuple[PendingWrite, ...] | None] | None:
        recent, serde = self._recent, self.serde

        def head(
            conn: sqlite3.Connection,
        ) -> tuple[str, tuple[PendingWrite, ...] | None] | None:
            row = conn.execute(sql.SELECT_HEAD_SQL, (thread_id,)).fetchone()
            if row is None:
                return None
            if not recent.has(row[0]):
                return row[0], None
            return row[0], load_pending_sync(conn, row[0], serde)

        return await self._db.run("reading a checkpoint", head, quick=True)

    async def _read(
        self, thread_id: str | None, checkpoint_id: str | None
    ) -> Checkpoint | None:
        cache, serde = self._blob_cache, self.serde

        def read(
            conn: sqlite3.Connection,
        ) -> tuple[StoredCheckpoint, dict[str, Any], tuple[PendingWrite, ...]] | None:
            # One trip to the database thread, one read transaction: the row, the
            # blobs its values need (less what the cache has), decoded there, and
            # its pending writes.
            wanted = checkpoint_id
            if wanted is None:
                head = conn.execute(sql.SELECT_HEAD_SQL, (thread_id,)).fetchone()
                if head is None:
                    return None
                wanted = head[0]
            row = conn.execute(sql.SELECT_CHECKPOINT_SQL, (wanted,)).fetchone()
            if row is None:
                return None
            stored = StoredCheckpoint.of(row)
            if thread_id is not None and stored.thread_id != thread_id:
                return None
            try:
                values = read_values_sync(conn, stored.header, cache, serde)
            except SerializationError as exc:
                raise SerializationError(
                    f"Checkpoint {stored.id} of thread {stored.thread_id!r} cannot "
                    f"be read: {exc.msg}",
                    title="Unreadable checkpoint",
                ) from exc
            return stored, values, load_pending_sync(conn, wanted, serde)

        loaded = await self._db.run("reading a checkpoint", read)
        if loaded is None:
            return None
        stored, values, pending_writes = loaded
        return meta_from_row(stored.meta, serde).with_values(
            values, decode_mapping(serde, stored.writes, "writes"), pending_writes
        )

    async def _history_page(
        self, thread_id: str, before: str | None, pushed: Any, limit: int
    ) -> builtins.list[CheckpointMeta]:
        cursor = before if before is not None else _ID_MAX
        async with self._db.transaction("listing checkpoints") as db:
            rows = await db.execute_fetchall(
                sql.SELECT_HISTORY_SQL, (thread_id, cursor, limit)
            )
        return [meta_from_row(r, self.serde) for r in rows]

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        async with self._db.transaction("reading a thread") as db:
            rows = list(await db.execute_fetchall(sql.SELECT_THREAD_SQL, (thread_id,)))
        return thread_from_row(rows[0], self.serde) if rows else None

    async def _threads_page(
        self,
        search: str | None,
        status: ThreadStatus | None,
        pushed: Any,
        limit: int,
        offset: int,
    ) -> builtins.list[ThreadInfo]:
        where, params = sql.threads_where(search, status)
        async with self._db.transaction("listing threads") as db:
            rows = await db.execute_fetchall(
                sql.select_threads_sql(where), (*params, limit, offset)
            )
        return [thread_from_row(r, self.serde) for r in rows]

    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        where, params = sql.threads_where(search, status)
        async with self._db.transaction("counting threads") as db:
            rows = list(await db.execute_fetchall(sql.count_threads_sql(where), params))
        return int(rows[0][0])

    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        async with self._db.transaction("listing children") as db:
            rows = await db.execute_fetchall(sql.SELECT_CHILDREN_SQL, (checkpoint_id,))
        return [meta_from_row(r, self.serde) for r in rows]

    async def recent(
        self,
        *,
        after: str | None = None,
        thread_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[CheckpointMeta]:
        start = after or ""
        async with self._db.transaction("reading recent checkpoints") as db:
            if thread_id is None:
                rows = await db.execute_fetchall(sql.SELECT_RECENT_SQL, (start, limit))
            else:
                rows = await db.execute_fetchall(
                    sql.SELECT_RECENT_IN_THREAD_SQL, (thread_id, start, limit)
                )
        return [meta_from_row(r, self.serde) for r in rows]


async def _collect_garbage(db: aiosqlite.Connection, deleted: Iterable[bytes]) -> None:
    """Delete the blobs only the ``deleted`` headers needed (in the deleting
    transaction: the rows are gone, their blobs not yet)."""

    async def remaining() -> builtins.list[bytes]:
        rows = await db.execute_fetchall(sql.SELECT_ALL_HEADERS_SQL)
        return [r[0] for r in rows]

    dead = await unreferenced(deleted, remaining, blob_fetcher(db))
    if dead:
        await db.executemany(sql.DELETE_BLOB_SQL, [(k,) for k in dead])

"""The durable SQLite checkpointer: one file, many processes, linear growth.

Values are laid out by :mod:`timeloom.backends.layout` (content-addressed blobs,
list appends stored as deltas), so a long chat costs about what each step adds. The
schema and every statement live in :mod:`timeloom.backends.sqlite_sql`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn, TypeVar

import aiosqlite

from timeloom.backends import sqlite_sql as sql
from timeloom.backends.layout import (
    BlobCache,
    EncodedValues,
    decode_values,
    matches_filter,
    referenced_keys,
)
from timeloom.backends.recent import RecentCheckpoints
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite_open import OpenOptions, connect, translate_error
from timeloom.backends.sqlite_rows import (
    aware_utc,
    blob_fetcher,
    decode_mapping,
    is_fork_point,
    load_pending_sync,
    meta_from_row,
    parse_ts,
    pending_flags,
    prefetch_blobs_sync,
    thread_from_row,
    ts_text,
)
from timeloom.backends.staging import Staged, Staging
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
    thread_status,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import (
    CheckpointNotFound,
    ConflictError,
    SerializationError,
    StoreConnectionError,
)
from timeloom.core.sync import on_private_loop

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_PAGE = 200
_T = TypeVar("_T")
_ID_MAX = "~"  # sorts after every checkpoint id (ids are lowercase hex and dashes)
_NO_FSYNC_PER_COMMIT = ("OFF", "NORMAL")
_WAL_CHECKPOINT_EVERY = 256
"""Direct commits on an application's event loop between two WAL checkpoints."""
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


class _Abandoned(Exception):
    """The caller was cancelled before the transaction committed: roll it back."""


class _ParentGone(Exception):
    """The cached parent checkpoint was deleted meanwhile: re-encode from scratch."""


class _Busy(Exception):
    """Another connection holds the write lock: wait for it on the database thread."""


@dataclass(slots=True)
class _Direct:
    """A loop's plain ``sqlite3`` connection, for work run right on the loop's thread."""

    conn: sqlite3.Connection
    private: bool
    """On the sync API's own loop (see :func:`~timeloom.core.sync.on_private_loop`):
    blocking there is harmless, so SQLite checkpoints its WAL itself as usual."""
    commits: int = 0


@dataclass(frozen=True, slots=True)
class _Row:
    """A checkpoint's row fields, encoded on the caller's thread."""

    cp: Checkpoint
    status: str
    created: str
    nodes: str
    next: str
    writes: bytes
    metadata: bytes

    @classmethod
    def of(cls, cp: Checkpoint, serde: Serializer) -> _Row:
        return cls(
            cp,
            thread_status(cp.next, False, False),
            ts_text(cp.created_at),
            _json_names(tuple(cp.writes)),
            _json_names(cp.next),
            serde.dumps(dict(cp.writes)),
            serde.dumps(dict(cp.metadata)),
        )

    def insert(
        self, conn: sqlite3.Connection, expected_head: str | None, enc: EncodedValues
    ) -> None:
        """Insert the checkpoint and its blobs and move the head (in a transaction)."""
        cp = self.cp
        forked = cp.parent_thread_id is not None and cp.parent_thread_id != cp.thread_id
        fork_thread = cp.parent_thread_id if forked else None
        fork_id = cp.parent_id if forked else None
        if expected_head is None:
            try:
                conn.execute(
                    sql.INSERT_THREAD_SQL,
                    (
                        cp.thread_id,
                        cp.id,
                        self.status,
                        self.created,
                        self.created,
                        fork_thread,
                        fork_id,
                        self.metadata,
                    ),
                )
            except sqlite3.IntegrityError:
                _conflict(conn, cp.thread_id, expected_head)
        else:
            cursor = conn.execute(
                sql.MOVE_HEAD_SQL,
                (
                    cp.id,
                    self.status,
                    self.created,
                    self.metadata,
                    fork_thread,
                    fork_id,
                    cp.thread_id,
                    expected_head,
                ),
            )
            if cursor.rowcount != 1:
                _conflict(conn, cp.thread_id, expected_head)
        try:
            conn.execute(
                sql.INSERT_CHECKPOINT_SQL,
                (
                    cp.id,
                    cp.thread_id,
                    cp.parent_id,
                    cp.parent_thread_id,
                    cp.step,
                    cp.source,
                    self.created,
                    self.nodes,
                    self.next,
                    self.metadata,
                    self.writes,
                    enc.header,
                    enc.size,
                ),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(
                f"A checkpoint with id {cp.id} already exists; ids must be unique."
            ) from None
        if enc.blobs:
            conn.executemany(sql.INSERT_BLOB_SQL, list(enc.blobs.items()))


@functools.lru_cache(maxsize=256)
def _json_names(names: tuple[str, ...]) -> str:
    """Node names as stored: a JSON list (the same few lists, step after step)."""
    return json.dumps(list(names))


class SqliteCheckpointer(BaseCheckpointer):
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
        self.serde = serde or Serializer()
        self._options = OpenOptions(self.path, read_only, synchronous, busy_timeout)
        self.warnings: list[str] = []
        """What the user should know about how the file is open (shown by the TUI)."""
        # One connection per event loop: the sync runtime gives each thread its own
        # loop, and SQLite's file locks (not ours) serialize their transactions.
        # Within a loop, each operation holds that loop's lock, so no caller sees
        # another's transaction half done. (":memory:" has one connection: a private
        # in-memory database cannot be shared; use it from one loop at a time.)
        self._conns: dict[asyncio.AbstractEventLoop | None, aiosqlite.Connection] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        # Beside it, a plain sqlite3 connection for short work run right on the
        # loop's thread, which costs less than the trip to aiosqlite's (see _run).
        self._direct: dict[asyncio.AbstractEventLoop, _Direct] = {}
        self._wal_checkpoints: set[asyncio.Future[None]] = set()
        self._wal_conn: sqlite3.Connection | None = None
        self._wal_lock = threading.Lock()
        self._guard = threading.Lock()  # guards the dicts and the state cache
        self._staging: Staging[_Row] = Staging(
            self.serde, lambda cp: _Row.of(cp, self.serde)
        )
        self._recent = RecentCheckpoints()
        self._blob_cache = BlobCache()

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    # -- lifecycle ---------------------------------------------------------------

    async def setup(self) -> None:
        async with self._session("opening"):
            pass

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        mine = [f for f in self._wal_checkpoints if f.get_loop() is loop]
        await asyncio.gather(*mine, return_exceptions=True)
        with self._wal_lock:
            if self._wal_conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._wal_conn.close()
                self._wal_conn = None
        with self._guard:
            conns = list(self._conns.values())
            directs = list(self._direct.values())
            self._conns.clear()
            self._direct.clear()
            self._locks.clear()
        for direct in directs:
            with contextlib.suppress(sqlite3.Error):
                direct.conn.close()
        for db in conns:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await db.close()

    def allow_types(self, types: Iterable[type]) -> None:
        register = getattr(self.serde, "register", None)
        if register is not None:
            register(*types)

    # -- writes --------------------------------------------------------------------

    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        await self.put_many([checkpoint], expected_head=expected_head)

    def stage(self, checkpoint: Checkpoint) -> Checkpoint:
        self._check_writable()
        self._staging.stage(checkpoint)
        return checkpoint

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
        self, chain: Sequence[Staged[_Row]], expected_head: str | None
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

        await self._run("saving a checkpoint", work, write=True, quick=True)

    async def put_writes(
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

        await self._run("saving pending writes", work, write=True, quick=True)

    async def delete_thread(self, thread_id: str) -> None:
        self._check_writable()
        async with self._transaction("deleting a thread", write=True) as db:
            rows = await db.execute_fetchall(
                sql.SELECT_THREAD_HEADERS_SQL, (thread_id,)
            )
            candidates = await referenced_keys([r[0] for r in rows], blob_fetcher(db))
            await db.execute(sql.DELETE_THREAD_WRITES_SQL, (thread_id,))
            await db.execute(sql.DELETE_THREAD_CHECKPOINTS_SQL, (thread_id,))
            await db.execute(sql.DELETE_THREAD_SQL, (thread_id,))
            await self._collect_garbage(db, candidates)
        self._staging.forget_states()
        self._recent.clear()

    async def prune(
        self,
        thread_id: str,
        *,
        keep_last: int | None = None,
        older_than: datetime | None = None,
    ) -> int:
        self._check_writable()
        if keep_last is None and older_than is None:
            return 0
        cutoff = aware_utc(older_than) if older_than is not None else None
        async with self._transaction("pruning a thread", write=True) as db:
            rows = list(
                await db.execute_fetchall(sql.SELECT_PRUNE_CANDIDATES_SQL, (thread_id,))
            )
            ids = [r[0] for r in rows]
            keep = set(ids[len(ids) - keep_last :]) if keep_last is not None else set()
            heads = list(await db.execute_fetchall(sql.SELECT_HEAD_SQL, (thread_id,)))
            keep.update(r[0] for r in heads)
            children: dict[str, list[str]] = {}
            for parent_id, child_thread in await db.execute_fetchall(
                sql.SELECT_THREAD_CHILDREN_SQL, (thread_id,)
            ):
                children.setdefault(parent_id, []).append(child_thread)
            doomed = [
                cid
                for cid, created, has_interrupt in rows
                if cid not in keep
                and (cutoff is None or parse_ts(created) < cutoff)
                and not has_interrupt
                and not is_fork_point(children.get(cid, []), thread_id)
            ]
            if not doomed:
                return 0
            headers: builtins.list[bytes] = []
            for cid in doomed:
                headers.extend(
                    r[0]
                    for r in await db.execute_fetchall(sql.SELECT_HEADER_SQL, (cid,))
                )
            candidates = await referenced_keys(headers, blob_fetcher(db))
            await db.executemany(sql.DELETE_WRITES_SQL, [(c,) for c in doomed])
            await db.executemany(sql.DELETE_CHECKPOINT_SQL, [(c,) for c in doomed])
            await db.execute(sql.DECREMENT_COUNT_SQL, (len(doomed), thread_id))
            await self._collect_garbage(db, candidates)
        self._staging.forget_states()
        self._recent.clear()
        return len(doomed)

    async def _collect_garbage(
        self, db: aiosqlite.Connection, candidates: set[bytes]
    ) -> None:
        """Delete the candidate blobs no remaining checkpoint (in any thread) needs.

        Blobs are shared by content across threads, so this reads every remaining
        header: deleting and pruning cost a scan of the checkpoints table.
        """
        if not candidates:
            return
        rows = await db.execute_fetchall(sql.SELECT_ALL_HEADERS_SQL)
        live = await referenced_keys([r[0] for r in rows], blob_fetcher(db))
        dead = candidates - live
        if dead:
            await db.executemany(sql.DELETE_BLOB_SQL, [(k,) for k in dead])

    # -- reads ---------------------------------------------------------------------

    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        if checkpoint_id is None and thread_id is not None and self._recent:
            # Usually the head is the checkpoint this writer committed last: then
            # only its pending writes (which change after the commit) are read.
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

            found = await self._run("reading a checkpoint", head, quick=True)
            if found is None:
                return None
            head_id, pending = found
            if pending is not None:
                # Checked here, on the caller's thread, not on the database's.
                cached = recent.lookup(head_id, thread_id, serde, pending)
                if cached is not None:
                    return cached
        if checkpoint_id is None and thread_id is None:
            return None
        cache, serde = self._blob_cache, self.serde

        def read(
            conn: sqlite3.Connection,
        ) -> tuple[Any, dict[bytes, bytes], tuple[PendingWrite, ...]] | None:
            # One trip to the database thread, one read transaction: the row, the
            # blobs its values need (less what the cache has), its pending writes.
            wanted = checkpoint_id
            if wanted is None:
                head = conn.execute(sql.SELECT_HEAD_SQL, (thread_id,)).fetchone()
                if head is None:
                    return None
                wanted = head[0]
            row = conn.execute(sql.SELECT_CHECKPOINT_SQL, (wanted,)).fetchone()
            if row is None or (thread_id is not None and row[1] != thread_id):
                return None
            blobs = prefetch_blobs_sync(conn, bytes(row[14]), cache)
            return row, blobs, load_pending_sync(conn, wanted, serde)

        loaded = await self._run("reading a checkpoint", read)
        if loaded is None:
            return None
        row, blobs, pending_writes = loaded
        meta = meta_from_row(row, serde)

        async def prefetched(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            return {k: blobs[k] for k in keys if k in blobs}

        try:
            values = await decode_values(bytes(row[14]), cache.wrap(prefetched), serde)
        except SerializationError as exc:
            raise SerializationError(
                f"Checkpoint {meta.id} of thread {meta.thread_id!r} cannot be "
                f"read: {exc.msg}",
                title="Unreadable checkpoint",
            ) from exc
        return Checkpoint(
            id=meta.id,
            thread_id=meta.thread_id,
            parent_id=meta.parent_id,
            parent_thread_id=meta.parent_thread_id,
            step=meta.step,
            source=meta.source,
            created_at=meta.created_at,
            values=values,
            next=meta.next,
            writes=decode_mapping(self.serde, row[13], "writes"),
            metadata=meta.metadata,
            pending_writes=pending_writes,
        )

    async def list(
        self,
        thread_id: str,
        *,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[CheckpointMeta]:
        cursor = before if before is not None else _ID_MAX
        count = 0
        while limit is None or count < limit:
            page = _PAGE if filter or limit is None else min(_PAGE, limit - count)
            async with self._transaction("listing checkpoints") as db:
                rows = list(
                    await db.execute_fetchall(
                        sql.SELECT_HISTORY_SQL, (thread_id, cursor, page)
                    )
                )
            for row in rows:
                meta = meta_from_row(row, self.serde)
                cursor = meta.id
                if filter and not matches_filter(
                    meta.source, meta.step, meta.metadata, filter
                ):
                    continue
                yield meta
                count += 1
                if limit is not None and count >= limit:
                    return
            if len(rows) < page:
                return

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        async with self._transaction("reading a thread") as db:
            rows = list(await db.execute_fetchall(sql.SELECT_THREAD_SQL, (thread_id,)))
        return thread_from_row(rows[0], self.serde) if rows else None

    async def threads(
        self,
        *,
        search: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[ThreadInfo]:
        where, params = sql.threads_where(search, status)
        query = sql.select_threads_sql(where)
        if not metadata:
            async with self._transaction("listing threads") as db:
                rows = await db.execute_fetchall(query, (*params, limit, offset))
            return [thread_from_row(r, self.serde) for r in rows]
        # Metadata is stored encoded by the codec, so it is matched here, page by page.
        found: builtins.list[ThreadInfo] = []
        skipped = position = 0
        while len(found) < limit:
            async with self._transaction("listing threads") as db:
                rows = list(
                    await db.execute_fetchall(query, (*params, _PAGE, position))
                )
            position += len(rows)
            for row in rows:
                info = thread_from_row(row, self.serde)
                if any(info.metadata.get(k) != v for k, v in metadata.items()):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                found.append(info)
                if len(found) >= limit:
                    break
            if len(rows) < _PAGE:
                break
        return found

    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        where, params = sql.threads_where(search, status)
        async with self._transaction("counting threads") as db:
            rows = list(await db.execute_fetchall(sql.count_threads_sql(where), params))
        return int(rows[0][0])

    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        async with self._transaction("listing children") as db:
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
        async with self._transaction("reading recent checkpoints") as db:
            if thread_id is None:
                rows = await db.execute_fetchall(sql.SELECT_RECENT_SQL, (start, limit))
            else:
                rows = await db.execute_fetchall(
                    sql.SELECT_RECENT_IN_THREAD_SQL, (thread_id, start, limit)
                )
        return [meta_from_row(r, self.serde) for r in rows]

    # -- connection ----------------------------------------------------------------

    def _lock(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock

    @contextlib.asynccontextmanager
    async def _session(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        loop = asyncio.get_running_loop()
        await self._close_stale()
        key = None if self.path == ":memory:" else loop
        async with self._lock(loop):
            with self._driver_errors(action):
                db = self._conns.get(key)
                if db is None:
                    db = await connect(self._options, self.warnings)
                    with self._guard:
                        self._conns[key] = db
                yield db

    async def _close_stale(self) -> None:
        """Close the connections of event loops that have been closed."""
        with self._guard:
            stale = [loop for loop in self._conns if loop and loop.is_closed()]
            conns = [self._conns.pop(loop) for loop in stale]
            for loop in stale:
                self._locks.pop(loop, None)
            gone = [loop for loop in self._direct if loop.is_closed()]
            directs = [self._direct.pop(loop) for loop in gone]
        for direct in directs:
            with contextlib.suppress(sqlite3.Error):
                direct.conn.close()
        for db in conns:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await db.close()

    @contextlib.asynccontextmanager
    async def _transaction(
        self, action: str, *, write: bool = False
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction: ``BEGIN IMMEDIATE`` to write (takes the file's write lock
        up front, so concurrent writers queue instead of deadlocking), else a read
        snapshot."""
        if write:
            self._check_writable()
        async with self._session(action) as db:
            if db.in_transaction:  # left open by a task cancelled at a bad moment
                await db.execute("ROLLBACK")
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

    async def _run(
        self,
        action: str,
        work: Callable[[sqlite3.Connection], _T],
        *,
        write: bool = False,
        quick: bool = False,
    ) -> _T:
        """Run ``work`` as one transaction, in one go.

        Handing work to aiosqlite's thread and back costs more (~0.1 ms) than a
        step's whole transaction in WAL mode, so ``work`` runs right here, on the
        loop's own thread and its plain ``sqlite3`` connection, when blocking here
        is cheap: on the sync API's private loop (any work; nothing else runs
        there), or, on an application's loop, ``quick`` work (a step's commit, a
        head check) when commits do not fsync (``synchronous`` OFF or NORMAL).
        That connection never waits for a lock: if another holds the file's write
        lock, the work goes to the database thread, which waits up to
        ``busy_timeout``. On an application's loop the WAL is checkpointed in the
        background (see :meth:`_checkpoint_wal`), not inside a commit.

        Otherwise ``work`` runs on the database thread in a single trip, on the
        raw connection, through aiosqlite's queue (``_execute`` and ``_conn``:
        aiosqlite 0.22 has no public way to run a function on its thread).
        Cancellation stays all-or-nothing: a cancelled caller sets a flag the
        function checks before ``COMMIT``, so the step either committed before the
        cancellation was seen or is rolled back.
        """
        if write:
            self._check_writable()
        direct = await self._direct_connection(action, quick)
        if direct is not None:
            try:
                done = self._run_direct(direct, action, work, write)
            except _Busy:
                pass  # wait for the lock on the database thread, below
            else:
                if write and not direct.private:
                    direct.commits += 1
                    if direct.commits % _WAL_CHECKPOINT_EVERY == 0:
                        self._start_wal_checkpoint()
                return done
        cancelled = threading.Event()

        def transaction() -> _T:
            conn = db._conn  # private: see above
            if conn.in_transaction:  # left open by a task cancelled at a bad moment
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(conn)
                if cancelled.is_set():
                    raise _Abandoned
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return result

        async with self._session(action) as db:
            try:
                result: _T = await db._execute(transaction)  # type: ignore[no-untyped-call]
                return result
            except asyncio.CancelledError:
                cancelled.set()
                raise

    async def _direct_connection(self, action: str, quick: bool) -> _Direct | None:
        """This loop's plain connection, if ``work`` may run on it (see :meth:`_run`)."""
        if self.read_only or self.path == ":memory:":
            return None
        private = on_private_loop()
        if not private and not (quick and self.synchronous in _NO_FSYNC_PER_COMMIT):
            return None
        loop = asyncio.get_running_loop()
        direct = self._direct.get(loop)
        if direct is not None:
            return direct
        async with self._session(action):  # opens the file: checks, migrates
            pass
        with self._driver_errors(action):
            conn = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
                if not private:
                    conn.execute("PRAGMA wal_autocheckpoint = 0")
            except BaseException:
                conn.close()
                raise
        with self._guard:
            direct = self._direct.setdefault(loop, _Direct(conn, private))
        if direct.conn is not conn:  # another task of this loop opened one first
            conn.close()
        return direct

    def _run_direct(
        self,
        direct: _Direct,
        action: str,
        work: Callable[[sqlite3.Connection], _T],
        write: bool,
    ) -> _T:
        """Run ``work`` as one transaction on ``direct``; :class:`_Busy` if locked."""
        conn = direct.conn
        with self._driver_errors(action):
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and (
                    exc.sqlite_errorcode & 0xFF in _BUSY_CODES
                ):
                    raise _Busy from exc
                raise
        return result

    def _start_wal_checkpoint(self) -> None:
        running = asyncio.get_running_loop().run_in_executor(None, self._checkpoint_wal)
        self._wal_checkpoints.add(running)
        running.add_done_callback(self._wal_checkpoints.discard)

    def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database file (on an executor thread).

        Direct commits on an application's loop never checkpoint the WAL
        themselves (a checkpoint can take milliseconds, and fsyncs): this runs
        after every :data:`_WAL_CHECKPOINT_EVERY` of them instead, one at a time,
        on a connection of its own. ``PASSIVE`` never waits for readers or
        writers; what it cannot copy now is copied next time.
        """
        if not self._wal_lock.acquire(blocking=False):
            return  # one is running: it does the work
        try:
            with contextlib.suppress(sqlite3.Error):
                if self._wal_conn is None:
                    self._wal_conn = sqlite3.connect(
                        self.path,
                        timeout=0,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                self._wal_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            self._wal_lock.release()

    @contextlib.contextmanager
    def _driver_errors(self, action: str) -> Iterator[None]:
        """Translate driver exceptions into typed errors (they never escape)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise translate_error(exc, self._options, action) from exc
        except ValueError as exc:  # aiosqlite: "no active connection"
            if "connection" not in str(exc):
                raise
            raise StoreConnectionError(
                f"{action} failed: the connection to {self.path} is closed"
            ) from exc


def _conflict(
    conn: sqlite3.Connection, thread_id: str, expected: str | None
) -> NoReturn:
    row = conn.execute(sql.SELECT_HEAD_SQL, (thread_id,)).fetchone()
    head = row[0] if row else None
    raise ConflictError(
        f"Thread {thread_id!r} moved on: its head is {head}, this writer expected "
        f"{expected}. Reload and retry."
    )

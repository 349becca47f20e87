"""The PostgreSQL checkpointer (asyncpg), for production and many workers.

A step commit is one round trip: a call of the server-side function ``timeloom_put``
(see :mod:`timeloom.backends.postgres_sql`), which checks the thread's head, stores
the checkpoint and moves the head in one transaction, and sends a NOTIFY that
:meth:`PostgresCheckpointer.watch` listens for.

The runtime's sync API drives a checkpointer from its own event-loop thread, so one
instance may be awaited from several loops over its life: it keeps one asyncpg pool
per event loop, created on first use in that loop. Driver exceptions never escape:
they become :mod:`timeloom.core.errors` types, with the password masked.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

import asyncpg
from asyncpg import Record
from asyncpg.pool import PoolConnectionProxy

from timeloom.backends import postgres_sql as q
from timeloom.backends.dsn import mask_dsn, parses
from timeloom.backends.layout import (
    ReadPlan,
    decode,
    plan,
    unreferenced,
)
from timeloom.backends.policy import PruneCandidate
from timeloom.backends.postgres_pool import NotifyWaiter, Pools
from timeloom.backends.postgres_rows import (
    PutArgs,
    headers_of,
    interrupt_key,
    meta_from_record,
    pending_from_record,
    split_filter,
    thread_from_record,
    unflatten_writes,
)
from timeloom.backends.postgres_scan import PostgresLayoutReads
from timeloom.backends.postgres_schema import check_schema, migrate
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlstore import Select, SqlCheckpointer
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import ChangeWaiter
from timeloom.core.errors import (
    CheckpointNotFound,
    ConflictError,
    StoreConnectionError,
)
from timeloom.core.ids import new_checkpoint_id

_T = TypeVar("_T")
_EXISTS = "\x00exists"  # not a checkpoint id: a put found its checkpoint stored
_DECODE_ON_LOOP_MAX = 1 << 20  # bytes of blobs: more decodes on a worker thread


class PostgresCheckpointer(SqlCheckpointer[PutArgs], PostgresLayoutReads):
    """Stores checkpoints in PostgreSQL.

    Args:
        dsn: ``postgresql://user:password@host:port/dbname`` (libpq-style URL).
        read_only: open read-only: the server refuses writes
            (``default_transaction_read_only``) and :meth:`setup` only checks the
            schema.
        pool_min: connections each event loop's pool keeps open.
        pool_max: connections each event loop's pool may open.
        serde: the codec (default: a new :class:`Serializer`).
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(
        self,
        dsn: str,
        *,
        read_only: bool = False,
        pool_min: int = 1,
        pool_max: int = 10,
        serde: Serializer | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if not dsn.startswith(("postgresql://", "postgres://")) or not parses(dsn):
            raise StoreConnectionError(
                f"Not a PostgreSQL URL: {mask_dsn(dsn)} "
                "(expected postgresql://user@host:port/dbname)",
                title="Could not open checkpoint database",
            )
        super().__init__(serde)
        self._dsn = dsn
        self.read_only = read_only
        self._db = Pools(
            dsn,
            read_only=read_only,
            pool_min=pool_min,
            pool_max=pool_max,
            connect_timeout=connect_timeout,
        )
        self._ready = False

    @property
    def url(self) -> str:
        return self._db.url

    def _encode_row(self, checkpoint: Checkpoint) -> PutArgs:
        return PutArgs.of(checkpoint, self.serde)

    # -- lifecycle -------------------------------------------------------------------

    async def setup(self) -> None:
        async def run(pool: asyncpg.Pool) -> None:
            async with pool.acquire() as conn:
                if self.read_only:
                    await check_schema(conn, self.url)
                else:
                    await migrate(conn, self.url)

        await self._call("setting up the schema", run, setup=False)
        self._ready = True

    async def aclose(self) -> None:
        await self._db.aclose()

    # -- writes ----------------------------------------------------------------------

    def last_committed(self, thread_id: str) -> Checkpoint | None:
        return self._recent.latest(thread_id, self.serde)

    async def put_many(
        self, checkpoints: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        """One checkpoint is one call of ``timeloom_put``; a chain is one pipelined
        batch of ``timeloom_put_chained`` calls: one round trip, one transaction."""
        self._check_writable()
        if not checkpoints:
            return
        chain = self._staging.take(checkpoints)
        first, last = checkpoints[0], checkpoints[-1]
        heads = [expected_head, *(cp.id for cp in checkpoints[:-1])]
        attempts = 0

        def batch() -> builtins.list[tuple[Any, ...]]:
            # Each checkpoint expects the one before; only the first has a parent
            # that may have been deleted since (the others are in this batch).
            return [
                staged.row.args(staged.encoded, head, staged.delta and i == 0)
                for i, (staged, head) in enumerate(zip(chain, heads, strict=True))
            ]

        async def send(pool: asyncpg.Pool) -> str | None:
            """Commit the chain; return the head found instead if it moved."""
            if len(chain) == 1:
                row = await pool.fetchrow(q.PUT_SQL, *batch()[0])
                assert row is not None  # the function always returns one row
                return None if row["status"] == "ok" else str(row["head"])
            try:
                await pool.executemany(q.PUT_CHAINED_SQL, batch())
            except asyncpg.PostgresError as exc:
                if exc.sqlstate != q.CONFLICT_SQLSTATE:
                    raise
                return getattr(exc, "detail", None) or ""
            return None

        async def run(pool: asyncpg.Pool) -> None:
            nonlocal attempts, chain
            attempts += 1
            try:
                try:
                    moved = await send(pool)
                except asyncpg.PostgresError as exc:
                    if exc.sqlstate != q.PARENT_GONE_SQLSTATE:
                        raise
                    # The parent was deleted since we encoded against it: its blobs
                    # may be gone, so store every blob this time.
                    chain = self._staging.restage_without_parent(chain)
                    moved = await send(pool)
            except asyncpg.UniqueViolationError:
                moved = _EXISTS  # a checkpoint of the chain is stored already
            if moved is None:
                return
            # A retry after a lost connection may find its own first attempt
            # committed: that is a success, not a conflict.
            if attempts > 1 and await pool.fetchval(
                q.CHECKPOINT_IN_THREAD_SQL, last.id, last.thread_id
            ):
                return
            if moved is _EXISTS:
                raise ConflictError(
                    f"Checkpoint {first.id} already exists; nothing was written."
                )
            raise ConflictError(
                f"Thread {first.thread_id!r} moved on: its head is {moved or None}, "
                f"this writer expected {expected_head}. Reload and retry."
            )

        await self._call("committing a checkpoint", run)
        self._recent.remember(last, chain[-1].encoded.state)

    async def put_pending(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[PendingWrite]
    ) -> None:
        self._check_writable()
        args = (
            thread_id,
            checkpoint_id,
            new_checkpoint_id(),  # the batch id: a retried batch is stored once
            [w.node for w in writes],
            [w.kind for w in writes],
            [self.serde.dumps(w.value) for w in writes],
            [interrupt_key(w, self.serde) for w in writes if w.kind == "interrupt"],
            [interrupt_key(w, self.serde) for w in writes if w.kind == "resume"],
        )
        found = await self._call(
            "recording pending writes",
            lambda pool: pool.fetchval(q.PUT_WRITES_SQL, *args),
        )
        if not found:
            raise CheckpointNotFound(f"No checkpoint {checkpoint_id} in {thread_id!r}")

    async def adelete_thread(self, thread_id: str) -> None:
        self._check_writable()

        async def run(pool: asyncpg.Pool) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(q.GC_LOCK_SQL)
                gone = await conn.fetch(q.DELETE_THREAD_SQL, thread_id)
                await _collect_garbage(conn, gone)

        await self._call("deleting a thread", run)
        self._forget()

    async def _prune(self, thread_id: str, select: Select) -> int:
        async def run(pool: asyncpg.Pool) -> int:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(q.GC_LOCK_SQL)
                head = await conn.fetchval(q.HEAD_FOR_UPDATE_SQL, thread_id)
                rows = await conn.fetch(q.PRUNE_CANDIDATES_SQL, thread_id)
                doomed = select(
                    [
                        PruneCandidate(
                            r["id"],
                            r["created_at"],
                            is_head=r["id"] == head,
                            is_fork_point=r["kids"] > 1 or r["forked"],
                            has_interrupt=r["has_interrupt"],
                        )
                        for r in rows
                    ]
                )
                if not doomed:
                    return 0
                gone = await conn.fetch(q.PRUNE_DELETE_SQL, doomed)
                await conn.execute(q.PRUNE_UPDATE_THREAD_SQL, thread_id)
                await _collect_garbage(conn, gone)
                return len(doomed)

        return await self._call("pruning a thread", run)

    # -- reads -----------------------------------------------------------------------

    async def _head_pending(
        self, thread_id: str
    ) -> tuple[str, tuple[PendingWrite, ...] | None] | None:
        head = await self._fetchrow(
            "reading a checkpoint", q.HEAD_PENDING_SQL, thread_id
        )
        if head is None or head["id"] is None:
            return None
        return head["id"], pending_from_record(head, self.serde)

    async def _read(
        self, thread_id: str | None, checkpoint_id: str | None
    ) -> Checkpoint | None:
        if checkpoint_id is None:
            row = await self._fetchrow(
                "reading a checkpoint", q.GET_HEAD_SQL, thread_id
            )
        else:
            row = await self._fetchrow(
                "reading a checkpoint", q.GET_BY_ID_SQL, checkpoint_id, thread_id
            )
        if row is None:
            return None
        values_plan = plan(row["values_header"])
        writes = bytes(row["writes"])
        marked = writes.startswith(q.WRITES_LAYOUT_MARK)
        writes_plan = plan(writes[len(q.WRITES_LAYOUT_MARK) :]) if marked else None
        plans = [values_plan] if writes_plan is None else [values_plan, writes_plan]
        # The row carries the blobs its headers name (see blob_refs); the chunks
        # that list manifests name are fetched in one more query, for both.
        carried = dict(zip(row["blob_keys"], row["blob_data"], strict=True))

        async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            found = {k: carried[k] for k in keys if k in carried}
            missing = sorted(k for k in keys if k not in carried)
            if missing:
                rows = await self._fetch(
                    "reading a checkpoint", q.FETCH_BLOBS_SQL, missing
                )
                found.update((bytes(r[0]), bytes(r[1])) for r in rows)
            return found

        fetch_cached = self._blob_cache.wrap(fetch)
        blobs = dict(await fetch_cached(frozenset().union(*(p.keys for p in plans))))
        chunks = set().union(*(p.chunk_keys(blobs) for p in plans))
        if chunks:
            blobs.update(await fetch_cached(chunks))
        if sum(map(len, blobs.values())) > _DECODE_ON_LOOP_MAX:
            # A big state decodes on a worker thread: the loop keeps serving.
            values, written = await asyncio.to_thread(
                self._decode, values_plan, writes_plan, writes, blobs
            )
        else:
            values, written = self._decode(values_plan, writes_plan, writes, blobs)
        return meta_from_record(row, self.serde).with_values(
            values, written, pending_from_record(row, self.serde)
        )

    def _decode(
        self,
        values_plan: ReadPlan,
        writes_plan: ReadPlan | None,
        writes: bytes,
        blobs: Mapping[bytes, bytes],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        values = decode(values_plan, blobs, self.serde)
        if writes_plan is None:
            return values, dict(self.serde.loads(writes))  # a row before schema v3
        return values, unflatten_writes(decode(writes_plan, blobs, self.serde))

    def _split_list_filter(
        self, filter: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]] | None:
        filter = dict(filter)  # noqa: A001
        source = filter.pop("source", None)
        step = filter.pop("step", None)
        pushed, rest = split_filter(filter)
        if isinstance(step, float) and step.is_integer():
            step = int(step)  # as in Python, 2.0 matches step 2 (and True step 1)
        if isinstance(step, int):
            step = int(step)
            if not -(2**31) <= step < 2**31:
                return None  # the column is a 32-bit integer
        elif step is not None:
            return None  # nothing else equals an integer step
        if source is not None and not isinstance(source, str):
            return None  # nor a text source
        return (source, step, pushed), rest

    async def _history_page(
        self, thread_id: str, before: str | None, pushed: Any, limit: int
    ) -> builtins.list[CheckpointMeta]:
        source, step, metadata = pushed
        rows = await self._fetch(
            "listing checkpoints",
            q.LIST_SQL,
            thread_id,
            before,
            source,
            step,
            metadata,
            limit,
        )
        return [meta_from_record(r, self.serde) for r in rows]

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        row = await self._fetchrow("reading a thread", q.GET_THREAD_SQL, thread_id)
        return None if row is None else thread_from_record(row, self.serde)

    def _split_metadata(
        self, metadata: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        return split_filter(metadata)

    async def _threads_page(
        self,
        search: str | None,
        status: ThreadStatus | None,
        pushed: Any,
        limit: int,
        offset: int,
    ) -> builtins.list[ThreadInfo]:
        rows = await self._fetch(
            "listing threads", q.THREADS_SQL, search, status, pushed, limit, offset
        )
        return [thread_from_record(r, self.serde) for r in rows]

    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        row = await self._fetchrow(
            "counting threads", q.COUNT_THREADS_SQL, search, status
        )
        assert row is not None  # an aggregate always returns a row
        return int(row[0])

    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        rows = await self._fetch("listing children", q.CHILDREN_SQL, checkpoint_id)
        return [meta_from_record(r, self.serde) for r in rows]

    async def recent(
        self,
        *,
        after: str | None = None,
        thread_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[CheckpointMeta]:
        rows = await self._fetch(
            "reading recent checkpoints", q.RECENT_SQL, after, thread_id, limit
        )
        return [meta_from_record(r, self.serde) for r in rows]

    async def _change_waiter(
        self, thread_id: str | None, poll_interval: float
    ) -> ChangeWaiter:
        """Listen for the NOTIFY that commits send while a follower is connected;
        also look every few seconds, and every ``poll_interval`` while the
        listening connection is down, so a missed notification delays a checkpoint
        but never loses it."""
        await self._ensure_setup()
        return NotifyWaiter(self._db, thread_id, poll_interval)

    # -- rows --------------------------------------------------------------------------

    # -- connections -------------------------------------------------------------------

    async def _ensure_setup(self) -> None:
        if not self._ready:
            await self.setup()

    async def _call(
        self,
        action: str,
        op: Callable[[asyncpg.Pool], Awaitable[_T]],
        *,
        setup: bool = True,
    ) -> _T:
        """Run ``op`` on this loop's pool (see :meth:`Pools.call`), the schema set up
        first unless ``setup`` is false."""
        prepare = self._ensure_setup if setup else None
        return await self._db.call(action, op, prepare=prepare)

    async def _fetch(self, action: str, sql: str, *args: Any) -> builtins.list[Any]:
        return await self._call(action, lambda pool: pool.fetch(sql, *args))

    async def _fetchrow(self, action: str, sql: str, *args: Any) -> Any:
        rows = await self._fetch(action, sql, *args)
        return rows[0] if rows else None


async def _collect_garbage(
    conn: PoolConnectionProxy[Record], rows: Iterable[Record]
) -> None:
    """Delete the blobs only the deleted checkpoints (``rows`` of values header
    and writes) needed. Runs under the exclusive GC lock, in the deleting
    transaction."""

    async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
        rows = await conn.fetch(q.FETCH_BLOBS_SQL, sorted(keys))
        return {bytes(r[0]): bytes(r[1]) for r in rows}

    async def remaining() -> builtins.list[bytes]:
        return headers_of(await conn.fetch(q.ALL_HEADERS_SQL))

    dead = sorted(await unreferenced(headers_of(rows), remaining, fetch))
    if dead:
        await conn.execute(q.DELETE_BLOBS_SQL, dead)

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
import functools
import json
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from asyncpg import Record
from asyncpg.pool import PoolConnectionProxy

from timeloom.backends import postgres_sql as q
from timeloom.backends.dsn import mask_dsn, parses
from timeloom.backends.layout import (
    EncodedValues,
    Fetch,
    ReadPlan,
    decode,
    decode_mapping,
    encode_values,
    plan,
    unreferenced,
)
from timeloom.backends.policy import PruneCandidate
from timeloom.backends.postgres_pool import (
    LISTEN_ERRORS,
    Pools,
)
from timeloom.backends.scan import StorageTotals
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlstore import Select, SqlCheckpointer, checkpoint_of
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
    SchemaError,
    StoreConnectionError,
)
from timeloom.core.ids import new_checkpoint_id

_T = TypeVar("_T")
_EXISTS = "\x00exists"  # not a checkpoint id: a put found its checkpoint stored
_DECODE_ON_LOOP_MAX = 1 << 20  # bytes of blobs: more decodes on a worker thread
_RESCAN_S = 5.0  # live follow: look again even without a NOTIFY (missed, or lost)

_Conn = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class _PutArgs:
    """A checkpoint's fields for ``timeloom_put``, encoded once."""

    fixed: tuple[Any, ...]
    writes_blobs: dict[bytes, bytes]
    writes_refs: frozenset[bytes]
    writes: bytes

    @classmethod
    def of(cls, checkpoint: Checkpoint, serde: Serializer) -> _PutArgs:
        metadata = dict(checkpoint.metadata)
        fixed = (
            checkpoint.id,
            checkpoint.thread_id,
            checkpoint.parent_id,
            checkpoint.parent_thread_id,
            checkpoint.step,
            checkpoint.source,
            checkpoint.created_at,
            list(checkpoint.writes),
            list(checkpoint.next),
            serde.dumps(metadata),
            _json_strings(metadata),
        )
        # Laid out like values, so the message a step appended is stored once: the
        # writes' one-item list is the same blob as the values' list delta.
        enc_writes = encode_values(_flatten_writes(checkpoint.writes), serde)
        return cls(
            fixed,
            enc_writes.blobs,
            enc_writes.state.header_keys(),
            q.WRITES_LAYOUT_MARK + enc_writes.header,
        )

    def args(
        self, enc: EncodedValues, expected_head: str | None, parent_known: bool
    ) -> tuple[Any, ...]:
        blobs = sorted({**self.writes_blobs, **enc.blobs}.items())
        return (
            *self.fixed,
            enc.header,
            # The blobs the headers name, fetched with the row by a read (the
            # chunks its manifests name are fetched next).
            sorted(enc.state.header_keys() | self.writes_refs),
            self.writes,
            enc.size,
            expected_head,
            [k for k, _ in blobs],
            [d for _, d in blobs],
            parent_known,
        )


class PostgresCheckpointer(SqlCheckpointer[_PutArgs]):
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

    def _encode_row(self, checkpoint: Checkpoint) -> _PutArgs:
        return _PutArgs.of(checkpoint, self.serde)

    # -- lifecycle -------------------------------------------------------------------

    async def setup(self) -> None:
        async def run(pool: asyncpg.Pool) -> None:
            async with pool.acquire() as conn:
                if self.read_only:
                    await self._check_schema(conn)
                else:
                    await self._migrate(conn)

        await self._call("setting up the schema", run, setup=False)
        self._ready = True

    async def aclose(self) -> None:
        await self._db.aclose()

    async def _migrate(self, conn: _Conn) -> None:
        async with conn.transaction():
            # Several workers may start at once: one migrates, the others wait here
            # and then find the schema current.
            await conn.execute(q.SETUP_LOCK_SQL)
            await conn.execute(q.CREATE_MIGRATIONS_TABLE_SQL)
            version = await conn.fetchval(q.SCHEMA_VERSION_SQL)
            self._check_version(version)
            for number in range(version + 1, len(q.MIGRATIONS) + 1):
                await conn.execute(q.MIGRATIONS[number - 1])
                await conn.execute(q.RECORD_MIGRATION_SQL, number)

    async def _check_schema(self, conn: _Conn) -> None:
        tables = {r[0] for r in await conn.fetch(q.INSPECT_TABLES_SQL)}
        if "timeloom_migrations" not in tables:
            if {"checkpoints", "checkpoint_writes"} <= tables:
                hint = "it looks like a LangGraph database; open it with the LangGraph reader"
            else:
                # Named by what the user can run: `threads` and `show` have no
                # --read-only flag to drop (they never write).
                hint = (
                    "it is empty: `timeloom open URL` (without --read-only) or "
                    "PostgresCheckpointer(url).setup() creates the tables"
                )
            raise SchemaError(
                f"{self.url} has no Timeloom schema ({hint}).",
                title="Not a Timeloom database",
            )
        version = await conn.fetchval(q.SCHEMA_VERSION_SQL)
        self._check_version(version)
        if version < q.READABLE_FROM:
            raise SchemaError(
                f"{self.url} has schema version {version}; this Timeloom reads "
                f"versions {q.READABLE_FROM} to {len(q.MIGRATIONS)}. Open it once "
                "writable (`timeloom open URL` without --read-only) to migrate it.",
                title="Old schema",
            )

    def _check_version(self, version: int) -> None:
        if version > len(q.MIGRATIONS):
            raise SchemaError(
                f"{self.url} has schema version {version}, newer than this Timeloom "
                f"knows ({len(q.MIGRATIONS)}). Upgrade Timeloom to open it.",
                title="Newer schema",
            )

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

    async def put_writes(
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
            [self._interrupt_key(w) for w in writes if w.kind == "interrupt"],
            [self._interrupt_key(w) for w in writes if w.kind == "resume"],
        )
        found = await self._call(
            "recording pending writes",
            lambda pool: pool.fetchval(q.PUT_WRITES_SQL, *args),
        )
        if not found:
            raise CheckpointNotFound(f"No checkpoint {checkpoint_id} in {thread_id!r}")

    async def delete_thread(self, thread_id: str) -> None:
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
        return head["id"], self._pending(head)

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
        return checkpoint_of(self._meta(row), values, written, self._pending(row))

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
        return values, _unflatten_writes(decode(writes_plan, blobs, self.serde))

    def _pending(self, row: Any) -> tuple[PendingWrite, ...]:
        return tuple(
            PendingWrite(node, kind, self.serde.loads(value))
            for node, kind, value in zip(
                row["w_nodes"], row["w_kinds"], row["w_values"], strict=True
            )
        )

    def _split_list_filter(
        self, filter: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]] | None:
        filter = dict(filter)  # noqa: A001
        source = filter.pop("source", None)
        step = filter.pop("step", None)
        pushed, rest = _split_filter(filter)
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
        return [self._meta(r) for r in rows]

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        row = await self._fetchrow("reading a thread", q.GET_THREAD_SQL, thread_id)
        return None if row is None else self._thread(row)

    def _split_metadata(
        self, metadata: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        return _split_filter(metadata)

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
        return [self._thread(r) for r in rows]

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
        return [self._meta(r) for r in rows]

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
        return [self._meta(r) for r in rows]

    async def _change_waiter(
        self, thread_id: str | None, poll_interval: float
    ) -> ChangeWaiter:
        """Listen for the NOTIFY that commits send while a follower is connected;
        also look every few seconds, and every ``poll_interval`` while the
        listening connection is down, so a missed notification delays a checkpoint
        but never loses it."""
        await self._ensure_setup()
        return _NotifyWaiter(self, thread_id, poll_interval)

    async def _listen(self, callback: Any) -> asyncpg.Connection | None:
        """Open a connection that LISTENs for commits; None while that fails."""
        try:
            settings = self._db.session_settings()
            # Commits notify only while a connection with this name exists.
            settings["server_settings"]["application_name"] = q.WATCHER_APPLICATION_NAME
            conn: asyncpg.Connection = await asyncpg.connect(
                self._dsn, timeout=self._db.connect_timeout, **settings
            )
        except LISTEN_ERRORS:
            return None
        try:
            await conn.add_listener(q.NOTIFY_CHANNEL, callback)
        except LISTEN_ERRORS:
            conn.terminate()
            return None
        return conn

    # -- rows --------------------------------------------------------------------------

    def _meta(self, row: asyncpg.Record) -> CheckpointMeta:
        return CheckpointMeta(
            id=row["id"],
            thread_id=row["thread_id"],
            parent_id=row["parent_id"],
            parent_thread_id=row["parent_thread_id"],
            step=row["step"],
            source=row["source"],
            created_at=row["created_at"],
            nodes=tuple(row["nodes"]),
            next=tuple(row["next"]),
            metadata=decode_mapping(self.serde, row["metadata"], "metadata"),
            has_error=row["has_error"],
            has_interrupt=row["has_interrupt"],
            size=row["size"],
        )

    def _thread(self, row: asyncpg.Record) -> ThreadInfo:
        forked = row["forked_from_thread"]
        return ThreadInfo(
            thread_id=row["thread_id"],
            status=row["status"],
            head_id=row["head_id"],
            checkpoint_count=row["checkpoint_count"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            forked_from=(forked, row["forked_from_id"]) if forked is not None else None,
            metadata=decode_mapping(self.serde, row["metadata"], "metadata"),
        )

    def _interrupt_key(self, write: PendingWrite) -> str:
        # The interrupt id, encoded so that equal ids compare equal in SQL.
        value = write.value
        ident = value.get("id") if isinstance(value, Mapping) else None
        return self.serde.dumps(ident).hex()

    # -- connections -------------------------------------------------------------------

    # -- the layout, for the investigation tools (see timeloom.backends.scan) ------

    async def value_headers(
        self, thread_id: str
    ) -> builtins.list[tuple[CheckpointMeta, bytes]]:
        """Every checkpoint of the thread with its values header, oldest first: one
        query, no value decoded."""
        rows = await self._fetch(
            "reading a thread's values", q.THREAD_HEADERS_SQL, thread_id
        )
        return [(self._meta(r), bytes(r["values_header"])) for r in rows]

    def blob_fetch(self) -> Fetch:
        """A fetch of verified blobs by key, answered from the blob cache first."""

        async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            rows = await self._fetch("reading values", q.FETCH_BLOBS_SQL, list(keys))
            return {bytes(r[0]): bytes(r[1]) for r in rows}

        return self._blob_cache.wrap(fetch)

    async def blob_sizes(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """The stored size of each blob that exists among ``keys``."""
        rows = await self._fetch("measuring values", q.BLOB_SIZES_SQL, list(keys))
        return {bytes(r[0]): int(r[1]) for r in rows}

    async def storage_totals(self, top: int = 10) -> StorageTotals:
        """The database's totals from SQL aggregates, and its ``top`` threads with
        the most header bytes."""
        row = await self._fetchrow("measuring the database", q.STORAGE_TOTALS_SQL)
        tops = await self._fetch("measuring the database", q.TOP_THREADS_SQL, top)
        threads, checkpoints, headers, rows, blobs, blob_bytes, writes, size = row
        return StorageTotals(
            threads=int(threads),
            checkpoints=int(checkpoints),
            header_bytes=int(headers),
            row_bytes=int(rows),
            blobs=int(blobs),
            blob_bytes=int(blob_bytes),
            pending_write_bytes=int(writes),
            file_bytes=int(size),
            top_threads=tuple((str(t), int(n), int(b)) for t, n, b in tops),
        )

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


class _NotifyWaiter(ChangeWaiter):
    """Wakes a watch on the NOTIFY of a commit (of its thread, or of any)."""

    def __init__(
        self, owner: PostgresCheckpointer, thread_id: str | None, poll_interval: float
    ) -> None:
        super().__init__(poll_interval)
        self._owner = owner
        self._thread_id = thread_id
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    def _on_notify(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        if self._thread_id is None or _payload_thread(payload) in (
            self._thread_id,
            None,
        ):
            self._wake.set()

    async def arm(self) -> None:
        if self._listener is None or self._listener.is_closed():
            self._listener = await self._owner._listen(self._on_notify)
        self._wake.clear()

    async def wait(self) -> None:
        timeout = _RESCAN_S if self._listener is not None else self.poll_interval
        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that arrives
        # as the event is set, and the follower never ends.
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def aclose(self) -> None:
        if self._listener is not None:
            with suppress(Exception):
                async with asyncio.timeout(2):
                    await self._listener.close()


def _payload_thread(payload: str) -> str | None:
    try:
        thread = json.loads(payload).get("thread_id")
    except (ValueError, AttributeError):
        return None
    return thread if isinstance(thread, str) else None


def _json_strings(metadata: Mapping[str, Any]) -> str:
    """The metadata's string-valued keys as JSON: what the server may filter on."""
    if not metadata:
        return "{}"
    return json.dumps({k: v for k, v in metadata.items() if _pushable(k, v)})


def _pushable(key: Any, value: Any) -> bool:
    # jsonb cannot hold NUL characters; such pairs are compared in Python.
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and "\x00" not in key
        and "\x00" not in value
    )


def _split_filter(filter: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split a metadata filter into a JSON containment the server can apply and the
    pairs that must be compared here (jsonb equality differs from Python's for
    numbers, booleans and nulls; strings compare the same)."""
    pushed = {k: v for k, v in filter.items() if _pushable(k, v)}
    rest = {k: v for k, v in filter.items() if k not in pushed}
    return json.dumps(pushed), rest


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
        return _headers(await conn.fetch(q.ALL_HEADERS_SQL))

    dead = sorted(await unreferenced(_headers(rows), remaining, fetch))
    if dead:
        await conn.execute(q.DELETE_BLOBS_SQL, dead)


def _headers(rows: Iterable[Record]) -> builtins.list[bytes]:
    """The layout headers of rows of (values header, writes)."""
    mark = q.WRITES_LAYOUT_MARK
    found: builtins.list[bytes] = []
    for values_header, writes in rows:
        found.append(bytes(values_header))
        if bytes(writes[:1]) == mark:
            found.append(bytes(writes[len(mark) :]))
    return found


def _flatten_writes(writes: Mapping[str, Any]) -> dict[str, Any]:
    """``{node: {key: value}}`` as one channel per ``[node, key]`` (JSON names), so
    that a list a node wrote is laid out item by item; any other update (not a
    non-empty dict with string keys) is one channel named ``[node]``."""
    flat: dict[str, Any] = {}
    for node, update in writes.items():
        if type(update) is dict and update and all(type(k) is str for k in update):
            for key, value in update.items():
                flat[_write_name(node, key)] = value
        else:
            flat[_write_name(node)] = update
    return flat


@functools.lru_cache(maxsize=1024)
def _write_name(*path: str) -> str:
    """The channel name of a flattened write (the same few, step after step)."""
    return json.dumps(list(path))


def _unflatten_writes(flat: Mapping[str, Any]) -> dict[str, Any]:
    writes: dict[str, Any] = {}
    for name, value in flat.items():
        path = json.loads(name)
        if len(path) == 1:
            writes[path[0]] = value
        else:
            writes.setdefault(path[0], {})[path[1]] = value
    return writes

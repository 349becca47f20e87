"""Read a LangGraph ``PostgresSaver`` database, strictly read-only.

Connections come from an asyncpg pool (one per event loop, made on first use) whose
sessions run with ``default_transaction_read_only=on``: the server refuses every
write. LangGraph's ``setup()`` (migrations, ``CREATE INDEX CONCURRENTLY``) is never
run. A checkpoint's state is its inline primitive values plus the
``checkpoint_blobs`` rows named by its ``channel_versions``, joined in one query.
"""

from __future__ import annotations

import asyncio
import builtins
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import asyncpg

from timeloom.backends.dsn import mask_dsn, scrub
from timeloom.backends.langgraph.decode import (
    decode_metadata,
    decode_typed,
    inert,
    well_formed,
)
from timeloom.backends.langgraph.reader import keep_internal
from timeloom.backends.langgraph.rows import RawCheckpoint
from timeloom.backends.langgraph.shared import SharedDecoder
from timeloom.backends.langgraph.sizes import (
    BlobKey,
    StoredBlob,
    StoredCheckpoint,
    VersionedSizes,
)
from timeloom.backends.langgraph.sql import Key, MeasurePage, Params, SqlReader
from timeloom.core.errors import SchemaError, StoreConnectionError

LANGGRAPH_PG_TABLES: Final = (
    "checkpoints",
    "checkpoint_blobs",
    "checkpoint_writes",
    "checkpoint_migrations",
)
"""The tables of a LangGraph ``PostgresSaver`` database (all four are present)."""

KNOWN_MIGRATION: Final = 9
"""The newest ``checkpoint_migrations.v`` this reader was checked against."""

_TABLES_SQL: Final = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
"""

# {where} is a fixed fragment from the callers; values are always bound ($1...).
_ROWS_SQL: Final = """
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
       c.checkpoint::text AS checkpoint, c.metadata::text AS metadata
FROM checkpoints c
WHERE {where}
"""
# Each (channel, version) blob once, however many checkpoints share it. Summaries
# read only the bookkeeping blobs' bytes, and every blob's stored size (which
# pg_column_size gives without de-TOASTing).
_BLOBS_SQL: Final = """
SELECT k.thread_id, k.checkpoint_ns, k.channel, k.version, bl.type,
       CASE WHEN $5 OR bl.channel LIKE 'branch:%' OR bl.channel LIKE 'start:%'
                 OR bl.channel LIKE '\\_\\_%' THEN bl.blob END AS blob,
       pg_column_size(bl.blob) AS size
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     AS k(thread_id, checkpoint_ns, channel, version)
JOIN checkpoint_blobs bl
  ON bl.thread_id = k.thread_id AND bl.checkpoint_ns = k.checkpoint_ns
 AND bl.channel = k.channel AND bl.version = k.version
"""
# Storage accounting: the bytes of each value as stored (before Postgres's own
# compression), a page of checkpoints at a time.
_SIZES_PAGE: Final = 100
_SIZES_ROWS_SQL: Final = """
SELECT c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint::text AS checkpoint,
       octet_length(c.checkpoint::text) + octet_length(c.metadata::text) AS row_bytes
FROM checkpoints c
WHERE c.thread_id = $1 AND c.checkpoint_ns = $2 AND c.checkpoint_id > $3
ORDER BY c.checkpoint_id LIMIT $4
"""
_SIZES_BLOBS_SQL: Final = """
SELECT bl.channel, bl.version, bl.type, bl.blob
FROM unnest($3::text[], $4::text[]) AS k(channel, version)
JOIN checkpoint_blobs bl
  ON bl.thread_id = $1 AND bl.checkpoint_ns = $2
 AND bl.channel = k.channel AND bl.version = k.version
"""


def is_langgraph_postgres(columns: Mapping[str, Sequence[str]]) -> bool:
    """Whether a schema's tables are LangGraph's (non-shallow) ``PostgresSaver`` ones.

    Args:
        columns: table name -> its column names, for the tables of one schema.
    """
    return all(t in columns for t in LANGGRAPH_PG_TABLES) and "checkpoint_id" in (
        columns.get("checkpoints") or ()
    )


class LangGraphPostgres(SqlReader):
    """A read-only checkpointer over a LangGraph Postgres database."""

    numbered = True
    keys_per_query = None  # keys travel as arrays: one query whatever their number
    writes_table = "checkpoint_writes"
    write_value = "blob"

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        self._checked = False

    @property
    def url(self) -> str:
        return mask_dsn(self.dsn)

    async def setup(self) -> None:
        await self._pool()

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        loop = asyncio.get_running_loop()
        for owner, pool in pools.items():
            if owner is loop:
                await pool.close()
            else:
                pool.terminate()  # its loop is gone or busy elsewhere

    async def _pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            try:
                pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=1,
                    max_size=4,
                    server_settings={"default_transaction_read_only": "on"},
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise StoreConnectionError(
                    f"Cannot connect to {self.url}: {scrub(str(exc), self.dsn)}",
                    title="Could not open database",
                ) from exc
            self._pools[loop] = pool
            if not self._checked:
                try:
                    await self._check_schema()
                except BaseException:
                    del self._pools[loop]
                    await pool.close()
                    raise
                self._checked = True
        return pool

    async def _query(
        self, sql: str, params: Sequence[Any] = ()
    ) -> builtins.list[asyncpg.Record]:
        pool = await self._pool()
        try:
            return list(await pool.fetch(sql, *params))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreConnectionError(
                f"Query failed on {self.url}: {scrub(str(exc), self.dsn)}",
                title="Database read failed",
            ) from exc

    async def _check_schema(self) -> None:
        rows = await self._query(_TABLES_SQL, [list(LANGGRAPH_PG_TABLES)])
        columns: dict[str, list[str]] = {}
        for row in rows:
            columns.setdefault(row["table_name"], []).append(row["column_name"])
        if "checkpoints" not in columns:
            raise SchemaError(
                f"{self.url} has no LangGraph 'checkpoints' table in its schema.",
                title="Not a LangGraph database",
            )
        if "checkpoint_id" not in columns["checkpoints"] or "version" not in (
            columns.get("checkpoint_blobs") or ["version"]
        ):
            raise SchemaError(
                f"{self.url} holds LangGraph's ShallowPostgresSaver tables (deprecated "
                "since langgraph-checkpoint-postgres 2.0.20): they keep only the "
                "latest checkpoint of each thread, with no history to travel. "
                "Timeloom reads PostgresSaver databases only.",
                title="Shallow LangGraph database",
            )
        missing = [t for t in LANGGRAPH_PG_TABLES if t not in columns]
        if missing:
            raise SchemaError(
                f"{self.url}: LangGraph tables missing: {', '.join(missing)}.",
                title="Unknown LangGraph schema",
            )
        self.has_task_path = "task_path" in columns["checkpoint_writes"]
        if not self.has_task_path:
            self.schema_notes.append(
                "checkpoint_writes has no task_path (before migration 9): node names "
                "of writes are shown as task ids."
            )
        versions = await self._query("SELECT max(v) AS v FROM checkpoint_migrations")
        newest = versions[0]["v"] if versions else None
        if newest is not None and newest > KNOWN_MIGRATION:
            self.warnings.append(
                f"This database was migrated by a newer langgraph-checkpoint-postgres "
                f"(migration {newest}; this reader knows up to {KNOWN_MIGRATION}). "
                "Some data may be shown incompletely."
            )

    # -- decoding ------------------------------------------------------------------

    @staticmethod
    def _parse(row: asyncpg.Record) -> RawCheckpoint:
        """A checkpoints row with its inline values; blobs are added later."""
        try:
            checkpoint = well_formed(json.loads(row["checkpoint"]))
        except (ValueError, TypeError) as exc:
            checkpoint = well_formed(
                inert("langgraph.undecodable", {"error": str(exc)})
            )
        return RawCheckpoint(
            thread_id=row["thread_id"],
            ns=row["checkpoint_ns"],
            id=row["checkpoint_id"],
            parent_id=row["parent_checkpoint_id"],
            checkpoint=checkpoint,
            metadata=decode_metadata(row["metadata"] or None),
            size=len(row["checkpoint"]),
        )

    async def _select(
        self, where: str, params: Params, *, values: bool, tail: str = ""
    ) -> builtins.list[RawCheckpoint]:
        rows = [
            self._parse(r)
            for r in await self._query(
                _ROWS_SQL.format(where=where) + tail, params.values
            )
        ]
        # The channels whose value is a blob: versioned, but not inline.
        wanted: dict[tuple[str, str, str, str], None] = {}
        for raw in rows:
            inline = raw.checkpoint["channel_values"]
            versions = raw.checkpoint.get("channel_versions") or {}
            for channel, version in versions.items():
                if channel not in inline:
                    wanted[(raw.thread_id, raw.ns, channel, str(version))] = None
        if not wanted:
            return rows
        keys = list(wanted)
        blobs = await self._query(
            _BLOBS_SQL,
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [k[3] for k in keys],
                values,
            ],
        )
        stored = {
            (b["thread_id"], b["checkpoint_ns"], b["channel"], b["version"]): b
            for b in blobs
        }
        decoded: dict[tuple[str, str, str, str], Any] = {}
        shared = SharedDecoder() if values else None
        # Oldest first, so a growing channel's versions reuse each other's items.
        for raw in sorted(rows, key=lambda r: r.id):
            inline = raw.checkpoint["channel_values"]
            versions = raw.checkpoint.get("channel_versions") or {}
            size = raw.size or 0
            for channel, version in versions.items():
                key = (raw.thread_id, raw.ns, channel, str(version))
                blob = stored.get(key)
                if channel in inline or blob is None:
                    continue
                size += blob["size"] or 0
                if blob["type"] == "empty" or (
                    blob["blob"] is None and not keep_internal(channel) and not values
                ):
                    continue
                if key not in decoded:
                    decoded[key] = self._decode_blob(raw, channel, blob, shared)
                inline[channel] = decoded[key]
            raw.size = size
        return rows

    @staticmethod
    def _decode_blob(
        raw: RawCheckpoint,
        channel: str,
        blob: asyncpg.Record,
        shared: SharedDecoder | None,
    ) -> Any:
        data = blob["blob"]
        if shared is not None and blob["type"] == "msgpack" and data is not None:
            # Keyed by channel version; the parent is the channel's previous version
            # as this walk met it, so a grown list decodes only its new items.
            name = f"{raw.thread_id}\x00{raw.ns}\x00{channel}"
            parent = shared.last.get(name)
            value = shared.value(f"{name}\x00{blob['version']}", parent, channel, data)
            shared.last[name] = f"{name}\x00{blob['version']}"
            return value
        return decode_typed(blob["type"], data)

    # -- storage accounting ----------------------------------------------------------

    def _measure_pages(self, thread_id: str, ns: str) -> MeasurePage:
        """Measured as :class:`~timeloom.backends.langgraph.sizes.VersionedSizes`
        says; ``row_bytes`` holds the checkpoint's JSON, its metadata and the
        channel versions it stores first."""
        measure = VersionedSizes()

        async def page(after: str) -> list[StoredCheckpoint]:
            rows = await self._query(
                _SIZES_ROWS_SQL, [thread_id, ns, after, _SIZES_PAGE]
            )
            parsed = [(r, self._parse_sizes(r["checkpoint"])) for r in rows]
            wanted: dict[BlobKey, None] = {}
            for _, (inline, versions) in parsed:
                blobbed = {c: v for c, v in versions.items() if c not in inline}
                wanted.update(dict.fromkeys(measure.unseen(blobbed)))
            blobs: dict[BlobKey, StoredBlob] = {}
            if wanted:
                keys = list(wanted)
                for b in await self._query(
                    _SIZES_BLOBS_SQL,
                    [thread_id, ns, [k[0] for k in keys], [k[1] for k in keys]],
                ):
                    blobs[(b["channel"], b["version"])] = StoredBlob(
                        b["type"], bytes(b["blob"] or b"")
                    )
            out = []
            for row, (inline, versions) in parsed:
                cid = row["checkpoint_id"]
                channels, shared = measure.measure(
                    cid, row["parent_checkpoint_id"], inline, versions, blobs
                )
                new_blobs = sum(
                    size for ch, (size, _) in channels.items() if ch not in inline
                )
                out.append(
                    StoredCheckpoint(
                        checkpoint_id=cid,
                        parent_id=row["parent_checkpoint_id"],
                        row_bytes=int(row["row_bytes"] or 0) + new_blobs,
                        write_bytes=0,
                        channels=channels,
                        shared=shared,
                    )
                )
            return out

        return page

    @staticmethod
    def _parse_sizes(text: str) -> tuple[dict[str, Any], dict[str, str]]:
        """A checkpoint's inline values and its channel versions (as text); empty
        for JSON that is not a checkpoint."""
        try:
            checkpoint = json.loads(text)
        except ValueError:
            return {}, {}
        if not isinstance(checkpoint, dict):
            return {}, {}
        inline = checkpoint.get("channel_values")
        versions = checkpoint.get("channel_versions")
        return (
            inline if isinstance(inline, dict) else {},
            {str(c): str(v) for c, v in versions.items()}
            if isinstance(versions, dict)
            else {},
        )

    # -- the dialect -----------------------------------------------------------------

    def _in(self, p: Params, column: str, values: Sequence[str]) -> str:
        return f"{column} = ANY({p(list(values))}::text[])"

    def _keys_in(self, p: Params, columns: Sequence[str], keys: Sequence[Key]) -> str:
        arrays = ", ".join(
            f"{p([key[i] for key in keys])}::text[]" for i in range(len(columns))
        )
        return f"({', '.join(columns)}) IN (SELECT * FROM unnest({arrays}))"

    def _json_text(self, p: Params, column: str, path: Sequence[str]) -> str:
        *objects, last = path
        steps = "".join(f" -> {p(key)}::text" for key in objects)
        return f"({column}{steps} ->> {p(last)}::text)"

    def _starts_with(self, p: Params, column: str, prefix: str) -> str:
        return f"{column} LIKE {p(_like_prefix(prefix))}"

    def _metadata_where(
        self, p: Params, column: str, wanted: Mapping[str, Any]
    ) -> tuple[builtins.list[str], bool]:
        if not wanted:
            return [], True
        return [f"{column} @> {p(json.dumps(dict(wanted)))}::jsonb"], True


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"

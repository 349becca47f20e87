"""What the investigation tools read of the SQLite layout (see
:mod:`timeloom.backends.scan`): values headers in bulk, blobs, sizes, totals."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from timeloom.backends import sqlite_sql as sql
from timeloom.backends.layout import BlobCache, Fetch
from timeloom.backends.scan import StorageTotals
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite_conn import Connections
from timeloom.backends.sqlite_rows import (
    BLOB_BATCH,
    blob_fetcher,
    meta_from_row,
    stored_header,
)
from timeloom.core.checkpoint import CheckpointMeta


class SqliteLayoutReads:
    """The scan port of :class:`~timeloom.backends.sqlite.SqliteCheckpointer`,
    which provides the connections and the blob cache."""

    _db: Connections
    _blob_cache: BlobCache
    serde: Serializer

    async def value_headers(
        self, thread_id: str
    ) -> builtins.list[tuple[CheckpointMeta, bytes]]:
        """Every checkpoint of the thread with its values header, oldest first: one
        query, no value decoded."""
        async with self._db.transaction("reading a thread's values") as db:
            rows = await db.execute_fetchall(
                sql.SELECT_THREAD_ID_HEADERS_SQL, (thread_id,)
            )
        out: builtins.list[tuple[CheckpointMeta, bytes]] = []
        for row in rows:
            *meta, header = row  # META_COLUMNS, values_header
            out.append((meta_from_row(meta, self.serde), stored_header(header)))
        return out

    async def thread_links(
        self, thread_id: str
    ) -> builtins.list[tuple[str, str | None]]:
        """Every checkpoint of the thread as ``(id, parent_id)``, oldest first."""
        async with self._db.transaction("reading a thread's checkpoints") as db:
            rows = await db.execute_fetchall(sql.SELECT_THREAD_LINKS_SQL, (thread_id,))
        return [
            (str(cid), None if parent is None else str(parent)) for cid, parent in rows
        ]

    async def value_headers_of(
        self, thread_id: str, ids: Sequence[str]
    ) -> builtins.list[tuple[CheckpointMeta, bytes]]:
        """The checkpoints of the thread among ``ids`` with their values headers."""
        wanted = list(dict.fromkeys(ids))
        out: builtins.list[tuple[CheckpointMeta, bytes]] = []
        async with self._db.transaction("reading a thread's values") as db:
            for i in range(0, len(wanted), BLOB_BATCH):
                batch = wanted[i : i + BLOB_BATCH]
                rows = await db.execute_fetchall(
                    sql.select_headers_of_sql(len(batch)), (thread_id, *batch)
                )
                for row in rows:
                    *meta, header = row  # META_COLUMNS, values_header
                    out.append((meta_from_row(meta, self.serde), stored_header(header)))
        return out

    def blob_fetch(self) -> Fetch:
        """A fetch of verified blobs by key, answered from the blob cache first."""

        async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            async with self._db.transaction("reading values") as db:
                return await blob_fetcher(db)(keys)

        return self._blob_cache.wrap(fetch)

    async def blob_sizes(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """The stored size of each blob that exists among ``keys``."""
        sizes: dict[bytes, int] = {}
        wanted = list(keys)
        async with self._db.transaction("measuring values") as db:
            for i in range(0, len(wanted), BLOB_BATCH):
                batch = wanted[i : i + BLOB_BATCH]
                rows = await db.execute_fetchall(
                    sql.select_blob_sizes_sql(len(batch)), batch
                )
                sizes.update((bytes(k), int(n)) for k, n in rows)
        return sizes

    async def storage_totals(self, top: int = 10) -> StorageTotals:
        """The database's totals from SQL aggregates, and its ``top`` threads with
        the most header bytes."""
        async with self._db.transaction("measuring the database") as db:

            async def one(query: str, *params: Any) -> Sequence[Any]:
                rows = list(await db.execute_fetchall(query, params))
                return tuple(rows[0])

            (threads,) = await one(sql.SELECT_THREAD_COUNT_SQL)
            checkpoints, header_bytes, row_bytes = await one(
                sql.SELECT_CHECKPOINT_TOTALS_SQL
            )
            blobs, blob_bytes = await one(sql.SELECT_BLOB_TOTALS_SQL)
            (write_bytes,) = await one(sql.SELECT_WRITE_TOTALS_SQL)
            (file_bytes,) = await one(sql.SELECT_FILE_BYTES_SQL)
            top_rows = await db.execute_fetchall(sql.SELECT_TOP_THREADS_SQL, (top,))
        return StorageTotals(
            threads=int(threads),
            checkpoints=int(checkpoints),
            header_bytes=int(header_bytes),
            row_bytes=int(row_bytes),
            blobs=int(blobs),
            blob_bytes=int(blob_bytes),
            pending_write_bytes=int(write_bytes),
            file_bytes=int(file_bytes) if file_bytes is not None else None,
            top_threads=tuple((str(t), int(n), int(b)) for t, n, b in top_rows),
        )

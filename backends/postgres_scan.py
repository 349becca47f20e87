"""What the investigation tools read of the Postgres layout (see
:mod:`timeloom.backends.scan`): values headers in bulk, blobs, sizes, totals."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from timeloom.backends import postgres_sql as q
from timeloom.backends.layout import BlobCache, Fetch
from timeloom.backends.postgres_rows import meta_from_record
from timeloom.backends.scan import StorageTotals
from timeloom.backends.serde import Serializer
from timeloom.core.checkpoint import CheckpointMeta


class PostgresLayoutReads(ABC):
    """The scan port of :class:`~timeloom.backends.postgres.PostgresCheckpointer`,
    which provides the queries and the blob cache."""

    _blob_cache: BlobCache
    serde: Serializer

    @abstractmethod
    async def _fetch(self, action: str, sql: str, *args: Any) -> builtins.list[Any]:
        """Run a query on this loop's pool; return its rows."""

    @abstractmethod
    async def _fetchrow(self, action: str, sql: str, *args: Any) -> Any:
        """Run a query on this loop's pool; return its first row or ``None``."""

    async def value_headers(
        self, thread_id: str
    ) -> builtins.list[tuple[CheckpointMeta, bytes]]:
        """Every checkpoint of the thread with its values header, oldest first: one
        query, no value decoded."""
        rows = await self._fetch(
            "reading a thread's values", q.THREAD_HEADERS_SQL, thread_id
        )
        return [
            (meta_from_record(r, self.serde), bytes(r["values_header"])) for r in rows
        ]

    async def thread_links(
        self, thread_id: str
    ) -> builtins.list[tuple[str, str | None]]:
        """Every checkpoint of the thread as ``(id, parent_id)``, oldest first."""
        rows = await self._fetch(
            "reading a thread's checkpoints", q.THREAD_LINKS_SQL, thread_id
        )
        return [(str(r[0]), None if r[1] is None else str(r[1])) for r in rows]

    async def value_headers_of(
        self, thread_id: str, ids: Sequence[str]
    ) -> builtins.list[tuple[CheckpointMeta, bytes]]:
        """The checkpoints of the thread among ``ids`` with their values headers."""
        rows = await self._fetch(
            "reading a thread's values", q.HEADERS_OF_SQL, thread_id, list(ids)
        )
        return [
            (meta_from_record(r, self.serde), bytes(r["values_header"])) for r in rows
        ]

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

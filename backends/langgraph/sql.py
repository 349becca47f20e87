"""The LangGraph reader's queries, written once for SQLite and Postgres.

LangGraph's ``SqliteSaver`` and ``PostgresSaver`` keep the same rows (checkpoints
keyed by ``(thread_id, checkpoint_ns, checkpoint_id)``, writes keyed by checkpoint,
task and index), so every fetcher of
:class:`~timeloom.backends.langgraph.reader.LangGraphReader` is one query here.
A driver says only how its SQL differs (placeholders, key lists, JSON paths,
prefix matches, metadata filters), how it runs a query, and how it reads
checkpoint rows (:meth:`SqlReader._select`: SQLite decodes one blob per row,
Postgres joins ``checkpoint_blobs``).
"""

from __future__ import annotations

import builtins
from abc import abstractmethod
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import replace
from typing import Any, ClassVar, Final

from timeloom.backends.filters import metadata_matches
from timeloom.backends.langgraph.decode import decode_metadata
from timeloom.backends.langgraph.fetchers import ThreadRow
from timeloom.backends.langgraph.mapping import ORIGIN_KEY
from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.langgraph.rows import RawCheckpoint, RawWrite
from timeloom.backends.langgraph.sizes import StoredCheckpoint

MeasurePage = Callable[[str], Awaitable[list[StoredCheckpoint]]]
"""Measures the next page of a timeline's checkpoints after an id (oldest first;
empty at the end), keeping what it met for the pages after."""

Key = tuple[str, str, str]
"""A checkpoint's primary key: ``(thread_id, checkpoint_ns, checkpoint_id)``."""

_SPECIAL: Final = "channel IN ('__error__', '__interrupt__', '__resume__')"
_KEY_COLUMNS: Final = ("thread_id", "checkpoint_ns", "checkpoint_id")


class Params:
    """The values bound to one query, each placed in the driver's style."""

    def __init__(self, *, numbered: bool) -> None:
        self.values: list[Any] = []
        self._numbered = numbered

    def __call__(self, value: Any) -> str:
        """Bind ``value``; returns its placeholder (``?`` or ``$n``)."""
        self.values.append(value)
        return f"${len(self.values)}" if self._numbered else "?"


class SqlReader(LangGraphReader):
    """The fetchers of :class:`LangGraphReader` over either SQL database."""

    numbered: ClassVar[bool]
    """Placeholders are ``$1, $2...`` (Postgres), not ``?`` (SQLite)."""
    keys_per_query: ClassVar[int | None]
    """How many keys one ``IN`` list may hold (None: any number)."""
    writes_table: ClassVar[str]
    """The writes table: ``writes`` (SQLite), ``checkpoint_writes`` (Postgres)."""
    write_value: ClassVar[str]
    """Its value column: ``value`` (SQLite), ``blob`` (Postgres)."""

    def __init__(self) -> None:
        super().__init__()
        self.has_task_path = True
        """Whether the writes table has ``task_path`` (set by the schema check)."""

    # -- what a driver provides ------------------------------------------------------

    @abstractmethod
    async def _query(self, sql: str, params: Sequence[Any]) -> builtins.list[Any]:
        """Run a query; rows unpack as tuples in the selected columns' order."""

    @abstractmethod
    async def _select(
        self, where: str, params: Params, *, values: bool, tail: str = ""
    ) -> builtins.list[RawCheckpoint]:
        """The ``checkpoints c`` rows matching ``where``, decoded (``values=False``:
        bookkeeping channels only); ``tail`` (ORDER BY, LIMIT) may bind more values
        to ``params``."""

    @abstractmethod
    def _measure_pages(self, thread_id: str, ns: str) -> MeasurePage:
        """How this driver measures a timeline's stored checkpoints, page by page
        (``write_bytes`` left at 0: :meth:`stored_sizes` adds them)."""

    @abstractmethod
    def _in(self, p: Params, column: str, values: Sequence[str]) -> str:
        """``column`` is one of ``values``."""

    @abstractmethod
    def _keys_in(self, p: Params, columns: Sequence[str], keys: Sequence[Key]) -> str:
        """``(columns)`` is one of ``keys``."""

    @abstractmethod
    def _json_text(self, p: Params, column: str, path: Sequence[str]) -> str:
        """The text at ``path`` (object keys) in JSON ``column``, NULL if absent."""

    @abstractmethod
    def _starts_with(self, p: Params, column: str, prefix: str) -> str:
        """``column`` starts with ``prefix``, case-sensitively."""

    @abstractmethod
    def _metadata_where(
        self, p: Params, column: str, wanted: Mapping[str, Any]
    ) -> tuple[builtins.list[str], bool]:
        """Conditions for a metadata filter, and whether they apply all of it (if
        not, the rest is compared in Python, and LIMIT cannot be pushed down)."""

    # -- the fetchers ----------------------------------------------------------------

    def _params(self) -> Params:
        return Params(numbered=self.numbered)

    def _chunks(self, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
        size = self.keys_per_query or max(len(items), 1)
        for start in range(0, len(items), size):
            yield items[start : start + size]

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
        p = self._params()
        where = [f"c.thread_id = {p(thread_id)}", f"c.checkpoint_ns = {p(ns)}"]
        if before is not None:
            where.append(f"c.checkpoint_id < {p(before)}")
        clauses, exact = self._metadata_where(p, "c.metadata", filter or {})
        where += clauses
        tail = " ORDER BY c.checkpoint_id DESC"
        if limit is not None and exact:
            tail += f" LIMIT {p(limit)}"
        rows = await self._select(" AND ".join(where), p, values=values, tail=tail)
        if filter and not exact:
            rows = [r for r in rows if metadata_matches(r.metadata, filter)]
        return rows[:limit] if limit is not None else rows

    async def _row(
        self, thread_id: str | None, ns: str | None, checkpoint_id: str | None
    ) -> RawCheckpoint | None:
        p = self._params()
        if thread_id is None:
            where, tail = f"c.checkpoint_id = {p(checkpoint_id)}", " LIMIT 1"
        else:
            where = f"c.thread_id = {p(thread_id)} AND c.checkpoint_ns = {p(ns or '')}"
            if checkpoint_id is None:
                tail = " ORDER BY c.checkpoint_id DESC LIMIT 1"
            else:
                where += f" AND c.checkpoint_id = {p(checkpoint_id)}"
                tail = ""
        rows = await self._select(where, p, values=True, tail=tail)
        return rows[0] if rows else None

    async def _subgraph_namespaces(
        self, thread_id: str, ns: str, checkpoint_id: str
    ) -> builtins.list[str]:
        p = self._params()
        sql = (
            f"SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = "
            f"{p(thread_id)} AND checkpoint_ns != {p(ns)} AND "
            f"{self._json_text(p, 'metadata', ['parents', ns])} = {p(checkpoint_id)} "
            "ORDER BY checkpoint_ns"
        )
        return [r[0] for r in await self._query(sql, p.values)]

    async def _exists(self, thread_id: str, ns: str) -> bool:
        p = self._params()
        sql = (
            f"SELECT 1 FROM checkpoints WHERE thread_id = {p(thread_id)} AND "
            f"checkpoint_ns = {p(ns)} LIMIT 1"
        )
        return bool(await self._query(sql, p.values))

    async def _children_in(
        self, thread_id: str, ns: str, parent_id: str
    ) -> builtins.list[RawCheckpoint]:
        p = self._params()
        where = (
            f"c.thread_id = {p(thread_id)} AND c.checkpoint_ns = {p(ns)} AND "
            f"c.parent_checkpoint_id = {p(parent_id)}"
        )
        return await self._select(
            where, p, values=False, tail=" ORDER BY c.checkpoint_id"
        )

    async def _rows_forked_from(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> builtins.list[RawCheckpoint]:
        p = self._params()

        def origin(field: str) -> str:
            return self._json_text(p, "c.metadata", [ORIGIN_KEY, field])

        where = [
            f"{origin('thread_id')} = {p(thread_id)}",
            f"COALESCE({origin('checkpoint_ns')}, '') = {p(ns)}",
        ]
        if checkpoint_id is not None:
            where.append(f"{origin('checkpoint_id')} = {p(checkpoint_id)}")
        return await self._select(
            " AND ".join(where), p, values=False, tail=" ORDER BY c.checkpoint_id"
        )

    async def _rows_by_key(self, keys: Sequence[Key]) -> builtins.list[RawCheckpoint]:
        out: list[RawCheckpoint] = []
        columns = [f"c.{c}" for c in _KEY_COLUMNS]
        for chunk in self._chunks(keys):
            p = self._params()
            where = self._keys_in(p, columns, chunk)
            out.extend(await self._select(where, p, values=False))
        return out

    async def _recent_rows(
        self, after: str | None, thread_id: str | None, ns: str | None, limit: int
    ) -> builtins.list[RawCheckpoint]:
        p = self._params()
        where = f"c.checkpoint_id > {p(after or '')}"
        if thread_id is not None:
            where += (
                f" AND c.thread_id = {p(thread_id)} AND c.checkpoint_ns = {p(ns or '')}"
            )
        tail = f" ORDER BY c.checkpoint_id LIMIT {p(limit)}"
        return await self._select(where, p, values=False, tail=tail)

    def _write_columns(self, value: str) -> str:
        path = "task_path" if self.has_task_path else "''"
        return f"task_id, {path} AS task_path, idx, channel, type, {value} AS blob"

    def _write_order(self) -> str:
        path = "task_path" if self.has_task_path else "''"
        return f"{path}, task_id, idx"

    async def _writes(
        self, thread_id: str, ns: str, ids: Sequence[str] | None, *, values: bool
    ) -> dict[str, builtins.list[RawWrite]]:
        value = self.write_value
        if not values:  # node updates' blobs are not needed for a summary
            value = f"CASE WHEN {_SPECIAL} THEN {value} END"
        out: dict[str, list[RawWrite]] = {}
        chunks: Iterable[Sequence[str] | None] = (
            [None] if ids is None else self._chunks(ids)
        )
        for chunk in chunks:
            p = self._params()
            sql = (
                f"SELECT checkpoint_id, {self._write_columns(value)} FROM "
                f"{self.writes_table} WHERE thread_id = {p(thread_id)} AND "
                f"checkpoint_ns = {p(ns)}"
            )
            if chunk is not None:
                sql += f" AND {self._in(p, 'checkpoint_id', chunk)}"
            sql += f" ORDER BY checkpoint_id, {self._write_order()}"
            for cid, task_id, task_path, idx, channel, tag, blob in await self._query(
                sql, p.values
            ):
                out.setdefault(cid, []).append(
                    RawWrite(cid, task_id, task_path or "", idx, channel, tag, blob)
                )
        return out

    async def _special_writes(
        self, keys: Sequence[Key]
    ) -> dict[Key, builtins.list[RawWrite]]:
        out: dict[Key, list[RawWrite]] = {}
        for chunk in self._chunks(keys):
            p = self._params()
            sql = (
                f"SELECT thread_id, checkpoint_ns, checkpoint_id, "
                f"{self._write_columns(self.write_value)} FROM {self.writes_table} "
                f"WHERE {_SPECIAL} AND {self._keys_in(p, _KEY_COLUMNS, chunk)} "
                f"ORDER BY {self._write_order()}"
            )
            for (
                tid,
                ns,
                cid,
                task_id,
                task_path,
                idx,
                channel,
                tag,
                blob,
            ) in await self._query(sql, p.values):
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
        p = self._params()
        if thread_id is None:
            where = ["checkpoint_ns = ''"]
        else:
            where = [f"thread_id = {p(thread_id)}", "checkpoint_ns != ''"]
        if search:
            where.append(self._starts_with(p, "thread_id", search))
        grouped = (
            "SELECT thread_id, checkpoint_ns, COUNT(*) AS n, MAX(checkpoint_id) AS head, "
            f"MIN(checkpoint_id) AS first FROM checkpoints WHERE {' AND '.join(where)} "
            "GROUP BY thread_id, checkpoint_ns"
        )
        exact = True
        if metadata:
            # The metadata of each timeline's head is what a filter matches.
            clauses, exact = self._metadata_where(p, "c.metadata", metadata)
            sql = (
                "SELECT g.thread_id, g.checkpoint_ns, g.n, g.head, g.first, c.metadata "
                f"FROM ({grouped}) g JOIN checkpoints c ON c.thread_id = g.thread_id "
                "AND c.checkpoint_ns = g.checkpoint_ns AND c.checkpoint_id = g.head"
            )
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
        else:
            sql = f"SELECT thread_id, checkpoint_ns, n, head, first, NULL FROM ({grouped}) g"
        sql += " ORDER BY 4 DESC"
        if limit is not None and exact:
            sql += f" LIMIT {p(limit)} OFFSET {p(offset)}"
        rows = await self._query(sql, p.values)
        if not exact:
            rows = [
                r
                for r in rows
                if metadata_matches(decode_metadata(r[5]), metadata or {})
            ]
            rows = rows[offset : None if limit is None else offset + limit]
        return [ThreadRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def _count_threads(self, search: str | None) -> int:
        p = self._params()
        sql = (
            "SELECT COUNT(DISTINCT thread_id) FROM checkpoints WHERE checkpoint_ns = ''"
        )
        if search:
            sql += " AND " + self._starts_with(p, "thread_id", search)
        rows = await self._query(sql, p.values)
        return int(rows[0][0])

    # -- storage accounting ----------------------------------------------------------

    async def stored_sizes(self, timeline: str) -> AsyncIterator[StoredCheckpoint]:
        """What each checkpoint of a timeline stores, per channel, oldest first,
        measured on the stored bytes (nothing decoded), a page at a time; nothing
        if it does not exist."""
        resolved = await self._resolve(timeline)
        if resolved is None:
            return
        thread_id, ns = resolved
        measure = self._measure_pages(thread_id, ns)
        after = ""
        while page := await measure(after):
            ids = [c.checkpoint_id for c in page]
            writes = await self._write_bytes(thread_id, ns, ids)
            for measured in page:
                yield replace(
                    measured, write_bytes=writes.get(measured.checkpoint_id, 0)
                )
            after = ids[-1]

    async def _write_bytes(
        self, thread_id: str, ns: str, ids: Sequence[str]
    ) -> dict[str, int]:
        """The bytes of each checkpoint's rows in the writes table."""
        p = self._params()
        sql = (
            f"SELECT checkpoint_id, SUM(LENGTH({self.write_value})) FROM "
            f"{self.writes_table} WHERE thread_id = {p(thread_id)} AND "
            f"checkpoint_ns = {p(ns)} AND {self._in(p, 'checkpoint_id', ids)} "
            "GROUP BY checkpoint_id"
        )
        return {cid: int(n or 0) for cid, n in await self._query(sql, p.values)}

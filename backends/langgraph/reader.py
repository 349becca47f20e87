"""The read-only checkpointer over a LangGraph database, independent of the driver.

:class:`LangGraphReader` implements :class:`~timeloom.core.checkpointer.BaseCheckpointer`
on top of the row fetchers of :mod:`timeloom.backends.langgraph.fetchers` (one
query each, written once for SQLite and Postgres in
:mod:`timeloom.backends.langgraph.sql`); all the mapping to Timeloom's model lives
in :mod:`timeloom.backends.langgraph.mapping`.
Every write method raises :class:`~timeloom.core.errors.ReadOnlyError`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NoReturn

from timeloom.backends.langgraph.fetchers import RowFetchers, ThreadRow
from timeloom.backends.langgraph.mapping import (
    is_internal_channel,
    is_push,
    origin_of,
    to_checkpoint,
    to_meta,
)
from timeloom.backends.langgraph.rows import (
    NS_SEP,
    RawCheckpoint,
    RawWrite,
    compose_thread_id,
    split_thread_id,
    uuid6_floor,
    uuid6_time,
)
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    Source,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import ReadOnlyError
from timeloom.core.ids import id_time_ms

_STATUS_BATCH = 500


def keep_internal(name: str) -> bool:
    """Channel filter for summaries: only bookkeeping channels are decoded."""
    return is_internal_channel(name)


class LangGraphReader(BaseCheckpointer, RowFetchers):
    """Reads a LangGraph checkpoint database; never writes to it.

    Beyond the protocol:

    - Timelines: thread ``t`` is LangGraph thread ``t``'s root graph; a subgraph
      namespace ``ns`` is the timeline ``"t|ns"`` (nested: ``"t|outer:id|inner:id"``),
      usable wherever a thread id is. :meth:`threads` and :meth:`count_threads` cover
      root graphs only; :meth:`subgraphs` lists a thread's subgraph timelines, and a
      checkpoint that ran subgraphs names them in ``metadata["timeloom.subgraphs"]``.
    - :meth:`history` reads a whole timeline with values in two queries.
    - :attr:`warnings` (shown by the TUI) and :attr:`schema_notes`.
    - Values of different checkpoints may share unchanged nested objects (and
      decoded stored objects are cached): treat them as read-only.
    """

    @property
    def read_only(self) -> bool:
        """Always ``True``: this reader never writes (LangGraph's own saver does)."""
        return True

    @read_only.setter
    def read_only(self, value: bool) -> None:
        if not value:
            self._refuse()

    def __init__(self) -> None:
        self.warnings: list[str] = []
        """Things the user should know about how the database is open (shown by the
        TUI), e.g. that it was opened immutable."""
        self.schema_notes: list[str] = []
        """Facts about the schema found (e.g. ``writes`` has no ``task_path``)."""

    # -- writes: refused -------------------------------------------------------------

    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        self._refuse()

    async def put_pending(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[PendingWrite]
    ) -> None:
        self._refuse()

    async def adelete_thread(self, thread_id: str) -> None:
        self._refuse()

    async def prune(
        self,
        thread_id: str,
        *,
        keep_last: int | None = None,
        older_than: datetime | None = None,
    ) -> int:
        self._refuse()

    def _refuse(self) -> NoReturn:
        """Refuse a write, whatever :attr:`read_only` was set to: a write that
        "succeeded" while writing nothing would lose the user's data."""
        raise ReadOnlyError(
            f"{self.url} is a LangGraph database, which Timeloom's reader never "
            "writes: write through your graph instead (timeloom open URL --graph "
            "module:attribute), or, on PostgreSQL, add ?timeloom=own to the URL to "
            "keep Timeloom's own checkpoints beside LangGraph's.",
            title="Read-only database",
        )

    # -- reads -----------------------------------------------------------------------

    async def _resolve(self, timeline: str) -> tuple[str, str] | None:
        """The ``(thread_id, ns)`` a timeline id names, if it exists."""
        for thread_id, ns in split_thread_id(timeline):
            if await self._exists(thread_id, ns):
                return thread_id, ns
        return None

    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        if thread_id is None:
            if checkpoint_id is None:
                return None
            raw = await self._row(None, None, checkpoint_id)
        else:
            raw = None
            for tid, ns in split_thread_id(thread_id):
                raw = await self._row(tid, ns, checkpoint_id)
                if raw is not None:
                    break
        if raw is None:
            return None
        ids = [raw.id] + ([raw.parent_id] if raw.parent_id else [])
        writes = await self._writes(raw.thread_id, raw.ns, ids, values=True)
        children = await self._children_in(raw.thread_id, raw.ns, raw.id)
        parents = await self._push_parents(raw.thread_id, raw.ns, [raw], writes)
        checkpoint = to_checkpoint(
            raw,
            writes.get(raw.parent_id or "", []),
            writes.get(raw.id, []),
            children=[c.source for c in children],
            parent=parents.get(raw.parent_id or ""),
        )
        subgraphs = [
            compose_thread_id(raw.thread_id, ns)
            for ns in await self._subgraph_namespaces(raw.thread_id, raw.ns, raw.id)
            if ns.count(NS_SEP) == (raw.ns.count(NS_SEP) + 1 if raw.ns else 0)
        ]
        if subgraphs:
            metadata = dict(checkpoint.metadata)
            metadata["timeloom.subgraphs"] = subgraphs
            checkpoint = _with_metadata(checkpoint, metadata)
        return checkpoint

    async def with_subgraph_links(
        self, checkpoint: Checkpoint | None
    ) -> Checkpoint | None:
        """``checkpoint`` as it is: :meth:`get` names the subgraphs it ran
        (LangGraph's rows say so at the cost of one query)."""
        return checkpoint

    async def summaries(
        self,
        thread_id: str,
        *,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[CheckpointMeta]:
        resolved = await self._resolve(thread_id)
        if resolved is None:
            return
        tid, ns = resolved
        rows = await self._rows(
            tid, ns, values=False, before=before, limit=limit, filter=filter
        )
        for meta in await self._metas(tid, ns, rows):
            yield meta

    async def history(
        self, thread_id: str, *, before: str | None = None, limit: int | None = None
    ) -> builtins.list[Checkpoint]:
        """A timeline's checkpoints with values, newest first, in two queries.

        The fast path for reading a whole history (export, diffs along a branch):
        one query for the checkpoints and one for all their writes.
        """
        resolved = await self._resolve(thread_id)
        if resolved is None:
            return []
        tid, ns = resolved
        rows = await self._rows(tid, ns, values=True, before=before, limit=limit)
        full = before is None and limit is None
        ids = None if full else _ids_and_parents(rows)
        writes = await self._writes(tid, ns, ids, values=True)
        children: dict[str, builtins.list[Source]] = {}
        by_id = await self._push_parents(tid, ns, rows, writes)
        for row in rows:
            if row.parent_id:
                children.setdefault(row.parent_id, []).append(row.source)
        subgraphs = await self._subgraph_starts(tid, ns)
        out = []
        for row in rows:
            checkpoint = to_checkpoint(
                row,
                writes.get(row.parent_id or "", []),
                writes.get(row.id, []),
                children=children.get(row.id, []),
                parent=by_id.get(row.parent_id or ""),
            )
            ran = subgraphs.get(row.id)
            if ran:  # as get() names them
                metadata = dict(checkpoint.metadata)
                metadata["timeloom.subgraphs"] = [r.timeline for r in ran]
                checkpoint = _with_metadata(checkpoint, metadata)
            out.append(checkpoint)
        return out

    async def _metas(
        self, tid: str, ns: str, rows: Sequence[RawCheckpoint]
    ) -> builtins.list[CheckpointMeta]:
        if not rows:
            return []
        writes = await self._writes(tid, ns, _ids_and_parents(rows), values=False)
        by_id = await self._push_parents(tid, ns, rows, writes)
        return [
            to_meta(
                row,
                writes.get(row.parent_id or "", []),
                writes.get(row.id, []),
                parent=by_id.get(row.parent_id or ""),
            )
            for row in rows
        ]

    async def _push_parents(
        self,
        tid: str,
        ns: str,
        rows: Sequence[RawCheckpoint],
        writes: Mapping[str, Sequence[RawWrite]],
    ) -> dict[str, RawCheckpoint]:
        """``rows`` by id, plus the parents not among them whose rows ran ``Send``
        tasks: a push task is named by its parent's pending sends, so a page whose
        oldest row's parent is on the next page (or a single row) reads that
        parent too, in one query of at most ``len(rows)`` keys (summary decode)."""
        by_id = {r.id: r for r in rows}
        missing = {
            r.parent_id
            for r in rows
            if r.parent_id
            and r.parent_id not in by_id
            and any(is_push(w) for w in writes.get(r.parent_id, ()))
        }
        if missing:
            keys = [(tid, ns, parent_id) for parent_id in sorted(missing)]
            by_id.update((r.id, r) for r in await self._rows_by_key(keys))
        return by_id

    async def _metas_each(
        self, rows: Sequence[RawCheckpoint]
    ) -> builtins.list[CheckpointMeta]:
        """Summaries of rows from any timelines (each looks up its own writes)."""
        out: builtins.list[CheckpointMeta] = []
        for row in rows:
            out.extend(await self._metas(row.thread_id, row.ns, [row]))
        return out

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        resolved = await self._resolve(thread_id)
        if resolved is None:
            return None
        tid, ns = resolved
        if ns:
            rows = await self._thread_rows(
                search=None, metadata=None, limit=None, offset=0, thread_id=tid
            )
            rows = [r for r in rows if r.ns == ns]
        else:
            rows = await self._thread_rows(
                search=tid, metadata=None, limit=None, offset=0
            )
            rows = [r for r in rows if r.thread_id == tid]
        infos = await self._infos(rows)
        return infos[0] if infos else None

    async def subgraphs(self, thread_id: str) -> builtins.list[ThreadInfo]:
        """The subgraph timelines (``"thread|ns"``) of a LangGraph thread, newest
        first."""
        rows = await self._thread_rows(
            search=None, metadata=None, limit=None, offset=0, thread_id=thread_id
        )
        return await self._infos(rows)

    async def _infos(self, rows: Sequence[ThreadRow]) -> builtins.list[ThreadInfo]:
        if not rows:
            return []
        heads = {
            (r.thread_id, r.ns, r.id): r
            for r in await self._rows_by_key(
                [(r.thread_id, r.ns, r.head_id) for r in rows]
            )
        }
        head_writes = await self._special_writes(
            [(r.thread_id, r.ns, r.head_id) for r in rows]
        )
        # A thread copied from another (see copy.py) starts at the copy that names
        # its origin: that is where it was forked from, as on Timeloom's backends.
        firsts = {
            (r.thread_id, r.ns): r
            for r in await self._rows_by_key(
                [(r.thread_id, r.ns, r.first_id) for r in rows]
            )
        }
        out = []
        for row in rows:
            key = (row.thread_id, row.ns, row.head_id)
            head = heads.get(key)
            if head is None:
                continue  # deleted between the two queries
            meta = to_meta(head, [], head_writes.get(key, []))
            first = firsts.get((row.thread_id, row.ns))
            out.append(
                ThreadInfo(
                    thread_id=compose_thread_id(row.thread_id, row.ns),
                    status=meta.status,
                    head_id=head.id,
                    checkpoint_count=row.count,
                    created_at=uuid6_time(row.first_id),
                    updated_at=head.created_at,
                    forked_from=origin_of(first.metadata) if first else None,
                    metadata=meta.metadata,
                )
            )
        return out

    async def threads(
        self,
        *,
        search: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[ThreadInfo]:
        if search and NS_SEP in search and not metadata:
            found = await self._with_subgraphs(search, status)
            return found[offset : offset + limit]
        if status is None:
            rows = await self._thread_rows(
                search=search, metadata=metadata, limit=limit, offset=offset
            )
            return await self._infos(rows)
        # A status needs each head decoded: walk all threads in batches.
        matched: builtins.list[ThreadInfo] = []
        start = 0
        while len(matched) < offset + limit:
            rows = await self._thread_rows(
                search=search, metadata=metadata, limit=_STATUS_BATCH, offset=start
            )
            if not rows:
                break
            matched.extend(i for i in await self._infos(rows) if i.status == status)
            start += len(rows)
        return matched[offset : offset + limit]

    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        if search and NS_SEP in search:
            return len(await self._with_subgraphs(search, status))
        if status is None:
            return await self._count_threads(search)
        total = await self._count_threads(search)
        found = await self.threads(search=search, status=status, limit=total)
        return len(found)

    async def _with_subgraphs(
        self, search: str, status: ThreadStatus | None
    ) -> builtins.list[ThreadInfo]:
        """Threads and subgraph timelines whose id starts with ``search``, which
        names a thread's subgraphs (``"thread|"``, ``"thread|sub:"``...): the way
        to find them in the thread list."""
        rows = await self._thread_rows(
            search=search, metadata=None, limit=None, offset=0
        )
        thread_id = search.split(NS_SEP, 1)[0]
        rows += [
            r
            for r in await self._thread_rows(
                search=None, metadata=None, limit=None, offset=0, thread_id=thread_id
            )
            if compose_thread_id(r.thread_id, r.ns).startswith(search)
        ]
        infos = await self._infos(rows)
        return [i for i in infos if status is None or i.status == status]

    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        found = await self._row(None, None, checkpoint_id)
        if found is None:
            return []
        rows = await self._children_in(found.thread_id, found.ns, checkpoint_id)
        rows += [  # and the branches copied from it
            r
            for r in await self._rows_forked_from(
                found.thread_id, found.ns, checkpoint_id
            )
            if r.parent_id is None
        ]
        return await self._metas_each(rows)

    async def forks(self, thread_id: str) -> dict[str, builtins.list[CheckpointMeta]]:
        """The branches copied into other threads from a timeline's checkpoints, by
        checkpoint id, found once for the whole timeline (LangGraph's own forks
        never leave their thread). The subgraphs a checkpoint ran are not forks:
        :meth:`subgraphs` lists them."""
        resolved = await self._resolve(thread_id)
        if resolved is None:
            return {}
        tid, ns = resolved
        out: dict[str, builtins.list[CheckpointMeta]] = {}
        for row in await self._rows_forked_from(tid, ns, None):
            origin = origin_of(row.metadata)
            if origin is not None:
                metas = await self._metas(row.thread_id, row.ns, [row])
                out.setdefault(origin[1], []).extend(metas)
        return out

    async def _subgraph_starts(
        self, tid: str, ns: str
    ) -> dict[str, builtins.list[RawCheckpoint]]:
        """The first checkpoint of each subgraph timeline directly below ``(tid,
        ns)``, by the checkpoint of ``ns`` it ran from (its metadata ``parents``)."""
        depth = ns.count(NS_SEP) + 1 if ns else 0
        below = [
            r
            for r in await self._thread_rows(
                search=None, metadata=None, limit=None, offset=0, thread_id=tid
            )
            if r.ns.count(NS_SEP) == depth and (not ns or r.ns.startswith(ns + NS_SEP))
        ]
        firsts = await self._rows_by_key([(tid, r.ns, r.first_id) for r in below])
        out: dict[str, builtins.list[RawCheckpoint]] = {}
        for row in sorted(firsts, key=lambda r: r.id):
            parents = row.metadata.get("parents")
            parent = parents.get(ns) if isinstance(parents, dict) else None
            if isinstance(parent, str):
                out.setdefault(parent, []).append(row)
        return out

    async def recent(
        self,
        *,
        after: str | None = None,
        thread_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[CheckpointMeta]:
        tid: str | None = None
        ns: str | None = None
        if thread_id is not None:
            resolved = await self._resolve(thread_id)
            if resolved is None:
                return []
            tid, ns = resolved
        rows = await self._recent_rows(_as_langgraph_id(after), tid, ns, limit)
        return await self._metas_each(rows)

    def _id_floor(self, ms: int) -> str:
        return uuid6_floor(ms)  # LangGraph's ids are UUIDv6

    def _lookback(self, checkpoint_id: str) -> str:
        ms = int(uuid6_time(checkpoint_id).timestamp() * 1000)
        return uuid6_floor(ms - _LOOKBACK_MS)


_LOOKBACK_MS = 2_000  # ids from different processes are ordered only roughly


def _ids_and_parents(rows: Sequence[RawCheckpoint]) -> builtins.list[str]:
    ids = {r.id for r in rows} | {r.parent_id for r in rows if r.parent_id}
    return sorted(ids)


def _as_langgraph_id(after: str | None) -> str | None:
    """Translate a Timeloom (UUIDv7) cursor into a LangGraph (UUIDv6) one."""
    if after is None or len(after) < 15 or after[14] != "7":
        return after
    return uuid6_floor(id_time_ms(after))


def _with_metadata(checkpoint: Checkpoint, metadata: dict[str, Any]) -> Checkpoint:
    return replace(checkpoint, metadata=metadata)

"""An in-memory checkpointer, for tests and throwaway runs.

Values go through the same codec as the durable backends, so a value that could not
be persisted fails here too, and what you read back is what a database would return.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from timeloom.backends.filters import matches_filter, metadata_matches
from timeloom.backends.policy import (
    PruneCandidate,
    is_fork_point,
    pending_flags,
    prune_selection,
)
from timeloom.backends.serde import Serializer
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import CheckpointNotFound, ConflictError
from timeloom.core.namespaces import NS_SEP

_STAGED_KEPT = 256  # a run never has more than a few checkpoints waiting


@dataclass(slots=True)
class _Stored:
    meta: CheckpointMeta
    values: bytes
    writes: bytes
    pending: list[tuple[str, str, bytes]] = field(default_factory=list)


class MemoryCheckpointer(BaseCheckpointer):
    """Keeps checkpoints in this process's memory; gone when the process ends."""

    def __init__(self, *, serde: Serializer | None = None) -> None:
        self.serde = serde or Serializer()
        self._lock = threading.Lock()  # sync and async callers may share one instance
        self._by_id: dict[str, _Stored] = {}
        self._threads: dict[str, list[str]] = {}  # thread -> ids, oldest first
        self._heads: dict[str, str] = {}
        self._staged: dict[str, tuple[Checkpoint, bytes]] = {}  # encoded by stage()
        self._children: dict[str, list[str]] = {}
        # thread -> (thread, checkpoint) its first fork root came from: recorded
        # once, like the SQL backends' threads table, so pruning that root keeps it.
        self._forked_from: dict[str, tuple[str, str]] = {}

    @property
    def url(self) -> str:
        return "memory:"

    def allow_types(self, types: Iterable[type]) -> None:
        self.serde.register(*types)

    async def setup(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    # -- writes --------------------------------------------------------------------

    def stage(self, checkpoint: Checkpoint) -> Checkpoint:
        self._check_writable()
        values = self.serde.dumps(dict(checkpoint.values), root="values")
        with self._lock:
            self._staged[checkpoint.id] = (checkpoint, values)
            while len(self._staged) > _STAGED_KEPT:
                del self._staged[next(iter(self._staged))]
        return checkpoint

    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        self._check_writable()
        with self._lock:
            staged = self._staged.pop(checkpoint.id, None)
        if staged is not None and staged[0] is checkpoint:
            values = staged[1]  # as it was when the run made it
        else:
            values = self.serde.dumps(dict(checkpoint.values), root="values")
        writes = self.serde.dumps(dict(checkpoint.writes), root="writes")
        # Round-trip the metadata too, so it holds only what a database could store.
        metadata = self.serde.loads(self.serde.dumps_metadata(checkpoint.metadata))
        meta = replace(checkpoint, metadata=metadata, pending_writes=()).summary(
            len(values)
        )
        with self._lock:
            head = self._heads.get(checkpoint.thread_id)
            if head != expected_head:
                raise ConflictError(
                    f"Thread {checkpoint.thread_id!r} moved on: its head is {head}, "
                    f"this writer expected {expected_head}. Reload and retry."
                )
            self._by_id[checkpoint.id] = _Stored(meta, values, writes)
            ids = self._threads.setdefault(checkpoint.thread_id, [])
            ids.append(checkpoint.id)
            if len(ids) > 1 and ids[-2] > ids[-1]:
                ids.sort()
            self._heads[checkpoint.thread_id] = checkpoint.id
            if meta.is_fork_root and meta.parent_id is not None:
                self._forked_from.setdefault(
                    checkpoint.thread_id,
                    (meta.parent_thread_id, meta.parent_id),  # type: ignore[arg-type]
                )
            if checkpoint.parent_id is not None:
                self._children.setdefault(checkpoint.parent_id, []).append(
                    checkpoint.id
                )

    async def put_pending(
        self, thread_id: str, checkpoint_id: str, writes: Sequence[PendingWrite]
    ) -> None:
        self._check_writable()
        encoded = [
            (
                w.node,
                w.kind,
                self.serde.dumps(w.value, root=f"pending_writes[{w.node!r}]"),
            )
            for w in writes
        ]
        with self._lock:
            stored = self._by_id.get(checkpoint_id)
            if stored is None or stored.meta.thread_id != thread_id:
                raise CheckpointNotFound(
                    f"No checkpoint {checkpoint_id} in {thread_id!r}"
                )
            stored.pending.extend(encoded)
            has_error, has_interrupt = pending_flags(self._decode_pending(stored))
            stored.meta = replace(
                stored.meta, has_error=has_error, has_interrupt=has_interrupt
            )

    async def adelete_thread(self, thread_id: str) -> None:
        self._check_writable()
        below = f"{thread_id}{NS_SEP}"
        with self._lock:  # the thread and its subgraphs' timelines at once
            for timeline in [
                t for t in self._threads if t == thread_id or t.startswith(below)
            ]:
                for cid in self._threads.pop(timeline):
                    self._drop(cid)
                self._heads.pop(timeline, None)
                self._forked_from.pop(timeline, None)

    async def prune(
        self,
        thread_id: str,
        *,
        keep_last: int | None = None,
        older_than: datetime | None = None,
    ) -> int:
        self._check_writable()
        with self._lock:
            ids = self._threads.get(thread_id, [])
            head = self._heads.get(thread_id)
            doomed = prune_selection(
                [
                    PruneCandidate(
                        cid,
                        self._by_id[cid].meta.created_at,
                        is_head=cid == head,
                        is_fork_point=is_fork_point(
                            [
                                self._by_id[c].meta.thread_id
                                for c in self._children.get(cid, [])
                            ],
                            thread_id,
                        ),
                        has_interrupt=self._by_id[cid].meta.has_interrupt,
                    )
                    for cid in ids
                ],
                keep_last=keep_last,
                older_than=older_than,
            )
            for cid in doomed:
                ids.remove(cid)
                self._drop(cid)
            return len(doomed)

    # -- reads ---------------------------------------------------------------------

    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        return self._get(thread_id, checkpoint_id)

    def _get(
        self, thread_id: str | None, checkpoint_id: str | None
    ) -> Checkpoint | None:
        with self._lock:
            if checkpoint_id is None:
                if thread_id is None:
                    return None
                checkpoint_id = self._heads.get(thread_id)
                if checkpoint_id is None:
                    return None
            stored = self._by_id.get(checkpoint_id)
            if stored is None or (
                thread_id is not None and stored.meta.thread_id != thread_id
            ):
                return None
            return stored.meta.with_values(
                self.serde.loads(stored.values),
                self.serde.loads(stored.writes),
                self._decode_pending(stored),
            )

    async def summaries(
        self,
        thread_id: str,
        *,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[CheckpointMeta]:
        with self._lock:
            metas = [
                self._by_id[cid].meta
                for cid in reversed(self._threads.get(thread_id, []))
            ]
        count = 0
        for meta in metas:
            if limit is not None and count >= limit:
                return
            if before is not None and meta.id >= before:
                continue
            if filter and not matches_filter(meta, filter):
                continue
            count += 1
            yield meta

    async def get_thread(self, thread_id: str) -> ThreadInfo | None:
        with self._lock:
            return self._thread_info(thread_id) if thread_id in self._heads else None

    async def threads(
        self,
        *,
        search: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[ThreadInfo]:
        with self._lock:
            infos = [self._thread_info(t) for t in self._heads]
        infos = [
            i
            for i in infos
            if (search is None or i.thread_id.startswith(search))
            and ((search and NS_SEP in search) or NS_SEP not in i.thread_id)
            and (status is None or i.status == status)
            and (not metadata or metadata_matches(i.metadata, metadata))
        ]
        infos.sort(key=lambda i: (i.updated_at, i.head_id), reverse=True)
        return infos[offset : offset + limit]

    async def count_threads(
        self, *, search: str | None = None, status: ThreadStatus | None = None
    ) -> int:
        return len(
            await self.threads(search=search, status=status, limit=len(self._heads))
        )

    async def children(self, checkpoint_id: str) -> builtins.list[CheckpointMeta]:
        with self._lock:
            return [self._by_id[c].meta for c in self._children.get(checkpoint_id, [])]

    async def recent(
        self,
        *,
        after: str | None = None,
        thread_id: str | None = None,
        limit: int = 100,
    ) -> builtins.list[CheckpointMeta]:
        with self._lock:
            ids = self._threads.get(thread_id, []) if thread_id else sorted(self._by_id)
            metas = [self._by_id[c].meta for c in ids if after is None or c > after]
        return metas[:limit]

    # -- helpers -------------------------------------------------------------------

    def _decode_pending(self, stored: _Stored) -> tuple[PendingWrite, ...]:
        return tuple(
            PendingWrite(node, kind, self.serde.loads(value))  # type: ignore[arg-type]
            for node, kind, value in stored.pending
        )

    def _drop(self, cid: str) -> None:
        stored = self._by_id.pop(cid)
        parent = stored.meta.parent_id
        if parent is not None and parent in self._children:
            self._children[parent] = [c for c in self._children[parent] if c != cid]
        self._children.pop(cid, None)

    def _thread_info(self, thread_id: str) -> ThreadInfo:
        ids = self._threads[thread_id]
        head = self._by_id[self._heads[thread_id]].meta
        first = self._by_id[ids[0]].meta
        return ThreadInfo(
            thread_id=thread_id,
            status=head.status,
            head_id=head.id,
            checkpoint_count=len(ids),
            created_at=first.created_at,
            updated_at=head.created_at,
            forked_from=self._forked_from.get(thread_id),
            metadata=head.metadata,
        )

"""The skeleton the SQL checkpointers (SQLite, Postgres) share.

:class:`SqlCheckpointer` owns every algorithm that does not depend on the driver:
staging and the writer's caches, reading the head from what this writer committed,
history paging with a filter part of which the database may apply, thread paging
with a metadata filter, and pruning through the one policy
(:mod:`timeloom.backends.policy`). A backend supplies only its driver port: commit
a chain, read a checkpoint, fetch a page of rows, delete what the policy chose.
"""

from __future__ import annotations

import builtins
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from timeloom.backends.filters import matches_filter, metadata_matches
from timeloom.backends.layout import BlobCache
from timeloom.backends.policy import PruneCandidate, prune_selection
from timeloom.backends.recent import RecentCheckpoints
from timeloom.backends.serde import Serializer
from timeloom.backends.staging import Staging
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer

R = TypeVar("R")

PAGE = 200
"""Rows per round trip when paging or filtering in Python."""

Select = Callable[[Sequence[PruneCandidate]], builtins.list[str]]
"""Given a thread's checkpoints oldest first, the ids to delete."""


class SqlCheckpointer(BaseCheckpointer, Generic[R]):
    """A checkpointer on a SQL database; ``R`` is the backend's encoded row.

    Args:
        serde: the value codec (default: a new :class:`Serializer`).
    """

    def __init__(self, serde: Serializer | None) -> None:
        self.serde = serde or Serializer()
        # The layout states of recently written checkpoints (a child of one of
        # them stores its list appends as deltas), and the staged checkpoints.
        self._staging: Staging[R] = Staging(self.serde, self._encode_row)
        self._recent = RecentCheckpoints()
        self._blob_cache = BlobCache()

    @abstractmethod
    def _encode_row(self, checkpoint: Checkpoint) -> R:
        """Encode a checkpoint's fields other than its values (on the caller's
        thread, once, when it is staged)."""

    def allow_types(self, types: Iterable[type]) -> None:
        register = getattr(self.serde, "register", None)
        if register is not None:
            register(*types)

    def _forget(self) -> None:
        """Drop what this writer remembers of checkpoints that may be gone."""
        self._staging.forget_states()
        self._recent.clear()

    # -- writes --------------------------------------------------------------------

    def stage(self, checkpoint: Checkpoint) -> Checkpoint:
        self._check_writable()
        self._staging.stage(checkpoint)
        return checkpoint

    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        await self.put_many([checkpoint], expected_head=expected_head)

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

        def select(candidates: Sequence[PruneCandidate]) -> builtins.list[str]:
            return prune_selection(
                candidates, keep_last=keep_last, older_than=older_than
            )

        pruned = await self._prune(thread_id, select)
        self._forget()
        return pruned

    @abstractmethod
    async def _prune(self, thread_id: str, select: Select) -> int:
        """In one transaction: read the thread's candidates, delete those
        ``select`` returns (and the blobs only they needed); return how many."""

    # -- reads ---------------------------------------------------------------------

    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        if checkpoint_id is None:
            if thread_id is None:
                return None
            if self._recent:
                # Usually the head is the checkpoint this writer committed last:
                # then only its pending writes (which change later) are read.
                found = await self._head_pending(thread_id)
                if found is None:
                    return None
                head_id, pending = found
                if pending is not None:
                    cached = self._recent.lookup(
                        head_id, thread_id, self.serde, pending
                    )
                    if cached is not None:
                        return cached
        return await self._read(thread_id, checkpoint_id)

    @abstractmethod
    async def _head_pending(
        self, thread_id: str
    ) -> tuple[str, tuple[PendingWrite, ...] | None] | None:
        """The thread's head id and, if this writer may have it cached, its
        pending writes; ``None`` if the thread does not exist."""

    @abstractmethod
    async def _read(
        self, thread_id: str | None, checkpoint_id: str | None
    ) -> Checkpoint | None:
        """Read a checkpoint in full (``checkpoint_id=None``: the head)."""

    async def summaries(
        self,
        thread_id: str,
        *,
        before: str | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[CheckpointMeta]:
        split = self._split_list_filter(filter or {})
        if split is None:
            return  # nothing the database holds can match
        pushed, rest = split
        remaining = limit
        while remaining is None or remaining > 0:
            page = PAGE if rest or remaining is None else min(remaining, PAGE)
            metas = await self._history_page(thread_id, before, pushed, page)
            for meta in metas:
                if rest and not matches_filter(meta, rest):
                    continue
                yield meta
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        return
            if len(metas) < page:
                return
            before = metas[-1].id

    def _split_list_filter(
        self, filter: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]] | None:
        """Split a ``summaries()`` filter into what the query applies (passed to
        :meth:`_history_page`) and what is compared here; ``None`` if no row can
        match. This default applies everything here."""
        return None, dict(filter)

    @abstractmethod
    async def _history_page(
        self, thread_id: str, before: str | None, pushed: Any, limit: int
    ) -> builtins.list[CheckpointMeta]:
        """Up to ``limit`` of the thread's summaries older than ``before`` (all if
        ``None``), newest first, matching the ``pushed`` part of a filter."""

    async def threads(
        self,
        *,
        search: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[ThreadInfo]:
        pushed, rest = self._split_metadata(metadata or {})
        if not rest:
            return await self._threads_page(search, status, pushed, limit, offset)
        # A filter the database cannot apply exactly: matched here, page by page.
        found: builtins.list[ThreadInfo] = []
        skip, position = offset, 0
        while len(found) < limit:
            infos = await self._threads_page(search, status, pushed, PAGE, position)
            position += len(infos)
            for info in infos:
                if not metadata_matches(info.metadata, rest):
                    continue
                if skip:
                    skip -= 1
                    continue
                found.append(info)
                if len(found) >= limit:
                    break
            if len(infos) < PAGE:
                break
        return found

    def _split_metadata(
        self, metadata: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Split a thread metadata filter into what the query applies and what is
        compared here. This default applies everything here."""
        return None, dict(metadata)

    @abstractmethod
    async def _threads_page(
        self,
        search: str | None,
        status: ThreadStatus | None,
        pushed: Any,
        limit: int,
        offset: int,
    ) -> builtins.list[ThreadInfo]:
        """A page of thread summaries, most recently updated first."""

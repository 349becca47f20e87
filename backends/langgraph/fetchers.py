"""The row fetchers a LangGraph reader is built on.

:class:`~timeloom.backends.langgraph.reader.LangGraphReader` maps rows onto
Timeloom's model; these are the rows it asks for, each one query (or a few) on the
database. :class:`~timeloom.backends.langgraph.sql.SqlReader` implements them for
SQLite and Postgres.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from timeloom.backends.langgraph.rows import RawCheckpoint, RawWrite


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One timeline in a thread listing: ``GROUP BY thread_id, checkpoint_ns``."""

    thread_id: str
    ns: str
    count: int
    head_id: str
    first_id: str


class RowFetchers(ABC):
    """What a driver module provides to the reader."""

    @abstractmethod
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
        """A timeline's rows, newest first."""

    @abstractmethod
    async def _row(
        self, thread_id: str | None, ns: str | None, checkpoint_id: str | None
    ) -> RawCheckpoint | None:
        """One fully decoded row; ``checkpoint_id=None`` is the head."""

    @abstractmethod
    async def _subgraph_namespaces(
        self, thread_id: str, ns: str, checkpoint_id: str
    ) -> builtins.list[str]:
        """The namespaces (below ``ns``) whose checkpoints' metadata ``parents``
        map ``ns`` to ``checkpoint_id``: the subgraphs run from that checkpoint."""

    @abstractmethod
    async def _exists(self, thread_id: str, ns: str) -> bool:
        """Whether the timeline has a checkpoint."""

    @abstractmethod
    async def _children_in(
        self, thread_id: str, ns: str, parent_id: str
    ) -> builtins.list[RawCheckpoint]:
        """Rows (summary decode) of timeline ``(thread_id, ns)`` whose parent is
        ``parent_id``: looked up through the primary key's ``(thread_id,
        checkpoint_ns)`` prefix, so only that timeline's rows are read (LangGraph's
        schema has no index on ``parent_checkpoint_id``)."""

    @abstractmethod
    async def _rows_forked_from(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> builtins.list[RawCheckpoint]:
        """Rows (summary decode) copied from timeline ``(thread_id, ns)`` by a
        branch (``metadata[ORIGIN_KEY]``), from ``checkpoint_id`` or any."""

    @abstractmethod
    async def _rows_by_key(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> builtins.list[RawCheckpoint]:
        """Rows (summary decode) for ``(thread_id, ns, checkpoint_id)`` keys."""

    @abstractmethod
    async def _recent_rows(
        self, after: str | None, thread_id: str | None, ns: str | None, limit: int
    ) -> builtins.list[RawCheckpoint]:
        """Rows (summary decode) with ids after ``after``, oldest first."""

    @abstractmethod
    async def _writes(
        self, thread_id: str, ns: str, ids: Sequence[str] | None, *, values: bool
    ) -> dict[str, builtins.list[RawWrite]]:
        """Writes rows by checkpoint id (``ids=None``: the whole timeline), in
        ``(task_path, task_id, idx)`` order. ``values=False`` may leave out the blobs
        of node updates (interrupts, resumes and errors are always read)."""

    @abstractmethod
    async def _special_writes(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], builtins.list[RawWrite]]:
        """The error, interrupt and resume rows of ``(thread_id, ns, checkpoint_id)``
        keys, in ``(task_path, task_id, idx)`` order."""

    @abstractmethod
    async def _thread_rows(
        self,
        *,
        search: str | None,
        metadata: Mapping[str, Any] | None,
        limit: int | None,
        offset: int,
        thread_id: str | None = None,
    ) -> builtins.list[ThreadRow]:
        """Timelines, most recently updated first: root graphs, or (``thread_id``
        given) that thread's subgraph namespaces."""

    @abstractmethod
    async def _count_threads(self, search: str | None) -> int:
        """How many LangGraph threads (root graphs) match ``search``."""

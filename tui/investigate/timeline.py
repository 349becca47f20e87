"""A thread's checkpoints, oldest first, and the cheapest way to read their values.

Three ways, chosen by what the checkpointer offers (:attr:`ThreadStates.mode`):

- ``"content-addressed"``: a Timeloom store that lays values out by content
  (:class:`~timeloom.backends.scan.LaidOutStore`): all values headers in one query,
  each distinct value decoded once, and unchanged channels recognised without
  decoding anything.
- ``"history"``: a LangGraph database: pages of checkpoints with values in two
  queries each (:meth:`~timeloom.backends.langgraph.reader.LangGraphReader.history`).
- ``"per-checkpoint"``: any other checkpointer: ``get()`` for each checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.scan import HeaderDecoder, LaidOutStore, entry_tokens
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import SerializationError
from timeloom.tui.scripting import NotFound

Mode: TypeAlias = Literal["content-addressed", "history", "per-checkpoint"]

_PAGE: Final = 200
_YIELD_EVERY: Final = 256


class ThreadStates:
    """A thread's checkpoints and their values.

    Build it with :meth:`load`. Values returned may be shared between checkpoints:
    treat them as read-only.
    """

    def __init__(
        self,
        checkpointer: BaseCheckpointer,
        thread_id: str,
        metas: Sequence[CheckpointMeta],
        headers: Mapping[str, bytes] | None = None,
    ) -> None:
        self.checkpointer = checkpointer
        self.thread_id = thread_id
        self.metas: list[CheckpointMeta] = sorted(metas, key=lambda m: m.id)
        """Every checkpoint of the thread, oldest first."""
        self.by_id = {m.id: m for m in self.metas}
        self.headers = headers
        """Each checkpoint's values header, where the store lays values out by
        content (``None`` otherwise)."""
        self._tokens: dict[str, Mapping[str, Hashable] | None] = {}
        self._decoder: HeaderDecoder | None = None
        self.mode: Mode
        if headers is not None and isinstance(checkpointer, LaidOutStore):
            self.mode = "content-addressed"
            self._decoder = HeaderDecoder(checkpointer.serde, checkpointer.blob_fetch())
        elif isinstance(checkpointer, LangGraphReader):
            self.mode = "history"
        else:
            self.mode = "per-checkpoint"
        self.reads = 0
        """How many checkpoints' values were asked for (bisect reports it)."""

    @classmethod
    async def load(cls, checkpointer: BaseCheckpointer, thread_id: str) -> ThreadStates:
        """Read a thread's summaries (and, where cheap, its values headers).

        Raises:
            NotFound: the thread has no checkpoint.
        """
        headers = None
        if isinstance(checkpointer, LaidOutStore):
            rows = await checkpointer.value_headers(thread_id)
            metas = [meta for meta, _ in rows]
            headers = {meta.id: header for meta, header in rows}
        else:
            metas = [m async for m in checkpointer.list(thread_id)]
        if not metas:
            raise NotFound(f"No thread {thread_id!r}")
        return cls(checkpointer, thread_id, metas, headers)

    # -- shape -----------------------------------------------------------------------

    def resolve(self, checkpoint: str | None) -> CheckpointMeta:
        """The checkpoint with this id (or unique prefix of 6+ characters); the
        newest checkpoint for ``None``.

        Raises:
            NotFound: no such checkpoint in the thread, or an ambiguous prefix.
        """
        if checkpoint is None:
            return self.head
        found = self.by_id.get(checkpoint)
        if found is not None:
            return found
        if len(checkpoint) >= 6:
            matches = [m for m in self.metas if m.id.startswith(checkpoint)]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise NotFound(
                    f"{checkpoint!r} is the start of {len(matches)} checkpoints of "
                    f"{self.thread_id!r}; give more of the id"
                )
        raise NotFound(f"No checkpoint {checkpoint!r} in thread {self.thread_id!r}")

    @property
    def head(self) -> CheckpointMeta:
        """The newest checkpoint (the thread's head in every backend)."""
        return self.metas[-1]

    def branch(self, tip: str | None = None) -> list[CheckpointMeta]:
        """The checkpoints from the thread's first one to ``tip`` (the head for
        ``None``) along parent links, oldest first. A fork stops at its root: the
        checkpoints before it are in another thread.

        Raises:
            NotFound: ``tip`` is not in the thread.
        """
        path: list[CheckpointMeta] = []
        current: CheckpointMeta | None = self.resolve(tip)
        while current is not None:
            path.append(current)
            parent = current.parent_id
            current = self.by_id.get(parent) if parent is not None else None
        path.reverse()
        return path

    # -- values ----------------------------------------------------------------------

    def tokens(self, checkpoint_id: str) -> Mapping[str, Hashable] | None:
        """Each channel's content token (equal tokens: equal values), where the store
        has them; ``None`` otherwise. Reads nothing."""
        if self.headers is None:
            return None
        if checkpoint_id in self._tokens:
            return self._tokens[checkpoint_id]
        header = self.headers.get(checkpoint_id)
        found: Mapping[str, Hashable] | None = None
        if header is not None:
            try:
                found = entry_tokens(header)
            except SerializationError:
                found = None
        self._tokens[checkpoint_id] = found
        return found

    async def values(self, checkpoint_id: str) -> Mapping[str, Any]:
        """The values of one checkpoint of the thread.

        Raises:
            NotFound: it is not in the thread.
        """
        self.reads += 1
        if self._decoder is not None:
            tokens = self.tokens(checkpoint_id)
            if tokens is None:
                if checkpoint_id not in self.by_id:
                    raise NotFound(
                        f"No checkpoint {checkpoint_id!r} in {self.thread_id!r}"
                    )
                # An unreadable header: let the checkpointer say what is wrong.
                checkpoint = await self.checkpointer.get(self.thread_id, checkpoint_id)
                return checkpoint.values if checkpoint is not None else {}
            return {ch: await self._decoder.value(ch, t) for ch, t in tokens.items()}
        checkpoint = await self.checkpointer.get(self.thread_id, checkpoint_id)
        if checkpoint is None:
            raise NotFound(f"No checkpoint {checkpoint_id!r} in {self.thread_id!r}")
        return checkpoint.values

    async def channel(self, checkpoint_id: str, key: str) -> Any:
        """One channel's value at a checkpoint; in content-addressed stores only that
        channel is decoded. A missing channel is ``None``.

        Raises:
            NotFound: the checkpoint is not in the thread.
        """
        tokens = self.tokens(checkpoint_id)
        if self._decoder is not None and tokens is not None:
            self.reads += 1
            token = tokens.get(key)
            return None if token is None else await self._decoder.value(key, token)
        return (await self.values(checkpoint_id)).get(key)

    async def scan(
        self, metas: Sequence[CheckpointMeta]
    ) -> AsyncIterator[tuple[CheckpointMeta, Mapping[str, Any]]]:
        """Yield each checkpoint of ``metas`` (of this thread) with its values, in
        the order given, reading them the cheapest way the store allows."""
        if self.mode != "history":
            for index, meta in enumerate(metas):
                if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                    # Values that are all remembered are read without awaiting
                    # anything: let the event loop (a UI) breathe now and then.
                    await asyncio.sleep(0)
                yield meta, await self.values(meta.id)
            return
        # A LangGraph history page holds the checkpoints before an id: read the
        # windows of the thread that the wanted checkpoints fall in, in order.
        assert isinstance(self.checkpointer, LangGraphReader)
        position = {m.id: i for i, m in enumerate(self.metas)}
        wanted = list(metas)
        page: dict[str, Mapping[str, Any]] = {}
        window = -1
        for meta in wanted:
            index = position[meta.id]
            if index // _PAGE != window:
                window = index // _PAGE
                end = (window + 1) * _PAGE
                before = self.metas[end].id if end < len(self.metas) else None
                rows = await self.checkpointer.history(
                    self.thread_id, before=before, limit=_PAGE
                )
                page = {c.id: c.values for c in rows}
            self.reads += 1
            values = page.get(meta.id)
            if values is None:  # not in the page (ids out of order): read it alone
                values = await self.values(meta.id)
            yield meta, values


_MAX_FORK_DEPTH: Final = 32


@dataclass(frozen=True, slots=True)
class Lineage:
    """A branch through one or more threads (a fork and its origins), oldest first."""

    checkpoints: list[CheckpointMeta]
    states: dict[str, ThreadStates]
    """The threads it passes through, by id."""

    async def values(self, meta: CheckpointMeta) -> Mapping[str, Any]:
        """The values of one of its checkpoints."""
        return await self.states[meta.thread_id].values(meta.id)

    def segments(self) -> list[tuple[ThreadStates, list[CheckpointMeta]]]:
        """Its checkpoints in runs of one thread each, oldest first."""
        runs: list[tuple[ThreadStates, list[CheckpointMeta]]] = []
        for meta in self.checkpoints:
            if not runs or runs[-1][0].thread_id != meta.thread_id:
                runs.append((self.states[meta.thread_id], []))
            runs[-1][1].append(meta)
        return runs


async def lineage(checkpointer: BaseCheckpointer, ref: str) -> Lineage:
    """The branch ending at ``THREAD`` (its newest checkpoint) or
    ``THREAD@CHECKPOINT``, through the threads it was forked from.

    Raises:
        NotFound: no such thread or checkpoint.
    """
    thread_id, at, tip = ref.rpartition("@")
    if not at:
        thread_id, tip = ref, ""
    states = {thread_id: await ThreadStates.load(checkpointer, thread_id)}
    path = states[thread_id].branch(tip or None)
    for _ in range(_MAX_FORK_DEPTH):
        root = path[0]
        origin = root.parent_thread_id
        if root.parent_id is None or origin is None or origin == root.thread_id:
            break
        if origin not in states:
            try:
                states[origin] = await ThreadStates.load(checkpointer, origin)
            except NotFound:
                break  # the origin was deleted: the fork starts here
        try:
            path = states[origin].branch(root.parent_id) + path
        except NotFound:
            break
    return Lineage(path, states)

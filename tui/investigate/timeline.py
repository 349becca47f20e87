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
from timeloom.tui.ops.refs import NotFound, resolve_thread, split_ref

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
        *,
        links: Sequence[tuple[str, str | None]] | None = None,
    ) -> None:
        """Args:
        checkpointer: where the thread is.
        thread_id: the thread.
        metas: every checkpoint's summary; only some of them with ``links``.
        headers: each checkpoint's values header (of those in ``metas``), where
            the store lays values out by content.
        links: every checkpoint as ``(id, parent_id)``, oldest first, when
            ``metas`` holds only some summaries (the others are read when asked
            for, see :meth:`summaries`).
        """
        self.checkpointer = checkpointer
        self.thread_id = thread_id
        ordered = sorted(metas, key=lambda m: m.id)
        if links is None:
            links = [(m.id, m.parent_id) for m in ordered]
        self.complete = len(ordered) == len(links)
        """Whether every summary is in memory (:attr:`metas`, :attr:`by_id`)."""
        self.ids: list[str] = [cid for cid, _ in links]
        """Every checkpoint's id, oldest first."""
        self._parents: dict[str, str | None] = dict(links)
        self._metas: dict[str, CheckpointMeta] = {m.id: m for m in ordered}
        self._headers: dict[str, bytes] | None = (
            dict(headers) if headers is not None else None
        )
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
    async def load(
        cls, checkpointer: BaseCheckpointer, thread_id: str, *, summaries: bool = True
    ) -> ThreadStates:
        """Read a thread's summaries (and, where cheap, its values headers).

        Args:
            checkpointer: where the thread is.
            thread_id: the thread.
            summaries: ``False`` reads only the checkpoints' ids and parents where
                the store allows (content-addressed stores), and each summary and
                header when it is first asked for: for a few reads along a long
                branch (bisect).

        Raises:
            NotFound: the thread has no checkpoint.
        """
        headers = None
        links = None
        if isinstance(checkpointer, LaidOutStore) and not summaries:
            links = await checkpointer.thread_links(thread_id)
            metas: list[CheckpointMeta] = []
            headers = {}
            if not links:
                raise NotFound(f"No thread {thread_id!r}")
        elif isinstance(checkpointer, LaidOutStore):
            rows = await checkpointer.value_headers(thread_id)
            metas = [meta for meta, _ in rows]
            headers = {meta.id: header for meta, header in rows}
        else:
            metas = [m async for m in checkpointer.summaries(thread_id)]
        if not metas and not links:
            raise NotFound(f"No thread {thread_id!r}")
        return cls(checkpointer, thread_id, metas, headers, links=links)

    # -- shape -----------------------------------------------------------------------

    @property
    def metas(self) -> list[CheckpointMeta]:
        """Every checkpoint of the thread, oldest first (loaded with summaries)."""
        self._require_complete()
        return [self._metas[cid] for cid in self.ids]

    @property
    def by_id(self) -> Mapping[str, CheckpointMeta]:
        """Every checkpoint of the thread by id (loaded with summaries)."""
        self._require_complete()
        return self._metas

    @property
    def headers(self) -> Mapping[str, bytes] | None:
        """The values headers read so far (all of them when loaded with
        summaries), where the store lays values out by content (``None``
        otherwise)."""
        return self._headers

    def _require_complete(self) -> None:
        if not self.complete:
            raise RuntimeError(
                "this thread was loaded without its summaries: use summaries()"
            )

    async def summaries(self, ids: Sequence[str]) -> list[CheckpointMeta]:
        """The summaries of these checkpoints of the thread, in the order given;
        those not in memory are read (with their values headers) in one query.

        Raises:
            NotFound: one of them is not in the thread.
        """
        missing = [cid for cid in ids if cid not in self._metas]
        if missing:
            assert isinstance(self.checkpointer, LaidOutStore)  # only lazy there
            rows = await self.checkpointer.value_headers_of(self.thread_id, missing)
            for meta, header in rows:
                self._metas[meta.id] = meta
                if self._headers is not None:
                    self._headers[meta.id] = header
            self.complete = len(self._metas) == len(self.ids)
        try:
            return [self._metas[cid] for cid in ids]
        except KeyError as exc:
            raise NotFound(
                f"No checkpoint {exc.args[0]!r} in thread {self.thread_id!r}"
            ) from None

    def resolve_id(self, checkpoint: str | None) -> str:
        """The id of the checkpoint with this id (or unique prefix of 6+
        characters); the newest checkpoint's for ``None``.

        Raises:
            NotFound: no such checkpoint in the thread, or an ambiguous prefix.
        """
        if checkpoint is None:
            return self.ids[-1]
        if checkpoint in self._parents:
            return checkpoint
        if len(checkpoint) >= 6:
            matches = [cid for cid in self.ids if cid.startswith(checkpoint)]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise NotFound(
                    f"{checkpoint!r} is the start of {len(matches)} checkpoints of "
                    f"{self.thread_id!r}; give more of the id"
                )
        raise NotFound(f"No checkpoint {checkpoint!r} in thread {self.thread_id!r}")

    def resolve(self, checkpoint: str | None) -> CheckpointMeta:
        """The summary of :meth:`resolve_id`'s checkpoint (loaded with summaries).

        Raises:
            NotFound: no such checkpoint in the thread, or an ambiguous prefix.
        """
        found = self.resolve_id(checkpoint)
        self._require_complete()
        return self._metas[found]

    @property
    def head(self) -> CheckpointMeta:
        """The newest checkpoint (the thread's head in every backend)."""
        return self.resolve(None)

    def branch_ids(self, tip: str | None = None) -> list[str]:
        """The ids from the thread's first checkpoint to ``tip`` (the head for
        ``None``) along parent links, oldest first. A fork stops at its root: the
        checkpoints before it are in another thread.

        Raises:
            NotFound: ``tip`` is not in the thread.
        """
        path: list[str] = []
        current: str | None = self.resolve_id(tip)
        while current is not None:
            path.append(current)
            parent = self._parents[current]
            current = parent if parent in self._parents else None
        path.reverse()
        return path

    def branch(self, tip: str | None = None) -> list[CheckpointMeta]:
        """The summaries of :meth:`branch_ids` (loaded with summaries).

        Raises:
            NotFound: ``tip`` is not in the thread.
        """
        ids = self.branch_ids(tip)
        self._require_complete()
        return [self._metas[cid] for cid in ids]

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
            await self._read_header(checkpoint_id)
            tokens = self.tokens(checkpoint_id)
            if tokens is None:
                if checkpoint_id not in self._parents:
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

    async def decode(self, key: str, token: Hashable) -> Any:
        """The value of channel ``key`` from its content token (one of
        :meth:`tokens`), decoded once however many checkpoints share it."""
        assert self._decoder is not None  # tokens exist only where it does
        self.reads += 1
        return await self._decoder.value(key, token)

    async def _read_header(self, checkpoint_id: str) -> None:
        """Read a checkpoint's summary and header if this thread was loaded without
        them (nothing otherwise)."""
        if not self.complete and checkpoint_id in self._parents:
            await self.summaries([checkpoint_id])

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
    typed, tip = split_ref(ref)
    thread_id = await resolve_thread(checkpointer, typed)
    states = {thread_id: await ThreadStates.load(checkpointer, thread_id)}
    path = states[thread_id].branch(tip)
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

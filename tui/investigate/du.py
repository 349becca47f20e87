"""Storage accounting: bytes per key per checkpoint, thread and database totals,
growth over steps.

Timeloom stores values by content (:mod:`timeloom.backends.layout`): a checkpoint's
key costs the bytes of the blobs it is the first in its thread to reference
(*stored*), and re-uses the rest (*shared*: blobs an earlier checkpoint stored, such
as the sealed chunks of a growing message list). LangGraph's ``SqliteSaver``
stores every channel whole in every checkpoint: its *stored* bytes include what
merely repeats the parent checkpoint (*re-stored*: an unchanged channel, or the old
items of a list that grew), which is where its databases' size goes. Its
``PostgresSaver`` shares an unchanged channel's version between checkpoints, but
stores a list that grew again whole (see :mod:`timeloom.backends.langgraph.sizes`).
For a LangGraph thread, :func:`thread_usage` also lays the same values out the way
Timeloom would and says what that would cost.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from timeloom.backends.langgraph.reader import LangGraphReader
from timeloom.backends.langgraph.sizes import MeasuresStorage
from timeloom.backends.layout import (
    EncodedValues,
    ValuesState,
    encode_values,
    manifest_keys,
)
from timeloom.backends.scan import (
    LaidOutStore,
    StorageTotals,
    entry_blobs,
    inline_size,
)
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.tui.investigate.timeline import ThreadStates

Layout: TypeAlias = Literal["timeloom", "langgraph"]

_PARENT_WINDOW: Final = 32


@dataclass(slots=True)
class KeyBytes:
    """One key's bytes at one checkpoint (or summed over a thread)."""

    stored: int = 0
    """Bytes this checkpoint wrote for the key."""
    shared: int = 0
    """Bytes it references that an earlier checkpoint stored (Timeloom)."""
    restored: int = 0
    """Of ``stored``, bytes that repeat the parent checkpoint's (LangGraph)."""

    def add(self, other: KeyBytes) -> None:
        """Add ``other`` to these counts."""
        self.stored += other.stored
        self.shared += other.shared
        self.restored += other.restored


@dataclass(frozen=True, slots=True)
class CheckpointUsage:
    """What one checkpoint costs."""

    meta: CheckpointMeta
    keys: Mapping[str, KeyBytes]
    overhead: int
    """Bytes besides the keys' values: the header or row, metadata, node writes."""

    @property
    def stored(self) -> int:
        """Everything this checkpoint wrote."""
        return self.overhead + sum(k.stored for k in self.keys.values())


@dataclass(slots=True)
class ThreadUsage:
    """What a thread costs, checkpoint by checkpoint."""

    thread_id: str
    layout: Layout
    checkpoints: list[CheckpointUsage] = field(default_factory=list)
    timeloom_estimate: int | None = None
    """LangGraph only: what the same values would take in Timeloom's layout."""
    notes: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Everything the thread's checkpoints wrote."""
        return sum(c.stored for c in self.checkpoints)

    def totals(self) -> dict[str, KeyBytes]:
        """Per key, summed over the thread, biggest first."""
        totals: dict[str, KeyBytes] = {}
        for usage in self.checkpoints:
            for key, counts in usage.keys.items():
                totals.setdefault(key, KeyBytes()).add(counts)
        return dict(sorted(totals.items(), key=lambda kv: -kv[1].stored))

    def growth(self, key: str) -> list[int]:
        """The key's stored bytes at each checkpoint, oldest first."""
        return [c.keys[key].stored if key in c.keys else 0 for c in self.checkpoints]


async def thread_usage(checkpointer: BaseCheckpointer, thread_id: str) -> ThreadUsage:
    """Account for a thread's storage.

    Raises:
        NotFound: no such thread.
        TimeloomError: the store keeps no layout this can measure.
    """
    states = await ThreadStates.load(checkpointer, thread_id)
    if isinstance(checkpointer, LaidOutStore):
        return await _timeloom_usage(checkpointer, states)
    if isinstance(checkpointer, LangGraphReader) and isinstance(
        checkpointer, MeasuresStorage
    ):
        return await _langgraph_usage(checkpointer, states)
    raise TimeloomError(
        f"{checkpointer.url} does not say what it stores per key: storage "
        "accounting works on Timeloom and LangGraph databases (SQLite, Postgres).",
        title="Storage accounting unavailable",
    )


async def _timeloom_usage(store: LaidOutStore, states: ThreadStates) -> ThreadUsage:
    usage = ThreadUsage(states.thread_id, "timeloom")
    tokens = {m.id: states.tokens(m.id) or {} for m in states.metas}
    direct: set[bytes] = set()
    manifests: set[bytes] = set()
    for channel_tokens in tokens.values():
        for token in channel_tokens.values():
            named, manifest = entry_blobs(token)
            direct.update(named)
            if manifest is not None:
                manifests.add(manifest)
    chunks: dict[bytes, list[bytes]] = {}
    if manifests:
        found = await store.blob_fetch()(manifests)
        chunks = {k: manifest_keys(bytes(v)) for k, v in found.items()}
    every = direct | {c for keys in chunks.values() for c in keys}
    sizes = await store.blob_sizes(list(every))
    seen: set[bytes] = set()
    header_size = {cid: len(h) for cid, h in (states.headers or {}).items()}
    for meta in states.metas:
        keys: dict[str, KeyBytes] = {}
        inline = 0
        for channel, token in tokens[meta.id].items():
            counts = KeyBytes(stored=inline_size(token))
            inline += counts.stored
            blobs, manifest = entry_blobs(token)
            if manifest is not None:
                blobs = blobs + chunks.get(manifest, [])
            for key in blobs:
                size = sizes.get(key, 0)
                if key in seen:
                    counts.shared += size
                else:
                    counts.stored += size
                    seen.add(key)
            keys[channel] = counts
        overhead = header_size.get(meta.id, 0) - inline
        usage.checkpoints.append(CheckpointUsage(meta, keys, overhead))
    return usage


async def _langgraph_usage(
    reader: MeasuresStorage, states: ThreadStates
) -> ThreadUsage:
    usage = ThreadUsage(states.thread_id, "langgraph")
    async for stored in reader.stored_sizes(states.thread_id):
        meta = states.by_id.get(stored.checkpoint_id)
        if meta is None:
            continue
        keys = {
            name: KeyBytes(stored=size, restored=restored)
            for name, (size, restored) in stored.channels.items()
        }
        for name, size in stored.shared.items():
            keys.setdefault(name, KeyBytes()).shared = size
        values = sum(size for size, _ in stored.channels.values())
        overhead = stored.row_bytes - values + stored.write_bytes
        usage.checkpoints.append(CheckpointUsage(meta, keys, overhead))
    try:
        usage.timeloom_estimate = await timeloom_cost(states)
    except TimeloomError as exc:
        usage.notes.append(f"no Timeloom estimate: {exc.msg}")
    return usage


async def timeloom_cost(states: ThreadStates) -> int:
    """What a thread's values would take in Timeloom's layout: each checkpoint's
    header and the blobs no earlier checkpoint stored, encoded by Timeloom's codec
    with each checkpoint laid out against its parent (as a run writes them).

    Raises:
        SerializationError: a value cannot be encoded.
    """
    from timeloom.backends.serde import Serializer

    serde = Serializer()
    parents: OrderedDict[str, ValuesState] = OrderedDict()
    seen: set[bytes] = set()
    total = 0
    async for meta, values in states.scan(states.metas):
        parent = parents.get(meta.parent_id or "")
        encoded: EncodedValues = encode_values(values, serde, parent)
        total += len(encoded.header)
        for key, blob in encoded.blobs.items():
            if key not in seen:
                seen.add(key)
                total += len(blob)
        parents[meta.id] = encoded.state
        if len(parents) > _PARENT_WINDOW:
            parents.popitem(last=False)
    return total


@dataclass(frozen=True, slots=True)
class DatabaseUsage:
    """What a whole database costs."""

    url: str
    layout: Layout
    totals: StorageTotals | None
    """Timeloom: the database's aggregates."""
    threads: list[tuple[str, int, int, int]]
    """``(thread_id, checkpoints, stored bytes, re-stored bytes)``, biggest first
    (LangGraph; for Timeloom the header bytes of the biggest threads)."""


async def database_usage(
    checkpointer: BaseCheckpointer, *, top: int = 10
) -> DatabaseUsage:
    """Account for a whole database: aggregates on Timeloom (nothing decoded), every
    thread measured on LangGraph databases.

    Raises:
        TimeloomError: the store keeps no layout this can measure.
    """
    if isinstance(checkpointer, LaidOutStore):
        totals = await checkpointer.storage_totals(top)
        threads = [(t, n, b, 0) for t, n, b in totals.top_threads]
        return DatabaseUsage(checkpointer.url, "timeloom", totals, threads)
    if isinstance(checkpointer, LangGraphReader) and isinstance(
        checkpointer, MeasuresStorage
    ):
        rows: list[tuple[str, int, int, int]] = []
        offset = 0
        while True:
            infos = await checkpointer.threads(limit=500, offset=offset)
            for info in infos:
                count = stored = restored = 0
                async for row in checkpointer.stored_sizes(info.thread_id):
                    count += 1
                    stored += row.row_bytes + row.write_bytes
                    restored += sum(r for _, r in row.channels.values())
                rows.append((info.thread_id, count, stored, restored))
            if len(infos) < 500:
                break
            offset += len(infos)
        rows.sort(key=lambda r: -r[2])
        return DatabaseUsage(checkpointer.url, "langgraph", None, rows)
    raise TimeloomError(
        f"{checkpointer.url} does not say what it stores: storage accounting works "
        "on Timeloom and LangGraph databases (SQLite, Postgres).",
        title="Storage accounting unavailable",
    )

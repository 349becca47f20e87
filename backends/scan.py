"""Reading many checkpoints of a thread at once, each stored value decoded once.

The investigation tools (search, bisect, provenance, storage accounting) read every
checkpoint of a thread. Reading them one by one with ``get()`` decodes the whole
state each time, although most of it is unchanged from the checkpoint before: in
the layout of :mod:`timeloom.backends.layout` an unchanged value has the same header
entry (a content key, or the inline bytes), and a list that grew shares its sealed
chunks and earlier deltas. A :class:`HeaderDecoder` decodes each distinct entry,
chunk and delta once, and says which entries two checkpoints share without decoding
anything (see :func:`entry_tokens`).

A backend that keeps this layout offers it through :class:`LaidOutStore`; the SQLite
checkpointer does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from timeloom.backends.layout import (
    CHUNK_ITEMS,
    Codec,
    Fetch,
    check_expansion,
    list_parts,
    parse_header,
    unframe,
)
from timeloom.core.checkpoint import CheckpointMeta, UnreadableValue
from timeloom.core.errors import SerializationError

EntryToken = Hashable
"""A channel's header entry as a hashable value: equal tokens, equal values."""


@dataclass(frozen=True, slots=True)
class StorageTotals:
    """What a whole database holds, from aggregates (nothing is decoded)."""

    threads: int
    checkpoints: int
    header_bytes: int
    """Values headers (inline values included)."""
    row_bytes: int
    """Checkpoint rows besides their headers: metadata and node writes."""
    blobs: int
    blob_bytes: int
    pending_write_bytes: int
    file_bytes: int | None
    """The database's size on disk (pages in use and free), where known."""
    top_threads: tuple[tuple[str, int, int], ...]
    """The threads with the most header bytes: ``(thread_id, checkpoints, bytes)``."""


@runtime_checkable
class LaidOutStore(Protocol):
    """A checkpointer whose values are laid out by :mod:`timeloom.backends.layout`."""

    serde: Codec

    async def value_headers(self, thread_id: str) -> list[tuple[CheckpointMeta, bytes]]:
        """Every checkpoint of the thread with its values header, oldest first (one
        query: what ``summaries()`` gives, and the headers)."""
        ...

    async def thread_links(self, thread_id: str) -> list[tuple[str, str | None]]:
        """Every checkpoint of the thread as ``(id, parent_id)``, oldest first (one
        query, nothing decoded: enough to walk a branch)."""
        ...

    async def value_headers_of(
        self, thread_id: str, ids: Sequence[str]
    ) -> list[tuple[CheckpointMeta, bytes]]:
        """The checkpoints of the thread among ``ids`` with their values headers, in
        no particular order (missing ids are left out)."""
        ...

    def blob_fetch(self) -> Fetch:
        """A fetch of verified blobs by key, through the checkpointer's cache."""
        ...

    async def blob_sizes(self, keys: Sequence[bytes]) -> dict[bytes, int]:
        """The stored size of each blob that exists among ``keys``."""
        ...

    async def storage_totals(self, top: int = 10) -> StorageTotals:
        """The database's totals, and its ``top`` biggest threads."""
        ...


def entry_tokens(header: bytes) -> dict[str, EntryToken]:
    """Each channel's header entry as a hashable token.

    Equal tokens mean equal stored values (the entries name the same content);
    different tokens usually mean a change, but a list laid out again may have a
    new token for the same items, so compare values to be sure.

    Raises:
        SerializationError: the header cannot be read.
    """
    return {channel: _token(entry) for channel, entry in parse_header(header).items()}


def _token(entry: list[Any]) -> EntryToken:
    if entry and entry[0] == "l":
        return ("l", entry[1], entry[2], tuple(entry[3]))
    return tuple(entry)


def entry_blobs(token: EntryToken) -> tuple[list[bytes], bytes | None]:
    """The blobs a token names directly, and its list's manifest (if any)."""
    assert isinstance(token, tuple)
    if token[0] == "v":
        return [token[1]], None
    if token[0] == "l":
        manifest = token[2]
        return ([manifest] if manifest is not None else []) + list(token[3]), manifest
    return [], None


def inline_size(token: EntryToken) -> int:
    """The bytes a token keeps in the header itself (an inline value)."""
    assert isinstance(token, tuple)
    return len(token[1]) if token[0] == "i" else 0


class HeaderDecoder:
    """Decodes values headers of one store, each distinct value, chunk and delta
    once (kept in bounded LRU memories). Returned values are shared between
    checkpoints: treat them as read-only.

    Args:
        serde: the store's codec.
        fetch: fetches blobs by key (verified, see :class:`LaidOutStore`).
        memory: how many decoded values and how many decoded blobs to keep.
    """

    def __init__(self, serde: Codec, fetch: Fetch, memory: int = 4096) -> None:
        self._serde = serde
        self._fetch = fetch
        self._memory = memory
        self._values: OrderedDict[EntryToken, Any] = OrderedDict()
        self._items: OrderedDict[bytes, tuple[list[Any], int]] = OrderedDict()
        """Decoded items of chunks and deltas, and their stored size, by key."""
        self.decoded = 0
        """How many values were decoded (not found in memory): for benchmarks."""

    async def values(self, header: bytes) -> dict[str, Any]:
        """The values a header lays out (an unreadable channel as
        :class:`UnreadableValue`).

        Raises:
            SerializationError: the header itself cannot be read.
        """
        tokens = entry_tokens(header)
        return {ch: await self.value(ch, token) for ch, token in tokens.items()}

    async def value(self, channel: str, token: EntryToken) -> Any:
        """The value of one channel's entry."""
        if token in self._values:
            self._values.move_to_end(token)
            return self._values[token]
        try:
            value = await self._decode(token)
        except (KeyError, ValueError, SerializationError) as exc:
            return UnreadableValue(channel, str(exc))
        except Exception as exc:  # a corrupt blob must not hide the other channels
            return UnreadableValue(channel, f"cannot decode ({type(exc).__name__})")
        self.decoded += 1
        self._values[token] = value
        if len(self._values) > self._memory:
            self._values.popitem(last=False)
        return value

    async def _decode(self, token: EntryToken) -> Any:
        assert isinstance(token, tuple)
        kind = token[0]
        if kind == "i":
            return self._serde.loads(token[1])
        if kind == "v":
            return self._serde.loads(await self._blob(token[1]))
        if kind != "l":
            raise ValueError(f"unknown entry kind {kind!r}")
        manifest_key = token[2]
        manifest = await self._blob(manifest_key) if manifest_key is not None else None
        # The same checks as reading one checkpoint: a crafted header or manifest
        # must not build an unbounded list.
        length, chunk_keys, tail_keys = list_parts(token, manifest)
        keys = chunk_keys + tail_keys
        missing = [k for k in set(keys) if k not in self._items]
        found = await self._fetch(missing) if missing else {}
        parts: dict[bytes, tuple[list[Any], int]] = {}
        for key in set(keys):
            kept = self._items.get(key)
            if kept is None:
                if key not in found:
                    raise KeyError(f"blob {key.hex()} is missing or corrupt")
                data = bytes(found[key])
                kept = (self._loads_many(unframe(data)), len(data))
                self._items[key] = kept
                if len(self._items) > self._memory:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
            parts[key] = kept
        check_expansion([parts[k][1] for k in keys], sum(p[1] for p in parts.values()))
        items: list[Any] = []
        for index, key in enumerate(keys):
            decoded = parts[key][0]
            if index < len(chunk_keys) and len(decoded) != CHUNK_ITEMS:
                raise ValueError(
                    f"a chunk holds {len(decoded)} items, not {CHUNK_ITEMS}"
                )
            items.extend(decoded)
            if len(items) > length:
                break
        if len(items) != length:
            raise ValueError(f"expected {length} items, found {len(items)}")
        return items

    def _loads_many(self, encoded: list[bytes]) -> list[Any]:
        loads_many = getattr(self._serde, "loads_many", None)
        if loads_many is not None:
            return list(loads_many(encoded))
        return [self._serde.loads(item) for item in encoded]

    async def _blob(self, key: bytes) -> bytes:
        found: Mapping[bytes, bytes] = await self._fetch([key])
        if key not in found:
            raise KeyError(f"blob {key.hex()} is missing or corrupt")
        return bytes(found[key])

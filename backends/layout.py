"""How checkpoint values are laid out in storage, shared by the SQL backends.

LangGraph's savers re-store every channel's whole value at every checkpoint, so a
chat whose message list grows by one message per step costs O(n) bytes per step and
O(n²) in total. This module stores values so that a step costs about what it adds,
and so that reading any checkpoint, however deep in its thread, takes at most two
batched blob fetches. It is pure Python: a backend only provides a blob table
(``key -> bytes``, insert-if-absent) and a place for one ``header`` per checkpoint.

The scheme
----------

Every blob is **content-addressed**: its key is ``blob_key(data)``, a 16-byte
BLAKE2b digest of its bytes, so identical content is stored once across checkpoints
and threads, and a reader can verify what it got. Each checkpoint has a small
**header** (msgpack, written by this module, independent of the value codec) mapping
each channel to one entry:

- ``["i", data]``: a small value (at most :data:`INLINE_MAX` encoded bytes) inline.
- ``["v", key]``: any other value, encoded whole by the codec, in blob ``key``.
  Unchanged values are deduplicated by their key.
- ``["l", n, manifest, tail]``: a ``list`` of ``n`` items, encoded item by item and
  laid out by position:

  - items ``[k*C, (k+1)*C)`` for every full window form a sealed **chunk** of
    ``C =`` :data:`CHUNK_ITEMS` items; a chunk never changes, so once written it is
    shared by every later checkpoint (and every fork) whose list has that prefix.
    ``manifest`` is the key of a blob listing the chunk keys (``None`` when there is
    no full chunk); it changes only when a chunk is sealed.
  - the remaining ``n mod C`` items (the **tail**) are stored as **deltas**:
    ``tail`` lists the keys of blobs that each hold the items one step appended.
    When a step appends to the parent's list, its entry is the parent's tail plus
    one delta with just the new items. A list that changed in any other way
    (edited, truncated, replaced) is simply re-laid out: its unchanged chunks still
    dedupe by key.

  Chunk and delta blobs hold a sequence of codec-encoded items, each prefixed with
  its length as 4 big-endian bytes. A manifest is its chunk keys concatenated.

Costs: a step that appends ``a`` items to a list writes ``a`` items in a delta,
about ``a`` more when a chunk is sealed (each item ends up in one chunk and at most
one delta), the header (at most ``C`` tail keys) and, every ``C`` items, a new
manifest of ``n / C`` keys. Bytes per checkpoint therefore stay flat as the list
grows. The one term that grows with ``n`` is the manifest: ``n`` bytes (16 per
chunk) rewritten every 16 appended items, so ``n / 16`` bytes per step at one item
a step: ~60 B at 1 000 items, ~600 B at 10 000.

Reading a checkpoint fetches the header's blobs (values, manifests, deltas) in one
batch and the chunks the manifests name in a second one: never the chain of earlier
checkpoints, so pruning them never affects a kept checkpoint.

Appends are detected generically: the writer keeps the :class:`ValuesState` of the
checkpoints it last wrote (returned by :func:`encode_values`; a small cache keyed by
checkpoint id, so a child finds its parent's), and compares encoded bytes, so the check is exact (``1 == True`` in Python, not
here). An unchanged prefix is not even encoded again: see :func:`_encode_list` for
how it is recognised and what that guarantees about items mutated in place. Other
channels are deduplicated by content only.

Reading never fails as a whole because of one bad blob: a channel whose blob is
missing, does not match its key or does not decode reads as an
:class:`UnreadableValue` naming the channel and the reason, so the rest of the
checkpoint can still be shown. A list whose manifest or tail does not add up to
its declared length, or that would expand to far more than what is stored (see
:data:`MAX_EXPANSION`), is unreadable too, refused before anything is built. Only an
unreadable *header* raises
:class:`~timeloom.core.errors.SerializationError`.

Writing a backend:

1. ``enc = encode_values(cp.values, serde, parent_state)``; in the step's
   transaction, store ``enc.header`` with the checkpoint and insert-if-absent every
   ``enc.blobs`` item. Blobs the parent state references are *not* in ``enc.blobs``:
   the backend must check, in the same transaction, that the parent checkpoint
   still exists (so its blobs do too) or else re-encode with ``parent=None``.
   Remember ``enc.state`` for the thread once committed.
2. ``values = await decode_values(header, fetch, serde)`` where
   ``fetch(keys) -> {key: data}`` returns the blobs it has.
3. Garbage collection after deleting checkpoints: ``await referenced_keys(headers,
   fetch)`` over the remaining headers gives every blob still needed.
"""

from __future__ import annotations

import hashlib
import operator
import struct
import threading
from collections import OrderedDict
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import msgpack

from timeloom.core.checkpoint import UnreadableValue
from timeloom.core.errors import SerializationError

CHUNK_ITEMS = 16
"""Items per sealed chunk (``C``): also the longest a tail delta list can get."""

INLINE_MAX = 32
"""Values encoded in at most this many bytes live in the header, not in a blob."""

HEADER_VERSION = 1
"""The header format version; the first element of every header."""

KEY_SIZE = 16
"""Bytes in a blob key (BLAKE2b-128)."""

_LEN = struct.Struct(">I")


class Codec(Protocol):
    """The value codec (:class:`timeloom.backends.serde.Serializer` is one).

    A codec may also have ``loads_many(items: list[bytes]) -> list``, decoding
    many values at once (a list's items are read that way when it does).
    """

    def dumps(self, obj: Any, /, *, root: str = ...) -> bytes: ...

    def loads(self, data: bytes, /) -> Any: ...


Fetch: TypeAlias = Callable[[Collection[bytes]], Awaitable[Mapping[bytes, bytes]]]
"""Return the blobs among the given keys that exist (missing keys are left out)."""


@dataclass(frozen=True, slots=True)
class VerifiedFetch:
    """A fetch whose blobs all match their keys (see :meth:`BlobCache.wrap`), so
    :func:`decode_values` need not hash them again."""

    fetch: Fetch

    def __call__(self, keys: Collection[bytes]) -> Awaitable[Mapping[bytes, bytes]]:
        return self.fetch(keys)


@dataclass(frozen=True, slots=True)
class ValueState:
    """A non-list channel as last written: its header entry."""

    entry: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ListState:
    """A list channel as last written, enough to lay out an append as a delta."""

    length: int
    chunks: tuple[bytes, ...]
    manifest: bytes | None
    tail: tuple[bytes, ...]
    items: tuple[bytes, ...]
    """Every encoded item, to find which sealed chunks and tail deltas a new list
    shares with this one by comparing bytes."""
    snapshot: tuple[Any, ...] = ()
    """A private decoded copy of every item (never handed out, so never mutated):
    a new list whose leading items are the same objects and still equal these
    reuses their encoded bytes instead of encoding them again."""
    objects: tuple[Any, ...] = ()
    """The item objects as written (only compared by identity)."""
    size: int = 0
    """The encoded size of all items."""

    @property
    def tail_items(self) -> tuple[bytes, ...]:
        """The encoded items of the tail."""
        return self.items[len(self.chunks) * CHUNK_ITEMS :]


ChannelState: TypeAlias = ValueState | ListState


@dataclass(frozen=True, slots=True)
class ValuesState:
    """What a writer remembers of the values it last encoded for a thread."""

    channels: Mapping[str, ChannelState]

    def known_keys(self) -> frozenset[bytes]:
        """The blobs these values reference (which exist while their checkpoint does)."""
        chunks = (
            c
            for s in self.channels.values()
            if isinstance(s, ListState)
            for c in s.chunks
        )
        return self.header_keys() | frozenset(chunks)

    def header_keys(self) -> frozenset[bytes]:
        """The blobs the header names itself (what :func:`header_keys` reads back
        from it): values, manifests and tail deltas, not the chunks manifests list."""
        keys: set[bytes] = set()
        for state in self.channels.values():
            if isinstance(state, ListState):
                keys.update(state.tail)
                if state.manifest is not None:
                    keys.add(state.manifest)
            elif state.entry[0] == "v":
                keys.add(state.entry[1])
        return frozenset(keys)


@dataclass(frozen=True, slots=True)
class EncodedValues:
    """The result of :func:`encode_values`."""

    header: bytes
    """Store with the checkpoint."""
    blobs: dict[bytes, bytes]
    """Blobs to insert if absent (those the parent state references are left out)."""
    size: int
    """The encoded size of all values in bytes (what the values weigh, not what this
    checkpoint added)."""
    state: ValuesState
    """Pass as ``parent`` when encoding this checkpoint's child."""


def blob_key(data: bytes) -> bytes:
    """Return the content address of ``data``."""
    return hashlib.blake2b(data, digest_size=KEY_SIZE).digest()


class BlobCache:
    """Blobs already read, by content key: a blob never changes under its key, so a
    cached one is always right and never needs invalidating.

    Sealed list chunks are shared by every later checkpoint of a thread, so reading
    checkpoint after checkpoint (a viewer moving its cursor, a run resuming) fetches
    each chunk once. Bounded by total size; safe to share between threads.
    """

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        """The cached blob with this key, if any."""
        with self._lock:
            blob = self._blobs.get(key)
            if blob is not None:
                self._blobs.move_to_end(key)
            return blob

    def wrap(self, fetch: Fetch) -> VerifiedFetch:
        """Return a fetch that answers from the cache and asks ``fetch`` for the rest.

        Every blob it returns matches its key: those ``fetch`` returns are checked
        once, when they enter the cache, and a corrupt one is left out (it reads as
        missing); cached ones were checked then.
        """

        async def cached(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            found = {k: b for k in keys if (b := self.get(k)) is not None}
            missing = [key for key in keys if key not in found]
            if missing:
                fetched = {k: bytes(v) for k, v in (await fetch(missing)).items()}
                good = {k: v for k, v in fetched.items() if blob_key(v) == k}
                self._add(good)
                found.update(good)
            return found

        return VerifiedFetch(cached)

    def _add(self, blobs: Mapping[bytes, bytes]) -> None:
        with self._lock:
            for key, blob in blobs.items():
                if key in self._blobs or len(blob) > self.max_bytes // 8:
                    continue
                self._blobs[key] = blob
                self._size += len(blob)
            while self._size > self.max_bytes and self._blobs:
                _, dropped = self._blobs.popitem(last=False)
                self._size -= len(dropped)


def frame(items: Iterable[bytes]) -> bytes:
    """Concatenate encoded items, each prefixed with its length."""
    return b"".join(_LEN.pack(len(item)) + item for item in items)


def unframe(data: bytes) -> list[bytes]:
    """Split what :func:`frame` joined.

    Raises:
        ValueError: the data is not a valid sequence of frames.
    """
    items: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 4 > end:
            raise ValueError("truncated frame header")
        (size,) = _LEN.unpack_from(data, pos)
        pos += 4
        if pos + size > end:
            raise ValueError("truncated frame")
        items.append(data[pos : pos + size])
        pos += size
    return items


# -- writing -------------------------------------------------------------------------


def encode_values(
    values: Mapping[str, Any], serde: Codec, parent: ValuesState | None = None
) -> EncodedValues:
    """Lay out a checkpoint's values.

    Args:
        values: the checkpoint's values.
        serde: the codec that encodes each value (or list item).
        parent: the state returned when the parent checkpoint was encoded, if the
            writer still has it; lets an append be stored as a delta.

    Returns:
        The header, the blobs to insert and the state to remember.

    Raises:
        SerializationError: a value cannot be encoded; the message names its path.
    """
    known = parent.known_keys() if parent is not None else frozenset()
    blobs: dict[bytes, bytes] = {}
    entries: dict[str, list[Any]] = {}
    states: dict[str, ChannelState] = {}
    size = 0

    def add_blob(data: bytes) -> bytes:
        key = blob_key(data)
        if key not in known:
            blobs[key] = data
        return key

    for channel, value in values.items():
        if not isinstance(channel, str):
            raise SerializationError(
                f"Channel names must be strings, got {type(channel).__name__} "
                f"{channel!r}"
            )
        previous = parent.channels.get(channel) if parent is not None else None
        if type(value) is list:
            prev_list = previous if isinstance(previous, ListState) else None
            state = _layout_list(
                _encode_list(serde, values, channel, value, prev_list),
                prev_list,
                add_blob,
            )
            size += state.size
            entries[channel] = ["l", state.length, state.manifest, list(state.tail)]
            states[channel] = state
        else:
            data = _encode(serde, values, channel, value)
            size += len(data)
            entry: tuple[Any, ...] = (
                ("i", data) if len(data) <= INLINE_MAX else ("v", add_blob(data))
            )
            entries[channel] = list(entry)
            states[channel] = ValueState(entry)
    header = msgpack.packb([HEADER_VERSION, entries], use_bin_type=True)
    return EncodedValues(header, blobs, size, ValuesState(states))


def _encode(serde: Codec, values: Mapping[str, Any], channel: str, obj: Any) -> bytes:
    try:
        return serde.dumps(obj)
    except SerializationError:
        # Items are encoded one by one, so the codec's message lacks the path from
        # the root; encoding the whole mapping again raises with the full path.
        serde.dumps(dict(values), root="values")
        raise


@dataclass(frozen=True, slots=True)
class _EncodedList:
    items: list[bytes]
    snapshot: tuple[Any, ...]
    objects: tuple[Any, ...]
    size: int
    shared: int = 0
    """Leading items known to be the parent's, bytes and all."""


_UNDECODABLE = object()  # a snapshot item that equals nothing: never reused


def _encode_list(
    serde: Codec,
    values: Mapping[str, Any],
    channel: str,
    value: list[Any],
    previous: ListState | None,
) -> _EncodedList:
    """Encode a list's items, re-using the parent's bytes for an unchanged prefix.

    The runtime's reducers build a new list around the same item objects, so
    re-encoding every item on every step would cost O(n). Instead the parent's
    items are reused, bytes and all, when each leading item of the new list is
    the *same object* the parent wrote (so of the same type) and still ``==`` the
    parent's private decoded snapshot of it (compared in C over the whole prefix);
    only the rest is encoded. So a new object in an old position (an edit) is
    always encoded, and an old item mutated in place (same object, new content)
    is detected by the snapshot and encoded again. The one change not detected is
    an in-place mutation that ``==`` cannot see: a nested value replaced by an
    equal value of another type (``1`` by ``True`` or ``1.0`` inside a dict), or a
    dict's keys re-ordered in place; such a step stores the item as it was.
    """
    shared = 0
    if previous is not None and 0 < previous.length <= len(value):
        if _unchanged_items(tuple(value[: previous.length]), previous):
            shared = previous.length
    if shared and previous is not None:
        fresh = [_encode(serde, values, channel, item) for item in value[shared:]]
        return _EncodedList(
            [*previous.items, *fresh],
            previous.snapshot
            + tuple(
                _snapshot(serde, item, data)
                for item, data in zip(value[shared:], fresh, strict=True)
            ),
            tuple(value),
            previous.size + sum(len(data) for data in fresh),
            shared,
        )
    items = [_encode(serde, values, channel, item) for item in value]
    old = previous.items if previous is not None else ()
    old_snapshot = previous.snapshot if previous is not None else ()
    snapshot = tuple(
        old_snapshot[i]
        if i < len(old) and i < len(old_snapshot) and old[i] == data
        else _snapshot(serde, item, data)
        for i, (item, data) in enumerate(zip(value, items, strict=True))
    )
    return _EncodedList(items, snapshot, tuple(value), sum(map(len, items)))


def _unchanged_items(items: tuple[Any, ...], state: ListState) -> bool:
    """Whether ``items`` are the objects ``state`` wrote, each still ``==`` its
    private copy (see :func:`_encode_list` for what that guarantees)."""
    if not all(map(operator.is_, items, state.objects)):
        return False
    try:
        return bool(items == state.snapshot)
    except Exception:  # == raised (Decimal('sNaN')...): encode the items again
        return False


def _snapshot(serde: Codec, item: Any, data: bytes) -> Any:
    """A private copy of ``item``, just encoded as ``data``, to detect later in-place
    changes by comparing with ``==``.

    Plain data (dicts, lists and tuples of strings, numbers, bytes, ``None``) is
    copied structurally: the containers are new, the immutable leaves are shared,
    so a later comparison finds equal strings by identity instead of comparing
    their text (about half the cost, and far fewer memory reads). Anything else is
    decoded from ``data``: a private copy of what was stored.
    """
    try:
        return _plain_copy(item, 0)
    except _NotPlain:
        pass
    try:
        return serde.loads(data)
    except Exception:  # only means this item is always encoded again
        return _UNDECODABLE


class _NotPlain(Exception):
    pass


_ATOMS = frozenset({str, int, float, bool, bytes, type(None)})
_PLAIN_DEPTH = 32


def _plain_copy(obj: Any, depth: int) -> Any:
    kind = type(obj)
    if kind in _ATOMS:
        return obj
    if depth > _PLAIN_DEPTH:
        raise _NotPlain
    if kind is dict:
        copy = {}
        for key, value in obj.items():
            if type(key) not in _ATOMS:
                raise _NotPlain
            copy[key] = _plain_copy(value, depth + 1)
        return copy
    if kind is list:
        return [_plain_copy(value, depth + 1) for value in obj]
    if kind is tuple:
        return tuple(_plain_copy(value, depth + 1) for value in obj)
    raise _NotPlain


def _layout_list(
    encoded: _EncodedList,
    previous: ListState | None,
    add_blob: Callable[[bytes], bytes],
) -> ListState:
    items = encoded.items
    n = len(items)
    full = n // CHUNK_ITEMS
    # Sealed chunks whose items are byte-equal to the parent's keep the parent's
    # keys: only chunks that differ (or are new) are framed and hashed again.
    same = 0
    if previous is not None and encoded.shared >= len(previous.chunks) * CHUNK_ITEMS:
        same = min(full, len(previous.chunks))  # _encode_list proved them equal
    elif previous is not None:
        old = previous.items
        for k in range(min(full, len(previous.chunks))):
            lo, hi = k * CHUNK_ITEMS, (k + 1) * CHUNK_ITEMS
            if tuple(items[lo:hi]) != old[lo:hi]:
                break
            same = k + 1
    chunks = list(previous.chunks[:same]) if previous is not None else []
    for k in range(same, full):
        chunk = items[k * CHUNK_ITEMS : (k + 1) * CHUNK_ITEMS]
        chunks.append(add_blob(frame(chunk)))
    chunk_keys = tuple(chunks)
    if previous is not None and previous.chunks == chunk_keys:
        manifest = previous.manifest
    else:
        manifest = add_blob(b"".join(chunk_keys)) if chunk_keys else None
    tail_start = full * CHUNK_ITEMS
    tail_items = tuple(items[tail_start:])
    extends = False
    if previous is not None and previous.chunks == chunk_keys and previous.length <= n:
        old_tail = previous.tail_items
        extends = tail_items[: len(old_tail)] == old_tail
    shared = same * CHUNK_ITEMS  # leading items equal to the parent's
    if extends and previous is not None:
        shared = tail_start + len(previous.tail_items)
        added = tail_items[len(previous.tail_items) :]
        tail = previous.tail + ((add_blob(frame(added)),) if added else ())
    else:
        tail = (add_blob(frame(tail_items)),) if tail_items else ()
    # Keep the parent's bytes objects for the shared prefix: the cached states of
    # one thread then share their items instead of each holding a copy.
    kept = previous.items[:shared] if previous is not None and shared else ()
    return ListState(
        n,
        chunk_keys,
        manifest,
        tail,
        kept + tuple(items[shared:]),
        encoded.snapshot,
        encoded.objects,
        encoded.size,
    )


# -- reading -------------------------------------------------------------------------


def parse_header(header: bytes) -> dict[str, list[Any]]:
    """Return a values header's entries by channel (see the module's docstring).

    Raises:
        SerializationError: the header cannot be read.
    """
    try:
        version, entries = msgpack.unpackb(header, raw=False, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise SerializationError(f"unreadable values header: {exc}") from exc
    if version != HEADER_VERSION or not isinstance(entries, dict):
        raise SerializationError(f"unknown values header version {version!r}")
    return entries


def header_keys(header: bytes) -> tuple[set[bytes], set[bytes]]:
    """Return the blobs a header references directly, and which of them are manifests.

    Raises:
        SerializationError: the header cannot be read.
    """
    return _entry_keys(parse_header(header))


def _entry_keys(entries: Mapping[str, list[Any]]) -> tuple[set[bytes], set[bytes]]:
    direct: set[bytes] = set()
    manifests: set[bytes] = set()
    for entry in entries.values():
        if entry[0] == "v":
            direct.add(entry[1])
        elif entry[0] == "l":
            if entry[2] is not None:
                manifests.add(entry[2])
            direct.update(entry[3])
    return direct | manifests, manifests


def manifest_keys(data: bytes) -> list[bytes]:
    """Return the chunk keys a manifest blob lists."""
    return [data[i : i + KEY_SIZE] for i in range(0, len(data), KEY_SIZE)]


async def referenced_keys(headers: Iterable[bytes], fetch: Fetch) -> set[bytes]:
    """Return every blob the given headers need (directly or through a manifest).

    A header that cannot be read is skipped: it references nothing readable.
    """
    keys: set[bytes] = set()
    manifests: set[bytes] = set()
    for header in headers:
        try:
            direct, mans = header_keys(header)
        except SerializationError:
            continue
        keys |= direct
        manifests |= mans
    if manifests:
        found = await fetch(manifests)
        for data in found.values():
            keys.update(manifest_keys(data))
    return keys


async def decode_values(header: bytes, fetch: Fetch, serde: Codec) -> dict[str, Any]:
    """Read back the values :func:`encode_values` laid out.

    Two batched fetches at most: the header's blobs, then the chunks its manifests
    name. A channel whose data is missing or corrupt reads as an
    :class:`UnreadableValue`.

    Raises:
        SerializationError: the header itself cannot be read.
    """
    entries = parse_header(header)
    first = await _fetch_verified(fetch, _entry_keys(entries)[0])
    chunk_keys: set[bytes] = set()
    for entry in entries.values():
        if entry[0] == "l" and entry[2] is not None and entry[2] in first:
            chunk_keys.update(manifest_keys(first[entry[2]]))
    second = await _fetch_verified(fetch, chunk_keys - first.keys())
    blobs = {**first, **second}
    values: dict[str, Any] = {}
    for channel, entry in entries.items():
        try:
            values[channel] = _decode_entry(entry, blobs, serde)
        except Exception as exc:  # a corrupt blob must not hide the other channels
            values[channel] = UnreadableValue(channel, _reason(exc))
    return values


async def _fetch_verified(fetch: Fetch, keys: Collection[bytes]) -> dict[bytes, bytes]:
    if not keys:
        return {}
    found = await fetch(keys)
    if isinstance(fetch, VerifiedFetch):
        return dict(found)
    # A blob whose bytes no longer hash to its key is corrupt: treat it as missing.
    return {k: bytes(v) for k, v in found.items() if blob_key(bytes(v)) == k}


class _Missing(ValueError):
    pass


def _blob(blobs: Mapping[bytes, bytes], key: bytes) -> bytes:
    try:
        return blobs[key]
    except KeyError:
        raise _Missing(f"blob {key.hex()} is missing or corrupt") from None


def _decode_entry(entry: list[Any], blobs: Mapping[bytes, bytes], serde: Codec) -> Any:
    kind = entry[0]
    if kind == "i":
        return serde.loads(entry[1])
    if kind == "v":
        return serde.loads(_blob(blobs, entry[1]))
    if kind == "l":
        encoded = _list_items(entry, blobs)
        loads_many = getattr(serde, "loads_many", None)
        if loads_many is not None:
            return list(loads_many(encoded))
        return [serde.loads(item) for item in encoded]
    raise _Missing(f"unknown entry kind {kind!r}")


MAX_EXPANSION = 16
"""A list may read back to at most this many times the bytes of the distinct blobs
it is made of (beyond :data:`EXPANSION_FLOOR`): a manifest naming one chunk
thousands of times would otherwise turn kilobytes on disk into gigabytes."""

EXPANSION_FLOOR = 64 * 1024 * 1024


def _list_items(entry: list[Any], blobs: Mapping[bytes, bytes]) -> list[bytes]:
    """The encoded items of an ``["l", n, manifest, tail]`` entry, after checking
    the counts against ``n`` and the size against what is stored, before building
    anything (a crafted header or manifest must not take unbounded memory)."""
    length, chunk_keys, tail = list_parts(
        entry, _blob(blobs, entry[2]) if entry[2] is not None else None
    )
    parts = [_blob(blobs, key) for key in (*chunk_keys, *tail)]
    check_expansion(
        [len(part) for part in parts],
        sum(len(blobs[key]) for key in {*chunk_keys, *tail}),
    )
    encoded: list[bytes] = []
    for i, part in enumerate(parts):
        items = unframe(part)
        if i < len(chunk_keys) and len(items) != CHUNK_ITEMS:
            raise _Missing(f"a chunk holds {len(items)} items, not {CHUNK_ITEMS}")
        encoded.extend(items)
        if len(encoded) > length:
            break
    if len(encoded) != length:
        raise _Missing(f"expected {length} items, found {len(encoded)}")
    return encoded


def list_parts(
    entry: Sequence[Any], manifest: bytes | None
) -> tuple[int, list[bytes], list[bytes]]:
    """Check a list entry ``["l", n, manifest_key, tail]`` against its manifest's
    bytes; return ``n``, the chunk keys and the tail's delta keys.

    Raises:
        ValueError: the entry is malformed, or its chunks and deltas cannot hold
            ``n`` items.
    """
    _, length, _key, tail = entry
    if type(length) is not int or length < 0 or not isinstance(tail, list | tuple):
        raise _Missing(f"malformed list entry (length {length!r})")
    chunk_keys = manifest_keys(manifest) if manifest is not None else []
    if len(chunk_keys) != length // CHUNK_ITEMS or len(tail) > CHUNK_ITEMS:
        raise _Missing(
            f"expected {length} items, the manifest names {len(chunk_keys)} chunks "
            f"and the tail {len(tail)} deltas"
        )
    return length, chunk_keys, list(tail)


def check_expansion(part_sizes: Sequence[int], stored: int) -> None:
    """Refuse a list that would read back to far more bytes than the distinct blobs
    it is made of (``stored``): see :data:`MAX_EXPANSION`.

    Raises:
        ValueError: it would.
    """
    expanded = sum(part_sizes)
    if expanded > EXPANSION_FLOOR + MAX_EXPANSION * stored:
        raise _Missing(
            f"the list would expand to {expanded:,} bytes from {stored:,} stored "
            f"(more than {MAX_EXPANSION}x): refused"
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Missing):
        return str(exc)
    return f"cannot decode ({type(exc).__name__}: {exc})"


# -- queries shared by the SQL backends -----------------------------------------------


def matches_filter(
    source: str,
    step: int,
    metadata: Mapping[str, Any],
    filter: Mapping[str, Any],
) -> bool:
    """Whether a checkpoint matches a ``list(filter=...)`` filter.

    The keys ``source`` and ``step`` match those fields; any other key must be in
    the metadata with an equal value.
    """
    for key, value in filter.items():
        if key == "source":
            if source != value:
                return False
        elif key == "step":
            if step != value:
                return False
        elif metadata.get(key) != value:
            return False
    return True


def values_unchanged(
    values: Mapping[str, Any], state: ValuesState, serde: Codec
) -> bool:
    """Whether ``values`` still hold what was encoded into ``state``.

    For a writer that kept the values it committed: they are the caller's objects,
    which a node may since have mutated in place. A list channel is checked as
    :func:`_encode_list` checks a prefix (same length, same item objects, each
    still ``==`` its private decoded snapshot, so it carries the same guarantee);
    any other channel is encoded again and compared by bytes.
    """
    if values.keys() != state.channels.keys():
        return False
    for channel, value in values.items():
        kept = state.channels[channel]
        if isinstance(kept, ListState):
            if type(value) is not list or len(value) != kept.length:
                return False
            if not _unchanged_items(tuple(value), kept):
                return False
            continue
        if type(value) is list:
            return False
        try:
            data = serde.dumps(value)
        except Exception:  # whatever it holds now, it is not what was stored
            return False
        kind, stored = kept.entry
        if (data if kind == "i" else blob_key(data)) != stored:
            return False
    return True

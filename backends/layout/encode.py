"""Writing laid-out values: :func:`encode_values` and the states a writer keeps.

See :mod:`timeloom.backends.layout` for the scheme.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgpack

from timeloom.backends.layout.addressing import (
    CHUNK_ITEMS,
    HEADER_VERSION,
    INLINE_MAX,
    Codec,
    blob_key,
    frame,
)
from timeloom.core.errors import SerializationError


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

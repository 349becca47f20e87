"""What LangGraph stores per channel, measured on the stored bytes (nothing decoded).

LangGraph's ``SqliteSaver`` writes each checkpoint as one msgpack map whose
``channel_values`` hold every channel's whole value, so a channel that did not
change is stored again, and a list that grew by one item is stored again in full.
:func:`channel_sizes` measures each channel's bytes in a stored checkpoint, and
:func:`restored_bytes` how many of them repeat what the parent checkpoint already
stored.

LangGraph's ``PostgresSaver`` stores each channel once per *version* in
``checkpoint_blobs`` (primitive values stay inline in the checkpoint's JSON): an
unchanged channel is shared with the checkpoint that stored its version, but a
list that grew by one item is a new version, stored again in full.
:class:`VersionedSizes` measures that.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgpack

from timeloom.backends.langgraph.spans import channel_spans, read_array_header


@dataclass(frozen=True, slots=True)
class ChannelBytes:
    """One channel's value as a checkpoint stores it."""

    size: int
    """The stored bytes of the value."""
    body: bytes
    """The bytes after the array header (all of them if not an array), to compare
    with the parent's."""
    array: bool


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One LangGraph checkpoint row, measured."""

    checkpoint_id: str
    parent_id: str | None
    row_bytes: int
    """The checkpoint blob and its metadata."""
    write_bytes: int
    """Its rows in ``writes`` (pending writes: each node's update)."""
    channels: dict[str, tuple[int, int]]
    """Per channel: ``(stored bytes, bytes repeating the parent's)``."""
    shared: dict[str, int] = field(default_factory=dict)
    """Per channel: bytes it references that an earlier checkpoint stored (a
    Postgres channel version that did not change)."""


@runtime_checkable
class MeasuresStorage(Protocol):
    """A LangGraph reader that measures what each checkpoint stores."""

    def stored_sizes(self, timeline: str) -> AsyncIterator[StoredCheckpoint]:
        """What each checkpoint of a timeline stores, per channel, oldest first."""
        ...


def channel_sizes(tag: str | None, data: bytes) -> dict[str, ChannelBytes]:
    """Each channel's stored value in a msgpack checkpoint blob (empty for another
    format, or a blob that cannot be walked)."""
    if tag != "msgpack" or not data:
        return {}
    try:
        _, spans = channel_spans(data)
    except (ValueError, TypeError, msgpack.UnpackException):
        return {}
    found: dict[str, ChannelBytes] = {}
    for name, start, end in spans:
        header, _count = read_array_header(data[start : start + 5])
        body = data[start + max(header, 0) : end]
        found[str(name)] = ChannelBytes(end - start, body, header > 0)
    return found


class _Window:
    """The stored channels of the last few checkpoints measured (a parent is
    nearly always among them), so that memory stays bounded however large the
    history."""

    def __init__(self, window: int = 32) -> None:
        self._window = window
        self._recent: dict[str, dict[str, ChannelBytes]] = {}

    def _parent(self, parent_id: str | None) -> dict[str, ChannelBytes]:
        return self._recent.get(parent_id or "", {})

    def _remember(self, checkpoint_id: str, channels: dict[str, ChannelBytes]) -> None:
        self._recent[checkpoint_id] = channels
        if len(self._recent) > self._window:
            self._recent.pop(next(iter(self._recent)))


class Restored(_Window):
    """Measures a ``SqliteSaver`` history's checkpoints in order."""

    def measure(
        self, checkpoint_id: str, parent_id: str | None, tag: str | None, data: bytes
    ) -> dict[str, tuple[int, int]]:
        """Each channel's ``(stored bytes, bytes repeating the parent's)``."""
        channels = channel_sizes(tag, data)
        parent = self._parent(parent_id)
        self._remember(checkpoint_id, channels)
        return {
            name: (ch.size, restored_bytes(ch, parent.get(name)))
            for name, ch in channels.items()
        }


def restored_bytes(channel: ChannelBytes, parent: ChannelBytes | None) -> int:
    """How many of a channel's stored bytes repeat its parent's: all of them if
    unchanged, the old items if an array only grew."""
    if parent is None:
        return 0
    if channel.body == parent.body and channel.array == parent.array:
        return channel.size
    if channel.array and parent.array and channel.body.startswith(parent.body):
        return len(parent.body)
    return 0


BlobKey = tuple[str, str]
"""A Postgres blob: ``(channel, version)`` within a thread."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A ``checkpoint_blobs`` row as measured: its type and bytes."""

    tag: str | None
    data: bytes


class VersionedSizes(_Window):
    """Measures a ``PostgresSaver`` history in checkpoint order: a channel version
    is *stored* by the first checkpoint that names it and *shared* by the later
    ones; a new version's bytes that repeat the parent checkpoint's version (all
    of them, or the old items of a list that grew) are *re-stored*; an inline
    value (its JSON) is stored by every checkpoint. Memory stays bounded: the
    channels of the last few checkpoints, and the bytes of the last few versions.
    """

    def __init__(self, window: int = 32, versions: int = 64) -> None:
        super().__init__(window)
        self._versions = versions
        self._bytes: OrderedDict[BlobKey, ChannelBytes] = OrderedDict()
        self._sizes: dict[BlobKey, int] = {}
        """The size of every version met so far (sharing is by version)."""

    def unseen(self, versions: Mapping[str, str]) -> list[BlobKey]:
        """The versions among ``versions`` (channel -> version) not met yet."""
        return [(ch, v) for ch, v in versions.items() if (ch, v) not in self._sizes]

    def measure(
        self,
        checkpoint_id: str,
        parent_id: str | None,
        inline: Mapping[str, Any],
        versions: Mapping[str, str],
        blobs: Mapping[BlobKey, StoredBlob],
    ) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """One checkpoint: per channel ``(stored, re-stored)`` bytes, and the bytes
        it shares.

        Args:
            checkpoint_id: the checkpoint.
            parent_id: its parent.
            inline: its inline (primitive) channel values.
            versions: its ``channel_versions`` (as text).
            blobs: the blobs of the versions :meth:`unseen` named (those missing
                from the table are counted as empty).
        """
        parent = self._parent(parent_id)
        mine: dict[str, ChannelBytes] = {}
        stored: dict[str, tuple[int, int]] = {}
        shared: dict[str, int] = {}
        for channel, value in inline.items():
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            mine[channel] = ChannelBytes(len(text.encode()), text.encode(), False)
            stored[channel] = (
                mine[channel].size,
                restored_bytes(mine[channel], parent.get(channel)),
            )
        for channel, version in versions.items():
            if channel in inline:
                continue
            key = (channel, version)
            if key in self._sizes:
                shared[channel] = self._sizes[key]
                known = self._bytes.get(key)
                if known is not None:
                    self._bytes.move_to_end(key)
                    mine[channel] = known
                continue
            blob = blobs.get(key, StoredBlob(None, b""))
            measured = _blob_bytes(blob)
            self._sizes[key] = measured.size
            self._bytes[key] = measured
            if len(self._bytes) > self._versions:
                self._bytes.popitem(last=False)
            mine[channel] = measured
            stored[channel] = (
                measured.size,
                restored_bytes(measured, parent.get(channel)),
            )
        self._remember(checkpoint_id, mine)
        return stored, shared


def _blob_bytes(blob: StoredBlob) -> ChannelBytes:
    data = blob.data
    if blob.tag != "msgpack":
        return ChannelBytes(len(data), data, False)
    header, _count = read_array_header(data[:5])
    return ChannelBytes(len(data), data[max(header, 0) :], header > 0)

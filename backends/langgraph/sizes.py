"""What LangGraph stores per channel, measured on the stored bytes (nothing decoded).

LangGraph's ``SqliteSaver`` writes each checkpoint as one msgpack map whose
``channel_values`` hold every channel's whole value, so a channel that did not
change is stored again, and a list that grew by one item is stored again in full.
:func:`channel_sizes` measures each channel's bytes in a stored checkpoint, and
:func:`restored_bytes` how many of them repeat what the parent checkpoint already
stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack

from timeloom.backends.langgraph.shared import array_header


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


def channel_sizes(tag: str | None, data: bytes) -> dict[str, ChannelBytes]:
    """Each channel's stored value in a msgpack checkpoint blob (empty for another
    format, or a blob that cannot be walked)."""
    if tag != "msgpack" or not data:
        return {}
    unpacker = msgpack.Unpacker(
        raw=False, strict_map_key=False, max_buffer_size=max(len(data), 1 << 20)
    )
    unpacker.feed(data)
    found: dict[str, ChannelBytes] = {}
    try:
        for _ in range(unpacker.read_map_header()):
            key = unpacker.unpack()
            if key != "channel_values":
                unpacker.skip()
                continue
            for _ in range(unpacker.read_map_header()):
                name = unpacker.unpack()
                start = unpacker.tell()
                unpacker.skip()
                end = unpacker.tell()
                header, _count = array_header(data[start : start + 5])
                body = data[start + max(header, 0) : end]
                found[str(name)] = ChannelBytes(end - start, body, header > 0)
    except (ValueError, TypeError, msgpack.UnpackException):
        return {}
    return found


class Restored:
    """Measures a history's checkpoints in order, remembering the stored channels
    of the last few checkpoints (a parent is nearly always among them) so that
    memory stays bounded however large the history."""

    def __init__(self, window: int = 32) -> None:
        self._window = window
        self._recent: dict[str, dict[str, ChannelBytes]] = {}

    def measure(
        self, checkpoint_id: str, parent_id: str | None, tag: str | None, data: bytes
    ) -> dict[str, tuple[int, int]]:
        """Each channel's ``(stored bytes, bytes repeating the parent's)``."""
        channels = channel_sizes(tag, data)
        parent = self._recent.get(parent_id or "", {})
        self._recent[checkpoint_id] = channels
        if len(self._recent) > self._window:
            self._recent.pop(next(iter(self._recent)))
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

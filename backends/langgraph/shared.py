"""Decode a whole history at once, decoding what checkpoints share only once.

LangGraph re-stores every channel whole at every checkpoint (SQLite), or at every
version (Postgres), so a list that grows by one item a step is stored n times at
step n. Decoding a history naively is therefore quadratic. Here each channel's
stored bytes are compared with the parent checkpoint's: identical bytes reuse the
parent's decoded value, and an array whose bytes extend the parent's array decodes
only the new items. The result is the same as decoding each checkpoint alone,
except that checkpoints share unchanged (nested) objects: treat values as
read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from timeloom.backends.langgraph.decode import (
    decode_checkpoint,
    decode_msgpack,
    decode_typed,
    ext_hook,
)
from timeloom.backends.langgraph.spans import channel_spans, read_array_header
from timeloom.backends.serde.ext import array_header

_UNSET: Any = object()
_SMALL = 4096  # below this, one C-level decode beats walking the channels


@dataclass(slots=True)
class _Seen:
    """A channel value as stored and as decoded."""

    items: bytes  # the stored bytes after the array header (all of them if no array)
    value: Any
    header: int  # length of the array header, or -1 if not an array
    count: int  # items in the array


class SharedDecoder:
    """Decodes the checkpoints of one history, parents before children."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, _Seen]] = {}
        self.last: dict[str, str] = {}
        """Free for callers: e.g. the last key decoded per channel (Postgres)."""

    def value(
        self,
        checkpoint_id: str,
        parent_id: str | None,
        channel: str,
        data: bytes,
        start: int = 0,
        end: int | None = None,
    ) -> Any:
        """Decode the msgpack channel value ``data[start:end]`` of ``checkpoint_id``,
        reusing its parent's decoded value of the same channel where it can."""
        end = len(data) if end is None else end
        before = self._seen.get(parent_id or "", {}).get(channel)
        header, count = read_array_header(data[start : start + 5])
        body = start + max(header, 0)  # where the items (or the scalar) start
        value: Any = _UNSET
        if before is not None and before.header == header:
            same_size = end - body == len(before.items)
            if (
                same_size
                and count == before.count
                and data.startswith(before.items, body)
            ):
                value = before.value
            elif (
                header > 0
                and count > before.count
                and isinstance(before.value, list)
                and data.startswith(before.items, body)
            ):
                tail = data[body + len(before.items) : end]
                try:
                    added = decode_msgpack(array_header(count - before.count) + tail)
                    value = [*before.value, *added]
                except (ValueError, TypeError, RecursionError, msgpack.UnpackException):
                    value = _UNSET
        if value is _UNSET:
            value = decode_typed("msgpack", data[start:end])  # never raises
        self._seen.setdefault(checkpoint_id, {})[channel] = _Seen(
            data[body:end], value, header, count
        )
        return value

    def checkpoint(
        self, checkpoint_id: str, parent_id: str | None, tag: str | None, data: bytes
    ) -> dict[str, Any]:
        """Decode a whole stored checkpoint dict (SQLite) channel by channel."""
        if tag != "msgpack" or len(data) < _SMALL:
            return decode_checkpoint(tag, data)
        try:
            out, spans = channel_spans(data, ext_hook=ext_hook)
            for name, start, end in spans:
                out["channel_values"][name] = self.value(
                    checkpoint_id, parent_id, name, data, start, end
                )
            return out
        except (ValueError, TypeError, RecursionError, msgpack.UnpackException):
            # A map key that needs tuples, or a broken blob: decode it alone.
            return decode_checkpoint(tag, data)

"""Where each channel's value lies in a stored LangGraph checkpoint, undecoded.

``SqliteSaver`` stores a checkpoint as one msgpack map whose ``channel_values`` hold
every channel's whole value. Listing a history needs only a few bookkeeping
channels, decoding a history reuses what a parent decoded, and measuring storage
needs only byte counts: each walks the map once here and handles the values'
byte spans its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

Span = tuple[Any, int, int]
"""A channel value: ``(channel name, start, end)`` offsets into the blob."""


def channel_spans(
    data: bytes, *, ext_hook: Callable[[int, bytes], Any] | None = None
) -> tuple[dict[str, Any], list[Span]]:
    """Walk a stored checkpoint map without decoding its channel values.

    Args:
        data: the msgpack checkpoint blob.
        ext_hook: decodes the ext values of the other entries (``versions_seen``,
            ``pending_sends``...); without it those entries are skipped, not
            decoded.

    Returns:
        The map's other entries (decoded with ``ext_hook``, else left out), with
        an empty dict in the place of ``channel_values`` for the caller to fill;
        and each channel value's span, in stored order.

    Raises:
        ValueError, TypeError, msgpack.UnpackException: the blob is not such a map.
    """
    unpacker = msgpack.Unpacker(
        strict_map_key=False,
        raw=False,
        max_buffer_size=max(len(data), 1 << 20),
        ext_hook=msgpack.ExtType if ext_hook is None else ext_hook,
    )
    unpacker.feed(data)
    out: dict[str, Any] = {}
    spans: list[Span] = []
    for _ in range(unpacker.read_map_header()):
        key = unpacker.unpack()
        if key != "channel_values":
            if ext_hook is None:
                unpacker.skip()
            else:
                out[key] = unpacker.unpack()
            continue
        out[key] = {}
        for _ in range(unpacker.read_map_header()):
            name = unpacker.unpack()
            start = unpacker.tell()
            unpacker.skip()
            spans.append((name, start, unpacker.tell()))
    return out, spans


def read_array_header(raw: bytes) -> tuple[int, int]:
    """``(header length, item count)`` of a msgpack array, or ``(-1, 0)``."""
    if not raw:
        return -1, 0
    first = raw[0]
    if 0x90 <= first <= 0x9F:
        return 1, first & 0x0F
    if first == 0xDC and len(raw) >= 3:
        return 3, int.from_bytes(raw[1:3], "big")
    if first == 0xDD and len(raw) >= 5:
        return 5, int.from_bytes(raw[1:5], "big")
    return -1, 0

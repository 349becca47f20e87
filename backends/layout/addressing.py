"""How laid-out values are addressed: blob keys, frames, headers and manifests.

See :mod:`timeloom.backends.layout` for the scheme. Everything here is pure.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import msgpack

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

    def dumps_metadata(self, metadata: Mapping[str, Any], /) -> bytes: ...

    def loads(self, data: bytes, /) -> Any: ...


Fetch: TypeAlias = Callable[[Collection[bytes]], Awaitable[Mapping[bytes, bytes]]]
"""Return the blobs among the given keys that exist (missing keys are left out)."""


def blob_key(data: bytes) -> bytes:
    """Return the content address of ``data``."""
    return hashlib.blake2b(data, digest_size=KEY_SIZE).digest()


def verified(found: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """The blobs whose bytes still hash to their key (any other is corrupt, and
    reads as missing)."""
    return {k: bytes(v) for k, v in found.items() if blob_key(bytes(v)) == k}


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
    return entry_keys(parse_header(header))


def entry_keys(entries: Mapping[str, list[Any]]) -> tuple[set[bytes], set[bytes]]:
    """The blob keys the entries name, and which are manifests. A malformed entry
    (another program's bytes) names nothing here; decoding it reads as unreadable."""
    direct: set[bytes] = set()
    manifests: set[bytes] = set()
    for entry in entries.values():
        if not isinstance(entry, list) or len(entry) < 2:
            continue
        if entry[0] == "v" and isinstance(entry[1], bytes):
            direct.add(entry[1])
        elif entry[0] == "l" and len(entry) == 4:
            if isinstance(entry[2], bytes):
                manifests.add(entry[2])
            if isinstance(entry[3], list):
                direct.update(key for key in entry[3] if isinstance(key, bytes))
    return direct | manifests, manifests


def manifest_of(entries: Mapping[str, list[Any]]) -> list[bytes]:
    """The manifest keys of the well-formed list entries."""
    return list(entry_keys(entries)[1])


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


async def unreferenced(
    deleted: Iterable[bytes],
    remaining: Callable[[], Awaitable[Iterable[bytes]]],
    fetch: Fetch,
) -> set[bytes]:
    """The blobs the ``deleted`` headers needed that no remaining header needs.

    Blobs are shared by content across checkpoints and threads, and chunks are
    named only by manifests, so this marks through every remaining header
    (``remaining()``, called only when a deleted header needed anything) and the
    manifests they name: deleting costs a scan of the checkpoints.
    """
    candidates = await referenced_keys(deleted, fetch)
    if not candidates:
        return set()
    return candidates - await referenced_keys(await remaining(), fetch)


class BadLayout(ValueError):
    """Stored blobs that do not form what their header says (missing, corrupt,
    or not adding up): the channel reads as unreadable, with this reason."""


MAX_EXPANSION = 16
"""A list may read back to at most this many times the bytes of the distinct blobs
it is made of (beyond :data:`EXPANSION_FLOOR`): a manifest naming one chunk
thousands of times would otherwise turn kilobytes on disk into gigabytes."""

EXPANSION_FLOOR = 64 * 1024 * 1024


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
        raise BadLayout(f"malformed list entry (length {length!r})")
    chunk_keys = manifest_keys(manifest) if manifest is not None else []
    if len(chunk_keys) != length // CHUNK_ITEMS or len(tail) > CHUNK_ITEMS:
        raise BadLayout(
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
        raise BadLayout(
            f"the list would expand to {expanded:,} bytes from {stored:,} stored "
            f"(more than {MAX_EXPANSION}x): refused"
        )

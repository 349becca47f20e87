"""Reading laid-out values: plan, fetch, decode.

:func:`plan` names the blobs a header needs, the backend fetches them its own way,
and :func:`decode` builds the values: both pure and synchronous, so a backend can
run them wherever suits it (SQLite on its database thread, in the hop that
fetches; Postgres on a worker thread for a big state). :func:`decode_values` does
the three with an async fetch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from timeloom.backends.layout.addressing import (
    CHUNK_ITEMS,
    BadLayout,
    Codec,
    Fetch,
    check_expansion,
    entry_keys,
    list_parts,
    manifest_keys,
    manifest_of,
    parse_header,
    unframe,
    verified,
)
from timeloom.backends.layout.cache import VerifiedFetch
from timeloom.core.checkpoint import UnreadableValue


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What reading a header needs: :attr:`keys` first, then the chunks the
    manifests among them list (:meth:`chunk_keys`)."""

    entries: Mapping[str, list[Any]]
    keys: frozenset[bytes]
    """The blobs the header names: values, manifests and tail deltas."""

    def chunk_keys(self, found: Mapping[bytes, bytes]) -> set[bytes]:
        """The chunks the manifests in ``found`` list, less what ``found`` has."""
        chunks: set[bytes] = set()
        for manifest in manifest_of(self.entries):
            if manifest in found:
                chunks.update(manifest_keys(found[manifest]))
        return chunks - found.keys()


def plan(header: bytes) -> ReadPlan:
    """The plan of reading a values header.

    Raises:
        SerializationError: the header cannot be read.
    """
    entries = parse_header(header)
    return ReadPlan(entries, frozenset(entry_keys(entries)[0]))


def decode(
    plan: ReadPlan, blobs: Mapping[bytes, bytes], serde: Codec
) -> dict[str, Any]:
    """Build the values from the blobs fetched for ``plan``, which must match their
    keys (see :func:`verified`). A channel whose data is missing or corrupt reads
    as an :class:`UnreadableValue`."""
    values: dict[str, Any] = {}
    for channel, entry in plan.entries.items():
        try:
            values[channel] = _decode_entry(entry, blobs, serde)
        except Exception as exc:  # a corrupt blob must not hide the other channels
            values[channel] = UnreadableValue(channel, _reason(exc))
    return values


async def decode_values(header: bytes, fetch: Fetch, serde: Codec) -> dict[str, Any]:
    """Read back the values :func:`~timeloom.backends.layout.encode_values` laid
    out: :func:`plan`, two batched fetches at most (the header's blobs, then the
    chunks its manifests name), :func:`decode`.

    Raises:
        SerializationError: the header itself cannot be read.
    """
    read = plan(header)
    first = await _fetch_verified(fetch, read.keys)
    second = await _fetch_verified(fetch, read.chunk_keys(first))
    return decode(read, {**first, **second}, serde)


async def _fetch_verified(fetch: Fetch, keys: Collection[bytes]) -> dict[bytes, bytes]:
    if not keys:
        return {}
    found = await fetch(keys)
    if isinstance(fetch, VerifiedFetch):
        return dict(found)
    return verified(found)


def _blob(blobs: Mapping[bytes, bytes], key: bytes) -> bytes:
    try:
        return blobs[key]
    except KeyError:
        raise BadLayout(f"blob {key.hex()} is missing or corrupt") from None


def _decode_entry(entry: list[Any], blobs: Mapping[bytes, bytes], serde: Codec) -> Any:
    kind = entry[0]
    if kind == "i":
        return serde.loads(entry[1])
    if kind == "v":
        return serde.loads(_blob(blobs, entry[1]))
    if kind == "l":
        return _list_items(entry, blobs, serde)
    raise BadLayout(f"unknown entry kind {kind!r}")


def _list_items(
    entry: list[Any], blobs: Mapping[bytes, bytes], serde: Codec
) -> list[Any]:
    """The items of an ``["l", n, manifest, tail]`` entry, after checking the
    counts against ``n`` and the size against what is stored (a crafted header
    or manifest must not take unbounded memory).

    Each part is decoded as it is split: the encoded items of one part at a time
    are held, not those of the whole list beside its values (a list of many small
    items would otherwise peak at many times its size)."""
    length, chunk_keys, tail = list_parts(
        entry, _blob(blobs, entry[2]) if entry[2] is not None else None
    )
    parts = [_blob(blobs, key) for key in (*chunk_keys, *tail)]
    check_expansion(
        [len(part) for part in parts],
        sum(len(blobs[key]) for key in {*chunk_keys, *tail}),
    )
    loads_many = getattr(serde, "loads_many", None)
    items: list[Any] = []
    for i, part in enumerate(parts):
        encoded = unframe(part)
        if i < len(chunk_keys) and len(encoded) != CHUNK_ITEMS:
            raise BadLayout(f"a chunk holds {len(encoded)} items, not {CHUNK_ITEMS}")
        if len(items) + len(encoded) > length:
            raise BadLayout(f"expected {length} items, found more")
        if loads_many is not None:
            items.extend(loads_many(encoded))
        else:
            items.extend(serde.loads(item) for item in encoded)
    if len(items) != length:
        raise BadLayout(f"expected {length} items, found {len(items)}")
    return items


def _reason(exc: Exception) -> str:
    if isinstance(exc, BadLayout):
        return str(exc)
    return f"cannot decode ({type(exc).__name__}: {exc})"


def decode_mapping(serde: Codec, data: Any, what: str) -> Mapping[str, Any]:
    """Decode stored metadata or writes; garbage reads as ``{"__unreadable__": ...}``."""
    try:
        value = serde.loads(bytes(data))
    except Exception as exc:  # shown in place of the mapping, never raised
        return {"__unreadable__": UnreadableValue(what, repr(exc))}
    return value if isinstance(value, Mapping) else {"__unreadable__": value}

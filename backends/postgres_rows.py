"""Turning Postgres rows into the checkpoint model and back.

What :class:`~timeloom.backends.postgres.PostgresCheckpointer` sends to the server
(:class:`PutArgs`, encoded once on the caller's thread) and how it reads records back
(by column name), with the metadata filter's split between the server and Python.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from timeloom.backends import postgres_sql as q
from timeloom.backends.layout import Codec, EncodedValues, decode_mapping, encode_values
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
)


@dataclass(frozen=True, slots=True)
class PutArgs:
    """A checkpoint's fields for ``timeloom_put``, encoded once."""

    fixed: tuple[Any, ...]
    writes_blobs: dict[bytes, bytes]
    writes_refs: frozenset[bytes]
    writes: bytes

    @classmethod
    def of(cls, checkpoint: Checkpoint, serde: Codec) -> PutArgs:
        metadata = dict(checkpoint.metadata)
        fixed = (
            checkpoint.id,
            checkpoint.thread_id,
            checkpoint.parent_id,
            checkpoint.parent_thread_id,
            checkpoint.step,
            checkpoint.source,
            checkpoint.created_at,
            list(checkpoint.writes),
            list(checkpoint.next),
            serde.dumps_metadata(metadata),
            json_strings(metadata),
        )
        # Laid out like values, so the message a step appended is stored once: the
        # writes' one-item list is the same blob as the values' list delta.
        enc_writes = encode_values(flatten_writes(checkpoint.writes), serde)
        return cls(
            fixed,
            enc_writes.blobs,
            enc_writes.state.header_keys(),
            q.WRITES_LAYOUT_MARK + enc_writes.header,
        )

    def args(
        self, enc: EncodedValues, expected_head: str | None, parent_known: bool
    ) -> tuple[Any, ...]:
        blobs = sorted({**self.writes_blobs, **enc.blobs}.items())
        return (
            *self.fixed,
            enc.header,
            # The blobs the headers name, fetched with the row by a read (the
            # chunks its manifests name are fetched next).
            sorted(enc.state.header_keys() | self.writes_refs),
            self.writes,
            enc.size,
            expected_head,
            [k for k, _ in blobs],
            [d for _, d in blobs],
            parent_known,
        )


def meta_from_record(row: asyncpg.Record, serde: Codec) -> CheckpointMeta:
    """A checkpoint summary from a record of ``_META_COLUMNS``."""
    return CheckpointMeta(
        id=row["id"],
        thread_id=row["thread_id"],
        parent_id=row["parent_id"],
        parent_thread_id=row["parent_thread_id"],
        step=row["step"],
        source=row["source"],
        created_at=row["created_at"],
        nodes=tuple(row["nodes"]),
        next=tuple(row["next"]),
        metadata=decode_mapping(serde, row["metadata"], "metadata"),
        has_error=row["has_error"],
        has_interrupt=row["has_interrupt"],
        size=row["size"],
    )


def thread_from_record(row: asyncpg.Record, serde: Codec) -> ThreadInfo:
    """A thread summary from a record of the thread columns."""
    forked = row["forked_from_thread"]
    return ThreadInfo(
        thread_id=row["thread_id"],
        status=row["status"],
        head_id=row["head_id"],
        checkpoint_count=row["checkpoint_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        forked_from=(forked, row["forked_from_id"]) if forked is not None else None,
        metadata=decode_mapping(serde, row["metadata"], "metadata"),
    )


def pending_from_record(row: Any, serde: Codec) -> tuple[PendingWrite, ...]:
    """The pending writes a record aggregates (``w_nodes``, ``w_kinds``, ``w_values``)."""
    return tuple(
        PendingWrite(node, kind, serde.loads(value))
        for node, kind, value in zip(
            row["w_nodes"], row["w_kinds"], row["w_values"], strict=True
        )
    )


def interrupt_key(write: PendingWrite, serde: Codec) -> str:
    """An interrupt write's id, encoded so that equal ids compare equal in SQL."""
    value = write.value
    ident = value.get("id") if isinstance(value, Mapping) else None
    return serde.dumps(ident).hex()


def json_strings(metadata: Mapping[str, Any]) -> str:
    """The metadata's string-valued keys as JSON: what the server may filter on."""
    if not metadata:
        return "{}"
    return json.dumps({k: v for k, v in metadata.items() if pushable(k, v)})


def pushable(key: Any, value: Any) -> bool:
    # jsonb cannot hold NUL characters; such pairs are compared in Python.
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and "\x00" not in key
        and "\x00" not in value
    )


def split_filter(filter: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split a metadata filter into a JSON containment the server can apply and the
    pairs that must be compared here (jsonb equality differs from Python's for
    numbers, booleans and nulls; strings compare the same)."""
    pushed = {k: v for k, v in filter.items() if pushable(k, v)}
    rest = {k: v for k, v in filter.items() if k not in pushed}
    return json.dumps(pushed), rest


def headers_of(rows: Iterable[asyncpg.Record]) -> builtins.list[bytes]:
    """The layout headers of rows of (values header, writes)."""
    mark = q.WRITES_LAYOUT_MARK
    found: builtins.list[bytes] = []
    for values_header, writes in rows:
        found.append(bytes(values_header))
        if bytes(writes[:1]) == mark:
            found.append(bytes(writes[len(mark) :]))
    return found


def flatten_writes(writes: Mapping[str, Any]) -> dict[str, Any]:
    """``{node: {key: value}}`` as one channel per ``[node, key]`` (JSON names), so
    that a list a node wrote is laid out item by item; any other update (not a
    non-empty dict with string keys) is one channel named ``[node]``."""
    flat: dict[str, Any] = {}
    for node, update in writes.items():
        if type(update) is dict and update and all(type(k) is str for k in update):
            for key, value in update.items():
                flat[_write_name(node, key)] = value
        else:
            flat[_write_name(node)] = update
    return flat


@functools.lru_cache(maxsize=1024)
def _write_name(*path: str) -> str:
    """The channel name of a flattened write (the same few, step after step)."""
    return json.dumps(list(path))


def unflatten_writes(flat: Mapping[str, Any]) -> dict[str, Any]:
    writes: dict[str, Any] = {}
    for name, value in flat.items():
        path = json.loads(name)
        if len(path) == 1:
            writes[path[0]] = value
        else:
            writes.setdefault(path[0], {})[path[1]] = value
    return writes

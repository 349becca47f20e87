"""Turning SQLite rows into the checkpoint model and back, and small helpers.

Stored bytes that do not decode never raise here: they read as an
:class:`~timeloom.backends.layout.UnreadableValue`, so a damaged row still lists.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, cast

import aiosqlite

from timeloom.backends import sqlite_sql as sql
from timeloom.backends.layout import (
    BlobCache,
    Codec,
    EncodedValues,
    Fetch,
    decode,
    decode_mapping,
    plan,
)
from timeloom.backends.policy import aware_utc
from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    Source,
    ThreadInfo,
    ThreadStatus,
    UnreadableValue,
    thread_status,
)
from timeloom.core.errors import ConflictError, SerializationError

BLOB_BATCH = 500  # bound the number of bound parameters per query


def _blob_rows(rows: Iterable[Any]) -> Iterator[tuple[bytes, bytes]]:
    """Blob rows as ``(key, data)``; a row another program left holding text or a
    number is skipped, so its blob reads as missing (its value as unreadable)."""
    for key, data in rows:
        if isinstance(key, bytes) and isinstance(data, bytes):
            yield key, data


def blob_fetcher(db: aiosqlite.Connection) -> Fetch:
    """Fetch blobs by key, in batches (the layout's ``fetch``)."""

    async def fetch(keys: Collection[bytes]) -> dict[bytes, bytes]:
        wanted = list(keys)
        found: dict[bytes, bytes] = {}
        for i in range(0, len(wanted), BLOB_BATCH):
            batch = wanted[i : i + BLOB_BATCH]
            rows = await db.execute_fetchall(sql.select_blobs_sql(len(batch)), batch)
            found.update(_blob_rows(rows))
        return found

    return fetch


def read_values_sync(
    conn: sqlite3.Connection, header: Any, cache: BlobCache, serde: Codec
) -> dict[str, Any]:
    """Read a values header's values on the database thread: plan, fetch what
    ``cache`` lacks (the blobs it names, then the chunks its manifests list),
    decode.

    Raises:
        SerializationError: the header itself cannot be read.
    """
    read = plan(stored_header(header))

    def fetch(keys: Collection[bytes]) -> dict[bytes, bytes]:
        wanted = list(keys)
        found: dict[bytes, bytes] = {}
        for i in range(0, len(wanted), BLOB_BATCH):
            batch = wanted[i : i + BLOB_BATCH]
            rows = conn.execute(sql.select_blobs_sql(len(batch)), batch).fetchall()
            found.update(_blob_rows(rows))
        return found

    first = cache.resolve(read.keys, fetch)
    blobs = {**first, **cache.resolve(read.chunk_keys(first), fetch)}
    return decode(read, blobs, serde)


def load_pending_sync(
    conn: sqlite3.Connection, checkpoint_id: str, serde: Codec
) -> tuple[PendingWrite, ...]:
    """A checkpoint's pending writes, in order, read on the database thread; a
    corrupt one reads as unreadable."""
    rows = conn.execute(sql.SELECT_WRITES_SQL, (checkpoint_id,)).fetchall()
    return decode_pending(rows, serde)


def decode_pending(rows: Iterable[Any], serde: Codec) -> tuple[PendingWrite, ...]:
    """Pending writes from their rows; a corrupt one reads as unreadable."""
    pending = []
    for node, kind, value in rows:
        try:
            decoded = serde.loads(bytes(value))
        except Exception as exc:  # a corrupt write must not hide the checkpoint
            decoded = {"unreadable": UnreadableValue(f"{kind} of {node}", repr(exc))}
        pending.append(PendingWrite(node, kind, decoded))
    return tuple(pending)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A row of ``SELECT_CHECKPOINT_SQL``, by name."""

    meta: Sequence[Any]
    """The ``META_COLUMNS`` part (see :func:`meta_from_row`)."""
    writes: Any
    """The encoded writes (bytes, unless another program stored something else)."""
    header: Any
    """The values header (see :mod:`timeloom.backends.layout` and
    :func:`stored_header`)."""

    @property
    def id(self) -> str:
        return str(self.meta[0])

    @property
    def thread_id(self) -> str:
        return str(self.meta[1])

    @classmethod
    def of(cls, row: Sequence[Any]) -> StoredCheckpoint:
        *meta, writes, header = row
        return cls(meta, writes, header)


def meta_from_row(row: Sequence[Any], serde: Codec) -> CheckpointMeta:
    """A checkpoint summary from a row of ``META_COLUMNS``.

    A damaged field (a time that is not one, node names that are not a JSON list)
    reads as a neutral value and is named in the metadata's ``__unreadable__``, so
    one bad row never stops a listing.
    """
    (
        checkpoint_id,
        thread_id,
        parent_id,
        parent_thread_id,
        step,
        source,
        created_at,
        nodes,
        next_nodes,
        metadata,
        has_error,
        has_interrupt,
        size,
    ) = row
    problems: list[str] = []
    return CheckpointMeta(
        id=checkpoint_id,
        thread_id=thread_id,
        parent_id=parent_id,
        parent_thread_id=parent_thread_id,
        step=step,
        source=cast(Source, source),
        created_at=_time(created_at, "created_at", problems),
        nodes=_names(nodes, "nodes", problems),
        next=_names(next_nodes, "next", problems),
        metadata=_flagged(decode_mapping(serde, metadata, "metadata"), problems),
        has_error=bool(has_error),
        has_interrupt=bool(has_interrupt),
        size=size,
    )


def thread_from_row(row: Sequence[Any], serde: Codec) -> ThreadInfo:
    """A thread summary from a row of ``THREAD_COLUMNS`` (damaged fields as in
    :func:`meta_from_row`)."""
    (
        thread_id,
        status,
        head_id,
        checkpoint_count,
        created_at,
        updated_at,
        forked_thread,
        forked_id,
        metadata,
    ) = row
    problems: list[str] = []
    return ThreadInfo(
        thread_id=thread_id,
        status=cast(ThreadStatus, status),
        head_id=head_id,
        checkpoint_count=checkpoint_count,
        created_at=_time(created_at, "created_at", problems),
        updated_at=_time(updated_at, "updated_at", problems),
        forked_from=(forked_thread, forked_id) if forked_thread is not None else None,
        metadata=_flagged(decode_mapping(serde, metadata, "metadata"), problems),
    )


UNREADABLE_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""What a stored time that is not one reads as."""


def _time(text: Any, what: str, problems: list[str]) -> datetime:
    try:
        return parse_ts(text)
    except (TypeError, ValueError):
        problems.append(f"{what} is not a time: {text!r}"[:200])
        return UNREADABLE_TIME


def _names(text: Any, what: str, problems: list[str]) -> tuple[str, ...]:
    names = _parsed_names(text) if isinstance(text, str | bytes) else None
    if names is not None:
        return names
    problems.append(f"{what} is not a JSON list of names: {text!r}"[:200])
    return ()


@functools.lru_cache(maxsize=256)
def _parsed_names(text: str | bytes) -> tuple[str, ...] | None:
    """Node names read back from their JSON list (``None`` if it is not one): the
    same few lists, row after row, so each is parsed once."""
    try:
        names = json.loads(text)
    except ValueError:
        return None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return tuple(names)
    return None


def _flagged(metadata: Mapping[str, Any], problems: list[str]) -> Mapping[str, Any]:
    if not problems:
        return metadata
    return {**metadata, "__unreadable__": UnreadableValue("row", "; ".join(problems))}


def stored_header(value: Any) -> bytes:
    """A values header column as bytes.

    Raises:
        SerializationError: it is stored as something else (TEXT...).
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise SerializationError(
        f"the values header is stored as {type(value).__name__}, not as bytes"
    )


def ts_text(moment: datetime) -> str:
    """Store a timestamp as fixed-width UTC text."""
    # A fixed-width format, so text order is time order: isoformat of a UTC time
    # with microseconds always is (and is several times faster than strftime).
    return aware_utc(moment).astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> datetime:
    """Read back :func:`ts_text`."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A checkpoint's row fields, encoded on the caller's thread, and its insert."""

    cp: Checkpoint
    status: str
    created: str
    nodes: str
    next: str
    writes: bytes
    metadata: bytes

    @classmethod
    def of(cls, cp: Checkpoint, serde: Codec) -> CheckpointRow:
        return cls(
            cp,
            thread_status(cp.next, False, False),
            ts_text(cp.created_at),
            _json_names(tuple(cp.writes)),
            _json_names(cp.next),
            serde.dumps(dict(cp.writes)),
            serde.dumps_metadata(cp.metadata),
        )

    def insert(
        self, conn: sqlite3.Connection, expected_head: str | None, enc: EncodedValues
    ) -> None:
        """Insert the checkpoint and its blobs and move the head (in a transaction)."""
        cp = self.cp
        forked = cp.parent_thread_id is not None and cp.parent_thread_id != cp.thread_id
        fork_thread = cp.parent_thread_id if forked else None
        fork_id = cp.parent_id if forked else None
        if expected_head is None:
            try:
                conn.execute(
                    sql.INSERT_THREAD_SQL,
                    (
                        cp.thread_id,
                        cp.id,
                        self.status,
                        self.created,
                        self.created,
                        fork_thread,
                        fork_id,
                        self.metadata,
                    ),
                )
            except sqlite3.IntegrityError:
                raise_conflict(conn, cp.thread_id, expected_head)
        else:
            cursor = conn.execute(
                sql.MOVE_HEAD_SQL,
                (
                    cp.id,
                    self.status,
                    self.created,
                    self.metadata,
                    fork_thread,
                    fork_id,
                    cp.thread_id,
                    expected_head,
                ),
            )
            if cursor.rowcount != 1:
                raise_conflict(conn, cp.thread_id, expected_head)
        try:
            conn.execute(
                sql.INSERT_CHECKPOINT_SQL,
                (
                    cp.id,
                    cp.thread_id,
                    cp.parent_id,
                    cp.parent_thread_id,
                    cp.step,
                    cp.source,
                    self.created,
                    self.nodes,
                    self.next,
                    self.metadata,
                    self.writes,
                    enc.header,
                    enc.size,
                ),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(
                f"A checkpoint with id {cp.id} already exists; ids must be unique."
            ) from None
        if enc.blobs:
            conn.executemany(sql.INSERT_BLOB_SQL, list(enc.blobs.items()))


@functools.lru_cache(maxsize=256)
def _json_names(names: tuple[str, ...]) -> str:
    """Node names as stored: a JSON list (the same few lists, step after step)."""
    return json.dumps(list(names))


def raise_conflict(
    conn: sqlite3.Connection, thread_id: str, expected: str | None
) -> NoReturn:
    """Raise the :class:`ConflictError` of a head that is not ``expected``."""
    row = conn.execute(sql.SELECT_HEAD_SQL, (thread_id,)).fetchone()
    head = row[0] if row else None
    raise ConflictError(
        f"Thread {thread_id!r} moved on: its head is {head}, this writer expected "
        f"{expected}. Reload and retry."
    )

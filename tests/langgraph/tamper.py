"""Databases written by real LangGraph, then altered the way an attacker or a broken
writer could: one stored value, or one column, replaced by hostile bytes.

SQLite keeps a checkpoint's channel values inside the checkpoint blob; Postgres keeps
each in a ``checkpoint_blobs`` row. :func:`set_channel` reaches both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import msgpack

from tests.langgraph import lgdb

THREAD = "small"
"""The thread :func:`small_database` writes (5 checkpoints)."""


def deep_ext(levels: int) -> bytes:
    """A msgpack blob of ``levels`` ext values nested in one another (~3 B a level)."""
    inner = msgpack.packb(["m", "n", None])
    for _ in range(levels):
        inner = msgpack.packb(["m", "n", msgpack.ExtType(0, inner)])
    return msgpack.packb(msgpack.ExtType(0, inner))


def _raw(code: int, data: bytes) -> msgpack.ExtType:
    return msgpack.ExtType(code, data)


def small_database(kind: str, where: Path | str) -> str:
    """Write :data:`THREAD` with LangGraph into a SQLite file (``where`` is a folder)
    or a Postgres database (``where`` is its DSN); return what to open."""
    if kind == "sqlite":
        path = Path(where) / "lg.db"
        with lgdb.sqlite_saver(path) as saver:
            lgdb.write_small(saver, turns=1)
        return str(path)
    with lgdb.postgres_saver(str(where)) as saver:
        lgdb.write_small(saver, turns=1)
    return str(where)


def set_channel(url: str, channel: str, blob: bytes, *, tag: str = "msgpack") -> None:
    """Store ``blob`` (already encoded) as ``channel`` in every checkpoint of
    :data:`THREAD` that has it."""
    if url.startswith("postgresql://"):
        asyncio.run(
            _pg(
                url,
                "UPDATE checkpoint_blobs SET blob = $1, type = $2 "
                "WHERE thread_id = $3 AND channel = $4",
                blob,
                tag,
                THREAD,
                channel,
            )
        )
        return
    conn = sqlite3.connect(url)
    with conn:
        rows = conn.execute(
            "SELECT checkpoint_id, checkpoint FROM checkpoints WHERE thread_id = ?",
            (THREAD,),
        ).fetchall()
        for checkpoint_id, stored in rows:
            checkpoint = msgpack.unpackb(stored, ext_hook=_raw, strict_map_key=False)
            if channel not in checkpoint["channel_values"]:
                continue
            checkpoint["channel_values"][channel] = _Encoded(blob)
            conn.execute(
                "UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = ?",
                (_pack(checkpoint), checkpoint_id),
            )
    conn.close()


class _Encoded:
    """Bytes spliced into a msgpack document as they are (not as a bin value)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


_SPLICE = b"\xc1SPLICE\xc1"


def _pack(value: Any) -> bytes:
    spliced: list[bytes] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, _Encoded):
            spliced.append(obj.data)
            return _SPLICE  # a marker, replaced by the bytes below
        raise TypeError(type(obj))

    packed = msgpack.packb(value, default=default, use_bin_type=True)
    marker = msgpack.packb(_SPLICE, use_bin_type=True)
    for data in spliced:
        packed = packed.replace(marker, data, 1)
    return packed


def execute(url: str, sql: str, *params: Any) -> None:
    """Run one statement on a LangGraph database (SQLite path or Postgres DSN).

    Write it in SQLite's dialect with ``?`` placeholders; for Postgres they become
    ``$1``, ``$2``...
    """
    if url.startswith("postgresql://"):
        parts = sql.split("?")
        numbered = parts[0] + "".join(
            f"${i}{part}" for i, part in enumerate(parts[1:], start=1)
        )
        asyncio.run(_pg(url, numbered, *params))
        return
    conn = sqlite3.connect(url)
    with conn:
        conn.execute(sql, params)
    conn.close()


async def _pg(dsn: str, sql: str, *params: Any) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *params)
    finally:
        await conn.close()

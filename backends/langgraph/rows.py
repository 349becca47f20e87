"""LangGraph's stored rows as read, and its ids: timelines and UUIDv6 times.

A :class:`RawCheckpoint` is one ``checkpoints`` row with its blob decoded, a
:class:`RawWrite` one ``writes`` row whose value is decoded when asked for; both
drivers (SQLite and Postgres) produce them, and
:mod:`timeloom.backends.langgraph.mapping` turns them into Timeloom's model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from timeloom.backends.langgraph.decode import decode_typed
from timeloom.core.checkpoint import SOURCES, Source
from timeloom.core.ids import uuid_text

NS_SEP: Final = "|"
"""Joins a thread id and a subgraph namespace into a timeline id."""

# A namespace: segments joined by "|" (task ids never contain "|"): "node:task" for
# one run's, "node" alone for a subgraph compiled with checkpointer=True (one
# history shared by its runs), a number for a task's second graph ("node:task|1").
_NS_RE = re.compile(r"[^|]+(?:\|[^|]+)*")

# -- timelines -------------------------------------------------------------------------


def compose_thread_id(thread_id: str, ns: str) -> str:
    """The Timeloom thread id of LangGraph thread ``thread_id``, namespace ``ns``."""
    return f"{thread_id}{NS_SEP}{ns}" if ns else thread_id


def split_thread_id(timeline: str) -> list[tuple[str, str]]:
    """The ``(thread_id, checkpoint_ns)`` pairs a timeline id may stand for.

    Most specific first; the last is always ``(timeline, "")``, since a LangGraph
    thread id may itself contain ``"|"``.
    """
    out = [
        (timeline[:i], timeline[i + 1 :])
        for i, ch in enumerate(timeline)
        if ch == NS_SEP and i > 0 and _NS_RE.fullmatch(timeline[i + 1 :])
    ]
    out.append((timeline, ""))
    return out


# -- raw rows --------------------------------------------------------------------------


@dataclass(slots=True)
class RawCheckpoint:
    """One ``checkpoints`` row, its blob decoded (maybe without state values)."""

    thread_id: str
    ns: str
    id: str
    parent_id: str | None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    size: int | None = None

    @property
    def timeline(self) -> str:
        return compose_thread_id(self.thread_id, self.ns)

    @property
    def source(self) -> Source:
        source = self.metadata.get("source")
        return source if source in SOURCES else "loop"

    @property
    def step(self) -> int:
        step = self.metadata.get("step")
        return step if isinstance(step, int) else -1

    @property
    def created_at(self) -> datetime:
        ts = self.checkpoint.get("ts")
        if isinstance(ts, str):
            try:
                parsed = datetime.fromisoformat(ts)
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            except ValueError:
                pass
        return uuid6_time(self.id)


_UNSET: Final[Any] = object()


@dataclass(slots=True)
class RawWrite:
    """One ``writes`` row; the value stays undecoded until asked for."""

    checkpoint_id: str
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None
    blob: bytes | None

    _decoded: Any = field(default=_UNSET, repr=False, compare=False)

    def value(self) -> Any:
        """The decoded value (decoded once)."""
        if self._decoded is _UNSET:
            self._decoded = decode_typed(self.type, self.blob)
        return self._decoded


# -- ids ---------------------------------------------------------------------------------

_UUID_EPOCH_100NS: Final = 0x01B21DD213814000  # 1582-10-15 to 1970-01-01


def uuid6_time(checkpoint_id: str) -> datetime:
    """The creation time encoded in a LangGraph (UUIDv6) checkpoint id."""
    try:
        value = int(checkpoint_id.replace("-", ""), 16)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    ticks = ((value >> 80) << 12) | ((value >> 64) & 0xFFF)
    return datetime.fromtimestamp(max(ticks - _UUID_EPOCH_100NS, 0) / 1e7, UTC)


def uuid6_floor(ms: int) -> str:
    """The smallest UUIDv6 string for Unix millisecond ``ms``."""
    ticks = max(ms, 0) * 10_000 + _UUID_EPOCH_100NS
    high = ticks >> 12  # 48 bits: time_high + time_mid
    low = ticks & 0xFFF
    return uuid_text((high << 80) | (0x6 << 76) | (low << 64) | (0b10 << 62))

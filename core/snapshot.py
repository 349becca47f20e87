"""``StateSnapshot``: what ``get_state`` and ``get_state_history`` return.

The same fields as LangGraph's, so code written against LangGraph reads it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from timeloom.core.interrupts import Interrupt


@dataclass(frozen=True, slots=True)
class StateTask:
    """A node due to run from a snapshot, with what stopped it, if anything."""

    id: str
    name: str
    error: Mapping[str, Any] | None = None
    """``{"type", "message", "traceback"}`` if the node failed from this snapshot."""
    interrupts: tuple[Interrupt, ...] = ()
    result: Mapping[str, Any] | None = None
    """The update the node wrote, if it succeeded while a sibling failed."""


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The state of a thread at one checkpoint."""

    values: Mapping[str, Any]
    next: tuple[str, ...]
    config: dict[str, Any]
    """``{"configurable": {"thread_id", "checkpoint_id", "checkpoint_ns"}}``: pass it
    to ``invoke(None, config)`` to continue from this checkpoint."""
    metadata: Mapping[str, Any]
    """``source``, ``step``, ``writes`` and the checkpoint's free-form metadata."""
    created_at: str
    """ISO-8601 UTC timestamp."""
    parent_config: dict[str, Any] | None
    tasks: tuple[StateTask, ...] = ()
    interrupts: tuple[Interrupt, ...] = field(default=())

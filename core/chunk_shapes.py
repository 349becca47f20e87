"""The shapes of the chunks LangGraph streams for a task: its ``tasks`` and
``debug`` payloads, its ``task_result``, its interrupts, and the messages a node
returned (``messages`` mode)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from timeloom.core.state import ROOT

if TYPE_CHECKING:
    from timeloom.core.interrupts import Interrupt
    from timeloom.core.state import StateSchema
    from timeloom.core.streaming import StepLog, StreamMode, TaskInfo


def task_chunks(
    wanted: frozenset[StreamMode], info: TaskInfo, kind: str, payload: Any
) -> list[tuple[StreamMode, Any]]:
    """A task's ``tasks`` and ``debug`` chunks (``kind`` is ``task`` or
    ``task_result``), for the modes ``wanted``."""
    chunks: list[tuple[StreamMode, Any]] = []
    if "tasks" in wanted:
        chunks.append(("tasks", payload))
    if "debug" in wanted:
        chunks.append(("debug", debug_chunk(kind, info.step, payload)))
    return chunks


def debug_chunk(kind: str, step: int, payload: Any) -> dict[str, Any]:
    """A ``debug`` mode chunk: its type, time and step around the payload."""
    return {
        "type": kind,
        "timestamp": datetime.now(UTC).isoformat(),
        "step": step,
        "payload": payload,
    }


def interrupt_shown(interrupt: Interrupt) -> dict[str, Any]:
    """An interrupt as a task's chunk shows it."""
    return {"value": interrupt.value, "id": interrupt.id}


def task_result(updates: Sequence[Mapping[str, Any]], schema: StateSchema) -> Any:
    """A task's writes as LangGraph's ``task_result`` shows them (see
    :func:`merged_writes`); a state of one value's as the value."""
    result = merged_writes(updates)
    if schema.kind == "root":
        return result.get(ROOT)
    return result


def merged_writes(updates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A task's updates as one dict, as LangGraph shows a task's result: a key
    written several times as ``{"$writes": [...]}``."""
    result: dict[str, Any] = {}
    for update in updates:
        for key, value in update.items():
            if key in result:
                before = result[key]
                many = before["$writes"] if _is_writes(before) else [before]
                result[key] = {"$writes": [*many, value]}
            else:
                result[key] = value
    return result


def _is_writes(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("$writes"), list)


def returned_messages(
    log: StepLog, info: TaskInfo, updates: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, Any]]:
    """The messages a task wrote that the run's stream has not seen (in its
    input, a chat model's, or returned before), as ``messages`` chunks
    (LangGraph streams these when the node ends). A LangChain message without
    an id is given one, as LangGraph gives it."""
    from timeloom.core.messages import message_id, messages_in

    seen = log.streamed
    seen.update(message_id(m) for m in messages_in(info.input))
    found = []
    for update in updates:
        for message in messages_in(update):
            mid = message_id(message)
            if mid is None and not isinstance(message, dict):
                mid = message.id = str(uuid.uuid4())
            if mid is None or mid not in seen:
                seen.add(mid)
                # LangGraph marks what a node (not a chat model) gave this way.
                found.append(
                    (message, {**info.metadata, "ls_integration": "langgraph"})
                )
    return found

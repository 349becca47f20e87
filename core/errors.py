"""Typed errors. Each carries a short ``title`` a UI can show above the message.

Backends translate driver exceptions into these at their boundary, so code outside
``timeloom.backends`` never sees an ``aiosqlite`` or ``asyncpg`` exception. Where
LangGraph raises a built-in type, ours subclass it (``GraphValidationError`` and
``ConfigError`` are ``ValueError``s, ``GraphRecursionError`` a ``RecursionError``,
``ResumeError`` a ``RuntimeError``), so code written against LangGraph catches them.
A node's own exception is not wrapped: see :class:`NodeFailure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class TimeloomError(Exception):
    """Base class of every error Timeloom raises on purpose."""

    default_title = "Timeloom error"

    def __init__(self, msg: str, title: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.title = title or self.default_title


class GraphValidationError(TimeloomError, ValueError):
    """The graph is malformed (found by ``StateGraph.compile()``)."""

    default_title = "Invalid graph"


class InvalidUpdateError(TimeloomError):
    """A node or ``update_state`` wrote something the state schema does not allow."""

    default_title = "Invalid state update"


@dataclass(frozen=True, slots=True)
class NodeFailure:
    """Where a node's exception happened. A node's exception reaches the caller as
    itself (as in LangGraph), carrying this: read it with :func:`node_failure`.

    The error and the updates of the node's successful siblings were stored as
    pending writes on ``checkpoint_id``; resuming the thread re-runs only the
    failed node(s).
    """

    node: str
    thread_id: str | None
    checkpoint_id: str | None


_FAILURE_ATTRIBUTE = "timeloom_failure"


def attach_node_failure(exc: BaseException, failure: NodeFailure) -> None:
    """Mark ``exc`` as raised by a node: an attribute for code, a note for people."""
    setattr(exc, _FAILURE_ATTRIBUTE, failure)
    where = (
        f" (thread {failure.thread_id!r}, checkpoint {failure.checkpoint_id})"
        if failure.thread_id
        else ""
    )
    exc.add_note(
        f"Raised by node {failure.node!r}{where}; the error is recorded on that "
        f"checkpoint and invoke(None, config) runs the node again."
    )


def node_failure(exc: BaseException) -> NodeFailure | None:
    """The node, thread and checkpoint ``exc`` was raised at, if a node raised it."""
    found = getattr(exc, _FAILURE_ATTRIBUTE, None)
    return found if isinstance(found, NodeFailure) else None


class ConflictError(TimeloomError):
    """Another writer moved the thread's head since this writer last read it."""

    default_title = "Concurrent write"


class CheckpointNotFound(TimeloomError):
    """A configuration named a thread or checkpoint that does not exist."""

    default_title = "Checkpoint not found"


class ReadOnlyError(TimeloomError):
    """A write was attempted on a checkpointer opened read-only."""

    default_title = "Read-only"


class SerializationError(TimeloomError):
    """A value cannot be encoded, or stored bytes cannot be decoded."""

    default_title = "Cannot serialize value"


class SchemaError(TimeloomError):
    """The database is not a checkpoint database Timeloom can use (foreign, newer...)."""

    default_title = "Unsupported database"


class StoreConnectionError(TimeloomError):
    """The database cannot be reached, or the connection was lost."""

    default_title = "Database connection failed"


class GraphRecursionError(TimeloomError, RecursionError):
    """A run took more super-steps than its ``recursion_limit`` allows."""

    default_title = "Too many steps"


class ConfigError(TimeloomError, ValueError):
    """A run's configuration is incomplete or inconsistent (e.g. no thread_id)."""

    default_title = "Invalid configuration"


class ResumeError(TimeloomError, RuntimeError):
    """A ``Command(resume=...)`` that cannot be matched to the pending interrupts."""

    default_title = "Cannot resume"


class ParentCommand(Exception):
    """Raised out of a subgraph whose node returned ``Command(graph=Command.PARENT)``
    (``args[0]``: the command, as LangGraph's); the graph running the subgraph
    takes the command as its subgraph node's result. Out of a root graph, it
    reaches the caller."""

    def __init__(self, command: Any) -> None:
        super().__init__(command)
        self.command = command

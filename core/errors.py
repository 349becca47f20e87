"""Typed errors. Each carries a short ``title`` a UI can show above the message.

Backends translate driver exceptions into these at their boundary, so code outside
``timeloom.backends`` never sees an ``aiosqlite`` or ``asyncpg`` exception.
"""

from __future__ import annotations


class TimeloomError(Exception):
    """Base class of every error Timeloom raises on purpose."""

    default_title = "Timeloom error"

    def __init__(self, msg: str, title: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.title = title or self.default_title


class GraphValidationError(TimeloomError):
    """The graph is malformed (found by ``StateGraph.compile()``)."""

    default_title = "Invalid graph"


class InvalidUpdateError(TimeloomError):
    """A node or ``update_state`` wrote something the state schema does not allow."""

    default_title = "Invalid state update"


class NodeError(TimeloomError):
    """A node raised. The original exception is ``__cause__``.

    The error and the updates of the node's successful siblings were stored as
    pending writes on ``checkpoint_id``; resuming the thread re-runs only the
    failed node(s).
    """

    default_title = "Node failed"

    def __init__(
        self,
        node: str,
        thread_id: str | None,
        checkpoint_id: str | None,
        exc: BaseException,
    ) -> None:
        where = (
            f" (thread {thread_id!r}, checkpoint {checkpoint_id})" if thread_id else ""
        )
        super().__init__(f"Node {node!r} raised {type(exc).__name__}: {exc}{where}")
        self.node = node
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id


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


class GraphRecursionError(TimeloomError):
    """A run took more super-steps than its ``recursion_limit`` allows."""

    default_title = "Too many steps"


class ConfigError(TimeloomError):
    """A run's configuration is incomplete or inconsistent (e.g. no thread_id)."""

    default_title = "Invalid configuration"

"""Timeloom's graph runtime, checkpoint model and checkpointer protocol.

This package imports no UI, no database driver and no codec: backends implement the
protocol in :mod:`timeloom.core.checkpointer`, the TUI reads through it.
"""

from __future__ import annotations

from timeloom.core.checkpoint import (
    Checkpoint,
    CheckpointMeta,
    PendingWrite,
    ThreadInfo,
    ThreadStatus,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.constants import END, START
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    ConflictError,
    GraphRecursionError,
    GraphValidationError,
    InvalidUpdateError,
    NodeFailure,
    ReadOnlyError,
    ResumeError,
    SchemaError,
    SerializationError,
    StoreConnectionError,
    TimeloomError,
    node_failure,
)
from timeloom.core.graph import StateGraph
from timeloom.core.interrupts import (
    Command,
    Interrupt,
    StreamWriter,
    get_config,
    get_stream_writer,
    interrupt,
)
from timeloom.core.messages import (
    REMOVE_ALL_MESSAGES,
    MessagesState,
    RemoveMessage,
    add_messages,
    push_message,
)
from timeloom.core.retry import RetryPolicy
from timeloom.core.run_context import Runtime
from timeloom.core.runtime import CompiledGraph
from timeloom.core.sends import Send
from timeloom.core.snapshot import StateSnapshot, StateTask
from timeloom.core.state import Overwrite
from timeloom.core.streaming import StreamMode
from timeloom.core.untracked import UntrackedValue
from timeloom.core.writer import Durability

__all__ = [
    "END",
    "REMOVE_ALL_MESSAGES",
    "START",
    "BaseCheckpointer",
    "Checkpoint",
    "CheckpointMeta",
    "CheckpointNotFound",
    "Command",
    "CompiledGraph",
    "ConfigError",
    "ConflictError",
    "Durability",
    "GraphRecursionError",
    "GraphValidationError",
    "Interrupt",
    "InvalidUpdateError",
    "MessagesState",
    "NodeFailure",
    "Overwrite",
    "PendingWrite",
    "ReadOnlyError",
    "RemoveMessage",
    "ResumeError",
    "RetryPolicy",
    "Runtime",
    "SchemaError",
    "Send",
    "SerializationError",
    "StateGraph",
    "StateSnapshot",
    "StateTask",
    "StoreConnectionError",
    "StreamMode",
    "StreamWriter",
    "ThreadInfo",
    "ThreadStatus",
    "TimeloomError",
    "UntrackedValue",
    "add_messages",
    "get_config",
    "get_stream_writer",
    "interrupt",
    "node_failure",
    "push_message",
]

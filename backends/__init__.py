"""Checkpointers (memory, SQLite, Postgres, the LangGraph reader) and the codec."""

from __future__ import annotations

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.backends.urls import open_checkpointer

__all__ = [
    "MemoryCheckpointer",
    "PostgresCheckpointer",
    "SqliteCheckpointer",
    "open_checkpointer",
]

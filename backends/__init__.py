"""Checkpointers (memory, SQLite, Postgres, the LangGraph reader) and the codec."""

from __future__ import annotations

from timeloom.backends.memory import MemoryCheckpointer

__all__ = ["MemoryCheckpointer"]

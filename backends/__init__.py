"""Checkpointers (memory, SQLite, Postgres, the LangGraph reader) and the codec.

The names below load their module on first use (PEP 562), so importing one backend
(``timeloom.backends.memory``) does not import the drivers of the others: the memory
checkpointer works without asyncpg, and ``timeloom --help`` loads no driver at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timeloom.backends.memory import MemoryCheckpointer
    from timeloom.backends.postgres import PostgresCheckpointer
    from timeloom.backends.sqlite import SqliteCheckpointer
    from timeloom.backends.urls import open_checkpointer

_MODULES = {
    "MemoryCheckpointer": "timeloom.backends.memory",
    "PostgresCheckpointer": "timeloom.backends.postgres",
    "SqliteCheckpointer": "timeloom.backends.sqlite",
    "open_checkpointer": "timeloom.backends.urls",
}

__all__ = [
    "MemoryCheckpointer",
    "PostgresCheckpointer",
    "SqliteCheckpointer",
    "open_checkpointer",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

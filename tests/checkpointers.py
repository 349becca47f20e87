"""A checkpointer of each backend by name, for fixtures parametrized over backends.

A fixture takes ``params=BACKENDS`` and makes its store with
``new_checkpointer(request, tmp_path)``; it opens and closes the store as its tests
need (``async with``, or lazily on first use and ``aclose`` at the end). To add a
backend, add its name to ``BACKENDS`` and one branch to ``new_checkpointer``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def new_checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> BaseCheckpointer:
    """Return a fresh, empty, writable checkpointer of the backend ``request.param``
    names (one of ``BACKENDS``), not opened yet.

    Args:
        request: the requesting fixture's request; PostgreSQL takes a fresh database
            from its ``postgres_dsn`` fixture (which skips, or fails in CI, without a
            server).
        tmp_path: the test's directory, where the SQLite file goes.
    """
    if request.param == "memory":
        return MemoryCheckpointer()
    if request.param == "sqlite":
        return SqliteCheckpointer(tmp_path / "checkpoints.db")
    if request.param == "postgres":
        return PostgresCheckpointer(request.getfixturevalue("postgres_dsn"))
    raise AssertionError(f"no backend named {request.param!r}")  # pragma: no cover

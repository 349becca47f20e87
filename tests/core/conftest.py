"""Runtime tests run against the in-memory checkpointer; ``stored`` runs one on
each backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.sync import run_sync


@pytest.fixture
def memory() -> MemoryCheckpointer:
    return MemoryCheckpointer()


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stored(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointer]:
    """A fresh checkpointer of each backend, for semantics that storage could
    change (what is recorded on a checkpoint, what a replay reads back)."""
    cp: BaseCheckpointer
    if request.param == "memory":
        cp = MemoryCheckpointer()
    elif request.param == "sqlite":
        cp = SqliteCheckpointer(tmp_path / "checkpoints.db")
    else:  # a fresh database per test; skips (or fails in CI) without a server
        cp = PostgresCheckpointer(request.getfixturevalue("postgres_dsn"))
    yield cp
    run_sync(cp.aclose())

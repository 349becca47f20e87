"""Fixtures for the backend tests: every backend behind one ``checkpointer`` fixture
(the backends are listed in ``tests.checkpointers``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.checkpointers import BACKENDS, new_checkpointer
from tests.conftest import PostgresServer
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint, Source
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.ids import new_checkpoint_id

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BaseCheckpointer]:
    """A fresh, empty, writable checkpointer of each backend, open."""
    async with new_checkpointer(request, tmp_path) as cp:
        yield cp


@pytest.fixture
def restartable_server(postgres_server: PostgresServer) -> PostgresServer:
    """The session's PostgreSQL server, for tests that stop and start it (they skip
    on a server this session did not start)."""
    if not postgres_server.managed:
        pytest.skip("needs the throwaway server (it is stopped and started again)")
    return postgres_server


@dataclass
class CheckpointFactory:
    """Builds checkpoints with increasing ids and sensible defaults.

    ``make(thread)`` continues the thread from the last checkpoint made for it
    (parent, step, values), so tests read like a run: ``a = make("t"); b = make("t")``.
    """

    last: dict[str, Checkpoint] = field(default_factory=dict)
    clock: int = 0

    def make(
        self,
        thread_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        parent: Checkpoint | None | bool = True,
        source: Source = "loop",
        next: tuple[str, ...] = ("node",),
        writes: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
    ) -> Checkpoint:
        """Return a new checkpoint of ``thread_id`` (not stored).

        Args:
            parent: ``True`` for the last checkpoint made for this thread, a
                checkpoint (possibly of another thread) to fork from, or
                ``None``/``False`` for none.
        """
        up = self.last.get(thread_id) if parent is True else parent or None
        self.clock += 1
        cp = Checkpoint(
            id=new_checkpoint_id(),
            thread_id=thread_id,
            parent_id=up.id if up else None,
            parent_thread_id=up.thread_id if up else None,
            step=up.step + 1 if up else -1,
            source=source,
            created_at=created_at or EPOCH + timedelta(seconds=self.clock),
            values=dict(values if values is not None else (up.values if up else {})),
            next=next,
            writes=dict(writes or {"node": {"n": self.clock}}),
            metadata=dict(metadata or {}),
        )
        self.last[thread_id] = cp
        return cp


@pytest.fixture
def make() -> CheckpointFactory:
    """A :class:`CheckpointFactory`."""
    return CheckpointFactory()


ReadOnlyTwin = Callable[[BaseCheckpointer], Awaitable[BaseCheckpointer]]


@pytest.fixture
def read_only_twin() -> ReadOnlyTwin:
    """Opens the same store read-only: ``ro = await read_only_twin(checkpointer)``."""
    return _read_only_twin


async def _read_only_twin(cp: BaseCheckpointer) -> BaseCheckpointer:
    """The same store opened read-only (where the backend can: memory only flags it).

    The caller closes what it gets (closing the flagged memory store is a no-op).
    """
    if isinstance(cp, SqliteCheckpointer):
        twin = SqliteCheckpointer(cp.path, read_only=True)
        await twin.setup()
        return twin
    if isinstance(cp, MemoryCheckpointer):
        cp.read_only = True
        return cp
    if isinstance(cp, PostgresCheckpointer):
        pg = PostgresCheckpointer(cp._dsn, read_only=True)  # same database
        await pg.setup()
        return pg
    raise AssertionError(f"no read-only twin for {type(cp).__name__}")

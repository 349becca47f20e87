"""Fixtures for the Pilot tests: seeded checkpointers and a worker-waiting helper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled, WorkerFailed

from tests.tui.seed import Seeder, seed_refund_agent
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.tui.app import TimeloomApp

SIZE = (120, 36)
"""The terminal size every Pilot test runs at."""


async def wait_for_workers(pilot: Pilot[None], rounds: int = 3) -> None:
    """Let the app settle: run every worker to its end, then process the messages.

    Workers started by those messages (a page of threads, then the thread's history,
    then the selected checkpoint) get their turn in the next round. Failures are
    left to the app's error handling, which is what the tests look at.
    """
    app = pilot.app
    for _ in range(rounds):
        workers = [w for w in app.workers if w.group != "follow"]
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete(workers)
        await pilot.pause()


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 3.0
) -> bool:
    """Pause until ``condition()`` holds (or ``seconds`` pass); return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            return False
        await pilot.pause(0.05)
    return True


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor makes screens differ from one moment to the next."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
async def seeded() -> tuple[MemoryCheckpointer, Seeder]:
    """A memory checkpointer holding the refund-agent scenario."""
    checkpointer = MemoryCheckpointer()
    seeder = await seed_refund_agent(checkpointer)
    return checkpointer, seeder


@pytest.fixture
def app_of() -> Callable[[MemoryCheckpointer], TimeloomApp]:
    """Build the app the way the CLI does, for a checkpointer a test prepared."""

    def build(checkpointer: MemoryCheckpointer) -> TimeloomApp:
        return TimeloomApp(checkpointer)

    return build

"""Snapshot fixtures: seeded apps with fixed ids and times, and no blinking cursor."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from tests.tui.seed import seed_refund_agent
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.tui.app import TimeloomApp


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make two runs of the same screen differ."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def seeded_app() -> TimeloomApp:
    """The app on a memory checkpointer holding the refund-agent scenario.

    Every id and time comes from the seed's fixed clock, and the app shows times in
    UTC, so the pictures do not depend on when or where the tests run.
    """
    checkpointer = MemoryCheckpointer()
    asyncio.run(seed_refund_agent(checkpointer))
    return TimeloomApp(checkpointer)

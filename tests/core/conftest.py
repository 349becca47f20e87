"""Runtime tests run against the in-memory checkpointer; ``stored`` runs one on
each backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.checkpointers import BACKENDS, new_checkpointer
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.sync import run_sync


@pytest.fixture
def memory() -> MemoryCheckpointer:
    return MemoryCheckpointer()


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture(params=BACKENDS)
def stored(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointer]:
    """A fresh checkpointer of each backend, for semantics that storage could
    change (what is recorded on a checkpoint, what a replay reads back)."""
    cp = new_checkpointer(request, tmp_path)
    yield cp
    run_sync(cp.aclose())

"""Runtime tests run against the in-memory checkpointer."""

from __future__ import annotations

from collections import Counter

import pytest

from timeloom.backends.memory import MemoryCheckpointer


@pytest.fixture
def memory() -> MemoryCheckpointer:
    return MemoryCheckpointer()


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()

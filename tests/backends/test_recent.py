"""Reading a thread's head from the checkpoints a writer committed itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.conftest import CheckpointFactory
from timeloom.backends.layout import encode_values
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.recent import RecentCheckpoints
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import PendingWrite
from timeloom.core.checkpointer import BaseCheckpointer

Pair = tuple[BaseCheckpointer, BaseCheckpointer]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    """Two instances on one store, like two processes."""
    one: BaseCheckpointer
    two: BaseCheckpointer
    if request.param == "sqlite":
        one = SqliteCheckpointer(tmp_path / "c.db")
        two = SqliteCheckpointer(tmp_path / "c.db")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        one, two = PostgresCheckpointer(dsn), PostgresCheckpointer(dsn)
    async with one, two:
        yield one, two


def _messages(n: int) -> list[dict[str, Any]]:
    return [{"role": "user", "i": i, "text": f"message {i}"} for i in range(n)]


async def test_the_head_is_served_from_memory_without_decoding(
    pair: Pair, make: CheckpointFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, _ = pair
    cp = make.make("t", {"m": _messages(40), "n": 1})
    await writer.put(cp, expected_head=None)
    calls = 0
    loads = writer.serde.loads  # type: ignore[attr-defined]

    def counting(data: bytes) -> Any:
        nonlocal calls
        calls += 1
        return loads(data)

    monkeypatch.setattr(writer.serde, "loads", counting)  # type: ignore[attr-defined]
    got = await writer.get("t")
    assert got is not None
    assert got.id == cp.id
    assert got.values == cp.values
    assert got.writes == cp.writes
    assert calls == 0  # nothing was decoded
    got.values["n"] = 2  # type: ignore[index]  # each caller gets its own dict
    again = await writer.get("t")
    assert again is not None
    assert again.values["n"] == 1


async def test_pending_writes_are_current(pair: Pair, make: CheckpointFactory) -> None:
    writer, other = pair
    cp = make.make("t", {"m": _messages(3)})
    await writer.put(cp, expected_head=None)
    assert (await writer.get("t")).pending_writes == ()  # type: ignore[union-attr]
    await other.put_pending("t", cp.id, [PendingWrite("node", "error", {"e": "x"})])
    got = await writer.get("t")
    assert got is not None
    assert got.pending_writes == (PendingWrite("node", "error", {"e": "x"}),)


async def test_a_head_moved_by_another_writer_is_read_from_storage(
    pair: Pair, make: CheckpointFactory
) -> None:
    writer, other = pair
    first = make.make("t", {"m": _messages(3)})
    await writer.put(first, expected_head=None)
    second = make.make("t", {"m": _messages(4)})
    await other.put(second, expected_head=first.id)
    got = await writer.get("t")
    assert got is not None
    assert got.id == second.id
    assert got.values == second.values
    await other.adelete_thread("t")
    assert await writer.get("t") is None


async def test_values_mutated_in_place_after_the_commit_are_not_served(
    pair: Pair, make: CheckpointFactory
) -> None:
    writer, _ = pair
    messages = _messages(20)
    cp = make.make("t", {"m": messages, "d": {"k": 1}})
    await writer.put(cp, expected_head=None)
    messages[5]["text"] = "edited in place"  # a node mutating the state it was given
    got = await writer.get("t")
    assert got is not None
    assert got.values["m"][5]["text"] == "message 5"
    messages.append({"role": "user", "i": 20, "text": "appended in place"})
    got = await writer.get("t")
    assert got is not None
    assert len(got.values["m"]) == 20
    cp.values["d"]["k"] = 2
    got = await writer.get("t")
    assert got is not None
    assert got.values["d"] == {"k": 1}


def test_the_cache_is_bounded_and_checks_the_thread() -> None:
    serde = Serializer()
    recent = RecentCheckpoints(size=2)
    make = CheckpointFactory()
    made = [make.make(f"t{i}", {"n": i}) for i in range(3)]
    for cp in made:
        recent.remember(cp, encode_values(cp.values, serde).state)
    assert len(recent) == 2
    assert not recent.has(made[0].id)
    assert recent.lookup(made[2].id, "t1", serde, ()) is None
    found = recent.lookup(made[1].id, "t1", serde, ())
    assert found is not None
    assert found.values == {"n": 1}


def test_latest_is_the_last_commit_of_a_thread_while_unchanged() -> None:
    serde = Serializer()
    recent = RecentCheckpoints(size=2)
    make = CheckpointFactory()
    first = make.make("t", {"messages": _messages(3)})
    second = make.make("t", {"messages": _messages(4)})
    for cp in (first, second):
        recent.remember(cp, encode_values(cp.values, serde).state)
    got = recent.latest("t", serde)
    assert got is not None
    assert got.id == second.id
    assert recent.latest("other", serde) is None
    second.values["messages"][0]["text"] = "changed in place"
    assert recent.latest("t", serde) is None, "values changed since: not served"
    third = make.make("t", {"messages": _messages(5)})
    recent.remember(third, encode_values(third.values, serde).state)
    for name in ("a", "b"):  # pushes "t" out of a cache of two
        cp = make.make(name, {"messages": []})
        recent.remember(cp, encode_values(cp.values, serde).state)
    assert recent.latest("t", serde) is None
    recent.clear()
    assert recent.latest("a", serde) is None

"""Deleting a thread takes its subgraphs' timelines (``"thread|..."``) with it, all
or nothing: a delete that fails midway leaves the thread and every timeline below
it as they were, with their values."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.backends.conftest import CheckpointFactory
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import PendingWrite
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError

SHARED = ["m" * 300] * 40  # stored in blobs the timelines share
DOOMED = ("t", "t|sub:1", "t|sub:1|deep:2")
KEPT = ("tx", "tx|sub:1", "other")  # "tx" starts with "t" but is not below it


async def seed(cp: BaseCheckpointer, make: CheckpointFactory) -> None:
    """Two checkpoints in each timeline, the subgraphs' forked from the one above,
    and a pending write on each head."""
    for timeline in (*DOOMED, *KEPT):
        above = make.last.get(timeline.rpartition("|")[0]) if "|" in timeline else None
        first = make.make(timeline, {"messages": SHARED}, parent=above)
        await cp.put(first, expected_head=None)
        head = make.make(timeline, {"messages": [*SHARED, timeline]})
        await cp.put(head, expected_head=first.id)
        await cp.put_pending(timeline, head.id, [PendingWrite("n", "update", {"x": 1})])


async def contents(cp: BaseCheckpointer) -> dict[str, list[object]]:
    """What each seeded timeline holds: its checkpoints' values and pending writes."""
    out: dict[str, list[object]] = {}
    for timeline in (*DOOMED, *KEPT):
        ids = [m.id async for m in cp.summaries(timeline)]
        checkpoints = [await cp.get(timeline, cid) for cid in ids]
        out[timeline] = [(c.values, c.pending_writes) for c in checkpoints if c]
    return out


async def test_delete_thread_takes_every_timeline_below_it(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    await seed(checkpointer, make)
    before = await contents(checkpointer)
    assert [i.thread_id for i in await checkpointer.subgraphs("t")] != []

    await checkpointer.adelete_thread("t")

    after = await contents(checkpointer)
    assert {t: after[t] for t in DOOMED} == {t: [] for t in DOOMED}
    assert {t: after[t] for t in KEPT} == {t: before[t] for t in KEPT}
    assert [await checkpointer.get_thread(t) for t in DOOMED] == [None] * 3
    assert await checkpointer.subgraphs("t") == []
    assert [i.thread_id for i in await checkpointer.subgraphs("tx")] == ["tx|sub:1"]


Refuse = Callable[[], Awaitable[None]]
"""Makes the store refuse (a trigger raising) to delete any subgraph timeline."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def refusing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[BaseCheckpointer, Refuse]]:
    """A SQL checkpointer, and how to make its own database fail a delete midway:
    after the thread's rows, at its first subgraph timeline's."""
    cp: BaseCheckpointer
    refuse: Refuse
    if request.param == "sqlite":
        path = tmp_path / "checkpoints.db"
        cp = SqliteCheckpointer(path)

        async def refuse() -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(
                    "CREATE TRIGGER refuse BEFORE DELETE ON threads "
                    "WHEN instr(old.thread_id, '|') > 0 "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        cp = PostgresCheckpointer(dsn)

        async def refuse() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF strpos(OLD.thread_id, '|') > 0 THEN "
                    "RAISE EXCEPTION 'refused'; END IF; RETURN OLD; END $$; "
                    "CREATE TRIGGER refuse BEFORE DELETE ON timeloom_threads "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            finally:
                await conn.close()

    async with cp:
        yield cp, refuse


async def test_a_delete_that_fails_midway_deletes_nothing(
    refusing: tuple[BaseCheckpointer, Refuse], make: CheckpointFactory
) -> None:
    cp, refuse = refusing
    await seed(cp, make)
    before = await contents(cp)
    await refuse()

    with pytest.raises(TimeloomError):
        await cp.adelete_thread("t")

    assert await contents(cp) == before
    assert {i.thread_id for i in await cp.subgraphs("t")} == set(DOOMED[1:])

"""LangGraph databases altered by hand: hostile or broken rows never crash the
reader or the commands; the value or row concerned reads as unreadable, the rest
reads as usual."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.langgraph import lgdb, tamper
from timeloom.backends.inert import Inert
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.langgraph.decode import MAX_EXT_DEPTH, decode_typed
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import ReadOnlyError


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A small LangGraph database (thread ``small``) in SQLite, then in Postgres."""
    if request.param == "sqlite":
        return tamper.small_database("sqlite", tmp_path)
    dsn: str = request.getfixturevalue("postgres_dsn")
    return tamper.small_database("postgres", dsn)


async def _head(url: str) -> Checkpoint:
    async with open_langgraph(url) as cp:
        head = await cp.get(tamper.THREAD)
    assert head is not None
    return head


def timeloom(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``timeloom`` command in a fresh process (a crash cannot hide)."""
    return subprocess.run(
        [sys.executable, "-m", "timeloom.tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deeply_nested_ext_values_read_as_inert() -> None:
    value = decode_typed("msgpack", tamper.deep_ext(5000))
    while isinstance(value, Inert) and value.type_name == "m.n":
        value = value["value"]
    assert isinstance(value, Inert)
    assert value.type_name == "langgraph.too_deep"
    # Shallow nesting still decodes whole.
    shallow = decode_typed("msgpack", tamper.deep_ext(MAX_EXT_DEPTH - 2))
    assert "too_deep" not in repr(shallow)


def test_a_crafted_deep_blob_crashes_nothing(database: str) -> None:
    tamper.set_channel(database, "data", tamper.deep_ext(300))
    commands: list[tuple[str, ...]] = [
        ("show", database, tamper.THREAD),
        ("show", database, tamper.THREAD, "--json"),
        ("export", database, tamper.THREAD),
        ("diff", database, tamper.THREAD, tamper.THREAD),
    ]
    for command in commands:
        done = timeloom(*command)
        assert done.returncode == 0, (command, done.returncode, done.stderr[-2000:])
        if command[0] != "diff":  # (the diff of a checkpoint with itself is empty)
            assert "langgraph.too_deep" in done.stdout, command
            assert '"c"' in done.stdout, command  # `last` still reads
    head = asyncio.run(_head(database))
    assert head.values["last"] == "c"
    assert "langgraph.too_deep" in repr(head.values["data"])


def test_the_reader_refuses_writes_whatever_read_only_says(database: str) -> None:
    async def attempt() -> None:
        reader = open_langgraph(database)
        with pytest.raises(ReadOnlyError):
            reader.read_only = False
        assert reader.read_only
        async with reader as cp:
            head = await cp.get(tamper.THREAD)
            assert head is not None
            for write in (
                cp.put(head, expected_head=head.id),
                cp.put_pending(head.thread_id, head.id, head.pending_writes),
                cp.adelete_thread(head.thread_id),
                cp.prune(head.thread_id, keep_last=1),
            ):
                with pytest.raises(ReadOnlyError, match="LangGraph database"):
                    await write

    asyncio.run(attempt())


def test_follow_reads_a_burst_longer_than_a_page(database: str) -> None:
    """More commits inside the watch's look-back than one page holds are all
    followed (the reader pages on from the last id, not from the look-back)."""

    async def follow() -> list[str]:
        async with open_langgraph(database) as cp:
            cp._watch_page = 4  # a burst of 15 is then four pages
            seen: list[str] = []

            async def collect() -> None:
                async for meta in cp.watch(tamper.THREAD, poll_interval=0.05):
                    seen.append(meta.id)
                    if len(seen) == 15:
                        return

            task = asyncio.create_task(collect())
            await asyncio.sleep(0.3)  # the watch has started
            await asyncio.to_thread(_write_turns, database, 3)  # 15 checkpoints
            await asyncio.wait_for(task, timeout=20)
            return seen

    seen = asyncio.run(follow())
    assert len(seen) == len(set(seen)) == 15
    assert seen == sorted(seen)


def _write_turns(url: str, turns: int) -> None:
    if url.startswith("postgresql://"):
        with lgdb.postgres_saver(url) as postgres:
            lgdb.write_small(postgres, turns=turns)
    else:
        with lgdb.sqlite_saver(url) as sqlite:
            lgdb.write_small(sqlite, turns=turns)

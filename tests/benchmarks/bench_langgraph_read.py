"""Reading real LangGraph databases: Timeloom's reader vs LangGraph itself.

Run: ``python -m tests.benchmarks.bench_langgraph_read [--turns 200] [--threads 2000]``.

1. History: one thread of ``--turns`` turns of a 3-node graph (input + 4 loop
   checkpoints per turn: 1,000 checkpoints for 200 turns), written by LangGraph's
   ``SqliteSaver``, three times: a small state that does not grow ("small"); a list
   of plain dicts growing by one ~200-byte dict per node ("dicts"); and a chat whose
   message list grows by 4 LangChain messages a turn ("chat"). LangGraph re-stores
   growing lists whole at every checkpoint, so those files grow quadratically. Read
   the whole history *with values* with LangGraph's own ``get_state_history`` and
   with the reader's ``history()`` (cold: its payload cache cleared), in the same
   run, best of ``--repeat``. Also times the reader's value-free ``list()``.
2. Threads: ``--threads`` one-turn threads; time a page of ``threads()``, a deep
   page, and ``count_threads()``.

With ``--postgres DSN`` (an empty scratch database) the histories are measured on
LangGraph's ``PostgresSaver`` too. Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from tests.langgraph import lgdb
from timeloom.backends.langgraph import (
    LANGGRAPH_PG_TABLES,
    LangGraphReader,
    open_langgraph,
)
from timeloom.backends.langgraph.decode import clear_cache


def _best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


async def _abest(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _emit(**fields: Any) -> None:
    print(json.dumps(fields))


async def bench_history(
    folder: Path, turns: int, repeat: int, kind: str, dsn: str | None = None
) -> None:
    path = folder / f"history-{kind}.db"
    thread = "thread-00000" if kind == "chat" else "small"
    saving = lgdb.postgres_saver(dsn) if dsn else lgdb.sqlite_saver(path)
    with saving as saver:
        if kind == "chat":
            lgdb.write_chats(saver, threads=1, turns=turns)
            graph = lgdb.chat_graph(saver)
        else:
            lgdb.write_small(saver, turns=turns, grow=kind == "dicts")
            graph = lgdb.small_graph(saver, grow=kind == "dicts")
        config: Any = {"configurable": {"thread_id": thread}}
        lg_time, snapshots = _best(
            repeat, lambda: list(graph.get_state_history(config))
        )
    size = path.stat().st_size if not dsn else None
    reader: LangGraphReader = open_langgraph(dsn or str(path))
    async with reader:

        async def cold_history() -> list[Any]:
            clear_cache()  # measure a cold read: no payload decoded before
            return await reader.history(thread)

        ours, history = await _abest(repeat, cold_history)

        async def metas() -> list[Any]:
            clear_cache()
            return [m async for m in reader.summaries(thread)]

        list_time, summaries = await _abest(repeat, metas)
    assert len(history) == len(snapshots) == len(summaries)
    assert [c.id for c in history] == [
        s.config["configurable"]["checkpoint_id"] for s in snapshots
    ]
    _emit(
        bench=f"history_with_values_{kind}",
        database="postgres" if dsn else "sqlite",
        checkpoints=len(history),
        db_bytes=size,
        langgraph_get_state_history_s=round(lg_time, 4),
        timeloom_history_s=round(ours, 4),
        speedup=round(lg_time / ours, 2),
        timeloom_list_without_values_s=round(list_time, 4),
    )


async def bench_threads(folder: Path, threads: int, repeat: int) -> None:
    path = folder / "threads.db"
    start = time.perf_counter()
    with lgdb.sqlite_saver(path) as saver:
        lgdb.write_chats(saver, threads=threads, turns=1)
    build = time.perf_counter() - start
    reader: LangGraphReader = open_langgraph(str(path))
    async with reader:
        first, page = await _abest(repeat, lambda: reader.threads(limit=100))
        deep, last = await _abest(
            repeat, lambda: reader.threads(limit=100, offset=threads - 100)
        )
        count_time, count = await _abest(repeat, reader.count_threads)
        search, found = await _abest(
            repeat, lambda: reader.threads(search="thread-0001", limit=100)
        )
    assert count == threads
    assert len(page) == len(last) == 100
    _emit(
        bench="threads",
        threads=count,
        build_s=round(build, 2),
        first_page_100_s=round(first, 4),
        last_page_100_s=round(deep, 4),
        count_threads_s=round(count_time, 4),
        prefix_search_s=round(search, 4),
        prefix_matches=len(found),
    )


async def _reset(dsn: str) -> None:
    """Drop LangGraph's tables from the benchmark database."""
    conn = await asyncpg.connect(dsn)
    try:
        for table in LANGGRAPH_PG_TABLES:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        metavar="DSN",
        help="also measure histories on this EMPTY Postgres database (its LangGraph "
        "tables are dropped between runs)",
    )
    parser.add_argument(
        "--history",
        nargs="*",
        default=["small", "dicts", "chat"],
        choices=["small", "dicts", "chat"],
        help="which history states to measure",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.turns:
            for kind in args.history:
                await bench_history(Path(tmp), args.turns, args.repeat, kind)
                if args.postgres:
                    await _reset(args.postgres)
                    await bench_history(
                        Path(tmp), args.turns, args.repeat, kind, args.postgres
                    )
        if args.threads:
            await bench_threads(Path(tmp), args.threads, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())

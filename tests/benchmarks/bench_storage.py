"""Storage growth: bytes per checkpoint as a chat grows, Timeloom vs LangGraph.

Run: ``python tests/benchmarks/bench_storage.py [--turns 200] [--postgres [URL]]``
(``--postgres`` alone starts a throwaway cluster from the local binaries).

The workload is a 3-node linear graph over ``{messages: Annotated[list,
operator.add], step: int, data: dict}``; each node appends a ~200-byte message and
one turn is one ``invoke`` with one new ~200-byte user message (4 checkpoints per
turn: the input and one per node). After 10, 50 and 200 turns it prints the database
size (a VACUUMed copy: ``page_count * page_size``) divided by the number of
checkpoints, for Timeloom's SQLite checkpointer and, when LangGraph is installed,
for LangGraph's ``SqliteSaver`` running the same graph. Then it times reading the
full state of random checkpoints of the longest thread.

Targets: Timeloom's bytes per checkpoint at 200 turns within 1.5x of those at 10
turns (linear growth), and at least 20x below LangGraph's at 200 turns.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core import END, START, StateGraph

MARKS = (10, 50, 200)
TEXT = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 4  # ~220 bytes


class State(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]
    step: int
    data: dict[str, Any]


def node(name: str) -> Callable[[State], dict[str, Any]]:
    def run(state: State) -> dict[str, Any]:
        step = state["step"] + 1
        return {
            "messages": [{"role": name, "content": f"{step}: {TEXT}"}],
            "step": step,
            "data": {"last": name, "count": len(state["messages"])},
        }

    return run


def build(graph_cls: Any) -> Any:
    graph = graph_cls(State)
    for name in ("plan", "act", "answer"):
        graph.add_node(name, node(name))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "act")
    graph.add_edge("act", "answer")
    graph.add_edge("answer", END)
    return graph


def turn_input(turn: int) -> dict[str, Any]:
    update: dict[str, Any] = {
        "messages": [{"role": "user", "content": f"turn {turn}: {TEXT}"}]
    }
    if turn == 0:
        update.update(step=0, data={})
    return update


def vacuumed_size(path: Path) -> int:
    """Bytes of a VACUUMed copy of the database (WAL content included)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        src = sqlite3.connect(path)
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("VACUUM")
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        size = dst.execute("PRAGMA page_size").fetchone()[0]
        dst.close()
        return int(pages * size)


def count_rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def sqlite_measure(path: Path) -> Callable[[], tuple[int, int]]:
    return lambda: (count_rows(path, "checkpoints"), vacuumed_size(path))


def postgres_measure(dsn: str) -> Callable[[], tuple[int, int]]:
    from tests.benchmarks.pg_cluster import database_bytes
    from timeloom.backends.postgres import PostgresCheckpointer

    async def count() -> int:
        async with PostgresCheckpointer(dsn, read_only=True) as store:
            info = await store.get_thread("chat")
            return info.checkpoint_count if info else 0

    return lambda: (asyncio.run(count()), database_bytes(dsn, vacuum_full=True))


def grow(
    name: str, app: Any, measure: Callable[[], tuple[int, int]], turns: int
) -> dict[int, tuple[int, int]]:
    """Run ``turns`` turns; return ``{turns: (checkpoints, bytes)}`` at each mark."""
    config = {"configurable": {"thread_id": "chat"}, "recursion_limit": 100}
    results: dict[int, tuple[int, int]] = {}
    started = time.perf_counter()
    for turn in range(turns):
        app.invoke(turn_input(turn), config)
        done = turn + 1
        if done in MARKS or done == turns:
            paused = time.perf_counter()
            results[done] = measure()
            started += time.perf_counter() - paused  # time the runs, not the sizing
    elapsed = time.perf_counter() - started
    per_step = elapsed / max(1, results[turns][0]) * 1000
    print(f"{name}: {turns} turns in {elapsed:.2f} s ({per_step:.2f} ms/checkpoint)")
    return results


def report(name: str, results: dict[int, tuple[int, int]]) -> None:
    for turns, (checkpoints, size) in sorted(results.items()):
        print(
            f"  {name:<9} {turns:>4} turns  {checkpoints:>5} checkpoints  "
            f"{size / 1024:>9.1f} KiB  {size / checkpoints / 1024:>7.2f} KiB/checkpoint"
        )


async def time_reads(path: Path, samples: int) -> list[float]:
    async with SqliteCheckpointer(path, read_only=True) as store:
        ids = [m.id async for m in store.summaries("chat")]
        rng = random.Random(7)
        times = []
        for checkpoint_id in rng.sample(ids, min(samples, len(ids))):
            started = time.perf_counter()
            cp = await store.get(None, checkpoint_id)
            times.append((time.perf_counter() - started) * 1000)
            assert cp is not None
            assert cp.values["messages"]
        return times


def bench_postgres(url: str | None, turns: int) -> dict[int, tuple[int, int]]:
    """The same workload on the Postgres checkpointer, in a database of its own."""
    # Run as a script, the repository root is not on the path for `tests.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.benchmarks.pg_cluster import create_database, postgres_server
    from timeloom.backends.postgres import PostgresCheckpointer

    with postgres_server(url) as server:
        dsn = create_database(server, "storage")
        store = PostgresCheckpointer(dsn)
        app = build(StateGraph).compile(checkpointer=store)
        try:
            return grow("postgres", app, postgres_measure(dsn), turns)
        finally:
            asyncio.run(store.aclose())  # before the throwaway server stops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=MARKS[-1])
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="",
        default=None,
        metavar="URL",
        help="also measure the Postgres checkpointer (on URL, or a throwaway cluster)",
    )
    args = parser.parse_args()
    pg = (
        bench_postgres(args.postgres or None, args.turns)
        if args.postgres is not None
        else None
    )

    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "timeloom.db"
        app = build(StateGraph).compile(checkpointer=SqliteCheckpointer(ours))
        timeloom = grow("timeloom", app, sqlite_measure(ours), args.turns)
        theirs = None
        try:
            from langgraph.checkpoint.sqlite import SqliteSaver
            from langgraph.graph import StateGraph as LangGraphStateGraph
        except ImportError:
            print("langgraph not installed: no comparison")
        else:
            lg_path = Path(tmp) / "langgraph.db"
            conn = sqlite3.connect(lg_path, check_same_thread=False)
            lg_app = build(LangGraphStateGraph).compile(checkpointer=SqliteSaver(conn))
            theirs = grow("langgraph", lg_app, sqlite_measure(lg_path), args.turns)
            conn.close()

        print("\nStorage (VACUUMed file size / checkpoints):")
        report("timeloom", timeloom)
        if pg:
            report("postgres", pg)
        if theirs:
            report("langgraph", theirs)
        first, last = min(timeloom), max(timeloom)
        per = {t: size / n for t, (n, size) in timeloom.items()}
        print(
            f"\ntimeloom growth: {per[last] / per[first]:.2f}x bytes/checkpoint "
            f"from {first} to {last} turns (target <= 1.5x)"
        )
        if theirs:
            theirs_per = theirs[last][1] / theirs[last][0]
            print(
                f"langgraph / timeloom at {last} turns: {theirs_per / per[last]:.1f}x "
                "(target >= 20x)"
            )

        times = asyncio.run(time_reads(ours, args.reads))
        times.sort()
        print(
            f"\nread the full state of {len(times)} random checkpoints of the "
            f"{last}-turn thread: median {statistics.median(times):.2f} ms, "
            f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms, max {times[-1]:.2f} ms"
        )


if __name__ == "__main__":
    main()

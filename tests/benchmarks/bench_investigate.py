"""Benchmark: finding the bad step on big databases (run explicitly; prints numbers).

    python -m tests.benchmarks.bench_investigate                 # builds both databases
    python -m tests.benchmarks.bench_investigate --db big.db --lg-db lg.db   # reuse/keep

The Timeloom database is the TUI benchmark's (:mod:`tests.benchmarks.bench_tui`):
100,000 threads of 10 checkpoints and one thread of 10,000 (``long-thread``, whose
``counter`` is the step). The LangGraph one is written by real LangGraph
(``SqliteSaver``): 2,000 one-turn chats and one chat of 200 turns (1,000
checkpoints whose message list grows to 800 messages, re-stored whole at each).

Each measurement runs in a fresh process, so its peak RSS is its own:

- search within the long thread (every checkpoint queried);
- provenance of a key that changes at every step (10,000 changes);
- bisect for the first checkpoint where ``counter >= 7777``;
- ``du`` of the whole database, and of the long thread.

Targets (issue 16): search < 1 s, provenance < 0.5 s, bisect < 0.2 s, database
``du`` < 5 s (wall-clock seconds; ``cpu_seconds`` is the process's CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LONG_THREAD = "long-thread"
LG_LONG = "long-chat"
TARGETS = {"find": 1.0, "blame": 0.5, "bisect": 0.2, "du_database": 5.0}


def build_langgraph(path: Path, threads: int, turns: int) -> float:
    """Write the LangGraph database with real LangGraph; return the seconds taken."""
    from langchain_core.messages import HumanMessage

    from tests.langgraph import lgdb

    started = time.perf_counter()
    with lgdb.sqlite_saver(path) as saver:
        lgdb.write_chats(saver, threads=threads, turns=1)
        chat = lgdb.chat_graph(saver)
        config = {"configurable": {"thread_id": LG_LONG}}
        for turn in range(turns):
            chat.invoke({"messages": [HumanMessage(content=f"turn {turn}")]}, config)
    return time.perf_counter() - started


async def _measure(url: str, what: str, langgraph: bool) -> dict[str, Any]:
    from timeloom.backends.urls import open_checkpointer
    from timeloom.tui.investigate.bisect import bisect
    from timeloom.tui.investigate.blame import blame
    from timeloom.tui.investigate.du import database_usage, thread_usage
    from timeloom.tui.investigate.find import find_in_thread
    from timeloom.tui.investigate.query import compile_query
    from timeloom.tui.investigate.timeline import ThreadStates, lineage

    thread = LG_LONG if langgraph else LONG_THREAD
    cp = open_checkpointer(url, read_only=True)
    await cp.setup()
    result: dict[str, Any] = {}

    async def timed(run: Callable[[], Awaitable[Any]]) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        value = await run()
        result["seconds"] = time.perf_counter() - started
        # CPU time of the process (the SQLite worker thread included): on shared
        # cores it says what the work costs when the wall clock includes waiting.
        result["cpu_seconds"] = round(time.process_time() - cpu, 3)
        return value

    try:
        if what == "find":
            query = compile_query(
                "values.messages[?contains(content, 'turn 150')]"
                if langgraph
                else "values.counter == `7777`"
            )

            async def find() -> list[Any]:
                states = await ThreadStates.load(cp, thread)
                result["checkpoints"] = len(states.metas)
                result["read_mode"] = states.mode
                return [m async for m in find_in_thread(states, query)]

            result["matches"] = len(await timed(find))
        elif what == "blame":
            key = ("messages",) if langgraph else ("counter",)

            async def provenance() -> list[Any]:
                return await blame(await lineage(cp, thread), key)

            result["changes"] = len(await timed(provenance))
        elif what == "bisect":
            query = compile_query(
                "length(values.messages) >= `600`"
                if langgraph
                else "values.counter >= `7777`"
            )

            async def search() -> Any:
                states = await ThreadStates.load(cp, thread, summaries=False)
                return await bisect(states, query)

            found = await timed(search)
            result["mode"] = found.mode
            result["reads"] = found.reads
            result["step"] = found.first.step if found.first else None
        elif what == "du_database":
            usage = await timed(lambda: database_usage(cp))
            result["threads"] = (
                usage.totals.threads if usage.totals else len(usage.threads)
            )
        elif what == "du_thread":
            usage = await timed(lambda: thread_usage(cp, thread))
            result["stored_bytes"] = usage.stored
            result["timeloom_estimate"] = usage.timeloom_estimate
    finally:
        await cp.aclose()
    # ru_maxrss is in KiB on Linux.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    """Build what is missing, then measure each operation in a fresh process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="Timeloom database to reuse or keep")
    parser.add_argument("--lg-db", type=Path, help="LangGraph database to reuse/keep")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--long", type=int, default=10_000)
    parser.add_argument("--lg-threads", type=int, default=2_000)
    parser.add_argument("--lg-turns", type=int, default=200)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--langgraph", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        url = str(args.lg_db if args.langgraph else args.db)
        print(json.dumps(asyncio.run(_measure(url, args.measure, args.langgraph))))
        return

    scratch = tempfile.TemporaryDirectory()
    db = args.db or Path(scratch.name) / "timeloom.db"
    lg_db = args.lg_db or Path(scratch.name) / "langgraph.db"
    if not db.exists():
        from tests.benchmarks.bench_tui import build

        print(f"building {db} ...", flush=True)
        seconds = asyncio.run(build(db, args.threads, 10, args.long))
        print(f"  built in {seconds:.0f} s", flush=True)
    if not lg_db.exists():
        print(f"building {lg_db} with LangGraph ...", flush=True)
        seconds = build_langgraph(lg_db, args.lg_threads, args.lg_turns)
        print(f"  built in {seconds:.0f} s", flush=True)

    for name, langgraph in (("Timeloom", False), ("LangGraph", True)):
        path = lg_db if langgraph else db
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        print(f"\n{name}: {path} ({size / 2**20:,.0f} MB with its WAL)")
        for what in ("find", "blame", "bisect", "du_thread", "du_database"):
            command = [
                sys.executable,
                "-m",
                "tests.benchmarks.bench_investigate",
                "--measure",
                what,
                "--db",
                str(db),
                "--lg-db",
                str(lg_db),
            ]
            if langgraph:
                command.append("--langgraph")
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            found = json.loads(out.stdout.strip().splitlines()[-1])
            seconds = found.pop("seconds")
            target = TARGETS.get(what)
            mark = ""
            if target is not None:
                mark = "  MET" if seconds < target else f"  MISSED (< {target} s)"
            details = ", ".join(f"{k}={v}" for k, v in found.items())
            print(f"  {what:<12} {seconds:8.3f} s{mark}  ({details})", flush=True)
    scratch.cleanup()


if __name__ == "__main__":
    main()

"""The debugger's own operations on a LangGraph database, against LangGraph itself.

Run: ``python -m tests.benchmarks.bench_langgraph_debug [--threads 300] [--turns 10]
[--big-turns 171]``. A one-off: it builds the database, measures once (warm page
cache), prints one JSON line per measurement.

The database is written by LangGraph's own ``SqliteSaver`` with the 3-node chat graph
of ``tests.langgraph.lgdb`` (LangChain messages, 5 checkpoints a turn):
``--threads`` chats of ``--turns`` turns, and one large thread of ``--big-turns``
turns (171 turns = 855 checkpoints, the size of the largest thread in the issue's
3.2 GB database; the whole file here is far smaller, so scans cost less than there).
Measured, in the same run:

- first screen: open, count the threads and read the first page (``timeloom open``);
- open the largest thread: its info, the first page of summaries and the head's
  state (the tree and detail pane), against LangGraph's ``get_state`` of the head;
- show a checkpoint in the middle of it, against LangGraph's ``get_state`` of it;
- diff two checkpoints 50 steps apart, against two ``get_state`` calls;
- ``threads --json`` and ``export --json`` of the largest thread in a subprocess:
  wall time and peak memory (max RSS), against LangGraph's ``get_state_history`` of
  that thread in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.tui.ops.diffing import diff_values

BIG = "big-thread"

_LANGGRAPH_HISTORY = """
import sys
from tests.langgraph import lgdb
with lgdb.sqlite_saver(sys.argv[1]) as saver:
    graph = lgdb.chat_graph(saver)
    n = sum(1 for _ in graph.get_state_history({"configurable": {"thread_id": sys.argv[2]}}))
print(n)
"""


def _emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def build(path: Path, threads: int, turns: int, big_turns: int) -> None:
    with lgdb.sqlite_saver(path) as saver:
        lgdb.write_chats(saver, threads=threads, turns=turns)
        chat = lgdb.chat_graph(saver)
        config: Any = {"configurable": {"thread_id": BIG}}
        for turn in range(big_turns):
            chat.invoke({"messages": [("user", f"turn {turn} " + "x" * 80)]}, config)


def _child(argv: list[str]) -> tuple[float, float]:
    """Run a child process; return (seconds, its own peak RSS in MB)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return elapsed, usage.ru_maxrss / 1024  # KB on Linux


async def measure(path: Path) -> None:
    started = time.perf_counter()
    reader = open_langgraph(str(path))
    await reader.setup()
    total = await reader.count_threads()
    await reader.threads(limit=100)
    first_screen = time.perf_counter() - started

    start = time.perf_counter()
    info = await reader.get_thread(BIG)
    assert info is not None
    metas = [m async for m in reader.summaries(BIG, limit=100)]
    head = await reader.get(BIG, info.head_id)
    open_big = time.perf_counter() - start
    assert head is not None
    ids = [m.id async for m in reader.summaries(BIG)]

    with lgdb.sqlite_saver(path) as saver:
        chat = lgdb.chat_graph(saver)
        base: Any = {"configurable": {"thread_id": BIG}}
        start = time.perf_counter()
        chat.get_state(base)
        lg_head = time.perf_counter() - start
        middle = ids[len(ids) // 2]
        far = ids[len(ids) // 2 + 50]
        start = time.perf_counter()
        chat.get_state({"configurable": {"thread_id": BIG, "checkpoint_id": middle}})
        lg_show = time.perf_counter() - start
        start = time.perf_counter()
        chat.get_state({"configurable": {"thread_id": BIG, "checkpoint_id": far}})
        chat.get_state({"configurable": {"thread_id": BIG, "checkpoint_id": middle}})
        lg_two = time.perf_counter() - start

    start = time.perf_counter()
    shown = await reader.get(BIG, middle)
    show = time.perf_counter() - start
    assert shown is not None
    start = time.perf_counter()
    a, b = await reader.get(BIG, far), await reader.get(BIG, middle)
    assert a is not None
    assert b is not None
    diff = diff_values(a.values, b.values)
    diff_time = time.perf_counter() - start
    await reader.aclose()
    _emit(bench="first_screen", threads=total, timeloom_s=round(first_screen, 4))
    _emit(
        bench="open_largest_thread",
        checkpoints=len(ids),
        summaries_shown=len(metas),
        timeloom_s=round(open_big, 4),
        langgraph_get_state_head_s=round(lg_head, 4),
    )
    _emit(
        bench="show_checkpoint",
        timeloom_s=round(show, 4),
        langgraph_get_state_s=round(lg_show, 4),
    )
    _emit(
        bench="diff_50_steps_apart",
        changes=len(diff.changes),
        timeloom_s=round(diff_time, 4),
        langgraph_two_get_state_s=round(lg_two, 4),
    )

    cli = [sys.executable, "-m", "timeloom.tui.cli"]
    threads_s, threads_mb = _child([*cli, "threads", str(path), "--json"])
    _emit(bench="threads_json", seconds=round(threads_s, 3), peak_mb=round(threads_mb))
    export_s, export_mb = _child([*cli, "export", str(path), BIG, "--json"])
    lg_s, lg_mb = _child([sys.executable, "-c", _LANGGRAPH_HISTORY, str(path), BIG])
    _emit(
        bench="export_largest_thread",
        timeloom_seconds=round(export_s, 3),
        timeloom_peak_mb=round(export_mb),
        langgraph_get_state_history_seconds=round(lg_s, 3),
        langgraph_peak_mb=round(lg_mb),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=300)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--big-turns", type=int, default=171)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "langgraph.db"
        start = time.perf_counter()
        build(path, args.threads, args.turns, args.big_turns)
        _emit(
            bench="build",
            seconds=round(time.perf_counter() - start, 1),
            db_mb=round(path.stat().st_size / 1e6, 1),
        )
        asyncio.run(measure(path))


if __name__ == "__main__":
    main()

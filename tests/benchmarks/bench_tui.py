"""Benchmark: the TUI on a big SQLite database (run explicitly; prints numbers).

    python -m tests.benchmarks.bench_tui                      # 100,000 threads, 1,000,000 checkpoints
    python -m tests.benchmarks.bench_tui --threads 10000      # a smaller run
    python -m tests.benchmarks.bench_tui --db big.db          # reuse (or keep) a database

Builds the database with ``put()`` (the SQLite checkpointer has no bulk insert), one
transaction per checkpoint as the runtime writes them, plus one thread of
``--long`` checkpoints. Then, in a fresh process so that building does not count
towards memory, runs the real app headless (Pilot, 120x36, read-only) and measures:

- first screen: from starting the app to the threads list, the newest thread's tree
  and its selected checkpoint's state all shown;
- big thread: from asking for the long thread to its tree and head state shown;
- one cursor move in the big thread, key to the new checkpoint's state shown
  (median and worst of 20);
- 1,000 cursor moves queued at once (a held-down key), until the last one's state
  is shown;
- the threads list jumped to its last row (a page deep in 100,000 threads);
- peak RSS of the measuring process.

Targets: first screen < 1 s, big thread < 1 s, peak RSS < 300 MB.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.ids import new_checkpoint_id

LONG_THREAD = "long-thread"


async def build(path: Path, threads: int, per_thread: int, long: int) -> float:
    """Write the database; return the seconds it took."""
    started = time.perf_counter()
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    async with SqliteCheckpointer(path, synchronous="OFF") as checkpointer:
        # The long thread first, so that the app starts on a small, newer thread
        # and opening the long one is measured on its own.
        parent: Checkpoint | None = None
        for step in range(-1, long - 1):
            moment += timedelta(milliseconds=10)
            checkpoint = Checkpoint(
                id=new_checkpoint_id(),
                thread_id=LONG_THREAD,
                parent_id=parent.id if parent else None,
                parent_thread_id=LONG_THREAD if parent else None,
                step=step,
                source="input" if step < 0 else "loop",
                created_at=moment,
                values={"counter": step, "note": f"step {step}"},
                next=("tick",),
                writes={"tick": {"counter": step}},
            )
            await checkpointer.put(
                checkpoint, expected_head=parent.id if parent else None
            )
            parent = checkpoint
        forks_from: list[Checkpoint] = []
        for n in range(threads):
            thread_id = f"thread-{n:06d}"
            parent = None
            start_step = -1
            if n % 50 == 49 and forks_from:  # every 50th thread is a fork
                parent = forks_from[-1]
                start_step = parent.step + 1
            for i in range(per_thread):
                moment += timedelta(milliseconds=10)
                step = start_step + i
                checkpoint = Checkpoint(
                    id=new_checkpoint_id(),
                    thread_id=thread_id,
                    parent_id=parent.id if parent else None,
                    parent_thread_id=parent.thread_id if parent else None,
                    step=step,
                    source="fork"
                    if parent and i == 0
                    else "input"
                    if step < 0
                    else "loop",
                    created_at=moment,
                    values={"messages": [f"message {j}" for j in range(i + 1)], "n": n},
                    next=() if i == per_thread - 1 and n % 3 else ("agent",),
                    writes={"agent": {"messages": [f"message {i}"]}},
                    metadata={"user": f"user-{n % 97}"},
                )
                head = parent.id if parent is not None and i > 0 else None
                await checkpointer.put(checkpoint, expected_head=head)
                parent = checkpoint
            assert parent is not None
            if n % 7 == 3:
                await checkpointer.put_pending(
                    thread_id,
                    parent.id,
                    [PendingWrite("agent", "error", {"type": "E", "message": "x"})],
                )
            elif n % 7 == 5:
                await checkpointer.put_pending(
                    thread_id,
                    parent.id,
                    [PendingWrite("agent", "interrupt", {"id": "i", "value": 1})],
                )
            if n % 50 == 0:
                forks_from.append(parent)
    return time.perf_counter() - started


async def _until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll ``condition`` every 2 ms (finer than Pilot's pauses)."""
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.002)


async def measure(path: Path, moves: int) -> dict[str, Any]:
    """Drive the real app on ``path``; return the timings and the peak RSS."""
    from textual import events

    from tests.tui.conftest import SIZE
    from timeloom.tui.app import TimeloomApp
    from timeloom.tui.ops.opening import open_url
    from timeloom.tui.widgets.value_tree import ValueTree

    results: dict[str, Any] = {}
    started = time.perf_counter()
    app = TimeloomApp(open_url(str(path), read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        tree = app.checkpoint_tree
        state = app.query_one("#state-tree", ValueTree)

        def shown(thread: str | None = None) -> bool:
            """The list, the tree and the selected checkpoint's state are drawn."""
            shown = app.detail.checkpoint
            return (
                app.thread_list.info_at(0) is not None
                and tree.row_count > 0
                and (thread is None or tree.thread_id == thread)
                and shown is not None
                and shown.id == app.selected_checkpoint
                and bool(state.root.children)
            )

        await _until(shown)
        await pilot.pause()  # and painted
        results["first_screen_s"] = time.perf_counter() - started
        results["threads"] = app.thread_list.total

        started = time.perf_counter()
        app.open_thread(LONG_THREAD)
        await _until(lambda: shown(LONG_THREAD))
        await pilot.pause()
        results["big_thread_s"] = time.perf_counter() - started
        info = app.thread_info
        results["big_thread_checkpoints"] = info.checkpoint_count if info else None
        results["big_thread_rows_loaded"] = tree.row_count

        tree.focus()
        await pilot.pause()
        latencies = []
        for _ in range(20):  # one key at a time: key → its checkpoint's state shown
            target = tree.cursor + 1
            started = time.perf_counter()
            app.post_message(events.Key("down", None))
            await _until(lambda: tree.cursor == target and shown())  # noqa: B023
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        results["one_move_median_ms"] = latencies[len(latencies) // 2] * 1000
        results["one_move_max_ms"] = latencies[-1] * 1000

        # A held-down key: the presses queue up faster than they are handled.
        target = tree.cursor + moves
        started = time.perf_counter()
        for _ in range(moves):
            app.post_message(events.Key("down", None))
        await _until(lambda: tree.cursor == target and shown())
        results["cursor_moves"] = moves
        results["cursor_moves_s"] = time.perf_counter() - started
        results["rows_loaded_after_moves"] = tree.row_count

        app.thread_list.focus()
        await pilot.pause()
        started = time.perf_counter()
        app.post_message(events.Key("end", None))
        last = app.thread_list.total - 1
        await _until(lambda: app.thread_list.info_at(last) is not None)
        results["threads_jump_to_end_s"] = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux.
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main() -> None:
    """Build (unless the database exists) and measure in a fresh process."""
    parser = argparse.ArgumentParser(description="Benchmark the TUI on a big database.")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--per-thread", type=int, default=10)
    parser.add_argument("--long", type=int, default=10_000)
    parser.add_argument("--moves", type=int, default=1_000)
    parser.add_argument("--db", type=Path, help="database to reuse or keep")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure_only:
        print(json.dumps(asyncio.run(measure(args.db, args.moves))))
        return

    scratch = None
    path = args.db
    if path is None:
        scratch = tempfile.TemporaryDirectory()
        path = Path(scratch.name) / "bench.db"
    if not path.exists():
        total = args.threads * args.per_thread + args.long
        print(
            f"building {path}: {args.threads:,} threads x {args.per_thread} "
            f"+ one thread of {args.long:,} = {total:,} checkpoints ...",
            flush=True,
        )
        seconds = asyncio.run(build(path, args.threads, args.per_thread, args.long))
        size = path.stat().st_size / 2**20
        print(
            f"built in {seconds:.1f} s ({total / seconds:,.0f} checkpoints/s), "
            f"{size:,.0f} MB"
        )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_tui",
            "--measure-only",
            "--db",
            str(path),
            "--moves",
            str(args.moves),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    results = json.loads(out.strip().splitlines()[-1])
    targets = {"first_screen_s": 1.0, "big_thread_s": 1.0, "peak_rss_mb": 300.0}
    for key, value in results.items():
        mark = ""
        if key in targets:
            mark = "  ok" if value < targets[key] else f"  OVER target {targets[key]}"
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:>26}: {shown}{mark}")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()

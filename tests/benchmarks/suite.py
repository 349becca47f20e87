"""Timeloom vs LangGraph's own checkpointers, side by side, on the same workload.

Run: ``python -m tests.benchmarks.suite [--quick] [--only NAME] [--json-out FILE]``.
It prints one JSON line per measurement on stdout, then a summary table with the
ratio LangGraph / Timeloom for each pair (above 1: Timeloom is faster or smaller) and
MET/MISSED for each target. Progress goes to stderr.

Measurements (``--only`` takes these names; repeat it to run several):

- ``floor``: what one durable commit costs on this disk with no checkpointer (bare
  SQLite and PostgreSQL commit loops): the bound every checkpoint pays at least once.
- ``latency``: 200 turns on one thread; p50/p99 per turn and per checkpoint, for no
  checkpointer (the runtime alone), memory, SQLite and Postgres, with the sync API
  (``invoke``; LangGraph's sync savers) and the async API (``ainvoke``; its async
  savers). The systems take turns, turn by turn, so load from other processes on
  the machine falls on all alike. Both systems run with both durabilities, and
  each is compared with the other at the same one: ``durability="sync"`` (each
  checkpoint committed before the next step starts; Timeloom's default) and
  ``durability="async"`` (LangGraph's default: checkpoints committed in the
  background while the next steps run; all committed when invoke returns).
- ``storage``: bytes per checkpoint after 10, 50 and 200 turns. SQLite: a copy of the
  file, VACUUMed, ``page_count * page_size``; Postgres: ``pg_total_relation_size``
  summed over the system's tables, after ``VACUUM FULL``. Also net of the empty
  schema.
- ``history``: a 1,000-checkpoint thread: list its checkpoints (Timeloom ``list()``,
  metadata only; LangGraph ``alist(config)``, which decodes every checkpoint) and read
  a random checkpoint in full (Timeloom ``get``; LangGraph ``aget_tuple``).
- ``threads``: 2,000 threads x 5 turns; the latest state of a random thread; list
  threads (Timeloom ``threads(limit=100)`` and ``count_threads()``; LangGraph has no
  thread listing, so the SQL a user would write on its tables stands in).
- ``concurrency``: Postgres, 16 concurrent threads x 20 turns (``ainvoke``), and the
  same spread over 4 worker processes with a checkpointer each. LangGraph gets a
  connection pool as large as Timeloom's (10), and also runs on the one connection of
  ``from_conn_string``. Best of two runs each, the systems taking turns.
- ``fanout``: a map-reduce over 100 ``Send`` tasks, per turn, per super-step and
  per send, with no checkpointer, memory, SQLite and Postgres (see ``bench_fanout``).
- ``subgraphs``: a chain of three nested subgraphs, per turn and per super-step,
  with memory, SQLite and Postgres (see ``bench_subgraphs``).

Durability is the same on both sides: SQLite in WAL mode with ``synchronous=NORMAL``
(LangGraph's saver sets WAL and otherwise keeps SQLite's default ``FULL``: the suite
sets ``NORMAL`` on its connection, and also runs both sides at ``FULL``); PostgreSQL
with ``fsync=on`` and ``synchronous_commit=on``, on a throwaway local cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.benchmarks import pg_cluster
from tests.benchmarks.bench_fanout import bench_fanout
from tests.benchmarks.bench_subgraphs import bench_subgraphs
from tests.benchmarks.report import evaluate_targets, print_summary
from tests.benchmarks.workload import (
    SYSTEMS,
    Subject,
    config,
    open_async,
    open_sync,
    populate_processes,
    run_worker_processes,
)

MEASUREMENTS = (
    "floor",
    "latency",
    "storage",
    "history",
    "threads",
    "concurrency",
    "fanout",
    "subgraphs",
)


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    latency_turns: int = 200
    storage_turns: tuple[int, ...] = (10, 50, 200)
    history_checkpoints: int = 1000
    history_reads: int = 100
    threads: int = 2000
    thread_turns: int = 5
    concurrent_threads: int = 16
    concurrent_turns: int = 20
    processes: int = 4


QUICK = Sizes(
    latency_turns=30,
    storage_turns=(10, 20, 40),
    history_checkpoints=200,
    history_reads=20,
    threads=100,
    concurrent_threads=8,
    concurrent_turns=5,
    processes=2,
)


class Run:
    """Collects the rows of one suite run and prints them as JSON lines."""

    def __init__(self, sizes: Sizes, workdir: Path, server_dsn: str | None) -> None:
        self.sizes = sizes
        self.workdir = workdir
        self.server_dsn = server_dsn
        self.rows: list[dict[str, Any]] = []

    def emit(self, **row: Any) -> dict[str, Any]:
        """Record a row and print it as one JSON line."""
        row = {key: _round(value) for key, value in row.items()}
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        return row

    def location(self, system: str, backend: str, tag: str) -> str | None:
        """A fresh SQLite file or Postgres database for one subject."""
        if backend == "sqlite":
            return str(self.workdir / f"{tag}-{system}-{time.monotonic_ns()}.db")
        if backend == "postgres":
            if self.server_dsn is None:
                raise RuntimeError("no PostgreSQL server")
            return pg_cluster.create_database(self.server_dsn, f"{tag}_{system}")
        return None

    def attempt(self, label: str, case: Callable[..., None], *args: Any) -> None:
        """Run one case; a failure becomes an ``error`` row and the suite goes on."""
        try:
            case(*args)
        except Exception as exc:  # report it, and measure the rest
            progress(f"FAILED {label}:\n{traceback.format_exc()}")
            self.emit(bench="error", case=label, error=f"{type(exc).__name__}: {exc}")

    def drop(self, backend: str, location: str | None) -> None:
        """Remove a subject's SQLite file or Postgres database."""
        if backend == "postgres" and location is not None and self.server_dsn:
            pg_cluster.drop_database(self.server_dsn, location)
        elif backend == "sqlite" and location is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(location + suffix).unlink(missing_ok=True)

    def backends(self, *wanted: str) -> list[str]:
        """The wanted backends that can run here (Postgres needs a server)."""
        return [b for b in wanted if b != "postgres" or self.server_dsn is not None]


def progress(message: str) -> None:
    """Say what is running, on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- 1. latency --------------------------------------------------------------------


def bench_latency(run: Run) -> None:
    """Per-turn and per-checkpoint latency over one growing thread."""
    cases = [("none", "NORMAL"), ("memory", "NORMAL")]
    cases += [("sqlite", "NORMAL"), ("sqlite", "FULL")]
    cases += [("postgres", "NORMAL")] if run.server_dsn else []
    for backend, synchronous in cases:
        for mode in ("sync", "async"):
            if synchronous == "FULL" and mode == "async":
                continue  # FULL is measured once, to show what fsync costs
            run.attempt(
                f"latency {backend} {mode}",
                _latency_case,
                run,
                backend,
                mode,
                synchronous,
            )


LATENCY_SUBJECTS = (
    ("timeloom", "sync"),
    ("timeloom", "async"),
    ("langgraph", "sync"),
    ("langgraph", "async"),
)
"""Each system with each durability: ``sync`` (every checkpoint committed before
the next step; Timeloom's default) and ``async`` (committed behind the run, all done
when invoke returns; LangGraph's default)."""
NO_CHECKPOINTER_SUBJECTS = (("timeloom", None), ("langgraph", None))


def _latency_case(run: Run, backend: str, mode: str, synchronous: str) -> None:
    """Time the systems turn by turn, taking turns, so load on this shared machine
    falls on all of them alike."""
    turns = run.sizes.latency_turns
    subjects = LATENCY_SUBJECTS if backend != "none" else NO_CHECKPOINTER_SUBJECTS
    progress(f"latency {backend} {mode} ({turns} turns, systems taking turns)")
    locations = [run.location(s, backend, "lat") for s, _ in subjects]
    try:
        if mode == "sync":
            with ExitStack() as stack:
                opened = [
                    stack.enter_context(open_sync(s, backend, loc, synchronous))
                    for (s, _), loc in zip(subjects, locations, strict=True)
                ]
                for subject, (_, durability) in zip(opened, subjects, strict=True):
                    subject.durability = durability
                times = _alternate_sync(opened, turns)
        else:
            times = asyncio.run(
                _alternate_async(subjects, backend, locations, synchronous, turns)
            )
    finally:
        for location in locations:
            run.drop(backend, location)
    for (system, durability), samples in zip(subjects, times, strict=True):
        per_cp = CHECKPOINTS.get((system, backend != "none"), 3)
        run.emit(
            bench="latency",
            system=system,
            backend=backend,
            mode=mode,
            synchronous=synchronous if backend == "sqlite" else None,
            durability=durability,
            turns=turns,
            per_turn_p50_ms=_pct(samples, 50) * 1e3,
            per_turn_p99_ms=_pct(samples, 99) * 1e3,
            checkpoints_per_turn=per_cp if backend != "none" else 0,
            per_checkpoint_p50_ms=_pct(samples, 50) * 1e3 / per_cp,
            per_checkpoint_p99_ms=_pct(samples, 99) * 1e3 / per_cp,
            per_step_p50_ms=_pct(samples, 50) * 1e3 / 3,
        )


CHECKPOINTS = {("timeloom", True): 5, ("langgraph", True): 5}
"""Checkpoints per turn; without a checkpointer, the per-unit figure is per step (3)."""


def _order(subjects: list[Subject], turn: int) -> list[tuple[int, Subject]]:
    """The order of one turn: a fresh shuffle (seeded by the turn).

    Whoever runs right after another system's turn finds the CPU caches full of
    that system's data and pays for it (up to 30% here). Rotating a fixed order
    would put each subject always right after the same one, favouring whoever
    follows its own twin (Timeloom async after Timeloom sync); a shuffle lets
    every subject follow every other equally often.
    """
    indexed = list(enumerate(subjects))
    return random.Random(turn).sample(indexed, len(indexed))


def _thread_and_turn(subject: Subject, turn: int) -> tuple[str, int]:
    if subject.saver is None:
        return f"fresh-{turn}", 0
    return "bench", turn


def _alternate_sync(subjects: list[Subject], turns: int) -> list[list[float]]:
    for subject in subjects:
        for turn in range(3):  # warm up on another thread: imports, pools, statements
            subject.turn("warmup", turn)
    times: list[list[float]] = [[] for _ in subjects]
    for turn in range(turns):
        for index, subject in _order(subjects, turn):
            thread, number = _thread_and_turn(subject, turn)
            start = time.perf_counter()
            subject.turn(thread, number)
            times[index].append(time.perf_counter() - start)
    return times


async def _alternate_async(
    subjects: tuple[tuple[str, str | None], ...],
    backend: str,
    locations: list[str | None],
    synchronous: str,
    turns: int,
) -> list[list[float]]:
    async with AsyncExitStack() as stack:
        opened = []
        for (system, durability), location in zip(subjects, locations, strict=True):
            subject = await stack.enter_async_context(
                open_async(system, backend, location, synchronous)
            )
            subject.durability = durability
            opened.append(subject)
        for subject in opened:
            for turn in range(3):
                await subject.aturn("warmup", turn)
        times: list[list[float]] = [[] for _ in opened]
        for turn in range(turns):
            for index, subject in _order(opened, turn):
                thread, number = _thread_and_turn(subject, turn)
                start = time.perf_counter()
                await subject.aturn(thread, number)
                times[index].append(time.perf_counter() - start)
        return times


def bench_floor(run: Run) -> None:
    """What one durable commit costs on this disk, with no checkpointer at all.

    A bare loop of one-row transactions: SQLite in WAL at NORMAL and FULL, and
    PostgreSQL with ``synchronous_commit`` on and off. Every checkpoint of either
    system pays at least one such commit, so this bounds what any checkpointer can
    reach here.
    """
    for sync in ("NORMAL", "FULL"):
        path = run.workdir / f"floor-{sync}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {sync}")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            times = []
            for _ in range(300):
                start = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t (b) VALUES (?)", (b"x" * 300,))
                conn.execute("COMMIT")
                times.append(time.perf_counter() - start)
        finally:
            conn.close()
            run.drop("sqlite", str(path))
        run.emit(
            bench="floor",
            system="none",
            backend="sqlite",
            what=f"bare commit loop, WAL, synchronous={sync}",
            commit_p50_ms=_pct(times, 50) * 1e3,
            commit_p99_ms=_pct(times, 99) * 1e3,
        )
    if run.server_dsn is None:
        return
    dsn = pg_cluster.create_database(run.server_dsn, "floor")
    try:
        for sync in ("on", "off"):
            times = pg_cluster.commit_loop(dsn, 300, synchronous_commit=sync)
            run.emit(
                bench="floor",
                system="none",
                backend="postgres",
                what=f"bare autocommit INSERT loop, synchronous_commit={sync}",
                commit_p50_ms=_pct(times, 50) * 1e3,
                commit_p99_ms=_pct(times, 99) * 1e3,
            )
    finally:
        run.drop("postgres", dsn)


# -- 2 + 3. storage and history -------------------------------------------------------


def bench_storage_and_history(run: Run, *, storage: bool, history: bool) -> None:
    """Grow one thread per system; size it at checkpoints, then time history reads."""
    for backend in run.backends("memory", "sqlite", "postgres"):
        if backend == "memory" and not history:
            continue
        for system in SYSTEMS:
            run.attempt(
                f"storage/history {backend} {system}",
                _storage_history_case,
                run,
                system,
                backend,
                storage,
                history,
            )


def _storage_history_case(
    run: Run, system: str, backend: str, storage: bool, history: bool
) -> None:
    sizes = run.sizes
    per_turn = CHECKPOINTS[(system, True)]
    turns = max(
        sizes.storage_turns[-1] if storage and backend != "memory" else 0,
        math.ceil(sizes.history_checkpoints / per_turn) if history else 0,
    )
    progress(f"storage/history {backend} {system}: growing to {turns} turns")
    if backend == "memory":
        asyncio.run(_memory_history(run, system, turns))
        return
    location = run.location(system, backend, "hist")
    try:
        with open_sync(system, backend, location) as subject:
            empty = _stored_bytes(subject)
            for turn in range(turns):
                subject.turn("bench", turn)
                if storage and turn + 1 in sizes.storage_turns:
                    _emit_storage(run, subject, turn + 1, empty)
        if history:
            asyncio.run(_history(run, system, backend, location))
    finally:
        run.drop(backend, location)


def _emit_storage(
    run: Run, subject: Subject, turns: int, empty: dict[str, int]
) -> None:
    count = _count_checkpoints(subject, "bench")
    stored = _stored_bytes(subject)
    run.emit(
        bench="storage",
        system=subject.system,
        backend=subject.backend,
        turns=turns,
        checkpoints=count,
        bytes=stored["compact"],
        bytes_on_disk=stored["raw"],
        empty_schema_bytes=empty["compact"],
        bytes_per_checkpoint=stored["compact"] / count,
        net_bytes_per_checkpoint=(stored["compact"] - empty["compact"]) / count,
        bytes_per_turn=stored["compact"] / turns,
    )


def _stored_bytes(subject: Subject) -> dict[str, int]:
    """``compact``: after VACUUM (of a copy) / VACUUM FULL; ``raw``: as it lies."""
    assert subject.location is not None
    if subject.backend == "postgres":
        raw = pg_cluster.database_bytes(subject.location)
        compact = pg_cluster.database_bytes(subject.location, vacuum_full=True)
        return {"raw": raw, "compact": compact}
    path = Path(subject.location)
    raw = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    copy = path.with_suffix(".copy.db")
    # The backup API copies the WAL's committed pages too; VACUUM runs on the copy so
    # the system under test never sees it.
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    target = sqlite3.connect(copy)
    try:
        target.execute("VACUUM")
        pages = target.execute("PRAGMA page_count").fetchone()[0]
        page_size = target.execute("PRAGMA page_size").fetchone()[0]
    finally:
        target.close()
        copy.unlink()
    return {"raw": raw, "compact": int(pages * page_size)}


def _count_checkpoints(subject: Subject, thread: str) -> int:
    """Count a thread's checkpoints as each system stores them."""
    if subject.system == "timeloom":
        from timeloom.core.sync import run_sync

        async def count() -> int:
            return len([m async for m in subject.saver.summaries(thread)])

        return run_sync(count())
    sql = "SELECT count(*) FROM checkpoints WHERE thread_id = %s"
    if subject.backend == "sqlite":
        sql = sql.replace("%s", "?")
    row = subject.raw.execute(sql, (thread,)).fetchone()
    return int(row[0] if not isinstance(row, dict) else next(iter(row.values())))


async def _memory_history(run: Run, system: str, turns: int) -> None:
    async with open_async(system, "memory") as subject:
        for turn in range(turns):
            await subject.aturn("bench", turn)
        await _time_history(run, subject)


async def _history(run: Run, system: str, backend: str, location: str | None) -> None:
    async with open_async(system, backend, location) as subject:
        await _time_history(run, subject)


async def _time_history(run: Run, subject: Subject) -> None:
    """Time listing the thread (5 times) and reading random checkpoints in full."""
    saver, reads = subject.saver, run.sizes.history_reads
    list_times, ids = [], []
    for _ in range(5):
        start = time.perf_counter()
        if subject.system == "timeloom":
            ids = [meta.id async for meta in saver.summaries("bench")]
        else:
            ids = [
                t.config["configurable"]["checkpoint_id"]
                async for t in saver.alist(config("bench"))
            ]
        list_times.append(time.perf_counter() - start)
    rng = random.Random(7)
    get_times = []
    for checkpoint_id in rng.choices(ids, k=reads):
        start = time.perf_counter()
        if subject.system == "timeloom":
            found = await saver.get("bench", checkpoint_id)
        else:
            cfg = config("bench")
            cfg["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
            found = await saver.aget_tuple(cfg)
        get_times.append(time.perf_counter() - start)
        assert found is not None, checkpoint_id
    run.emit(
        bench="history",
        system=subject.system,
        backend=subject.backend,
        checkpoints=len(ids),
        list_api="list() metadata only"
        if subject.system == "timeloom"
        else "alist(config) decodes every checkpoint",
        list_all_p50_ms=_pct(list_times, 50) * 1e3,
        list_all_min_ms=min(list_times) * 1e3,
        get_api="get(thread, id)" if subject.system == "timeloom" else "aget_tuple",
        get_p50_ms=_pct(get_times, 50) * 1e3,
        get_p99_ms=_pct(get_times, 99) * 1e3,
    )


# -- 4. many threads -----------------------------------------------------------------


def bench_threads(run: Run) -> None:
    """Many short threads: latest state of a random one, and listing threads."""
    for backend in run.backends("sqlite", "postgres"):
        for system in SYSTEMS:
            run.attempt(
                f"threads {backend} {system}", _threads_case, run, system, backend
            )


def _threads_case(run: Run, system: str, backend: str) -> None:
    sizes = run.sizes
    location = run.location(system, backend, "threads")
    progress(
        f"threads {backend} {system}: populating {sizes.threads} threads x "
        f"{sizes.thread_turns} turns"
    )
    try:
        if backend == "postgres":
            # Population is not what is measured: spare it the disk's fsync (the
            # same for both systems).
            pg_cluster.set_synchronous_commit(run.server_dsn, location, "off")
        assert location is not None
        populate = populate_processes(
            system,
            backend,
            location,
            threads=sizes.threads,
            turns=sizes.thread_turns,
            processes=POPULATE_PROCESSES,
        )
        if backend == "postgres":
            pg_cluster.set_synchronous_commit(run.server_dsn, location, "on")
        asyncio.run(_many_threads(run, system, backend, location, populate))
    finally:
        run.drop(backend, location)


POPULATE_PROCESSES = 2
"""One per core: the systems' Python, not the database, bounds how fast they fill."""


async def _many_threads(
    run: Run, system: str, backend: str, location: str | None, populate: float
) -> None:
    sizes = run.sizes
    async with open_async(system, backend, location, pooled=True) as subject:
        rng = random.Random(11)
        latest = []
        for _ in range(100):
            thread = f"thread-{rng.randrange(sizes.threads):05d}"
            start = time.perf_counter()
            if system == "timeloom":
                found = await subject.saver.get(thread)
            else:
                found = await subject.saver.aget_tuple(config(thread))
            latest.append(time.perf_counter() - start)
            assert found is not None, thread
        page_times, count_times = [], []
        for _ in range(5):
            start = time.perf_counter()
            page = await _thread_page(subject)
            page_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            count = await _thread_count(subject)
            count_times.append(time.perf_counter() - start)
        assert len(page) == min(100, sizes.threads), len(page)
        assert count == sizes.threads, count
        run.emit(
            bench="threads",
            system=system,
            backend=backend,
            threads=count,
            turns_per_thread=sizes.thread_turns,
            populate_how=f"invoke in {POPULATE_PROCESSES} processes"
            + (", synchronous_commit=off" if backend == "postgres" else ""),
            populate_s=populate,
            populate_checkpoints_per_s=sizes.threads
            * sizes.thread_turns
            * subject.checkpoints_per_turn
            / populate,
            latest_p50_ms=_pct(latest, 50) * 1e3,
            latest_p99_ms=_pct(latest, 99) * 1e3,
            list_threads_api="threads(limit=100)"
            if system == "timeloom"
            else "SQL: newest 100 thread_ids by max(checkpoint_id)",
            list_threads_p50_ms=_pct(page_times, 50) * 1e3,
            count_threads_api="count_threads()"
            if system == "timeloom"
            else "SQL: count(DISTINCT thread_id)",
            count_threads_p50_ms=_pct(count_times, 50) * 1e3,
        )


# LangGraph keeps no thread table: a user lists threads with SQL on its tables.
LG_THREAD_PAGE_SQL = (
    "SELECT thread_id, max(checkpoint_id) AS latest FROM checkpoints "
    "GROUP BY thread_id ORDER BY latest DESC LIMIT 100"
)
LG_THREAD_COUNT_SQL = "SELECT count(DISTINCT thread_id) FROM checkpoints"


async def _thread_page(subject: Subject) -> list[Any]:
    if subject.system == "timeloom":
        return list(await subject.saver.threads(limit=100))
    return await _lg_sql(subject, LG_THREAD_PAGE_SQL)


async def _thread_count(subject: Subject) -> int:
    if subject.system == "timeloom":
        return int(await subject.saver.count_threads())
    row = (await _lg_sql(subject, LG_THREAD_COUNT_SQL))[0]
    return int(row[0] if not isinstance(row, dict) else next(iter(row.values())))


async def _lg_sql(subject: Subject, sql: str) -> list[Any]:
    if subject.backend == "sqlite":
        return list(await subject.raw.execute_fetchall(sql))
    async with subject.raw.connection() as conn:
        cursor = await conn.execute(sql)
        return list(await cursor.fetchall())


# -- 5. concurrency ------------------------------------------------------------------


def bench_concurrency(run: Run) -> None:
    """Postgres throughput: N concurrent threads in one process, then over processes.

    Each variant runs twice, the systems taking turns, and the better run counts:
    on a shared machine the best run is the one least disturbed by others.
    """
    if run.server_dsn is None:
        progress("concurrency: skipped, no PostgreSQL server")
        return
    variants: list[Variant] = [
        (system, how, True, durability)
        for how in ("asyncio", "processes")
        for system in SYSTEMS
        for durability in ("sync", "async")
    ]
    variants.append(("langgraph", "asyncio", False, "async"))
    walls: dict[Variant, list[float]] = {v: [] for v in variants}
    for _ in range(2):
        for how in ("asyncio", "processes"):
            for variant in (v for v in variants if v[1] == how):
                run.attempt(
                    f"concurrency {variant}", _concurrency_case, run, variant, walls
                )
    sizes = run.sizes
    turns = sizes.concurrent_threads * sizes.concurrent_turns
    for (system, how, pooled, durability), runs in walls.items():
        if not runs:
            continue
        per_turn = CHECKPOINTS[(system, True)]
        run.emit(
            bench="concurrency",
            system=system,
            backend="postgres",
            how=how,
            processes=sizes.processes if how == "processes" else 1,
            threads=sizes.concurrent_threads,
            turns_per_thread=sizes.concurrent_turns,
            durability=durability,
            connections="pool of 10 per process"
            if pooled
            else "one connection (from_conn_string)",
            wall_s=min(runs),
            checkpoints_per_s=turns * per_turn / min(runs),
            turns_per_s=turns / min(runs),
            all_runs_checkpoints_per_s=[round(turns * per_turn / w) for w in runs],
        )


Variant = tuple[str, str, bool, str]
"""System, how (``asyncio`` or ``processes``), pooled, durability."""


def _concurrency_case(
    run: Run, variant: Variant, walls: dict[Variant, list[float]]
) -> None:
    system, how, pooled, durability = variant
    sizes = run.sizes
    location = run.location(system, "postgres", "conc")
    assert location is not None
    progress(f"concurrency {how} {system} pooled={pooled} durability={durability}")
    try:
        if how == "asyncio":
            wall = asyncio.run(
                _concurrent(
                    system,
                    location,
                    sizes.concurrent_threads,
                    sizes,
                    pooled,
                    durability,
                )
            )
        else:
            wall = run_worker_processes(
                system,
                location,
                processes=sizes.processes,
                threads=sizes.concurrent_threads // sizes.processes,
                turns=sizes.concurrent_turns,
                durability=durability,
            )
    finally:
        run.drop("postgres", location)
    walls[variant].append(wall)


async def _concurrent(
    system: str,
    location: str,
    threads: int,
    sizes: Sizes,
    pooled: bool,
    durability: str,
) -> float:
    async with open_async(system, "postgres", location, pooled=pooled) as subject:
        subject.durability = durability
        await asyncio.gather(*(subject.aturn(f"warm-{i}", 0) for i in range(threads)))

        async def one(index: int) -> None:
            for turn in range(sizes.concurrent_turns):
                await subject.aturn(f"conc-{index}", turn)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(threads)))
        return time.perf_counter() - start


# -- plumbing -----------------------------------------------------------------------


def _pct(values: list[float], pct: float) -> float:
    """The ``pct`` percentile, nearest rank (p50 is the median)."""
    if pct == 50:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def machine(server_dsn: str | None) -> dict[str, Any]:
    """Where and when this ran."""
    cpu = "unknown"
    with suppress_oserror():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "bench": "machine",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        # Other processes share this machine: say how busy it was.
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
    import langgraph.version

    info["langgraph"] = getattr(langgraph.version, "__version__", "?")
    if server_dsn is not None:
        settings = pg_cluster.server_settings(server_dsn)
        info["postgres"] = settings.get("server_version")
        info["postgres_fsync"] = settings.get("fsync")
        info["postgres_synchronous_commit"] = settings.get("synchronous_commit")
    info["sqlite_durability"] = (
        "WAL on both; synchronous=NORMAL on both (LangGraph's saver runs WAL + "
        "SQLite's default FULL unless set: set on its connection); also both at FULL"
    )
    return info


@contextmanager
def suppress_oserror() -> Iterator[None]:
    """Ignore a missing /proc (not Linux)."""
    try:
        yield
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the suite; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", choices=MEASUREMENTS, action="append")
    parser.add_argument("--json-out", type=Path, help="also write the rows here")
    parser.add_argument("--postgres-url", help="use this server, start none")
    parser.add_argument("--no-postgres", action="store_true", help="skip Postgres")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    only = set(args.only or MEASUREMENTS)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="timeloom-bench-") as tmp:
        with _server(args) as server_dsn:
            run = Run(sizes, Path(tmp), server_dsn)
            run.emit(**machine(server_dsn))
            steps: list[tuple[str, Callable[[], None]]] = [
                ("floor", lambda: bench_floor(run)),
                ("latency", lambda: bench_latency(run)),
                (
                    "storage/history",
                    lambda: bench_storage_and_history(
                        run, storage="storage" in only, history="history" in only
                    ),
                ),
                ("threads", lambda: bench_threads(run)),
                ("concurrency", lambda: bench_concurrency(run)),
                ("fanout", lambda: bench_fanout(run)),
                ("subgraphs", lambda: bench_subgraphs(run)),
            ]
            for name, step in steps:
                if not only & set(name.split("/")):
                    continue
                begun = time.perf_counter()
                run.attempt(name, step)
                progress(f"{name} done in {time.perf_counter() - begun:.1f} s")
    run.emit(
        bench="end",
        total_s=time.perf_counter() - started,
        load_average_1m_at_end=round(os.getloadavg()[0], 2),
    )
    targets = evaluate_targets(run.rows)
    for row in targets:
        run.emit(**row)
    print_summary(run.rows, targets)
    elapsed = time.perf_counter() - started
    print(f"\nTotal time: {elapsed:.0f} s", flush=True)
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for r in run.rows))
    return 1 if any(r.get("bench") == "error" for r in run.rows) else 0


@contextmanager
def _server(args: argparse.Namespace) -> Iterator[str | None]:
    if args.no_postgres:
        yield None
        return
    progress("starting a throwaway PostgreSQL cluster")
    with pg_cluster.postgres_server(args.postgres_url) as dsn:
        yield dsn


if __name__ == "__main__":
    sys.exit(main())

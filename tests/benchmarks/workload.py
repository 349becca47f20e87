"""The workload the benchmark suite runs on Timeloom and on LangGraph alike.

A linear 3-node graph over ``{messages: Annotated[list, operator.add], step: int,
data: dict}``; each node appends one ~200-byte message and bumps ``step``. One turn is
one invoke with one new user message on a thread, so a thread's message list grows by
four items per turn (the user's and one per node), like a chat.

:func:`open_sync` and :func:`open_async` compile that graph for one system (Timeloom
or LangGraph) on one storage backend, with the matching checkpointer of each side:

============  =========================================  ==================================
backend       Timeloom                                   LangGraph (sync / async)
============  =========================================  ==================================
none          no checkpointer                            no checkpointer
memory        ``MemoryCheckpointer()``                   ``InMemorySaver()``
sqlite        ``SqliteCheckpointer(path, synchronous)``  ``SqliteSaver`` / ``AsyncSqliteSaver``
postgres      ``PostgresCheckpointer(dsn)``              ``PostgresSaver`` / ``AsyncPostgresSaver``
============  =========================================  ==================================
"""

from __future__ import annotations

import operator
import queue
import random
import sqlite3
import string
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

SYSTEMS = ("timeloom", "langgraph")
CHECKPOINTS_PER_TURN = {"timeloom": 5, "langgraph": 5}
"""Timeloom writes the input checkpoint and one per step; LangGraph also writes a
checkpoint for the start of the run (its ``__start__`` step)."""
NODES = ("plan", "act", "reply")
POSTGRES_POOL_MAX = 10
"""Connections for the concurrent Postgres runs, on both sides (Timeloom's default)."""


class State(TypedDict):
    """The graph's state: a growing chat, a step counter and a small dict."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    step: int
    data: dict[str, Any]


_WORDS = [
    "".join(random.Random(i).choices(string.ascii_lowercase, k=1 + i % 9))
    for i in range(512)
]


_TEXTS = [
    " ".join(random.Random(i).choices(_WORDS, k=40))[:180].strip() for i in range(1024)
]


def message(role: str, seed: int) -> dict[str, Any]:
    """A ~200-byte chat message, unique by its id, with varied real text.

    Real text, not one repeated byte: a codec that compresses must not get a free
    win. The texts are made once, so that making a message costs next to nothing in
    the measured turn.
    """
    return {"role": role, "content": _TEXTS[seed % len(_TEXTS)], "id": f"m{seed}"}


def turn_input(turn: int, *, first: bool) -> dict[str, Any]:
    """The input of one turn: one user message (plus the initial fields the first time)."""
    payload: dict[str, Any] = {"messages": [message("user", turn * 10)]}
    if first:
        payload["step"] = 0
        payload["data"] = {"user": "bench", "plan": "pro", "locale": "en-GB"}
    return payload


def _node(name: str, offset: int) -> Callable[[State], dict[str, Any]]:
    def run(state: State) -> dict[str, Any]:
        seed = len(state["messages"]) * 10 + offset
        return {"messages": [message(name, seed)], "step": state["step"] + 1}

    run.__name__ = name
    return run


def build_graph(graph_cls: Any, start: Any, end: Any) -> Any:
    """The linear plan -> act -> reply graph, for either system's ``StateGraph``."""
    graph = graph_cls(State)
    for offset, name in enumerate(NODES, start=1):
        graph.add_node(name, _node(name, offset))
    graph.add_edge(start, NODES[0])
    for left, right in zip(NODES, NODES[1:], strict=False):
        graph.add_edge(left, right)
    graph.add_edge(NODES[-1], end)
    return graph


def compile_graph(system: str, checkpointer: Any) -> Any:
    """Compile the workload graph of ``system`` with ``checkpointer`` (or None)."""
    if system == "timeloom":
        from timeloom.core import END, START, StateGraph

        return build_graph(StateGraph, START, END).compile(checkpointer=checkpointer)
    from langgraph.graph import END as LG_END
    from langgraph.graph import START as LG_START
    from langgraph.graph import StateGraph as LGStateGraph

    return build_graph(LGStateGraph, LG_START, LG_END).compile(
        checkpointer=checkpointer
    )


def take_turns(
    turns: int, runs: list[Callable[[str], None]], label: str
) -> list[list[float]]:
    """Time ``turns`` turns of each of ``runs`` (one per system), each on a thread
    of its own named ``label-<turn>``, after three warm-up turns each (imports,
    statements, caches).

    The systems take turns in a fresh shuffle each turn (seeded by the turn), so load
    on the machine falls on both alike and each follows the other equally often.

    Returns:
        Each run's turn times in seconds, in the order of ``runs``.
    """
    for run in runs:
        for n in range(3):
            run(f"warm-{n}")
    times: list[list[float]] = [[] for _ in runs]
    for n in range(turns):
        for index in random.Random(n).sample(range(len(runs)), len(runs)):
            start = time.perf_counter()
            runs[index](f"{label}-{n}")
            times[index].append(time.perf_counter() - start)
    return times


def p99(samples: list[float]) -> float:
    """The 99th percentile of ``samples`` (the largest, below 100 samples)."""
    return sorted(samples)[min(len(samples) - 1, len(samples) * 99 // 100)]


def config(thread_id: str) -> dict[str, Any]:
    """The run config both systems accept."""
    return {"configurable": {"thread_id": thread_id}}


@dataclass
class Subject:
    """One system on one backend: the compiled app and its checkpointer."""

    system: str
    backend: str
    mode: str
    """``sync`` (``invoke``, LangGraph's sync savers) or ``async`` (``ainvoke``)."""
    app: Any
    saver: Any
    """Timeloom's checkpointer or LangGraph's saver; None without one."""
    location: str | None = None
    """The SQLite file or the Postgres DSN."""
    raw: Any = None
    """LangGraph's own connection (sqlite3/aiosqlite/psycopg), for SQL a user would run."""
    durability: str | None = None
    """``invoke(..., durability=...)``; None keeps the system's default."""

    @property
    def checkpoints_per_turn(self) -> int:
        """Checkpoints one turn writes (0 without a checkpointer)."""
        return 0 if self.saver is None else CHECKPOINTS_PER_TURN[self.system]

    def turn(self, thread_id: str, turn: int) -> None:
        """Run one turn synchronously."""
        self.app.invoke(self._input(turn), config(thread_id), **self._options())

    async def aturn(self, thread_id: str, turn: int) -> None:
        """Run one turn with ``ainvoke``."""
        await self.app.ainvoke(self._input(turn), config(thread_id), **self._options())

    def _options(self) -> dict[str, Any]:
        return {} if self.durability is None else {"durability": self.durability}

    def _input(self, turn: int) -> dict[str, Any]:
        # Without a checkpointer nothing carries over: every turn starts afresh.
        return turn_input(turn, first=turn == 0 or self.saver is None)


@contextmanager
def open_sync(
    system: str, backend: str, location: str | None = None, synchronous: str = "NORMAL"
) -> Iterator[Subject]:
    """Open ``system`` on ``backend`` for the sync API (``invoke``).

    Args:
        system: ``timeloom`` or ``langgraph``.
        backend: ``none``, ``memory``, ``sqlite`` or ``postgres``.
        location: the SQLite path or the Postgres DSN.
        synchronous: SQLite's ``synchronous`` level for both sides (WAL on both).
    """
    if system == "timeloom":
        from timeloom.core.sync import run_sync

        saver = _timeloom_saver(backend, location, synchronous)
        if saver is not None:
            run_sync(saver.setup())  # the schema exists before anything is measured
        try:
            yield Subject(
                system, backend, "sync", compile_graph(system, saver), saver, location
            )
        finally:
            if saver is not None:
                run_sync(saver.aclose())
        return
    if backend == "none":
        yield Subject(system, backend, "sync", compile_graph(system, None), None)
    elif backend == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        lg_memory = InMemorySaver()
        yield Subject(
            system, backend, "sync", compile_graph(system, lg_memory), lg_memory
        )
    elif backend == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        assert location is not None
        conn = sqlite3.connect(location, check_same_thread=False)
        try:
            lg_sqlite = SqliteSaver(conn)
            lg_sqlite.setup()  # sets journal_mode=WAL
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            app = compile_graph(system, lg_sqlite)
            yield Subject(system, backend, "sync", app, lg_sqlite, location, conn)
        finally:
            conn.close()
    elif backend == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver

        assert location is not None
        with PostgresSaver.from_conn_string(location) as lg_pg:
            lg_pg.setup()
            app = compile_graph(system, lg_pg)
            yield Subject(system, backend, "sync", app, lg_pg, location, lg_pg.conn)
    else:
        raise ValueError(f"unknown backend {backend!r}")


@asynccontextmanager
async def open_async(
    system: str,
    backend: str,
    location: str | None = None,
    synchronous: str = "NORMAL",
    *,
    pooled: bool = False,
) -> AsyncIterator[Subject]:
    """Open ``system`` on ``backend`` for the async API (``ainvoke``).

    Args:
        system: ``timeloom`` or ``langgraph``.
        backend: ``none``, ``memory``, ``sqlite`` or ``postgres``.
        location: the SQLite path or the Postgres DSN.
        synchronous: SQLite's ``synchronous`` level for both sides (WAL on both).
        pooled: Postgres only: give LangGraph a connection pool of
            :data:`POSTGRES_POOL_MAX` (as Timeloom has) instead of the one connection
            of ``from_conn_string``, which serializes concurrent runs.
    """
    if system == "timeloom":
        saver = _timeloom_saver(backend, location, synchronous)
        if saver is None:
            yield Subject(system, backend, "async", compile_graph(system, None), None)
            return
        async with saver:
            app = compile_graph(system, saver)
            yield Subject(system, backend, "async", app, saver, location)
        return
    if backend in ("none", "memory"):
        with open_sync(system, backend) as subject:
            subject.mode = "async"
            yield subject
    elif backend == "sqlite":
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        assert location is not None
        async with aiosqlite.connect(location) as conn:
            lg_sqlite = AsyncSqliteSaver(conn)
            await lg_sqlite.setup()  # sets journal_mode=WAL
            await conn.execute(f"PRAGMA synchronous = {synchronous}")
            app = compile_graph(system, lg_sqlite)
            yield Subject(system, backend, "async", app, lg_sqlite, location, conn)
    elif backend == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        assert location is not None
        if not pooled:
            async with AsyncPostgresSaver.from_conn_string(location) as lg_pg:
                await lg_pg.setup()
                app = compile_graph(system, lg_pg)
                yield Subject(
                    system, backend, "async", app, lg_pg, location, lg_pg.conn
                )
            return
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        async with AsyncConnectionPool(
            location, min_size=1, max_size=POSTGRES_POOL_MAX, kwargs=kwargs, open=False
        ) as pool:
            lg_pooled = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await lg_pooled.setup()
            app = compile_graph(system, lg_pooled)
            yield Subject(system, backend, "async", app, lg_pooled, location, pool)
    else:
        raise ValueError(f"unknown backend {backend!r}")


def _timeloom_saver(backend: str, location: str | None, synchronous: str) -> Any:
    if backend == "none":
        return None
    if backend == "memory":
        from timeloom.backends.memory import MemoryCheckpointer

        return MemoryCheckpointer()
    if backend == "sqlite":
        from timeloom.backends.sqlite import SqliteCheckpointer

        assert location is not None
        return SqliteCheckpointer(location, synchronous=synchronous)  # type: ignore[arg-type]
    if backend == "postgres":
        from timeloom.backends.postgres import PostgresCheckpointer

        assert location is not None
        return PostgresCheckpointer(location)
    raise ValueError(f"unknown backend {backend!r}")


def run_worker_processes(
    system: str,
    location: str,
    *,
    processes: int,
    threads: int,
    turns: int,
    durability: str | None = None,
) -> float:
    """Run ``threads`` x ``turns`` concurrently in each of ``processes`` processes.

    Each process opens its own checkpointer on the shared Postgres database, warms up,
    then waits at a barrier so that all start together. Returns the wall time from
    the first start to the last finish.
    """
    import asyncio

    async def setup() -> None:
        # Create the schema once here: concurrent first-time setups would race.
        async with open_async(system, "postgres", location, pooled=True):
            pass

    asyncio.run(setup())
    return _spawn(
        _concurrent_worker,
        [
            (system, location, index, threads, turns, durability)
            for index in range(processes)
        ],
    )


def populate_processes(
    system: str,
    backend: str,
    location: str,
    *,
    threads: int,
    turns: int,
    processes: int = 2,
) -> float:
    """Write ``threads`` threads of ``turns`` turns each (``invoke``), split over
    processes; return the wall time.

    Used to fill databases for the read measurements: one process per core gets
    there sooner than one process, whose Python is the bottleneck.
    """
    with open_sync(system, backend, location):
        pass  # create the schema once, before the processes race to
    shares = [range(i, threads, processes) for i in range(processes)]
    return _spawn(
        _populate_worker,
        [(system, backend, location, list(share), turns) for share in shares],
    )


def _spawn(target: Callable[..., Any], jobs: list[tuple[Any, ...]]) -> float:
    """Run ``target(*job, barrier, results)`` in one process per job; return the wall
    time from the first start (after a common barrier) to the last finish."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding pools
    barrier = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    workers = [
        ctx.Process(target=target, args=(*job, barrier, results)) for job in jobs
    ]
    for worker in workers:
        worker.start()
    spans: list[Any] = []
    deadline = time.monotonic() + 900
    while len(spans) < len(workers):
        try:
            spans.append(results.get(timeout=1))
        except queue.Empty:
            # A worker that died before reporting (e.g. killed) must not hang us.
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                for worker in workers:
                    worker.kill()
                raise RuntimeError(
                    f"a worker process died (exit code {dead[0].exitcode})"
                    if dead
                    else "worker processes did not finish within 15 minutes"
                ) from None
    for worker in workers:
        worker.join(timeout=60)
    failed = [s for s in spans if isinstance(s, str)]
    if failed:
        raise RuntimeError(f"worker failed: {failed[0]}")
    return float(max(end for _, end in spans) - min(start for start, _ in spans))


def _populate_worker(
    system: str,
    backend: str,
    location: str,
    indexes: list[int],
    turns: int,
    barrier: Any,
    results: Any,
) -> None:
    import traceback

    try:
        with open_sync(system, backend, location) as subject:
            barrier.wait()
            start = time.time()  # wall clock: comparable across processes
            for index in indexes:
                for turn in range(turns):
                    subject.turn(f"thread-{index:05d}", turn)
            results.put((start, time.time()))
    except BaseException:
        results.put(traceback.format_exc())
        barrier.abort()


def _concurrent_worker(
    system: str,
    location: str,
    index: int,
    threads: int,
    turns: int,
    durability: str | None,
    barrier: Any,
    results: Any,
) -> None:
    import asyncio
    import traceback

    async def work() -> tuple[float, float]:
        async with open_async(system, "postgres", location, pooled=True) as subject:
            subject.durability = durability
            await asyncio.gather(
                *(subject.aturn(f"warm-{index}-{i}", 0) for i in range(threads))
            )
            await asyncio.to_thread(barrier.wait)

            async def one(thread: int) -> None:
                for turn in range(turns):
                    await subject.aturn(f"proc-{index}-{thread}", turn)

            start = time.time()  # wall clock: comparable across processes
            await asyncio.gather(*(one(i) for i in range(threads)))
            return start, time.time()

    try:
        results.put(asyncio.run(work()))
    except BaseException:
        results.put(traceback.format_exc())
        barrier.abort()

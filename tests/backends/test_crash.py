"""Crash safety: a graph run is killed with SIGKILL at random moments, on SQLite and
on PostgreSQL.

After every kill nothing another process saw committed may be lost, the store's own
bookkeeping must be sound (SQLite: ``PRAGMA integrity_check``; PostgreSQL: every
thread's row agrees with its checkpoints, every blob they reference is stored), and
resuming must continue exactly where the last commit left off. Each round adds 1 to
``counter`` and appends the new count to an append-only ``log``, then fans out with
``Send`` to ``PARTS`` tasks that each append their own ``"round.part"`` to ``parts``,
so a lost step, a step applied twice, a half-applied one or a send lost or run twice
across a kill shows as a gap, a duplicate or a mismatch between them. A second
program runs each round in a subgraph of two steps (its own timeline,
``"crash|round:<task id>"``), so a kill lands in the middle of a subgraph too: its
resume must continue the subgraph where it stopped, neither starting it over nor
losing its steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg
import pytest

from tests.backends.postgres_blobs import blob_keys
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint, CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer

TRIALS = 24  # SIGKILLs per program and backend
THREAD = "crash"
PARTS = 3

# A fork server: it pays the imports once, then forks a process per run, which opens
# the store, reads the thread's head (so a kill lands in the run, not in connecting)
# and says "running <pid>"; the server reports how the run ended. Nothing is open
# in the server when it forks, so a run shares no connection or thread with it.
CHILD = textwrap.dedent(
    """
    import operator, os, sys, time, traceback
    from typing import Annotated, TypedDict
    from timeloom.core import END, START, Send, StateGraph

    kind, where, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "sqlite":
        from timeloom.backends.sqlite import SqliteCheckpointer as Store
    else:
        from timeloom.backends.postgres import PostgresCheckpointer as Store

    def fan_out_rounds(target):
        class State(TypedDict):
            counter: int
            log: Annotated[list, operator.add]
            parts: Annotated[list, operator.add]
            pad: str

        def work(state):
            return {"counter": state["counter"] + 1, "log": [state["counter"] + 1]}

        def fan_out(state):
            if state["counter"] >= target:
                return END
            return [Send("part", [state["counter"], i]) for i in range(parts)]

        def part(arg):
            return {"parts": [f"{arg[0]}.{arg[1]}"]}

        graph = StateGraph(State)
        graph.add_node("work", work)
        graph.add_node("part", part)
        graph.add_edge(START, "work")
        graph.add_conditional_edges("work", fan_out, ["part", END])
        graph.add_edge("part", "work")
        return graph, {"counter": 0, "log": [], "parts": [], "pad": "p" * 300}

    def subgraph_rounds(target):
        class Inner(TypedDict):
            counter: int
            log: Annotated[list, operator.add]
            steps: Annotated[list, operator.add]

        def first(state):
            return {"steps": ["first"]}

        def second(state):
            time.sleep(0.002)  # so that many kills land between the two steps
            n = state["counter"] + 1
            return {"counter": n, "log": [n], "steps": ["second"]}

        inner = StateGraph(Inner)
        inner.add_node("first", first)
        inner.add_node("second", second)
        inner.add_edge(START, "first")
        inner.add_edge("first", "second")

        class State(TypedDict):
            counter: int
            log: list
            pad: str

        graph = StateGraph(State)
        graph.add_node("round", inner.compile())
        graph.add_edge(START, "round")
        graph.add_conditional_edges(
            "round", lambda s: END if s["counter"] >= target else "round"
        )
        return graph, {"counter": 0, "log": [], "pad": "p" * 300}

    def run(program, mode, target):
        programs = {"fan_out": fan_out_rounds, "subgraph": subgraph_rounds}
        graph, start = programs[program](target)
        app = graph.compile(checkpointer=Store(where))
        config = {"configurable": {"thread_id": "crash"}, "recursion_limit": 10**9}
        app.get_state(config)
        print("running", os.getpid(), flush=True)
        out = app.invoke(start if mode == "start" else None, config)
        print("done", out["counter"], flush=True)

    print("ready", flush=True)
    for line in sys.stdin:
        program, mode, target = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(program, mode, int(target))
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # not back into the loop, nor the server's exit handlers
        print("exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
    """
)


class Store(Protocol):
    """Where the child commits, and how another process looks at it."""

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgres``: which checkpointer the runs use."""

    @property
    def where(self) -> str:
        """The SQLite file's path or the PostgreSQL database's DSN."""

    def committed(self) -> tuple[str, int] | None:
        """The thread's head and checkpoint count, as another process sees them now."""

    def check_sound(self) -> None:
        """Assert that the store's own bookkeeping is sound after a kill."""

    def reader(self) -> BaseCheckpointer:
        """The store opened read-only, through the checkpointer's read API."""


@dataclass
class SqliteFile:
    path: Path
    kind: str = "sqlite"

    @property
    def where(self) -> str:
        return str(self.path)

    def committed(self) -> tuple[str, int] | None:
        if not self.path.exists():
            return None
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(
                "SELECT head_id, checkpoint_count FROM threads WHERE thread_id = ?",
                (THREAD,),
            ).fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return None
        finally:
            conn.close()
        return (row[0], row[1]) if row else None

    def check_sound(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()

    def reader(self) -> BaseCheckpointer:
        return SqliteCheckpointer(self.path, read_only=True)


_T = TypeVar("_T")

# Threads whose row disagrees with their checkpoints: a half-applied commit.
_UNSOUND_THREADS_SQL = """
SELECT t.thread_id FROM timeloom_threads AS t
WHERE t.checkpoint_count <> (SELECT count(*) FROM timeloom_checkpoints AS c
                             WHERE c.thread_id = t.thread_id)
   OR NOT EXISTS (SELECT 1 FROM timeloom_checkpoints AS c
                  WHERE c.id = t.head_id AND c.thread_id = t.thread_id)
"""


@dataclass
class PostgresDatabase:
    where: str
    """The database's DSN."""
    kind: str = "postgres"

    def _query(self, run: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        """Run ``run`` on a connection of its own: it sees what is committed."""

        async def go() -> _T:
            conn = await asyncpg.connect(self.where)
            try:
                return await run(conn)
            finally:
                await conn.close()

        return asyncio.run(go())

    def committed(self) -> tuple[str, int] | None:
        async def head(conn: asyncpg.Connection) -> tuple[str, int] | None:
            try:
                row = await conn.fetchrow(
                    "SELECT head_id, checkpoint_count FROM timeloom_threads "
                    "WHERE thread_id = $1",
                    THREAD,
                )
            except asyncpg.UndefinedTableError:  # the schema is not there yet
                return None
            return (row[0], row[1]) if row else None

        return self._query(head)

    def check_sound(self) -> None:
        async def check(conn: asyncpg.Connection) -> None:
            assert await conn.fetch(_UNSOUND_THREADS_SQL) == []
            stored, needed = await blob_keys(conn)
            assert needed <= stored, "a checkpoint's blob is missing"

        self._query(check)

    def reader(self) -> BaseCheckpointer:
        return PostgresCheckpointer(self.where, read_only=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An empty store of each backend (PostgreSQL: a fresh database; skips, or fails
    in CI, without a server)."""
    if request.param == "sqlite":
        return SqliteFile(tmp_path / "crash.db")
    return PostgresDatabase(request.getfixturevalue("postgres_dsn"))


class Runner:
    """The fork server of ``CHILD`` for one store: starts runs, kills them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # stderr is the test's: a run's traceback shows in the test's report.
        self.server = subprocess.Popen(
            [sys.executable, "-c", CHILD, store.kind, store.where, str(PARTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.running: int | None = None  # the pid of the run under way
        assert self._line() == ["ready"]

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        # A failed check may leave a run going (its target is 10**9): end it too.
        if self.running is not None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(self.running, signal.SIGKILL)
        self.server.kill()
        self.server.wait()

    def _line(self) -> list[str]:
        assert self.server.stdout is not None
        line = self.server.stdout.readline().split()
        assert line, "the fork server died (its traceback is in the captured stderr)"
        if line[0] == "exit":
            self.running = None
        return line

    def _start(self, program: str, target: int) -> int:
        """Start a run of ``program`` (resuming the thread if it has begun); return
        its pid once it runs."""
        mode = "resume" if self.store.committed() is not None else "start"
        assert self.server.stdin is not None
        self.server.stdin.write(f"{program} {mode} {target}\n")
        self.server.stdin.flush()
        line = self._line()
        assert line[0] == "running", line
        self.running = int(line[1])
        return self.running

    def kill_at_random(self, program: str, rng: random.Random) -> str | None:
        """Run ``program`` and SIGKILL it at a random moment; return the head that
        another process saw committed just before."""
        pid = self._start(program, target=10**9)
        time.sleep(rng.uniform(0.0, 0.15))
        seen = self.store.committed()
        os.kill(pid, signal.SIGKILL)
        assert self._line() == ["exit", str(-signal.SIGKILL)]
        self.store.check_sound()
        return seen[0] if seen else None

    def finish(self, program: str, target: int) -> None:
        """Resume once more and let the run end at ``target``."""
        self._start(program, target)
        assert self._line() == ["done", str(target)]
        assert self._line() == ["exit", "0"]
        self.store.check_sound()


def check_values(values: Any) -> int:
    if "counter" not in values:  # the input checkpoint: before the input
        assert values == {"log": [], "parts": []}
        return 0
    counter = values["counter"]
    assert values["log"] == list(range(1, counter + 1))
    assert values["pad"] == "p" * 300
    # Every round before this one fanned out fully; this one may be due still.
    rounds = len(values["parts"]) // PARTS
    assert rounds in (counter - 1, counter), values["parts"]
    expected = [f"{r}.{i}" for r in range(1, rounds + 1) for i in range(PARTS)]
    assert values["parts"] == expected
    return int(counter)


async def head_and_history(
    reader: BaseCheckpointer, seen_head: str | None
) -> tuple[Checkpoint, Checkpoint | None, list[CheckpointMeta]]:
    """Read the thread's head, the checkpoint ``seen_head`` names (one another
    process saw committed: it must have survived) and the history, newest first;
    assert the history is linear (each checkpoint's parent is the one before it,
    steps consecutive)."""
    head = await reader.get(THREAD)
    assert head is not None
    seen = None
    if seen_head is not None:
        seen = await reader.get(THREAD, seen_head)
        assert seen is not None, "a checkpoint seen committed was lost"
    metas = [m async for m in reader.summaries(THREAD)]
    for newer, older in zip(metas, metas[1:], strict=False):
        assert newer.parent_id == older.id
        assert newer.step == older.step + 1
    return head, seen, metas


async def check_chain(store: Store, seen_head: str | None) -> tuple[int, int]:
    """Verify the head, that ``seen_head`` survived, and that history is linear;
    return the head's counter and whether its sends are still due (1 or 0)."""
    async with store.reader() as reader:
        head, seen, metas = await head_and_history(reader, seen_head)
        counter = check_values(head.values)
        if seen is not None:
            assert check_values(seen.values) <= counter
        info = await reader.get_thread(THREAD)
        assert info is not None
        assert len(metas) == info.checkpoint_count
        for meta in random.sample(metas, min(8, len(metas))):
            cp = await reader.get(THREAD, meta.id)
            assert cp is not None
            check_values(cp.values)
        return counter, int(head.next == ("part",) * PARTS)


async def check_rounds(store: Store, seen_head: str | None) -> tuple[int, int]:
    """Verify the parent's chain and every round's subgraph timeline; return the
    head's counter and how many rounds' subgraphs stopped between their steps."""
    async with store.reader() as reader:
        head, _, _ = await head_and_history(reader, seen_head)
        counter = head.values.get("counter", 0)
        assert head.values.get("log", []) == list(range(1, counter + 1))
        halfway = 0
        rounds = await reader.subgraphs(THREAD)
        assert all(r.thread_id.startswith(f"{THREAD}|round:") for r in rounds)
        for info in rounds:
            sub = await reader.get(info.thread_id)
            assert sub is not None
            # Run once each, whatever the kills: never started over, never lost.
            assert sub.values["steps"] in ([], ["first"], ["first", "second"])
            halfway += sub.values["steps"] == ["first"]
        # A round is one parent step: no more rounds than steps, at most one open.
        assert len(rounds) - counter in (0, 1)
        return counter, halfway


Check = Callable[[Store, str | None], Coroutine[Any, Any, tuple[int, int]]]


def kill_trials(runner: Runner, program: str, check: Check, seed: int) -> int:
    """SIGKILL ``TRIALS`` runs of ``program`` at random moments, each kill followed
    by ``check`` once the thread has begun; return the sum of the kills' counts
    (the second number ``check`` returns)."""
    rng = random.Random(seed)
    counted = 0
    for _ in range(TRIALS):
        seen = runner.kill_at_random(program, rng)
        if runner.store.committed() is not None:
            counted += asyncio.run(check(runner.store, seen))[1]
    return counted


def test_sigkill_at_random_moments_then_resume(store: Store) -> None:
    with Runner(store) as runner:
        killed_mid_fan_out = kill_trials(runner, "fan_out", check_chain, 20261123)
        assert killed_mid_fan_out > 0, "no kill left sends due: the test proves nothing"
        head = store.committed()
        assert head is not None
        assert head[1] > TRIALS  # the runs did make progress between kills
        before, _ = asyncio.run(check_chain(store, None))
        runner.finish("fan_out", before + 5)
    assert asyncio.run(check_chain(store, head[0]))[0] == before + 5


def test_sigkill_inside_subgraphs_then_resume(store: Store) -> None:
    with Runner(store) as runner:
        halfway_seen = kill_trials(runner, "subgraph", check_rounds, 20261206)
        assert halfway_seen > 0, (
            "no kill stopped a subgraph midway: the test proves nothing"
        )
        before, _ = asyncio.run(check_rounds(store, None))
        runner.finish("subgraph", before + 5)
    assert asyncio.run(check_rounds(store, None)) == (before + 5, 0)

"""Crash safety: a graph run on SQLite is killed with SIGKILL at random moments.

After every kill the file must pass ``PRAGMA integrity_check``, nothing another
process saw committed may be lost, and resuming must continue exactly where the
last commit left off. Each round adds 1 to ``counter`` and appends the new count to
an append-only ``log``, then fans out with ``Send`` to ``PARTS`` tasks that each
append their own ``"round.part"`` to ``parts``, so a lost step, a step applied
twice, a half-applied one or a send lost or run twice across a kill shows as a
gap, a duplicate or a mismatch between them. A second program runs each round in a
subgraph of two steps (its own timeline, ``"crash|round:<task id>"``), so a kill
lands in the middle of a subgraph too: its resume must continue the subgraph where
it stopped, neither starting it over nor losing its steps.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from timeloom.backends.sqlite import SqliteCheckpointer

TRIALS = 24
THREAD = "crash"
PARTS = 3

CHILD = textwrap.dedent(
    """
    import operator, sys
    from typing import Annotated, TypedDict
    from timeloom.core import END, START, Send, StateGraph
    from timeloom.backends.sqlite import SqliteCheckpointer

    path, mode, target, parts = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5])

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
    app = graph.compile(checkpointer=SqliteCheckpointer(path))
    config = {"configurable": {"thread_id": "crash"}, "recursion_limit": 10**9}
    start = {"counter": 0, "log": [], "parts": [], "pad": "p" * 300}
    print("ready", flush=True)
    out = app.invoke(start if mode == "start" else None, config)
    print("done", out["counter"], flush=True)
    """
)


def committed(path: Path) -> tuple[str, int] | None:
    """The thread's head and checkpoint count, as another process sees them now."""
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
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


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def spawn(
    path: Path, mode: str, target: int, program: str = CHILD
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", program, str(path), mode, str(target), str(PARTS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr
    return proc


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


async def check_chain(path: Path, seen_head: str | None) -> tuple[int, bool]:
    """Verify the head, that ``seen_head`` survived, and that history is linear;
    return the head's counter and whether its sends are still due."""
    async with SqliteCheckpointer(path, read_only=True) as store:
        head = await store.get(THREAD)
        assert head is not None
        counter = check_values(head.values)
        fanning_out = head.next == ("part",) * PARTS
        if seen_head is not None:
            seen = await store.get(THREAD, seen_head)
            assert seen is not None, "a checkpoint seen committed was lost"
            assert check_values(seen.values) <= counter
        metas = [m async for m in store.summaries(THREAD)]
        info = await store.get_thread(THREAD)
        assert info is not None
        assert len(metas) == info.checkpoint_count
        # Linear: each checkpoint's parent is the one before it, steps consecutive.
        for newer, older in zip(metas, metas[1:], strict=False):
            assert newer.parent_id == older.id
            assert newer.step == older.step + 1
        for meta in random.sample(metas, min(8, len(metas))):
            cp = await store.get(THREAD, meta.id)
            assert cp is not None
            check_values(cp.values)
        return counter, fanning_out


def test_sigkill_at_random_moments_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    rng = random.Random(20261123)
    killed_mid_run = killed_mid_fan_out = 0
    for _ in range(TRIALS):
        mode = "resume" if committed(path) is not None else "start"
        proc = spawn(path, mode, target=10**9)
        time.sleep(rng.uniform(0.0, 0.15))
        seen = committed(path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed_mid_run += proc.returncode == -signal.SIGKILL
        assert integrity(path) == "ok"
        if committed(path) is not None:
            _, fanning_out = asyncio.run(check_chain(path, seen[0] if seen else None))
            killed_mid_fan_out += fanning_out
    assert killed_mid_run == TRIALS
    assert killed_mid_fan_out > 0, "no kill left sends due: the test proves nothing"
    head = committed(path)
    assert head is not None
    assert head[1] > TRIALS  # the runs did make progress between kills
    # Resume once more and let the run finish.
    before, _ = asyncio.run(check_chain(path, None))
    proc = spawn(path, "resume", target=before + 5)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["done", str(before + 5)]
    assert asyncio.run(check_chain(path, head[0]))[0] == before + 5
    assert integrity(path) == "ok"


SUBGRAPH_CHILD = textwrap.dedent(
    """
    import operator, sys
    from typing import Annotated, TypedDict
    from timeloom.core import END, START, StateGraph
    from timeloom.backends.sqlite import SqliteCheckpointer

    path, mode, target = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class Inner(TypedDict):
        counter: int
        log: Annotated[list, operator.add]
        steps: Annotated[list, operator.add]

    def first(state):
        return {"steps": ["first"]}

    def second(state):
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
    app = graph.compile(checkpointer=SqliteCheckpointer(path))
    config = {"configurable": {"thread_id": "crash"}, "recursion_limit": 10**9}
    start = {"counter": 0, "log": [], "pad": "p" * 300}
    print("ready", flush=True)
    out = app.invoke(start if mode == "start" else None, config)
    print("done", out["counter"], flush=True)
    """
)


async def check_rounds(path: Path, seen_head: str | None) -> tuple[int, int]:
    """Verify the parent's chain and every round's subgraph timeline; return the
    head's counter and how many rounds' subgraphs stopped between their steps."""
    async with SqliteCheckpointer(path, read_only=True) as store:
        head = await store.get(THREAD)
        assert head is not None
        counter = head.values.get("counter", 0)
        assert head.values.get("log", []) == list(range(1, counter + 1))
        if seen_head is not None:
            assert await store.get(THREAD, seen_head) is not None, "a commit was lost"
        metas = [m async for m in store.summaries(THREAD)]
        for newer, older in zip(metas, metas[1:], strict=False):
            assert newer.parent_id == older.id
        halfway = 0
        rounds = await store.subgraphs(THREAD)
        assert all(r.thread_id.startswith(f"{THREAD}|round:") for r in rounds)
        for info in rounds:
            sub = await store.get(info.thread_id)
            assert sub is not None
            # Run once each, whatever the kills: never started over, never lost.
            assert sub.values["steps"] in ([], ["first"], ["first", "second"])
            halfway += sub.values["steps"] == ["first"]
        # A round is one parent step: no more rounds than steps, at most one open.
        assert len(rounds) - counter in (0, 1)
        return counter, halfway


def test_sigkill_inside_subgraphs_then_resume(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    rng = random.Random(20261206)
    halfway_seen = 0
    for _ in range(TRIALS):
        mode = "resume" if committed(path) is not None else "start"
        proc = spawn(path, mode, 10**9, SUBGRAPH_CHILD)
        time.sleep(rng.uniform(0.0, 0.15))
        seen = committed(path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert integrity(path) == "ok"
        if committed(path) is not None:
            _, halfway = asyncio.run(check_rounds(path, seen[0] if seen else None))
            halfway_seen += halfway
    assert halfway_seen > 0, (
        "no kill stopped a subgraph midway: the test proves nothing"
    )
    before, _ = asyncio.run(check_rounds(path, None))
    proc = spawn(path, "resume", before + 5, SUBGRAPH_CHILD)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["done", str(before + 5)]
    after, halfway = asyncio.run(check_rounds(path, None))
    assert (after, halfway) == (before + 5, 0)
    assert integrity(path) == "ok"

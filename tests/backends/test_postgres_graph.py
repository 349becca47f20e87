"""A graph run on PostgreSQL survives the server restarting in the middle of it."""

from __future__ import annotations

import operator
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from tests.conftest import PostgresServer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.core import END, START, CompiledGraph, StateGraph, StoreConnectionError
from timeloom.core.sync import run_sync
from timeloom.core.writer import Durability

pytestmark = pytest.mark.postgres


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    count: int


def build(
    checkpointer: PostgresCheckpointer,
    calls: Counter[str],
    during_step2: Callable[[], None],
) -> CompiledGraph:
    """step1 -> step2 -> step3; step2 calls ``during_step2`` the first time."""

    def make(name: str) -> Any:
        def node(state: State) -> dict[str, Any]:
            calls[name] += 1
            if name == "step2" and calls[name] == 1:
                during_step2()
            return {"log": [name], "count": state["count"] + 1}

        return node

    graph = StateGraph(State)
    for name in ("step1", "step2", "step3"):
        graph.add_node(name, make(name))
    graph.add_edge(START, "step1")
    graph.add_edge("step1", "step2")
    graph.add_edge("step2", "step3")
    graph.add_edge("step3", END)
    return graph.compile(checkpointer=checkpointer)


def test_server_down_mid_run_then_resume(
    restartable_server: PostgresServer, postgres_dsn: str
) -> None:
    cp = PostgresCheckpointer(postgres_dsn)
    calls: Counter[str] = Counter()
    app = build(cp, calls, during_step2=lambda: restartable_server.stop("fast"))
    config = {"configurable": {"thread_id": "run"}}
    try:
        with pytest.raises(StoreConnectionError, match="reconnects"):
            app.invoke({"log": [], "count": 0}, config)
    finally:
        restartable_server.start()
    # The same process and checkpointer resume from the last committed step:
    # step1 is not run again, step2 is.
    result = app.invoke(None, config)
    assert result == {"log": ["step1", "step2", "step3"], "count": 3}
    assert calls == Counter(step1=1, step2=2, step3=1)
    history = list(app.get_state_history(config))
    assert [h.metadata.get("step") for h in history] == [3, 2, 1, 0, -1]
    assert len({h.config["configurable"]["checkpoint_id"] for h in history}) == 5
    run_sync(cp.aclose())


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_server_restarted_mid_run_is_invisible(
    restartable_server: PostgresServer, postgres_dsn: str, durability: Durability
) -> None:
    def restart() -> None:
        restartable_server.stop("fast")
        restartable_server.start()

    cp = PostgresCheckpointer(postgres_dsn)
    calls: Counter[str] = Counter()
    app = build(cp, calls, during_step2=restart)
    config = {"configurable": {"thread_id": "run"}}
    # The pooled connections died while step2 ran; the commits use fresh ones
    # (with durability="async", the whole run is one chain committed at the end).
    result = app.invoke({"log": [], "count": 0}, config, durability=durability)
    assert result == {"log": ["step1", "step2", "step3"], "count": 3}
    assert calls == Counter(step1=1, step2=1, step3=1)
    assert len(list(app.get_state_history(config))) == 5
    run_sync(cp.aclose())


_EXIT_WHILE_DOWN = """
import sys
from collections import Counter
from tests.backends.test_postgres_graph import build
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.core import StoreConnectionError

def wait_for_the_stop() -> None:
    print("stop it", flush=True)
    sys.stdin.readline()

cp = PostgresCheckpointer(sys.argv[1], pool_min=2)
app = build(cp, Counter(), during_step2=wait_for_the_stop)
try:
    app.invoke({"log": [], "count": 0}, {"configurable": {"thread_id": "t"}})
except StoreConnectionError:
    print("lost", flush=True)
"""


def test_exit_while_the_server_is_down_leaves_no_task_pending(
    restartable_server: PostgresServer, postgres_dsn: str
) -> None:
    # The sync API's loop outlives the run; asyncpg's pool keeps a task on it that
    # retries the connection floor. The process ends without closing anything.
    child = subprocess.Popen(
        [sys.executable, "-c", _EXIT_WHILE_DOWN, postgres_dsn],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "stop it\n"
        restartable_server.stop("immediate")
        out, err = child.communicate("\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        restartable_server.start()
    assert child.returncode == 0, err
    assert out == "lost\n"
    assert "Task was destroyed but it is pending" not in err

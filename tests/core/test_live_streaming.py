"""Chunks arrive while the step that makes them still runs, as LangGraph's: a
task's update as it finishes, a subgraph's chunks as its steps end.

Each test makes a node wait until the caller has seen a chunk of a sibling
that is still running in the same step: streamed live, the node goes on at
once; streamed at the end of the step only, it gives up after ``PATIENCE``
seconds and says so.
"""

from __future__ import annotations

import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import START, StateGraph, interrupt

PATIENCE = 3.0


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


def waiting_for(seen: threading.Event, name: str) -> Any:
    """A node that waits until ``seen`` is set, and writes whether it was."""

    def node(state: Log) -> dict[str, Any]:
        return {"log": [f"{name}:{'live' if seen.wait(PATIENCE) else 'late'}"]}

    return node


@pytest.mark.parametrize("modes", ["updates", ["updates", "custom"]])
def test_a_tasks_update_arrives_while_its_siblings_run(modes: Any) -> None:
    fast_seen = threading.Event()
    graph = StateGraph(Log)
    graph.add_node("fast", lambda s: {"log": ["fast"]})
    graph.add_node("slow", waiting_for(fast_seen, "slow"))
    graph.add_edge(START, "fast")
    graph.add_edge(START, "slow")
    app = graph.compile(checkpointer=MemoryCheckpointer())
    seen = []
    for chunk in app.stream({"log": []}, config(), stream_mode=modes):
        update = chunk[1] if isinstance(modes, list) else chunk
        seen.append(update)
        if "fast" in update:
            fast_seen.set()
    assert seen == [{"fast": {"log": ["fast"]}}, {"slow": {"log": ["slow:live"]}}]


def test_a_subgraphs_chunks_arrive_while_the_parents_step_runs() -> None:
    """``inner`` (``first`` then ``second``) runs beside ``outer``: ``outer``
    waits for ``first``'s chunk, ``second`` for ``outer``'s."""
    first_seen, outer_seen = threading.Event(), threading.Event()
    inner = StateGraph(Log)
    inner.add_node("first", lambda s: {"log": ["first"]})
    inner.add_node("second", waiting_for(outer_seen, "second"))
    inner.add_edge(START, "first")
    inner.add_edge("first", "second")
    graph = StateGraph(Log)
    graph.add_node("inner", inner.compile())
    graph.add_node("outer", waiting_for(first_seen, "outer"))
    graph.add_edge(START, "inner")
    graph.add_edge(START, "outer")
    app = graph.compile(checkpointer=MemoryCheckpointer())
    seen = []
    for ns, update in app.stream({"log": []}, config(), subgraphs=True):
        seen.append((tuple(part.split(":")[0] for part in ns), update))
        if "first" in update:
            first_seen.set()
        if "outer" in update and not ns:
            outer_seen.set()
    assert seen == [
        (("inner",), {"first": {"log": ["first"]}}),
        ((), {"outer": {"log": ["outer:live"]}}),
        (("inner",), {"second": {"log": ["second:live"]}}),
        ((), {"inner": {"log": ["first", "second:live"]}}),
    ]


def test_siblings_stream_live_after_a_task_is_interrupted() -> None:
    """``ask`` is interrupted first; ``fast`` finishes after it, and ``slow``
    waits for ``fast``'s chunk: the interrupted task holds back only its own."""
    asked, fast_seen = threading.Event(), threading.Event()

    def ask(state: Log) -> dict[str, Any]:
        asked.set()
        return {"log": [interrupt("why?")]}

    def fast(state: Log) -> dict[str, Any]:
        asked.wait(PATIENCE)
        time.sleep(0.05)  # ask's end is recorded first
        return {"log": ["fast"]}

    graph = StateGraph(Log)
    graph.add_node("ask", ask)
    graph.add_node("fast", fast)
    graph.add_node("slow", waiting_for(fast_seen, "slow"))
    for name in ("ask", "fast", "slow"):
        graph.add_edge(START, name)
    app = graph.compile(checkpointer=MemoryCheckpointer())
    seen = []
    for update in app.stream({"log": []}, config()):
        seen.append(
            {k: v if k != "__interrupt__" else len(v) for k, v in update.items()}
        )
        if "fast" in update:
            fast_seen.set()
    assert seen == [
        {"fast": {"log": ["fast"]}},
        {"slow": {"log": ["slow:live"]}},
        {"__interrupt__": 1},
    ]

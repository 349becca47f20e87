"""Deferred nodes, ``add_node(..., defer=True)``: once due, a deferred node waits
until no other node is due, then runs once (the join of a map-reduce whose
branches have different lengths).

Each graph is built the same way on LangGraph and on Timeloom and run on both:
the updates and the history's ``next`` must be LangGraph's. What a deferred node
waits for is kept on the checkpoints, so it survives a failed step and a store
reopened by a graph compiled anew.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import Api, run_on_both
from timeloom.core import START, Send, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def node(name: str, failing: set[str] | None = None) -> Callable[[State], Any]:
    def run(state: State) -> dict[str, Any]:
        if failing is not None and name in failing:
            failing.discard(name)
            raise RuntimeError(f"{name} failed")
        return {"log": [name]}

    return run


def uneven(graph: Any, start: str, send: Any, failing: set[str] | None = None) -> Any:
    """start -> a; a -> b -> c; a sends to w twice; a, w -> j (deferred)."""
    for name in ("a", "b", "c", "w"):
        graph.add_node(name, node(name, failing))
    graph.add_node("j", node("j"), defer=True)
    graph.add_edge(start, "a")
    graph.add_conditional_edges("a", lambda s: [send("w", {}), send("w", {})])
    graph.add_edge("a", "b").add_edge("b", "c")
    graph.add_edge("a", "j").add_edge("w", "j")
    return graph


def run_both(build: Callable[[Any, str, Any], Any]) -> Any:
    """The history, as (next, values) pairs, of the graph run on LangGraph and on
    Timeloom (the values' log says in which order the nodes' updates applied):
    asserts the two agree and returns Timeloom's."""

    def on(api: Api) -> list[tuple[Any, Any]]:
        graph = build(api.StateGraph(State), api.START, api.Send)
        app = graph.compile(checkpointer=api.checkpointer())
        app.invoke({"log": []}, config())
        return [(s.next, s.values) for s in app.get_state_history(config())]

    return run_on_both(on)


def test_a_deferred_join_runs_once_after_the_longest_branch() -> None:
    timeloom = run_both(uneven)
    assert timeloom[0][1] == {"log": ["a", "b", "w", "w", "c", "j"]}
    assert [n for n, _ in timeloom] == [
        (),
        ("j",),
        ("c",),
        ("w", "w", "b"),
        ("a",),
        (START,),
    ]


def test_pending_sends_do_not_hold_a_deferred_node_back() -> None:
    def build(graph: Any, start: str, send: Any) -> Any:
        graph.add_node("a", node("a")).add_node("w", node("w"))
        graph.add_node("j", node("j"), defer=True)
        graph.add_edge(start, "a").add_edge("a", "j")
        graph.add_conditional_edges("a", lambda s: [send("w", {}), send("w", {})])
        return graph

    timeloom = run_both(build)
    assert timeloom[1][0] == ("w", "w", "j")


def test_a_waiting_edge_into_a_deferred_node_runs_it_when_nothing_else_is_due() -> None:
    def build(graph: Any, start: str, send: Any) -> Any:
        for name in "abcd":
            graph.add_node(name, node(name))
        graph.add_node("j", node("j"), defer=True)
        graph.add_edge(start, "a").add_edge(start, "b")
        graph.add_edge("b", "c").add_edge("c", "d")
        graph.add_edge(["a", "b"], "j")
        return graph

    timeloom = run_both(build)
    assert timeloom[0][1] == {"log": ["a", "b", "c", "d", "j"]}


def test_a_held_deferred_node_survives_a_failed_step_and_a_new_graph(
    stored: BaseCheckpointer,
) -> None:
    """``j`` is due after step 1 but held while ``c`` is due; ``c`` fails. A graph
    compiled anew on the same store resumes and runs ``j`` once, after ``c``."""
    with pytest.raises(RuntimeError, match="c failed"):
        uneven(StateGraph(State), START, Send, {"c"}).compile(
            checkpointer=stored
        ).invoke({"log": []}, config())
    app = uneven(StateGraph(State), START, Send).compile(checkpointer=stored)
    assert app.get_state(config()).next == ("c",)
    assert app.invoke(None, config()) == {"log": ["a", "b", "w", "w", "c", "j"]}
    history = list(app.get_state_history(config()))
    assert [s.next for s in history][:3] == [(), ("j",), ("c",)]
    # What a deferred node waits for is the runtime's, not the user's metadata.
    assert not any(k.startswith("__") for s in history for k in s.metadata)

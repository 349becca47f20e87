"""Waiting edges, ``add_edge(["a", "b"], "c")``: ``c`` runs once, after both.

The starts may finish in different steps; what a waiting edge has seen is kept
on each checkpoint, so it survives a failed step, a resume and a reopened store.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import Api, run_on_both
from timeloom.core import END, START, CompiledGraph, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def uneven(checkpointer: BaseCheckpointer | None, failing: set[str]) -> CompiledGraph:
    """START -> a, START -> b -> b2; [a, b2] -> c -> END. Nodes in ``failing``
    raise once (the set is emptied as they do)."""

    def node(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            if name in failing:
                failing.discard(name)
                raise RuntimeError(f"{name} failed")
            return {"log": [name]}

        return run

    graph = StateGraph(State)
    for name in ("a", "b", "b2", "c"):
        graph.add_node(name, node(name))
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")
    graph.add_edge("b", "b2")
    graph.add_edge(["a", "b2"], "c")
    graph.add_edge("c", END)
    return graph.compile(checkpointer=checkpointer)


def test_the_end_runs_once_after_starts_that_finish_in_different_steps() -> None:
    assert uneven(None, set()).invoke({"log": []}) == {"log": ["a", "b", "b2", "c"]}


def test_starts_finishing_in_the_same_step_run_the_end_once() -> None:
    graph = StateGraph(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, lambda s, name=name: {"log": [name]})
    graph.add_edge(START, "a").add_edge(START, "b")
    graph.add_edge(["a", "b"], "c").add_edge("a", "c")  # a plain edge as well
    assert graph.compile().invoke({"log": []}) == {"log": ["a", "b", "c"]}


def test_a_failed_step_between_the_starts_resumes_into_the_end(
    stored: BaseCheckpointer,
) -> None:
    """``a`` finished at step 1; ``b2`` fails at step 2. A graph compiled anew on
    the same store resumes: ``c`` runs once, after ``b2``."""
    with pytest.raises(RuntimeError, match="b2 failed"):
        uneven(stored, {"b2"}).invoke({"log": []}, config())
    app = uneven(stored, set())
    assert app.get_state(config()).next == ("b2",)
    assert app.invoke(None, config()) == {"log": ["a", "b", "b2", "c"]}
    history = list(app.get_state_history(config()))
    assert [s.next for s in history] == [(), ("c",), ("b2",), ("a", "b"), (START,)]
    # What the edge waits for is the runtime's, not the user's metadata.
    assert all(set(s.metadata) >= {"source", "step"} for s in history)
    assert not any(k.startswith("__") for s in history for k in s.metadata)


def test_update_state_as_a_start_counts_for_the_edge(
    stored: BaseCheckpointer,
) -> None:
    """An update written as ``b2`` finishes that start, as LangGraph's does."""
    graph = StateGraph(State)
    for name in ("a", "b2", "c"):
        graph.add_node(name, lambda s, name=name: {"log": [name]})
    graph.add_edge(START, "a").add_edge(["a", "b2"], "c")
    app = graph.compile(checkpointer=stored)
    app.invoke({"log": []}, config())
    assert app.get_state(config()).next == ()  # a ran; the edge waits for b2
    app.update_state(config(), {"log": ["edited"]}, as_node="b2")
    assert app.get_state(config()).next == ("c",)
    assert app.invoke(None, config()) == {"log": ["a", "edited", "c"]}


def test_a_waiting_edge_is_drawn_as_langgraph_draws_it() -> None:
    """One edge from each start, in the same Mermaid text as LangGraph's."""

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State)
        for name in ("a", "b", "c"):
            graph.add_node(name, lambda s: {})
        graph.add_edge(api.START, "a")
        graph.add_edge(api.START, "b")
        graph.add_edge(["a", "b"], "c")
        graph.add_edge("c", api.END)
        return graph.compile().get_graph().draw_mermaid()

    assert "\ta --> c;" in run_on_both(scenario)

"""compile() rejects malformed graphs with messages that say what to do, and
accepts what LangGraph accepts."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, Command, StateGraph
from timeloom.core.errors import GraphValidationError


class State(TypedDict):
    n: int


def noop(state: State) -> dict[str, Any]:
    return {}


def test_unknown_node_in_edge() -> None:
    graph = StateGraph(State).add_node("a", noop)
    graph.add_edge(START, "a").add_edge("a", "b")
    with pytest.raises(GraphValidationError, match="unknown node 'b'"):
        graph.compile()


def test_no_entry_point() -> None:
    graph = StateGraph(State).add_node("a", noop).add_edge("a", END)
    with pytest.raises(GraphValidationError, match="no entry point"):
        graph.compile()


def test_a_node_without_outgoing_edge_ends_its_branch() -> None:
    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def say(name: str) -> Any:
        return lambda state: {"log": [name]}

    graph = StateGraph(Log)
    for name in ("a", "b", "c", "d"):
        graph.add_node(name, say(name))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")  # b has no edge: that branch ends
    graph.add_edge("a", "c")
    graph.add_edge("c", "d")  # d has none either: the run ends
    app = graph.compile(checkpointer=MemoryCheckpointer())
    config = {"configurable": {"thread_id": "t"}}
    assert app.invoke({"log": []}, config) == {"log": ["a", "b", "c", "d"]}
    assert app.get_state(config).next == ()


def test_command_goto_without_annotation_reaches_a_node_no_edge_leads_to() -> None:
    def hop(state: State) -> Any:  # no "-> Command[...]" annotation
        return Command(goto="island", update={"n": 1})

    def island(state: State) -> dict[str, int]:
        return {"n": state["n"] + 10}

    graph = StateGraph(State).add_node("hop", hop).add_node("island", island)
    graph.add_edge(START, "hop")
    assert graph.compile().invoke({"n": 0}) == {"n": 11}


def test_unmapped_router_may_reach_any_node() -> None:
    graph = StateGraph(State).add_node("a", noop).add_node("b", noop)
    graph.add_edge(START, "a").add_conditional_edges("a", lambda s: "b")
    graph.add_edge("b", END)
    graph.compile()  # no error: the router could return "b"


def test_path_map_with_unknown_node() -> None:
    graph = StateGraph(State).add_node("a", noop)
    graph.add_edge(START, "a").add_conditional_edges("a", lambda s: "x", {"x": "ghost"})
    with pytest.raises(GraphValidationError, match="unknown node 'ghost'"):
        graph.compile()


def test_interrupt_names_must_be_nodes() -> None:
    graph = (
        StateGraph(State).add_node("a", noop).add_edge(START, "a").add_edge("a", END)
    )
    with pytest.raises(GraphValidationError, match="interrupt_before names unknown"):
        graph.compile(interrupt_before=["nope"])


def test_reserved_and_duplicate_names() -> None:
    graph = StateGraph(State).add_node("a", noop)
    with pytest.raises(GraphValidationError, match="already exists"):
        graph.add_node("a", noop)
    with pytest.raises(GraphValidationError, match="reserved"):
        graph.add_node(END, noop)
    with pytest.raises(GraphValidationError, match="at least one start"):
        graph.add_edge([], "a")
    with pytest.raises(GraphValidationError, match="must end at a node"):
        graph.add_edge(["a"], END)
    graph.add_edge(START, "a").add_edge(["a", "b"], "a")
    with pytest.raises(GraphValidationError, match="unknown node 'b'"):
        graph.compile()


def test_add_node_names_a_function_after_itself() -> None:
    graph = (
        StateGraph(State).add_node(noop).add_edge(START, "noop").add_edge("noop", END)
    )
    assert graph.compile().invoke({"n": 1}) == {"n": 1}


def test_entry_and_finish_points_are_edges_from_start_and_to_end() -> None:
    graph = StateGraph(State).add_node("only", lambda s: {"n": s["n"] + 1})
    graph.set_entry_point("only").set_finish_point("only")
    assert graph.edges == [(START, "only"), ("only", END)]
    assert graph.compile().invoke({"n": 1}) == {"n": 2}


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [("ghost", "a", "starting at unknown node 'ghost'"), ("a", "ghost", "ending")],
)
def test_an_edge_to_or_from_an_unknown_node_is_refused_in_langgraphs_words(
    start: str, end: str, words: str
) -> None:
    from langgraph.graph import START as LG_START
    from langgraph.graph import StateGraph as LgStateGraph

    for graph_cls, first in ((LgStateGraph, LG_START), (StateGraph, START)):
        graph = graph_cls(State)
        graph.add_node("a", lambda s: {})
        graph.add_edge(first, "a")
        graph.add_edge(start, end)
        with pytest.raises(ValueError, match=f"Found edge {words}"):
            graph.compile()


def test_a_store_is_refused_clearly() -> None:
    from timeloom.core.errors import ConfigError

    graph = StateGraph(State).add_node("a", lambda s: {}).add_edge(START, "a")
    with pytest.raises(ConfigError, match="store=.*not supported"):
        graph.compile(store=object())

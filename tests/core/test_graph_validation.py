"""compile() rejects malformed graphs with messages that say what to do, and
accepts what LangGraph accepts."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langgraph.types import Command as LgCommand

from tests.core.sides import Api, run_on_both
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
    with pytest.raises(GraphValidationError, match="START cannot be the end"):
        graph.add_edge(["a"], START)
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
    def scenario(api: Api) -> None:
        graph = api.StateGraph(State)
        graph.add_node("a", lambda s: {})
        graph.add_edge(api.START, "a")
        graph.add_edge(start, end)
        with pytest.raises(ValueError, match=f"Found edge {words}"):
            graph.compile()

    run_on_both(scenario)


def test_a_store_is_refused_clearly() -> None:
    from timeloom.core.errors import ConfigError

    graph = StateGraph(State).add_node("a", lambda s: {}).add_edge(START, "a")
    with pytest.raises(ConfigError, match="store=.*not supported"):
        graph.compile(store=object())


def test_a_waiting_edge_may_end_at_end_as_in_langgraph() -> None:
    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(Log)
        graph.add_node("a", lambda s: {"log": ["a"]})
        graph.add_node("b", lambda s: {"log": ["b"]})
        graph.add_edge(api.START, "a").add_edge(api.START, "b")
        graph.add_edge(["a", "b"], api.END)
        return graph.compile().invoke({"log": []})

    assert run_on_both(scenario) == {"log": ["a", "b"]}


def test_a_waiting_edge_to_end_records_nothing_on_the_checkpoints() -> None:
    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    graph = StateGraph(Log)
    graph.add_node("a", lambda s: {"log": ["a"]})
    graph.add_node("b", lambda s: {"log": ["b"]})
    graph.add_node("b2", lambda s: {"log": ["b2"]})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("b", "b2")
    graph.add_edge(["a", "b2"], END)
    app = graph.compile(checkpointer=MemoryCheckpointer())
    config = {"configurable": {"thread_id": "t"}}
    assert app.invoke({"log": []}, config) == {"log": ["a", "b", "b2"]}
    history = list(app.get_state_history(config))
    assert all("__waiting__" not in s.metadata for s in history)
    assert "\ta --> __end__;" in app.get_graph().draw_mermaid()


@pytest.mark.parametrize(
    "name", ["a|b", "a:b"], ids=["namespace separator", "task id separator"]
)
def test_node_names_with_reserved_characters_are_refused_as_in_langgraph(
    name: str,
) -> None:
    def scenario(api: Api) -> None:
        with pytest.raises(ValueError, match="is a reserved character"):
            api.StateGraph(State).add_node(name, noop)

    run_on_both(scenario)


@pytest.mark.parametrize(
    ("first", "second"), [("x", "x#0"), ("x#12", "x")], ids=["send key last", "first"]
)
def test_a_node_named_as_a_send_task_of_another_is_refused(
    first: str, second: str
) -> None:
    graph = StateGraph(State).add_node(first, noop)
    with pytest.raises(
        GraphValidationError,
        match="'x#[0-9]+' is how Timeloom names a Send task to 'x'",
    ):
        graph.add_node(second, noop)
    graph.add_node("x#y", noop).add_node("y#1", noop)  # no node 'y', not a send key


def lg_hop(state: State) -> LgCommand[Literal["ghost"]]:
    return LgCommand(goto="ghost")


def hop(state: State) -> Command[Literal["ghost"]]:
    return Command(goto="ghost")


# A node whose return annotation names its own side's Command (an annotation is
# read from the module, so each side's node is written at the top level).
HOP_OF = {LgCommand: lg_hop, Command: hop}


def test_a_destination_that_is_not_a_node_is_refused_as_in_langgraph() -> None:
    def scenario(api: Api) -> None:
        listed = api.StateGraph(State).add_node("a", noop, destinations=("ghost",))
        annotated = api.StateGraph(State).add_node("a", HOP_OF[api.Command])
        for graph in (listed, annotated):
            graph.add_edge(api.START, "a")
            with pytest.raises(
                ValueError, match="Found edge ending at unknown node `ghost`"
            ):
                graph.compile()

    run_on_both(scenario)


def test_two_routers_of_one_name_from_one_node_are_refused_as_in_langgraph() -> None:
    def route(state: State) -> str:
        return "b"

    def scenario(api: Api) -> None:
        graph = api.StateGraph(State).add_node("a", noop).add_node("b", noop)
        graph.add_edge(api.START, "a").add_conditional_edges("a", route)
        graph.add_conditional_edges(api.START, route)  # another node: allowed
        with pytest.raises(ValueError, match="Branch with name `route` already exists"):
            graph.add_conditional_edges("a", route)
        graph.add_conditional_edges("a", lambda s: "b")
        with pytest.raises(ValueError, match="Branch with name `.*` already exists"):
            graph.add_conditional_edges("a", lambda s: "b")

    run_on_both(scenario)


def takes_one(a: Any) -> Any:
    return a


def takes_three(a: Any, b: Any, c: Any = None) -> Any:
    return a


@pytest.mark.parametrize("reducer", [takes_one, takes_three, lambda *values: values[0]])
def test_a_reducer_not_taking_two_arguments_is_refused_as_in_langgraph(
    reducer: Any,
) -> None:
    # The functional form: a class body's annotation would name a local as a string.
    Bad = TypedDict("Bad", {"n": Annotated[int, reducer]})  # noqa: UP013

    def scenario(api: Api) -> None:
        with pytest.raises(ValueError, match="Invalid reducer signature"):
            api.StateGraph(Bad)

    run_on_both(scenario)


def test_two_writes_of_a_key_without_reducer_in_one_step_fail_as_in_langgraph() -> None:
    def scenario(api: Api) -> None:
        two_nodes = api.StateGraph(State).add_node("a", lambda s: {"n": 1})
        two_nodes.add_node("b", lambda s: {"n": 2})
        two_nodes.add_edge(api.START, "a").add_edge(api.START, "b")
        twice = api.StateGraph(State).add_edge(api.START, "a")
        twice.add_node(
            "a", lambda s: [api.Command(update={"n": 1}), api.Command(update={"n": 2})]
        )
        for graph in (two_nodes, twice):
            with pytest.raises(
                api.InvalidUpdateError, match="At key 'n': Can receive only one value"
            ):
                graph.compile().invoke({"n": 0})

    run_on_both(scenario)

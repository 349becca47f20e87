"""The builder's LangGraph conveniences: sequences, conditional entry points, async
routers, copies of a checkpoint, and the drawing of a graph."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest

from tests.core.graphs import thread
from tests.core.sides import Api, run_on_both
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, Command, RetryPolicy, StateGraph
from timeloom.core.errors import InvalidUpdateError


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def step_a(state: Log) -> dict[str, Any]:
    return {"log": ["a"]}


def step_b(state: Log) -> dict[str, Any]:
    return {"log": ["b"]}


def test_add_sequence_chains_functions_and_named_pairs() -> None:
    graph = StateGraph(Log).add_sequence([step_a, ("second", step_b)])
    assert list(graph.nodes) == ["step_a", "second"]
    graph.add_edge(START, "step_a")
    assert graph.compile().invoke({"log": []}) == {"log": ["a", "b"]}
    with pytest.raises(ValueError, match="at least one"):
        StateGraph(Log).add_sequence([])


def test_conditional_entry_point_with_an_async_router() -> None:
    async def route(state: Log) -> str:
        return "b" if state["log"] == ["go b"] else "a"

    graph = StateGraph(Log).add_node("a", step_a).add_node("b", step_b)
    graph.set_conditional_entry_point(route, ["a", "b"])
    app = graph.compile()
    assert app.invoke({"log": ["go b"]}) == {"log": ["go b", "b"]}
    assert app.invoke({"log": []}) == {"log": ["a"]}


def test_update_state_as_copy_writes_a_fork_copy(memory: MemoryCheckpointer) -> None:
    graph = StateGraph(Log).add_sequence([step_a, step_b])
    graph.add_edge(START, "step_a")
    app = graph.compile(checkpointer=memory, interrupt_before=["step_b"])
    app.invoke({"log": []}, thread("t"))
    paused = app.get_state(thread("t"))
    copied = app.get_state(app.update_state(paused.config, None, as_node="__copy__"))
    assert copied.metadata["source"] == "fork"
    assert (copied.values, copied.next) == (paused.values, paused.next)
    assert copied.parent_config == paused.parent_config  # beside it, as LangGraph's
    with pytest.raises(InvalidUpdateError, match="values=None"):
        app.update_state(paused.config, {"log": ["x"]}, as_node="__copy__")


def test_draw_mermaid_shows_edges_routers_and_command_targets() -> None:
    def hop(state: Log) -> Command[Literal["b", "__end__"]]:
        return Command(goto="b")

    graph = StateGraph(Log).add_node("a", hop).add_node("b", step_b)
    graph.add_node("c", step_a)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("b", lambda s: "go", {"go": "c", "stop": END})
    graph.add_edge("c", END)
    drawing = graph.compile().get_graph()
    assert list(drawing.nodes) == ["__start__", "a", "b", "c", "__end__"]
    mermaid = drawing.draw_mermaid()
    assert mermaid.startswith("---\nconfig:\n")
    for line in (
        "\t__start__([<p>__start__</p>]):::first",
        "\t__start__ --> a;",
        "\ta -.-> b;",
        "\ta -.-> __end__;",
        "\tb -. &nbsp;go&nbsp; .-> c;",
        "\tb -. &nbsp;stop&nbsp; .-> __end__;",
        "\tc --> __end__;",
    ):
        assert line in mermaid.splitlines()


@pytest.mark.parametrize("with_styles", [True, False])
def test_draw_mermaid_is_langgraphs_with_or_without_styles(with_styles: bool) -> None:
    def scenario(api: Api) -> Any:
        graph = api.StateGraph(Log)
        graph.add_node("a", step_a)
        graph.add_node("b", step_b)
        graph.add_edge(api.START, "a")
        graph.add_conditional_edges("a", lambda s: "b", {"again": "b", "stop": api.END})
        graph.add_edge("b", "a")
        return graph.compile().get_graph().draw_mermaid(with_styles=with_styles)

    run_on_both(scenario)


def test_retry_policy_runs_a_failing_node_again(memory: MemoryCheckpointer) -> None:
    attempts: list[str] = []

    def flaky(state: Log) -> dict[str, Any]:
        attempts.append("flaky")
        if len(attempts) < 3:
            raise ConnectionError("service unavailable")
        return {"log": ["ok"]}

    def buggy(state: Log) -> dict[str, Any]:
        attempts.append("buggy")
        raise ValueError("a bug: retrying would only repeat it")

    policy = RetryPolicy(initial_interval=0, jitter=False, max_attempts=3)
    graph = StateGraph(Log).add_node("flaky", flaky, retry_policy=policy)
    graph.add_node("buggy", buggy, retry_policy=policy).add_edge(START, "flaky")
    graph.add_edge("flaky", "buggy")
    app = graph.compile(checkpointer=memory)
    with pytest.raises(ValueError, match="a bug"):
        app.invoke({"log": []}, thread("t"))
    assert attempts == ["flaky"] * 3 + ["buggy"], "transient errors only, 3 at most"
    assert app.get_state(thread("t")).values == {"log": ["ok"]}

    attempts.clear()
    always = RetryPolicy(initial_interval=0, jitter=False, retry_on=ValueError)
    graph2 = StateGraph(Log).add_node("buggy", buggy, retry_policy=always)
    with pytest.raises(ValueError, match="a bug"):
        graph2.add_edge(START, "buggy").compile().invoke({"log": []})
    assert attempts == ["buggy"] * 3

"""A run's context (``invoke(..., context=...)``) reaches nodes' ``runtime``, as
in LangGraph: each program runs on both runtimes (``run_on_both``) and must give
the same result."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypedDict

from tests.core.sides import Api, run_on_both
from timeloom.core import Runtime


class State(TypedDict, total=False):
    seen: list[str]


@dataclass
class UserContext:
    user: str
    lang: str = "en"


def greet(state: State, runtime: Runtime[UserContext]) -> dict[str, Any]:
    ctx = runtime.context
    return {"seen": [*state.get("seen", []), f"{type(ctx).__name__}:{ctx.user}"]}


def test_a_dict_context_is_made_into_the_dataclass_schema() -> None:
    def scenario(api: Api) -> Any:
        builder = api.StateGraph(State, context_schema=UserContext)
        builder.add_node("greet", greet)
        builder.set_entry_point("greet")
        graph = builder.compile()
        given = UserContext(user="bob")
        return graph.invoke({}, context={"user": "ada"}), graph.invoke(
            {}, context=given
        )

    assert run_on_both(scenario) == (
        {"seen": ["UserContext:ada"]},
        {"seen": ["UserContext:bob"]},
    )


def read_plain(state: State, runtime: Runtime[dict[str, str]]) -> dict[str, Any]:
    return {"seen": [repr(runtime.context), repr(runtime.store)]}


def test_without_a_schema_the_context_is_given_as_is_and_none_by_default() -> None:
    def scenario(api: Api) -> Any:
        builder = api.StateGraph(State)
        builder.add_node("read", read_plain)
        builder.set_entry_point("read")
        graph = builder.compile()
        return graph.invoke({}, context={"k": "v"}), graph.invoke({})

    assert run_on_both(scenario) == (
        {"seen": ["{'k': 'v'}", "None"]},
        {"seen": ["None", "None"]},
    )


def thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def nested(api: Api) -> Any:
    """A graph whose nodes read the context: a subgraph as a node, a node calling
    a subgraph, and a node writing it to the custom stream."""

    def inner_node(state: State, runtime: Runtime[dict[str, str]]) -> dict[str, Any]:
        return {"seen": [*state.get("seen", []), "inner:" + runtime.context["who"]]}

    inner = api.StateGraph(State)
    inner.add_node("inner_node", inner_node)
    inner.set_entry_point("inner_node")
    inner_graph = inner.compile()

    def calls_inner(state: State) -> dict[str, Any]:
        done: dict[str, Any] = inner_graph.invoke(state)  # the parent's context
        return done

    def tell(state: State, runtime: Runtime[dict[str, str]]) -> None:
        runtime.stream_writer({"from": runtime.context["who"]})

    outer = api.StateGraph(State)
    outer.add_node("as_node", inner_graph)
    outer.add_node("calls_inner", calls_inner)
    outer.set_entry_point("as_node")
    outer.add_node("tell", tell)
    outer.add_edge("as_node", "calls_inner")
    outer.add_edge("calls_inner", "tell")
    return outer.compile(checkpointer=api.checkpointer())


def test_subgraphs_streams_and_async_runs_see_the_context() -> None:
    def scenario(api: Api) -> Any:
        graph = nested(api)
        chunks = list(
            graph.stream({}, thread("t"), stream_mode="custom", context={"who": "ada"})
        )
        done = asyncio.run(graph.ainvoke({}, thread("t2"), context={"who": "bob"}))
        return chunks, done

    assert run_on_both(scenario) == (
        [{"from": "ada"}],
        {"seen": ["inner:bob", "inner:bob"]},
    )

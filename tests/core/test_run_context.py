"""A run's context (``invoke(..., context=...)``) reaches nodes' ``runtime``, as
in LangGraph: each program runs on both runtimes and must give the same result."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest
from langgraph.graph import StateGraph as LgStateGraph

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import Runtime, StateGraph

RUNTIMES = pytest.mark.parametrize("graph_class", [LgStateGraph, StateGraph])


class State(TypedDict, total=False):
    seen: list[str]


@dataclass
class UserContext:
    user: str
    lang: str = "en"


def greet(state: State, runtime: Runtime[UserContext]) -> dict[str, Any]:
    ctx = runtime.context
    return {"seen": [*state.get("seen", []), f"{type(ctx).__name__}:{ctx.user}"]}


@RUNTIMES
def test_a_dict_context_is_made_into_the_dataclass_schema(graph_class: Any) -> None:
    builder = graph_class(State, context_schema=UserContext)
    builder.add_node("greet", greet)
    builder.set_entry_point("greet")
    graph = builder.compile()

    assert graph.invoke({}, context={"user": "ada"}) == {"seen": ["UserContext:ada"]}
    given = UserContext(user="bob")
    assert graph.invoke({}, context=given) == {"seen": ["UserContext:bob"]}


def read_plain(state: State, runtime: Runtime[dict[str, str]]) -> dict[str, Any]:
    return {"seen": [repr(runtime.context), repr(runtime.store)]}


@RUNTIMES
def test_without_a_schema_the_context_is_given_as_is_and_none_by_default(
    graph_class: Any,
) -> None:
    builder = graph_class(State)
    builder.add_node("read", read_plain)
    builder.set_entry_point("read")
    graph = builder.compile()

    assert graph.invoke({}, context={"k": "v"}) == {"seen": ["{'k': 'v'}", "None"]}
    assert graph.invoke({}) == {"seen": ["None", "None"]}


@RUNTIMES
def test_subgraphs_streams_and_async_runs_see_the_context(graph_class: Any) -> None:
    def inner_node(state: State, runtime: Runtime[dict[str, str]]) -> dict[str, Any]:
        return {"seen": [*state.get("seen", []), "inner:" + runtime.context["who"]]}

    inner = graph_class(State)
    inner.add_node("inner_node", inner_node)
    inner.set_entry_point("inner_node")
    inner_graph = inner.compile()

    def calls_inner(state: State) -> dict[str, Any]:
        done: dict[str, Any] = inner_graph.invoke(state)  # the parent's context
        return done

    def tell(state: State, runtime: Runtime[dict[str, str]]) -> None:
        runtime.stream_writer({"from": runtime.context["who"]})

    outer = graph_class(State)
    outer.add_node("as_node", inner_graph)
    outer.add_node("calls_inner", calls_inner)
    outer.set_entry_point("as_node")
    outer.add_node("tell", tell)
    outer.add_edge("as_node", "calls_inner")
    outer.add_edge("calls_inner", "tell")
    saver = MemoryCheckpointer() if graph_class is StateGraph else None
    graph = outer.compile(checkpointer=saver) if saver else outer.compile()
    config = {"configurable": {"thread_id": "t"}} if saver else None

    chunks = list(
        graph.stream({}, config, stream_mode="custom", context={"who": "ada"})
    )
    assert chunks == [{"from": "ada"}]
    config = {"configurable": {"thread_id": "t2"}} if saver else None
    done = asyncio.run(graph.ainvoke({}, config, context={"who": "bob"}))
    assert done == {"seen": ["inner:bob", "inner:bob"]}

"""``Overwrite``: an update that bypasses a key's reducer, as LangGraph's (its
own ``Overwrite``, ours, or the JSON form ``{"__overwrite__": value}``), stored
on every backend."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START as LG_START
from langgraph.graph import StateGraph as LgStateGraph
from langgraph.types import Overwrite as LgOverwrite

from timeloom.core import START, InvalidUpdateError, Overwrite, StateGraph


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def program(graph_cls: Any, start: str, saver: Any, *overwrites: Any) -> Any:
    """a, then b, c, d in parallel (b and maybe c overwrite), then e."""
    graph = graph_cls(State)
    graph.add_node("a", lambda s: {"log": ["a"]})
    for i, name in enumerate(("b", "c", "d")):
        value = overwrites[i] if i < len(overwrites) else [name]
        graph.add_node(name, lambda s, value=value: {"log": value})
        graph.add_edge("a", name)
        graph.add_edge(name, "e")
    graph.add_node("e", lambda s: {"log": ["e"]})
    graph.add_edge(start, "a")
    return graph.compile(checkpointer=saver)


@pytest.mark.parametrize(
    "form",
    [Overwrite(["b!"]), LgOverwrite(["b!"]), {"__overwrite__": ["b!"]}],
    ids=["ours", "langgraphs", "json"],
)
def test_an_overwrite_bypasses_the_reducer_as_in_langgraph(
    form: Any, stored: Any
) -> None:
    config = {"configurable": {"thread_id": "t"}}
    ours = program(StateGraph, START, stored, form).invoke({"log": ["in"]}, config)
    lg_form = LgOverwrite(["b!"]) if isinstance(form, Overwrite) else form
    theirs = program(LgStateGraph, LG_START, InMemorySaver(), lg_form).invoke(
        {"log": ["in"]}, config
    )
    assert ours == theirs == {"log": ["b!", "e"]}


def test_two_overwrites_in_one_step_are_refused(memory: Any) -> None:
    app = program(StateGraph, START, memory, Overwrite(["b"]), Overwrite(["c"]))
    with pytest.raises(InvalidUpdateError, match="only one Overwrite"):
        app.invoke({"log": []}, {"configurable": {"thread_id": "t"}})

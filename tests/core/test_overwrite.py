"""``Overwrite``: an update that bypasses a key's reducer, as LangGraph's (its
own ``Overwrite``, ours, or the JSON form ``{"__overwrite__": value}``), stored
on every backend."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.types import Overwrite as LgOverwrite

from tests.core.sides import LANGGRAPH, TIMELOOM, Api
from timeloom.core import InvalidUpdateError, Overwrite


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def program(api: Api, saver: Any, *overwrites: Any) -> Any:
    """a, then b, c, d in parallel (b and maybe c overwrite), then e."""
    graph = api.StateGraph(State)
    graph.add_node("a", lambda s: {"log": ["a"]})
    for i, name in enumerate(("b", "c", "d")):
        value = overwrites[i] if i < len(overwrites) else [name]
        graph.add_node(name, lambda s, value=value: {"log": value})
        graph.add_edge("a", name)
        graph.add_edge(name, "e")
    graph.add_node("e", lambda s: {"log": ["e"]})
    graph.add_edge(api.START, "a")
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
    ours = program(TIMELOOM, stored, form).invoke({"log": ["in"]}, config)
    lg_form = LgOverwrite(["b!"]) if isinstance(form, Overwrite) else form
    theirs = program(LANGGRAPH, LANGGRAPH.checkpointer(), lg_form).invoke(
        {"log": ["in"]}, config
    )
    assert ours == theirs == {"log": ["b!", "e"]}


def test_two_overwrites_in_one_step_are_refused(memory: Any) -> None:
    app = program(TIMELOOM, memory, Overwrite(["b"]), Overwrite(["c"]))
    with pytest.raises(InvalidUpdateError, match="only one Overwrite"):
        app.invoke({"log": []}, {"configurable": {"thread_id": "t"}})

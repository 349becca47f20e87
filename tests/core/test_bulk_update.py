"""``bulk_update_state``: a history written superstep by superstep reads as
LangGraph's (and as the run it imitates), on Timeloom's three backends."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.types import StateUpdate

from tests.core.sides import LANGGRAPH, TIMELOOM, Api
from timeloom.core import InvalidUpdateError


class State(TypedDict, total=False):
    foo: str
    tasks: Annotated[list[int], operator.add]


def fan_out(api: Api, saver: Any) -> Any:
    """agent -> map, which sends three tasks."""

    def map_(state: State) -> Any:
        return api.Command(
            goto=[api.Send("task", {"i": i}) for i in range(3)], update={}
        )

    graph = api.StateGraph(State)
    graph.add_node("agent", lambda s: {"foo": "agent"})
    graph.add_node("map", map_)
    graph.add_node("task", lambda s: {"tasks": [s["i"]]})
    graph.add_edge(api.START, "agent")
    graph.add_edge("agent", "map")
    return graph.compile(checkpointer=saver)


def supersteps(api: Api) -> list[list[Any]]:
    return [
        [StateUpdate({"foo": "in"}, "__input__")],
        [StateUpdate({"foo": "in"}, "__start__")],
        [StateUpdate({"foo": "agent"}, "agent")],
        [
            StateUpdate(
                api.Command(goto=[api.Send("task", {"i": i}) for i in range(3)]), "map"
            )
        ],
        [StateUpdate({"tasks": [i]}, "task") for i in range(3)],
    ]


def history(app: Any, thread_id: str) -> list[Any]:
    return [
        (
            s.values,
            s.next,
            s.metadata["step"],
            [(t.name, t.result) for t in s.tasks],
        )
        for s in app.get_state_history({"configurable": {"thread_id": thread_id}})
    ]


def test_a_bulk_history_reads_as_langgraphs_and_as_the_run(stored: Any) -> None:
    ours = fan_out(TIMELOOM, stored)
    theirs = fan_out(LANGGRAPH, LANGGRAPH.checkpointer())
    for app, api in ((ours, TIMELOOM), (theirs, LANGGRAPH)):
        app.invoke({"foo": "in"}, {"configurable": {"thread_id": "run"}})
        app.bulk_update_state({"configurable": {"thread_id": "bulk"}}, supersteps(api))
    assert history(ours, "bulk") == history(theirs, "bulk")
    assert [h[:3] for h in history(ours, "bulk")] == [
        h[:3] for h in history(ours, "run")
    ]
    assert ours.get_state({"configurable": {"thread_id": "bulk"}}).values == {
        "foo": "agent",
        "tasks": [0, 1, 2],
    }


def test_bulk_update_refuses_what_langgraph_refuses(memory: Any) -> None:
    app = fan_out(TIMELOOM, memory)
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ValueError, match="No supersteps provided"):
        app.bulk_update_state(config, [])
    with pytest.raises(InvalidUpdateError, match="as_node"):
        app.bulk_update_state(config, [[({"foo": "a"}, None), ({"foo": "b"}, None)]])
